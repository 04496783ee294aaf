"""The projections' database: the ledger's own, reached through SQLAlchemy 2.0 Core.

Read models live beside the log (DESIGN §5) so the runner can write its rows and its position
in one transaction. The URL is the ledger's: ``sqlite:///path`` as is, ``postgresql://…`` with
the psycopg 3 driver named. One engine per URL per process.

SQLite needs two adjustments. Python's driver opens transactions lazily, which would let two
runners read the same position before either writes it; the runner's transactions therefore
start with ``BEGIN IMMEDIATE`` (the write lock first, then the position). And the database is
already in WAL mode (the ledger sets it), where ``synchronous=NORMAL`` keeps every committed
transaction across a process crash — the case exactly-once must survive — and never corrupts
the file on power loss (it may lose the last transactions, which a catch-up redoes).
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from projections.ports import LogSource

WRITE = "pj_write"  # execution option: this connection's transactions take the write lock

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def database_url(ledger: LogSource) -> str:
    """The URL of a :class:`ledger.application.Ledger`'s database, as ``Ledger.open`` took it.

    Where the log is stored is the ledger's business, not the port's: read from its
    eventsourcing recorder (or a ``db_url`` attribute) when the runner needs the same database.
    """
    url = getattr(ledger, "db_url", None)
    if isinstance(url, str):
        return url
    pool: Any = getattr(ledger, "recorder").datastore.pool  # noqa: B009 - not part of LogSource
    if hasattr(pool, "db_name"):  # eventsourcing's SQLite pool
        return f"sqlite:///{pool.db_name}"
    kw = pool.kwargs  # psycopg_pool: the connection keywords eventsourcing passed
    user = urllib.parse.quote(str(kw.get("user") or "postgres"), safe="")
    password = kw.get("password")
    auth = f"{user}:{urllib.parse.quote(str(password), safe='')}" if password else user
    return f"postgresql://{auth}@{kw.get('host') or '127.0.0.1'}:{kw.get('port') or 5432}/{kw['dbname']}"


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def engine_for(ledger_or_url: LogSource | str) -> Engine:
    """The (cached) engine on the ledger's database."""
    url = ledger_or_url if isinstance(ledger_or_url, str) else database_url(ledger_or_url)
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = _ENGINES[url] = _create(url)
        return engine


def dispose_engines() -> None:
    with _LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


def _create(url: str) -> Engine:
    target = sqlalchemy_url(url)
    if not target.startswith("sqlite"):
        return sa.create_engine(target, pool_size=2, max_overflow=4, pool_pre_ping=True)
    engine = sa.create_engine(target, connect_args={"timeout": 60})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of a long rebuild stay hot
        # Checkpoint every ~400 MiB of WAL rather than 4 MiB: pages rewritten by successive
        # batches reach the database file once, halving a rebuild's writes; the WAL file is
        # trimmed back to 64 MiB after each checkpoint.
        cur.execute("PRAGMA wal_autocheckpoint=100000")
        cur.execute("PRAGMA journal_size_limit=67108864")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def is_postgres(conn: Connection | Engine) -> bool:
    return conn.dialect.name == "postgresql"
