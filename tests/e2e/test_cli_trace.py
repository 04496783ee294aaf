"""``trace`` as a user runs it: the example 西吉县 class through the real CLI process.

The timeline in Chinese (stages in order, signers by name and role, ✓ for signature and
inclusion), in English with ``--lang en``, the JSON as RFC 8785 with one LF, one-line errors,
and ``export evidence`` of the same subject holding the trace's leaves and its signers' registry
leaves, nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.encoding.canonical import canonical_str
from support.cli import cli, make_ledger, one_line_error
from support.xiji import ACTORS, EXAMPLE

PAYMENT = "P-2019-640422-0001"


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ledger(tmp_path_factory.mktemp("trace"), ACTORS, example=EXAMPLE)


def test_the_timeline_follows_the_money_with_signers_and_checks(ledger_dir: Path) -> None:
    done = cli(ledger_dir, "trace", "payment", PAYMENT)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    stages = ["【登记】", "【报名】", "【考勤】", "【结业/鉴定】", "【申报】", "【审核】", "【拨付】"]
    places = [text.index(stage) for stage in stages]
    assert places == sorted(places)
    assert "西吉县人力资源和社会保障局（人社局）" in text and "西吉县财政局（财政局）" in text
    assert "签名 ✓ 82 ✗ 0；包含证明 ✓ 82 ✗ 0" in text
    assert "✗" not in text.split("\n", 3)[3]
    assert "export evidence payment " + PAYMENT in text
    english = cli(ledger_dir, "--lang", "en", "trace", "payment", PAYMENT)
    assert english.returncode == 0 and "[payment] (1)" in english.stdout and "claim approved" in english.stdout


def test_json_is_jcs_with_one_newline_and_matches_the_evidence_export(ledger_dir: Path, tmp_path: Path) -> None:
    done = cli(ledger_dir, "trace", "payment", PAYMENT, "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert done.stdout == canonical_str(doc) + "\n"
    assert list(doc) == sorted(["anomalies", "as_of", "checkpoint", "events", "id", "kind", "pii_reads"])
    assert set(doc["events"][0]) >= {"seq", "type", "actor", "actor_name", "role", "key_id", "at", "business_date",
                                     "relation", "signature_ok", "included"}  # fmt: skip
    out = tmp_path / "ev"
    exported = cli(ledger_dir, "export", "evidence", "payment", PAYMENT, str(out))
    assert exported.returncode == 0, exported.stderr
    leaves = [json.loads(line) for line in (out / "entries.jsonl").read_text(encoding="utf-8").splitlines()]
    traced = {e["seq"] for e in doc["events"]}
    registry = {leaf["seq"] for leaf in leaves if leaf["envelope"]["type"] in ("ActorRegistered", "KeyRotated", "KeyRevoked")}
    assert {leaf["seq"] for leaf in leaves} == traced | registry


def test_paging_and_errors(ledger_dir: Path) -> None:
    page = json.loads(cli(ledger_dir, "trace", "actor", "inst-640422-zj", "--json", "--limit", "5").stdout)
    assert len(page["events"]) == 5 and page["next"] > page["events"][-1]["seq"]
    rest = json.loads(cli(ledger_dir, "trace", "actor", "inst-640422-zj", "--json", "--from", str(page["next"])).stdout)
    assert rest["next"] is None and rest["events"][0]["seq"] == page["next"]
    assert sum(sum(m.values()) for m in page["summary"].values()) == len(page["events"]) + len(rest["events"])
    assert "KIND" in one_line_error(cli(ledger_dir, "trace", "invoice", "X"), 2)
    assert one_line_error(cli(ledger_dir, "trace", "payment", "P-NOPE"), 1)
    assert "100000" in one_line_error(cli(ledger_dir, "trace", "payment", PAYMENT, "--checkpoint", "100000"), 2)
    assert one_line_error(cli(ledger_dir, "trace", "fund", "F-X", "--limit", "0"), 2)
