"""Follow the log into the read models: exactly once, resumable, batch by batch.

The runner *pulls* (``ledger.leaves(start=position)``), which works the same on SQLite — whose
recorders cannot push (LIMITS.md) — and PostgreSQL. Each batch is one transaction:

1. lock and read the position (``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on
   PostgreSQL), so two runners never project the same leaf;
2. read and decode the next leaves, load the rows they name in a few ``IN`` queries (rows an
   earlier batch of this catch-up held are kept, and a catch-up from seq 0 holds every row, so
   it loads none: ``uow.RowCache``);
3. apply each event's handler, then every registered hook, in one in-memory unit of work;
4. write the changed rows in bulk and the new position, and commit.

The position moves in the same commit as the rows it accounts for, so a crash at any point —
between batches or halfway through writing one — leaves either the whole batch or none of it,
and the next run resumes from the committed position (exactly-once).

If the tables' shape or a registered logic version changed since the rows were written, the next
catch-up rebuilds from seq 0 instead of mixing rows of two versions — or, when only a plugin's own
tables or version changed (a rule, a threshold), recomputes those tables alone (:func:`rebuild_only`).
A large :func:`rebuild` uses a second process for those tables (:func:`_rebuild_in_two`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import re
import sqlite3
import subprocess
import sys
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from ledger import Progress
from ledger.errors import OperationalError
from projections import tables as T
from projections.db import WRITE, database_url, engine_for, is_postgres
from projections.events import LeafEvent, decode
from projections.ports import LogSource
from projections.runner.registry import REGISTRY, creates_for, load_plugins, reads_for
from projections.uow import CrashPoint, MemoryTables, MemoryUnitOfWork, RowCache, Trace, UnitOfWork

DEFAULT_BATCH = 5000  # leaves per transaction while following the log: the write lock is held ~0.5 s
REBUILD_BATCH = 10000  # a rebuild trades a longer lock for throughput (docs/projections.md)
# From this many leaves a rebuild uses a second process for the anomaly rules' tables: below it
# the process's start (~1 s) costs more than the overlap saves.
PARALLEL_FROM = 50_000
PENDING = "pending"  # a plugin's part of pj_position.schema while another process replays its tables
# Rows kept between the batches of one catch-up (uow.RowCache), about 0.6 KiB each: 3M rows add
# ~2 GiB at most (docs/performance.md). The environment variable overrides it; 0 keeps none.
CACHE_ROWS = 3_000_000
CACHE_ENV = "LEDGER_PROJECTIONS_CACHE_ROWS"
RUNNER = "main"
_ADVISORY_KEY = 640400_2018  # PostgreSQL advisory lock guarding table creation and rebuilds

class ProjectionInconsistent(OperationalError):
    """The projection tables contradict their own position or shape (edited, rewound, restored
    from elsewhere): projecting on top of them would fail or mix rows; a rebuild repairs them.

    ``problem`` says which contradiction (``ahead``, ``behind``, ``short``, ``rows``, ``shape``) and
    ``facts`` its numbers, for the CLI's one line in the user's language; ``str()`` is English.
    """

    code = "projection_inconsistent"
    ENGLISH = {
        "ahead": "the projection position {position} is beyond the log ({size} leaves)",
        "behind": "the projection tables hold seq {seq}, at or beyond their position {position}",
        "short": "the projection position {position} is ahead of its rows (pj_events ends at seq {seq})",
        "rows": "{table} already holds a row the catch-up would write (a rewound position?)",
        "shape": "table {table} does not have the shape pj_position.schema records",
    }

    def __init__(self, problem: str, **facts: str | int):
        super().__init__(self.ENGLISH[problem].format(**facts) + ": run `subsidy-ledger rebuild`")
        self.problem = problem
        self.facts = facts


def catch_up(ledger: LogSource, *, stop: int | None = None, batch: int = DEFAULT_BATCH,
             progress: Progress | None = None, engine: Engine | None = None) -> int:  # fmt: skip
    """Project every leaf not projected yet (up to ``stop``, exclusive); return the position.

    Call it after every import or submit; it costs one short transaction when there is nothing
    new. ``progress(n)`` is told how many leaves each committed batch projected.
    """
    limit = cache_rows()
    load_plugins()
    engine = engine or engine_for(ledger)
    while True:
        stale = ensure_schema(engine)
        if stale:  # only a plugin's logic or tables changed (a rule, a threshold): redo those alone
            rebuild_only(ledger, [t for name in stale for t in REGISTRY.owned[name]], progress=progress, engine=engine)
        try:
            with _without_cyclic_gc() as between_batches:
                return _catch_up(ledger, engine, stop, batch, progress, between_batches, limit)
        except _Pending:  # a two-process rebuild left a plugin's tables to be replayed (it died?)
            _VERIFIED.discard(engine)
        except (sa.exc.IntegrityError, engine.dialect.loaded_dbapi.IntegrityError) as exc:
            # A key the catch-up writes is there already (bulk writes use the driver's own cursor).
            found = re.search(r"pj_[a-z_]*[a-z]", str(getattr(exc, "orig", exc)))
            table = found.group(0).removesuffix("_pkey") if found else "a projection table"
            raise ProjectionInconsistent("rows", table=table) from None


class _Pending(Exception):
    """A plugin's tables are marked ``pending`` in ``pj_position.schema``: replay them first."""


def _catch_up(ledger: LogSource, engine: Engine, stop: int | None, batch: int, progress: Progress | None,
              between_batches: Callable[[], None], keep_rows: int, *, base_only: bool = False) -> int:  # fmt: skip
    """The batch loop. ``base_only`` (a two-process rebuild's main process): while the schema
    marks plugins' tables ``pending`` (another process replays them), skip those plugins' hooks;
    once it no longer does (someone replayed them), run every hook on rows loaded again."""
    crash = CrashPoint()
    cache: RowCache | None = None
    skipping = False
    checked = False
    while True:
        with _writer(engine) as conn, conn.begin():
            pos, clock, schema = _lock_position(conn)
            if not checked:  # once per call: later batches start where this call's commits left them
                _check_position(conn, ledger, pos)
                checked = True
            pending = _pending_modules(schema)
            if pending and not base_only:
                raise _Pending(pending)
            if skipping and not pending:  # it holds none of the skipped hooks' rows: load from the tables
                cache = None
            skipping = bool(pending)
            if cache is None or cache.position != pos:  # first batch, or another runner moved on
                cache = RowCache(pos, keep_rows, complete=pos == 0)
            end = pos + batch if stop is None else min(pos + batch, stop)
            if end <= pos:
                return pos
            events = _read(ledger, pos, end, batch)
            if not events:
                return pos
            uow = UnitOfWork(conn, pos, clock, crash, cache)
            apply(uow, events, skip=pending)
            conn.execute(
                T.position.update().where(T.position.c.name == RUNNER)
                .values(next_seq=uow.position, log_clock=uow.log_clock)
            )  # fmt: skip
        crash.committed()
        cache.committed(uow.position)
        done = len(events)
        del uow, events  # the batch's rows go now, before the collector looks
        between_batches()
        if progress is not None:
            progress(done)


def _check_position(conn: Connection, ledger: LogSource, pos: int) -> None:
    """Refuse to project on tables that contradict their position: the log must reach it and the
    rows must end right before it (every leaf has its ``pj_events`` row, written in the same commit
    as the position). A rewound or forwarded position would otherwise fail on a duplicate key or
    silently skip leaves."""
    size = ledger.size()
    if pos > size:
        raise ProjectionInconsistent("ahead", position=pos, size=size)
    last = conn.execute(sa.select(sa.func.max(T.events.c.seq))).scalar()
    if last is not None and last >= pos:
        raise ProjectionInconsistent("behind", position=pos, seq=last)
    if pos > 0 and last != pos - 1:
        raise ProjectionInconsistent("short", position=pos, seq="—" if last is None else last)


def _read(ledger: LogSource, pos: int, end: int, batch: int) -> list[LeafEvent]:
    """Leaves ``pos``..``end - 1`` decoded (fewer at the log's end); a gap in seqs is an error."""
    events = [decode(*leaf) for leaf in ledger.leaves(pos, end, batch=batch)]
    if events and (events[0].seq != pos or events[-1].seq != pos + len(events) - 1):
        raise OperationalError(f"the log has a gap after seq {pos - 1}: projections cannot continue")
    return events


def cache_rows() -> int:
    """How many rows a catch-up keeps between batches (``CACHE_ROWS``, or the environment's)."""
    text = os.environ.get(CACHE_ENV)
    if text is None:
        return CACHE_ROWS
    if not text.strip().isdigit():
        raise OperationalError(f"{CACHE_ENV} must be a number of rows (0 or more), not {text!r}")
    return int(text)


@contextmanager
def _without_cyclic_gc() -> Iterator[Callable[[], None]]:
    """Pause the cyclic garbage collector while a batch is applied; collect between batches.

    A batch allocates hundreds of thousands of small dicts and lists, none of them in cycles
    (reference counting frees them), yet each allocation burst triggers collections that walk
    every live object: a fifth of a rebuild's CPU time. Between batches, once the unit of work is
    gone, a young-generation collection reclaims whatever cycles a plugin made, so memory stays
    flat. The collector's previous state is restored afterwards.
    """
    was_enabled = gc.isenabled()

    def between_batches() -> None:
        if was_enabled:
            gc.collect(0)  # what the batch left alive is all young: cycles among it are found here

    gc.disable()
    try:
        yield between_batches
    finally:
        if was_enabled:
            gc.enable()


_EVENT_COLUMNS = ["seq", "type", "actor", "officer", "at", "recorded_at", "business_date", "jurisdiction",
                  "subject_kind", "subject_id", "log_clock"]  # fmt: skip
if [c.name for c in T.events.columns] != _EVENT_COLUMNS:
    raise RuntimeError("apply() writes pj_events rows in _EVENT_COLUMNS' order: update it with the table")


def apply(uow: UnitOfWork, events: Sequence[LeafEvent], *, skip: Collection[str] = ()) -> None:
    """Apply a batch of consecutive leaves to the unit of work, then write it (not commit).

    ``skip``: plugins whose hooks do not run (their tables are replayed elsewhere)."""
    handlers, hooks = REGISTRY.handlers, REGISTRY.hooks
    if skip:
        hooks = [h for h in hooks if not any(h.__module__ == m or h.__module__.startswith(m + ".") for m in skip)]
    uow.assume_new(created for ev in events for created in creates_for(ev))
    uow.prefetch(wanted for ev in events for wanted in reads_for(ev))
    keep_events = uow.keeps(T.events)  # a replay of the rules' tables alone drops the pj_events rows
    for ev in events:
        uow.event = ev
        handler = handlers.get(ev.type)
        if handler is not None:
            handler(uow, ev)
        if ev.moves_clock and (uow.log_clock is None or ev.business_date > uow.log_clock):
            uow.log_clock = ev.business_date
        envelope = ev.envelope
        if keep_events:  # in _EVENT_COLUMNS' order
            uow.append_row(T.events, [
                ev.seq, ev.type, ev.actor, envelope.get("officer"), envelope["at"], ev.recorded_at,
                ev.business_date, ev.jurisdiction, ev.subject_kind, ev.subject_id, uow.log_clock])  # fmt: skip
        uow.position = ev.seq + 1
        for hook in hooks:
            hook(uow, ev.seq, envelope)
    uow.event = None
    uow.flush()


def rebuild(ledger: LogSource, *, progress: Progress | None = None, batch: int = REBUILD_BATCH,
            engine: Engine | None = None, parallel_from: int | None = None) -> int:  # fmt: skip
    """Drop and recreate every projection table, then replay the log from seq 0.

    The reset is one transaction; the replay commits batch by batch like any catch-up, so an
    interrupted rebuild simply resumes on the next catch-up. From ``parallel_from`` leaves
    (:data:`PARALLEL_FROM`) on a database file or server, plugins that own their tables (the
    anomaly rules) are replayed by a second process meanwhile (:func:`_rebuild_in_two`).
    """
    cache_rows()  # a bad setting must fail before the tables are dropped
    engine = engine or engine_for(ledger)
    load_plugins()
    least = PARALLEL_FROM if parallel_from is None else parallel_from
    if REGISTRY.owned and engine.url.database not in (None, "", ":memory:") and ledger.size() >= least:
        reached = _rebuild_in_two(ledger, engine, progress, batch)
    else:
        reset(engine)
        reached = catch_up(ledger, progress=progress, batch=batch, engine=engine)
    _analyze(engine)
    return reached


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics for the rebuilt tables on PostgreSQL: right after a rebuild it has
    none, estimates every table at one row, and plans the reports' joins as nested loops (232 s
    instead of 0.6 s for a city report at 100k leaves) until autovacuum gets round to them."""
    if engine.dialect.name != "postgresql":
        return
    names = [t.name for t in T.metadata.sorted_tables if t.name.startswith(T.PREFIX)]
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE " + ", ".join(names)))


def _rebuild_in_two(ledger: LogSource, engine: Engine, progress: Progress | None, batch: int) -> int:
    """A rebuild on both cores: this process projects the shared tables with the plugins' hooks
    off, while a second process replays the log in memory for the plugins' own tables and swaps
    them in (:func:`rebuild_only`'s two halves) once this one has reached the same leaf.

    The reset marks the plugins' part of ``pj_position.schema`` ``pending``, so whatever happens
    to either process, no runner projects on top of those tables before they are replayed: a
    catch-up that finds them pending replays them itself (:class:`_Pending`).
    """
    from projections.anomalies import config as rules_config

    names = sorted(REGISTRY.owned)
    reset(engine, pending=names)
    target = ledger.size()
    settings = (rules_config.CONFIG, getattr(ledger, "jurisdictions", None), schema_id())
    # A fresh interpreter (not fork: no inherited connections; not multiprocessing's spawn, which
    # re-runs the caller's main module), on this one's import path, talking pickles over its pipes.
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", "from projections.runner.catchup import _replay_child; _replay_child()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    reply: int | str | None = None
    try:
        assert child.stdin is not None and child.stdout is not None
        with contextlib.suppress(BrokenPipeError):  # if it stopped already, its reply says why
            pickle.dump((database_url(ledger), names, target, batch, settings), child.stdin)
            child.stdin.flush()
        with _without_cyclic_gc() as between_batches:
            reached = _catch_up(ledger, engine, target, batch, progress, between_batches, cache_rows(), base_only=True)
        with contextlib.suppress(BrokenPipeError):
            pickle.dump(reached, child.stdin)  # go: the shared tables are projected up to ``target``
            child.stdin.flush()
        try:
            reply = pickle.load(child.stdout)
        except (EOFError, pickle.UnpicklingError):
            child.wait(timeout=60)
            raise OperationalError(
                f"the replay process for {', '.join(names)} stopped (exit {child.returncode})") from None  # fmt: skip
    finally:
        if reply is None:  # this process failed (or was interrupted): the replay is of no use now
            child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=60)
        if child.poll() is None:
            child.kill()
            child.wait()
    if isinstance(reply, str):
        raise OperationalError(reply)
    return catch_up(ledger, progress=progress, batch=batch, engine=engine)


def _replay_child() -> None:
    """The second process of :func:`_rebuild_in_two`: replay, wait for the go, swap; reply."""
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries the reply alone
    try:
        url, names, target, batch, (config, jurisdictions, wanted) = pickle.load(inbox)
        from ledger.application import Ledger
        from projections.anomalies import config as rules_config

        rules_config.CONFIG = config  # before the plugins register their versions
        load_plugins()
        if schema_id() != wanted:
            raise OperationalError("the replay process computes with other settings than the rebuild: not swapped")
        ledger = Ledger.open(url) if jurisdictions is None else Ledger.open(url, jurisdictions)
        engine = engine_for(url)
        tables = [t for name in names for t in REGISTRY.owned[name]]
        with _without_cyclic_gc() as between_batches:
            replayed = _replay_only(ledger, engine, tables, target, batch, None, between_batches)
            pickle.load(inbox)  # the main process has projected the shared tables up to ``target``
            reply: int | str = _swap_only(ledger, engine, replayed, None, between_batches)
    except EOFError:
        return  # the main process is gone: everything stays pending
    except BaseException as exc:  # noqa: BLE001 - the reply is the main process's one-line error
        first = str(exc).splitlines()[0] if str(exc) else ""
        reply = first if isinstance(exc, OperationalError) else f"{type(exc).__name__}: {first}"
    pickle.dump(reply, outbox)
    outbox.flush()


def rebuild_only(ledger: LogSource, tables: Collection[sa.Table], *, progress: Progress | None = None,
                 batch: int = REBUILD_BATCH, engine: Engine | None = None) -> int:  # fmt: skip
    """Recompute ``tables`` alone from seq 0, leave every other table as it is; return the position.

    For when only those tables' logic or thresholds changed (the anomaly rules:
    ``subsidy-ledger rebuild --anomalies``). The log is replayed in memory exactly as a rebuild
    replays it — every handler and hook, on rows held from seq 0 (a complete :class:`RowCache`) —
    but nothing is written while it runs and no lock is held: the base read models are neither
    read back (the database holds them as of a later leaf) nor rewritten. Then one transaction,
    under the position lock, replays what other runners projected meanwhile, recreates ``tables``
    and writes their replayed rows, at the position the other tables are at. A crash or an error
    at any point leaves the old rows. Every row of the projection must fit in memory: beyond
    :func:`cache_rows` rows it stops with an error (a full :func:`rebuild` is bounded instead).
    """
    cache_rows()
    load_plugins()
    engine = engine or engine_for(ledger)
    ensure_schema(engine)  # a full reset if the other tables are stale too
    with engine.connect() as conn:  # before a long replay: tables at odds with their position stop here
        start = position(conn)
        _check_position(conn, ledger, start)
    with _without_cyclic_gc() as between_batches:
        replayed = _replay_only(ledger, engine, tables, start, batch, progress, between_batches)
        return _swap_only(ledger, engine, replayed, progress, between_batches)


class _Replayed(MemoryTables):
    """What :func:`_replay_only` holds for :func:`_swap_only`: every row, the kept tables' facts."""

    def __init__(self, keep: list[sa.Table], limit: int, batch: int, trace: Trace | None = None):
        super().__init__(keep, limit, trace)
        self.batch = batch


def _replay_only(ledger: LogSource, engine: Engine, tables: Collection[sa.Table], target: int, batch: int,
                 progress: Progress | None, between_batches: Callable[[], None]) -> _Replayed:  # fmt: skip
    """The first half of :func:`rebuild_only`: replay leaves 0..target - 1 in memory, no lock."""
    keep = sorted(set(tables), key=lambda t: t.name)
    unknown = [t.name for t in keep if t.metadata is not T.metadata or not t.name.startswith(T.PREFIX)]
    if unknown:
        raise ValueError(f"not projection tables: {', '.join(unknown)}")
    replayed = _Replayed(keep, cache_rows(), batch)
    _replay(ledger, engine, None, replayed, target, progress, between_batches)
    return replayed


def replay(ledger: LogSource, stop: int, *, progress: Progress | None = None, batch: int = REBUILD_BATCH,
           engine: Engine | None = None) -> _Replayed:  # fmt: skip
    """Leaves 0..``stop - 1`` replayed in memory into every projection table, nothing written, no
    lock taken (:func:`rebuild_only`'s replay keeping every table, with a :class:`~projections.uow.Trace`):
    for ``verify --projections`` (:mod:`projections.runner.integrity`), which compares it with the tables.

    Entity rows are in ``.cache.rows``, facts in ``.sink`` (in column order), the last leaf that
    changed each entity row in ``.trace.touched``. Bounded like :func:`rebuild_only` (every row in memory).
    """
    load_plugins()
    engine = engine or engine_for(ledger)
    replayed = _Replayed(_every_table(), cache_rows(), batch, Trace())
    with _without_cyclic_gc() as between_batches:
        _replay(ledger, engine, None, replayed, stop, progress, between_batches)
    return replayed


def _swap_only(ledger: LogSource, engine: Engine, replayed: _Replayed, progress: Progress | None,
               between_batches: Callable[[], None]) -> int:  # fmt: skip
    """The second half: under the lock, replay what others projected since, swap the tables in."""
    keep = replayed.keep
    redone = [name for name, owned in REGISTRY.owned.items() if set(owned) <= set(keep)]
    with _writer(engine) as conn, conn.begin():
        _guard(conn)
        now, _clock, found = _lock_position(conn)
        _check_position(conn, ledger, now)
        stale = _stale_modules(found, schema_id())
        if stale is None or not set(stale) <= set(redone) or now < replayed.position:
            raise OperationalError("the projections were reset while the replay ran: run the rebuild again")
        _replay(ledger, engine, conn, replayed, now, progress, between_batches)
        for table in keep:  # recreated: a plugin's new version may have changed their shape
            table.drop(conn, checkfirst=True)
            table.create(conn)
        uow = UnitOfWork(conn, replayed.position, replayed.clock)
        rows = replayed.cache.rows
        for table in keep:
            uow.write_new(table, (row for row in rows[table].values() if row is not None), replayed.sink.pop(table))
        rows.clear()
        uow.flush()
        if stale:
            conn.execute(T.position.update().where(T.position.c.name == RUNNER).values(schema=schema_id()))
    if stale:
        _VERIFIED.add(engine)
    return replayed.position


def project_in_memory(log: LogSource, tables: MemoryTables | None = None, *, stop: int | None = None,
                      batch: int = REBUILD_BATCH) -> MemoryTables:  # fmt: skip
    """Every projection table computed in memory from the log, with no database at all.

    Leaves ``tables.position``..``stop - 1`` (default: to the log's end) are decoded in seq order
    and applied by the same handlers and hooks as a catch-up, through a
    :class:`~projections.uow.MemoryUnitOfWork`; pass the returned tables again to follow the log
    further (exactly once, like the runner). Rows are read with ``tables.rows(table)``.
    """
    load_plugins()
    if tables is None:
        tables = _Replayed(_every_table(), cache_rows(), batch, Trace())
    if not isinstance(tables, _Replayed):
        raise TypeError("project_in_memory follows the log on the tables it returned, not others")
    _replay(log, None, None, tables, log.size() if stop is None else stop, None, lambda: None)
    return tables


def _every_table() -> list[sa.Table]:
    return sorted((t for t in T.metadata.tables.values() if t is not T.position), key=lambda t: t.name)


def _replay(ledger: LogSource, engine: Engine | None, conn: Connection | None, replayed: _Replayed, stop: int,
            progress: Progress | None, between_batches: Callable[[], None]) -> None:  # fmt: skip
    """Apply leaves ``replayed.position``..``stop - 1`` to the rows it holds, writing nothing.

    A hook's rare SQL lookup (``uow.execute``) reads the database's facts through ``conn``, or a
    short read transaction per batch when none is given: they are complete beyond ``stop``.
    Without an engine, every table is in memory and so is the lookup (:class:`MemoryUnitOfWork`).
    """
    cache, sink, pos, clock = replayed.cache, replayed.sink, replayed.position, replayed.clock
    while pos < stop:
        events = _read(ledger, pos, min(pos + replayed.batch, stop), replayed.batch)
        if not events:
            raise OperationalError(f"the log ends before seq {pos}: projections cannot continue")
        if engine is None:
            uow: UnitOfWork = MemoryUnitOfWork(replayed)
            apply(uow, events)
        elif conn is None:
            with engine.connect() as reader, reader.begin():
                uow = UnitOfWork(reader, pos, clock, None, cache, sink, replayed.trace)
                apply(uow, events)
        else:
            uow = UnitOfWork(conn, pos, clock, None, cache, sink, replayed.trace)
            apply(uow, events)
        pos, clock = replayed.position, replayed.clock = uow.position, uow.log_clock
        if cache.size() > cache.limit:
            raise OperationalError(
                f"replaying the projections needs more than {cache.limit:,} rows in memory ({CACHE_ENV}); "
                "run a full rebuild instead"
            )
        cache.committed(pos)
        done = len(events)
        del uow, events
        between_batches()
        if progress is not None:
            progress(done)


def reset(engine: Engine, *, pending: Collection[str] = ()) -> None:
    """Drop every projection table and recreate them empty, at position 0 (one transaction).

    ``pending``: plugins whose tables another process will replay (a two-process rebuild)."""
    load_plugins()
    with _writer(engine) as conn, conn.begin():
        _guard(conn)
        _reset(conn, pending)
    if pending:
        _VERIFIED.discard(engine)
    else:
        _VERIFIED.add(engine)


def snapshot(ledger: LogSource, as_of: int, *, batch: int = REBUILD_BATCH) -> Engine:
    """The read models exactly as of leaf ``as_of`` (0..as_of), in a scratch in-memory database.

    For the entity tables, which hold current state; facts and postings answer as-of queries
    directly with ``seq <= N``. Costs a replay of as_of + 1 leaves.
    """
    engine = memory_engine()
    reset(engine)
    catch_up(ledger, stop=as_of + 1, batch=batch, engine=engine)
    return engine


def memory_engine() -> Engine:
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def position(engine: Engine | Connection) -> int:
    """The next seq to project (0 when nothing is projected or the tables do not exist yet)."""
    conn_ctx = engine.connect() if isinstance(engine, Engine) else None
    conn: Connection = conn_ctx if conn_ctx is not None else cast(Connection, engine)
    try:
        if not sa.inspect(conn).has_table(T.position.name):
            return 0
        row = conn.execute(sa.select(T.position.c.next_seq).where(T.position.c.name == RUNNER)).first()
        return 0 if row is None else int(row[0])
    finally:
        if conn_ctx is not None:
            conn_ctx.close()


# --- schema ------------------------------------------------------------------------------------------
_VERIFIED: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose tables are checked


def ensure_schema(engine: Engine) -> list[str]:
    """Create the tables on first use; rebuild them (empty, position 0) if their shape changed.

    Returns the plugins whose own tables alone are stale (only their version or those tables'
    shape changed): :func:`catch_up` recomputes them with :func:`rebuild_only` before going on.
    """
    if engine in _VERIFIED:
        return []
    with _writer(engine) as conn, conn.begin():
        _guard(conn)
        found = None
        if sa.inspect(conn).has_table(T.position.name):
            row = conn.execute(sa.select(T.position.c.schema).where(T.position.c.name == RUNNER)).first()
            found = None if row is None else row[0]
        stale = _stale_modules(found, schema_id())
        if stale is None:
            _reset(conn)
            stale = []
        elif not stale:
            _check_shape(conn)
    if not stale:
        _VERIFIED.add(engine)
    return stale


def schema_id(pending: Collection[str] = ()) -> str:
    """What the rows were computed by, as ``pj_position.schema`` records it: one hash of the
    shape of the tables and the logic versions shared by all, then one per plugin that owns
    tables (``registry.register_version(..., tables=...)``), e.g. ``=3f…;projections.anomalies=9c…``."""
    owned = {t for tables in REGISTRY.owned.values() for t in tables}
    shared = [t for t in T.metadata.tables.values() if t not in owned]
    parts = {"": T.fingerprint({k: v for k, v in REGISTRY.versions.items() if k not in REGISTRY.owned}, shared)}
    for name, tables in REGISTRY.owned.items():
        parts[name] = PENDING if name in pending else T.fingerprint({name: REGISTRY.versions[name]}, tables)
    return ";".join(f"{name}={digest}" for name, digest in sorted(parts.items()))


def _pending_modules(found: str | None) -> list[str]:
    """The plugins whose tables ``found`` marks as waiting for a replay."""
    return sorted(name for name, _, digest in (part.partition("=") for part in (found or "").split(";"))
                  if name and digest == PENDING)  # fmt: skip


def _stale_modules(found: str | None, wanted: str) -> list[str] | None:
    """The plugins whose own tables alone are stale ([] none); None if every table must be rebuilt."""
    if found == wanted:
        return []
    parts = [dict(part.partition("=")[::2] for part in text.split(";")) for text in (found or "", wanted)]
    old, new = parts
    if old.keys() != new.keys() or old.get("") != new[""]:
        return None  # the shared tables or versions changed, a plugin came or went, or an older format
    return sorted(name for name in new if old[name] != new[name])


def _reset(conn: Connection, pending: Collection[str] = ()) -> None:
    """Drop every ``pj_`` table (today's and any left by older versions) and start at seq 0."""
    for name in sa.inspect(conn).get_table_names():
        if name.startswith(T.PREFIX):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    T.metadata.create_all(conn)
    conn.execute(T.position.insert().values(
        name=RUNNER, next_seq=0, log_clock=None, schema=schema_id(pending)))  # fmt: skip


def _check_shape(conn: Connection) -> None:
    """The tables are those ``pj_position.schema`` says the rows were written into: every table
    there, with its columns (one catalogue query). Someone dropped or altered one otherwise."""
    if is_postgres(conn):
        query = ("SELECT table_name, column_name FROM information_schema.columns"
                 " WHERE table_schema = current_schema() AND table_name LIKE :pattern ESCAPE '!'")  # fmt: skip
    else:
        query = ("SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p"
                 " WHERE m.type = 'table' AND m.name LIKE :pattern ESCAPE '!'")  # fmt: skip
    found: dict[str, set[str]] = {}
    for table, column in conn.execute(sa.text(query), {"pattern": T.PREFIX.replace("_", "!_") + "%"}):
        found.setdefault(table, set()).add(column)
    for table in sorted(T.metadata.tables.values(), key=lambda t: t.name):
        if found.get(table.name) != {c.name for c in table.columns}:
            raise ProjectionInconsistent("shape", table=table.name)


def _guard(conn: Connection) -> None:
    """Serialise schema changes between processes (SQLite: BEGIN IMMEDIATE already did)."""
    if is_postgres(conn):
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})


def _writer(engine: Engine) -> Connection:
    return engine.connect().execution_options(**{WRITE: True})


def _lock_position(conn: Connection) -> tuple[int, str | None, str]:
    """(next seq, log clock, ``pj_position.schema``) under the write lock."""
    p = T.position.c
    query = sa.select(p.next_seq, p.log_clock, p.schema).where(p.name == RUNNER)
    if is_postgres(conn):
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise OperationalError("projection position is missing: run `subsidy-ledger rebuild`")
    return int(row[0]), row[1], row[2]
