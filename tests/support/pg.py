"""The shared PostgreSQL test server: reachability (a failure in CI, a skip locally) and fresh
databases. Imported by ``tests/conftest.py`` and by tests that make databases of their own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN = os.environ.get("LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_error() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


_PG_ERROR: str | None | bool = False


def require_postgres() -> None:
    global _PG_ERROR
    if _PG_ERROR is False:
        _PG_ERROR = _pg_error()
    if _PG_ERROR:
        message = f"PostgreSQL at {PG_ADMIN} unreachable ({_PG_ERROR})"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must reach it", pytrace=False)
        pytest.skip(message)


def fresh_pg_database() -> tuple[str, str]:
    """Create an empty database; return (its URL, its name)."""
    import psycopg

    require_postgres()
    name = "ledger_t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{name}", name


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the block; its pooled connections closed, then dropped."""
    url, name = fresh_pg_database()
    try:
        yield url
    finally:
        from projections.db import dispose_engines

        dispose_engines()
        drop_pg_database(name)
