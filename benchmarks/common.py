"""What the benchmark scripts share: where their ledgers live, on SQLite and on PostgreSQL.

A benchmark ledger is named by its backend and its size spec (``"city"`` or a number of
events). SQLite ledgers are files in the script's ``--dir``; PostgreSQL ledgers are databases
on the server of ``LEDGER_BENCH_PG`` (default: the test server's admin URL), named
``bench_<script>_<spec>``. A ledger counts as built only once its marker file (in ``--dir``,
for both backends) exists, so an interrupted build is never reused.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PG_ADMIN = os.environ.get(
    "LEDGER_BENCH_PG", os.environ.get("LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
)
BACKENDS = ("sqlite", "postgres")


def backends(choice: str) -> list[str]:
    """``--backend`` sqlite | postgres | both → the backends to run, in a fixed order."""
    return list(BACKENDS) if choice == "both" else [choice]


def pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def create_pg_database(name: str) -> str:
    """An empty database ``name`` (dropped first if it exists); its URL."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_mib(url: str) -> float:
    """On-disk size of a ledger: the SQLite file (with its WAL), or the PostgreSQL database."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return float(row[0]) / 2**20 if row else 0.0


@dataclass(frozen=True)
class BenchLedger:
    """One cached benchmark ledger: its URL, its keystore and its completion marker."""

    backend: str
    spec: str
    url: str
    keys: Path
    marker: Path
    pg_name: str | None = None

    def built(self) -> dict[str, Any] | None:
        """The marker's content (size, build seconds) when a complete build exists."""
        if not self.marker.exists():
            return None
        return dict(json.loads(self.marker.read_text()))

    def reset(self) -> None:
        """Forget any earlier (possibly partial) build and start from an empty database."""
        self.marker.unlink(missing_ok=True)
        if self.keys.exists():
            shutil.rmtree(self.keys)
        if self.pg_name is not None:
            create_pg_database(self.pg_name)
        else:
            path = Path(self.url.removeprefix("sqlite:///"))
            for stale in path.parent.glob(path.name + "*"):
                stale.unlink()

    def mark_built(self, **facts: Any) -> None:
        self.marker.write_text(json.dumps(facts))


def bench_ledger(folder: Path, script: str, backend: str, spec: str) -> BenchLedger:
    """Where ``script``'s ledger of ``spec`` lives on ``backend`` (SQLite files keep the old names)."""
    folder.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        return BenchLedger(backend, spec, f"sqlite:///{folder / f'ledger-{spec}.db'}", folder / f"keys-{spec}",
                           folder / f"built-{spec}.json")  # fmt: skip
    name = f"bench_{script}_{spec}"
    return BenchLedger(backend, spec, pg_url(name), folder / f"keys-postgres-{spec}",
                       folder / f"built-postgres-{spec}.json", pg_name=name)  # fmt: skip
