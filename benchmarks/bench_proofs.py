"""Benchmark: inclusion and consistency proof latency at 10k, 100k and 1M leaves (target: p99 < 5 ms at 1M).

    .venv/bin/python benchmarks/bench_proofs.py
    .venv/bin/python benchmarks/bench_proofs.py --sizes 10000 100000 --samples 5000

Each size is a real SQLite ledger (the project's own tables, created by ``Ledger.open``) whose
``ledger_leaves`` and ``ledger_tree`` are filled directly: synthetic leaves ``{"synthetic":i}``,
their RFC 9162 leaf hashes, and every complete subtree node computed with
``merkle.CompactRange`` — not signed events, since proofs read only leaf bytes and tree nodes
and signing a million events would time the ingest, not the proofs. Files are kept in --dir and
reused. Then, through the same functions the ``proof`` verb calls, random samples of:

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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ledger import merkle  # noqa: E402
from ledger.application import Ledger  # noqa: E402
from ledger.proofs import consistency_proof, inclusion_proof  # noqa: E402


def build(path: Path, n: int) -> None:
    """A ledger file whose log has n synthetic leaves and the complete Merkle tree over them."""
    if path.exists():
        with sqlite3.connect(path) as db:
            if db.execute("SELECT COUNT(*) FROM ledger_leaves").fetchone()[0] == n:
                return
        path.unlink()
    Ledger.open(f"sqlite:///{path}").close()  # the project's own schema
    started = time.perf_counter()
    frontier = merkle.CompactRange()
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    step = 100_000
    for start in range(0, n, step):
        leaves, nodes = [], []
        for i in range(start, min(n, start + step)):
            leaf = b'{"synthetic":%d}' % i
            h = merkle.leaf_hash(leaf)
            nodes.extend(frontier.append(h))
            leaves.append((i, "2026-01-01T00:00:00.000000Z", "bench", "Synthetic", f"n{i:08d}", leaf, h, "0" * 32, 1))
        with db:
            db.executemany("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", leaves)
            db.executemany("INSERT INTO ledger_tree VALUES (?, ?, ?)", nodes)
        print(f"  {path.name}: {min(n, start + step):,}/{n:,} leaves", file=sys.stderr, flush=True)
    db.close()
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def measure(path: Path, n: int, samples: int, rng: random.Random) -> dict[str, Any]:
    ledger = Ledger.open(f"sqlite:///{path}")
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
        "leaves": n,
        "inclusion": {**percentiles(make_inc), "with_verify": percentiles(check_inc),
                      "queries_per_proof": round(inc_queries / samples, 2)},  # fmt: skip
        "consistency": {**percentiles(make_con), "with_verify": percentiles(check_con),
                        "queries_per_proof": round(con_queries / samples, 2)},  # fmt: skip
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench-proofs"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(2019)
    results = []
    for n in args.sizes:
        path = args.dir / f"proofs-{n}.db"
        build(path, n)
        results.append(measure(path, n, args.samples, rng))
    print(json.dumps({
        "note": "ledger_leaves and ledger_tree filled directly with synthetic leaves via merkle.CompactRange",
        "samples": args.samples, "target": "p99 < 5 ms at 1M leaves", "results": results,
    }, indent=2))  # fmt: skip
    print("", file=sys.stderr)
    for r in results:
        inc, con = r["inclusion"], r["consistency"]
        print(
            f"{r['leaves']:>9,} leaves: inclusion p50 {inc['p50_ms']:.2f} ms, p99 {inc['p99_ms']:.2f} ms"
            f" ({inc['queries_per_proof']} queries); consistency p50 {con['p50_ms']:.2f} ms,"
            f" p99 {con['p99_ms']:.2f} ms ({con['queries_per_proof']} queries)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
