"""Benchmark: inclusion and consistency proof latency at 10k, 100k and 1M leaves (target: p99 < 5 ms at 1M).

    .venv/bin/python benchmarks/bench_proofs.py
    .venv/bin/python benchmarks/bench_proofs.py --sizes 10000 100000 --samples 5000
    .venv/bin/python benchmarks/bench_proofs.py --sizes 10000 100000 --backend both

Each size is a real ledger — a SQLite file, or with ``--backend postgres|both`` a PostgreSQL
database (``common.py``) — with the project's own tables, created by ``Ledger.open``, whose
``ledger_leaves`` and ``ledger_tree`` are filled directly (executemany / COPY): synthetic
leaves ``{"synthetic":i}``, their RFC 9162 leaf hashes, and every complete subtree node computed
with ``merkle.CompactRange`` — not signed events, since proofs read only leaf bytes and tree
nodes and signing a million events would time the ingest, not the proofs. Ledgers are kept and
reused (build markers in --dir). Then, through the same functions the ``proof`` verb calls, random samples of:

* inclusion: ``proofs.inclusion_proof(ledger, seq, n)`` (leaf read + one node query), then
  ``InclusionProof.verify`` against the root;
* consistency: ``proofs.consistency_proof(ledger, m, n)``, then ``ConsistencyProof.verify``;

and prints p50 / p99 / max latency in milliseconds and the SQL queries per proof, as JSON, then
a human summary. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "benchmarks"))

from common import BenchLedger, backends, bench_ledger  # noqa: E402

from ledger.application import Ledger  # noqa: E402
from ledger.translog import merkle  # noqa: E402
from ledger.translog.proofs import consistency_proof, inclusion_proof  # noqa: E402


def build(target: BenchLedger, n: int) -> None:
    """A ledger whose log has n synthetic leaves and the complete Merkle tree over them."""
    if target.built() is not None:
        return
    target.reset()
    Ledger.open(target.url).close()  # the project's own schema
    started = time.perf_counter()
    frontier = merkle.CompactRange()
    step = 100_000
    with writer(target.url) as write:
        for start in range(0, n, step):
            leaves, nodes = [], []
            for i in range(start, min(n, start + step)):
                leaf = b'{"synthetic":%d}' % i
                h = merkle.leaf_hash(leaf)
                nodes.extend(frontier.append(h))
                leaves.append((i, "2026-01-01T00:00:00.000000Z", "bench", "Synthetic", f"n{i:08d}", leaf, h, "0" * 32, 1))
            write(leaves, nodes)
            print(f"  {target.backend} {target.spec}: {min(n, start + step):,}/{n:,} leaves", file=sys.stderr, flush=True)
    target.mark_built(leaves=n, build_s=round(time.perf_counter() - started, 1))
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


@contextmanager
def writer(url: str) -> Iterator[Callable[[list[tuple[Any, ...]], list[tuple[int, int, bytes]]], None]]:
    """Bulk insert of leaves and tree nodes: executemany on SQLite, COPY on PostgreSQL."""
    if url.startswith("sqlite:///"):
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        db.execute("PRAGMA synchronous = OFF")

        def write_sqlite(leaves: list[tuple[Any, ...]], nodes: list[tuple[int, int, bytes]]) -> None:
            with db:
                db.executemany("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", leaves)
                db.executemany("INSERT INTO ledger_tree VALUES (?, ?, ?)", nodes)

        try:
            yield write_sqlite
        finally:
            db.close()
        return
    import psycopg

    with psycopg.connect(url) as conn:

        def write_postgres(leaves: list[tuple[Any, ...]], nodes: list[tuple[int, int, bytes]]) -> None:
            with conn.cursor() as cur:
                with cur.copy("COPY ledger_leaves FROM STDIN") as copy:
                    for row in leaves:
                        copy.write_row(row)
                with cur.copy("COPY ledger_tree FROM STDIN") as copy:
                    for node in nodes:
                        copy.write_row(node)
            conn.commit()

        yield write_postgres


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def measure(target: BenchLedger, n: int, samples: int, rng: random.Random) -> dict[str, Any]:
    ledger = Ledger.open(target.url)
    queries = [0]
    original = ledger.sql.all

    def counting(statement: str, params: Any = ()) -> Any:
        queries[0] += 1
        return original(statement, params)

    ledger.sql.all = counting  # type: ignore[method-assign]
    root = ledger.root(n)
    roots: dict[int, bytes] = {}
    for _ in range(200):  # warm the page cache and the code paths
        inclusion_proof(ledger, rng.randrange(n), n)
    make_inc, check_inc, make_con, check_con = [], [], [], []
    inc_queries = con_queries = 0
    for _ in range(samples):
        seq = rng.randrange(n)
        before = queries[0]
        t0 = time.perf_counter()
        proof = inclusion_proof(ledger, seq, n)
        t1 = time.perf_counter()
        proof.verify(root)
        t2 = time.perf_counter()
        inc_queries += queries[0] - before
        make_inc.append(t1 - t0)
        check_inc.append(t2 - t0)
    for _ in range(samples):
        m = rng.randrange(1, n)
        old = roots.get(m) or ledger.root(m)
        before = queries[0]
        t0 = time.perf_counter()
        c = consistency_proof(ledger, m, n)
        t1 = time.perf_counter()
        c.verify(old, root)
        t2 = time.perf_counter()
        con_queries += queries[0] - before
        make_con.append(t1 - t0)
        check_con.append(t2 - t0)
    ledger.close()
    return {
        "backend": target.backend,
        "leaves": n,
        "inclusion": {**percentiles(make_inc), "with_verify": percentiles(check_inc),
                      "queries_per_proof": round(inc_queries / samples, 2)},  # fmt: skip
        "consistency": {**percentiles(make_con), "with_verify": percentiles(check_con),
                        "queries_per_proof": round(con_queries / samples, 2)},  # fmt: skip
    }


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-proofs"))
    return parser


def main() -> None:
    args = arguments().parse_args()
    rng = random.Random(2019)
    results = []
    for backend in backends(args.backend):
        for n in args.sizes:
            target = bench_ledger(args.dir, "proofs", backend, str(n))
            build(target, n)
            results.append(measure(target, n, args.samples, rng))
    print(json.dumps({
        "note": "ledger_leaves and ledger_tree filled directly with synthetic leaves via merkle.CompactRange",
        "samples": args.samples, "target": "p99 < 5 ms at 1M leaves", "results": results,
    }, indent=2))  # fmt: skip
    print("", file=sys.stderr)
    for r in results:
        inc, con = r["inclusion"], r["consistency"]
        print(
            f"{r['backend']:>8} {r['leaves']:>9,} leaves: inclusion p50 {inc['p50_ms']:.2f} ms, p99 {inc['p99_ms']:.2f} ms"
            f" ({inc['queries_per_proof']} queries); consistency p50 {con['p50_ms']:.2f} ms,"
            f" p99 {con['p99_ms']:.2f} ms ({con['queries_per_proof']} queries)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
