"""``serve`` without ``--workers`` (issue 13): as many worker processes as the machine has cores on
PostgreSQL, one on SQLite (its one writer); each worker says so as it starts, and every one of them
answers signed-in reads."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections import defaultdict
from pathlib import Path

import httpx

from support.cli import cli, make_ledger
from support.http import serving, sign_in
from support.pg import pg_database
from support.xiji import ACTORS, EXAMPLE


def test_workers_default_to_the_cores_on_postgresql_and_one_on_sqlite(db_url: str, tmp_path: Path) -> None:
    make_ledger(tmp_path, ACTORS, example=EXAMPLE, env={"LEDGER_DB": db_url})
    expected = 1 if db_url.startswith("sqlite") else os.cpu_count() or 1
    with serving(tmp_path, "--db", db_url) as client:
        for _ in range(2 * expected):  # a new connection each time: any worker may take it
            headers = {**sign_in(client, tmp_path / "keys", "fin-640422"), "Connection": "close"}
            assert client.get("/v1/balances", headers=headers).status_code == 200
    text = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    assert f"（{db_url}，{expected} 个工作进程）" in text  # the startup line names the count
    assert text.count("Started server process") == expected, text


def test_a_port_already_taken_is_one_clear_line_and_no_server(tmp_path: Path) -> None:
    """Bad input gets a clear one-line error: ``serve`` on a port another program listens on says
    so before anything starts (no worker, no follower, no "serving" line)."""
    make_ledger(tmp_path, ACTORS)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        for lang, said in (("zh", f"无法在 127.0.0.1:{port} 监听"), ("en", f"cannot listen on 127.0.0.1:{port}")):
            result = cli(tmp_path, "--lang", lang, "serve", "--port", port)
            assert result.returncode == 2, result.stderr
            assert said in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_second_serve_on_the_same_port_is_refused_not_sharing_it(tmp_path: Path) -> None:
    """The workers share their port (SO_REUSEPORT), which another ``serve`` of the same user could
    join and take half the clients; it must be refused as a port in use."""
    make_ledger(tmp_path, ACTORS)
    with serving(tmp_path) as client:
        port = str(client.base_url.port)
        second = cli(tmp_path, "--lang", "en", "serve", "--port", port)
        assert second.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in second.stderr, second.stderr
        assert client.get("/healthz").status_code == 200


def test_each_worker_listens_on_a_socket_of_its_own_and_takes_a_share_of_the_connections(tmp_path: Path) -> None:
    """issue 13: with one listening socket shared by the workers, one of two took 66–94 % of 32
    keep-alive clients. Each worker now listens on its own socket (SO_REUSEPORT) and the kernel
    spreads new connections over them. Read from the kernel's own tables: who listens on the
    port, and which process holds the server's side of each of 32 connections."""
    with pg_database() as url:
        make_ledger(tmp_path, ACTORS, example=EXAMPLE, env={"LEDGER_DB": url})
        with serving(tmp_path, "--db", url, options=("--workers", "2")) as client:
            port = client.base_url.port
            assert port is not None
            deadline = time.monotonic() + 120  # `serving` waited for one worker; a loaded machine starts the other later
            while len(_server_sockets(port)[0]) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            with contextlib.ExitStack() as stack:
                clients = [stack.enter_context(httpx.Client(base_url=str(client.base_url), timeout=60)) for _ in range(32)]
                for each in clients:
                    assert each.get("/healthz").status_code == 200  # each keeps its connection open
                listening, connected = _server_sockets(port)
    holders = {pid for pids in listening.values() for pid in pids}
    assert len(listening) == 2, listening  # two listening sockets on the port ...
    assert all(len(pids) == 1 for pids in listening.values()), listening  # ... each held by one process
    assert len(holders) == 2, listening
    served = defaultdict(int)
    for pid in connected.values():
        served[pid] += 1
    assert sum(served.values()) == 33, connected  # the 32 and the one `serving` waited for /healthz on
    assert set(served) == holders, (served, listening)  # every connection on a worker that listens, both in use


def _server_sockets(port: int) -> tuple[dict[int, list[int]], dict[int, int]]:
    """The TCP sockets whose local port is ``port`` (/proc/net/tcp, tcp6): listening ones as
    inode → the processes holding them, established ones as inode → the process holding it."""
    states: dict[int, str] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] in ("0A", "01"):
                    states[int(fields[9])] = fields[3]  # 0A listening, 01 established
    holders: dict[int, list[int]] = defaultdict(list)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):  # a process that ended, or one not ours to read
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and int(target[8:-1]) in states:
                    holders[int(target[8:-1])].append(int(proc.name))
    listening = {inode: sorted(set(pids)) for inode, pids in holders.items() if states[inode] == "0A"}
    connected = {inode: pids[0] for inode, pids in holders.items() if states[inode] == "01"}
    return listening, connected
