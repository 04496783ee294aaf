"""Shared fixtures: a real SQLite file and a real PostgreSQL database per test.

PostgreSQL runs on 127.0.0.1:5432 on these machines. With ``CI=true`` an unreachable server is
a failure, not a skip; locally the PostgreSQL cases skip with the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.pg import pg_database  # noqa: E402  (tests/ is on sys.path just above)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty ledger database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    with pg_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"
