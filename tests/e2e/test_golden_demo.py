"""A restructure changes no byte anyone outside depends on (issue 19, "Done when").

``tests/golden/demo-small-2019`` was made by the code *before* the package restructure: ``demo``
(scale small, seed 2019) in an empty folder, its projection tables dropped, the database
compressed. Beside it are what that code printed: ``anomalies --json --status all``,
``balances --json``, and the SHA-256 of every file of ``export log`` and of ``log --json``.

The code of today opens that database (its stored domain events name the old module topics),
rebuilds every projection from the log, and must print the same bytes. A renamed topic, a
flag id, a rule's message, a posting, a JSON key or an export format that moved fails here.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import shutil
from pathlib import Path

import pytest
from tests.support.cli import cli

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "demo-small-2019"


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("golden")
    (here / "ledger.db").write_bytes(lzma.decompress((GOLDEN / "ledger.db.xz").read_bytes()))
    shutil.copytree(GOLDEN / "keys", here / "keys")
    rebuilt = cli(here, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    return here


def expected_digests() -> dict[str, str]:
    lines = (GOLDEN / "export.sha256").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split("  ", 1) for line in lines)}


def test_anomalies_json_is_byte_identical(ledger_dir: Path) -> None:
    printed = cli(ledger_dir, "anomalies", "--json", "--status", "all")
    assert printed.returncode == 0, printed.stderr
    expected = (GOLDEN / "anomalies.json").read_text(encoding="utf-8")
    assert len(json.loads(printed.stdout)) == len(json.loads(expected)) == 61
    assert printed.stdout == expected


def test_balances_json_is_byte_identical(ledger_dir: Path) -> None:
    printed = cli(ledger_dir, "balances", "--json")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == (GOLDEN / "balances.json").read_text(encoding="utf-8")


def test_export_log_and_log_json_are_byte_identical(ledger_dir: Path) -> None:
    exported = cli(ledger_dir, "export", "log", "exp")
    assert exported.returncode == 0, exported.stderr
    digests = expected_digests()
    for name in ("VERIFY.md", "checkpoint", "entries.jsonl", "operator.pub"):
        actual = hashlib.sha256((ledger_dir / "exp" / name).read_bytes()).hexdigest()
        assert actual == digests[name], name
    printed = cli(ledger_dir, "log", "--json")
    assert hashlib.sha256(printed.stdout.encode("utf-8")).hexdigest() == digests["log.json"]


def test_the_old_ledger_still_verifies(ledger_dir: Path) -> None:
    verified = cli(ledger_dir, "verify", "--json", "--projections")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert '"ok": true' in verified.stdout
