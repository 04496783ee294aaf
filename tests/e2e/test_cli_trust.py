"""Issue 12 fault 3 through the command line: TOFU said out loud, ``--anchor``, ``--witness``, operator key change.

The ledger is built with the CLI (``init``, ``actor add``, ``import --sign``); the attacker edits the
SQLite file with the operator's own keys (``support.rewrite``), as in the attack tests.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import rewrite
from support.cli import cli, make_ledger, one_line_error
from support.scenario import Scenario
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

HOURS = (b'"theory_hours": 2', b'"theory_hours": 3')


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ledger(tmp_path_factory.mktemp("cli-trust"), [*ACTORS, INSPECTOR], example=EXAMPLE)


@pytest.fixture
def ledger_dir(built: Path, tmp_path: Path) -> Path:
    cwd = tmp_path / "ledger"
    shutil.copytree(built, cwd)
    return cwd


@contextmanager
def operator(cwd: Path) -> Iterator[Scenario]:
    """The operator's own hands on the database and keystore."""
    from ledger.service import Session

    session = Session.open(f"sqlite:///{cwd / 'ledger.db'}", cwd / "keys")
    try:
        yield Scenario(session)
    finally:
        session.close()


def test_no_anchor_is_trust_on_first_use_said_out_loud_and_nothing_written(ledger_dir: Path) -> None:
    keys = ledger_dir / "keys"
    zh = cli(ledger_dir, "verify")
    assert zh.returncode == 0 and zh.stdout.startswith("防篡改校验通过")
    assert "首次使用即信任（TOFU）" in zh.stdout and "未写入信任锚" in zh.stdout and "信任锚：大小" not in zh.stdout
    assert "TOFU" not in zh.stderr
    en = cli(ledger_dir, "--lang", "en", "verify")
    assert en.stdout.splitlines()[1].startswith("warning: trusting on first use (TOFU)") and "No anchor written" in en.stdout
    report = json.loads(cli(ledger_dir, "verify", "--json").stdout)
    assert (report["intact"], report["tofu"], report["anchor_written"]) == (True, True, False)
    assert not (keys / "trusted.json").exists()
    recorded = cli(ledger_dir, "--lang", "en", "verify", "--trust-first-use")
    assert recorded.returncode == 0 and "recorded the verified checkpoint" in recorded.stdout and "TOFU" in recorded.stdout
    assert json.loads((keys / "trusted.json").read_text())["size"] == report["latest_checkpoint"]
    assert (keys / "trusted.leaves").stat().st_size == 32 * report["latest_checkpoint"]
    again = cli(ledger_dir, "verify", "--json")
    assert json.loads(again.stdout)["tofu"] is False and "TOFU" not in cli(ledger_dir, "verify").stdout
    # What the warning means: without an anchor, the operator's re-signed rewrite passes.
    (keys / "trusted.json").unlink()
    with operator(ledger_dir) as sc:
        rewrite.rewrite_leaf(sc, rewrite.seq_of(sc, "AttendanceRecorded"), *HOURS)
    fooled = cli(ledger_dir, "verify")
    assert fooled.returncode == 0 and "首次使用即信任（TOFU）" in fooled.stdout
    # A failed check is still one line on stderr, TOFU or not.
    with operator(ledger_dir) as sc:
        sc.ledger.sql.execute("UPDATE ledger_tree SET hash = ? WHERE level = 1 AND idx = 0", (b"\0" * 32,))
    assert one_line_error(cli(ledger_dir, "verify"), 1).startswith("防篡改校验未通过")


def test_operator_rewrite_plus_trusted_json_edit_caught_by_external_anchor(ledger_dir: Path, tmp_path: Path) -> None:
    external = tmp_path / "finance-bureau" / "anchor.json"
    first = cli(ledger_dir, "verify", "--anchor", str(external), "--trust-first-use")
    assert first.returncode == 0, first.stderr
    assert external.exists() and external.with_suffix(".leaves").exists()
    assert not (ledger_dir / "keys" / "trusted.json").exists()  # --anchor replaces keys/trusted.json
    assert cli(ledger_dir, "verify", "--trust-first-use").returncode == 0
    with operator(ledger_dir) as sc:
        k = rewrite.seq_of(sc, "AttendanceRecorded")
        rewrite.rewrite_leaf(sc, k, *HOURS)
        rewrite.edit_trusted_json(sc)
    assert cli(ledger_dir, "verify").returncode == 0  # the operator's keystore was "fixed" too
    line = one_line_error(cli(ledger_dir, "--lang", "en", "verify", "--anchor", str(external)), 1)
    assert line.startswith(f"verify: NOT intact — seq {k}: trust anchor mismatch") and "rewritten" in line
    report = json.loads(cli(ledger_dir, "verify", "--json", "--anchor", str(external)).stdout)
    assert (report["first_bad_seq"], report["code"], report["tofu"]) == (k, "trust_anchor_mismatch", False)
    assert report["anchor"] == str(external)


def test_witness_required_and_cosigner_checkpoints_are_anchors(ledger_dir: Path, tmp_path: Path) -> None:
    fin = cli(ledger_dir, "checkpoint", "witness-key", "fin-640422").stdout.strip()
    assert fin.startswith("fin-640422+")
    insp_file = tmp_path / "insp.pub"
    insp_file.write_text(cli(ledger_dir, "checkpoint", "witness-key", "insp-640400").stdout)
    missing = one_line_error(cli(ledger_dir, "--lang", "en", "verify", "--witness", fin), 1)
    assert "witness cosignature missing" in missing and "fin-640422" in missing
    assert cli(ledger_dir, "checkpoint", "--cosign", "fin-640422").returncode == 0
    ok = cli(ledger_dir, "--lang", "en", "verify", "--witness", fin)
    assert ok.returncode == 0 and "witnessed by fin-640422" in ok.stdout and "TOFU" not in ok.stdout
    assert "insp-640400" in one_line_error(cli(ledger_dir, "verify", "--witness", fin, "--witness", str(insp_file)), 1)
    assert one_line_error(cli(ledger_dir, "verify", "--witness", "nonsense"), 2)
    # The finance bureau's saved checkpoint (keys/cosigned/fin-640422.json) catches a rewrite by itself.
    with operator(ledger_dir) as sc:
        rewrite.rewrite_leaf(sc, rewrite.seq_of(sc, "AttendanceRecorded"), *HOURS)
    line = one_line_error(cli(ledger_dir, "--lang", "en", "verify"), 1)
    assert "cosigner fin-640422" in line and "rewritten" in line


def test_operator_key_change_by_dual_signed_checkpoint(ledger_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "published-operator.pub"
    shutil.copy(ledger_dir / "keys" / "operator.pub", old)
    rotated = cli(ledger_dir, "--lang", "en", "checkpoint", "rotate-operator")
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("operator key changed") and "next-operator-key " in rotated.stdout
    assert cli(ledger_dir, "checkpoint").returncode == 0  # signed with the new key
    report = json.loads(cli(ledger_dir, "verify", "--json", "--operator-key", str(old)).stdout)
    assert report["intact"] and len(report["operator_key_changes"]) == 1
    # A key that no dual-signed checkpoint introduced is refused.
    other = tmp_path / "other"
    assert cli(other.parent, "--db", f"sqlite:///{tmp_path / 'other.db'}", "--keys", str(other), "init").returncode == 0
    shutil.copy(other / "operator.pem", ledger_dir / "keys" / "operator.pem")
    shutil.copy(ledger_dir / "keys" / "operator.pub", tmp_path / "new.pub")
    (ledger_dir / "keys" / "operator.pub").write_text((other / "operator.pub").read_text())
    with operator(ledger_dir) as sc:
        sc.laborer("L-640422-999999", by="pov-640422")
    assert cli(ledger_dir, "checkpoint").returncode == 0
    line = one_line_error(cli(ledger_dir, "--lang", "en", "verify", "--operator-key", str(old)), 1)
    assert "checkpoint mismatch" in line and "trusted operator key" in line
