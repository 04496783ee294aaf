"""``verify``, ``checkpoint``, ``proof`` and ``export`` as a user drives them: output, language, exit codes."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from support.cli import cli, make_ledger, one_line_error
from support.xiji import ACTORS, EXAMPLE


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ledger(tmp_path_factory.mktemp("cli-log"), ACTORS, example=EXAMPLE)


@pytest.fixture
def ledger_dir(built: Path, tmp_path: Path) -> Path:
    """A private copy per test, so tampering in one test never leaks into another."""
    cwd = tmp_path / "ledger"
    shutil.copytree(built, cwd)
    return cwd


def test_verify_says_intact_in_chinese_then_english_and_json(ledger_dir: Path) -> None:
    zh = cli(ledger_dir, "verify")
    assert zh.returncode == 0, zh.stderr
    assert zh.stdout.startswith("防篡改校验通过：89 条记录") and "检查点" in zh.stdout
    en = cli(ledger_dir, "--lang", "en", "verify")
    assert en.stdout.startswith("verify: intact — 89 leaves")
    assert cli(ledger_dir, "verify", "--lang", "en").stdout.startswith("verify: intact")
    report = json.loads(cli(ledger_dir, "verify", "--json").stdout)
    assert report["intact"] is True and report["size"] == 89 and report["first_bad_seq"] is None
    assert report["latest_checkpoint"] == 89 and report["trusted_size"] is None and report["tofu"] is True
    assert not (ledger_dir / "keys" / "trusted.json").exists()  # never recorded silently
    recorded = json.loads(cli(ledger_dir, "verify", "--json", "--trust-first-use").stdout)
    assert recorded["anchor_written"] is True
    assert json.loads((ledger_dir / "keys" / "trusted.json").read_text())["size"] == 89
    assert json.loads(cli(ledger_dir, "verify", "--json").stdout)["trusted_size"] == 89


def test_verify_names_the_first_bad_seq_and_exits_1(ledger_dir: Path) -> None:
    with sqlite3.connect(ledger_dir / "ledger.db") as db:
        leaf = db.execute("SELECT leaf FROM ledger_leaves WHERE seq = 50").fetchone()[0]
        forged = leaf.replace(b'"theory_hours":2', b'"theory_hours":3', 1)
        assert forged != leaf
        db.execute("UPDATE ledger_leaves SET leaf = ? WHERE seq = 50", (forged,))
    line = one_line_error(cli(ledger_dir, "verify"), 1)
    assert line.startswith("防篡改校验未通过：seq 50") and "记录被篡改" in line
    line = one_line_error(cli(ledger_dir, "--lang", "en", "verify"), 1)
    assert line.startswith("verify: NOT intact — seq 50: leaf tampered")
    report = cli(ledger_dir, "verify", "--json")
    assert report.returncode == 1
    parsed = json.loads(report.stdout)
    assert (parsed["intact"], parsed["first_bad_seq"], parsed["code"]) == (False, 50, "leaf_tampered")
    assert parsed["reason"] and "checkpoint" in parsed


def test_verify_trusts_only_the_operator_key_it_is_given(ledger_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert cli(other.parent, "--db", f"sqlite:///{tmp_path / 'other.db'}", "--keys", str(other), "init").returncode == 0
    stranger = (other / "operator.pub").read_text().strip()
    line = one_line_error(cli(ledger_dir, "--lang", "en", "verify", "--operator-key", stranger), 1)
    assert "checkpoint 1" in line and "trusted operator key" in line
    ok = cli(ledger_dir, "verify", "--operator-key", str(ledger_dir / "keys" / "operator.pub"))
    assert ok.returncode == 0
    bad = one_line_error(cli(ledger_dir, "verify", "--operator-key", "nonsense"), 2)
    assert "operator-key" in bad


def test_checkpoint_sign_show_and_cosign(ledger_dir: Path) -> None:
    signed = cli(ledger_dir, "checkpoint")
    assert signed.returncode == 0 and "大小 89" in signed.stdout and "— guyuan.subsidy-ledger " in signed.stdout
    cosigned = cli(ledger_dir, "checkpoint", "--cosign", "fin-640422")
    assert cosigned.returncode == 0, cosigned.stderr
    assert "fin-640422" in cosigned.stdout and "— fin-640422 " in cosigned.stdout
    shown = json.loads(cli(ledger_dir, "checkpoint", "show", "--json").stdout)
    assert shown["size"] == 89 and shown["operator_signature_valid"]
    assert [(c["name"], c["verified"]) for c in shown["cosignatures"]] == [("fin-640422", True)]
    human = cli(ledger_dir, "--lang", "en", "checkpoint", "show")
    assert "operator signature: valid" in human.stdout and "cosignature: fin-640422" in human.stdout
    refused = one_line_error(cli(ledger_dir, "checkpoint", "--cosign", "hr-640422"), 1)
    assert "finance_bureau or inspector" in refused


def test_proofs_print_the_fixed_json(ledger_dir: Path) -> None:
    inclusion = cli(ledger_dir, "proof", "inclusion", "7")
    assert inclusion.returncode == 0, inclusion.stderr
    proof = json.loads(inclusion.stdout)
    assert list(proof) == ["leaf_index", "tree_size", "leaf_hash", "inclusion_path"]
    assert (proof["leaf_index"], proof["tree_size"]) == (7, 89) and len(proof["inclusion_path"]) == 7
    sized = json.loads(cli(ledger_dir, "proof", "inclusion", "7", "--size", "40").stdout)
    assert sized["tree_size"] == 40
    consistency = json.loads(cli(ledger_dir, "proof", "consistency", "40", "89").stdout)
    assert list(consistency) == ["first_size", "second_size", "consistency_path"]
    assert one_line_error(cli(ledger_dir, "proof", "inclusion", "89"), 2)
    assert one_line_error(cli(ledger_dir, "proof", "consistency", "0", "5"), 2)


def test_exports_refuse_a_used_folder_or_an_unknown_subject(ledger_dir: Path) -> None:
    (ledger_dir / "full").mkdir()
    (ledger_dir / "full" / "x").write_text("x")
    assert "not an empty folder" in one_line_error(cli(ledger_dir, "export", "log", "full"), 2)
    assert one_line_error(cli(ledger_dir, "export", "evidence", "payment", "P-NOPE", "ev"), 1)
    assert one_line_error(cli(ledger_dir, "export", "evidence", "invoice", "X", "ev"), 2)
    done = cli(ledger_dir, "export", "evidence", "laborer", "L-640422-000004", "ev")
    assert done.returncode == 0 and "L-640422-000004" in done.stdout
    assert sorted(p.name for p in (ledger_dir / "ev").iterdir()) == [
        "VERIFY.md", "checkpoint", "entries.jsonl", "operator.pub", "proofs.json"]  # fmt: skip
    full = cli(ledger_dir, "export", "log", "log")
    assert full.returncode == 0 and "89" in full.stdout
    assert sorted(p.name for p in (ledger_dir / "log").iterdir()) == [
        "VERIFY.md", "checkpoint", "entries.jsonl", "operator.pub"]  # fmt: skip
