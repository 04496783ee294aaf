"""``backup`` and ``restore`` as a user drives them (issue 12).

SQLite: a backup taken while an import runs in another process verifies; a restore of a backup
older than the trust anchor is reported as a rollback (verify exits 1), and a restore refuses to
replace a ledger without ``--force``. PostgreSQL: ``backup`` runs ``pg_dump`` and ``restore``
``pg_restore``, and the restored ledger verifies.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import IO

import pytest

from support.pg import drop_pg_database, fresh_pg_database

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_faults", BENCH / "bench_faults.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


faults = _load()


def cli(db: str, keys: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api", "--db", db, "--keys", str(keys), *args],
                          capture_output=True, text=True, env=faults.cli_env(), timeout=300)  # fmt: skip


def leaves(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        count = int(conn.execute("SELECT COUNT(*) FROM ledger_leaves").fetchone()[0])
    conn.close()
    return count


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr + done.stdout


@pytest.fixture(scope="module")
def mid_import(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A SQLite ledger, a backup taken while an import of 2,000 lines ran, the keystore before it."""
    work = tmp_path_factory.mktemp("backup")
    dbs = faults.Databases("sqlite", work)
    templates = faults.prepare(dbs, work, 2000)
    live = templates.actors
    path = Path(live.url.removeprefix("sqlite:///"))
    anchored = cli(live.url, live.keys, "verify", "--trust-first-use")  # the anchor: the actors' checkpoint
    assert anchored.returncode == 0, anchored.stderr
    keys_before = work / "keys-before"
    shutil.copytree(live.keys, keys_before)
    backup = work / "during-import.db"
    lines = templates.lines_file.read_text(encoding="utf-8").splitlines(keepends=True)
    backed_up = threading.Event()

    def feed(stdin: IO[str]) -> None:
        """Stream the file into the import: slowly while the backup runs, the last part after it."""
        stdin.write("".join(lines[:1000]))
        stdin.flush()
        for start in range(1000, 1500, 50):
            time.sleep(0.05)
            stdin.write("".join(lines[start : start + 50]))
            stdin.flush()
        backed_up.wait(timeout=300)
        stdin.write("".join(lines[1500:]))
        stdin.close()

    with subprocess.Popen([sys.executable, "-m", "api", "--db", live.url, "--keys", str(live.keys), "import",
                           "--sign", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, env=faults.cli_env()) as importer:  # fmt: skip
        assert importer.stdin is not None and importer.stderr is not None
        feeder = threading.Thread(target=feed, args=(importer.stdin,), daemon=True)
        feeder.start()
        deadline = time.monotonic() + 120
        while leaves(path) == live.size and importer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        made = cli(live.url, live.keys, "backup", str(backup))
        backed_up.set()
        feeder.join(timeout=300)
        err = importer.stderr.read()
        importer.wait(timeout=300)
    assert importer.returncode == 0, err
    assert made.returncode == 0, made.stderr
    yield {"live": live, "path": path, "backup": backup, "keys_before": keys_before, "work": work,
           "lines": templates.lines, "made": made}  # fmt: skip


def test_a_backup_taken_while_an_import_runs_verifies_and_carries_the_vault(mid_import: dict) -> None:
    backup, live = mid_import["backup"], mid_import["live"]
    in_backup = leaves(backup)
    assert live.size < in_backup < live.size + mid_import["lines"]  # taken mid-import
    assert f"{in_backup} " in mid_import["made"].stdout
    checked = cli(f"sqlite:///{backup}", mid_import["keys_before"], "verify")
    assert checked.returncode == 0, checked.stderr
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        registered = conn.execute("SELECT COUNT(*) FROM ledger_leaves WHERE type = 'LaborerRegistered'").fetchone()[0]
        vault = conn.execute("SELECT COUNT(*) FROM pii_vault").fetchone()[0]
    conn.close()
    assert vault == registered  # every labourer's sealed personal data came along
    assert not list(backup.parent.glob(f".{backup.name}.partial-*"))


def test_restoring_a_backup_older_than_the_trust_anchor_is_reported_as_a_rollback(mid_import: dict) -> None:
    live, work = mid_import["live"], mid_import["work"]
    assert cli(live.url, live.keys, "verify").returncode == 0  # the anchor moves to the whole import
    restored = work / "restored.db"
    done = cli(f"sqlite:///{restored}", live.keys, "restore", str(mid_import["backup"]))
    no_traceback(done)
    assert done.returncode == 1, done.stderr
    assert "trust anchor mismatch" in done.stderr


def test_restore_refuses_to_replace_a_ledger_without_force(mid_import: dict) -> None:
    live, path, work = mid_import["live"], mid_import["path"], mid_import["work"]
    before = leaves(path)
    refused = cli(live.url, live.keys, "restore", str(mid_import["backup"]))
    no_traceback(refused)
    assert refused.returncode == 2
    assert "refusing to overwrite" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert leaves(path) == before
    again = cli(live.url, live.keys, "backup", str(mid_import["backup"]))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    # --force with a backup as new as the anchor: restored, and it verifies
    latest = work / "latest.db"
    assert cli(live.url, live.keys, "backup", str(latest)).returncode == 0
    forced = cli(live.url, live.keys, "restore", "--force", str(latest))
    assert forced.returncode == 0, forced.stderr
    assert leaves(path) == before
    assert cli(live.url, live.keys, "verify").returncode == 0


@pytest.mark.postgres
def test_postgres_backup_is_pg_dump_and_restore_pg_restore_then_verify(tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        message = "pg_dump/pg_restore not on PATH"
        if os.environ.get("CI"):
            pytest.fail(message + " — CI must have them", pytrace=False)
        pytest.skip(message)
    source, source_name = fresh_pg_database()
    target, target_name = fresh_pg_database()
    keys = tmp_path / "keys"
    try:
        assert cli(source, keys, "init").returncode == 0
        added = cli(source, keys, "actor", "add", "--id", "pov-640422", "--role", "poverty_office",
                    "--jurisdiction", "640422", "--name", "西吉县扶贫开发办公室")  # fmt: skip
        assert added.returncode == 0, added.stderr
        dump = tmp_path / "ledger.dump"
        made = cli(source, keys, "backup", str(dump))
        assert made.returncode == 0, made.stderr
        assert "2 leaves" in made.stdout and dump.read_bytes()[:5] == b"PGDMP"
        restored = cli(target, keys, "restore", str(dump))
        assert restored.returncode == 0, restored.stderr
        assert cli(target, keys, "log", "--json").stdout == cli(source, keys, "log", "--json").stdout
        refused = cli(source, keys, "restore", str(dump))
        no_traceback(refused)
        assert refused.returncode == 2 and "refusing to overwrite" in refused.stderr
        # without pg_dump on PATH: one line giving the command to run, nothing written
        bare = subprocess.run([sys.executable, "-m", "api", "--db", source, "--keys", str(keys), "backup",
                               str(tmp_path / "none.dump")], capture_output=True, text=True,
                              env={**faults.cli_env(), "PATH": str(tmp_path)}, timeout=300)  # fmt: skip
        assert bare.returncode == 2 and "pg_dump --format=custom" in bare.stderr, bare.stderr
        assert len(bare.stderr.strip().splitlines()) == 1 and not (tmp_path / "none.dump").exists()
    finally:
        drop_pg_database(source_name)
        drop_pg_database(target_name)
