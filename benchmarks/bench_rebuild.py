"""Benchmark: projection rebuild rate against the raw log read rate, in one run (DESIGN §8).

    .venv/bin/python benchmarks/bench_rebuild.py                  # city (simulator) and 1M
    .venv/bin/python benchmarks/bench_rebuild.py --events city 200000 --rules off
    .venv/bin/python benchmarks/bench_rebuild.py --events 10000 100000 --backend both --json

Each size is a ledger built once per backend and reused (a SQLite file in --dir, or with
``--backend postgres|both`` a PostgreSQL database, see ``common.py``): ``city`` is the project's
simulator at city scale (``simulator.simulate``, DESIGN §8's reference mix, ~281k events), signed
as ``import --sign`` signs it; a number N is about N events of this file's CityMix, which has
the simulator's shape (labourers, classes with daily attendance of the whole class,
inspections, certificates, training / living-allowance / employer claims, approvals, payments,
a few returns and recoveries) and exists because one simulated city is smaller than 1M events.
Like a real log it is chronological (five classes start a day; the cohorts' events are merged by
time) and mostly clean: its flags are the ~2 % of attendance days signed ten days late and what
few its random ages and categories raise (version 1 of this mix emitted whole cohorts one after
another and paid at weekends, so every claim looked 90 days stale when approved, and about 15 %
of its events raised or withdrew a flag — a flag storm, not a programme).
Every event is signed with real keys and appended through ``Ledger.append``.

Then, in a fresh child process per size (so peak RSS is that run's own):
1. raw: ``ledger.leaves()`` + JSON decode of every leaf — the floor a rebuild cannot beat;
2. a catch-up, so the projection is fully populated (instant when an earlier run did it);
3. rebuild: ``projections.runner.catchup.rebuild`` — drop the populated tables, recreate, replay
   every leaf: what ``subsidy-ledger rebuild`` costs on a live ledger (with the rules on, from
   ``PARALLEL_FROM`` leaves, on two processes: ``rebuild_processes``; ``rebuild_cpu_s`` is this
   process's CPU, ``rebuild_child_cpu_s`` the rules' replay process's);
4. with the rules on, in another fresh child, ``projections.runner.catchup.rebuild_only`` of the
   anomaly tables — what ``subsidy-ledger rebuild --anomalies`` costs: the log replayed in
   memory, only the flags and the rules' state written (``anomaly_rebuild_s``, its own raw read
   ``anomaly_raw_s`` and ``anomaly_ratio``, its peak ``anomaly_peak_rss_mib``);
and prints, as JSON on stdout and then as a table on stderr, events/s of both, their ratio, the
rebuild's CPU seconds (the machine is shared: CPU time shows what wall time hides; on PostgreSQL
the server's own CPU is not in it) and the child's peak RSS — which includes the rows the rebuild
keeps between batches, up to ``cache_rows`` (``LEDGER_PROJECTIONS_CACHE_ROWS``; 0 measures the
batch-by-batch loading of earlier versions; see docs/projections.md). ``--rules off`` measures the
read models and postings alone (no plugin hooks such as the anomaly rules), ``on`` the whole
projection, ``both`` (default) each. Not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import itertools
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import backends, bench_ledger, database_mib  # noqa: E402

COUNTIES = ["640402", "640422", "640423", "640424", "640425"]
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


# --- a realistic event mix -------------------------------------------------------------------------
def actors() -> list[tuple[str, str, str, str]]:
    out = [("apc", "appraisal_center", "640400", "固原市职业技能鉴定中心"),
           ("insp", "inspector", "640400", "固原市纪委监委")]  # fmt: skip
    for c in COUNTIES:
        out += [
            (f"pov-{c}", "poverty_office", c, f"{c} 扶贫办"),
            (f"hr-{c}", "hr_bureau", c, f"{c} 人社局"),
            (f"fin-{c}", "finance_bureau", c, f"{c} 财政局"),
            (f"emp-{c}", "employer", c, f"{c} 扶贫车间"),
        ] + [(f"inst-{c}-{k}", "institution", c, f"{c} 培训机构 {k}") for k in range(3)]
    return out


def at(day: dt.date, hour: int = 10) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI).isoformat()


FIRST_START = dt.date(2018, 7, 1)
CLASSES_PER_DAY = 5
FUND_YEARS = tuple(range(2018, 2026))  # 1M events start classes until mid-2020; more run past it
MIX_VERSION = 3  # 2 and 3: chronological and mostly clean (1 raised a flag for ~15 % of its events)


def cohort_start(i: int) -> dt.date:
    """Five classes start each day from July 2018: 1M events are ~3,450 classes, starting until
    May 2020 (version 2 wrapped back to 2018 after 860 days, so 1M events ended in a flag storm
    of their own). Sizes beyond ~2.5M events run past the funds' years."""
    return FIRST_START + dt.timedelta(days=i // CLASSES_PER_DAY)


def next_working_day(day: dt.date) -> dt.date:
    from ledger.domain import holidays

    return day if not holidays.covers(day) or holidays.is_working_day(day) else holidays.next_working_day(day)


class CityMix:
    """Deterministic intents ``(actor, type, at, body)`` in the shape of a county programme."""

    def __init__(self, seed: int = 2018):
        self.rng = random.Random(seed)
        self.n = 0

    def funds(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        for year in FUND_YEARS:
            for c in COUNTIES:
                for purpose in ("training", "living_allowance", "employer"):
                    yield (f"fin-{c}", "FundAllocated", at(dt.date(year, 1, 1), 0), {
                        "fund_id": f"F-{year}-{c}-{purpose}", "jurisdiction": c, "source": "central",
                        "purpose": purpose, "year": year, "amount_fen": 2_000_000_000_00})  # fmt: skip

    def stream(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """Every cohort's events and the funds' allocations, merged by time as a real log is: a
        cohort opens when its first event (registration, 40 days before its start) is due; each
        cohort keeps its own order (a payment after its approval)."""
        heap: list[tuple[str, int, tuple[str, str, str, dict[str, Any]], Iterator[Any]]] = []
        tie = itertools.count()

        def push(events: Iterator[tuple[str, str, str, dict[str, Any]]]) -> None:
            item = next(events, None)
            if item is not None:
                heapq.heappush(heap, (item[2], next(tie), item, events))

        push(self.funds())
        i = 0
        while True:
            while not heap or at(cohort_start(i) - dt.timedelta(days=40)) <= heap[0][0]:
                push(self.cohort(i))
                i += 1
            _, _, item, events = heapq.heappop(heap)
            yield item
            push(events)

    def cohort(self, i: int) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        rng, c = self.rng, COUNTIES[i % len(COUNTIES)]
        inst, pov, hr, fin, emp = f"inst-{c}-{i % 3}", f"pov-{c}", f"hr-{c}", f"fin-{c}", f"emp-{c}"
        start = cohort_start(i)
        size = rng.randint(20, 45)
        days = rng.randint(20, 28)
        end = start + dt.timedelta(days=days - 1)
        cls = f"C-{i:06d}"
        people = [f"L-{i:06d}-{k:02d}" for k in range(size)]
        for k, lid in enumerate(people):
            yield (pov, "LaborerRegistered", at(start - dt.timedelta(days=40)), {
                "laborer_id": lid, "household_id": f"H-{i:06d}-{k // 2:02d}", "jurisdiction": c,
                "township": "吉强镇", "village": "龙王坝村", "birth_date": f"{rng.randint(1962, 2002)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "gender": rng.choice(["male", "female"]), "category": rng.choice(["poor"] * 8 + ["eco_migrant"]),
                "id_fingerprint": f"{i:032x}{k:032x}", "pii_commitment": f"{k:032x}{i:032x}"})  # fmt: skip
            yield (pov, "IdentityConfirmed", at(start - dt.timedelta(days=35)), {"laborer_id": lid, "basis": "建档立卡系统比对"})
        in_catalog = rng.random() < 0.5
        yield (inst, "ClassOpeningRequested", at(start - dt.timedelta(days=20)), {
            "class_id": cls, "programme": rng.choice(["employment_skill", "special_ability"]),
            "occupation": rng.choice(["中式烹调", "家政服务", "电工", "焊工", "农机驾驶"]), "in_catalog": in_catalog,
            "jurisdiction": c, "site": "实训楼", "planned_start": start.isoformat(), "planned_end": end.isoformat(),
            "capacity": 50, "hours_per_day": 8, "practical_percent": 70, "subsidy_per_trainee_fen": 150000})  # fmt: skip
        yield (hr, "ClassOpeningApproved", at(start - dt.timedelta(days=10)), {"class_id": cls})
        for lid in people:
            yield (inst, "TraineeEnrolled", at(start - dt.timedelta(days=3)), {"class_id": cls, "laborer_id": lid})
        dropped = set(rng.sample(people, rng.randint(0, 2)))
        for lid in dropped:
            yield (inst, "TraineeWithdrawn", at(start + dt.timedelta(days=3)), {"class_id": cls, "laborer_id": lid, "reason": "外出务工"})
        stayed = [p for p in people if p not in dropped]
        mid = start + dt.timedelta(days=days // 2)
        seen: list[str] = []
        for d in range(days):
            day = start + dt.timedelta(days=d)
            present = [p for p in stayed if rng.random() > 0.04]
            if day == mid:
                seen = present
            signed = day + dt.timedelta(days=10 if rng.random() < 0.02 else 0)
            yield (inst, "AttendanceRecorded", at(signed, 18), {
                "class_id": cls, "date": day.isoformat(),
                "trainees": [{"laborer_id": p, "theory_hours": 2, "practical_hours": 6} for p in present]})  # fmt: skip
        yield ("insp", "InspectionRecorded", at(mid), {
            "inspection_id": f"I-{i:06d}", "method": "site_visit", "subject_kind": "class", "subject_id": cls,
            "date": mid.isoformat(), "class_id": cls, "present": seen, "absent": [],
            "checklist": dict.fromkeys(("plan", "teachers", "facilities", "practical", "textbooks", "attendance"), True),
            "findings": [], "verdict": "pass"})  # fmt: skip
        yield (inst, "ClassCompleted", at(end), {"class_id": cls, "end_date": end.isoformat(), "completers": stayed})
        yield (hr, "CompletionReviewed", at(end + dt.timedelta(days=5)), {"class_id": cls, "approved": True, "note": "合格"})
        certs = {}
        for lid in stayed:
            certs[lid] = f"{'Q' if in_catalog else 'T'}-{lid}"
            yield ("apc" if in_catalog else inst, "CertificateIssued", at(end + dt.timedelta(days=2)), {
                "certificate_no": certs[lid],
                "certificate_type": "vocational_qualification" if in_catalog else "training_completion", "laborer_id": lid,
                "class_id": cls, "occupation": "中式烹调", "issued_on": (end + dt.timedelta(days=2)).isoformat()})  # fmt: skip
        claim = f"CL-{i:06d}"
        lines = [{"laborer_id": lid, "amount_fen": 150000, "certificate_no": certs[lid]} for lid in stayed]
        yield (inst, "SubsidyClaimed", at(end + dt.timedelta(days=10)), {
            "claim_id": claim, "kind": "training", "class_id": cls, "lines": lines,
            "payee_account": f"{i:064x}", "total_fen": 150000 * len(lines)})  # fmt: skip
        yield (pov, "ClaimIdentityVerified", at(end + dt.timedelta(days=14)), {"claim_id": claim, "rejected_laborers": []})
        yield (hr, "ClaimApproved", at(end + dt.timedelta(days=20)), {
            "claim_id": claim, "lines": [{"laborer_id": ln["laborer_id"], "amount_fen": ln["amount_fen"]} for ln in lines],
            "total_fen": 150000 * len(lines)})  # fmt: skip
        paid_on = next_working_day(end + dt.timedelta(days=30))
        year = paid_on.year
        yield (fin, "PaymentDisbursed", at(paid_on), {
            "payment_id": f"P-{i:06d}", "claim_id": claim, "fund_id": f"F-{year}-{c}-training",
            "amount_fen": 150000 * len(lines), "payee_account": f"{i:064x}", "bank_reference": f"B{i:08d}",
            "value_date": paid_on.isoformat()})  # fmt: skip
        if rng.random() < 0.02:
            yield (fin, "PaymentReturned", at(paid_on + dt.timedelta(days=3)), {"payment_id": f"P-{i:06d}", "reason": "账户冻结"})
        if rng.random() < 0.02:
            yield (fin, "FundsRecovered", at(paid_on + dt.timedelta(days=60)), {
                "recovery_id": f"R-{i:06d}", "claim_id": claim, "amount_fen": 150000, "reason": "虚报冒领"})  # fmt: skip
        for k, lid in enumerate(stayed[: len(stayed) // 3]):
            lc = f"LA-{i:06d}-{k:02d}"
            yield (inst, "SubsidyClaimed", at(end + dt.timedelta(days=11)), {
                "claim_id": lc, "kind": "living_allowance", "class_id": cls,
                "lines": [{"laborer_id": lid, "amount_fen": 30000}], "payee_account": f"{i:032x}{k:032x}", "total_fen": 30000})  # fmt: skip
            yield (hr, "ClaimApproved", at(end + dt.timedelta(days=21)), {
                "claim_id": lc, "lines": [{"laborer_id": lid, "amount_fen": 30000}], "total_fen": 30000})  # fmt: skip
            yield (fin, "PaymentDisbursed", at(paid_on), {
                "payment_id": f"PL-{i:06d}-{k:02d}", "claim_id": lc, "fund_id": f"F-{year}-{c}-living_allowance",
                "amount_fen": 30000, "payee_account": f"{i:032x}{k:032x}", "bank_reference": f"BL{i:06d}{k:02d}",
                "value_date": paid_on.isoformat()})  # fmt: skip
        hired = stayed[: len(stayed) // 5]
        for k, lid in enumerate(hired):
            job = f"E-{i:06d}-{k:02d}"
            first = dt.date(end.year + (end.month // 12), end.month % 12 + 1, 1)
            yield (emp, "EmploymentStarted", at(first), {"employment_id": job, "laborer_id": lid, "position": "操作工",
                                                         "start_date": first.isoformat(), "class_id": cls})  # fmt: skip
            months = []
            for m in range(6):
                y, mo = first.year + (first.month - 1 + m) // 12, (first.month - 1 + m) % 12 + 1
                months.append(f"{y}-{mo:02d}")
                yield (emp, "PayrollRecorded", at(dt.date(y, mo, 28)), {"employment_id": job, "month": months[-1], "wage_fen": 260000})
            proof_day = dt.date(int(months[-1][:4]), int(months[-1][5:]), 28) + dt.timedelta(days=5)
            yield (emp, "EmploymentProofSubmitted", at(proof_day), {"employment_id": job, "months": months})
        if hired:
            ec = f"EC-{i:06d}"
            proof_day = end + dt.timedelta(days=220)
            elines = [{"laborer_id": lid, "amount_fen": 100000, "employment_id": f"E-{i:06d}-{k:02d}"} for k, lid in enumerate(hired)]
            yield (emp, "SubsidyClaimed", at(proof_day), {"claim_id": ec, "kind": "employer", "lines": elines,
                                                           "payee_account": f"{i + 7:064x}", "total_fen": 100000 * len(elines)})  # fmt: skip
            yield (hr, "ClaimApproved", at(proof_day + dt.timedelta(days=10)), {
                "claim_id": ec, "lines": [{"laborer_id": ln["laborer_id"], "amount_fen": 100000} for ln in elines],
                "total_fen": 100000 * len(elines)})  # fmt: skip
            pay_day = next_working_day(proof_day + dt.timedelta(days=20))
            yield (fin, "PaymentDisbursed", at(pay_day), {
                "payment_id": f"PE-{i:06d}", "claim_id": ec, "fund_id": f"F-{pay_day.year}-{c}-employer",
                "amount_fen": 100000 * len(elines), "payee_account": f"{i + 7:064x}", "bank_reference": f"BE{i:08d}",
                "value_date": pay_day.isoformat()})  # fmt: skip


def build(url: str, keys: Path, events: int | None) -> int:
    """A ledger: the simulator's city mix (``events`` None), else ~``events`` of CityMix."""
    from ledger.service import Session

    session = Session.open(url, keys)
    session.checkpoint_interval = 3600
    session.init()
    size = _build_simulated(session) if events is None else _build_generated(session, events)
    session.checkpoint()
    session.close()
    return size


def _append(session: Any, items: list[Any]) -> int:
    outcomes = session.ledger.append(items)
    return sum(1 for out in outcomes if out.status == "accepted")


def _build_simulated(session: Any) -> int:
    """The project's simulator (DESIGN §8's reference mix): city scale, signed like import --sign."""
    from ledger.errors import Refused
    from simulator import simulate

    sim = simulate("city", seed=2019)
    for spec in sim.actors:
        session.add_actor(spec.actor_id, spec.role, spec.jurisdiction, spec.name, None, spec.uscc)
    signer, batch, started = session.signer(), [], time.perf_counter()
    for intent in sim.intents():
        if "key_of" in intent:  # the injected late revocation needs the lead's key lookup: skip it
            continue
        try:
            batch.append(signer.sign(intent))
        except Refused:
            continue
        if len(batch) == 1000:
            _append(session, batch)
            batch = []
            size = session.ledger.size()
            if size % 50_000 < 1000:
                print(f"  built {size} events ({size / (time.perf_counter() - started):,.0f}/s)", file=sys.stderr)
    if batch:
        _append(session, batch)
    return int(session.ledger.size())


def _build_generated(session: Any, events: int) -> int:
    """This file's CityMix, for sizes beyond one simulated city (same shape, see the docstring)."""
    from ledger.application import Item
    from ledger.domain.envelope import Envelope, sign_envelope

    for actor_id, role, code, name in actors():
        session.add_actor(actor_id, role, code, name)
    mix, signing_keys = CityMix(), {}
    n = session.ledger.size()
    started = time.perf_counter()
    batch: list[Item] = []
    for actor, kind, when, body in mix.stream():
        if n + len(batch) >= events:
            break
        key = signing_keys.get(actor) or signing_keys.setdefault(actor, session.keys.actor_key(actor))
        env = sign_envelope({"type": kind, "actor": actor, "at": when, "nonce": f"bench-{n + len(batch):09d}", "body": body}, key)
        batch.append(Item(Envelope.from_dict(env)))
        if len(batch) == 1000:
            assert _append(session, batch) == len(batch)
            n += len(batch)
            batch = []
            if n % 50_000 < 1000:
                print(f"  built {n} events ({n / (time.perf_counter() - started):,.0f}/s)", file=sys.stderr, flush=True)
    if batch:
        _append(session, batch)
    return int(session.ledger.size())


# --- the measurement (in a child process per size) ------------------------------------------------------------
def raw_read(ledger: Any) -> tuple[float, int]:
    """Seconds to read and JSON-decode every leaf (the floor a rebuild cannot beat), and leaves read."""
    t0 = time.perf_counter()
    decoded = 0
    for _seq, _recorded_at, leaf in ledger.leaves(0, None, batch=5000):
        json.loads(leaf)
        decoded += 1
    return time.perf_counter() - t0, decoded


def table_digests(url: str) -> dict[str, str]:
    """SHA-256 of every projection table's rows (all columns, sorted by every column): two rebuilds
    of one ledger that wrote the same rows give the same digests, whatever order they wrote them in."""
    import hashlib

    import sqlalchemy as sa

    from projections import tables as T
    from projections.db import engine_for

    out = {}
    with engine_for(url).connect() as conn:
        for table in sorted(T.metadata.tables.values(), key=lambda t: t.name):
            if table is T.position:
                continue
            digest, rows = hashlib.sha256(), 0
            query = sa.select(table).order_by(*[sa.text(str(i + 1)) for i in range(len(table.columns))])
            for row in conn.exec_driver_sql(str(query.compile(conn))):
                digest.update(repr(tuple(row)).encode() + b"\n")
                rows += 1
            out[table.name] = f"{rows}:{digest.hexdigest()[:16]}"
    return out


def measure(url: str, batch: int, rules: bool, digest: bool = False) -> dict[str, Any]:
    from ledger.application import Ledger
    from projections.runner.catchup import PARALLEL_FROM, cache_rows, catch_up, rebuild
    from projections.runner.registry import load_plugins

    if not rules:  # the base read models and balances alone: no plugin hooks (anomaly rules)
        registry = load_plugins()
        registry.hooks.clear()
        registry.hook_reads.clear()
        registry.owned.clear()  # and no second process replaying the rules' tables

    ledger = Ledger.open(url)
    size = ledger.size()
    raw, decoded = raw_read(ledger)
    t0 = time.perf_counter()
    catch_up(ledger, batch=batch)  # the first projection of a fresh ledger (instant if already projected)
    first = time.perf_counter() - t0
    t0, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rebuild(ledger, batch=batch)  # drops a fully populated projection, then replays every leaf
    took, cpu = time.perf_counter() - t0, time.process_time() - cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the rules' replay process, when there is one
    child_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    processes = 2 if rules and size >= PARALLEL_FROM else 1
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ledger.close()
    digests = {"digests": table_digests(url)} if digest else {}
    return {**digests, "rules": rules, "events": size, "raw_s": raw, "raw_per_s": decoded / raw, "first_catch_up_s": first,
            "rebuild_s": took, "rebuild_cpu_s": cpu, "rebuild_child_cpu_s": child_cpu, "rebuild_processes": processes,
            "rebuild_per_s": size / took, "ratio": took / raw,
            "peak_rss_mib": peak_kib / 1024, "db_mib": database_mib(url), "cache_rows": cache_rows()}  # fmt: skip


def measure_anomalies(url: str, batch: int) -> dict[str, Any]:
    """`rebuild --anomalies` in a fresh process of its own: the anomaly tables alone."""
    from ledger.application import Ledger
    from projections.anomalies import TABLES
    from projections.runner.catchup import catch_up, rebuild_only

    ledger = Ledger.open(url)
    size = ledger.size()
    raw, _decoded = raw_read(ledger)
    catch_up(ledger, batch=batch)
    t0, cpu = time.perf_counter(), time.process_time()
    rebuild_only(ledger, TABLES, batch=batch)
    took, cpu = time.perf_counter() - t0, time.process_time() - cpu
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ledger.close()
    return {"anomaly_rebuild_s": took, "anomaly_rebuild_cpu_s": cpu, "anomaly_rebuild_per_s": size / took,
            "anomaly_raw_s": raw, "anomaly_ratio": took / raw, "anomaly_peak_rss_mib": peak_kib / 1024}  # fmt: skip


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", nargs="+", default=["city", "1000000"],
                        help="sizes: 'city' (the simulator's city scale) or a number of CityMix events")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/bench_rebuild"),
                        help="SQLite ledgers, keystores and build markers (reused across runs)")
    parser.add_argument("--batch", type=int, default=10000, help="leaves per transaction (rebuild's default)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the ledgers even if cached")
    parser.add_argument("--rules", choices=["off", "on", "both"], default="both",
                        help="measure without the plugin hooks (anomaly rules), with them, or both")
    parser.add_argument("--json", action="store_true", help="print only the JSON document on stdout")
    parser.add_argument("--digest", action="store_true",
                        help="after the rebuild, a digest of each projection table's rows (compare two rebuilds)")  # fmt: skip
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-rules", choices=["off", "on", "anomalies"], default="on", help=argparse.SUPPRESS)
    return parser


def ensure_built(folder: Path, backend: str, spec: str, fresh: bool) -> Any:
    """The cached ledger of ``spec`` on ``backend``, built first if missing (or ``fresh``)."""
    target = bench_ledger(folder, "rebuild", backend, spec)
    if fresh or (target.built() or {}).get("mix") != MIX_VERSION:
        target.reset()
        t0 = time.perf_counter()
        size = build(target.url, target.keys, None if spec == "city" else int(spec))
        target.mark_built(events=size, build_s=round(time.perf_counter() - t0, 1), mix=MIX_VERSION)
        print(f"built {size} events on {backend} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return target


def child(url: str, batch: int, rules: str, digest: bool = False) -> dict[str, Any]:
    extra = ["--digest"] if digest else []
    out = subprocess.run([sys.executable, __file__, "--child", url, "--batch", str(batch), "--child-rules", rules,
                          *extra],
                         check=True, capture_output=True, text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    args = arguments().parse_args()
    if args.child:
        url = args.child if "://" in args.child else f"sqlite:///{args.child}"
        if args.child_rules == "anomalies":
            print(json.dumps(measure_anomalies(url, args.batch)))
        else:
            print(json.dumps(measure(url, args.batch, args.child_rules == "on", args.digest)))
        return
    rows = []
    for backend in backends(args.backend):
        for spec in args.events:
            target = ensure_built(args.dir, backend, spec, args.fresh)
            for rules in (["off", "on"] if args.rules == "both" else [args.rules]):
                row = child(target.url, args.batch, rules, args.digest)
                if rules == "on":  # and `rebuild --anomalies`, in a fresh process too
                    row.update(child(target.url, args.batch, "anomalies"))
                rows.append({"backend": backend, "mix": "simulator city" if spec == "city" else "CityMix",
                             **{k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}})  # fmt: skip
                print(rows[-1], file=sys.stderr, flush=True)
    print(json.dumps({"what": "rebuild (drop + replay) vs raw read + decode of the same log; ratio = rebuild s / raw s",
                      "results": rows}, indent=2))  # fmt: skip
    if args.json:
        return
    print(f"{'backend':>8} {'mix':>15} {'rules':>5} {'events':>10} {'raw read+decode/s':>18} {'rebuild/s':>10} {'rebuild s':>10}"
          f" {'cpu s':>6} {'+child':>6} {'ratio':>6} {'peak RSS MiB':>13} {'db MiB':>8}", file=sys.stderr)  # fmt: skip
    for r in rows:
        print(f"{r['backend']:>8} {r['mix']:>15} {'on' if r['rules'] else 'off':>5} {r['events']:>10} {r['raw_per_s']:>18,.0f}"
              f" {r['rebuild_per_s']:>10,.0f} {r['rebuild_s']:>10.1f} {r['rebuild_cpu_s']:>6.1f} {r['rebuild_child_cpu_s']:>6.1f}"
              f" {r['ratio']:>6.1f} {r['peak_rss_mib']:>13.0f} {r['db_mib']:>8.0f}", file=sys.stderr)  # fmt: skip
    for r in rows:
        if "anomaly_rebuild_s" in r:
            print(f"{r['backend']:>8} {r['mix']:>15} {r['events']:>10} events: the anomaly tables alone (rebuild --anomalies)"
                  f" {r['anomaly_rebuild_s']:.1f} s, {r['anomaly_rebuild_cpu_s']:.1f} s CPU,"
                  f" {r['anomaly_rebuild_per_s']:,.0f}/s, ratio {r['anomaly_ratio']:.1f}", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    main()
