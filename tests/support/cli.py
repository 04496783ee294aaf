"""The CLI as a user runs it: a real ``python -m api`` process, for the end-to-end tests."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Where make_ledger keeps the ledgers it builds once per test run (set by tests/conftest.py); None: no reuse.
TEMPLATES: Path | None = None
TEMPLATE_DB_PREFIX = "ledger_tpl_"


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
    (``env``: e.g. ``LEDGER_DB`` for a PostgreSQL ledger).

    The CLI builds each distinct ledger (actors, example, backend) once per test run — nine
    processes, most of a test module's setup — and every later call gets a copy of it: the
    SQLite file, or a PostgreSQL database made with ``CREATE DATABASE … TEMPLATE``, and the
    keystore. A copy is the same ledger bytes, keys and all, as a fresh build but for its times.
    """
    db = (env or {}).get("LEDGER_DB", "sqlite:///ledger.db")
    own_env = set(env or {}) <= {"LEDGER_DB", "LEDGER_LANG"}
    reusable = TEMPLATES is not None and own_env and not (cwd / "keys").exists()
    if not reusable or not db.startswith(("sqlite:///", "postgresql://")):
        return build_ledger(cwd, actors, example=example, env=env)
    postgres = db.startswith("postgresql://")
    text = example.read_text(encoding="utf-8") if example else None
    spec = json.dumps([actors, text, postgres], ensure_ascii=False)
    template = _template(hashlib.sha256(spec.encode()).hexdigest()[:16], actors, example, postgres)
    cwd.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template / "keys", cwd / "keys")
    if postgres:
        _copy_pg_database(_template_db_name(template), db)
        return cwd
    target = cwd / db.removeprefix("sqlite:///")  # relative to cwd, as the CLI reads it; or absolute
    for suffix in ("", "-wal"):
        if (template / f"ledger.db{suffix}").exists():
            shutil.copyfile(template / f"ledger.db{suffix}", f"{target}{suffix}")
    return cwd


def build_ledger(cwd: Path, actors: list[tuple[str, str, str, str]], *, example: Path | None = None,
                 env: dict[str, str] | None = None) -> Path:  # fmt: skip
    """:func:`make_ledger` by the CLI itself, every time."""
    assert cli(cwd, "init", env=env).returncode == 0
    for actor_id, role, code, name in actors:
        added = cli(cwd, "actor", "add", "--id", actor_id, "--role", role, "--jurisdiction", code, "--name", name, env=env)
        assert added.returncode == 0, added.stderr
    if example is not None:
        imported = cli(cwd, "import", "--sign", str(example), env=env)
        assert imported.returncode == 0, imported.stderr
    return cwd


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across the test processes (pytest-xdist's workers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_id(templates: Path) -> str:
    """The test run's mark in its template databases' names (its templates folder is its own)."""
    return hashlib.sha256(str(templates.resolve()).encode()).hexdigest()[:10]


def _template_db_name(template: Path) -> str:
    assert TEMPLATES is not None
    return f"{TEMPLATE_DB_PREFIX}{run_id(TEMPLATES)}_{template.name}"


def _template(key: str, actors: list[tuple[str, str, str, str]], example: Path | None, postgres: bool) -> Path:  # fmt: skip
    """The folder of the ledger ``key``, built by the first process that needs it, under a lock."""
    assert TEMPLATES is not None
    template = TEMPLATES / key
    with _locked(TEMPLATES / f"{key}.lock"):
        if not (template / "built").exists():
            shutil.rmtree(template, ignore_errors=True)  # a build that failed half-way
            template.mkdir(parents=True)
            env = None
            if postgres:
                import psycopg

                from support.pg import PG_ADMIN, require_postgres

                require_postgres()
                name = _template_db_name(template)
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    conn.execute(f'CREATE DATABASE "{name}"')
                env = {"LEDGER_DB": f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"}
            build_ledger(template, actors, example=example, env=env)
            (template / "built").touch()
    return template


def _copy_pg_database(template: str, url: str) -> None:
    """Replace the (new, unused) database of ``url`` by a copy of ``template``."""
    import psycopg

    from support.pg import PG_ADMIN

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def drop_template_databases(templates: Path) -> None:
    """Drop the template databases of the run whose templates folder is ``templates``."""
    import psycopg

    from support.pg import PG_ADMIN

    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            names = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s",
                                 (f"{TEMPLATE_DB_PREFIX}{run_id(templates)}_%",)).fetchall()  # fmt: skip
            for (name,) in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.OperationalError:
        pass  # no server: no template database was made either
