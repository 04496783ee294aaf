"""Benchmark: ``trace payment`` (DESIGN §12, issue 15) latency against the raw log read, in one run.

    .venv/bin/python benchmarks/bench_trace.py --events 100000 1000000 --backend both [--json]

Reuses bench_rebuild.py's CityMix ledgers (``--dir``, default /tmp/bench_rebuild, and the
PostgreSQL databases ``bench_rebuild_<size>``; built first when missing) and catches their
projections up (timed apart: a trace runs on caught-up projections). Then, in this process:

1. raw: ``ledger.leaves()`` + JSON decode of every leaf — what a trace must never do;
2. ``--samples`` random payments (seeded), each traced as ``trace payment ID --json`` does it
   (``api.services.trace``: the catch-up check, the checkpoint's note verified, the gathering,
   every signature re-verified, every inclusion proved, the flags, the JCS bytes): p50, p99, max,
   and the mean number of events per trace.

Target (issue 15) at 1M events: p99 < 200 ms. Prints JSON on stdout and a table on stderr. Not a
timed test.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_rebuild import ensure_built, raw_read  # noqa: E402
from common import backends  # noqa: E402

TARGET_P99_MS = 200.0


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="trace payment latency vs raw log read")
    parser.add_argument("--events", nargs="+", default=["100000"], help="CityMix sizes (bench_rebuild.py)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_rebuild"))
    parser.add_argument("--samples", type=int, default=1000, help="random payments traced")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--json", action="store_true", help="JSON only (no table on stderr)")
    return parser


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def measure(url: str, keys: Path, samples: int, seed: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from api import services
    from ledger.encoding.canonical import canonical
    from ledger.service import Session
    from projections import tables as T

    session = Session.open(url, keys)
    try:
        t0 = time.perf_counter()
        engine = services.catch_up(session.ledger)
        catch_up_s = time.perf_counter() - t0
        if session.ledger.latest_checkpoint() is None or session.ledger.latest_checkpoint().size < session.ledger.size():  # type: ignore[union-attr]
            session.checkpoint()
        raw_s, leaves = raw_read(session.ledger)
        with engine.connect() as conn:
            payments = sorted(conn.execute(sa.select(T.payments.c.payment_id)).scalars())
        if not payments:  # a small CityMix ledger ends before its first payment
            return {"events": leaves, "payments": 0, "samples": 0, "raw_read_s": round(raw_s, 2)}
        chosen = random.Random(seed).choices(payments, k=samples)
        times: list[float] = []
        sizes: list[int] = []
        bad = 0
        for payment_id in chosen:
            t0 = time.perf_counter()
            doc, _ = services.trace(session, "payment", payment_id)
            canonical(doc)
            times.append(time.perf_counter() - t0)
            sizes.append(len(doc["events"]))
            bad += sum(not (e["signature_ok"] and e["included"]) for e in doc["events"])
    finally:
        session.close()
    ms = [t * 1000 for t in times]
    return {"events": leaves, "payments": len(payments), "samples": samples, "catch_up_s": round(catch_up_s, 1),
            "raw_read_s": round(raw_s, 2), "p50_ms": round(percentile(ms, 0.50), 1),
            "p99_ms": round(percentile(ms, 0.99), 1), "max_ms": round(max(ms), 1),
            "mean_events": round(statistics.fmean(sizes), 1), "max_events": max(sizes), "failed_checks": bad,
            "p99_vs_raw_ratio": round(percentile(ms, 0.99) / 1000 / raw_s, 4)}  # fmt: skip


def main() -> None:
    args = arguments().parse_args()
    rows = []
    for backend in backends(args.backend):
        for spec in args.events:
            target = ensure_built(args.dir, backend, spec, False)
            row = {"backend": backend, **measure(target.url, target.keys, args.samples, args.seed)}
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    print(json.dumps({"what": "trace payment (catch-up check, gather, re-verify, prove, flags, JCS) vs raw read + decode",
                      "target_p99_ms_at_1M": TARGET_P99_MS, "results": rows}, indent=2))  # fmt: skip
    if args.json:
        return
    print(f"{'backend':>8} {'events':>9} {'raw s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'events/trace':>13}",
          file=sys.stderr)  # fmt: skip
    for r in rows:
        if not r["payments"]:
            continue
        print(f"{r['backend']:>8} {r['events']:>9} {r['raw_read_s']:>7.2f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
              f" {r['max_ms']:>8.1f} {r['mean_events']:>13.1f}", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
