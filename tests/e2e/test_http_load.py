"""``serve --workers 2`` on PostgreSQL under load from real client processes (issue 13).

Four client processes, each holding only its own organisation's key, sign envelopes locally and
post them over keep-alive HTTP at the same time, so the two workers append concurrently through
the ledger's optimistic append. Then the log must be gapless, hold every accepted envelope exactly
once at the seq its 201 named, verify, and have its projections followed without any read. A
second round sends SIGTERM to the server while the clients are still posting: no envelope that
got its 201 may be missing afterwards, and the final checkpoint must cover the whole log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import cli
from support.http import free_port, stop_server
from support.pg import pg_database

pytestmark = pytest.mark.postgres

COUNTIES = ("640402", "640422", "640423", "640424")

# One client process: its own key only, its envelopes signed here, one keep-alive connection.
# Writes one line per answer (flushed at once), so what a killed server accepted is known.
CLIENT = r"""
import json, sys, httpx
from ledger.domain.envelope import sign_envelope
from ledger.keys.keystore import Keystore

url, keys, actor, county, round_, count, out = sys.argv[1:]
key = Keystore(keys).actor_key(actor)
with open(out, "w") as answers, httpx.Client(base_url=url, timeout=30) as client:
    for n in range(int(count)):
        nonce = f"load-{round_}-{actor}-{n:05d}"
        body = {"fund_id": f"F-LOAD-{round_}-{county}-{n:05d}", "jurisdiction": county, "source": "central",
                "purpose": "training", "year": 2019, "amount_fen": 100000 + n}
        unsigned = {"type": "FundAllocated", "actor": actor, "at": "2019-06-10T10:00:00+08:00", "nonce": nonce,
                    "body": body}
        envelope = sign_envelope(unsigned, key)
        for attempt in range(1 if n % 10 else 2):  # every tenth envelope is sent twice: a duplicate
            try:
                got = client.post("/v1/events", json=envelope)
            except httpx.TransportError as exc:
                answers.write(json.dumps({"nonce": nonce, "status": "unreachable"}) + "\n")
                sys.exit(0)
            doc = got.json() if got.headers.get("content-type", "").endswith("json") else {}
            answers.write(json.dumps({"nonce": nonce, "http": got.status_code, **doc}) + "\n")
            answers.flush()
"""


_STARTED: list[subprocess.Popen[bytes]] = []  # every server a test started, stopped at its teardown if still up


@pytest.fixture(autouse=True)
def _no_server_left() -> Iterator[None]:
    """A test that fails half-way leaves no ``serve`` (supervisor and workers) running after it."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)


def _serve(tmp_path: Path, url: str, port: int, log: Path, wait: float = 120) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api", "--db", url, "serve", "--workers", "2", "--port", str(port)],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "1"},
        )  # fmt: skip
    _STARTED.append(proc)
    deadline = time.monotonic() + wait
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() >= deadline:
            proc.terminate()  # no server left behind by a failed start
            proc.wait(timeout=30)
            raise AssertionError(log.read_text())
        time.sleep(0.1)


def _clients(tmp_path: Path, port: int, round_: str, count: int) -> list[tuple[subprocess.Popen[bytes], Path]]:
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    started = []
    for county in COUNTIES:
        out = tmp_path / f"answers-{round_}-{county}.jsonl"
        proc = subprocess.Popen([sys.executable, str(script), f"http://127.0.0.1:{port}", str(tmp_path / "keys"),
                                 f"fin-{county}", county, round_, str(count), str(out)])  # fmt: skip
        started.append((proc, out))
    return started


def _answers(clients: list[tuple[subprocess.Popen[bytes], Path]]) -> list[dict[str, object]]:
    found = []
    for proc, out in clients:
        assert proc.wait(timeout=60) == 0
        found += [json.loads(line) for line in out.read_text().splitlines()]
    return found


def _projected(url: str) -> tuple[int, int]:
    """(log size, projected position) read straight from the database: no request catches up."""
    from ledger.application import Ledger
    from projections.db import engine_for
    from projections.runner.catchup import position

    ledger = Ledger.open(url)
    try:
        return ledger.size(), position(engine_for(ledger))
    finally:
        ledger.close()


def _moment(signed_at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(signed_at.replace("Z", "+00:00"))


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


def _ledger_of_bureaus(folder: Path, pg_url: str) -> tuple[str, str]:
    """A new ledger on ``pg_url`` (keystore in ``folder``) with one finance bureau per county; its ``--db`` option."""
    db = ("--db", pg_url)
    assert cli(folder, *db, "init").returncode == 0
    for county in COUNTIES:
        added = cli(folder, *db, "actor", "add", "--id", f"fin-{county}", "--role", "finance_bureau",
                    "--jurisdiction", county, "--name", f"财政局 {county}")  # fmt: skip
        assert added.returncode == 0, added.stderr
    return db


def test_two_workers_append_from_four_client_processes_and_sigterm_loses_nothing(tmp_path: Path, pg_url: str) -> None:
    db = _ledger_of_bureaus(tmp_path, pg_url)
    log = tmp_path / "serve.log"

    # Round 1: every envelope accepted once, its duplicate answered with the same seq.
    serving_from = dt.datetime.now(dt.UTC)
    port = free_port()
    server = _serve(tmp_path, pg_url, port, log)
    answers = _answers(_clients(tmp_path, port, "a", 60))
    accepted = {a["nonce"]: a["seq"] for a in answers if a["http"] == 201}
    assert len(accepted) == 4 * 60, [a for a in answers if a["http"] not in (200, 201)][:3]
    duplicates = [a for a in answers if a["http"] == 200]
    assert len(duplicates) == 4 * 6 and all(d["status"] == "duplicate" and d["seq"] == accepted[d["nonce"]]
                                            for d in duplicates)  # fmt: skip
    # The projections follow in the background: no read has asked them to.
    deadline = time.monotonic() + 5
    while (state := _projected(pg_url))[1] < state[0]:
        assert time.monotonic() < deadline, f"projections still behind: {state}"
        time.sleep(0.1)

    # Round 2: SIGTERM while four clients are posting.
    clients = _clients(tmp_path, port, "b", 400)
    first_round = _projected(pg_url)[0]
    deadline = time.monotonic() + 60  # the clients' start is slow on a loaded machine: wait for their writes
    while _projected(pg_url)[0] < first_round + 20:
        assert time.monotonic() < deadline, "the second round's clients wrote nothing in 60 s"
        time.sleep(0.1)
    stopped_at = dt.datetime.now(dt.UTC)
    stop_server(server, log)
    answers += _answers(clients)
    for a in answers:
        if a.get("http") == 201:
            accepted[str(a["nonce"])] = a["seq"]
    assert len(accepted) > 4 * 60, "no envelope of the second round was accepted before SIGTERM"

    leaves = [json.loads(line) for line in cli(tmp_path, *db, "log", "--json").stdout.splitlines()]
    assert [leaf["seq"] for leaf in leaves] == list(range(len(leaves)))  # gapless
    nonces = [leaf["envelope"]["nonce"] for leaf in leaves]
    assert len(nonces) == len(set(nonces))  # each envelope exactly once
    at = {leaf["envelope"]["nonce"]: leaf["seq"] for leaf in leaves}
    assert all(at.get(nonce) == seq for nonce, seq in accepted.items())  # every 201 is in the log, at its seq
    checked = cli(tmp_path, *db, "verify")
    assert checked.returncode == 0, checked.stderr
    from ledger.application import Ledger

    ledger = Ledger.open(pg_url)
    try:
        final = ledger.latest_checkpoint()
        assert final is not None and final.size == len(leaves)  # the shutdown signed over every leaf
        # While writes arrived (before SIGTERM) the operator signed at most once a second across
        # both workers; each worker's shutdown then signs once more.
        moments = sorted(t for t in (_moment(c.signed_at) for c in ledger.checkpoints()) if serving_from < t < stopped_at)
        gaps = [(b - a).total_seconds() for a, b in zip(moments, moments[1:], strict=False)]
        assert len(moments) >= 2 and min(gaps) >= 0.95, gaps
    finally:
        ledger.close()


def test_a_monitor_and_a_witness_follow_the_load_and_catch_a_restored_copy(tmp_path: Path, pg_url: str) -> None:
    """issue 13: while four client processes post to ``serve --workers 2``, a finance bureau's monitor
    (``verify --server``) and the city inspectors' witness (``checkpoint --cosign --server``) run again and
    again from their own key folders; each run passes and downloads only the new leaves. The database is
    then restored from a backup taken during the load: the monitor and the witness report the rollback."""
    db = ("--db", pg_url)
    assert cli(tmp_path, *db, "init").returncode == 0
    for actor, role, county in [*((f"fin-{c}", "finance_bureau", c) for c in COUNTIES), ("insp-640400", "inspector", "640400")]:
        added = cli(tmp_path, *db, "actor", "add", "--id", actor, "--role", role, "--jurisdiction", county, "--name", actor)
        assert added.returncode == 0, added.stderr
    operator = (tmp_path / "keys" / "operator.pub").read_text().strip()
    offices = {}
    for actor in ("fin-640422", "insp-640400"):  # each office holds its own key only
        home = tmp_path / f"office-{actor}"
        (home / "keys" / "actors").mkdir(parents=True)
        (home / "keys" / "actors" / f"{actor}.pem").write_bytes((tmp_path / "keys" / "actors" / f"{actor}.pem").read_bytes())
        offices[actor] = home

    def office(actor: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(offices[actor], "--server", url, "--keys", "keys", "--lang", "en", *args, "--operator-key", operator)

    log = tmp_path / "serve.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(tmp_path, pg_url, port, log)
    clients = _clients(tmp_path, port, "m", 150)
    monitored = witnessed = 0
    downloaded = []
    backup = tmp_path / "during-load.dump"
    while any(proc.poll() is None for proc, _ in clients) or monitored < 2:
        during = any(proc.poll() is None for proc, _ in clients)
        seen = office("fin-640422", url, "verify", "--json")
        assert seen.returncode == 0, seen.stderr
        downloaded.append(json.loads(seen.stdout)["downloaded"])
        cosigned = office("insp-640400", url, "checkpoint", "--cosign", "insp-640400")
        assert cosigned.returncode == 0, cosigned.stderr
        monitored, witnessed = monitored + during, witnessed + during
        if not backup.exists():  # a copy of the database as it stood during the load
            assert cli(tmp_path, *db, "backup", str(backup)).returncode == 0
    assert monitored >= 1 and witnessed >= 1, "no monitor run overlapped the load"
    answers = _answers(clients)
    assert len({a["nonce"] for a in answers if a["http"] == 201}) == 4 * 150, [a for a in answers if a.get("http") not in (200, 201)]
    size = _projected(pg_url)[0]
    deadline = time.monotonic() + 10
    while True:  # the operator signs over the last writes within a second
        final = office("fin-640422", url, "verify", "--json")
        assert final.returncode == 0, final.stderr
        doc = json.loads(final.stdout)
        downloaded.append(doc["downloaded"])
        if doc["size"] == size:
            break
        assert time.monotonic() < deadline, doc
        time.sleep(0.5)
    assert sum(downloaded) == size  # every leaf downloaded once, over all the runs
    stop_server(server, log)

    with pg_database() as restored:  # the operator "restores" the copy taken during the load
        done = cli(tmp_path, "--db", restored, "restore", str(backup), "--operator-key", operator)
        assert "Traceback" not in done.stderr
        assert _projected(restored)[0] < size
        port = free_port()
        server = _serve(tmp_path, restored, port, log)
        try:
            url = f"http://127.0.0.1:{port}"
            rolled = office("fin-640422", url, "verify")
            assert rolled.returncode == 1 and "rollback" in rolled.stderr, rolled.stderr
            refused = office("insp-640400", url, "checkpoint", "--cosign", "insp-640400")
            assert refused.returncode == 1 and "rollback" in refused.stderr, refused.stderr
        finally:
            stop_server(server, log)


def _children(server: subprocess.Popen[bytes]) -> list[int]:
    """The processes uvicorn's supervisor started for ``server``: its workers, and multiprocessing's helper."""
    found = []
    for task in Path(f"/proc/{server.pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _workers(server: subprocess.Popen[bytes]) -> list[int]:
    """The worker processes among them (spawned: ``spawn_main`` on their command line)."""
    found = []
    for pid in _children(server):
        with contextlib.suppress(FileNotFoundError):  # one that ended meanwhile
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return found


def test_serve_killed_under_load_loses_and_repeats_nothing(tmp_path: Path, pg_url: str) -> None:
    """Kill points (issue 13): SIGKILL one worker of ``serve --workers 2`` while four clients post, then the
    whole server (supervisor and workers, no shutdown at all). After a restart every envelope a client was
    told was accepted (201) is in the log exactly once at its seq, the log is gapless and ``verify`` passes.
    One kill of each kind at a moment the writes are known to be flowing (a bounded sample)."""
    import signal

    db = _ledger_of_bureaus(tmp_path, pg_url)
    log = tmp_path / "serve.log"
    port = free_port()
    server = _serve(tmp_path, pg_url, port, log)
    clients = _clients(tmp_path, port, "k", 300)

    def wait_writes(more: int) -> None:
        floor = _projected(pg_url)[0]
        deadline = time.monotonic() + 60
        while _projected(pg_url)[0] < floor + more:
            assert time.monotonic() < deadline, "the clients wrote nothing in 60 s"
            time.sleep(0.05)

    wait_writes(20)
    workers = _workers(server)
    assert len(workers) == 2, workers
    os.kill(workers[0], signal.SIGKILL)  # one worker, mid-request: its clients see a broken connection
    time.sleep(1)  # the clients on the other worker go on (those of the killed one stop)
    for pid in [server.pid, *_children(server)]:  # then the whole server at once
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.wait(timeout=30)
    answers = _answers(clients)  # each client stops at its first unreachable answer
    accepted = {str(a["nonce"]): a["seq"] for a in answers if a.get("http") == 201}
    assert len(accepted) >= 20

    server = _serve(tmp_path, pg_url, free_port(), log)  # the restart signs what the killed server left uncovered
    stop_server(server, log)
    leaves = [json.loads(line) for line in cli(tmp_path, *db, "log", "--json").stdout.splitlines()]
    assert [leaf["seq"] for leaf in leaves] == list(range(len(leaves)))  # gapless
    nonces = [leaf["envelope"]["nonce"] for leaf in leaves]
    assert len(nonces) == len(set(nonces))  # nothing twice
    at = {leaf["envelope"]["nonce"]: leaf["seq"] for leaf in leaves}
    assert all(at.get(nonce) == seq for nonce, seq in accepted.items())  # every 201 in the log, at its seq
    checked = cli(tmp_path, *db, "verify")
    assert checked.returncode == 0, checked.stderr
