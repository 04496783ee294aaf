"""Backups of a ledger database and their restore (issue 12; DESIGN §7 "Backups carry the vault").

A backup is the whole database: the log, the domain events, the Merkle tree, the checkpoints,
the projections *and the personal-data vault* (``pii_vault`` lives in the same database). It is
therefore kept like the keystore. The keystore itself (operator key, pepper, vault key,
``trusted.json``) is not in it: without ``vault.key`` the vault in a backup cannot be read.

- **SQLite**: SQLite's online backup API (``sqlite3.Connection.backup``) copies every page in
  one step, that is inside one read transaction of the source: a consistent snapshot while other
  processes keep writing (the ledger runs in WAL mode, so they are not blocked). The copy is
  written beside the destination, checked (``PRAGMA integrity_check``) and renamed into place,
  so a crash never leaves a half backup under the destination's name.
- **PostgreSQL**: ``pg_dump --format=custom`` (itself one snapshot of the database) and
  ``pg_restore``, run from ``PATH``; without them the error gives the exact command to run.
  Nothing here re-implements a dump.

A restore never replaces a ledger silently: a destination that already holds leaves is refused
unless ``force``. The caller then runs ``verify`` against the trust anchor, so a backup older
than the largest checkpoint this verifier has seen is reported as a rollback.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sqlite3
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import OperationalError
from ledger.persistence.store import DatabaseURL


@dataclass(frozen=True)
class Contents:
    """What a backup holds (or, for PostgreSQL, held when it was made)."""

    path: Path
    leaves: int
    checkpoint: int | None  # size of the latest checkpoint
    vault_records: int
    size_bytes: int


def sqlite_file(db_url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; None for PostgreSQL."""
    url = DatabaseURL(db_url)
    if url.is_postgres:
        return None
    if not db_url.startswith("sqlite:///") or db_url == "sqlite:///:memory:":
        raise OperationalError(f"cannot back up {db_url!r}: use a sqlite:/// file or postgresql:// URL")
    return Path(db_url.removeprefix("sqlite:///"))


@contextlib.contextmanager
def _connect(path: Path, *, readonly: bool = False) -> Iterator[sqlite3.Connection]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro" if readonly else str(path), uri=readonly, timeout=60)
    except sqlite3.Error as exc:
        raise OperationalError(f"cannot open {path}: {exc}") from None
    try:
        yield conn
    except sqlite3.Error as exc:
        raise OperationalError(f"{path}: {exc}") from None
    finally:
        conn.close()


def _contents(conn: sqlite3.Connection, path: Path) -> Contents:
    """Check a ledger database file and count what it holds; raise if it is not a sound ledger."""
    result = conn.execute("PRAGMA integrity_check").fetchone()
    if result is None or result[0] != "ok":
        raise OperationalError(f"{path} fails SQLite's integrity check: {result[0] if result else '?'}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"ledger_leaves", "ledger_checkpoints", "pii_vault"} <= tables:
        raise OperationalError(f"{path} is not a ledger database (no ledger_leaves table)")
    leaves = conn.execute("SELECT COUNT(*) FROM ledger_leaves").fetchone()[0]
    checkpoint = conn.execute("SELECT MAX(size) FROM ledger_checkpoints").fetchone()[0]
    vault = conn.execute("SELECT COUNT(*) FROM pii_vault").fetchone()[0]
    return Contents(path, int(leaves), None if checkpoint is None else int(checkpoint), int(vault), 0)


def _leaves_in(path: Path) -> int | None:
    """Leaves of an existing ledger file (None: the file holds no ledger tables)."""
    with _connect(path, readonly=True) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "ledger_leaves" not in tables:
            return None
        return int(conn.execute("SELECT COUNT(*) FROM ledger_leaves").fetchone()[0])


# --- SQLite ----------------------------------------------------------------------------------------------
def backup_sqlite(db_url: str, dest: Path, *, force: bool = False) -> Contents:
    """Copy the live ledger to ``dest`` with the online backup API; return what the copy holds."""
    source = sqlite_file(db_url)
    assert source is not None
    if not source.is_file():
        raise OperationalError(f"no ledger at {source}")
    if dest.exists() and not force:
        raise OperationalError(f"{dest} already exists; refusing to overwrite it (use --force)")
    if not dest.parent.is_dir():
        raise OperationalError(f"folder of {dest} does not exist")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    try:
        with _connect(source) as live, _connect(partial) as copy:
            # pages=-1: every page in one step, inside one read transaction: one consistent
            # snapshot; writers go on meanwhile (WAL), and a busy source is retried by sqlite3.
            live.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            contents = _contents(copy, dest)
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, dest)
    except OSError as exc:
        raise OperationalError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Contents(dest, contents.leaves, contents.checkpoint, contents.vault_records, dest.stat().st_size)


def restore_sqlite(src: Path, db_url: str, *, force: bool = False) -> Contents:
    """Write the backup ``src`` into the ledger file of ``db_url``; refuse to replace a ledger unless ``force``."""
    target = sqlite_file(db_url)
    assert target is not None
    if not src.is_file():
        raise OperationalError(f"no backup at {src}")
    with _connect(src, readonly=True) as backup:
        contents = _contents(backup, src)
    if target.exists() and not force:
        leaves = _leaves_in(target)
        if leaves:
            raise OperationalError(
                f"{target} already holds a ledger of {leaves} leaves; refusing to overwrite it (use --force)"
            )
    if not target.parent.is_dir():
        raise OperationalError(f"folder of {target} does not exist")
    # The backup API writes through the destination's own journal (its WAL included), so a
    # stale -wal beside the old file cannot be replayed over the restored pages.
    with _connect(src, readonly=True) as backup, _connect(target) as live:
        backup.backup(live, pages=-1)
    return Contents(target, contents.leaves, contents.checkpoint, contents.vault_records, target.stat().st_size)


# --- PostgreSQL --------------------------------------------------------------------------------------------
def _libpq(db_url: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for pg_dump / pg_restore, the password in the environment (not in ``ps``)."""
    parts = urllib.parse.urlsplit(db_url.replace("postgresql+psycopg://", "postgresql://"))
    args = ["--host", parts.hostname or "127.0.0.1", "--port", str(parts.port or 5432),
            "--username", urllib.parse.unquote(parts.username or "postgres"),
            "--dbname", parts.path.lstrip("/") or "postgres"]  # fmt: skip
    env = {"PGPASSWORD": urllib.parse.unquote(parts.password)} if parts.password else {}
    return args, env


def pg_dump_command(db_url: str, dest: Path) -> list[str]:
    args, _ = _libpq(db_url)
    return ["pg_dump", "--format=custom", "--no-owner", "--file", str(dest), *args]


def pg_restore_command(src: Path, db_url: str, *, clean: bool = False) -> list[str]:
    args, _ = _libpq(db_url)
    extra = ["--clean", "--if-exists"] if clean else []
    return ["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", *extra, *args, str(src)]


def _run(command: list[str], db_url: str) -> None:
    program = shutil.which(command[0])
    if program is None:
        raise OperationalError(f"{command[0]} is not on PATH; run it yourself: {shlex.join(command)}")
    _, env = _libpq(db_url)
    try:
        done = subprocess.run([program, *command[1:]], capture_output=True, text=True,
                              env={**os.environ, **env}, check=False)  # fmt: skip
    except OSError as exc:
        raise OperationalError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = [x for x in done.stderr.splitlines() if x.strip()] or [f"exit status {done.returncode}"]
        raise OperationalError(f"{command[0]} failed: {lines[0]}")


def pg_leaves(db_url: str) -> int | None:
    """Leaves in a PostgreSQL ledger database (None: it holds no ledger tables yet)."""
    import psycopg

    try:
        with psycopg.connect(_conninfo(db_url), connect_timeout=5) as conn:
            found = conn.execute("SELECT to_regclass('ledger_leaves') IS NOT NULL").fetchone()
            if not found or not found[0]:
                return None
            row = conn.execute("SELECT COUNT(*) FROM ledger_leaves").fetchone()
            return int(row[0]) if row else 0
    except psycopg.Error as exc:
        raise OperationalError(f"cannot open database {db_url}: {_first_line(exc)}") from None


def backup_postgres(db_url: str, dest: Path, *, force: bool = False) -> Contents:
    """``pg_dump --format=custom`` to ``dest``, of the very snapshot whose contents are counted."""
    import psycopg

    if dest.exists() and not force:
        raise OperationalError(f"{dest} already exists; refusing to overwrite it (use --force)")
    if not dest.parent.is_dir():
        raise OperationalError(f"folder of {dest} does not exist")
    partial = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        with psycopg.connect(_conninfo(db_url), connect_timeout=5) as conn:
            # One REPEATABLE READ snapshot, exported to pg_dump: the counts describe the dump.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = _one(conn, "SELECT pg_export_snapshot()")
            leaves = int(_one(conn, "SELECT COUNT(*) FROM ledger_leaves"))
            checkpoint = _one(conn, "SELECT MAX(size) FROM ledger_checkpoints")
            vault = int(_one(conn, "SELECT COUNT(*) FROM pii_vault"))
            _run([*pg_dump_command(db_url, partial), f"--snapshot={snapshot}"], db_url)
            conn.rollback()
        os.replace(partial, dest)
    except psycopg.Error as exc:
        raise OperationalError(f"cannot back up {db_url}: {_first_line(exc)}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Contents(dest, leaves, None if checkpoint is None else int(checkpoint), vault, dest.stat().st_size)


def restore_postgres(src: Path, db_url: str, *, force: bool = False) -> int | None:
    """``pg_restore`` ``src`` into the database of ``db_url`` (which must exist, e.g. ``createdb``).

    Returns the leaves the database held before (None: no ledger tables). A database holding
    leaves is replaced (``pg_restore --clean``) only with ``force``.
    """
    if not src.is_file():
        raise OperationalError(f"no backup at {src}")
    before = pg_leaves(db_url)
    if before and not force:
        raise OperationalError(
            f"the database already holds a ledger of {before} leaves; refusing to overwrite it (use --force)"
        )
    _run(pg_restore_command(src, db_url, clean=before is not None), db_url)
    return before


def _conninfo(db_url: str) -> str:
    return db_url.replace("postgresql+psycopg://", "postgresql://").replace("postgres://", "postgresql://", 1)


def _one(conn: Any, statement: str) -> Any:
    row = conn.execute(statement).fetchone()
    return None if row is None else row[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
