"""Faults with real processes: ``kill -9`` at random moments of ``import``, ``rebuild`` and
checkpoint signing, on SQLite and PostgreSQL (issue 12, item 4).

Each kill point copies a prepared ledger (SQLite: the online backup API; PostgreSQL:
``CREATE DATABASE … TEMPLATE``) with its keystore, runs the real command (``python -m api``) in
its own process group, and sends SIGKILL to the group after a delay drawn from a seeded RNG,
stratified over the command's measured run time (so the points cover start-up, the appends,
the projection catch-up and the final checkpoint). After the kill:

- no partial event: the leaves are gapless, each leaf has its domain event and each event its
  leaf, every vault row belongs to a recorded labourer, SQLite's ``PRAGMA integrity_check`` is ok;
- ``verify`` exits 0 (and ``verify --projections`` too, when that option exists);
- the command is re-run: a re-import reports ``duplicate`` exactly for the lines already in and
  ``accepted`` for the rest (one envelope, one leaf); a resumed catch-up after a killed rebuild
  gives the rows of a rebuild from scratch; ``checkpoint`` signs the missing checkpoint.

"Recovery" is the wall time of that re-run. ``serve`` is not covered (it does not exist yet).

    python benchmarks/bench_faults.py [--backend sqlite|postgres|both] [--points 100] [--lines N]
                                      [--seed 12] [--json]

The test suite runs a bounded sample through the same functions
(``tests/integration/test_faults_kill.py``); the figures are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import PG_ADMIN  # noqa: E402

COMMANDS = ("import", "rebuild", "checkpoint")
EXTRA = 20  # leaves appended to the full template after its last checkpoint (for `checkpoint`)


def cli_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update(LEDGER_LANG="en", LEDGER_CHECKPOINT_INTERVAL="0")
    return env


def cli(db: Ledgerish, *args: str, timeout: float = 300, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run ``subsidy-ledger --db … --keys … ARGS`` to completion."""
    return subprocess.run([sys.executable, "-m", "api", "--db", db.url, "--keys", str(db.keys), *args],
                          capture_output=True, text=True, env=cli_env(), timeout=timeout, **popen)  # fmt: skip


# --- databases --------------------------------------------------------------------------------------------
class Databases:
    """Ledger databases of one backend, dropped together: files in ``folder`` or PostgreSQL databases."""

    def __init__(self, backend: str, folder: Path, admin: str = PG_ADMIN, prefix: str = "ledger_faults_"):
        self.backend, self.folder, self.admin, self.prefix = backend, folder, admin, prefix
        self.names: list[str] = []

    def new(self, template: str | None = None) -> str:
        """An empty database, or a copy of ``template`` (a URL this object made)."""
        name = self.prefix + uuid.uuid4().hex[:12]
        if self.backend == "sqlite":
            path = self.folder / f"{name}.db"
            if template is not None:
                with sqlite3.connect(template.removeprefix("sqlite:///")) as src, sqlite3.connect(path) as dst:
                    src.backup(dst)
                src.close()
                dst.close()
            return f"sqlite:///{path}"
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            if template is None:
                conn.execute(f'CREATE DATABASE "{name}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.rsplit("/", 1)[1]}"')
        self.names.append(name)
        return self.admin.rsplit("/", 1)[0] + "/" + name

    def drop(self, url: str) -> None:
        if self.backend == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for stale in path.parent.glob(path.name + "*"):
                stale.unlink()
            return
        name = url.rsplit("/", 1)[1]
        _drop(self.admin, name)
        self.names.remove(name)

    def drop_all(self) -> None:
        for name in list(self.names):
            _drop(self.admin, name)
        self.names.clear()


def _drop(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Ledgerish:
    """A ledger database and its keystore folder."""

    url: str
    keys: Path
    size: int = 0  # leaves when it was made


@dataclass
class Templates:
    """Prepared ledgers to copy for each kill point, and the file the imports read."""

    actors: Ledgerish  # genesis and the simulator's actors, nothing else
    full: Ledgerish  # the file imported, projected, then EXTRA leaves after the last checkpoint
    lines_file: Path
    lines: int


def simulated_intents(count: int) -> list[str]:
    """``count`` intent lines (JSON) of the simulator's small season, for ``import --sign``."""
    from simulator import simulate

    out: list[str] = []
    for intent in simulate("small", seed=7, misuse_rate=0.0).intents():
        if "key_of" not in intent:  # a revocation names its key only once signed
            out.append(json.dumps(intent, ensure_ascii=False))
            if len(out) == count:
                break
    return out


def prepare(dbs: Databases, folder: Path, lines: int) -> Templates:
    """The two templates and the JSONL file of ``lines`` intents (lines beyond go to EXTRA)."""
    from ledger.application import Item
    from ledger.keys.signing import parse_line
    from ledger.service import Session
    from projections.db import dispose_engines
    from projections.runner.catchup import catch_up
    from simulator import simulate

    intents = simulated_intents(lines + EXTRA)
    if len(intents) < lines + EXTRA:
        raise SystemExit(f"the small simulation has only {len(intents)} intents")
    lines_file = folder / "intents.jsonl"
    lines_file.write_text("\n".join(intents[:lines]) + "\n", encoding="utf-8")
    actors = Ledgerish(dbs.new(), folder / "keys-actors")
    session = Session.open(actors.url, actors.keys)
    session.checkpoint_interval = 0
    session.init()
    for a in simulate("small", seed=7, misuse_rate=0.0).actors:
        session.add_actor(a.actor_id, a.role, a.jurisdiction, a.name, None, a.uscc)
    actors.size = session.ledger.size()
    session.close()
    full = copy(dbs, actors, folder / "keys-full")
    session = Session.open(full.url, full.keys)
    bad = [o for _, o in session.import_lines(intents[:lines], sign=True) if o.status != "accepted"]
    if bad:
        raise SystemExit(f"the template import refused lines: {bad[:2]}")
    catch_up(session.ledger)
    signer = session.signer()
    extra = [parse_line(text, signer) for text in intents[lines:]]
    assert all(isinstance(i, Item) for i in extra)
    session.ledger.append(extra)  # after the last checkpoint, on purpose
    full.size = session.ledger.size()
    session.close()
    dispose_engines()
    return Templates(actors, full, lines_file, lines)


def copy(dbs: Databases, template: Ledgerish, keys: Path | None = None) -> Ledgerish:
    keys = keys or template.keys.parent / ("keys-" + uuid.uuid4().hex[:8])
    shutil.copytree(template.keys, keys)
    return Ledgerish(dbs.new(template.url), keys, template.size)


def discard(dbs: Databases, db: Ledgerish) -> None:
    from projections.db import dispose_engines

    dispose_engines()
    dbs.drop(db.url)
    shutil.rmtree(db.keys, ignore_errors=True)


# --- the kill ---------------------------------------------------------------------------------------------
def run_killed(db: Ledgerish, args: list[str], delay: float, log: Path) -> tuple[int | None, float]:
    """Start the command, SIGKILL its whole process group after ``delay`` s.

    Returns its exit status (None: it was killed) and the seconds it ran.
    """
    started = time.perf_counter()
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "api", "--db", db.url, "--keys", str(db.keys), *args],
                                stdout=subprocess.DEVNULL, stderr=err, env=cli_env(), start_new_session=True)  # fmt: skip
        try:
            return proc.wait(timeout=delay), time.perf_counter() - started
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            return None, time.perf_counter() - started


def stratified(rng: random.Random, points: int) -> list[float]:
    """``points`` fractions of a run in (0, 1): one uniformly inside each of ``points`` equal slices."""
    return [(i + rng.random()) / points for i in range(points)]


# --- checks after a fault -----------------------------------------------------------------------------------
def log_problems(url: str) -> list[str]:
    """What would make a partial event: a gap, a leaf without its event or the reverse, a stray vault row."""
    from ledger.application import Ledger

    problems: list[str] = []
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        conn.close()
        if result != "ok":
            problems.append(f"integrity_check: {result}")
    ledger = Ledger.open(url)
    try:
        q = ledger.sql.one
        table = getattr(ledger.recorder, "events_table_name", "stored_events")
        leaves, top = q("SELECT COUNT(*), COALESCE(MAX(seq) + 1, 0) FROM ledger_leaves") or (0, 0)
        events = (q(f"SELECT COUNT(*) FROM {table}") or (0,))[0]
        if leaves != top:
            problems.append(f"{leaves} leaves but the highest seq is {top - 1}: a gap")
        if events != leaves:
            problems.append(f"{events} domain events for {leaves} leaves")
        key = "l.originator_id::uuid" if ledger.sql.postgres else "l.originator_id"
        orphans = q(
            f"SELECT COUNT(*) FROM ledger_leaves l LEFT JOIN {table} e ON e.originator_id = {key}"
            " AND e.originator_version = l.originator_version WHERE e.originator_id IS NULL"
        )
        if orphans and orphans[0]:
            problems.append(f"{orphans[0]} leaves without their domain event")
        registered = ledger.sql.all("SELECT leaf FROM ledger_leaves WHERE type = 'LaborerRegistered'")
        ids = {json.loads(bytes(r[0]))["envelope"]["body"]["laborer_id"] for r in registered}
        stray = {str(r[0]) for r in ledger.sql.all("SELECT subject_id FROM pii_vault")} - ids
        if stray:
            problems.append(f"{len(stray)} vault rows of labourers never recorded")
    finally:
        ledger.close()
    return problems


def has_option(verb: str, option: str) -> bool:
    """Whether the CLI has grown ``option`` on ``verb`` (e.g. ``verify --projections``)."""
    from typer.main import get_command

    from api.cli import app

    command = get_command(app)
    sub = command.commands.get(verb) if hasattr(command, "commands") else None
    return sub is not None and any(option in p.opts for p in sub.params)


def verify_problems(db: Ledgerish) -> list[str]:
    """``verify`` exits 0 — as ``verify --projections`` (the log, then every projection table) once it exists."""
    args = ["verify", "--projections"] if has_option("verify", "--projections") else ["verify"]
    done = cli(db, *args)
    return [] if done.returncode == 0 else [f"{' '.join(args)} exit {done.returncode}: {done.stderr.strip()[-300:]}"]


def one_line_error(done: subprocess.CompletedProcess[str] | tuple[int | None, str], status: int = 2) -> list[str]:
    """Exit ``status``, no traceback, and exactly one error line (progress and the summary may precede it)."""
    rc, err = (done.returncode, done.stderr) if isinstance(done, subprocess.CompletedProcess) else done
    problems = []
    if rc != status:
        problems.append(f"exit {rc}, not {status}")
    errors = [x for x in err.splitlines() if x.startswith("error:")]  # cli_env() chooses English
    if "Traceback" in err or len(errors) != 1:
        problems.append(f"not one error line: {err.strip()[-500:]!r}")
    elif "internal error" in errors[0]:  # a known operational fault must not read as a bug
        problems.append(f"reported as an internal error: {errors[0]!r}")
    return problems


def reimport_problems(db: Ledgerish, templates: Templates, before: int) -> list[str]:
    """Re-import: ``duplicate`` for the lines already in (a prefix), ``accepted`` for the rest."""
    done = cli(db, "import", "--sign", "--json", str(templates.lines_file))
    if done.returncode != 0:
        return [f"re-import exit {done.returncode}: {done.stderr.strip()[-300:]}"]
    statuses = [json.loads(x)["status"] for x in done.stdout.splitlines()]
    already = before - db.size
    expected = ["duplicate"] * already + ["accepted"] * (templates.lines - already)
    if statuses != expected:
        return [f"re-import gave {Counter(statuses)}, expected {already} duplicates then accepted"]
    return []


def checkpoint_problems(url: str) -> list[str]:
    """After a completed re-run the latest checkpoint covers the whole log (none left unsigned)."""
    from ledger.application import Ledger

    ledger = Ledger.open(url)
    try:
        latest, size = ledger.latest_checkpoint(), ledger.size()
    finally:
        ledger.close()
    covered = None if latest is None else latest.size
    return [] if covered == size else [f"the latest checkpoint covers {covered} of {size} leaves"]


def heal_problems(db: Ledgerish, templates: Templates) -> list[str]:
    """When a fault left leaves no checkpoint covers, the next writing command signs that checkpoint first.

    ``submit`` of the file's first line (a duplicate, so it appends nothing and signs nothing of
    its own) must leave the whole log under a checkpoint. Nothing to check if none is missing.
    """
    if not checkpoint_problems(db.url):
        return []
    first = templates.lines_file.with_name("first-line.json")
    first.write_text(templates.lines_file.read_text(encoding="utf-8").splitlines()[0], encoding="utf-8")
    done = cli(db, "submit", str(first))
    if done.returncode != 0:
        return [f"submit after the fault: exit {done.returncode}: {done.stderr.strip()[-300:]}"]
    return [f"not healed by the next command: {p}" for p in checkpoint_problems(db.url)]


def size_of(url: str) -> int:
    from ledger.application import Ledger

    ledger = Ledger.open(url)
    try:
        return ledger.size()
    finally:
        ledger.close()


@dataclass
class Point:
    command: str
    backend: str
    delay: float
    landed: str
    recovery: float
    problems: list[str] = field(default_factory=list)
    ran: float = 0.0  # seconds the command ran before it was killed (or finished)


def kill_import(dbs: Databases, templates: Templates, delay: float, work: Path, thorough: bool = True) -> Point:
    db = copy(dbs, templates.actors)
    try:
        rc, ran = run_killed(db, ["import", "--sign", str(templates.lines_file)], delay, work / "stderr.txt")
        after = size_of(db.url)
        appended = after - db.size
        landed = ("finished" if rc is not None else "before any append" if appended == 0
                  else "mid-append" if appended < templates.lines else "after the appends")  # fmt: skip
        problems = [] if rc in (None, 0) else [f"the import exited {rc}"]
        problems += log_problems(db.url) + verify_problems(db) + heal_problems(db, templates)
        started = time.perf_counter()
        problems += reimport_problems(db, templates, after)
        recovery = time.perf_counter() - started
        if size_of(db.url) != db.size + templates.lines:
            problems.append("after the re-import the log does not hold each line exactly once")
        problems += checkpoint_problems(db.url)
        if thorough:  # the re-imported log verifies, and the projection caught up equals a rebuild
            problems += log_problems(db.url) + verify_problems(db) + projection_problems(db.url)
        return Point("import", dbs.backend, delay, landed, recovery, problems, ran)
    finally:
        discard(dbs, db)


def projection_problems(url: str, timing: list[float] | None = None) -> list[str]:
    """Catch the projections up (what the next command does), then compare with a rebuild from scratch.

    The catch-up's seconds are appended to ``timing``.
    """
    from ledger.application import Ledger
    from projections import tables as T
    from projections.db import dispose_engines, engine_for
    from projections.runner.catchup import catch_up, rebuild

    ledger = Ledger.open(url)
    try:
        started = time.perf_counter()
        catch_up(ledger)
        if timing is not None:
            timing.append(time.perf_counter() - started)
        with engine_for(ledger).connect() as conn:
            resumed = T.dump(conn)
        rebuild(ledger)
        with engine_for(ledger).connect() as conn:
            same = T.dump(conn) == resumed
        return [] if same else ["the resumed projection differs from a rebuild from scratch"]
    finally:
        ledger.close()
        dispose_engines()


def projection_position(url: str) -> int:
    from ledger.application import Ledger
    from projections.db import dispose_engines, engine_for
    from projections.runner.catchup import position

    ledger = Ledger.open(url)
    try:
        return position(engine_for(ledger))
    finally:
        ledger.close()
        dispose_engines()


def kill_rebuild(dbs: Databases, templates: Templates, delay: float, work: Path, thorough: bool = True) -> Point:
    db = copy(dbs, templates.full)
    try:
        rc, ran = run_killed(db, ["rebuild"], delay, work / "stderr.txt")
        problems = [] if rc in (None, 0) else [f"the rebuild exited {rc}"]
        at = projection_position(db.url)  # the template's projection stops EXTRA leaves short
        landed = ("finished" if rc is not None else "before the reset" if at == db.size - EXTRA
                  else "at the reset" if at == 0 else "mid-replay" if at < db.size else "replay done")  # fmt: skip
        problems += log_problems(db.url) + verify_problems(db)
        timing: list[float] = []
        problems += projection_problems(db.url, timing)  # the catch-up, then the comparison
        recovery = timing[0] if timing else float("nan")
        return Point("rebuild", dbs.backend, delay, landed, recovery, problems, ran)
    finally:
        discard(dbs, db)


def kill_checkpoint(dbs: Databases, templates: Templates, delay: float, work: Path, thorough: bool = True) -> Point:
    from ledger.application import Ledger

    def latest() -> int:
        ledger = Ledger.open(db.url)
        try:
            found = ledger.latest_checkpoint()
            return -1 if found is None else found.size
        finally:
            ledger.close()

    db = copy(dbs, templates.full)
    try:
        rc, ran = run_killed(db, ["checkpoint"], delay, work / "stderr.txt")
        landed = "finished" if rc is not None else "signed" if latest() == db.size else "not signed yet"
        problems = [] if rc in (None, 0) else [f"checkpoint exited {rc}"]
        problems += log_problems(db.url) + verify_problems(db)
        started = time.perf_counter()
        done = cli(db, "checkpoint")
        recovery = time.perf_counter() - started
        if done.returncode != 0 or latest() != db.size:
            problems.append(f"checkpoint after the kill: exit {done.returncode}, latest {latest()}")
        if thorough:
            problems += verify_problems(db)
        return Point("checkpoint", dbs.backend, delay, landed, recovery, problems, ran)
    finally:
        discard(dbs, db)


KILLERS: dict[str, Callable[..., Point]] = {
    "import": kill_import, "rebuild": kill_rebuild, "checkpoint": kill_checkpoint,
}  # fmt: skip


def calibrate(dbs: Databases, templates: Templates, command: str) -> float:
    """Seconds one uninterrupted run of ``command`` takes here (the span the kills are spread over)."""
    source = templates.actors if command == "import" else templates.full
    db = copy(dbs, source)
    try:
        args = {"import": ["import", "--sign", str(templates.lines_file)], "rebuild": ["rebuild"],
                "checkpoint": ["checkpoint"]}[command]  # fmt: skip
        started = time.perf_counter()
        done = cli(db, *args)
        if done.returncode != 0:
            raise RuntimeError(f"{command} failed without a fault: {done.stderr.strip()[-300:]}")
        return time.perf_counter() - started
    finally:
        discard(dbs, db)


def campaign(dbs: Databases, templates: Templates, plan: dict[str, int], seed: int, work: Path,
             report: Callable[[Point], None] | None = None, thorough: bool = True,
             attempts: int = 3) -> list[Point]:  # fmt: skip
    """``plan[command]`` kill points per command, their delays stratified over a measured run.

    Not ``thorough``: skip the second ``verify`` after the re-run and the import's projection
    comparison (the test suite's bounded sample; the campaign does every check). A command that
    finished before its kill is tried again (up to ``attempts`` runs) with the delay rescaled to
    the run it just made: the machine's load changes the run time between calibration and kill.
    """
    rng = random.Random(seed)
    points: list[Point] = []
    for command, count in plan.items():
        if not count:
            continue
        span = calibrate(dbs, templates, command)
        for fraction in stratified(rng, count):
            for _ in range(attempts):
                point = KILLERS[command](dbs, templates, fraction * span, work, thorough)
                if point.landed != "finished":
                    break
                span = point.ran  # the machine got faster than the calibration: spread over today's run
            points.append(point)
            if report is not None:
                report(point)
    return points


# --- PostgreSQL lost mid-load: a private server -------------------------------------------------------------
def find_pg_bin(program: str) -> str | None:
    found = shutil.which(program)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"))
    return str(candidates[-1]) if candidates else None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A throw-away PostgreSQL cluster in a temp folder, on its own port (never the shared server)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.sockets = folder / "sockets"
        self.port = free_port()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
            shutil.chown(folder, "postgres", "postgres")
        self.sockets.mkdir()
        if self.as_postgres:
            shutil.chown(self.sockets, "postgres", "postgres")

    @property
    def admin(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self.as_postgres, *args], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}")

    def initdb(self) -> None:
        initdb = find_pg_bin("initdb")
        if initdb is None:
            raise FileNotFoundError("initdb")
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(find_pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "server.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(find_pg_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a private cluster; stop it and delete its folder whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-private-pg-"))
    server = PrivatePostgres(folder)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        if server.running():
            with suppress(RuntimeError, subprocess.TimeoutExpired):
                server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def postgres_lost_mid_import(lines: int, work: Path) -> dict[str, Any]:
    """Import into a private server, stop it (immediate) once leaves arrive, restart, re-import."""
    import psycopg

    with private_postgres() as server:
        dbs = Databases("postgres", work, admin=server.admin)
        templates = prepare(dbs, work, lines)
        db = copy(dbs, templates.actors)
        out: dict[str, Any] = {"problems": []}
        from ledger.application import Ledger

        opened = Ledger.open(db.url)  # a ledger already open when the server goes (a long-lived process)
        opened.size()
        with subprocess.Popen([sys.executable, "-m", "api", "--db", db.url, "--keys", str(db.keys),
                               "import", "--sign", str(templates.lines_file)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True, env=cli_env(), start_new_session=True) as proc:  # fmt: skip
            try:
                with psycopg.connect(db.url, autocommit=True) as conn:
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline and proc.poll() is None:
                        row = conn.execute("SELECT COUNT(*) FROM ledger_leaves").fetchone()
                        if row and row[0] > db.size:
                            break
                        time.sleep(0.01)
                server.stop("immediate")
                out["problems"] += open_ledger_problems(opened)
                err = proc.communicate(timeout=120)[1]
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
        out["client"] = {"exit": proc.returncode, "stderr": err.strip()}
        out["problems"] += one_line_error((proc.returncode, err))
        server.start()
        after = size_of(db.url)
        out["appended_before_loss"] = after - db.size
        out["problems"] += log_problems(db.url) + verify_problems(db) + heal_problems(db, templates)
        started = time.perf_counter()
        out["problems"] += reimport_problems(db, templates, after)
        out["recovery_s"] = time.perf_counter() - started
        if size_of(db.url) != db.size + lines:
            out["problems"].append("after the retry the log does not hold each envelope exactly once")
        out["problems"] += checkpoint_problems(db.url)
        out["problems"] += log_problems(db.url) + verify_problems(db)
        from projections.db import dispose_engines

        dispose_engines()
        return out


def open_ledger_problems(ledger: Any) -> list[str]:
    """A read on a ledger whose server went away raises the ledger's OperationalError ("database error")."""
    from ledger.errors import OperationalError

    try:
        ledger.size()
    except OperationalError as exc:
        return [] if str(exc).startswith("database error:") else [f"lost server: {exc}"]
    except Exception as exc:  # what the CLI would call an internal error
        return [f"lost server under a read: {type(exc).__module__}.{type(exc).__name__}, not OperationalError"]
    finally:
        ledger.close()
    return ["a read succeeded on a stopped server"]


# --- SQLite on a full disk: a file-size limit for the child -------------------------------------------------
def _limit_file_size(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def sqlite_disk_full(lines: int, work: Path, headroom: int = 1 << 20) -> dict[str, Any]:
    """Import with files capped at the database's size + ``headroom`` bytes, then lift the cap."""
    dbs = Databases("sqlite", work)
    templates = prepare(dbs, work, lines)
    db = copy(dbs, templates.actors)
    path = Path(db.url.removeprefix("sqlite:///"))
    limit = path.stat().st_size + headroom
    done = cli(db, "import", "--sign", str(templates.lines_file), preexec_fn=_limit_file_size(limit))
    out: dict[str, Any] = {"client": {"exit": done.returncode, "stderr": done.stderr.strip()}, "limit": limit}
    out["problems"] = one_line_error(done)
    after = size_of(db.url)
    out["appended_before_full"] = after - db.size
    out["problems"] += log_problems(db.url) + verify_problems(db) + heal_problems(db, templates)
    out["problems"] += reimport_problems(db, templates, after)
    if size_of(db.url) != db.size + lines:
        out["problems"].append("after the re-import the log does not hold each envelope exactly once")
    out["problems"] += checkpoint_problems(db.url)
    out["problems"] += log_problems(db.url) + verify_problems(db)
    return out


# --- the campaign ---------------------------------------------------------------------------------------------
def summarise(points: list[Point]) -> dict[str, Any]:
    rows = []
    for command in COMMANDS:
        for backend in ("sqlite", "postgres"):
            mine = [p for p in points if p.command == command and p.backend == backend]
            if mine:
                rows.append({
                    "command": command, "backend": backend, "kill_points": len(mine),
                    "landed": dict(Counter(p.landed for p in mine)),
                    "failures": sum(1 for p in mine if p.problems),
                    "median_recovery_s": round(statistics.median(p.recovery for p in mine), 2),
                })  # fmt: skip
    return {
        "kill_points": sum(1 for p in points if p.landed != "finished"),
        "finished_before_the_kill": sum(1 for p in points if p.landed == "finished"),
        "mid_append": sum(1 for p in points if p.landed == "mid-append"),
        "failures": sum(1 for p in points if p.problems),
        "rows": rows,
        "problems": [{"command": p.command, "backend": p.backend, "delay": p.delay, "problems": p.problems}
                     for p in points if p.problems],  # fmt: skip
    }


def split(total: int, backends: list[str]) -> dict[str, dict[str, int]]:
    """Half the points on import, a quarter each on rebuild and checkpoint, shared by the backends."""
    shares = {"import": total // 2, "rebuild": total // 4}
    shares["checkpoint"] = total - shares["import"] - shares["rebuild"]
    plans: dict[str, dict[str, int]] = {b: {} for b in backends}
    for command, count in shares.items():
        for i, backend in enumerate(backends):
            plans[backend][command] = count // len(backends) + (1 if i < count % len(backends) else 0)
    return plans


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--points", type=int, default=100, help="kill points in all (split over commands and backends)")
    parser.add_argument("--lines", type=int, default=5000, help="lines of the imported file")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--no-server-faults", action="store_true", help="skip the private-server and full-disk runs")
    parser.add_argument("--json", action="store_true")
    return parser


def main() -> None:
    from common import backends

    args = arguments().parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped campaign still drops its databases
    chosen = backends(args.backend)
    points: list[Point] = []
    extra: dict[str, Any] = {}
    started = time.perf_counter()

    def say(point: Point) -> None:
        if not args.json:
            mark = "FAIL " + "; ".join(point.problems) if point.problems else "ok"
            print(f"  {point.backend:<8} {point.command:<10} kill at {point.delay:5.2f} s: {point.landed:<18}"
                  f" recovery {point.recovery:5.2f} s  {mark}", flush=True)  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp_name:
        for backend, plan in split(args.points, chosen).items():
            work = Path(tmp_name) / backend
            work.mkdir()
            dbs = Databases(backend, work)
            try:
                templates = prepare(dbs, work, args.lines)
                points += campaign(dbs, templates, plan, args.seed, work, say)
            finally:
                dbs.drop_all()
        if not args.no_server_faults:
            if "postgres" in chosen:
                (Path(tmp_name) / "lost").mkdir()
                extra["postgres_lost"] = postgres_lost_mid_import(args.lines, Path(tmp_name) / "lost")
            if "sqlite" in chosen:
                (Path(tmp_name) / "full").mkdir()
                extra["sqlite_disk_full"] = sqlite_disk_full(args.lines, Path(tmp_name) / "full")
    result = {**summarise(points), **extra, "lines": args.lines, "seed": args.seed,
              "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    print(f"kill points {result['kill_points']}, landed mid-append {result['mid_append']}, "
          f"failures found {result['failures']} (must be 0), {result['seconds']} s")  # fmt: skip
    for row in result["rows"]:
        print(f"  {row['command']:<10} {row['backend']:<8} points {row['kill_points']:>3}  failures {row['failures']}"
              f"  median recovery {row['median_recovery_s']:.2f} s  landed {row['landed']}")  # fmt: skip
    for name, value in extra.items():
        print(f"  {name}: {json.dumps(value, ensure_ascii=False)}")


if __name__ == "__main__":
    main()
