"""``rebuild`` and ``balances`` as a user drives them, on the realistic 西吉县 example class."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import make_ledger
from support.xiji import ACTORS, EXAMPLE


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "api", *args], cwd=cwd, capture_output=True, text=True,
        env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0", **(env or {})}, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("cli-projections")
    make_ledger(cwd, ACTORS, example=EXAMPLE)
    return cwd


def test_balances_json_is_byte_identical_after_rebuild(ledger_dir: Path) -> None:
    before = cli(ledger_dir, "balances", "--json")
    assert before.returncode == 0, before.stderr
    result = json.loads(before.stdout)
    assert result["trial_balance"]["total_fen"] == 0
    assert result["as_of"] == 88  # caught up with the whole log before answering
    rebuilt = cli(ledger_dir, "rebuild")
    assert rebuilt.returncode == 0 and rebuilt.stdout == ""  # progress and summary go to stderr
    assert "89" in rebuilt.stderr
    assert cli(ledger_dir, "balances", "--json").stdout == before.stdout
    for flags in (["--as-of", "40"], ["--claim", "C-2019-640422-0001"], ["--institution", "inst-640422-zj"]):
        first = cli(ledger_dir, "balances", "--json", *flags).stdout
        cli(ledger_dir, "rebuild")
        assert cli(ledger_dir, "balances", "--json", *flags).stdout == first


def test_the_row_cache_size_comes_from_the_environment_and_a_bad_one_is_one_line(ledger_dir: Path) -> None:
    before = cli(ledger_dir, "balances", "--json").stdout
    none_kept = cli(ledger_dir, "rebuild", env={"LEDGER_PROJECTIONS_CACHE_ROWS": "0"})
    assert none_kept.returncode == 0, none_kept.stderr
    assert cli(ledger_dir, "balances", "--json").stdout == before
    bad = cli(ledger_dir, "--lang", "en", "rebuild", env={"LEDGER_PROJECTIONS_CACHE_ROWS": "lots"})
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "LEDGER_PROJECTIONS_CACHE_ROWS must be a number of rows" in bad.stderr
    with sqlite3.connect(ledger_dir / "ledger.db") as db:  # refused before anything was dropped
        assert db.execute("SELECT next_seq FROM pj_position").fetchone() == (89,)


def test_the_human_table_speaks_chinese_first_and_english_on_request(ledger_dir: Path) -> None:
    zh = cli(ledger_dir, "balances")
    assert zh.returncode == 0
    assert "科目余额（截至 seq 88" in zh.stdout and "试算平衡（全账本）" in zh.stdout and "平衡" in zh.stdout
    assert "fund:F-2019-640422-training" in zh.stdout and "3,000,000.00" in zh.stdout
    en = cli(ledger_dir, "--lang", "en", "balances", "--institution", "inst-640422-zj")
    assert en.returncode == 0
    assert "balances (as of seq 88" in en.stdout and "filters: institution=inst-640422-zj" in en.stdout
    assert "trial balance (whole ledger)" in en.stdout and "balanced" in en.stdout


def test_as_of_and_filters_change_the_answer_not_the_trial_balance(ledger_dir: Path) -> None:
    whole = json.loads(cli(ledger_dir, "balances", "--json").stdout)
    early = json.loads(cli(ledger_dir, "balances", "--json", "--as-of", "10").stdout)
    assert early["as_of"] == 10 and early["trial_balance"]["debit_fen"] <= whole["trial_balance"]["debit_fen"]
    narrow = json.loads(cli(ledger_dir, "balances", "--json", "--jurisdiction", "640423").stdout)
    assert narrow["accounts"] == [] and narrow["trial_balance"] == whole["trial_balance"]


def test_bad_arguments_fail_with_one_line_and_exit_2(ledger_dir: Path) -> None:
    beyond = cli(ledger_dir, "balances", "--as-of", "100000")
    assert beyond.returncode == 2 and len(beyond.stderr.strip().splitlines()) == 1
    assert "100000" in beyond.stderr
    period = cli(ledger_dir, "--lang", "en", "balances", "--period", "2019-13")
    assert period.returncode == 2 and "--period must be YYYY-MM" in period.stderr


def test_an_empty_ledger_answers_plainly(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    result = json.loads(cli(tmp_path, "balances", "--json").stdout)
    assert result["accounts"] == [] and result["trial_balance"]["total_fen"] == 0
