"""The flag life cycle on SQLite and PostgreSQL: raise, withdraw, re-raise, dispose, rebuild, as-of.

Also: the registry matches RULES.md's table, every rule id has a test that raises it, and a
realistic clean class — and a whole clean simulated county — raises nothing at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from projections.anomalies import tables as A
from projections.anomalies.engine import RULES, anomaly_id
from projections.anomalies.query import list_flags
from projections.db import engine_for
from projections.runner.catchup import catch_up, rebuild
from projections.tables import dump
from simulator import RULE_IDS, simulate
from simulator import anomaly_id as simulator_anomaly_id
from support.rules_builder import EMPLOYER_FUND, LA_FUND, RuleScenario, at, plus

# RULES.md's table: rule → (severity, subject kind(s)). A contract: changing it is a breaking change.
CONTRACT = {
    "DUP-LABORER": ("high", ("laborer",)), "DUP-CLAIM-LINE": ("critical", ("claim",)),
    "DUP-CERTIFICATE": ("critical", ("certificate",)), "DUP-PAYMENT": ("critical", ("claim",)),
    "DUP-REPEAT-TRAINING": ("high", ("laborer",)), "SEQ-PAID-WITHOUT-APPROVAL": ("critical", ("claim",)),
    "SEQ-PAID-WITHOUT-ATTENDANCE": ("critical", ("claim",)), "SEQ-PAID-WITHOUT-CERTIFICATE": ("critical", ("claim",)),
    "SEQ-PAID-WITHOUT-REVIEW": ("high", ("claim",)), "SEQ-PAID-WITHOUT-IDENTITY": ("critical", ("claim",)),
    "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS": ("critical", ("claim",)), "SEQ-BEFORE-APPROVAL": ("high", ("class",)),
    "STD-CLASS-SIZE": ("high", ("class",)), "STD-DURATION": ("medium", ("class",)),
    "STD-DAILY-HOURS": ("medium", ("class",)), "STD-PRACTICAL-SHARE": ("medium", ("class",)),
    "STD-OVER-STANDARD": ("high", ("claim",)), "STD-UNAPPRAISED": ("high", ("claim",)),
    "ELIG-DRIVER-AGE": ("high", ("class",)), "ELIG-AGE-RANGE": ("medium", ("class",)),
    "ELIG-NOT-POOR": ("high", ("claim",)), "CONF-INSPECTION-ABSENT": ("critical", ("class",)),
    "CONF-HEADCOUNT": ("high", ("class",)), "CONF-DOUBLE-PRESENCE": ("high", ("laborer",)),
    "CONF-AFTER-WITHDRAWAL": ("high", ("class",)), "CONF-VISIT-DENIAL": ("high", ("laborer",)),
    "CONF-EMPLOYED-BEFORE-TRAINING": ("medium", ("employment",)), "NET-SHARED-ACCOUNT": ("critical", ("account",)),
    "NET-RECYCLED-TRAINEE": ("medium", ("laborer",)), "SOD-REVIEWER-ONLY-CHECK": ("medium", ("class",)),
    "TIME-BACKDATED": ("medium", ("class", "employment")), "TIME-CERT-BEFORE-END": ("high", ("certificate",)),
    "TIME-WEEKEND-PAYMENT": ("low", ("payment",)), "TIME-STALE-CLAIM": ("medium", ("claim",)),
    "TIME-SIGNED-AFTER-REVOCATION": ("high", ("actor",)), "FIN-OVERPAID": ("critical", ("claim",)),
    "FIN-APPROVED-OVER-CLAIM": ("high", ("claim",)), "FIN-FUND-OVERDRAWN": ("critical", ("fund",)),
    "FIN-FUND-MISMATCH": ("high", ("payment",)), "FIN-PAYEE-MISMATCH": ("high", ("payment",)),
    "FIN-SPLIT-CLAIM": ("medium", ("class",)), "FIN-RECON-EXCEPTION": ("high", ("payment",)),
    "FIN-BANK-UNMATCHED": ("critical", ("reconciliation",)), "INSP-UNINSPECTED": ("medium", ("class",)),
    "INSP-FAILED-PAID": ("high", ("class",)),
}  # fmt: skip


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[RuleScenario]:
    scenario = RuleScenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


# --- the registry ---------------------------------------------------------------------------------------
def test_every_rule_of_the_contract_is_registered_once_with_its_severity_subject_and_source() -> None:
    assert [r.id for r in RULES] == list(CONTRACT)
    assert set(CONTRACT) == set(RULE_IDS)  # the simulator injects the same ids
    for r in RULES:
        assert (r.severity, r.subject) == CONTRACT[r.id], r.id
        assert r.source and r.zh and r.en and r.reads, r.id


def test_every_rule_has_a_test_that_raises_it() -> None:
    here = Path(__file__).parent
    tests = [*here.glob("test_rules_*.py"), *(here.parent / "unit" / "rules").glob("test_*.py")]
    text = "".join(p.read_text(encoding="utf-8") for p in tests if p.name != Path(__file__).name)
    untested = [r.id for r in RULES if not re.search(rf'"{re.escape(r.id)}"', text)]
    assert untested == []


def test_docs_rules_md_is_the_guide_generated_from_the_registry() -> None:
    from projections.anomalies.guide import GUIDE, WITH_LABORER, render

    assert list(GUIDE) == list(CONTRACT)
    assert set(CONTRACT) >= WITH_LABORER
    docs = Path(__file__).parents[2] / "docs" / "rules.md"
    assert docs.read_text(encoding="utf-8") == render(), "regenerate: python -m projections.anomalies.guide > docs/rules.md"


def test_the_id_is_a_sha256_of_the_jcs_of_rule_subject_and_labourer() -> None:
    doc = b'{"laborer_id":"L-0007","rule":"SEQ-PAID-WITHOUT-ATTENDANCE","subject":{"id":"C-2019-0042","kind":"claim"}}'
    expected = "A-" + hashlib.sha256(doc).hexdigest()[:40]
    assert anomaly_id("SEQ-PAID-WITHOUT-ATTENDANCE", "claim", "C-2019-0042", "L-0007") == expected
    assert expected == simulator_anomaly_id("SEQ-PAID-WITHOUT-ATTENDANCE", "claim", "C-2019-0042", "L-0007")
    assert anomaly_id("FIN-OVERPAID", "claim", "C-1", None) != anomaly_id("FIN-OVERPAID", "claim", "C-2", None)


# --- clean ------------------------------------------------------------------------------------------------
def clean_class(sc: RuleScenario) -> None:
    """西吉县's 家政服务 class, from registration to payment, as the policy wants it."""
    sc.standards()
    people = ["L-1", "L-2", "L-3"]
    for n, lid in enumerate(people):
        sc.person(lid, birth=f"19{80 + n}-05-0{n + 1}", household=f"H-{n}")
    sc.fund_of()
    sc.fund_of(LA_FUND, purpose="living_allowance")
    sc.fund_of(EMPLOYER_FUND, purpose="employer")
    sc.open_class("C-1", start="2019-04-08", end="2019-05-02")
    for lid in people:
        sc.enrol("C-1", lid, on="2019-04-03")
    days = [plus("2019-04-08", i) for i in range(25) if i % 7 != 6]  # Monday–Saturday, 20–30 days
    for i, day in enumerate(days):
        theory, practical = (3, 5) if i < 4 else (2, 6)
        sc.attend("C-1", day, people, theory=theory, practical=practical)
        if i == 5:
            sc.inspect("I-1", "C-1", day, present=people, by="insp")
        if i == 12:
            sc.inspect("I-2", "C-1", day, present=people, by="hr-xj", method="site_visit")
    sc.complete("C-1", days[-1], people)
    for n, lid in enumerate(people):
        sc.certify(f"TC-{n}", lid, "C-1", issued=plus(days[-1], 2))
    sc.review("C-1", on=plus(days[-1], 3))
    sc.claim_of("CL-1", "C-1", [(lid, 80000, f"TC-{n}") for n, lid in enumerate(people)], on="2019-05-08")
    sc.ok("pov-xj", "ClaimIdentityVerified", {"claim_id": "CL-1", "rejected_laborers": []}, at=at("2019-05-09"))
    sc.approve("CL-1", [(lid, 80000) for lid in people], on="2019-05-14")
    sc.pay("P-1", "CL-1", 240000, value="2019-05-27")
    for n, lid in enumerate(people):  # living allowance: 30 yuan a day attended, to the labourer's own card
        account = f"{n + 1:02d}" * 32
        sc.claim_of(f"LA-{n}", "C-1", [(lid, 3000 * len(days))], kind="living_allowance", on="2019-05-08", payee=account)
        sc.approve(f"LA-{n}", [(lid, 3000 * len(days))], on="2019-05-14")
        sc.pay(f"PL-{n}", f"LA-{n}", 3000 * len(days), fund=LA_FUND, value="2019-05-28", payee=account)
    sc.ok("insp", "InspectionRecorded", {
        "inspection_id": "V-1", "method": "phone_visit", "subject_kind": "laborer", "subject_id": "L-1",
        "date": "2019-06-10", "class_id": "C-1", "present": [], "absent": [], "checklist": None,
        "findings": [{"laborer_id": "L-1", "code": "attendance_confirmed", "note": "本人确认参训并收到补贴"}],
        "verdict": "pass"}, at=at("2019-06-10"))  # fmt: skip
    sc.ok("emp-xj", "EmploymentStarted", {"employment_id": "E-1", "laborer_id": "L-1", "position": "家政服务员",
                                          "start_date": "2019-05-13"}, at=at("2019-05-13"))  # fmt: skip
    for month in ("2019-05", "2019-06", "2019-07", "2019-08", "2019-09", "2019-10"):
        sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-1", "month": month, "wage_fen": 280000},
              at=at(plus(f"{month}-28", 5)))  # fmt: skip
    sc.claim_of("CL-E", None, [("L-1", 100000, "TC-0")], kind="employer", by="emp-xj", on="2019-11-11",
                employment={"L-1": "E-1"})  # fmt: skip
    sc.approve("CL-E", [("L-1", 100000)], on="2019-11-18")
    sc.pay("P-E", "CL-E", 100000, fund=EMPLOYER_FUND, value="2019-11-25")


def test_a_realistic_clean_class_from_registration_to_payment_raises_nothing(sc: RuleScenario) -> None:
    clean_class(sc)
    assert sc.flags(status="all") == []


def test_a_clean_simulated_county_raises_no_flag_at_all(sc: RuleScenario) -> None:
    sim = simulate("small", seed=2019, misuse_rate=0)
    counts = sc.session.run_simulation(sim)
    assert counts["refused"] == 0
    assert sc.flags(status="all") == []


# --- life cycle ---------------------------------------------------------------------------------------
def overpaid_then_returned(sc: RuleScenario) -> dict[str, int]:
    marks = {}
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    marks["claim"] = sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    marks["approval"] = sc.approve("CL-1", [("L-1", 80000)])
    marks["paid"] = sc.pay("P-1", "CL-1", 80000)
    marks["overpaid"] = sc.pay("P-2", "CL-1", 1000, value="2019-06-04")
    marks["returned"] = sc.returned("P-2", on="2019-06-10")
    marks["again"] = sc.pay("P-3", "CL-1", 500, value="2019-06-12")
    return marks


def test_a_cured_flag_is_withdrawn_keeping_its_history_and_returns_when_the_condition_does(sc: RuleScenario) -> None:
    marks = overpaid_then_returned(sc)
    flag = sc.one("FIN-OVERPAID")
    assert (flag["status"], flag["raised_seq"], flag["withdrawn_seq"]) == ("open", marks["again"], None)
    history = sc.flag(flag["id"])["history"]  # type: ignore[index]
    assert [(h["seq"], h["change"], h["status"]) for h in history] == [
        (marks["overpaid"], "raised", "open"), (marks["returned"], "withdrawn", "withdrawn"),
        (marks["again"], "reraised", "open")]  # fmt: skip
    # evidence follows the proof: raised again, it cites what overpays now, not the payment returned
    assert flag["evidence"] == sorted([marks["approval"], marks["paid"], marks["again"]])
    withdrawn = sc.flag(flag["id"], as_of=marks["again"] - 1)
    assert withdrawn is not None and withdrawn["status"] == "withdrawn"
    assert withdrawn["evidence"] == sorted([marks["approval"], marks["paid"], marks["overpaid"]])  # kept as it was


def test_the_default_listing_leaves_withdrawn_flags_out(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)])
    sc.pay("P-1", "CL-1", 90000)
    sc.returned("P-1")
    assert sc.flags(rule="FIN-OVERPAID") == []
    assert [f["status"] for f in sc.flags(rule="FIN-OVERPAID", status="all")] == ["withdrawn"]
    assert [f["status"] for f in sc.flags(rule="FIN-OVERPAID", status="withdrawn")] == ["withdrawn"]


def test_an_anomaly_disposition_sets_the_status_and_survives_a_cure(sc: RuleScenario) -> None:
    marks = overpaid_then_returned(sc)
    flag_id = sc.one("FIN-OVERPAID")["id"]
    disposed = sc.ok("insp", "AnomalyDisposed", {"anomaly_id": flag_id, "disposition": "confirmed",
                                                 "note": "核实属实，责令追回"}, at=at("2019-06-20"))  # fmt: skip
    flag = sc.one("FIN-OVERPAID")
    assert flag["status"] == "confirmed" and flag["id"] == flag_id
    assert sc.flags(status="confirmed") == [flag] and sc.flags(rule="FIN-OVERPAID", status="open") == []
    sc.returned("P-3", on="2019-06-21")  # the condition is cured: the disposition stands
    cured = sc.one("FIN-OVERPAID")
    assert cured["status"] == "confirmed" and cured["withdrawn_seq"] == disposed + 1
    assert marks["again"] < disposed


def test_a_disposition_recorded_before_the_flag_applies_when_the_flag_is_raised(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.fund_of()
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    expected = anomaly_id("FIN-OVERPAID", "claim", "CL-1", None)
    sc.ok("insp", "AnomalyDisposed", {"anomaly_id": expected, "disposition": "false_positive",
                                      "note": "系统迁移前已核销"}, at=at("2019-05-14"))  # fmt: skip
    sc.pay("P-1", "CL-1", 80000)
    flag = sc.one("FIN-OVERPAID")
    assert (flag["id"], flag["status"]) == (expected, "false_positive")


def test_rebuild_gives_the_same_ids_json_and_rows(sc: RuleScenario) -> None:
    overpaid_then_returned(sc)
    sc.person("L-9", fp=f"{1:064x}")  # DUP-LABORER with L-1
    sc.attend("C-1", "2019-04-08", ["L-1"], theory=1, practical=2)  # STD-DAILY-HOURS
    before = sc.flags(status="all")
    engine = engine_for(sc.ledger)
    with engine.connect() as conn:
        rows_before = {k: v for k, v in dump(conn).items() if k.startswith(("pj_anomal", "pj_rule_"))}
    rebuild(sc.ledger)
    after = sc.flags(status="all")
    assert json.dumps(after, ensure_ascii=False) == json.dumps(before, ensure_ascii=False)
    assert {f["rule"] for f in after} >= {"FIN-OVERPAID", "DUP-LABORER", "STD-DAILY-HOURS"}
    with engine.connect() as conn:
        rows_after = {k: v for k, v in dump(conn).items() if k.startswith(("pj_anomal", "pj_rule_"))}
    assert rows_after == rows_before


def test_leaf_by_leaf_projection_equals_one_batch(sc: RuleScenario) -> None:
    overpaid_then_returned(sc)
    sc.attend("C-1", "2019-04-08", ["L-1"], theory=1, practical=2)
    engine = engine_for(sc.ledger)
    rebuild(sc.ledger, batch=1)
    with engine.connect() as conn:
        one_by_one = {k: v for k, v in dump(conn).items() if k.startswith(("pj_anomal", "pj_rule_"))}
    rebuild(sc.ledger)
    with engine.connect() as conn:
        batched = {k: v for k, v in dump(conn).items() if k.startswith(("pj_anomal", "pj_rule_"))}
    assert one_by_one == batched and batched["pj_anomalies"]


def test_as_of_answers_as_the_ledger_stood(sc: RuleScenario) -> None:
    marks = overpaid_then_returned(sc)
    engine = engine_for(sc.ledger)
    catch_up(sc.ledger)

    def overpaid(as_of: int, status: str = "all") -> list[dict[str, object]]:
        return list_flags(engine, rule="FIN-OVERPAID", status=status, as_of=as_of)

    assert overpaid(marks["overpaid"] - 1) == []
    at_raise = overpaid(marks["overpaid"])[0]
    assert (at_raise["status"], at_raise["raised_seq"], at_raise["withdrawn_seq"]) == ("open", marks["overpaid"], None)
    assert max(at_raise["evidence"]) == marks["overpaid"]  # type: ignore[type-var]
    at_return = overpaid(marks["returned"])[0]
    assert (at_return["status"], at_return["withdrawn_seq"]) == ("withdrawn", marks["returned"])
    assert overpaid(marks["returned"], status="current") == []
    now = overpaid(marks["again"])[0]
    assert now == list_flags(engine, rule="FIN-OVERPAID")[0]
    assert marks["again"] in now["evidence"]  # type: ignore[operator]


def test_flag_rows_carry_their_seqs(sc: RuleScenario) -> None:
    overpaid_then_returned(sc)
    catch_up(sc.ledger)
    with engine_for(sc.ledger).connect() as conn:
        changed = conn.execute(sa.select(A.evidence.c.seq, A.evidence.c.changed_seq).order_by(A.evidence.c.seq)).all()
    assert changed and all(seq <= changed_seq for seq, changed_seq in changed)  # a leaf cites no later leaf
