"""``verify --projections`` and the catch-up's refusal of an inconsistent projection, as a user meets them.

A simulated ledger (``simulate --scale tiny``: every base table has rows) on SQLite and PostgreSQL;
the projection tables are edited with SQL between commands, as an operator with database access
could. A test that edits them ends with ``rebuild`` (which it checks repairs them) for the next.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from projections.db import sqlalchemy_url
from support.pg import drop_pg_database, fresh_pg_database

Ledger = tuple[Path, str]


def cli(ledger: Ledger, *args: str) -> subprocess.CompletedProcess[str]:
    cwd, url = ledger
    result = subprocess.run(
        [sys.executable, "-m", "api", "--db", url, *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0"}, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    cwd = tmp_path_factory.mktemp(f"integrity-{request.param}")
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{cwd / 'ledger.db'}"
    else:
        url, name = fresh_pg_database()
    try:
        assert cli((cwd, url), "init").returncode == 0
        made = cli((cwd, url), "simulate", "--scale", "tiny")
        assert made.returncode == 0, made.stderr
        yield cwd, url
    finally:
        if name is not None:
            drop_pg_database(name)


def sql(ledger: Ledger, *statements: str) -> list[Any]:
    engine = sa.create_engine(sqlalchemy_url(ledger[1]))
    try:
        with engine.begin() as conn:
            return [conn.execute(sa.text(s)).all() if s.lstrip().upper().startswith("SELECT") else conn.execute(sa.text(s))
                    for s in statements]  # fmt: skip
    finally:
        engine.dispose()


def every_projection_table() -> int:
    """How many pj_* tables the read models and plugins define: verify --projections checks them all."""
    from projections import tables as T
    from projections.runner.registry import load_plugins

    load_plugins()
    return sum(t.name.startswith(T.PREFIX) for t in T.metadata.sorted_tables)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_verify_projections_passes_on_a_clean_simulated_ledger(ledger: Ledger) -> None:
    zh = cli(ledger, "verify", "--projections")
    assert zh.returncode == 0, zh.stderr
    lines = zh.stdout.strip().splitlines()
    tables = every_projection_table()
    assert lines[0].startswith("防篡改校验通过") and lines[-1].startswith(f"投影一致性校验通过：{tables} 张投影表")
    checked = json.loads(cli(ledger, "verify", "--projections", "--json").stdout)["projections"]
    size = sql(ledger, "SELECT next_seq FROM pj_position")[0][0][0]
    assert checked["ok"] and checked["first"] is None and checked["position"] == size and checked["tables"] == tables


def test_a_forged_balanced_posting_fails_verify_projections_in_one_line_with_exit_1(ledger: Ledger) -> None:
    (seq, line), = sql(ledger, "SELECT seq, MAX(line) FROM pj_postings WHERE entry = 'payment' GROUP BY seq ORDER BY seq")[0][:1]
    columns = "seq, line, account, kind, debit_fen, credit_fen, entry, event_type, business_date, period"
    sql(ledger, f"INSERT INTO pj_postings ({columns}) VALUES ({seq}, {line + 1}, 'expense:training:640422', 'expense',"
                " 500000, 0, 'payment', 'PaymentDisbursed', '2019-06-01', '2019-06')",
        f"INSERT INTO pj_postings ({columns}) VALUES ({seq}, {line + 2}, 'fund:forged', 'fund',"
        " 0, 500000, 'payment', 'PaymentDisbursed', '2019-06-01', '2019-06')")  # fmt: skip
    books = cli(ledger, "balances", "--json")
    assert books.returncode == 0 and json.loads(books.stdout)["trial_balance"]["total_fen"] == 0  # still balanced
    zh = cli(ledger, "verify", "--projections")
    assert zh.returncode == 1 and zh.stdout.startswith("防篡改校验通过")
    assert last_line(zh.stderr) == (
        f"投影一致性校验未通过：pj_postings 行 seq={seq}, line={line + 1}（seq {seq}） —— 表中有此行，日志重放不产生；"
        "共 2 处不一致（pj_postings 2）；请运行 subsidy-ledger rebuild 重建投影")  # fmt: skip
    report = cli(ledger, "verify", "--projections", "--json")
    assert report.returncode == 1
    first = json.loads(report.stdout)["projections"]["first"]
    assert (first["table"], first["key"], first["seq"], first["kind"]) == ("pj_postings", {"seq": seq, "line": line + 1}, seq, "extra")
    assert cli(ledger, "rebuild").returncode == 0  # (that it repairs: the next test and the integration tests)


def test_rewound_projection_position_gives_one_line_error_not_integrity_error(ledger: Ledger) -> None:
    """``balances`` and ``anomalies`` catch up first: a rewound (or forwarded) position is an
    operational error naming ``rebuild`` (exit 2, as the other states that stop a report: the
    position row missing, a bad row-cache setting), never a duplicate key as an internal error."""
    size = sql(ledger, "SELECT next_seq FROM pj_position")[0][0][0]

    def refused(*args: str) -> str:
        result = cli(ledger, *args)
        assert result.returncode == 2 and result.stdout == "", result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "IntegrityError" not in lines[0] and "internal" not in lines[0], lines
        assert "内部错误" not in lines[0] and "subsidy-ledger rebuild" in lines[0]
        return lines[0]

    sql(ledger, f"UPDATE pj_position SET next_seq = {size - 100}")
    assert refused("balances") == (f"错误: 投影表与其位置不一致：投影表已含 seq {size - 1}，不早于其位置 {size - 100}"
                                   "（位置被回退？）；请运行 subsidy-ledger rebuild 重建投影")  # fmt: skip
    assert "(a rewound position?)" in refused("--lang", "en", "anomalies", "--json")
    # The leaves' index beyond it deleted too: the next table's duplicate key (was: internal error: IntegrityError).
    sql(ledger, f"DELETE FROM pj_events WHERE seq >= {size - 100}")
    assert "already holds a row the catch-up would write (a rewound position?)" in refused("--lang", "en", "balances")
    sql(ledger, f"UPDATE pj_position SET next_seq = {size + 7}")
    assert f"投影位置 {size + 7} 超出日志长度（{size} 条记录）" in refused("anomalies")

    assert cli(ledger, "rebuild").returncode == 0
    assert cli(ledger, "verify", "--projections").returncode == 0
