"""`subsidy-ledger demo` in an empty folder: a verified ledger and a readable summary."""

from __future__ import annotations

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
    verified = run(tmp_path, "--lang", "en", "verify")
    assert verified.returncode == 0, verified.stderr
    again = run(tmp_path, "demo")
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
