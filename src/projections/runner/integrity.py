"""``verify --projections``: are the projection tables what the log says they are?

The log is signed and verified; the ``pj_`` tables beside it are not, and anyone with write access
to the database could edit them — a balanced forged posting keeps the trial balance at zero, a flag
set to ``false_positive`` needs no ``AnomalyDisposed`` — and every answer read from them would
carry the edit. This module replays the log in memory up to the position the tables record
(:func:`projections.runner.catchup.replay`: the in-memory replay of ``rebuild --anomalies``, keeping every
table) and compares the result with every table the projection owns, row by row and column by
column. It raises :class:`ProjectionMismatch` naming the first difference, or returns a
:class:`Report` (STYLE.md habit 3):

1. ``pj_position``: its row exists, the log reaches its position, ``schema`` is this code's
   (rows of another version or other thresholds cannot be compared), every table is there and
   ``pj_events`` holds no leaf at or beyond the position (a rewound position) — each stops here;
2. every other table, by primary key: a row the replay has and the table lacks (``missing``), a
   row the table has and the replay does not (``extra``), a row whose columns differ (``changed``);
   then the position's log clock.

"First" is by leaf: each difference is placed at the seq the row cites (facts: their ``seq``) or,
for entity rows, the last leaf that changed the row in the replay; differences with neither (a
forged row without a ``seq`` column) come last; ties go by table name, then key.

Reads happen in one read transaction (PostgreSQL: ``REPEATABLE READ``; SQLite: one WAL snapshot),
so a runner projecting meanwhile cannot make rows appear different. A hook's rare SQL lookup during
the replay reads the stored facts (``runner.rebuild_only`` does the same); they are compared too,
and an edit there is placed at its own, earlier, seq.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NoReturn, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger import Progress
from ledger.encoding.canonical import canonical_str, loads_trusted
from ledger.errors import VerificationFailed
from projections import tables as T
from projections.db import engine_for, is_postgres
from projections.ports import LogSource
from projections.runner.catchup import REBUILD_BATCH, RUNNER, replay, schema_id
from projections.runner.registry import load_plugins
from projections.uow import Fact, Key, Row, shape


@dataclass(frozen=True)
class Difference:
    """One place where a table and the replay disagree.

    ``kind``: ``missing`` (the replay has the row, the table does not), ``extra`` (the reverse),
    ``changed`` (``columns`` differ: ``stored`` and ``replayed`` give their values),
    ``table_missing``, ``no_position`` (pj_position has no row), ``ahead`` (the position is beyond
    the log), ``rewound`` (``pj_events`` holds ``seq``, at or beyond the position), ``schema`` (the
    rows were computed by another version or other thresholds).
    """

    table: str
    key: Mapping[str, str | int]
    seq: int | None
    kind: str
    columns: tuple[str, ...] = ()
    stored: dict[str, object] = field(default_factory=dict)
    replayed: dict[str, object] = field(default_factory=dict)

    def order(self) -> tuple[bool, int, str, str]:
        return (self.seq is None, self.seq or 0, self.table, canonical_str(list(self.key.values())))

    def as_json(self) -> dict[str, object]:
        return {"table": self.table, "key": self.key, "seq": self.seq, "kind": self.kind,
                "columns": list(self.columns), "stored": self.stored, "replayed": self.replayed}  # fmt: skip

    def __str__(self) -> str:
        where = f"{self.table} ({', '.join(f'{k}={v}' for k, v in self.key.items())})"
        at = f" at seq {self.seq}" if self.seq is not None else ""
        what = {
            "missing": "a row the log produces is missing",
            "extra": "a row the log does not produce",
            "changed": f"{', '.join(self.columns)}: not what the log's replay gives",
            "table_missing": "the table is missing",
            "no_position": "the position row is missing",
            "ahead": f"the position {self.stored.get('next_seq')} is beyond the log ({self.replayed.get('next_seq')} leaves)",
            "rewound": f"the tables hold rows at or beyond their position {self.stored.get('next_seq')} (rewound?)",
            "schema": "the rows were computed by another version or other thresholds",
        }[self.kind]
        return f"{where}{at}: {what}"


@dataclass(frozen=True)
class Report:
    """What was compared: the position (leaves 0..position - 1), tables and rows, the time taken."""

    position: int
    log_size: int
    tables: int
    rows: int
    elapsed: float
    differences: int = 0
    by_table: dict[str, int] = field(default_factory=dict)
    first: Difference | None = None

    @property
    def ok(self) -> bool:
        return self.first is None

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "position": self.position, "log_size": self.log_size, "tables": self.tables,
                "rows": self.rows, "differences": self.differences, "by_table": self.by_table,
                "first": None if self.first is None else self.first.as_json(),
                "elapsed": round(self.elapsed, 3)}  # fmt: skip


class ProjectionMismatch(VerificationFailed):
    """The projection tables are not what the log produces; ``report.first`` names where."""

    code = "projection_mismatch"

    def __init__(self, report: Report):
        assert report.first is not None
        more = f" ({report.differences} differences in all)" if report.differences > 1 else ""
        super().__init__(f"{report.first}{more}: run `subsidy-ledger rebuild`", seq=report.first.seq)
        self.report = report
        self.first = report.first


def verify_projections(ledger: LogSource, *, engine: Engine | None = None, progress: Progress | None = None,
                       batch: int = REBUILD_BATCH) -> Report:  # fmt: skip
    """Compare every projection table with a replay of the log up to their position.

    Returns the :class:`Report` when every row matches (also when nothing was ever projected: no
    ``pj_`` table at all); raises :class:`ProjectionMismatch` otherwise. Writes nothing.
    """
    load_plugins()
    engine = engine or engine_for(ledger)
    started = time.perf_counter()
    with _snapshot(engine) as conn:
        present = {name for name in sa.inspect(conn).get_table_names() if name.startswith(T.PREFIX)}
        size = ledger.size()
        if T.position.name not in present:
            if not present:  # never projected: nothing to compare
                return Report(0, size, 0, 0, time.perf_counter() - started)
            _fail(Difference(T.position.name, {}, None, "table_missing"), 0, size, started)
        row = conn.execute(sa.select(T.position).where(T.position.c.name == RUNNER)).mappings().first()
        if row is None:
            _fail(Difference(T.position.name, {"name": RUNNER}, None, "no_position"), 0, size, started)
        pos = int(row["next_seq"])
        key = {"name": RUNNER}
        if pos > size:
            _fail(Difference(T.position.name, key, None, "ahead", ("next_seq",), {"next_seq": pos}, {"next_seq": size}),
                  pos, size, started)  # fmt: skip
        if row["schema"] != schema_id():
            _fail(Difference(T.position.name, key, None, "schema", ("schema",), {"schema": row["schema"]},
                             {"schema": schema_id()}), pos, size, started)  # fmt: skip
        tables = sorted((t for t in T.metadata.tables.values() if t is not T.position), key=lambda t: t.name)
        for table in tables:
            if table.name not in present:
                _fail(Difference(table.name, {}, None, "table_missing"), pos, size, started)
        last = conn.execute(sa.select(sa.func.max(T.events.c.seq))).scalar()
        if last is not None and last >= pos:  # rows beyond the position: rewound (the runner refuses it too)
            _fail(Difference(T.position.name, key, int(last), "rewound", ("next_seq",), {"next_seq": pos}),
                  pos, size, started)  # fmt: skip

        replayed = replay(ledger, pos, progress=progress, batch=batch, engine=engine)
        trace = replayed.trace
        assert trace is not None
        found = _Found()
        rows = 0
        for table in tables:
            expected = _expected(table, replayed.cache.rows.pop(table, {}), replayed.sink.pop(table, []))
            rows += _compare(conn, table, expected, trace.touched.get(table, {}), found)
        if row["log_clock"] != replayed.clock:
            found.add(Difference(T.position.name, key, pos - 1 if pos else None, "changed", ("log_clock",),
                                 {"log_clock": row["log_clock"]}, {"log_clock": replayed.clock}))  # fmt: skip
    report = Report(pos, size, len(tables) + 1, rows + 1, time.perf_counter() - started,
                    found.count, dict(sorted(found.by_table.items())), found.first)  # fmt: skip
    if not report.ok:
        raise ProjectionMismatch(report)
    return report


def _fail(difference: Difference, pos: int, size: int, started: float) -> NoReturn:
    report = Report(pos, size, 0, 0, time.perf_counter() - started, 1, {difference.table: 1}, difference)
    raise ProjectionMismatch(report)


class _Found:
    """Differences seen so far: their count (in all, per table) and the first by leaf."""

    def __init__(self) -> None:
        self.count = 0
        self.by_table: dict[str, int] = {}
        self.first: Difference | None = None

    def add(self, difference: Difference) -> None:
        self.count += 1
        self.by_table[difference.table] = self.by_table.get(difference.table, 0) + 1
        if self.first is None or difference.order() < self.first.order():
            self.first = difference


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read transaction: every row compared is as of the position read first."""
    with engine.connect() as conn:
        if is_postgres(conn):
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _expected(table: sa.Table, entities: dict[Key, Row | None], facts: list[Fact]) -> dict[Key, Fact]:
    """The replay's rows of ``table`` by key, each as its values in column order."""
    sh = shape(table)
    out: dict[Key, Fact] = {}
    for key, row in entities.items():
        if row is not None:
            out[key] = [row[name] for name in sh.names]
    at = [sh.index[name] for name in sh.key_names]
    for values in facts:
        out[cast(Key, tuple(values[i] for i in at))] = values
    return out


def _compare(conn: Connection, table: sa.Table, expected: dict[Key, Fact], touched: dict[Key, int],
             found: _Found) -> int:  # fmt: skip
    """Compare the stored rows of ``table`` with ``expected`` (emptied as it goes); return the rows read."""
    sh = shape(table)
    quote = conn.dialect.identifier_preparer.quote
    at = [sh.index[name] for name in sh.key_names]
    seq_at = sh.index.get("seq") if sh.has_seq else None
    json_at = set(sh.json_index)
    bool_at = {sh.index[name] for name in sh.bool_names}
    names = ", ".join(quote(n) for n in sh.names)
    result = conn.exec_driver_sql(f"SELECT {names} FROM {quote(table.name)}", execution_options={"stream_results": True})
    read = 0
    for raw in result:
        read += 1
        stored = [_decoded(i, v, json_at, bool_at) for i, v in enumerate(raw)]
        key = cast(Key, tuple(stored[i] for i in at))
        want = expected.pop(key, None)
        if want is None:
            seq = cast(int | None, stored[seq_at]) if seq_at is not None else None
            found.add(Difference(table.name, _key(sh.key_names, key), seq, "extra", stored=_row(sh.names, stored)))
            continue
        if stored == want:
            continue
        columns = [i for i, (s, w) in enumerate(zip(stored, want, strict=True)) if not _same(i, s, w, json_at)]
        if columns:
            seq = touched.get(key, want[seq_at] if seq_at is not None else None)
            found.add(Difference(
                table.name, _key(sh.key_names, key), seq, "changed", tuple(sh.names[i] for i in columns),
                {sh.names[i]: stored[i] for i in columns}, {sh.names[i]: _plain(want[i]) for i in columns},
            ))  # fmt: skip
    for key, want in expected.items():
        seq = touched.get(key, want[seq_at] if seq_at is not None else None)
        found.add(Difference(table.name, _key(sh.key_names, key), seq, "missing", replayed=_row(sh.names, want)))
    return read


def _decoded(i: int, value: str | int | None, json_at: set[int], bool_at: set[int]) -> object:
    """A stored value as the handlers hold it (``uow._Shape.from_db``): JSON decoded, booleans as bool."""
    if value is None:
        return None
    if i in json_at and isinstance(value, str):
        try:
            return loads_trusted(value)
        except ValueError:
            return value  # not JSON at all: it differs from whatever the replay holds
    if i in bool_at and value in (0, 1):
        return bool(value)
    return value


def _same(i: int, stored: object, wanted: object, json_at: set[int]) -> bool:
    if stored == wanted:
        return True
    if i in json_at and stored is not None and wanted is not None:
        return canonical_str(stored) == canonical_str(wanted)  # a tuple held, a list read back
    return False


def _plain(value: object) -> object:
    """A replayed value as JSON gives it (tuples become lists)."""
    return value if value is None or isinstance(value, str | int) else loads_trusted(canonical_str(value))


def _key(names: list[str], key: Key) -> dict[str, str | int]:
    return dict(zip(names, key, strict=True))


def _row(names: list[str], values: Fact) -> dict[str, object]:
    return {name: _plain(value) for name, value in zip(names, values, strict=True)}
