"""``anomalies`` and ``anomalies show`` as an inspector drives them, on the realistic 西吉县 class.

The example class is clean (no flag at all); the test then records what a careless finance bureau
might: the same payment again, value-dated on the Dragon Boat Festival weekend.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import make_ledger
from support.xiji import ACTORS as XIJI_ACTORS
from support.xiji import EXAMPLE, INSPECTOR

ACTORS = [*XIJI_ACTORS, INSPECTOR]
SECOND_PAYMENT = {
    "actor": "fin-640422", "type": "PaymentDisbursed", "at": "2019-06-08T10:00:00+08:00",
    "body": {"payment_id": "P-2019-640422-0002", "claim_id": "C-2019-640422-0001", "fund_id": "F-2019-640422-training",
             "amount_fen": 1440000, "payee_account": "", "bank_reference": "XJNSH20190608000201",
             "value_date": "2019-06-08"},
    "pii": {"bank_account": "1551 0101 0400 0012 345"},
}  # fmt: skip
SHAPE = ["id", "rule", "severity", "subject", "laborer_id", "jurisdiction", "evidence", "raised_seq", "withdrawn_seq",
         "status", "message", "message_en", "source"]  # fmt: skip


def cli(cwd: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "api", *args], cwd=cwd, capture_output=True, text=True, input=stdin,
        env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0", "LEDGER_LANG": "zh", **(env or {})}, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result


def flags(cwd: Path, *args: str) -> list[dict[str, object]]:
    result = cli(cwd, "anomalies", "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("cli-anomalies")
    make_ledger(cwd, ACTORS, example=EXAMPLE)
    return cwd


def test_the_clean_example_class_raises_nothing_then_a_repeated_payment_raises_three_flags(ledger_dir: Path) -> None:
    assert flags(ledger_dir, "--status", "all") == []
    clean_head = cli(ledger_dir, "log", "--json").stdout.count("\n") - 1
    result = cli(ledger_dir, "submit", "-", stdin=json.dumps(SECOND_PAYMENT, ensure_ascii=False))
    assert result.returncode == 0, result.stderr
    found = flags(ledger_dir)
    assert sorted((f["rule"], f["severity"]) for f in found) == [
        ("DUP-PAYMENT", "critical"), ("FIN-OVERPAID", "critical"), ("TIME-WEEKEND-PAYMENT", "low")]  # fmt: skip
    for flag in found:
        assert list(flag) == SHAPE
        assert flag["raised_seq"] == clean_head + 1 and flag["jurisdiction"] == "640422"
    assert found[0]["severity"] == "critical"  # most severe first
    assert flags(ledger_dir, "--as-of", str(clean_head)) == []
    assert [f["rule"] for f in flags(ledger_dir, "--severity", "low")] == ["TIME-WEEKEND-PAYMENT"]
    assert [f["rule"] for f in flags(ledger_dir, "--rule", "DUP-PAYMENT", "--jurisdiction", "640400")] == ["DUP-PAYMENT"]
    assert flags(ledger_dir, "--jurisdiction", "640423") == []


def test_json_and_ids_are_identical_after_rebuild(ledger_dir: Path) -> None:
    before = cli(ledger_dir, "anomalies", "--json", "--status", "all").stdout
    assert cli(ledger_dir, "rebuild").returncode == 0
    assert cli(ledger_dir, "anomalies", "--json", "--status", "all").stdout == before


def test_rebuild_anomalies_recomputes_the_flags_alone(ledger_dir: Path) -> None:
    before = cli(ledger_dir, "anomalies", "--json", "--status", "all").stdout
    assert json.loads(before)
    with sqlite3.connect(ledger_dir / "ledger.db") as db:  # flags lost, and a mark on a base table
        db.execute("DELETE FROM pj_anomalies")
        officer = db.execute("SELECT officer FROM pj_events WHERE seq = 0").fetchone()[0]
        db.execute("UPDATE pj_events SET officer = 'marker' WHERE seq = 0")
        (leaves,) = db.execute("SELECT next_seq FROM pj_position").fetchone()
    assert flags(ledger_dir, "--status", "all") == []
    small = cli(ledger_dir, "--lang", "en", "rebuild", "--anomalies", env={"LEDGER_PROJECTIONS_CACHE_ROWS": "10"})
    assert small.returncode == 2 and len(small.stderr.strip().splitlines()) == 1, small.stderr
    assert "more than 10 rows in memory" in small.stderr and flags(ledger_dir, "--status", "all") == []
    result = cli(ledger_dir, "rebuild", "--anomalies")
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert f"已重建异常标记：重放 {leaves} 条日志记录" in result.stderr and "其他投影未改动" in result.stderr
    assert cli(ledger_dir, "anomalies", "--json", "--status", "all").stdout == before
    with sqlite3.connect(ledger_dir / "ledger.db") as db:
        assert db.execute("SELECT officer FROM pj_events WHERE seq = 0").fetchone() == ("marker",)  # not rewritten
        db.execute("UPDATE pj_events SET officer = ? WHERE seq = 0", (officer,))


def test_the_listing_speaks_chinese_first_and_english_on_request(ledger_dir: Path) -> None:
    zh = cli(ledger_dir, "anomalies")
    assert zh.returncode == 0 and "严重" in zh.stdout and "重复拨付" in zh.stdout and "待核查" in zh.stdout
    assert "端午节" in zh.stdout or "法定节假日" in zh.stdout or "周末" in zh.stdout
    en = cli(ledger_dir, "--lang", "en", "anomalies")
    assert en.returncode == 0 and "critical" in en.stdout and "same amount" in en.stdout and "严重" not in en.stdout


def test_show_opens_the_evidence_who_signed_what_when_with_which_key(ledger_dir: Path) -> None:
    dup = next(f for f in flags(ledger_dir) if f["rule"] == "DUP-PAYMENT")
    shown = cli(ledger_dir, "anomalies", "show", str(dup["id"]))
    assert shown.returncode == 0, shown.stderr
    for text in ("DUP-PAYMENT", "西吉县财政局", "fin-640422", "ed25519:", "PaymentDisbursed", "P-2019-640422-0002",
                 "2019-06-08T10:00:00+08:00"):  # fmt: skip
        assert text in shown.stdout, text
    doc = json.loads(cli(ledger_dir, "anomalies", "show", str(dup["id"]), "--json").stdout)
    assert list(doc["flag"]) == SHAPE and doc["flag"]["id"] == dup["id"]
    assert [e["seq"] for e in doc["evidence"]] == dup["evidence"]
    for event in doc["evidence"]:
        assert event["actor"] == "fin-640422" and event["actor_name"] == "西吉县财政局"
        assert event["key_id"].startswith("ed25519:") and event["recorded_at"].endswith("Z")
    assert [h["change"] for h in doc["history"]] == ["raised"]


def test_a_disposition_changes_the_status_the_listing_shows(ledger_dir: Path) -> None:
    overpaid = next(f for f in flags(ledger_dir) if f["rule"] == "FIN-OVERPAID")
    intent = {"actor": "insp-640400", "type": "AnomalyDisposed", "at": "2019-06-20T10:00:00+08:00",
              "body": {"anomaly_id": overpaid["id"], "disposition": "confirmed", "note": "重复拨付属实，已责令追回"}}  # fmt: skip
    assert cli(ledger_dir, "submit", "-", stdin=json.dumps(intent, ensure_ascii=False)).returncode == 0
    assert [f["id"] for f in flags(ledger_dir, "--status", "confirmed")] == [overpaid["id"]]
    assert "核实属实" in cli(ledger_dir, "anomalies", "--rule", "FIN-OVERPAID").stdout
    shown = cli(ledger_dir, "anomalies", "show", str(overpaid["id"])).stdout
    assert "insp-640400" in shown and "重复拨付属实" in shown


def test_errors_are_one_line_with_the_documented_exit_status(ledger_dir: Path) -> None:
    missing = cli(ledger_dir, "anomalies", "show", "A-" + "0" * 40)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    bad_status = cli(ledger_dir, "anomalies", "--status", "bogus")
    assert bad_status.returncode == 2 and "bogus" in bad_status.stderr
    beyond = cli(ledger_dir, "anomalies", "--as-of", "99999")
    assert beyond.returncode == 2 and beyond.stderr.count("\n") == 1
