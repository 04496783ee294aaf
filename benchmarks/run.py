"""The benchmark suite in one command: every ratio against its limit, measured in the same run.

    python benchmarks/run.py [--quick] [--json] [--out FILE]

Runs, one after another on this machine, the focused benchmarks and collects their JSON. Each
is measured on SQLite and on PostgreSQL, at 10k and 100k events, and 1M without ``--quick``
(growth: a linear cost keeps its rate):

* ``bench_ingest.py``  — import and submit vs the Ed25519 verify limit and bare eventsourcing;
* ``bench_rebuild.py`` — projection rebuild (read models, balances, anomaly rules) vs raw log
  read + decode; it builds the signed CityMix ledgers (cached in /tmp/bench_rebuild and in
  PostgreSQL databases ``bench_rebuild_<size>``) that the next step reuses;
* ``bench_verify.py``  — ``verify`` of those ledgers vs the Ed25519 limit × cores;
* ``bench_proofs.py``  — inclusion / consistency proof latency p50/p99;
* ``bench_report.py`` — ``report monthly`` for the city (JSON, HTML) and a county vs the raw log read;
* ``bench_api.py`` — HTTP single submits (1, 8, 32 keep-alive clients) and 1,000-envelope batches
  through ``serve`` vs direct library append of the same kind of signed envelopes; and (``--reads``) a
  flag, a leaf with its proof and an inclusion proof over HTTP vs in-process, p50/p99, on rebuild's ledgers;
* ``bench_fuzz.py`` — the structured envelope fuzzer (crashes must be 0) and long state-machine runs;
* ``bench_faults.py`` — kill -9 at random points of import, rebuild and checkpoint, a lost PostgreSQL
  server and a full disk (failures must be 0);
* ``bench_detection.py`` — recall and precision of the anomaly rules on the simulator's
  injected truth, in business order and in a migration order (small scale; the city and the
  order property over 200 migration orders too without ``--quick``).
* ``bench_trace.py`` — ``trace payment`` p50/p99 over random payments (every signature re-verified,
  every inclusion proved) vs the raw log read, on the same ledgers;
* ``bench_reconcile.py`` — a GBK bank statement of 10k (and 100k) lines reconciled against a
  ledger of as many payments, vs bare ``csv`` + decode of the same file; peak RSS.

Each script can also run alone (see its own docstring). ``--quick`` keeps the whole run under
ten minutes here on a first run (ledgers are built; later runs reuse them); the full run's
figures are recorded in ``docs/performance.md``. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import bench_ledger  # noqa: E402

REBUILD_DIR = Path("/tmp/bench_rebuild")


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    """(name, script + arguments) in running order; verify reuses the ledgers rebuild built."""
    sizes = ["10000", "100000"] if quick else ["10000", "100000", "1000000"]
    steps: list[tuple[str, list[str]]] = [
        ("ingest", ["bench_ingest.py", "--backend", "both", "--json",
                    *(["--events", "4000", "--singles", "400", "--runs", "1"] if quick
                      else ["--events", "8000", "--singles", "1000", "--runs", "3"])]),
        ("rebuild", ["bench_rebuild.py", "--backend", "both", "--json", "--dir", str(REBUILD_DIR),
                     "--events", *sizes, "--rules", "on" if quick else "both"]),
    ]  # fmt: skip
    for backend in ("sqlite", "postgres"):
        for spec in sizes:
            target = bench_ledger(REBUILD_DIR, "rebuild", backend, spec)
            rounds = "1" if quick or spec == "1000000" else "3"
            steps.append((f"verify_{backend}_{spec}",
                          ["bench_verify.py", "--db", target.url, "--keys", str(target.keys), "--rounds", rounds]))  # fmt: skip
    steps += [
        (
            "proofs",
            [
                "bench_proofs.py",
                "--backend",
                "both",
                "--sizes",
                *sizes,
                "--samples",
                "500" if quick else "2000",
            ],
        ),
        # issue 16: both orders' recall and precision; the order property over 200 migration orders in the full run
        ("detection", ["bench_detection.py", "--json", *([] if quick else ["--city", "--property-examples", "200"])]),
        # issue 15: the monthly report (city JSON and HTML, a county) beside the raw log read, on the same ledgers
        ("report", ["bench_report.py", "--backend", "both", "--json", "--dir", str(REBUILD_DIR), "--events", *sizes,
                    "--runs", "1" if quick else "3"]),
        # issue 15: trace payment p50/p99 over random payments vs the raw log read (10k CityMix has no payments yet)
        ("trace", ["bench_trace.py", "--backend", "both", "--json", "--dir", str(REBUILD_DIR), "--events", *sizes[1:],
                   "--samples", "200" if quick else "1000"]),
        # issue 14: a bank statement reconciled against the ledger vs bare csv + decode of it
        ("reconcile", ["bench_reconcile.py", "--backend", "both", "--json",
                       "--lines", *(["10000"] if quick else ["10000", "100000"])]),
        # issue 12: the envelope fuzzer (100k cases) and the kill -9 / lost-server / full-disk campaign
        # issue 13: HTTP writes (singles from 1/8/32 clients, 1,000-envelope batches) vs direct append
        ("api", ["bench_api.py", "--backend", "both", "--json",
                 *(["--singles", "200", "--batches", "2"] if quick else ["--singles", "1000", "--batches", "10", "--runs", "3"])]),
        # issue 13: reads (a flag, a leaf with its proof, an inclusion proof) over HTTP vs in-process, on rebuild's ledgers
        ("api_reads", ["bench_api.py", "--backend", "both", "--json", "--dir", str(REBUILD_DIR), "--reads", *sizes,
                       "--samples", "500" if quick else "2000"]),
        ("fuzz", ["bench_fuzz.py", "--json", "--cases", "20000" if quick else "100000"]),
        ("faults", ["bench_faults.py", "--json", "--points", "12" if quick else "100",
                    *(["--lines", "1000"] if quick else [])]),
    ]  # fmt: skip
    return steps


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


def run_step(command: list[str]) -> tuple[int, str, list[str]]:
    """Run one script: its stderr (progress, human summary) streams through, its stdout is kept."""
    child = subprocess.Popen([sys.executable, str(HERE / command[0]), *command[1:]], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, bufsize=1)  # fmt: skip
    tail: deque[str] = deque(maxlen=5)

    def pump() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            tail.append(line.rstrip())
            print(f"    {line.rstrip()}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    out = child.stdout.read() if child.stdout else ""
    code = child.wait()
    thread.join()
    return code, out, list(tail)


def main() -> None:
    parser = argparse.ArgumentParser(description="run every benchmark and print the ratios")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no 1M runs (< 10 min)")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--out",
        type=Path,
        help="also keep the report in this file, rewritten after every step "
        "(a run of hours that stops early keeps the steps it finished)",
    )
    args = parser.parse_args()
    began = time.monotonic()
    report: dict[str, Any] = {"quick": args.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                              "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                                          "platform": platform.platform()}}  # fmt: skip
    steps = plan(args.quick)
    for number, (name, command) in enumerate(steps, 1):
        print(f"[{number}/{len(steps)} {time.monotonic() - began:6.0f} s] {name}: {' '.join(command)}",
              file=sys.stderr, flush=True)  # fmt: skip
        started = time.monotonic()
        code, out, tail = run_step(command)
        report[name] = {"seconds": round(time.monotonic() - started, 1), "exit": code, "result": first_json(out),
                        **({"stderr_tail": tail} if code else {})}  # fmt: skip
        if args.out:
            save(args.out, report)
        if not args.json:
            print(f"== {name} ({report[name]['seconds']} s) ==")
            print(out.strip()[-3000:])
    report["total_seconds"] = round(time.monotonic() - began, 1)
    report["ratios"] = ratios(report)
    failed = [name for name, _ in steps if report[name]["exit"] != 0]
    report["failed"] = failed
    if args.out:
        save(args.out, report)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print("== ratios ==")
        for key, value in report["ratios"].items():
            print(f"  {key}: {value}")
    print(f"[done] {len(steps)} steps in {report['total_seconds']:.0f} s"
          + (f"; FAILED: {', '.join(failed)}" if failed else ""), file=sys.stderr)  # fmt: skip
    if failed:
        sys.exit(1)


def save(path: Path, report: dict[str, Any]) -> None:
    """The report so far, replaced whole (a reader never sees half a file)."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)


def label(row: dict[str, Any], index: int) -> str:
    """A list row's name in the ratio keys: what distinguishes it (backend, size, rules)."""
    parts = [str(row[k]) for k in ("backend", "scale", "events", "leaves") if k in row]
    if "rules" in row:
        parts.append("rules " + ("on" if row["rules"] else "off"))
    return "/".join(parts) or str(index)


# A headline figure: a key (or its parent, as in ratio.cryptography) that starts with one of these
# words — so STD-DURATION's figures, say, are not taken for a ratio.
HEADLINE = re.compile(r"(^|[._\[])(ratio|recall|precision|p99)")


def ratios(report: dict[str, Any]) -> dict[str, Any]:
    """Pull the headline ratios out of each script's JSON, whatever shape it has."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else key, sub)
        elif isinstance(value, list):
            for i, sub in enumerate(value):
                walk(f"{prefix}[{label(sub, i) if isinstance(sub, dict) else i}]", sub)
        elif isinstance(value, (int, float)) and HEADLINE.search(".".join(prefix.lower().split(".")[-2:])):
            out[prefix] = value

    for name, entry in report.items():
        if isinstance(entry, dict) and "result" in entry:
            walk(name, entry["result"])
    return out


if __name__ == "__main__":
    main()
