"""Benchmark: anomaly detection quality and cost, in one run (DESIGN §8).

    .venv/bin/python benchmarks/bench_detection.py              # small scale (西吉县, spring 2019)
    .venv/bin/python benchmarks/bench_detection.py --city       # and the whole city (~280k events)

For each scale a SQLite ledger is built once from the project's simulator with injected misuse
(``simulate(scale, seed, misuse_rate)``, signed and imported as ``Session.run_simulation`` does)
and reused from ``--dir`` — twice: in business order and in a random migration order the ledger
accepts (``order="shuffled"``, ``--order-seed``; issue 16). Then:

1. **quality** — recall on the injected truth (every case matched by rule + subject + labourer)
   and precision (current flags that match the truth or a knock-on it lists / all current flags),
   for both orders side by side: the truth is the same, so should the figures be;
2. **rebuild** — the whole projection (base read models + anomalies) from seq 0 on the SQLite
   file, against the same rebuild with the anomaly hook switched off: the rules' share;
3. **linearity** — the projection replayed into memory to half the log and to all of it, with
   each rule's evaluations and cost per evaluation at both points: a rule re-judges only the
   subjects an event touches, so its cost per evaluation stays flat as the log grows (one whose
   cost grew with history would show here, and in small vs ``--city``).
4. **order property** (``--property-examples N``; the full ``run.py`` asks 200) — the test
   ``tests/integration/test_rule_order_property.py`` over N random migration orders instead of
   CI's few: the flags after the whole log must not depend on the order (issue 16).

Not a timed test: machines are noisy (LIMITS.md), compare the ratios printed in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ledger.keys.vault import payee_account  # noqa: E402
from ledger.service import Session  # noqa: E402
from projections import anomalies as detection  # noqa: E402
from projections.anomalies.query import list_flags  # noqa: E402
from projections.db import engine_for  # noqa: E402
from projections.runner.catchup import catch_up, rebuild, snapshot  # noqa: E402
from projections.runner.registry import REGISTRY, load_plugins  # noqa: E402
from simulator import simulate  # noqa: E402


def build(folder: Path, scale: str, seed: int, misuse_rate: float, order_seed: int | None = None) -> Session:
    """The ledger of the simulation in business order, or in the migration order of ``order_seed``."""
    name = f"{scale}-{seed}" + ("" if order_seed is None else f"-shuffled-{order_seed}")
    db = folder / f"ledger-{name}.db"
    keys = folder / f"keys-{name}"
    fresh = not db.exists()
    session = Session.open(f"sqlite:///{db}", keys)
    session.checkpoint_interval = 0
    if fresh:
        started = time.monotonic()
        session.init()
        order = "chronological" if order_seed is None else "shuffled"
        sim = simulate(scale, seed=seed, misuse_rate=misuse_rate, order=order, order_seed=order_seed)
        counts = session.run_simulation(sim)
        print(f"  built {db.name}: {session.ledger.size():,} leaves in {time.monotonic() - started:.0f} s "
              f"({counts['refused']} refused)")  # fmt: skip
    return session


def quality(session: Session, scale: str, seed: int, misuse_rate: float) -> tuple[float, float, int, int]:
    sim = simulate(scale, seed=seed, misuse_rate=misuse_rate)

    def key(case: Any) -> tuple[str, str, str, str | None]:
        subject = case.subject_id
        if subject.startswith("raw:"):
            subject = payee_account(session.keys.pepper, subject.removeprefix("raw:"))
        return (case.rule, case.subject_kind, subject, case.laborer_id)

    truth = {key(c) for c in sim.truth}
    expected = truth | {key(c) for c in sim.expected_knock_on}
    catch_up(session.ledger)
    flags = {(f["rule"], f["subject"]["kind"], f["subject"]["id"], f["laborer_id"])
             for f in list_flags(engine_for(session.ledger))}  # fmt: skip
    missed = truth - flags
    unexplained = flags - expected
    for case in sorted(missed):
        print(f"    missed: {case}")
    for flag in sorted(unexplained):
        print(f"    unexplained: {flag}")
    recall = (len(truth) - len(missed)) / len(truth)
    precision = (len(flags) - len(unexplained)) / len(flags) if flags else 1.0
    return recall, precision, len(truth), len(flags)


def timed_rebuild(session: Session, *, rules: bool) -> float:
    hooks, reads = list(REGISTRY.hooks), list(REGISTRY.hook_reads)
    if not rules:
        REGISTRY.hooks[:] = [h for h in hooks if h is not detection.detect]
        REGISTRY.hook_reads[:] = []
    try:
        started = time.monotonic()
        rebuild(session.ledger)
        return time.monotonic() - started
    finally:
        REGISTRY.hooks[:], REGISTRY.hook_reads[:] = hooks, reads


def replay(session: Session, last: int) -> tuple[float, dict[str, list[float]]]:
    detection.COSTS = {}
    try:
        started = time.monotonic()
        snapshot(session.ledger, last)
        return time.monotonic() - started, detection.COSTS
    finally:
        detection.COSTS = None


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--city", action="store_true", help="also the city scale (~280k events; minutes)")
    parser.add_argument("--seed", type=int, default=2019)
    parser.add_argument("--misuse-rate", type=float, default=0.03)
    parser.add_argument("--order-seed", type=int, default=1, help="seed of the migration order compared (issue 16)")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_detection"))
    parser.add_argument("--property-examples", type=int, default=0, metavar="N",
                        help="also run the order property test (issue 16) over N random migration orders")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="JSON on stdout; the human report goes to stderr")
    return parser


def main() -> None:
    args = arguments().parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    load_plugins()
    results = []
    with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
        for scale in ["small", *(["city"] if args.city else [])]:
            results.append(run_scale(args, scale))
        order_property = run_order_property(args.property_examples) if args.property_examples else None
    if args.json:
        print(json.dumps({"seed": args.seed, "misuse_rate": args.misuse_rate, "target": "recall 1.0, precision >= 0.95",
                          "results": results, "order_property": order_property}, indent=2, ensure_ascii=False))  # fmt: skip


def run_order_property(examples: int) -> dict[str, Any]:
    """tests/integration/test_rule_order_property.py with ``examples`` Hypothesis-drawn orders (CI runs a few)."""
    print(f"== order property: {examples} migration orders of the small misuse simulation")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n0", "-p", "no:cacheprovider", "-rxX",
         "tests/integration/test_rule_order_property.py"],
        cwd=ROOT, env={**os.environ, "ORDER_PROPERTY_EXAMPLES": str(examples)}, capture_output=True, text=True,
    )  # fmt: skip
    summary = [line for line in done.stdout.splitlines() if line.strip()][-3:]
    for line in summary:
        print(f"  {line}")
    return {"examples": examples, "exit_status": done.returncode, "seconds": round(time.monotonic() - started),
            "summary": summary[-1] if summary else ""}  # fmt: skip


def run_scale(args: argparse.Namespace, scale: str) -> dict[str, Any]:
    print(f"== {scale} (seed {args.seed}, misuse rate {args.misuse_rate})")
    migrated = build(args.dir, scale, args.seed, args.misuse_rate, args.order_seed)
    try:
        print(f"  migration order {args.order_seed}:")
        shuffled = quality(migrated, scale, args.seed, args.misuse_rate)
    finally:
        migrated.close()
    session = build(args.dir, scale, args.seed, args.misuse_rate)
    try:
        size = session.ledger.size()
        print("  business order:")
        recall, precision, cases, flags = quality(session, scale, args.seed, args.misuse_rate)
        print(f"  quality ({cases} injected cases)   {'business order':>16} {'migration order':>16}")
        print(f"    recall                      {recall:16.3f} {shuffled[0]:16.3f}")
        print(f"    precision                   {precision:16.3f} {shuffled[1]:16.3f}")
        print(f"    current flags               {flags:16,} {shuffled[3]:16,}")
        base = timed_rebuild(session, rules=False)
        full = timed_rebuild(session, rules=True)
        print(f"  rebuild of {size:,} leaves on SQLite: base read models {base:.1f} s ({size / base:,.0f}/s); "
              f"with every rule {full:.1f} s ({size / full:,.0f}/s); rules' share {(full - base) / full:.0%}")  # fmt: skip
        half_time, half = replay(session, size // 2 - 1)
        all_time, whole = replay(session, size - 1)
        rules_half = sum(v[0] for v in half.values())
        rules_all = sum(v[0] for v in whole.values())
        print(f"  in-memory replay: half the log {half_time:.1f} s (rules {rules_half:.1f} s), all of it "
              f"{all_time:.1f} s (rules {rules_all:.1f} s). The halves differ in mix (registrations and "
              "classes first, money later), so compare each rule's cost per evaluation below: flat = linear")  # fmt: skip
        print(f"  {'rule':34} {'evaluations':>12} {'µs/eval (½)':>12} {'µs/eval (1)':>12} {'s total':>8} "
              f"{'fan-out':>8}")  # fmt: skip
        per_rule = {}
        for rule_id in sorted(whole, key=lambda r: -whole[r][0]):
            h, w = half.get(rule_id, [0.0, 0]), whole[rule_id]
            per_half = h[0] * 1e6 / h[1] if h[1] else float("nan")
            per_all = w[0] * 1e6 / w[1] if w[1] else float("nan")
            fanout = int(w[2]) if len(w) > 2 else 0  # the most subjects one event made the rule re-judge
            print(f"  {rule_id:34} {int(w[1]):12,} {per_half:12.1f} {per_all:12.1f} {w[0]:8.2f} {fanout:8,}")
            per_rule[rule_id] = {"evaluations": int(w[1]), "us_per_eval_half": round(per_half, 1) if h[1] else None,
                                 "us_per_eval_all": round(per_all, 1), "largest_fanout": fanout}  # fmt: skip
        widest = max(per_rule, key=lambda r: per_rule[r]["largest_fanout"] or 0, default=None)
        if widest is not None:
            print(f"  largest re-judgement fan-out (issue 16): {per_rule[widest]['largest_fanout']:,} subjects "
                  f"of {widest} for one event")  # fmt: skip
        return {"scale": scale, "events": size, "injected_cases": cases, "flags": flags,
                "recall": round(recall, 4), "precision": round(precision, 4), "order_seed": args.order_seed,
                "flags_shuffled": shuffled[3], "recall_shuffled": round(shuffled[0], 4),
                "precision_shuffled": round(shuffled[1], 4),
                "rebuild_base_s": round(base, 1), "rebuild_with_rules_s": round(full, 1),
                "rules_share_of_rebuild": round((full - base) / full, 2), "per_rule": per_rule}  # fmt: skip
    finally:
        session.close()


if __name__ == "__main__":
    main()
