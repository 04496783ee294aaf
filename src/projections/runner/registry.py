"""Where event handlers and hooks register: adding a read model or a rule is one function.

* ``@handles("PaymentDisbursed", reads=...)`` — the one handler of an event type that keeps the
  base read models (``projections.readmodels.handlers``).
* ``@hook(reads=...)`` — runs after the handler of *every* event, inside the same unit of work
  and transaction, as ``hook(uow, seq, envelope)``; ``uow.event`` is the decoded
  :class:`~projections.events.LeafEvent` (business date, jurisdiction, subject). The anomaly
  rules plug in here and write their own ``pj_`` tables in the same commit as everything else.
* ``reads`` says which rows the function will look up by key (``event -> [(table, key), …]``),
  so the runner loads a whole batch's rows in a few ``IN`` queries instead of one query per
  lookup. It is an optimisation only: a lookup not declared still works (one query).
* ``creates`` names rows the event brings into being whose id the ledger guarantees is new
  (it refuses an id that exists, EVENTS.md): they are known absent without a query. Were that
  ever wrong, the insert would fail on the primary key and roll the batch back — loudly.
* :func:`register_version` — a module's logic version; changing it (like changing a table's
  shape) makes the next catch-up rebuild from seq 0, so no row is left computed by old code. A
  module that names the tables only its hooks write (the anomaly rules) has them recomputed
  alone instead, when only its version or those tables' shape changed (``runner.rebuild_only``).

Plugin modules listed in :data:`PLUGINS` are imported on first use if they exist.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, overload

import sqlalchemy as sa

from projections.events import Document, LeafEvent
from projections.uow import Key

if TYPE_CHECKING:
    from projections.uow import UnitOfWork

Reads = Callable[[LeafEvent], Iterable[tuple[sa.Table, Key]]]
Handler = Callable[["UnitOfWork", LeafEvent], None]
Hook = Callable[["UnitOfWork", int, Document], None]

# Modules that register hooks and tables of their own (issue 5 and later).
PLUGINS: tuple[str, ...] = ("projections.readmodels.handlers", "projections.anomalies", "projections.reports",
                           "projections.trace")


@dataclass
class Registry:
    handlers: dict[str, Handler] = field(default_factory=dict)
    reads: dict[str, list[Reads]] = field(default_factory=dict)
    creates: dict[str, list[Reads]] = field(default_factory=dict)
    hooks: list[Hook] = field(default_factory=list)
    hook_reads: list[Reads] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    owned: dict[str, tuple[sa.Table, ...]] = field(default_factory=dict)  # module → tables only it writes
    loaded: bool = False


REGISTRY = Registry()


def handles(*types: str, reads: Reads | None = None, creates: Reads | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for name in types:
            if name in REGISTRY.handlers:
                raise ValueError(f"{name} already has a handler: {REGISTRY.handlers[name].__name__}")
            REGISTRY.handlers[name] = fn
            if reads is not None:
                REGISTRY.reads.setdefault(name, []).append(reads)
            if creates is not None:
                REGISTRY.creates.setdefault(name, []).append(creates)
        return fn

    return register


H = TypeVar("H", bound=Hook)


@overload
def hook(fn: H, *, reads: Reads | None = None) -> H: ...
@overload
def hook(fn: None = None, *, reads: Reads | None = None) -> Callable[[H], H]: ...
def hook(fn: H | None = None, *, reads: Reads | None = None) -> H | Callable[[H], H]:
    """Register ``fn(uow, seq, envelope)`` to run after every event's handler."""

    def register(f: H) -> H:
        if f not in REGISTRY.hooks:
            REGISTRY.hooks.append(f)
            if reads is not None:
                REGISTRY.hook_reads.append(reads)
        return f

    return register(fn) if fn is not None else register


def register_version(name: str, version: str, *, tables: Iterable[sa.Table] = ()) -> None:
    """``name``'s logic version; ``tables``: the tables only its hooks write, if any."""
    REGISTRY.versions[name] = version
    if tables:
        REGISTRY.owned[name] = tuple(tables)


def load_plugins() -> Registry:
    """Import the handler and plugin modules once (a missing plugin is simply not there yet)."""
    if not REGISTRY.loaded:
        for module in PLUGINS:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
        REGISTRY.loaded = True
    return REGISTRY


def creates_for(event: LeafEvent) -> Iterable[tuple[sa.Table, Key]]:
    for creates in REGISTRY.creates.get(event.type, ()):
        yield from creates(event)


def reads_for(event: LeafEvent) -> Iterable[tuple[sa.Table, Key]]:
    for reads in REGISTRY.reads.get(event.type, ()):
        yield from reads(event)
    for reads in REGISTRY.hook_reads:
        yield from reads(event)
