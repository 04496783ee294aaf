"""The CLI as a user runs it: a real ``python -m api`` process, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli(cwd: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``subsidy-ledger ARGS`` in ``cwd`` (checkpoints signed at once); no traceback may reach the user."""
    result = subprocess.run(
        [sys.executable, "-m", "api", *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0", **(env or {})}, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    return result


def one_line_error(result: subprocess.CompletedProcess[str], status: int) -> str:
    """The one line a failed command prints on stderr, after checking its exit status."""
    assert result.returncode == status, (result.stdout, result.stderr)
    lines = [x for x in result.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def make_ledger(cwd: Path, actors: list[tuple[str, str, str, str]], *, example: Path | None = None,
                env: dict[str, str] | None = None) -> Path:  # fmt: skip
    """``init``, then ``actor add`` for each of ``actors``, then ``import --sign example`` if given
    (``env``: e.g. ``LEDGER_DB`` for a PostgreSQL ledger)."""
    assert cli(cwd, "init", env=env).returncode == 0
    for actor_id, role, code, name in actors:
        added = cli(cwd, "actor", "add", "--id", actor_id, "--role", role, "--jurisdiction", code, "--name", name, env=env)
        assert added.returncode == 0, added.stderr
    if example is not None:
        imported = cli(cwd, "import", "--sign", str(example), env=env)
        assert imported.returncode == 0, imported.stderr
    return cwd
