"""The benchmark suite in one command: every ratio against its limit, measured in the same run.

    python benchmarks/run.py [--quick] [--json]

Runs, one after another on this machine, the focused benchmarks and collects their JSON:

* ``bench_ingest.py``  — import and submit vs the Ed25519 verify limit and bare eventsourcing
  (SQLite and PostgreSQL);
* ``bench_verify.py``  — ``verify`` vs the Ed25519 limit × cores, at several sizes (growth);
* ``bench_rebuild.py`` — projection rebuild (read models, balances, anomaly rules) vs raw log
  read + decode, at several sizes (growth; 1M only without ``--quick``);
* ``bench_proofs.py``  — inclusion / consistency proof latency p50/p99 at 10k, 100k (and 1M);
* ``bench_detection.py`` — recall and precision of the anomaly rules on the simulator's
  injected truth.

Each script can also run alone (see its own docstring). ``--quick`` keeps the whole run under
ten minutes here; the full run's figures are recorded in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    if quick:
        return [
            ("ingest", ["bench_ingest.py", "--events", "4000", "--singles", "400", "--runs", "1", "--json"]),
            ("verify_10k", ["bench_verify.py", "--events", "10000", "--rounds", "1"]),
            ("rebuild", ["bench_rebuild.py", "--events", "10000", "100000", "--rules", "on"]),
            ("proofs", ["bench_proofs.py", "--sizes", "10000", "100000", "--samples", "500"]),
            ("detection", ["bench_detection.py", "--json"]),
        ]
    return [
        ("ingest", ["bench_ingest.py", "--events", "8000", "--singles", "1000", "--runs", "3", "--json"]),
        ("verify_10k", ["bench_verify.py", "--events", "10000"]),
        ("verify_100k", ["bench_verify.py", "--events", "100000"]),
        ("rebuild", ["bench_rebuild.py", "--events", "10000", "100000", "city", "1000000"]),
        ("proofs", ["bench_proofs.py", "--sizes", "10000", "100000", "1000000"]),
        ("detection", ["bench_detection.py", "--json", "--city"]),
    ]


def first_json(text: str) -> Any:
    """The JSON value each script prints before its human summary."""
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char in "{[":
            try:
                return decoder.raw_decode(text[start:])[0]
            except json.JSONDecodeError:
                continue
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description="run every benchmark and print the ratios")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no 1M runs (< 10 min)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    args = parser.parse_args()
    report: dict[str, Any] = {"quick": args.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for name, command in plan(args.quick):
        script = HERE / command[0]
        if not script.exists():
            report[name] = {"skipped": f"{command[0]} not present"}
            continue
        print(f"[run] {name}: {' '.join(command)}", file=sys.stderr, flush=True)
        started = time.monotonic()
        done = subprocess.run([sys.executable, str(script), *command[1:]], capture_output=True, text=True)
        result = first_json(done.stdout)
        report[name] = {
            "seconds": round(time.monotonic() - started, 1),
            "exit": done.returncode,
            "result": result,
            **({"stderr_tail": done.stderr.strip().splitlines()[-3:]} if done.returncode else {}),
        }
        if not args.json:
            print(f"== {name} ({report[name]['seconds']} s) ==")
            print(done.stdout.strip()[-3000:])
    report["ratios"] = ratios(report)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print("== ratios ==")
        for key, value in report["ratios"].items():
            print(f"  {key}: {value}")


def ratios(report: dict[str, Any]) -> dict[str, Any]:
    """Pull the headline ratios out of each script's JSON, whatever shape it has."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                label = sub.get("backend") or sub.get("events") or sub.get("size") or i if isinstance(sub, dict) else i
                walk(f"{prefix}[{label}]", sub)
        elif isinstance(value, (int, float)) and any(
            word in prefix.lower() for word in ("ratio", "recall", "precision", "p99")
        ):
            out[prefix] = value

    for name, entry in report.items():
        if isinstance(entry, dict) and "result" in entry:
            walk(name, entry["result"])
    return out


if __name__ == "__main__":
    main()
