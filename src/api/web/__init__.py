"""The web pages (DESIGN §13, issue 17): rendered on the server from the same :class:`~api.http.auth.Scope`
as the API, Chinese first, a little vendored JavaScript that signs in the browser.

Modules: :mod:`api.web.render` (templates, language, security headers, :class:`~api.web.render.PageRoute`),
:mod:`api.web.session` (session cookie, :data:`~api.web.session.PageScope`, CSRF, the demo's guard),
:mod:`api.web.pages` (sign-in, sign-out, the dashboard). Each further page area is a module with its own
``router`` (``APIRouter(route_class=PageRoute, include_in_schema=False)``) included by :func:`install`.
Templates are in ``templates/`` (``base.html``), the vendored JavaScript and CSS in ``static/`` at ``/static/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.http.settings import Settings

DEMO_META = "demo"  # ledger_meta row the `demo` command writes: `serve --demo` runs only on such a ledger


def install(app: FastAPI, settings: Settings) -> None:
    """Add the pages, ``/static/`` and (``serve --demo``) the demo's guard to the application.
    A new page area: its module's ``router`` is included here (one line)."""
    from api.web import dashboard, flags, integrity, pages, reconciliation, render, report, session, traces

    app.include_router(pages.actions)
    app.include_router(pages.router)
    app.include_router(dashboard.router)
    app.include_router(report.router)
    app.include_router(reconciliation.router)
    app.include_router(integrity.router)
    app.include_router(flags.actions)
    app.include_router(flags.router)
    app.include_router(traces.actions)
    app.include_router(traces.router)
    app.mount("/static", render.Static(), name="static")
    render.install_not_found(app)
    if settings.demo:
        app.middleware("http")(session.demo_guard)
