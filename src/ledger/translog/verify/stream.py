"""Reading the store for the pass: batches of leaves with their level-0 node and domain event, in
``seq`` order, checked here or — for a log large enough to be worth it — in worker processes,
each on its own connection (no leaf bytes cross processes; memory stays flat).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

from eventsourcing.persistence import Mapper

from ledger.domain.envelope import key_id_of
from ledger.encoding.b64 import Base64Invalid, b64decode_strict
from ledger.persistence import queries
from ledger.persistence.store import Row
from ledger.translog.verify.events import plain_state
from ledger.translog.verify.leaves import Fact, check_rows

if TYPE_CHECKING:
    from ledger.application import Ledger


PARALLEL_THRESHOLD = 4000  # below this many leaves, starting worker processes costs more than it saves


_PUBLIC_KEY = re.compile(rb'"public_key":"([A-Za-z0-9+/]{43}=)"')


def _plain_rows(rows: list[Row], mapper: Mapper[UUID] | None = None) -> list[Row]:
    out = []
    for r in rows:
        state = r[11] if mapper is None else plain_state(mapper, r[11])
        out.append((int(r[0]), r[1], bytes(r[2]), bytes(r[3]), r[4], r[5], r[6], str(r[7]).replace("-", ""),
                    r[8], None if r[9] is None else bytes(r[9]), r[10], None if state is None else bytes(state)))  # fmt: skip
    return out


def _key_material(ledger: Ledger, stop: int) -> dict[str, bytes]:
    """key_id -> raw key of every key registered below ``stop``, for the workers' signature checks.

    Pure key material, found through the key index (a hint only: a key it misses is checked in
    the main process, and the index itself is checked against the registry leaves afterwards).
    Which key was *valid* where is the registry's sequential decision.
    """
    seqs = queries.key_seqs_below(ledger.sql, stop)
    keys: dict[str, bytes] = {}
    for start in range(0, len(seqs), 500):
        for _, leaf in queries.leaves_by_seq(ledger.sql, seqs[start : start + 500]):
            match = _PUBLIC_KEY.search(leaf)
            if match:
                try:
                    raw = b64decode_strict(match.group(1).decode())
                except Base64Invalid:
                    continue
                keys[key_id_of(raw)] = raw
    return keys


@dataclass(frozen=True)
class _Source:
    """How a worker process reads the store on its own connection (no leaf bytes cross processes)."""

    postgres: bool
    target: str  # the SQLite file, or a libpq conninfo
    sql: str


_Checked: TypeAlias = tuple[list[Fact], tuple[int, str, str] | None]  # facts, and the first bad leaf if any
_Packed: TypeAlias = tuple[list[tuple[Any, ...]], tuple[int, str, str] | None]  # the same, as a worker sends it
_WORKER: dict[str, Any] = {}  # this worker process's source, key material and connection


def _worker_init(source: _Source, keys: dict[str, bytes]) -> None:
    _WORKER.clear()
    _WORKER.update(source=source, keys=keys, conn=None)


def _worker_rows(start: int, stop: int) -> list[Row]:
    source: _Source = _WORKER["source"]
    if _WORKER["conn"] is None:
        if source.postgres:
            import psycopg

            _WORKER["conn"] = psycopg.connect(source.target, autocommit=True)
        else:
            import sqlite3

            uri = Path(source.target).resolve().as_uri() + "?mode=ro"
            _WORKER["conn"] = sqlite3.connect(uri, uri=True, timeout=60)
    sql = source.sql.replace("?", "%s") if source.postgres else source.sql
    return _plain_rows(_WORKER["conn"].execute(sql, (start, stop)).fetchall())


def _check_range(start: int, stop: int) -> _Packed:
    facts, error = check_rows(_worker_rows(start, stop), _WORKER["keys"])
    return _pack(facts), error


# A Fact's ``at`` crosses the process boundary as text: pickling an aware datetime (with its
# tzinfo) cost 17 µs per leaf, a tenth of verify's CPU per leaf (issue 18).
def _pack(facts: list[Fact]) -> list[tuple[Any, ...]]:
    return [(f.seq, f.recorded_at, f.at.isoformat(), *f[3:]) for f in facts]


def _unpack(packed: _Packed) -> _Checked:
    parse = dt.datetime.fromisoformat
    return [Fact(s, r, parse(at), *rest) for s, r, at, *rest in packed[0]], packed[1]


def _source(ledger: Ledger) -> _Source | None:
    """Where workers can read on their own, or None (in-memory SQLite, encrypted events)."""
    mapper = ledger.mapper
    if mapper.cipher is not None or mapper.compressor is not None:
        return None
    env = ledger.env
    sql = queries.checked_rows_statement(ledger.sql.postgres, ledger.sql.events_table)
    if ledger.sql.postgres:
        from psycopg.conninfo import make_conninfo

        target = make_conninfo(
            dbname=env.get("POSTGRES_DBNAME"), host=env.get("POSTGRES_HOST"), port=env.get("POSTGRES_PORT"),
            user=env.get("POSTGRES_USER"), password=env.get("POSTGRES_PASSWORD") or None,
        )  # fmt: skip
        return _Source(True, target, sql)
    path = env.get("SQLITE_DBNAME", "")
    if not path or path == ":memory:" or "mode=memory" in path:
        return None
    return _Source(False, path, sql)


def _pool(workers: int, source: _Source, keys: dict[str, bytes]) -> Pool:
    # fork: workers inherit the imported modules and need nothing from __main__ (spawn and
    # forkserver re-run the caller's main script, which breaks under `python -` or notebooks).
    # Workers open their own connection and touch no inherited one.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ctx.Pool(workers, initializer=_worker_init, initargs=(source, keys))


def checked_batches(
    ledger: Ledger, stop: int, batch: int, workers: int
) -> Iterator[tuple[int, int, list[Fact], tuple[int, str, str] | None]]:
    """(start, stop, facts, first error) per range of seqs, in order; worker processes when ``workers`` > 0."""
    keys = _key_material(ledger, stop)
    ranges = ((a, min(a + batch, stop)) for a in range(0, stop, batch))
    source = _source(ledger) if workers > 0 else None
    if source is None:
        mapper = ledger.mapper if (ledger.mapper.cipher or ledger.mapper.compressor) else None
        for a, b in ranges:
            rows = _plain_rows(queries.checked_rows(ledger.sql, a, b), mapper)
            yield (a, b, *check_rows(rows, keys))
        return
    pool = _pool(workers, source, keys)
    try:
        pending: deque[tuple[int, int, AsyncResult[_Packed]]] = deque()
        for a, b in ranges:
            pending.append((a, b, pool.apply_async(_check_range, (a, b))))
            while len(pending) > 2 * workers:  # bounded: memory stays flat
                a0, b0, result = pending.popleft()
                yield (a0, b0, *_unpack(result.get()))
        while pending:
            a0, b0, result = pending.popleft()
            yield (a0, b0, *_unpack(result.get()))
    finally:
        pool.terminate()
        pool.join()
