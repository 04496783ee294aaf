"""``subsidy-ledger``: the command line (DESIGN §9), a composition root beside the HTTP API.

It lives in ``api`` because it wires ``ledger`` and ``projections`` together, and ``ledger``
must not import either (STYLE.md habit 1). Each module below holds the verbs of one area and a
``register(app)`` that adds them; :func:`build` calls them in the order ``--help`` lists the
verbs. Thin: parse arguments, call :mod:`api.services` (or :mod:`ledger.translog` for the log's
own checks), render. Every failure becomes one line on stderr and the exit status of
:mod:`api.errors`, never a traceback. Progress goes to stderr.
"""

from __future__ import annotations

import os

import typer

from api.cli import (
    actors,
    anomalies,
    backup,
    demo,
    log,
    pii,
    projections,
    reconcile,
    records,
    report,
    root,
    serve,
    trace,
)
from api.i18n import as_lang, say

__all__ = ["app", "build", "run"]


def build() -> typer.Typer:
    """The ``subsidy-ledger`` command with every verb."""
    app = root.new_app()
    for area in (actors, records, pii, log, projections, demo, backup, anomalies, report, reconcile, trace, serve):
        area.register(app)
    return app


app = build()


def run() -> None:
    """Console entry point: no traceback ever reaches a user."""
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # pragma: no cover - last resort, before any option was read
        lang = as_lang(os.environ.get("LEDGER_LANG", "zh")) or "zh"
        typer.echo(f"{say(root.TEXT, 'internal', lang)}: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(2) from None
