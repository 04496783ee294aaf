"""The HTTP API's write path against the library's own, measured side by side in one run (issue 13).

On each backend, with the same kind of signed envelopes (``FundAllocated`` of four county finance
bureaus: independent of each other, so concurrent clients never refuse one another's):

(a) direct library append, one envelope per call (``Ledger.append``), events/s and p50/p99;
(b) direct batches of 1,000 (``Session.import_lines``, the ``import`` verb's path);
(c) HTTP single submits (``POST /v1/events``, ``application/json``) from 1, 8 and 32 concurrent
    keep-alive clients against ``serve`` (one worker on SQLite, ``--workers 2`` on PostgreSQL);
(d) HTTP batches of 1,000 (``application/x-ndjson``), one client;
(e) on PostgreSQL, singles paced at 200 requests/s from up to 32 connections: p99.

Each line also gives the CPU milliseconds per event: the benchmark process's own for (a) and (b),
``serve``'s (its workers with their followers and appenders, from /proc) for (c)–(e).

With ``--reads SIZE ...`` it measures the reads instead, on the cached ledgers of
``bench_rebuild.py`` (``--dir``, built there first if missing): ``serve`` on the ledger, one sign-in
of the city's inspector, then ``--samples`` sequential keep-alive requests per endpoint with random
targets drawn from the ledger (``GET /v1/anomalies/{id}``, ``GET /v1/events/{seq}``,
``GET /v1/proofs/inclusion?seq=&size=``), p50/p99 each and the ratio to the same use case called
in this process on the same targets (``services.anomaly``; the leaf with its proof checked against
the signed root); and ``GET /healthz`` as the floor of a request through ``serve``. Target of issue 13: each p99 < 20 ms (at 1M events; measured here at the sizes
given).

Ratios: c/a per concurrency and d/b (targets of issue 13: batched HTTP ≥ 0.8 × direct; singles at
32 clients on PostgreSQL ≥ 0.5 × direct singles; p99 < 50 ms at 200 requests/s). The server
also follows the writes (projections, checkpoints) on the same two cores while it is measured;
the direct path does not project. The clients run in this process, on the same cores as the
server: singles on plain asyncio HTTP/1.1 connections (:class:`Connection`, the cheapest client;
their CPU per event is reported beside the server's), batches and reads through httpx.

    python benchmarks/bench_api.py [--backend sqlite|postgres|both] [--singles N] [--batches N]
                                   [--runs 1] [--json]
    python benchmarks/bench_api.py --reads 10000 100000 [--backend ...] [--samples 2000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ledger.domain.envelope import sign_envelope  # noqa: E402
from ledger.keys.signing import parse_line  # noqa: E402
from ledger.service import Session  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from common import backends, create_pg_database, drop_pg_database  # noqa: E402

READ_ACTOR = "insp"  # bench_rebuild's ledgers: the city's discipline inspectors read every flag and leaf

COUNTIES = ("640402", "640422", "640423", "640424")
CONCURRENCY = (1, 8, 32)
BATCH = 1000


# --- the envelopes ---------------------------------------------------------------------------------------
class Envelopes:
    """Fresh signed envelopes on demand: each is accepted once, whoever sends it."""

    def __init__(self, session: Session):
        self.keys = {c: session.keys.actor_key(f"fin-{c}") for c in COUNTIES}
        self.count = 0

    def take(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            county = COUNTIES[self.count % len(COUNTIES)]
            body = {"fund_id": f"F-API-{county}-{self.count:07d}", "jurisdiction": county, "source": "central",
                    "purpose": "training", "year": 2019, "amount_fen": 100000}  # fmt: skip
            unsigned = {"type": "FundAllocated", "actor": f"fin-{county}", "at": "2019-06-10T10:00:00+08:00",
                        "nonce": f"api-{self.count:07d}", "body": body}  # fmt: skip
            out.append(json.dumps(sign_envelope(unsigned, self.keys[county]), ensure_ascii=False))
            self.count += 1
        return out


def ledger_with_bureaus(db_url: str, keys: Path) -> Session:
    session = Session.open(db_url, keys)
    session.checkpoint_interval = 0
    session.init()
    for county in COUNTIES:
        session.add_actor(f"fin-{county}", "finance_bureau", county, f"财政局 {county}")
    return session


def summary(seconds: float, events: int, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {"events_per_s": round(events / seconds, 1), "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)}  # fmt: skip


def with_cpu(measured: dict[str, float], cpu_seconds: float, events: int) -> dict[str, float]:
    """``measured`` with the CPU milliseconds per event that did it (the server's, or the direct
    path's own process): on a shared machine the steadier figure of the two."""
    return {**measured, "cpu_ms_per_event": round(1000 * cpu_seconds / events, 3)}


def direct_cpu(run: Any, *args: Any) -> dict[str, float]:
    """A direct measurement with this process's CPU per event."""
    began = time.process_time()
    measured: dict[str, float] = run(*args)
    events = len(args[-1]) if run is direct_singles else sum(map(len, args[-1]))
    return with_cpu(measured, time.process_time() - began, events)


def served(server: Server, events: int, measure: Any) -> dict[str, float]:
    """An HTTP measurement with the CPU ``serve`` spent meanwhile (its workers and their followers)."""
    began = server.cpu_seconds()
    measured: dict[str, float] = measure()
    return with_cpu(measured, server.cpu_seconds() - began, events)


# --- (a, b) the library ------------------------------------------------------------------------------------
def direct_singles(session: Session, lines: list[str]) -> dict[str, float]:
    latencies = []
    start = time.perf_counter()
    for text in lines:
        began = time.perf_counter()
        outcome = session.ledger.append([parse_line(text, None)])[0]
        latencies.append(time.perf_counter() - began)
        assert outcome.status == "accepted", outcome
    return summary(time.perf_counter() - start, len(lines), latencies)


def direct_batches(session: Session, batches: list[list[str]]) -> dict[str, float]:
    latencies = []
    start = time.perf_counter()
    for batch in batches:
        began = time.perf_counter()
        bad = [o for _, o in session.import_lines(batch, sign=False) if o.status != "accepted"]
        latencies.append(time.perf_counter() - began)
        assert not bad, bad[:2]
    return summary(time.perf_counter() - start, sum(map(len, batches)), latencies)


# --- (c, d, e) over HTTP -----------------------------------------------------------------------------------
class Server:
    """``serve`` as an operator starts it, on ``db_url`` with the operator's keystore ``keys``."""

    def __init__(self, db_url: str, keys: Path, workers: int, log: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "api", "--db", db_url, "--keys", str(keys), "serve", "--port", str(self.port),
                 "--workers", str(workers)], stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "1"},
            )  # fmt: skip
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("serve did not start:\n" + log.read_text()[-2000:])
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) so far of ``serve`` and its worker processes (Linux /proc)."""
        parents: dict[int, int] = {}
        used: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
            used[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime, stime
        tree, grew = {self.proc.pid}, True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in tree} - tree
            tree |= more
            grew = bool(more)
        return sum(used.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


class Connection:
    """One keep-alive HTTP/1.1 connection that posts a JSON body and reads the answer: the least a
    client can do (tens of microseconds of CPU a request), so the clients, which run on the server's
    two cores, take as little of them as possible. httpx cost 2.8–4.3 ms of CPU per request here,
    as much as the server's own work, and the benchmark measured its client as much as ``serve``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, f"{host}:{port}")

    async def post(self, path: str, body: str) -> tuple[int, bytes]:
        data = body.encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(data)}\r\n\r\n".encode() + data)  # fmt: skip
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"no Content-Length in {head!r}")
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def http_singles(url: str, lines: list[str], clients: int, rate: float | None = None) -> dict[str, float]:
    """``lines`` posted one per request by ``clients`` keep-alive connections (each sends its next
    when its last is answered), or, with ``rate``, each request started on a fixed schedule on the
    next free connection. ``client_cpu_ms_per_event`` says what the clients cost (this process)."""
    latencies: list[float] = []
    queue = list(reversed(lines))
    began_cpu = time.process_time()
    connections = [await Connection.open(url) for _ in range(clients)]
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        pool.put_nowait(connection)

    async def post(connection: Connection, text: str) -> None:
        began = time.perf_counter()
        status, body = await connection.post("/v1/events", text)
        latencies.append(time.perf_counter() - began)
        assert status == 201, body

    async def worker() -> None:
        connection = await pool.get()
        while queue:
            await post(connection, queue.pop())

    try:
        start = time.perf_counter()
        if rate is None:
            await asyncio.gather(*(worker() for _ in range(clients)))
        else:

            async def paced(n: int, text: str) -> None:
                await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
                connection = await pool.get()
                try:
                    await post(connection, text)
                finally:
                    pool.put_nowait(connection)

            await asyncio.gather(*(paced(n, text) for n, text in enumerate(lines)))
        seconds = time.perf_counter() - start
    finally:
        for connection in connections:
            await connection.close()
    measured = summary(seconds, len(lines), latencies)
    return {**measured, "client_cpu_ms_per_event": round(1000 * (time.process_time() - began_cpu) / len(lines), 3)}


def http_batches(url: str, batches: list[list[str]]) -> dict[str, float]:
    import httpx

    latencies = []
    with httpx.Client(base_url=url, timeout=300) as client:
        start = time.perf_counter()
        for batch in batches:
            began = time.perf_counter()
            got = client.post("/v1/events", content="\n".join(batch) + "\n",
                              headers={"content-type": "application/x-ndjson"})  # fmt: skip
            latencies.append(time.perf_counter() - began)
            assert got.status_code == 200 and got.text.count('"accepted"') == len(batch), got.text[:300]
        seconds = time.perf_counter() - start
    return summary(seconds, sum(map(len, batches)), latencies)


# --- one backend ---------------------------------------------------------------------------------------------
def run_once(backend: str, singles: int, batches: int, tmp: Path) -> dict[str, Any]:
    name = "ledger_bench_api_" + uuid.uuid4().hex[:12]
    db_url = f"sqlite:///{tmp / (name + '.db')}" if backend == "sqlite" else create_pg_database(name)
    keys = tmp / f"keys-{name}"
    try:
        session = ledger_with_bureaus(db_url, keys)
        envelopes = Envelopes(session)
        out: dict[str, Any] = {"direct_single": direct_cpu(direct_singles, session, envelopes.take(singles))}
        out["direct_batch"] = direct_cpu(direct_batches, session, [envelopes.take(BATCH) for _ in range(batches)])
        session.checkpoint()
        session.close()
        workers = 1 if backend == "sqlite" else 2
        server = Server(db_url, keys, workers, tmp / f"serve-{name}.log")
        try:
            asyncio.run(http_singles(server.url, envelopes.take(40), 4))  # warm up: connections, caches
            for clients in CONCURRENCY:
                lines = envelopes.take(singles)
                out[f"http_single_{clients}"] = served(server, singles, lambda: asyncio.run(http_singles(server.url, lines, clients)))  # noqa: B023
            bodies = [envelopes.take(BATCH) for _ in range(batches)]
            out["http_batch"] = served(server, batches * BATCH, lambda: http_batches(server.url, bodies))
            if backend == "postgres":
                paced = envelopes.take(1000)
                out["http_paced_200"] = served(server, 1000, lambda: asyncio.run(http_singles(server.url, paced, 32, rate=200)))
        finally:
            server.stop()
        out["workers"] = workers
        return out
    finally:
        if backend == "postgres":
            drop_pg_database(name)


def run_backend(backend: str, singles: int, batches: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        rounds = [run_once(backend, singles, batches, Path(tmp_name)) for _ in range(runs)]
    result: dict[str, Any] = {"backend": backend, "singles": singles, "batch_envelopes": batches * BATCH,
                              "runs": runs, "workers": rounds[0]["workers"]}  # fmt: skip
    for key, first in rounds[0].items():
        if isinstance(first, dict):
            result[key] = {m: round(statistics.median(r[key][m] for r in rounds), 2) for m in first}
    direct = result["direct_single"]["events_per_s"]
    for clients in CONCURRENCY:
        result[f"ratio_http_single_{clients}_over_direct"] = round(result[f"http_single_{clients}"]["events_per_s"] / direct, 3)
    result["ratio_http_batch_over_direct"] = round(result["http_batch"]["events_per_s"] / result["direct_batch"]["events_per_s"], 3)
    return result


# --- reads on a big ledger -----------------------------------------------------------------------------------
def read_targets(db_url: str, samples: int, seed: int = 13) -> dict[str, Any]:
    """Random targets drawn from the ledger (with replacement): flag ids, leaves, the signed size.
    The projections are caught up first (bench_rebuild leaves them so only after a measure)."""
    import sqlalchemy as sa

    from api.services import catch_up
    from ledger.application import Ledger
    from projections.anomalies import tables as A

    ledger = Ledger.open(db_url)
    try:
        latest = ledger.latest_checkpoint()
        assert latest is not None, "the bench ledger has no checkpoint"
        began = time.perf_counter()
        engine = catch_up(ledger)  # the projections (instant when an earlier run caught up)
        print(f"projections caught up in {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
        with engine.connect() as conn:
            flags = sorted(str(r[0]) for r in conn.execute(sa.select(A.anomalies.c.id)))
    finally:
        ledger.close()
    rng = random.Random(seed)
    return {"size": latest.size, "flags": len(flags),
            "anomalies": [rng.choice(flags) for _ in range(samples)] if flags else [],
            "seqs": [rng.randrange(latest.size) for _ in range(samples)]}  # fmt: skip


def timed(calls: list[Any]) -> dict[str, float]:
    """p50/p99 of each call (one after another), in ms."""
    latencies = []
    for call in calls:
        began = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - began)
    ordered = sorted(latencies)
    return {"n": len(ordered), "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
            "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)}  # fmt: skip


def direct_reads(db_url: str, keys: Path, targets: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The use cases the three endpoints serve, called in this process on the same targets."""
    from api import services
    from ledger.translog.proofs import checkpoint_root, inclusion_proof

    session = Session.open(db_url, keys)
    ledger, size = session.ledger, targets["size"]

    def anomaly(ident: str) -> None:
        assert services.anomaly(session, ident) is not None, ident

    def event(seq: int) -> None:  # the leaf, then its proof at the latest checkpoint, checked
        assert ledger.leaf(seq) is not None
        latest = ledger.latest_checkpoint()
        assert latest is not None
        inclusion(seq, latest.size)

    def inclusion(seq: int, at: int) -> None:
        proof = inclusion_proof(ledger, seq, at)
        proof.verify(checkpoint_root(ledger, proof.tree_size))

    try:
        out = {"event": timed([lambda s=s: event(s) for s in targets["seqs"]]),
               "inclusion": timed([lambda s=s: inclusion(s, size) for s in targets["seqs"]])}  # fmt: skip
        if targets["anomalies"]:
            out["anomaly"] = timed([lambda a=a: anomaly(a) for a in targets["anomalies"]])
        return out
    finally:
        session.close()


def http_reads(url: str, keys: Path, targets: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The three endpoints over one keep-alive connection, signed in once as :data:`READ_ACTOR`."""
    from api.client import ApiClient
    from ledger.keys.keystore import Keystore

    with ApiClient(url, Keystore(keys)) as client:
        headers = {"Authorization": f"Bearer {client.token(READ_ACTOR)}"}

        def get(path: str, **params: Any) -> None:
            got = client.http.get(path, params=params, headers=headers)
            assert got.status_code == 200, got.text[:300]

        size = targets["size"]
        for seq in targets["seqs"][:20]:  # warm up: the connection, the server's caches
            get(f"/v1/events/{seq}")
        out = {"event": timed([lambda s=s: get(f"/v1/events/{s}") for s in targets["seqs"]]),
               "inclusion": timed([lambda s=s: get("/v1/proofs/inclusion", seq=s, size=size) for s in targets["seqs"]])}  # fmt: skip
        if targets["anomalies"]:
            out["anomaly"] = timed([lambda a=a: get(f"/v1/anomalies/{a}") for a in targets["anomalies"]])
        # the floor of a request through serve: no scope check, one count of the log
        out["healthz"] = timed([lambda: get("/healthz")] * len(targets["seqs"]))
        return out


def run_reads(backend: str, spec: str, samples: int, folder: Path) -> dict[str, Any]:
    from bench_rebuild import ensure_built

    target = ensure_built(folder, backend, spec, False)
    targets = read_targets(target.url, samples)
    direct = direct_reads(target.url, target.keys, targets)
    workers = 1 if backend == "sqlite" else 2
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(target.url, target.keys, workers, Path(tmp) / "serve.log")
        try:
            http = http_reads(server.url, target.keys, targets)
        finally:
            server.stop()
    result: dict[str, Any] = {"backend": backend, "events": targets["size"], "flags": targets["flags"],
                              "samples": samples, "workers": workers, "healthz_http": http.pop("healthz")}  # fmt: skip
    for name in http:
        result[name] = {"http": http[name], "direct": direct[name],
                        "ratio_p50_http_over_direct": round(http[name]["p50_ms"] / max(direct[name]["p50_ms"], 0.01), 1),
                        "p99_under_20_ms": http[name]["p99_ms"] < 20}  # fmt: skip
    return result


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--singles", type=int, default=400, help="envelopes per single-submit measurement")
    parser.add_argument("--batches", type=int, default=5, help="1,000-envelope batches per batch measurement")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--reads", nargs="+", metavar="SIZE",
                        help="measure the reads instead, on bench_rebuild's cached ledgers of these sizes")  # fmt: skip
    parser.add_argument("--samples", type=int, default=2000, help="requests per read endpoint")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_rebuild"),
                        help="bench_rebuild's ledgers, keystores and build markers (built there if missing)")  # fmt: skip
    return parser


def main() -> None:
    args = arguments().parse_args()
    if args.reads:
        reads = {"cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                 "reads": [run_reads(b, spec, args.samples, args.dir) for b in backends(args.backend) for spec in args.reads]}  # fmt: skip
        if args.json:
            print(json.dumps(reads, indent=2))
            return
        for r in reads["reads"]:
            print(f"[{r['backend']}] {r['events']:,} events, {r['flags']:,} flags, {r['samples']} requests each, "
                  f"{r['workers']} worker(s), load average {reads['load_average']}")  # fmt: skip
            for name in ("anomaly", "event", "inclusion"):
                if name in r:
                    h, d = r[name]["http"], r[name]["direct"]
                    print(f"  {name:<10} HTTP p50 {h['p50_ms']:>7.2f} p99 {h['p99_ms']:>7.2f} ms   direct p50 {d['p50_ms']:>7.2f}"
                          f" p99 {d['p99_ms']:>7.2f} ms   ×{r[name]['ratio_p50_http_over_direct']}")  # fmt: skip
            h = r["healthz_http"]
            print(f"  {'healthz':<10} HTTP p50 {h['p50_ms']:>7.2f} p99 {h['p99_ms']:>7.2f} ms   (the floor)")
        return
    report = {"cores": os.cpu_count(),
              "results": [run_backend(b, args.singles, args.batches, args.runs) for b in backends(args.backend)]}  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for r in report["results"]:
        print(f"[{r['backend']}] {r['singles']} singles, {r['batch_envelopes']} batched, median of {r['runs']} runs, "
              f"{r['workers']} worker(s), {report['cores']} cores")  # fmt: skip
        rows = ["direct_single", *(f"http_single_{c}" for c in CONCURRENCY), "direct_batch", "http_batch",
                *(["http_paced_200"] if "http_paced_200" in r else [])]  # fmt: skip
        for row in rows:
            m = r[row]
            clients = f" (clients {m['client_cpu_ms_per_event']:.3f})" if "client_cpu_ms_per_event" in m else ""
            print(f"  {row:<16} {m['events_per_s']:>9.1f}/s   p50 {m['p50_ms']:>8.2f} ms   p99 {m['p99_ms']:>8.2f} ms"
                  f"   CPU {m['cpu_ms_per_event']:>6.3f} ms/event{clients}")  # fmt: skip
        print("  ratios: " + ", ".join(f"{k.removeprefix('ratio_')} = {v}" for k, v in r.items() if k.startswith("ratio_")))


if __name__ == "__main__":
    main()
