"""The CLI as a user drives it: init, actors, import, log, personal data, errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from support.cli import cli, make_ledger
from support.xiji import ACTORS, EXAMPLE


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ledger(tmp_path_factory.mktemp("cli"), ACTORS)


def test_import_sign_then_reimport_records_nothing_twice(ledger_dir: Path) -> None:
    first = cli(ledger_dir, "import", "--sign", "--json", str(EXAMPLE))
    assert first.returncode == 0, first.stderr
    rows = [json.loads(line) for line in first.stdout.splitlines()]
    assert [r["line"] for r in rows] == list(range(1, 83))
    assert {r["status"] for r in rows} == {"accepted"}
    assert [r["seq"] for r in rows] == list(range(7, 89))
    again = cli(ledger_dir, "import", "--sign", "--json", str(EXAMPLE))
    assert again.returncode == 0
    assert [json.loads(x) for x in again.stdout.splitlines()] == [
        {"line": r["line"], "status": "duplicate", "seq": r["seq"], "reason": None} for r in rows
    ]


def test_refused_lines_are_reported_with_line_numbers_and_exit_1(ledger_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    good = {"actor": "pov-640422", "type": "IdentityConfirmed", "at": "2019-04-01T10:00:00+08:00",
            "body": {"laborer_id": "L-640422-000001", "basis": "复核"}}  # fmt: skip
    bad = {"actor": "pov-640422", "type": "IdentityConfirmed", "at": "2019-04-01T10:00:00+08:00",
           "body": {"laborer_id": "L-NOBODY", "basis": "复核"}}  # fmt: skip
    src.write_text(json.dumps(good) + "\n\n" + "{not json\n" + json.dumps(bad) + "\n", encoding="utf-8")
    result = cli(ledger_dir, "--lang", "en", "import", "--sign", str(src))
    no_traceback(result)
    assert result.returncode == 1
    assert "line 3 refused" in result.stderr and "line 4 refused" in result.stderr
    assert "L-NOBODY" in result.stderr
    assert "1 accepted" in result.stdout
    again = cli(ledger_dir, "import", "--sign", "--json", str(src))
    statuses = [json.loads(x)["status"] for x in again.stdout.splitlines()]
    assert statuses == ["duplicate", "refused", "refused"]


def test_log_json_prints_exact_leaf_bytes(ledger_dir: Path) -> None:
    result = cli(ledger_dir, "log", "--json", "--limit", "3")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    leaf = json.loads(lines[0])
    assert leaf["seq"] == 0 and leaf["envelope"]["type"] == "ActorRegistered"
    assert lines[0] == json.dumps(leaf, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def test_pii_show_is_logged_and_erase_keeps_the_log(ledger_dir: Path) -> None:
    before = cli(ledger_dir, "log", "--json").stdout.splitlines()
    shown = cli(ledger_dir, "pii", "show", "L-640422-000001", "--as", "pov-640422", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == "马秀兰"
    erased = cli(ledger_dir, "pii", "erase", "L-640422-000001", "--as", "pov-640422")
    assert erased.returncode == 0
    after = cli(ledger_dir, "log", "--json").stdout.splitlines()
    assert after[: len(before)] == before
    assert [json.loads(x)["envelope"]["type"] for x in after[len(before) :]] == [
        "PersonalDataAccessed", "PersonalDataErased"]  # fmt: skip
    gone = cli(ledger_dir, "pii", "show", "L-640422-000001", "--as", "pov-640422")
    assert gone.returncode == 2 and "L-640422-000001" in gone.stderr
    denied = cli(ledger_dir, "pii", "show", "L-640422-000002", "--as", "hr-640422")
    assert denied.returncode == 1 and len(denied.stderr.strip().splitlines()) == 1


def test_actor_with_its_own_public_key_rotate_and_revoke(ledger_dir: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pem = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "insp.pem").write_bytes(pem)
    r = cli(ledger_dir, "actor", "add", "--id", "insp-640400", "--role", "inspector", "--jurisdiction",
            "640400", "--name", "固原市纪委监委", "--public-key", str(tmp_path / "insp.pem"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert not (ledger_dir / "keys" / "actors" / "insp-640400.pem").exists()
    assert cli(ledger_dir, "actor", "rotate", "hr-640422").returncode == 0
    r = cli(ledger_dir, "actor", "revoke", "fin-640422", "--reason", "U盾遗失", "--effective-at", "2026-01-01T00:00:00+08:00")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    ("args", "status", "needle"),
    [
        (("import", "/nonexistent.jsonl"), 2, "nonexistent"),
        (("--db", "postgresql://nobody@127.0.0.1:1/x", "log"), 2, "database"),
        (("--db", "mysql://x", "log"), 2, "unsupported"),
        (("--lang", "fr", "log"), 2, "--lang"),
        (("init",), 2, "already"),
    ],
)
def test_bad_input_gets_one_line_and_changes_nothing(ledger_dir: Path, args: tuple, status: int, needle: str) -> None:
    size = len(cli(ledger_dir, "log", "--json").stdout.splitlines())
    result = cli(ledger_dir, *args)
    no_traceback(result)
    assert result.returncode == status
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert len(cli(ledger_dir, "log", "--json").stdout.splitlines()) == size


def test_submit_from_stdin(ledger_dir: Path) -> None:
    intent = {"actor": "pov-640422", "type": "IdentityConfirmed", "at": "2019-05-01T10:00:00+08:00",
              "body": {"laborer_id": "L-640422-000003", "basis": "复核"}}  # fmt: skip
    r = cli(ledger_dir, "submit", "-", stdin=json.dumps(intent))
    assert r.returncode == 0 and "seq" in r.stdout
    r = cli(ledger_dir, "submit", "-", stdin=json.dumps(intent))
    assert r.returncode == 0 and ("重复" in r.stdout)
    r = cli(ledger_dir, "submit", "-", stdin="[1, 2")
    assert r.returncode == 1 and "not JSON" in r.stderr
