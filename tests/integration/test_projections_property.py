"""Replay equals live state (STYLE.md habit 8), on SQLite and PostgreSQL, for random valid logs.

For a random sequence of events over every event type — built so that most are accepted, and
appended through the real ledger with real signatures — projecting incrementally, in random
batch sizes and random stops while the log grows, gives exactly the rows (a canonical dump of
every ``pj_`` table) that a rebuild from scratch gives; and the trial balance is zero at every
point of the log.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.encoding.canonical import canonical
from projections import tables as T
from projections.db import engine_for
from projections.readmodels.balances import balances
from projections.runner import catchup as runner
from projections.runner.catchup import catch_up, rebuild
from projections.uow import UnitOfWork
from support.kept_rows import compare_kept_rows_at_every_commit
from support.pg import pg_database
from support.scenario import LONGDE, XIJI, Scenario

OPS = (
    "laborer", "laborer", "correct", "identity", "class", "class_decision", "enrol", "enrol", "withdraw",
    "attendance", "attendance", "attendance", "complete", "review", "inspection", "certificate", "revoke",
    "appraisal", "employment", "payroll", "proof", "end_employment", "fund", "adjust", "claim", "claim",
    "claim_decision", "claim_decision", "verify", "payment", "payment", "return", "recover", "reconcile",
    "dispose", "pii", "standard", "rotate",
)  # fmt: skip


class World:
    """Turns (operation, seed) pairs into mostly valid events on a scenario's actors."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        self.laborers: list[str] = []
        self.classes: list[tuple[str, str, str, str]] = []  # (class_id, institution, hr, county)
        self.employments: list[str] = []
        self.funds: list[str] = []
        self.claims: list[tuple[str, str, list[str]]] = []  # (claim_id, claimant, labourers)
        self.payments: list[str] = []
        self.certificates: list[tuple[str, str]] = []  # (certificate_no, issuer)
        self.n = 0

    def new_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n:04d}"

    def do(self, actor: str, kind: str, body: dict[str, Any], day: str) -> None:
        self.sc.do(actor, kind, body, at=f"{day}T10:00:00+08:00")  # refusals are fine: not in the log

    def apply(self, op: str, seed: int) -> None:
        rng = random.Random(seed)
        day = f"2019-{rng.randint(3, 11):02d}-{rng.randint(1, 28):02d}"
        some = lambda items: rng.choice(items) if items else None  # noqa: E731
        if op == "laborer" or not self.laborers:
            lid = self.new_id("L")
            self.laborers.append(lid)
            fp = f"{rng.randint(0, 3):064x}" if rng.random() < 0.2 else None  # duplicate fingerprints
            self.sc.laborer(lid, by=rng.choice(["pov-xj", "tw-jq"]), fp=fp,
                            category=rng.choice(["poor", "eco_migrant", "non_poor"]))  # fmt: skip
            return
        lid = some(self.laborers)
        klass = some(self.classes)
        if op == "correct":
            self.do("pov-xj", "LaborerCorrected", {"laborer_id": lid, "reason": "更正", "category": "poor"}, day)
        elif op == "identity":
            kind = rng.choice(["IdentityConfirmed", "IdentityRejected"])
            field = "basis" if kind == "IdentityConfirmed" else "reason"
            self.do("pov-xj", kind, {"laborer_id": lid, field: "核实"}, day)
        elif op == "class" or klass is None:
            cid = self.new_id("C")
            inst, hr, county = rng.choice([("inst-xj", "hr-xj", XIJI), ("inst-ld", "hr-ld", LONGDE)])
            self.classes.append((cid, inst, hr, county))
            self.sc.klass(cid, code=county, by=inst, programme=rng.choice(["employment_skill", "driver"]))
        elif op == "class_decision":
            kind = rng.choice(["ClassOpeningApproved", "ClassOpeningApproved", "ClassOpeningRejected", "ClassCancelled"])
            body = {"class_id": klass[0]} if kind == "ClassOpeningApproved" else {"class_id": klass[0], "reason": "x"}
            self.do(klass[2], kind, body, day)
        elif op in ("enrol", "withdraw"):
            kind, extra = ("TraineeEnrolled", {}) if op == "enrol" else ("TraineeWithdrawn", {"reason": "外出"})
            self.do(klass[1], kind, {"class_id": klass[0], "laborer_id": lid, **extra}, day)
        elif op == "attendance":
            date = f"2019-05-{rng.randint(1, 4):02d}"  # few days: later records replace earlier ones
            people = [rng.choice(self.laborers) for _ in range(rng.randint(0, 4))]
            trainees = [{"laborer_id": p, "theory_hours": rng.randint(0, 4), "practical_hours": rng.randint(0, 6)}
                        for p in people]  # fmt: skip
            self.do(klass[1], "AttendanceRecorded", {"class_id": klass[0], "date": date, "trainees": trainees}, date)
        elif op == "complete":
            completers = rng.sample(self.laborers, rng.randint(0, min(3, len(self.laborers))))
            self.do(klass[1], "ClassCompleted", {"class_id": klass[0], "end_date": day, "completers": completers}, day)
        elif op == "review":
            self.do(klass[2], "CompletionReviewed", {"class_id": klass[0], "approved": rng.random() < 0.8, "note": ""}, day)
        elif op == "inspection":
            self.do("insp", "InspectionRecorded", {
                "inspection_id": self.new_id("I"), "method": rng.choice(["site_visit", "phone_visit"]),
                "subject_kind": "class", "subject_id": klass[0], "date": day, "class_id": klass[0],
                "present": [lid], "absent": [], "checklist": None,
                "findings": [{"laborer_id": lid, "code": "attendance_denied", "note": ""}], "verdict": "fail"}, day)  # fmt: skip
        elif op == "certificate":
            cert = self.new_id("T")
            self.certificates.append((cert, klass[1]))
            self.do(klass[1], "CertificateIssued", {
                "certificate_no": cert, "certificate_type": "training_completion", "laborer_id": lid,
                "class_id": klass[0], "occupation": "中式烹调", "issued_on": day}, day)  # fmt: skip
        elif op == "revoke" and self.certificates:
            cert, issuer = rng.choice(self.certificates)
            self.do(issuer, "CertificateRevoked", {"certificate_no": cert, "reason": "作废"}, day)
        elif op == "appraisal":
            self.do("apc", "AppraisalFailed", {"laborer_id": lid, "class_id": klass[0], "occupation": "电工", "date": day}, day)
        elif op == "employment":
            job = self.new_id("E")
            self.employments.append(job)
            self.do("emp-xj", "EmploymentStarted", {"employment_id": job, "laborer_id": lid, "position": "工",
                                                    "start_date": day, "class_id": klass[0]}, day)  # fmt: skip
        elif op == "payroll" and self.employments:
            month = f"2019-{rng.randint(5, 8):02d}"  # repeats replace the month's wage
            self.do("emp-xj", "PayrollRecorded", {"employment_id": rng.choice(self.employments), "month": month,
                                                  "wage_fen": rng.randint(0, 300000)}, day)  # fmt: skip
        elif op == "proof" and self.employments:
            self.do("emp-xj", "EmploymentProofSubmitted", {"employment_id": rng.choice(self.employments),
                                                           "months": ["2019-05", "2019-06"]}, day)  # fmt: skip
        elif op == "end_employment" and self.employments:
            self.do("emp-xj", "EmploymentEnded", {"employment_id": rng.choice(self.employments), "end_date": day}, day)
        elif op == "fund" or not self.funds:
            fund = rng.choice(self.funds) if self.funds and rng.random() < 0.3 else self.new_id("F")
            if fund not in self.funds:
                self.funds.append(fund)
            self.do("fin-xj", "FundAllocated", {
                "fund_id": fund, "jurisdiction": XIJI, "source": rng.choice(["central", "region", "county"]),
                "purpose": "training", "year": 2019, "amount_fen": rng.randint(0, 10**7)}, day)  # fmt: skip
        elif op == "adjust":
            self.do("fin-xj", "FundAdjusted", {"fund_id": rng.choice(self.funds),
                                               "delta_fen": rng.randint(-10**6, 10**6), "reason": "调整"}, day)  # fmt: skip
        elif op == "claim":
            self.claim(rng, klass, day)
        elif op == "claim_decision" and self.claims:
            claim_id, claimant, people = rng.choice(self.claims)
            kind = rng.choice(["ClaimApproved", "ClaimApproved", "ClaimRejected", "ClaimWithdrawn"])
            if kind == "ClaimApproved":
                lines = [{"laborer_id": p, "amount_fen": rng.choice([0, 80000, 150000])} for p in people if rng.random() < 0.9]
                body: dict[str, Any] = {"claim_id": claim_id, "lines": lines, "total_fen": sum(x["amount_fen"] for x in lines)}
                self.do("hr-xj", kind, body, day)
            else:
                self.do("hr-xj" if kind == "ClaimRejected" else claimant, kind, {"claim_id": claim_id, "reason": "x"}, day)
        elif op == "verify" and self.claims:
            claim_id, _, people = rng.choice(self.claims)
            self.do("pov-xj", "ClaimIdentityVerified", {"claim_id": claim_id, "rejected_laborers": people[:1]}, day)
        elif op == "payment" and self.claims:
            claim_id = rng.choice(self.claims)[0]
            payment = self.new_id("P")
            self.payments.append(payment)
            self.do("fin-xj", "PaymentDisbursed", {
                "payment_id": payment, "claim_id": claim_id, "fund_id": rng.choice(self.funds),
                "amount_fen": rng.choice([80000, 150000, 300000]), "payee_account": "ab" * 32,
                "bank_reference": "B", "value_date": day}, day)  # fmt: skip
        elif op == "return" and self.payments:
            self.do("fin-xj", "PaymentReturned", {"payment_id": rng.choice(self.payments), "reason": "退回"}, day)
        elif op == "recover" and self.claims:
            self.do("fin-xj", "FundsRecovered", {"recovery_id": self.new_id("R"), "claim_id": rng.choice(self.claims)[0],
                                                 "amount_fen": rng.choice([50000, 150000]), "reason": "追回"}, day)  # fmt: skip
        elif op == "reconcile":
            self.do("fin-xj", "ReconciliationRecorded", {
                "reconciliation_id": self.new_id("RC"), "period": day[:7], "statement_sha256": "cd" * 32,
                "matched": 1, "unmatched_ledger": 0, "unmatched_bank": 0, "mismatched": 0}, day)  # fmt: skip
        elif op == "dispose":
            self.do("insp", "AnomalyDisposed", {"anomaly_id": "A-" + "0" * 40, "disposition": "confirmed", "note": "属实"}, day)
        elif op == "pii":
            kind = rng.choice(["PersonalDataAccessed", "PersonalDataErased"])
            field = "purpose" if kind == "PersonalDataAccessed" else "reason"
            self.do("pov-xj", kind, {"laborer_id": lid, field: "核实"}, day)
        elif op == "standard":
            self.do("admin", "SubsidyStandardSet", {
                "standard_id": self.new_id("S"), "kind": "training", "programme": "employment_skill",
                "amount_fen": 80000, "per": "trainee", "effective_from": "2019-01-01"}, day)  # fmt: skip
        elif op == "rotate":
            self.sc.session.rotate_actor(rng.choice(["inst-xj", "fin-xj", "hr-xj"]))

    def claim(self, rng: random.Random, klass: tuple[str, str, str, str], day: str) -> None:
        claim_id = self.new_id("CL")
        kind = rng.choice(["training", "training", "living_allowance", "employer"])
        people = rng.sample(self.laborers, 1 if kind == "living_allowance" else rng.randint(1, min(3, len(self.laborers))))
        lines: list[dict[str, Any]] = [{"laborer_id": p, "amount_fen": 150000} for p in people]
        body: dict[str, Any] = {"claim_id": claim_id, "kind": kind, "class_id": klass[0]}
        claimant = klass[1]
        if kind == "employer":
            if not self.employments:
                return
            claimant, body = "emp-xj", {"claim_id": claim_id, "kind": kind}
            for line in lines:
                line["employment_id"] = rng.choice(self.employments)
        body.update(lines=lines, payee_account="ab" * 32, total_fen=sum(x["amount_fen"] for x in lines))
        self.claims.append((claim_id, claimant, people))
        self.do(claimant, "SubsidyClaimed", body, day)


@contextmanager
def fresh_ledger(backend_url: str, root: Path) -> Iterator[str]:
    """A new empty database on the same backend as the ``db_url`` fixture (one per example)."""
    if backend_url.startswith("sqlite"):
        folder = root / uuid.uuid4().hex[:12]
        folder.mkdir()
        yield f"sqlite:///{folder / 'ledger.db'}"
        return
    with pg_database() as url:
        yield url


def snapshot(engine: Any) -> bytes:
    with engine.connect() as conn:
        return canonical(jsonable(T.dump(conn)))


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


steps = st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 2**32)), min_size=5, max_size=45)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])  # fmt: skip
@given(ops=steps, cuts=st.lists(st.integers(1, 44), max_size=4), batches=st.lists(st.integers(1, 9), min_size=1, max_size=5))
def test_incremental_catch_up_equals_rebuild_and_trial_balance_is_zero(
    db_url: str, tmp_path: Path, ops: list[tuple[str, int]], cuts: list[int], batches: list[int]
) -> None:
    with fresh_ledger(db_url, tmp_path) as url:
        sc = Scenario.create(url, tmp_path / uuid.uuid4().hex[:12])
        try:
            world, engine = World(sc), engine_for(sc.ledger)
            bounds = sorted({c for c in cuts if c < len(ops)} | {len(ops)})
            start = 0
            for i, bound in enumerate(bounds):
                for op, seed in ops[start:bound]:
                    world.apply(op, seed)
                start = bound
                size = sc.ledger.size()
                stop = size if i % 2 == 0 else max(size - 3, 0)  # sometimes stop short of the head
                catch_up(sc.ledger, batch=batches[i % len(batches)], stop=stop)
            catch_up(sc.ledger, batch=batches[0])
            live, live_json = snapshot(engine), balances(engine)
            for as_of in range(0, sc.ledger.size(), 7):
                assert balances(engine, as_of=as_of)["trial_balance"]["total_fen"] == 0
            assert live_json["trial_balance"]["total_fen"] == 0
            rebuild(sc.ledger, batch=max(batches))
            assert snapshot(engine) == live
            assert balances(engine) == live_json
        finally:
            sc.close()


@contextmanager
def random_log(db_url: str, tmp_path: Path, seed: int, events: int = 300) -> Iterator[tuple[Scenario, random.Random]]:
    """A scenario whose ledger holds ``events`` random operations of a fixed seed (a regression
    anchor beside the property), and the seeded generator for what the test draws next."""
    rng = random.Random(seed)
    sc = Scenario.create(db_url, tmp_path)
    try:
        world = World(sc)
        for _ in range(events):
            world.apply(rng.choice(OPS), rng.randrange(2**32))
        yield sc, rng
    finally:
        sc.close()


@pytest.mark.parametrize("ops_seed", [1, 2])
def test_a_longer_random_log_projects_the_same_in_one_batch_or_many(db_url: str, tmp_path: Path, ops_seed: int) -> None:
    """A fixed larger log (about 300 events) as a regression anchor beside the property."""
    with random_log(db_url, tmp_path, ops_seed) as (sc, rng):
        engine = engine_for(sc.ledger)
        for _ in range(6):
            catch_up(sc.ledger, batch=rng.randint(1, 50), stop=rng.randint(0, sc.ledger.size()))
        catch_up(sc.ledger, batch=17)
        many = snapshot(engine)
        rebuild(sc.ledger)
        assert snapshot(engine) == many
        assert balances(engine)["trial_balance"]["total_fen"] == 0


def test_rows_kept_between_batches_project_as_a_batch_by_batch_rebuild(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's row cache (``uow.RowCache``) changes nothing but speed: a rebuild that keeps
    every row (complete from seq 0), one that empties it after every batch, and one whose cache
    another runner makes stale halfway all write exactly the same rows."""
    with random_log(db_url, tmp_path, 3) as (sc, _):
        engine = engine_for(sc.ledger)
        loads: list[str] = []
        real_load = UnitOfWork._load

        def counting_load(self: UnitOfWork, table: Any, keys: list[Any]) -> None:
            loads.append(table.name)
            real_load(self, table, keys)

        monkeypatch.setattr(UnitOfWork, "_load", counting_load)
        rebuild(sc.ledger, batch=40)  # the cache holds every row from seq 0 to the end
        kept = snapshot(engine)
        assert loads == []  # so it never reads a row back

        monkeypatch.setattr(runner, "CACHE_ROWS", 0)  # emptied at every commit: rows loaded by key
        rebuild(sc.ledger, batch=40)
        assert snapshot(engine) == kept and loads
        monkeypatch.undo()

        # Another runner projects a few leaves between two of this rebuild's batches: the rows this
        # rebuild holds are stale, so it must drop them and load from the tables again.
        interfered: list[int] = []

        def other_runner(done: int) -> None:
            if not interfered:
                interfered.append(catch_up(sc.ledger, stop=runner.position(engine) + 7))

        rebuild(sc.ledger, batch=40, progress=other_runner)
        assert interfered == [47]
        assert snapshot(engine) == kept


def test_the_rows_a_rebuild_keeps_are_the_rows_in_the_tables_after_every_commit(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler or rule that changed a row it only read (``get`` instead of ``edit``) would
    change the kept copy and not the table: later batches would then project from a row the
    database does not have (see ``support.kept_rows``)."""
    with random_log(db_url, tmp_path, 5) as (sc, _):
        checked = compare_kept_rows_at_every_commit(monkeypatch, engine_for(sc.ledger))
        rebuild(sc.ledger, batch=25)
        assert checked[-1] == sc.ledger.size() and len(checked) > 5
