"""`subsidy-ledger demo` in an empty folder: a verified ledger and a readable summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_demo_in_an_empty_folder_then_verify(tmp_path: Path) -> None:
    result = run(tmp_path, "demo")  # its duration is the benchmarks' business, not this test's
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "试算平衡：0" in out and "防篡改校验：完好" in out and "anomalies show A-" in out
    assert (tmp_path / "ledger.db").is_file() and (tmp_path / "keys" / "operator.pub").is_file()
    assert (tmp_path / "truth.json").is_file()
    # the month it reconciled: its exceptions are the truth's for that statement, and already recorded
    command = next(line.split() for line in out.splitlines() if "subsidy-ledger reconcile --statement" in line)
    args = command[command.index("reconcile"):-1]  # without --record
    statement = args[args.index("--statement") + 1]
    truth = next(t for t in json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))["statements"]
                 if f"statements/{t['file']}" == statement)  # fmt: skip
    reconciled = run(tmp_path, *args, "--json")
    assert reconciled.returncode == 0, reconciled.stderr
    doc = json.loads(reconciled.stdout)
    assert doc["reconciliation_id"] == truth["reconciliation_id"] and doc["summary"] == truth["summary"]
    assert truth["exceptions"] and "银行对账" in out and "已由" in out
    recorded = run(tmp_path, *args, "--record")
    assert recorded.returncode == 0 and "重复" in recorded.stdout, recorded.stdout + recorded.stderr
    verified = run(tmp_path, "--lang", "en", "verify")
    assert verified.returncode == 0, verified.stderr
    again = run(tmp_path, "demo")
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
