"""``serve`` without ``--workers`` (issue 13): as many worker processes as the machine has cores on
PostgreSQL, one on SQLite (its one writer); each worker says so as it starts, and every one of them
answers signed-in reads."""

from __future__ import annotations

import os
from pathlib import Path

from support.cli import make_ledger
from support.http import serving, sign_in
from support.xiji import ACTORS, EXAMPLE


def test_workers_default_to_the_cores_on_postgresql_and_one_on_sqlite(db_url: str, tmp_path: Path) -> None:
    make_ledger(tmp_path, ACTORS, example=EXAMPLE, env={"LEDGER_DB": db_url})
    expected = 1 if db_url.startswith("sqlite") else os.cpu_count() or 1
    with serving(tmp_path, "--db", db_url) as client:
        for _ in range(2 * expected):  # a new connection each time: any worker may take it
            headers = {**sign_in(client, tmp_path / "keys", "fin-640422"), "Connection": "close"}
            assert client.get("/v1/balances", headers=headers).status_code == 200
    text = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    assert f"（{db_url}，{expected} 个工作进程）" in text  # the startup line names the count
    assert text.count("Started server process") == expected, text
