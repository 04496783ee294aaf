"""Issue 12's faults and warts of the command line, each named after the attack that found it.

The CLI runs as a real process on a real SQLite ledger (and PostgreSQL where the fault is about
the database); a fault that needs an internal error to happen is injected by a small launcher
that patches one function and then runs the real entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import cli, make_ledger, one_line_error
from support.xiji import ACTORS, EXAMPLE


def no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def last_error_line(result: subprocess.CompletedProcess) -> str:
    """The error line a stopped command ends with (a stopped import prints its summary first)."""
    no_traceback(result)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "expected an error on stderr"
    return lines[-1]


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ledger(tmp_path_factory.mktemp("faults"), ACTORS)


def _intents() -> list[str]:
    return [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def _latest_checkpoint_size(cwd: Path) -> int:
    shown = cli(cwd, "checkpoint", "show", "--json")
    assert shown.returncode == 0, shown.stderr
    return int(json.loads(shown.stdout)["size"])


def _size(cwd: Path) -> int:
    return len(cli(cwd, "log", "--json").stdout.splitlines())


# --- fault 4: an integer literal of 5,000 digits ------------------------------------------------------
def test_5000_digit_integer_literal_is_refused_not_an_internal_error(ledger_dir: Path, tmp_path: Path) -> None:
    lines = _intents()[:3]
    huge = json.loads(lines[1])
    huge["nonce"] = "huge-int-1"
    text = json.dumps(huge, ensure_ascii=False).replace('"amount_fen": 300000000', '"amount_fen": ' + "9" * 5000)
    assert "9" * 5000 in text
    path = tmp_path / "huge.jsonl"
    path.write_text("\n".join([lines[0], text, lines[2]]) + "\n", encoding="utf-8")
    result = cli(ledger_dir, "import", "--sign", "--json", str(path))
    no_traceback(result)
    assert result.returncode == 1, result.stderr  # a refusal, not an operational (2) or internal error
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["accepted", "refused", "accepted"]
    assert rows[1]["reason"].startswith("integer 99999999999999999999…(5000 characters) is outside")
    assert _latest_checkpoint_size(ledger_dir) == _size(ledger_dir)  # the import still signed its checkpoint
    submitted = cli(ledger_dir, "submit", "-", stdin=text)
    assert "outside ±(2^53−1)" in one_line_error(submitted, 1)


def test_internal_error_mid_import_reports_every_handled_line_and_signs_a_checkpoint(ledger_dir: Path,
                                                                                    tmp_path: Path) -> None:  # fmt: skip
    lines = _intents()[3:12]
    path = tmp_path / "part.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = _size(ledger_dir)
    # An internal error (a bug, not a refusal) on line 8: a batch of 500 holds all nine lines, so
    # lines 1–7 were parsed but not yet appended when it struck.
    launcher = (
        "import sys, ledger.service as s\n"
        "real = s.parse_line\n"
        "def boom(text, signer):\n"
        "    if 'L-640422-000004' in text and 'IdentityConfirmed' in text: raise RuntimeError('injected bug')\n"
        "    return real(text, signer)\n"
        "s.parse_line = boom\n"
        "from api.cli import run\n"
        "sys.argv = ['subsidy-ledger', *sys.argv[1:]]\n"
        "run()\n"
    )
    stop_at = next(n for n, line in enumerate(lines, 1) if "L-640422-000004" in line and "IdentityConfirmed" in line)
    result = subprocess.run([sys.executable, "-c", launcher, "import", "--sign", "--json", str(path)],
                            cwd=ledger_dir, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0"})  # fmt: skip
    assert result.returncode == 2
    error = last_error_line(result)
    assert error.startswith("错误: 内部错误: line") and f"line {stop_at}: RuntimeError: injected bug" in error
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["line"] for r in rows] == list(range(1, stop_at))  # every line before it, reported
    assert {r["status"] for r in rows} == {"accepted"}
    assert _size(ledger_dir) == before + stop_at - 1
    assert _latest_checkpoint_size(ledger_dir) == before + stop_at - 1  # and covered by a checkpoint
    again = cli(ledger_dir, "import", "--sign", "--json", str(path))  # the rest, after the fix
    assert [json.loads(x)["status"] for x in again.stdout.splitlines()] == (
        ["duplicate"] * (stop_at - 1) + ["accepted"] * (len(lines) - stop_at + 1))


def test_crashed_import_next_writing_command_signs_the_missing_checkpoint(ledger_dir: Path) -> None:
    # A command killed between its append and its checkpoint: the leaves are in, no checkpoint.
    line = _intents()[12]
    crash = (
        "import sys, json\n"
        "from ledger.service import Session\n"
        "from ledger.keys.signing import parse_line\n"
        "s = Session.open('sqlite:///ledger.db', 'keys')\n"
        "out = s.ledger.append([parse_line(sys.argv[1], s.signer())])[0]\n"
        "assert out.status == 'accepted', out\n"
        "s.close()\n"
    )
    r = subprocess.run([sys.executable, "-c", crash, line], cwd=ledger_dir, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    size = _size(ledger_dir)
    assert _latest_checkpoint_size(ledger_dir) == size - 1
    healed = cli(ledger_dir, "import", "--sign", "-", stdin=line + "\n")  # a duplicate: appends nothing
    assert healed.returncode == 0, healed.stderr
    assert f"已补签检查点（大小 {size}）" in healed.stderr
    assert _latest_checkpoint_size(ledger_dir) == size


# --- smaller warts ------------------------------------------------------------------------------------
def test_log_json_piped_to_head_ends_quietly(ledger_dir: Path) -> None:
    shell = f"{sys.executable} -m api log --json | head -n 1"
    result = subprocess.run(["bash", "-c", shell], cwd=ledger_dir, capture_output=True, text=True, timeout=120)
    assert len(result.stdout.splitlines()) == 1 and json.loads(result.stdout)["seq"] == 0
    assert result.stderr == "", result.stderr


def test_bom_gets_a_clear_reason(ledger_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _intents()[0].encode("utf-8") + b"\n")
    result = cli(ledger_dir, "import", "--sign", "--json", str(path))
    no_traceback(result)
    assert result.returncode == 1
    row = json.loads(result.stdout)
    assert row["status"] == "refused" and "byte-order mark (BOM" in row["reason"]


def test_import_of_a_folder_says_it_is_a_folder(ledger_dir: Path, tmp_path: Path) -> None:
    result = cli(ledger_dir, "import", str(tmp_path))
    assert one_line_error(result, 2) == f"错误: {tmp_path} 是文件夹，不是文件：请给出一个 JSON Lines 文件"


@pytest.mark.parametrize("verb", [["log"], ["verify"], ["checkpoint", "show"], ["balances"], ["anomalies"],
                                  ["proof", "inclusion", "0"], ["import", "-"], ["pii", "show", "L-1", "--as", "x"]])  # fmt: skip
def test_read_only_verbs_never_create_a_database(tmp_path: Path, verb: list[str]) -> None:
    result = cli(tmp_path, *verb, stdin="")
    assert "处没有账本" in one_line_error(result, 2)
    assert list(tmp_path.iterdir()) == []  # no ledger.db, no keys/


@pytest.mark.postgres
def test_read_only_verbs_never_create_a_postgres_ledger(tmp_path: Path) -> None:
    from support.pg import drop_pg_database, fresh_pg_database, require_postgres

    require_postgres()
    url, name = fresh_pg_database()
    try:
        result = cli(tmp_path, "log", env={"LEDGER_DB": url})
        assert "处没有账本" in one_line_error(result, 2)
        import psycopg

        with psycopg.connect(url) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        assert tables is not None and tables[0] == 0
    finally:
        drop_pg_database(name)


def test_erasing_twice_is_reported_as_already_erased_not_recorded_twice(ledger_dir: Path) -> None:
    cli(ledger_dir, "import", "--sign", str(EXAMPLE))
    first = cli(ledger_dir, "pii", "erase", "L-640422-000002", "--as", "pov-640422")
    assert first.returncode == 0, first.stderr
    size = _size(ledger_dir)
    erased_at = size - 1
    second = cli(ledger_dir, "pii", "erase", "L-640422-000002", "--as", "pov-640422")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"L-640422-000002 的个人信息已于 seq {erased_at} 删除；未重复记录"
    assert _size(ledger_dir) == size


@pytest.mark.parametrize(("value", "reason"), [
    (13912345678, "pii.phone: must be a string, not an integer"),
    (None, "pii.phone: must be a string, not null"),
    ("  ", "pii.phone: empty"),
])  # fmt: skip
def test_pii_phone_given_as_an_integer_gets_a_type_error_not_missing(ledger_dir: Path, value: object,
                                                                     reason: str) -> None:  # fmt: skip
    intent = json.loads(next(line for line in _intents() if '"pii"' in line))
    intent["body"]["laborer_id"] = "L-640422-009999"
    intent["pii"]["phone"] = value
    before = _size(ledger_dir)
    result = cli(ledger_dir, "import", "--sign", "--json", "-", stdin=json.dumps(intent, ensure_ascii=False) + "\n")
    assert result.returncode == 1
    row = json.loads(result.stdout)
    assert row["status"] == "refused" and row["reason"] == reason
    assert _size(ledger_dir) == before


def test_office_keystore_without_operator_key_imports_and_leaves_the_checkpoint_to_the_operator(
        ledger_dir: Path, tmp_path: Path) -> None:  # fmt: skip
    assert cli(ledger_dir, "import", "--sign", str(EXAMPLE)).returncode == 0  # the class (duplicates if in)
    # The institution's own keystore: its key only — no operator key, no pepper.
    office = tmp_path / "office-keys"
    (office / "actors").mkdir(parents=True)
    (office / "actors" / "inst-640422-zj.pem").write_bytes((ledger_dir / "keys" / "actors" / "inst-640422-zj.pem").read_bytes())
    intent = json.loads(next(line for line in _intents() if '"TraineeWithdrawn"' in line or '"TraineeEnrolled"' in line))
    intent["nonce"] = "office-keystore-1"
    intent["type"], intent["body"] = "ClassCancelled", {"class_id": intent["body"]["class_id"], "reason": "测试：机构自己签名"}
    before = _size(ledger_dir)
    result = cli(ledger_dir, "--keys", str(office), "import", "--sign", "--json", "-",
                 stdin=json.dumps(intent, ensure_ascii=False) + "\n")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "accepted" and _size(ledger_dir) == before + 1
    assert _latest_checkpoint_size(ledger_dir) == before  # the office signs no checkpoint …
    healed = cli(ledger_dir, "import", "--sign", "-", stdin=json.dumps(intent, ensure_ascii=False) + "\n")
    assert healed.returncode == 0 and f"已补签检查点（大小 {before + 1}）" in healed.stderr  # … the operator does
