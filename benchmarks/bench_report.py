"""Benchmark: the monthly report (DESIGN §11, issue 15) against the raw log read, in one run.

    .venv/bin/python benchmarks/bench_report.py --events 100000 1000000 --backend both [--json]

Reuses bench_rebuild.py's CityMix ledgers (``--dir``, default /tmp/bench_rebuild, and the
PostgreSQL databases ``bench_rebuild_<size>``; built first when missing) and catches their
projections up (timed apart: a report runs on caught-up projections). Then, in this process:

1. raw: ``ledger.leaves()`` + JSON decode of every leaf — what a report must never do;
2. the city's report as JSON (figures, chart series, JCS bytes) and as HTML (plus rendering);
3. one county's report as JSON (the county with most classes, 640422 in CityMix).

Each report is made ``--runs`` times (median and worst kept), for the log clock's month, at the
latest checkpoint. Targets (issue 15) at 1M events: city < 5 s, county < 2 s. Prints JSON on
stdout and a table on stderr. Not a timed test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_rebuild import ensure_built, raw_read  # noqa: E402
from common import backends  # noqa: E402

COUNTY = "640422"
TARGETS = {"city_s": 5.0, "county_s": 2.0}


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="monthly report time vs raw log read")
    parser.add_argument("--events", nargs="+", default=["100000"], help="CityMix sizes (bench_rebuild.py)")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_rebuild"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="JSON only (no table on stderr)")
    return parser


def timed(runs: int, make: Any) -> tuple[dict[str, float], Any]:
    seconds: list[float] = []
    result = None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = make()
        seconds.append(time.perf_counter() - t0)
    return {"median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3)}, result


def measure(url: str, keys: Path, runs: int) -> dict[str, Any]:
    from api import services
    from api.cli.report import render
    from ledger.encoding.canonical import canonical
    from ledger.service import Session

    session = Session.open(url, keys)
    try:
        t0 = time.perf_counter()
        engine = services.catch_up(session.ledger)
        catch_up_s = time.perf_counter() - t0
        month = (services.position_of(engine, None).clock or "2019-01")[:7]
        raw_s, leaves = raw_read(session.ledger)

        def report(code: str | None, fmt: str) -> bytes:
            found = services.monthly_report(session, month=month, jurisdiction=code)
            if fmt == "json":
                return canonical(found.doc) + b"\n"
            return render("html", found.doc, found.series, "zh")

        city_json, data = timed(runs, lambda: report(None, "json"))
        city_html, page = timed(runs, lambda: report(None, "html"))
        county_json, _ = timed(runs, lambda: report(COUNTY, "json"))
    finally:
        session.close()
    return {"events": leaves, "month": month, "catch_up_s": round(catch_up_s, 1), "raw_read_s": round(raw_s, 2),
            "city_json": city_json, "city_html": city_html, "county_json": county_json,
            "json_bytes": len(data), "html_bytes": len(page),
            "city_vs_raw": round(city_html["median_s"] / raw_s, 3)}  # fmt: skip


def main() -> None:
    args = arguments().parse_args()
    rows = []
    for backend in backends(args.backend):
        for spec in args.events:
            target = ensure_built(args.dir, backend, spec, False)
            row = {"backend": backend, **measure(target.url, target.keys, args.runs)}
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    import json

    print(json.dumps({"what": "report monthly (city JSON, city HTML, county JSON) vs raw read + decode of the log",
                      "targets_at_1M": TARGETS, "results": rows}, indent=2))  # fmt: skip
    if args.json:
        return
    print(f"{'backend':>8} {'events':>9} {'month':>8} {'raw s':>7} {'city json s':>12} {'city html s':>12}"
          f" {'county json s':>14} {'city/raw':>9}", file=sys.stderr)  # fmt: skip
    for r in rows:
        print(f"{r['backend']:>8} {r['events']:>9} {r['month']:>8} {r['raw_read_s']:>7.2f}"
              f" {r['city_json']['median_s']:>12.3f} {r['city_html']['median_s']:>12.3f}"
              f" {r['county_json']['median_s']:>14.3f} {r['city_vs_raw']:>9.3f}", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
