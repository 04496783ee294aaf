"""Fuzzing campaigns (issue 12, build item 6): envelope parsing, and the ledger's state machine.

    .venv/bin/python benchmarks/bench_fuzz.py                      # 100,000 cases, seed 12
    .venv/bin/python benchmarks/bench_fuzz.py --cases 1000000 --seed 7 --json
    .venv/bin/python benchmarks/bench_fuzz.py --cases 0 --stateful 200 --steps 50 --backend both

Envelope parsing: ``tests/support/fuzz.py`` mutates valid signed envelopes (byte flips,
truncation, duplicated keys, floats, huge integers, deep nesting, lone surrogates, wrong types,
extra or missing fields, unicode oddities, a BOM, long strings, base64 variants…) and feeds each
case to what ``import`` runs per line without a database (``ledger.keys.signing.parse_line``). The
oracle: a valid envelope (whose canonical bytes, business date and subjects then compute), or a
refusal with the ledger's reason code — anything else is a crash. Printed: cases, cases/s of the
parse + validation (generating the cases is timed apart), the refusal codes and distinct reason
messages hit, crashes (must be 0; each is printed with its input), the slowest case, and the
limit measured in the same run on the very same bytes: plain ``json.loads`` (the ratio says
what the strict reader, the envelope checks and the pydantic bodies cost on top of decoding).

``--stateful N``: the state machine of ``tests/integration/test_state_machine.py`` (imports,
submissions, key rotations, revocations, erasures, valid and invalid) for N examples of up to
``--steps`` steps, on each backend; prints its time and the outcomes it met. Not a timed test.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import os
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from ledger.errors import Refused  # noqa: E402
from ledger.keys.signing import parse_line  # noqa: E402
from support import fuzz  # noqa: E402


def _template(message: str) -> str:
    """A refusal message without its particular values: what counts as one distinct reason."""
    message = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "…", message)
    message = re.sub(r"\d+", "N", message)
    return message[:90]


def _timed(data: bytes) -> float:
    started = time.perf_counter()
    with contextlib.suppress(Exception):
        fuzz.run_case(data)
    return time.perf_counter() - started


def campaign(seed: int, n: int) -> dict[str, Any]:
    started = time.perf_counter()
    cases = list(fuzz.cases(seed, n))
    generated = time.perf_counter() - started
    outcomes: Counter[str] = Counter()
    reasons: set[str] = set()
    crashes: list[dict[str, Any]] = []
    times: list[tuple[float, int]] = []
    started = time.perf_counter()
    for i, case in enumerate(cases):
        t0 = time.perf_counter()
        try:
            outcome = fuzz.run_case(case.data)
        except Exception as exc:  # the oracle's "never": a crash, reported with its input
            crashes.append({"mutation": case.mutation, "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                            "input": case.data[:300].decode("utf-8", "backslashreplace"),
                            "bytes": len(case.data)})  # fmt: skip
            outcome = "CRASH"
        times.append((time.perf_counter() - t0, i))
        outcomes[outcome] += 1
    parsed = time.perf_counter() - started
    # The slowest cases again, best of 3: a single time includes garbage-collector pauses.
    slowest = (0.0, "", 0)
    for _, i in heapq.nlargest(20, times):
        best = min(_timed(cases[i].data) for _ in range(3))
        if best > slowest[0]:
            slowest = (best, cases[i].mutation, len(cases[i].data))
    for case in cases:  # the reasons' messages, outside the timed loop
        try:
            item = parse_line(case.data.decode("utf-8"), None)
        except (UnicodeDecodeError, Exception):
            continue
        if isinstance(item.error, Refused):
            reasons.add(f"{item.error.code}: {_template(str(item.error))}")
    started = time.perf_counter()
    for case in cases:
        with contextlib.suppress(ValueError, RecursionError):
            json.loads(case.data)
    plain = time.perf_counter() - started
    return {
        "cases": n, "seed": seed, "mutations": len(fuzz.MUTATIONS),
        "cases_per_s": round(n / parsed), "generated_per_s": round(n / generated),
        "json_loads_per_s": round(n / plain), "ratio_vs_json_loads": round(plain / parsed, 3),
        "valid": outcomes["valid"], "refusal_codes": {k: v for k, v in sorted(outcomes.items()) if k not in ("valid", "CRASH")},
        "distinct_refusal_codes": len([k for k in outcomes if k not in ("valid", "CRASH")]),
        "distinct_reasons": len(reasons), "crashes": len(crashes), "crash_cases": crashes[:20],
        "max_single_ms": round(max(times)[0] * 1000, 2) if times else 0, "slowest_case_ms": round(slowest[0] * 1000, 2), "slowest_mutation": slowest[1], "slowest_bytes": slowest[2],
        "max_case_bytes": fuzz.MAX_CASE,
    }  # fmt: skip


def stateful(examples: int, steps: int, backend: str) -> dict[str, Any]:
    os.environ["LEDGER_STATEFUL_EXAMPLES"] = str(examples)
    os.environ["LEDGER_STATEFUL_STEPS"] = str(steps)
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    import test_state_machine as machine

    from support.pg import drop_pg_database, fresh_pg_database

    machine.EXAMPLES, machine.STEPS = examples, steps
    machine.SEEN.clear()
    root = Path(tempfile.mkdtemp(prefix="bench-fuzz-"))
    started = time.perf_counter()
    if backend == "sqlite":
        machine.test_any_sequence_of_actions_keeps_the_ledger_sound(f"sqlite:///{root / 'ledger.db'}", root)
    else:
        url, name = fresh_pg_database()
        try:
            machine.test_any_sequence_of_actions_keeps_the_ledger_sound(url, root)
        finally:
            drop_pg_database(name)
    return {"backend": backend, "examples": examples, "max_steps": steps,
            "seconds": round(time.perf_counter() - started, 1), "outcomes": dict(sorted(machine.SEEN.items()))}  # fmt: skip


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--stateful", type=int, default=0, metavar="N", help="state-machine examples per backend")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--json", action="store_true")
    return parser


def main() -> None:
    args = arguments().parse_args()
    report: dict[str, Any] = {}
    if args.cases:
        report["envelopes"] = campaign(args.seed, args.cases)
    if args.stateful:
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        report["stateful"] = [stateful(args.stateful, args.steps, b) for b in backends]
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        _print(report)
    if report.get("envelopes", {}).get("crashes"):
        sys.exit(1)


def _print(report: dict[str, Any]) -> None:
    if "envelopes" in report:
        r = report["envelopes"]
        print(f"envelope parsing: {r['cases']:,} cases (seed {r['seed']}, {r['mutations']} mutations, "
              f"≤ {r['max_case_bytes'] // 1024} KiB each)")  # fmt: skip
        print(f"  {r['cases_per_s']:,} cases/s parsed and validated; plain json.loads of the same bytes "
              f"{r['json_loads_per_s']:,}/s (ratio {r['ratio_vs_json_loads']}); generating {r['generated_per_s']:,}/s")  # fmt: skip
        print(f"  valid {r['valid']:,}; refused: " + ", ".join(f"{k} {v:,}" for k, v in r["refusal_codes"].items()))
        print(f"  {r['distinct_refusal_codes']} refusal codes, {r['distinct_reasons']} distinct reasons; "
              f"slowest case {r['slowest_case_ms']} ms best of 3 ({r['slowest_mutation']}, {r['slowest_bytes']:,} bytes; "
              f"{r['max_single_ms']} ms once, with pauses)")  # fmt: skip
        print(f"  crashes: {r['crashes']}")
        for crash in r["crash_cases"]:
            print(f"    {crash['mutation']}: {crash['error']}\n      input ({crash['bytes']} bytes): {crash['input'][:200]}")
    for s in report.get("stateful", []):
        print(f"state machine on {s['backend']}: {s['examples']} examples of ≤ {s['max_steps']} steps in {s['seconds']} s")
        print("  " + ", ".join(f"{k.strip()} {v}" for k, v in s["outcomes"].items()))


if __name__ == "__main__":
    main()
