"""The benchmark suite stays runnable: run.py's plan matches every script's arguments, and the
scripts that measure both backends really do so, end to end, on tiny real ledgers.

These check the benchmarks work, not how fast anything is (speed is the benchmarks' job).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from support.pg import PG_ADMIN, require_postgres

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def load(script: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{Path(script).stem}", BENCH / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def bench(*args: str) -> dict[str, Any]:
    """Run one benchmark script on the test server; its JSON report."""
    done = subprocess.run([sys.executable, str(BENCH / args[0]), *args[1:]], capture_output=True, text=True,
                          env={**os.environ, "LEDGER_BENCH_PG": PG_ADMIN}, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout))


@pytest.mark.parametrize("quick", [True, False], ids=["quick", "full"])
def test_every_step_of_the_plan_parses_with_its_script(quick: bool) -> None:
    run = load("run.py")
    steps = run.plan(quick)
    assert {command[0] for _, command in steps} == {p.name for p in BENCH.glob("bench_*.py")}
    for name, command in steps:
        parser = load(command[0]).arguments()
        try:
            parser.parse_args(command[1:])
        except SystemExit:
            pytest.fail(f"{name}: {command[0]} rejects {' '.join(command[1:])}")
    names = [name for name, _ in steps]
    sizes = ["10000", "100000"] + ([] if quick else ["1000000"])
    assert [n for n in names if n.startswith("verify_")] == [
        f"verify_{b}_{s}" for b in ("sqlite", "postgres") for s in sizes
    ]


def test_ratios_name_each_row_by_what_distinguishes_it() -> None:
    run = load("run.py")
    report = {"rebuild": {"result": {"results": [
        {"backend": "sqlite", "events": 10, "rules": True, "ratio": 2.0},
        {"backend": "sqlite", "events": 20, "rules": True, "ratio": 3.0},
        {"backend": "postgres", "events": 10, "rules": False, "ratio": 4.0},
    ]}}, "verify_sqlite_10": {"result": {"ratio": {"cryptography": 0.7}, "events": 10}},
              "detection": {"result": {"results": [{"scale": "small", "events": 5, "recall": 1.0,
                                                    "per_rule": {"STD-DURATION": {"evaluations": 21}}}]}}}  # fmt: skip
    assert run.ratios(report) == {
        "rebuild.results[sqlite/10/rules on].ratio": 2.0,
        "rebuild.results[sqlite/20/rules on].ratio": 3.0,
        "rebuild.results[postgres/10/rules off].ratio": 4.0,
        "verify_sqlite_10.ratio.cryptography": 0.7,
        "detection.results[small/5].recall": 1.0,
    }


@pytest.mark.postgres
def test_rebuild_verify_and_proofs_measure_both_backends(tmp_path: Path) -> None:
    require_postgres()
    common = load("common.py")
    names = ["bench_rebuild_300", "bench_proofs_500"]
    try:
        rebuilt = bench("bench_rebuild.py", "--events", "300", "--backend", "both", "--rules", "on", "--json",
                        "--dir", str(tmp_path / "rebuild"))  # fmt: skip
        rows = rebuilt["results"]
        assert [(r["backend"], r["rules"]) for r in rows] == [("sqlite", True), ("postgres", True)]
        assert all(r["events"] == 300 and r["rebuild_s"] > 0 and r["raw_per_s"] > 0 for r in rows)
        assert all(r["anomaly_rebuild_s"] > 0 and r["anomaly_ratio"] > 0 for r in rows)  # rebuild --anomalies
        for backend in ("sqlite", "postgres"):
            target = common.bench_ledger(tmp_path / "rebuild", "rebuild", backend, "300")
            assert target.built()["events"] == 300
            verified = bench(
                "bench_verify.py", "--db", target.url, "--keys", str(target.keys), "--rounds", "1"
            )
            assert verified["backend"] == backend and verified["events"] == 300
            assert verified["checkpoints"] >= 1 and 0 < verified["ratio"]["cryptography"] < 5
        proofs = bench("bench_proofs.py", "--sizes", "500", "--samples", "50", "--backend", "both",
                       "--dir", str(tmp_path / "proofs"))  # fmt: skip
        assert [r["backend"] for r in proofs["results"]] == ["sqlite", "postgres"]
        for r in proofs["results"]:
            assert r["leaves"] == 500 and r["inclusion"]["queries_per_proof"] == 2
            assert 0 < r["inclusion"]["p50_ms"] <= r["inclusion"]["p99_ms"]
    finally:
        for name in names:
            common.drop_pg_database(name)


@pytest.mark.postgres
def test_reconcile_measures_both_backends(tmp_path: Path) -> None:
    require_postgres()
    common = load("common.py")
    try:
        report = bench(
            "bench_reconcile.py", "--lines", "200", "--backend", "both", "--json", "--dir", str(tmp_path)
        )
        rows = report["results"]
        assert [(r["backend"], r["lines"], r["payments"]) for r in rows] == [
            ("sqlite", 200, 200),
            ("postgres", 200, 200),
        ]
        for r in rows:
            assert r["summary"] == {"matched": 200, "skipped": 1}  # every line its payment; the 合计 row
            assert r["rows"] == 207  # the preamble, a blank row, the header, 200 lines and 合计
            assert (
                min(r["parse_lines_per_s"], r["read_lines_per_s"], r["whole_lines_per_s"], r["peak_rss_mib"])
                > 0
            )
    finally:
        common.drop_pg_database("bench_reconcile_200")


def test_api_reads_time_each_endpoint_over_http_and_in_process(tmp_path: Path) -> None:
    """bench_api --reads: a real serve on a tiny bench ledger (built in tmp_path), one sign-in,
    each read endpoint timed over HTTP and the same use case in-process."""
    report = bench("bench_api.py", "--reads", "300", "--backend", "sqlite", "--samples", "20", "--json",
                   "--dir", str(tmp_path))  # fmt: skip
    [row] = report["reads"]
    assert (row["backend"], row["events"], row["samples"], row["workers"]) == ("sqlite", 300, 20, 1)
    for name in ("event", "inclusion"):
        http, direct = row[name]["http"], row[name]["direct"]
        assert http["n"] == direct["n"] == 20
        assert 0 < http["p50_ms"] <= http["p99_ms"] and 0 < direct["p50_ms"] <= direct["p99_ms"]
        assert row[name]["ratio_p50_http_over_direct"] > 0
    assert ("anomaly" in row) == (row["flags"] > 0)  # a 300-event CityMix ledger raises no flag yet
