"""The unit of work of one batch: rows loaded on demand by key, changed in memory, written once.

A batch of thousands of leaves touches far fewer rows than it has events (one class gets all its
enrolments and attendance days), so handlers work on dicts held here and the database sees one bulk
``INSERT`` of the new rows and one bulk ``UPDATE`` of the changed rows per table, then the
runner's position, then ``COMMIT``. Only the entity rows outlive the batch, in the runner's
:class:`RowCache` (bounded), so the next batch of the same catch-up need not load them again.

Three kinds of write:

* ``add`` / ``edit`` — entity rows keyed by their primary key (``get`` reads without marking);
* ``append`` — facts (postings, claim lines, events…), never updated except by
* ``retire`` — stamping superseded facts (``replaced_seq``), in memory and in the database.

``execute`` runs a query after flushing pending writes (still inside the transaction), for
the rare lookup that is not by primary key.

:class:`MemoryUnitOfWork` has the same interface on rows held in memory only (:class:`MemoryTables`):
the replays of ``rebuild --anomalies`` and ``verify --projections`` keep their tables there, and
with every table kept (``runner.catchup.project_in_memory``) read models and rules run with no
database at all; its ``execute`` answers the simple ``SELECT`` a hook may issue from those rows.
"""

from __future__ import annotations

import operator
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.encoding.canonical import canonical_str, loads_trusted
from projections import tables as T
from projections.events import LeafEvent
from projections.tables import CanonicalJSON

Key = tuple[str | int, ...]  # a primary key's values, in the key's column order
Row = dict[str, Any]  # an entity row as handlers see it: column → value (JSON decoded, booleans as bool)
Fact = list[Any]  # a fact row held in column order until it is written
Facts = dict[sa.Table, list[Fact]]

CRASH_ENV = "LEDGER_PROJECTIONS_CRASH"  # test hook: "rows:N" or "commits:N" (see runner)
MISSING: Any = object()  # a key not looked up yet (None is a known absent row)
_CHUNK = 400  # keys per IN (...): well under SQLite's and PostgreSQL's parameter limits


class CrashPoint:
    """Test hook: die like ``kill -9`` after N rows written (before commit) or N commits."""

    def __init__(self) -> None:
        spec = os.environ.get(CRASH_ENV, "")
        mode, _, count = spec.partition(":")
        self.mode = mode if count.isdigit() else ""
        self.limit = int(count) if count.isdigit() else 0
        self.rows = 0
        self.commits = 0

    def wrote(self, n: int) -> None:
        self.rows += n
        if self.mode == "rows" and self.rows >= self.limit:
            os._exit(75)

    def committed(self) -> None:
        self.commits += 1
        if self.mode == "commits" and self.commits >= self.limit:
            os._exit(75)


class _Shape:
    """Per-table facts the unit of work needs on every row, and its bulk statements per dialect."""

    def __init__(self, table: sa.Table):
        self.table = table
        self.key_names = [c.name for c in table.primary_key.columns]
        self.key_cols = [table.c[n] for n in self.key_names]
        self.names = [c.name for c in table.columns]
        self.other_names = [c.name for c in table.columns if not c.primary_key]
        self.json_names = {c.name for c in table.columns if isinstance(c.type, CanonicalJSON)}
        self.bool_names = {c.name for c in table.columns if isinstance(c.type, sa.Boolean)}
        self.has_seq = "seq" in table.c
        getter = operator.itemgetter(*self.key_names)
        self._key = getter if len(self.key_names) > 1 else (lambda row: (getter(row),))
        self.template: Row = {}
        for column in table.columns:
            default = column.default
            self.template[column.name] = (
                getattr(default, "arg", None) if getattr(default, "is_scalar", False) else None
            )
        self.index = {name: i for i, name in enumerate(self.names)}
        self.defaults = [(name, self.template[name]) for name in self.names]
        self.blank: Fact = [default for _, default in self.defaults]  # a fact row before its values
        self.seq_at = self.index.get("seq", -1)
        self.json_index = [self.index[n] for n in self.names if n in self.json_names]
        self._sql: dict[str, tuple[str, str, str]] = {}

    def key(self, row: Row) -> Key:
        return self._key(row)

    def where(self, key: Key) -> sa.ColumnElement[bool]:
        return sa.and_(*[c == v for c, v in zip(self.key_cols, key, strict=True)])

    def statements(self, conn: Connection) -> tuple[str, str, str]:
        """(INSERT, UPDATE by key, UPDATE template) with the driver's own placeholders.

        Bulk writes go straight to the DB-API ``executemany``: SQLAlchemy's per-row parameter
        processing would cost more than SQLite's insert itself (see benchmarks/bench_rebuild.py).
        """
        name = conn.dialect.name
        found = self._sql.get(name)
        if found is None:
            quote = conn.dialect.identifier_preparer.quote
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            table = quote(self.table.name)
            cols = ", ".join(quote(n) for n in self.names)
            marks = ", ".join([mark] * len(self.names))
            sets = ", ".join(f"{quote(n)} = {mark}" for n in self.other_names)
            keys = " AND ".join(f"{quote(n)} = {mark}" for n in self.key_names)
            found = self._sql[name] = (
                f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                f"UPDATE {table} SET {sets} WHERE {keys}" if self.other_names else "",
                f"UPDATE {table} SET {{sets}} WHERE {{where}}",
            )
        return found

    def select_in(self, conn: Connection, count: int) -> str:
        """``SELECT`` every column ``WHERE`` the key is one of ``count`` keys (row values)."""
        quote = conn.dialect.identifier_preparer.quote
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        cols = ", ".join(quote(n) for n in self.names)
        if len(self.key_names) == 1:
            where = f"{quote(self.key_names[0])} IN ({', '.join([mark] * count)})"
        else:
            one = "(" + ", ".join([mark] * len(self.key_names)) + ")"
            if conn.dialect.name == "sqlite":
                # SQLite answers a row-value IN (VALUES …) with a full scan; a join from a CTE
                # of the keys uses the primary key (650 ms → 2 ms per 400 keys on pj_trainees).
                keys = ", ".join(f"k{i}" for i in range(len(self.key_names)))
                on = " AND ".join(f"t.{quote(n)} = v.k{i}" for i, n in enumerate(self.key_names))
                tcols = ", ".join(f"t.{quote(n)}" for n in self.names)
                return (f"WITH v({keys}) AS (VALUES {', '.join([one] * count)}) "
                        f"SELECT {tcols} FROM v JOIN {quote(self.table.name)} t ON {on}")  # fmt: skip
            where = f"({', '.join(quote(n) for n in self.key_names)}) IN (VALUES {', '.join([one] * count)})"
        return f"SELECT {cols} FROM {quote(self.table.name)} WHERE {where}"

    def from_db(self, values: Iterable[Any]) -> Row:
        """A row as the handlers see it on every backend: JSON decoded, booleans as bool."""
        row = dict(zip(self.names, values, strict=True))
        for name in self.json_names:
            if row[name] is not None:
                row[name] = loads_trusted(row[name])
        for name in self.bool_names:
            if row[name] is not None:
                row[name] = bool(row[name])
        return row

    def params(self, rows: Iterable[Row], names: list[str]) -> list[tuple[object, ...] | Fact]:
        """The driver's parameters for ``rows``: ``names``' values in order, JSON columns as
        canonical text (one C ``itemgetter`` per row; the few JSON positions patched after)."""
        getter = operator.itemgetter(*names)
        if len(names) == 1:
            out: list[tuple[object, ...] | Fact] = [(getter(row),) for row in rows]
        else:
            out = [getter(row) for row in rows]
        positions = [i for i, n in enumerate(names) if n in self.json_names]
        if positions:
            for k, values in enumerate(out):
                values = list(values)
                for i in positions:
                    if values[i] is not None:
                        values[i] = canonical_str(values[i])
                out[k] = values
        return out


_SHAPES: dict[sa.Table, _Shape] = {}


def shape(table: sa.Table) -> _Shape:
    found = _SHAPES.get(table)
    if found is None:
        found = _SHAPES[table] = _Shape(table)
    return found


class RowCache:
    """Entity rows kept from one batch to the next of a long catch-up, such as a rebuild.

    A unit of work forgets its rows when its batch commits, so the next batch loads again the
    class, the labourers and the rules' state its events touch: on a chronological log most of
    them are the same rows. While one runner follows the log batch after batch, nobody else can
    change the projection tables between its commits (they change only under the position lock,
    and the runner checks the position has not moved), so the rows it wrote or read stay true.

    A cache started at position 0, on the empty tables a reset leaves, is **complete**: a row it
    does not hold does not exist, so nothing is read back at all (no prefetch, no JSON decoding).
    When it holds more than ``limit`` rows it is emptied and continues incomplete (rows are loaded
    by key again, as each batch did before), so memory stays bounded however long the log is.
    """

    def __init__(self, position: int, limit: int, *, complete: bool = False):
        self.position = position  # the next seq this cache's rows account for
        self.complete = complete  # the caller knows the tables are empty (position 0 after a reset)
        self.limit = limit
        self.rows: dict[sa.Table, dict[Key, Row | None]] = defaultdict(dict)
        self.stored: dict[sa.Table, set[Key]] = defaultdict(set)

    def size(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def committed(self, position: int) -> None:
        """The batch ending before ``position`` is committed; empty the cache if it is too full."""
        self.position = position
        if self.size() > self.limit:
            self.rows.clear()
            self.stored.clear()
            self.complete = False


class Trace:
    """What a replay that keeps every table needs beyond the sink (``verify --projections``): the
    kept facts by ``(table, seq)``, so a later batch can retire them as the database would, and
    the last leaf that changed each entity row, so a difference can name it."""

    def __init__(self) -> None:
        self.facts_by_seq: dict[tuple[sa.Table, object], list[Fact]] = defaultdict(list)
        self.touched: dict[sa.Table, dict[Key, int]] = defaultdict(dict)


class _Touching(dict[Key, Row]):
    """One table's changed rows of a batch that also note the leaf changing each (a traced replay)."""

    def __init__(self, seqs: dict[Key, int], uow: UnitOfWork):
        super().__init__()
        self._seqs = seqs
        self._uow = uow

    def __setitem__(self, key: Key, row: Row) -> None:
        super().__setitem__(key, row)
        event = self._uow.event
        self._seqs[key] = event.seq if event is not None else self._uow.position - 1


class _TouchingTables(dict[sa.Table, dict[Key, Row]]):
    def __init__(self, trace: Trace, uow: UnitOfWork):
        super().__init__()
        self._trace = trace
        self._uow = uow

    def __missing__(self, table: sa.Table) -> dict[Key, Row]:
        found = self[table] = _Touching(self._trace.touched[table], self._uow)
        return found


class UnitOfWork:
    def __init__(self, conn: Connection | None, position: int, log_clock: str | None,
                 crash: CrashPoint | None = None, cache: RowCache | None = None,
                 sink: Facts | None = None, trace: Trace | None = None):  # fmt: skip
        self._conn = conn  # None: a MemoryUnitOfWork, which never reads or writes a database
        self.position = position  # the next seq to project
        self.log_clock = log_clock  # DESIGN §3: latest business date so far, registry excluded
        self.event: LeafEvent | None = None  # the event being applied (for hooks)
        self.notes: dict[str, object] = {}  # what hooks remember for the rest of the batch
        self.crash = crash or CrashPoint()
        if cache is None:
            cache = RowCache(position, 0)
        self._cache = cache.rows
        self._stored = cache.stored
        self._complete = cache.complete and cache.position == position
        self._dirty: dict[sa.Table, dict[Key, Row]] = defaultdict(dict)
        self._facts: Facts = defaultdict(list)
        # This batch's facts by (table, seq), for ``retire``: built for a table at its first retire (rare),
        # then kept up by ``append`` for the tables in ``_by_seq``.
        self._facts_by_seq: dict[tuple[sa.Table, object], list[Fact]] = defaultdict(list)
        self._by_seq: set[sa.Table] = set()
        self._retired: dict[tuple[sa.Table, tuple[str, ...], tuple[str, ...]], list[tuple[object, ...]]] = (
            defaultdict(list)
        )
        # A replay that writes nothing (runner.rebuild_only): the facts of the tables it keeps go
        # to ``sink`` at each flush, everything else is dropped (entity rows live on in the cache).
        self._sink = sink
        self._trace = trace  # a replay that keeps every table to compare them (projections.runner.integrity)
        if trace is not None:
            self._dirty = _TouchingTables(trace, self)

    @property
    def conn(self) -> Connection:
        """The batch's connection (its transaction is the runner's)."""
        if self._conn is None:
            raise TypeError("an in-memory unit of work has no database connection")
        return self._conn

    # --- reads ----------------------------------------------------------------------------------
    def get(self, table: sa.Table, *key: str | int) -> Row | None:
        """The row with this primary key (None if absent). Do not change it: use ``edit``."""
        cache = self._cache[table]
        row = cache.get(key, MISSING)
        if row is not MISSING:
            return row  # type: ignore[no-any-return]  # a Row (the hot path: no cast() call)
        if self._complete:
            return None
        self._load(table, [key])
        return cache[key]

    def rows(self, table: sa.Table) -> tuple[dict[Key, Row | None], bool]:
        """(the rows held for ``table``, whether that is every row there is): for hot loops that
        look up many keys of one table and fall back to :meth:`get` on a miss when incomplete."""
        return self._cache[table], self._complete

    def prefetch(self, wanted: Iterable[tuple[sa.Table, Key]]) -> None:
        """Load many rows by key in a few queries; remember the absent ones too."""
        if self._complete:
            return  # every row there is, is here
        by_table: dict[sa.Table, set[Key]] = defaultdict(set)
        caches = self._cache
        for table, key in wanted:
            if key not in caches[table]:
                by_table[table].add(key)
        for table, key_set in by_table.items():
            keys = sorted(key_set)
            for start in range(0, len(keys), _CHUNK):
                self._load(table, keys[start : start + _CHUNK])

    def assume_new(self, created: Iterable[tuple[sa.Table, Key]]) -> None:
        """Rows the ledger guarantees do not exist yet (registry ``creates``): absent, unqueried."""
        if self._complete:
            return
        for table, key in created:
            self._cache[table].setdefault(key, None)

    def _load(self, table: sa.Table, keys: list[Key]) -> None:
        """One ``SELECT … WHERE key IN (…)`` on the driver's cursor; absent keys cached as None."""
        sh = shape(table)
        cache, stored = self._cache[table], self._stored[table]
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sh.select_in(self.conn, len(keys)), [v for key in keys for v in key])
            found = cursor.fetchall()
        finally:
            cursor.close()
        for values in found:
            row = sh.from_db(values)
            key = sh.key(row)
            cache[key] = row
            stored.add(key)
        for key in keys:
            cache.setdefault(key, None)

    def signed_by(self, actor: str, first: int, last: int) -> list[tuple[int, str]]:
        """``(seq, at)`` of the events ``actor`` signed at seqs ``first..last``, in seq order.

        The one read a rule makes beyond rows by key (TIME-SIGNED-AFTER-REVOCATION): a named
        query rather than SQL in the rule, so the in-memory unit of work can answer it too.
        """
        self.flush()
        e = T.events.c
        query = sa.select(e.seq, e.at).where(e.seq >= first, e.seq <= last, e.actor == actor).order_by(e.seq)
        return [(int(seq), str(at)) for seq, at in self.conn.execute(query)]

    # --- writes ---------------------------------------------------------------------------------
    def edit(self, table: sa.Table, *key: str | int) -> Row | None:
        """The row with this key, marked changed: mutate it in place."""
        row: Row | None = self._cache[table].get(key, MISSING)
        if row is MISSING:
            row = self.get(table, *key)
        if row is not None:
            self._dirty[table][key] = row
        return row

    def dirty(self, table: sa.Table) -> dict[Key, Row]:
        """The rows of ``table`` marked changed (to mark one: ``dirty(table)[key] = row``)."""
        return self._dirty[table]

    def add(self, table: sa.Table, **values: object) -> Row:
        """A new entity row (every column not given takes its default)."""
        sh = shape(table)
        row = dict(sh.template)
        row.update(values)
        key = sh.key(row)
        if self.get(table, *key) is not None:
            raise ValueError(f"{table.name} {key} already exists")
        self._cache[table][key] = row
        self._dirty[table][key] = row
        return row

    def append(self, table: sa.Table, **values: object) -> None:
        """A new fact row (held as a list in column order until the flush)."""
        sink = self._sink
        if sink is not None and table not in sink:
            return  # a replay that does not keep this table: nothing would ever read the row
        sh = _SHAPES.get(table) or shape(table)
        row = sh.blank.copy()
        index = sh.index
        try:
            for name, value in values.items():
                row[index[name]] = value
        except KeyError:
            unknown = sorted(values.keys() - index.keys())[0]
            raise KeyError(f"{table.name} has no column {unknown!r}") from None
        self._facts[table].append(row)
        if table in self._by_seq:  # a table retired from in this batch: its later facts are indexed too
            self._facts_by_seq[(table, row[sh.seq_at])].append(row)

    def keeps(self, table: sa.Table) -> bool:
        """Whether facts appended to ``table`` are kept (a replay that writes nothing drops all but its own)."""
        return self._sink is None or table in self._sink

    def append_row(self, table: sa.Table, row: Fact) -> None:
        """:meth:`append` of a row already in column order (every column): for the runner's one fact per leaf."""
        if not self.keeps(table):
            return
        sh = shape(table)
        if len(row) != len(sh.names):
            raise ValueError(f"{table.name} has {len(sh.names)} columns, not {len(row)}")
        self._facts[table].append(row)
        if table in self._by_seq:
            self._facts_by_seq[(table, row[sh.seq_at])].append(row)

    def retire(self, table: sa.Table, where: Mapping[str, object], **values: object) -> None:
        """Set ``values`` (``replaced_seq``…) on the facts matching ``where``, wherever they are.

        ``where`` names the superseded leaf's ``seq`` (and may narrow further, ideally to the
        table's key); facts appended in this batch are changed in memory.
        """
        sh = shape(table)
        index = sh.index
        if table not in self._by_seq and sh.has_seq:  # index this batch's facts of the table by seq once
            self._by_seq.add(table)
            for fact in self._facts.get(table, ()):
                self._facts_by_seq[(table, fact[sh.seq_at])].append(fact)
        for row in self._facts_by_seq.get((table, where["seq"]), ()):
            if all(row[index[k]] == v for k, v in where.items()):
                for k, v in values.items():
                    row[index[k]] = v
        names, match = tuple(sorted(values)), tuple(sorted(where))
        self._retired[(table, names, match)].append(
            tuple(values[n] for n in names) + tuple(where[n] for n in match)
        )

    # --- flush -----------------------------------------------------------------------------------
    def flush(self) -> int:
        """Write everything pending, in a fixed order; return the number of rows written.

        Superseded facts are stamped first, so the batch's own new facts (already stamped in
        memory where needed) are never touched by those updates.
        """
        if self._sink is not None:
            return self._to_sink(self._sink)
        written = 0
        cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            quote = self.conn.dialect.identifier_preparer.quote
            mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
            for (table, names, match), params in sorted(self._retired.items(), key=lambda kv: (kv[0][0].name, kv[0][1], kv[0][2])):
                sets = ", ".join(f"{quote(n)} = {mark}" for n in names)
                where = " AND ".join(f"{quote(n)} = {mark}" for n in match)
                cursor.executemany(shape(table).statements(self.conn)[2].format(sets=sets, where=where), params)
            self._retired.clear()
            for table in sorted(self._dirty, key=lambda t: t.name):
                dirty = self._dirty[table]
                if not dirty:
                    continue
                sh = shape(table)
                insert, update, _ = sh.statements(self.conn)
                stored = self._stored[table]
                new = [row for key, row in dirty.items() if key not in stored]
                old = [row for key, row in dirty.items() if key in stored]
                if new:
                    cursor.executemany(insert, sh.params(new, sh.names))
                    written += self._wrote(len(new))
                    stored.update(sh.key(row) for row in new)
                if old and update:
                    columns = sh.other_names + sh.key_names
                    cursor.executemany(update, sh.params(old, columns))
                    written += self._wrote(len(old))
                dirty.clear()
            for table in sorted(self._facts, key=lambda t: t.name):
                facts = self._facts[table]
                if facts:
                    sh = shape(table)
                    for i in sh.json_index:
                        for row in facts:
                            row[i] = None if row[i] is None else canonical_str(row[i])
                    cursor.executemany(sh.statements(self.conn)[0], facts)
                    written += self._wrote(len(facts))
                    facts.clear()
            self._facts_by_seq.clear()
            self._by_seq.clear()
        finally:
            cursor.close()
        return written

    def _to_sink(self, sink: Facts) -> int:
        trace = self._trace
        for (table, names, match), params in self._retired.items():
            if table not in sink:
                continue
            if trace is None:  # its earlier facts are in the sink, out of the database's reach
                raise NotImplementedError(f"a replay cannot keep {table.name}: its facts are retired")
            # As flush's UPDATE would: earlier batches' facts only (this batch's were stamped in memory).
            index, width = shape(table).index, len(names)
            for values in params:
                wanted = dict(zip(match, values[width:], strict=True))
                for row in trace.facts_by_seq.get((table, wanted["seq"]), ()):
                    if all(row[index[k]] == v for k, v in wanted.items()):
                        for name, value in zip(names, values[:width], strict=True):
                            row[index[name]] = value
        for table, facts in self._facts.items():
            if table in sink:
                sink[table].extend(facts)
                if trace is not None and shape(table).has_seq:
                    at = shape(table).index["seq"]
                    for row in facts:
                        trace.facts_by_seq[(table, row[at])].append(row)
        self._facts.clear()
        self._facts_by_seq.clear()
        self._by_seq.clear()
        self._retired.clear()
        self._dirty.clear()
        return 0

    def write_new(self, table: sa.Table, rows: Iterable[Row], facts: Iterable[Fact] = ()) -> None:
        """Queue ``rows`` (entity rows held elsewhere, absent from the table) and ``facts`` (in
        column order, as :meth:`append` holds them) for the next flush, as inserts."""
        sh = shape(table)
        dirty = self._dirty[table]
        for row in rows:
            dirty[sh.key(row)] = row
        self._facts[table].extend(facts)

    def _wrote(self, n: int) -> int:
        self.crash.wrote(n)
        return n


class MemoryTables:
    """Every row of the ``keep`` tables, held in memory as a replay from seq 0 builds them.

    Entity rows are in ``cache.rows`` (a complete :class:`RowCache`: a row it lacks does not
    exist), facts in ``sink`` in column order; ``position`` and ``clock`` are the runner's.
    With a :class:`Trace`, facts can be retired as the database would and each entity row names
    the last leaf that changed it.
    """

    def __init__(self, keep: Iterable[sa.Table], limit: int, trace: Trace | None = None):
        self.keep = sorted(set(keep), key=lambda t: t.name)
        self.cache = RowCache(0, limit, complete=True)
        self.sink: Facts = {t: [] for t in self.keep}
        self.position = 0
        self.clock: str | None = None
        self.trace = trace

    def rows(self, table: sa.Table) -> list[Row]:
        """Every row of ``table`` as a dict (entity rows themselves; facts as copies)."""
        names = shape(table).names
        held = [row for row in self.cache.rows.get(table, {}).values() if row is not None]
        return held + [dict(zip(names, fact, strict=True)) for fact in self.sink.get(table, ())]


class MemoryUnitOfWork(UnitOfWork):
    """A unit of work on :class:`MemoryTables` that keep every table: no database at all.

    Reads never miss (the tables are complete), writes go to the tables at each flush, and
    the named queries (:meth:`signed_by`) filter the rows held.
    """

    def __init__(self, tables: MemoryTables):
        if tables.trace is None or set(tables.keep) != _every_table():
            raise ValueError("an in-memory unit of work needs every projection table, traced")
        super().__init__(None, tables.position, tables.clock, None, tables.cache, tables.sink, tables.trace)
        self.tables = tables

    def signed_by(self, actor: str, first: int, last: int) -> list[tuple[int, str]]:
        self.flush()
        rows = (r for r in self.tables.rows(T.events) if r["actor"] == actor and first <= r["seq"] <= last)
        return sorted((int(r["seq"]), str(r["at"])) for r in rows)


def _every_table() -> set[sa.Table]:
    return {t for t in T.metadata.tables.values() if t is not T.position}
