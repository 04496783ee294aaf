"""Storage: the library's own recorders, extended to write the public log atomically.

The ledger keeps its domain events in ``eventsourcing``'s SQLite or PostgreSQL application
recorder, and — in the *same transaction*, through the recorder's ``_insert_events`` hook that
the library itself uses for tracking records — the public log: one ``ledger_leaves`` row per
event (its ``seq``, exact leaf bytes and RFC 6962 leaf hash), the new Merkle tree nodes, and
the key index. ``seq`` is the primary key, so two writers that validated against the same head
cannot both commit: the loser's transaction fails on the duplicate ``seq`` (or nonce) and the
application re-validates against the new head. That makes the order gapless and every accepted
envelope present exactly once, with no lock held while signatures are checked.

The recorders still pass the library's own recorder contract tests
(``tests/integration/test_recorder_contract.py``): without a ``ledger`` argument they behave
exactly like their parents. The PostgreSQL one lives in :mod:`ledger.persistence.postgres`, so
that only a PostgreSQL ledger loads psycopg: a verb on a SQLite ledger starts without it.
"""

from __future__ import annotations

import sqlite3
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import orjson
from eventsourcing.persistence import InterfaceError, JSONTranscoder, StoredEvent
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from ledger.errors import OperationalError

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import DictRow

Row: TypeAlias = tuple[Any, ...]
"""One result row. Its values are what the statement selects (int, str, bytes or None), which
the reader converts as it reads them (``int(row[0])``): the driver's types are not the schema's."""
Params: TypeAlias = Sequence[object]
LeafRow: TypeAlias = tuple[int, str, str, str, str, bytes, bytes, str, int]
# (seq, recorded_at, actor, type, nonce, leaf, leaf_hash, originator_id, originator_version)


_EVENT_STATE = frozenset({"timestamp", "seq", "recorded_at", "envelope"})
_ORJSON_AS_JSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS


class LedgerTranscoder(JSONTranscoder):
    """The library's JSON transcoder, writing a ledger event's state with orjson: the same bytes.

    ``json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)`` and orjson write identical
    text for str, int, bool, None, list and dict with str keys, in insertion order; datetimes,
    dataclasses and subclasses are passed to the same ``default`` (the registered transcodings),
    and whatever orjson refuses (integers beyond 64 bits, non-str keys, lone surrogates) goes to
    the library's encoder as before. Only a :class:`~ledger.domain.aggregates.LedgerEvent`'s state
    (``timestamp``, ``seq``, ``recorded_at`` and an envelope read as JSON) takes this path, since
    orjson would write a ``UUID`` natively where the library calls its transcoding
    (``tests/unit/test_ledger_transcoder.py`` compares both). Issue 18: the library's encoder
    was a tenth of an import's single-threaded time.
    """

    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict and obj.keys() == _EVENT_STATE:
            try:
                return orjson.dumps(obj, default=self._encode_obj, option=_ORJSON_AS_JSON)
            except TypeError:  # orjson.JSONEncodeError
                pass
        return super().encode(obj)


class _Executes(Protocol):
    def executemany(self, statement: str, params: Sequence[Params], /) -> object: ...


@dataclass
class Append:
    """What one ledger transaction writes beside the domain events."""

    leaves: list[LeafRow] = field(default_factory=list)
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)  # (level, index, hash)
    keys: list[tuple[str, str, int]] = field(default_factory=list)  # (key_id, actor_id, seq)
    vault: list[tuple[str, str, bytes, bytes]] = field(default_factory=list)
    # (subject_id, registered_by, nonce, ciphertext): personal data, never in the log
    erased: list[str] = field(default_factory=list)  # subjects whose PersonalDataErased is in this batch


@dataclass(frozen=True)
class StoredCheckpoint:
    """One row of ``ledger_checkpoints``: the signed note and the columns stored beside it."""

    size: int
    root: bytes
    note: str
    signed_at: str

    @classmethod
    def from_row(cls, row: Sequence[object]) -> StoredCheckpoint:
        size, root, note, signed_at = row
        return cls(int(size), bytes(root), str(note), str(signed_at))  # type: ignore[call-overload]


LEDGER_TABLES = [
    """CREATE TABLE IF NOT EXISTS ledger_leaves (
        seq BIGINT PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        type TEXT NOT NULL,
        nonce TEXT NOT NULL,
        leaf {blob} NOT NULL,
        leaf_hash {blob} NOT NULL,
        originator_id TEXT NOT NULL,
        originator_version BIGINT NOT NULL,
        UNIQUE (actor, nonce)
    )""",
    """CREATE TABLE IF NOT EXISTS ledger_tree (
        level INTEGER NOT NULL,
        idx BIGINT NOT NULL,
        hash {blob} NOT NULL,
        PRIMARY KEY (level, idx)
    )""",
    """CREATE TABLE IF NOT EXISTS ledger_keys (
        key_id TEXT PRIMARY KEY,
        actor_id TEXT NOT NULL,
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ledger_checkpoints (
        size BIGINT NOT NULL,
        root_hash {blob} NOT NULL,
        note TEXT NOT NULL,
        signed_at TEXT NOT NULL,
        PRIMARY KEY (size, signed_at)
    )""",
    """CREATE TABLE IF NOT EXISTS pii_vault (
        subject_id TEXT PRIMARY KEY,
        registered_by TEXT NOT NULL,
        nonce {blob} NOT NULL,
        ciphertext {blob} NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ledger_meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
]


def _insert_ledger(cursor: _Executes, ledger: Append, mark: str) -> None:
    q = "?" if mark == "?" else "%s"
    cursor.executemany(
        f"INSERT INTO ledger_leaves VALUES ({','.join([q] * 9)})", ledger.leaves
    )
    if ledger.nodes:
        cursor.executemany(f"INSERT INTO ledger_tree VALUES ({q},{q},{q})", ledger.nodes)
    if ledger.keys:
        cursor.executemany(f"INSERT INTO ledger_keys VALUES ({q},{q},{q})", ledger.keys)
    if ledger.erased:  # the erasure and the deletion commit together, however the event arrived
        cursor.executemany(f"DELETE FROM pii_vault WHERE subject_id = {q}", [(s,) for s in ledger.erased])
    if ledger.vault:
        cursor.executemany(
            f"DELETE FROM pii_vault WHERE subject_id = {q}", [(v[0],) for v in ledger.vault]
        )
        cursor.executemany(f"INSERT INTO pii_vault VALUES ({q},{q},{q},{q})", ledger.vault)


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + [
            t.format(blob="BLOB") for t in LEDGER_TABLES
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], *, ledger: Append | None = None, **kw: object
    ) -> Sequence[int] | None:
        if ledger is not None:  # first statement is a write: takes the write lock, no stale read
            _insert_ledger(c, ledger, "?")
        return super()._insert_events(c, stored_events, **kw)


@dataclass(frozen=True)
class DatabaseURL:
    """``sqlite:///path`` (default ``sqlite:///ledger.db``) or ``postgresql://user@host:port/db``.

    Each ledger owns its database (tables in the default schema), so a test or a province
    gets an isolated ledger by database name.
    """

    url: str

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))

    def eventsourcing_env(self, name: str) -> dict[str, str]:
        if self.url.startswith("sqlite:///"):
            path = self.url.removeprefix("sqlite:///")
            if not path:
                raise OperationalError("sqlite URL has no path: use sqlite:///ledger.db")
            if path != ":memory:" and not Path(path).parent.exists():
                raise OperationalError(f"folder of {path!r} does not exist")
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "60",
                "APPLICATION_RECORDER_TOPIC": "ledger.persistence.store:LedgerSQLiteRecorder",
                "CREATE_TABLE": "y",
            }
        if self.is_postgres:
            parts = urllib.parse.urlsplit(self.url)
            return {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
                "POSTGRES_HOST": parts.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(parts.port or 5432),
                "POSTGRES_USER": urllib.parse.unquote(parts.username or "postgres"),
                "POSTGRES_PASSWORD": urllib.parse.unquote(parts.password or ""),
                "POSTGRES_POOL_SIZE": "2",
                "POSTGRES_MAX_OVERFLOW": "4",
                "POSTGRES_CONNECT_TIMEOUT": "5",
                "POSTGRES_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "ledger.persistence.postgres:LedgerPostgresRecorder",
                "CREATE_TABLE": "y",
            }
        raise OperationalError(f"unsupported database URL {self.url!r}: use sqlite:/// or postgresql://")

    def holds_ledger(self) -> bool:
        """Whether a ledger was created here, found without creating anything (no file, no table)."""
        env = self.eventsourcing_env("ledger")
        if not self.is_postgres:
            path = env["SQLITE_DBNAME"]
            return path == ":memory:" or Path(path).is_file()
        import psycopg

        try:
            with psycopg.connect(
                dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None,
                connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
            ) as conn:  # fmt: skip
                row = conn.execute("SELECT to_regclass('ledger_leaves') IS NOT NULL").fetchone()
        except psycopg.Error as exc:
            raise OperationalError(f"cannot open database {self.url}: {str(exc).strip().splitlines()[0]}") from None
        return bool(row and row[0])


class SQL:
    """Plain reads and small writes on the recorder's own connection pool (one paramstyle: ?)."""

    def __init__(self, recorder: Any):  # the SQLite or PostgreSQL recorder: their datastores differ
        self.recorder = recorder
        self.datastore = recorder.datastore
        postgres = sys.modules.get("eventsourcing.postgres")  # loaded before any PostgreSQL recorder exists
        self.postgres = postgres is not None and isinstance(recorder, postgres.PostgresApplicationRecorder)

    @property
    def events_table(self) -> str:
        """``stored_events`` on SQLite, ``ledger_events`` on PostgreSQL (the library names it)."""
        return str(self.recorder.events_table_name)

    def _q(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    @contextmanager
    def cursor(self, *, commit: bool = False) -> Iterator[_Cursor]:
        with _database_errors(), self.datastore.transaction(commit=commit) as cur:
            yield _Cursor(cur, self._q)

    def all(self, statement: str, params: Params = ()) -> list[Row]:
        """One read statement in autocommit mode: no BEGIN/ROLLBACK round trips around it."""
        with _database_errors():
            return self._all(statement, params)

    def _all(self, statement: str, params: Params) -> list[Row]:
        if self.postgres:
            with self.datastore.get_connection() as conn:
                return [_row(r) for r in conn.execute(self._q(statement), tuple(params)).fetchall()]
        with self.datastore.get_connection(commit=False) as conn, conn.cursor() as cursor:
            cursor.execute(statement, tuple(params))
            return [_row(r) for r in cursor.fetchall()]

    def one(self, statement: str, params: Params = ()) -> Row | None:
        rows = self.all(statement, params)
        return rows[0] if rows else None

    def execute(self, statement: str, params: Params = ()) -> None:
        with self.cursor(commit=True) as cur:
            cur.execute(statement, params)


class _Cursor:
    """A transaction's cursor that takes ``?`` placeholders on either backend."""

    def __init__(self, cursor: SQLiteCursor | psycopg.Cursor[DictRow], q: Callable[[str], str]):
        self._cursor = cursor
        self._q = q

    def execute(self, statement: str, params: Params = ()) -> None:
        self._cursor.execute(self._q(statement), tuple(params))

    def executemany(self, statement: str, params: Sequence[Params]) -> None:
        self._cursor.executemany(self._q(statement), params)

    def fetchall(self) -> list[Row]:
        return [_row(r) for r in self._cursor.fetchall()]


_LOST: tuple[type[Exception], ...] = (StoreOperationalError, InterfaceError, sqlite3.OperationalError)


def _lost() -> tuple[type[Exception], ...]:
    """:data:`_LOST`, and psycopg's when a PostgreSQL ledger loaded it (none can be raised before)."""
    psycopg = sys.modules.get("psycopg")
    return _LOST if psycopg is None else (*_LOST, psycopg.OperationalError)


@contextmanager
def _database_errors() -> Iterator[None]:
    """A lost server or a full disk under a read or a small write: an operational error (exit 2),
    not an internal one (issue 12: a PostgreSQL server stopped mid-import surfaced as one)."""
    try:
        yield
    except _lost() as exc:
        text = str(exc).strip() or type(exc).__name__
        raise OperationalError(f"database error: {text.splitlines()[0]}") from None


def _row(row: Sequence[object] | dict[str, object]) -> Row:
    values = tuple(row.values()) if isinstance(row, dict) else tuple(row)
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in values)
