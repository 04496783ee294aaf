"""The simulator: reproducible, faithful to the EVENTS.md contract, clean when asked, and
carrying injected misuse of every RULES.md rule.

The event table below is EVENTS.md transcribed by hand (required fields, optional fields, who may
sign), deliberately independent of ``ledger.domain.schema`` and ``ledger.domain.policy`` so a drift in either
side shows up here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.dates import age_at
from ledger.domain.holidays import (
    HOLIDAYS,
    MAKEUP_WORKDAYS,
    covers,
    is_holiday_or_weekend,
    is_working_day,
    next_working_day,
)
from projections.anomalies import engine
from simulator import RULE_IDS, anomaly_id, simulate
from simulator.injectors import INJECTORS
from simulator.people import id_check_digit, luhn_digit
from simulator.world import OCCUPATIONS, SCALES, STANDARDS, training_fen

D = dt.date

# type: (required fields, optional fields, roles that may sign)
EVENTS: dict[str, tuple[set[str], set[str], set[str]]] = {
    "ActorRegistered": ({"actor_id", "name", "role", "jurisdiction", "public_key"}, {"uscc"}, {"admin"}),
    "KeyRotated": ({"actor_id", "public_key"}, set(), {"admin"}),
    "KeyRevoked": ({"actor_id", "key_id", "reason", "effective_at"}, set(), {"admin"}),
    "SubsidyStandardSet": ({"standard_id", "kind", "amount_fen", "per", "effective_from"},
                           {"programme", "certificate_type", "occupation", "effective_to"}, {"admin"}),
    "FundAllocated": ({"fund_id", "jurisdiction", "source", "purpose", "year", "amount_fen"}, {"poverty_only"},
                      {"finance_bureau"}),
    "FundAdjusted": ({"fund_id", "delta_fen", "reason"}, set(), {"finance_bureau"}),
    "LaborerRegistered": ({"laborer_id", "household_id", "jurisdiction", "township", "village", "birth_date",
                           "category", "id_fingerprint", "pii_commitment"}, {"gender"},
                          {"poverty_office", "township"}),
    "LaborerCorrected": ({"laborer_id", "reason"}, {"household_id", "township", "village", "birth_date", "gender",
                                                    "category", "pii_commitment"}, {"poverty_office"}),
    "IdentityConfirmed": ({"laborer_id", "basis"}, set(), {"poverty_office"}),
    "IdentityRejected": ({"laborer_id", "reason"}, set(), {"poverty_office"}),
    "ClassOpeningRequested": ({"class_id", "programme", "occupation", "in_catalog", "jurisdiction", "site",
                               "planned_start", "planned_end", "capacity", "hours_per_day", "practical_percent",
                               "subsidy_per_trainee_fen"}, set(), {"institution"}),
    "ClassOpeningApproved": ({"class_id"}, set(), {"hr_bureau"}),
    "ClassOpeningRejected": ({"class_id", "reason"}, set(), {"hr_bureau"}),
    "ClassCancelled": ({"class_id", "reason"}, set(), {"institution", "hr_bureau"}),
    "TraineeEnrolled": ({"class_id", "laborer_id"}, set(), {"institution"}),
    "TraineeWithdrawn": ({"class_id", "laborer_id", "reason"}, set(), {"institution"}),
    "AttendanceRecorded": ({"class_id", "date", "trainees"}, set(), {"institution"}),
    "ClassCompleted": ({"class_id", "end_date", "completers"}, set(), {"institution"}),
    "CompletionReviewed": ({"class_id", "approved", "note"}, set(), {"hr_bureau"}),
    "InspectionRecorded": ({"inspection_id", "method", "subject_kind", "subject_id", "date", "present", "absent",
                            "checklist", "findings", "verdict"}, {"class_id"},
                           {"hr_bureau", "poverty_office", "finance_bureau", "inspector"}),
    "CertificateIssued": ({"certificate_no", "certificate_type", "laborer_id", "class_id", "occupation",
                           "issued_on"}, {"level"}, {"appraisal_center", "institution", "traffic_authority"}),
    "CertificateRevoked": ({"certificate_no", "reason"}, set(),
                           {"appraisal_center", "institution", "traffic_authority"}),
    "AppraisalFailed": ({"laborer_id", "class_id", "occupation", "date"}, set(),
                        {"appraisal_center", "traffic_authority"}),
    "EmploymentStarted": ({"employment_id", "laborer_id", "position", "start_date"}, {"class_id"}, {"employer"}),
    "PayrollRecorded": ({"employment_id", "month", "wage_fen"}, set(), {"employer"}),
    "EmploymentProofSubmitted": ({"employment_id", "months"}, set(), {"employer"}),
    "EmploymentEnded": ({"employment_id", "end_date"}, set(), {"employer"}),
    "SubsidyClaimed": ({"claim_id", "kind", "lines", "payee_account", "total_fen"}, {"class_id"},
                       {"institution", "appraisal_center", "employer"}),
    "ClaimWithdrawn": ({"claim_id", "reason"}, set(), {"institution", "appraisal_center", "employer"}),
    "ClaimIdentityVerified": ({"claim_id", "rejected_laborers"}, set(), {"poverty_office"}),
    "ClaimApproved": ({"claim_id", "lines", "total_fen"}, set(), {"hr_bureau"}),
    "ClaimRejected": ({"claim_id", "reason"}, set(), {"hr_bureau"}),
    "PaymentDisbursed": ({"payment_id", "claim_id", "fund_id", "amount_fen", "payee_account", "bank_reference",
                          "value_date"}, set(), {"finance_bureau"}),
    "PaymentReturned": ({"payment_id", "reason"}, set(), {"finance_bureau"}),
    "FundsRecovered": ({"recovery_id", "claim_id", "amount_fen", "reason"}, {"anomaly_id"}, {"finance_bureau"}),
    "ReconciliationRecorded": ({"reconciliation_id", "period", "statement_sha256", "matched", "unmatched_ledger",
                                "unmatched_bank", "mismatched"}, {"funds", "counts", "exceptions", "exceptions_total"},
                               {"finance_bureau"}),
    "AnomalyDisposed": ({"anomaly_id", "disposition", "note"}, set(), {"inspector"}),
    "PersonalDataAccessed": ({"laborer_id", "purpose"}, set(), {"poverty_office", "township", "inspector"}),
    "PersonalDataErased": ({"laborer_id", "reason"}, set(), {"poverty_office"}),
}  # fmt: skip
CERTIFICATE_ISSUER = {"vocational_qualification": "appraisal_center", "special_ability": "appraisal_center",
                      "training_completion": "institution", "driving_licence": "traffic_authority"}  # fmt: skip
CLAIMANT = {"training": "institution", "living_allowance": "institution", "appraisal": "appraisal_center",
            "employer": "employer"}  # fmt: skip
# ids that EVENTS.md refuses to create twice
CREATES = {"LaborerRegistered": "laborer_id", "ClassOpeningRequested": "class_id", "SubsidyClaimed": "claim_id",
           "PaymentDisbursed": "payment_id", "EmploymentStarted": "employment_id",
           "CertificateIssued": "certificate_no", "InspectionRecorded": "inspection_id",
           "SubsidyStandardSet": "standard_id", "FundsRecovered": "recovery_id",
           "ReconciliationRecorded": "reconciliation_id"}  # fmt: skip
ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
SUBJECT_KINDS = {
    "laborer",
    "class",
    "claim",
    "payment",
    "fund",
    "certificate",
    "account",
    "actor",
    "employment",
    "reconciliation",
}
WITH_LABORER = {  # RULES.md rules whose subject is "… + laborer"
    "DUP-CLAIM-LINE", "SEQ-PAID-WITHOUT-ATTENDANCE", "SEQ-PAID-WITHOUT-CERTIFICATE", "SEQ-PAID-WITHOUT-IDENTITY",
    "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS", "STD-OVER-STANDARD", "STD-UNAPPRAISED", "ELIG-DRIVER-AGE", "ELIG-AGE-RANGE",
    "ELIG-NOT-POOR", "CONF-INSPECTION-ABSENT", "CONF-AFTER-WITHDRAWAL", "CONF-EMPLOYED-BEFORE-TRAINING",
    "TIME-CERT-BEFORE-END"}  # fmt: skip


def _digest(intents: Any) -> str:
    h = hashlib.sha256()
    for intent in intents:
        h.update(json.dumps(intent, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
        h.update(b"\n")
    return h.hexdigest()


@pytest.fixture(scope="module")
def small() -> tuple[Any, list[dict[str, Any]]]:
    sim = simulate("small", seed=2019)
    return sim, list(sim.intents())


@pytest.fixture(scope="module")
def clean() -> tuple[Any, list[dict[str, Any]]]:
    sim = simulate("small", seed=7, misuse_rate=0)
    return sim, list(sim.intents())


def _roles(sim: Any) -> dict[str, str]:
    roles = {a.actor_id: a.role for a in sim.actors}
    roles["admin"] = "admin"
    return roles


# ---- reproducibility ---------------------------------------------------------------------------
def test_same_seed_gives_identical_intents_and_truth() -> None:
    a, b = simulate("small", seed=42), simulate("small", seed=42)
    assert _digest(a.intents()) == _digest(b.intents())
    assert a.truth == b.truth and a.expected_knock_on == b.expected_knock_on and a.actors == b.actors


def test_seed_2019_small_is_the_programme_of_record() -> None:
    # The simulator's output for a seed is part of its contract (benchmarks, demos and truth files
    # are compared across versions): a refactoring must leave these digests alone. Change them
    # only with a deliberate change of the programme, and say so in the commit.
    sim = simulate("small", seed=2019)
    assert _digest(sim.intents()) == "fcc889739ae2e072dfc26defce42ed3d169843d414477ec627293215b9260034"
    cases = [dataclasses.asdict(c) for c in sim.truth + sim.expected_knock_on]
    truth = hashlib.sha256(json.dumps(cases, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
    assert truth == "ca92854c5bbc717a86b57e258065a1d0ced1586c889df0682566b8fc4d42fd21"


def test_different_seeds_give_different_intents() -> None:
    assert _digest(simulate("small", seed=1).intents()) != _digest(simulate("small", seed=2).intents())


def test_nonces_are_deterministic_and_unique(small: Any) -> None:
    sim, intents = small
    assert [i["nonce"] for i in intents] == [f"sim-2019-{n:08d}" for n in range(1, len(intents) + 1)]


def test_count_matches_the_stream(small: Any) -> None:
    sim, intents = small
    assert simulate("small", seed=2019).count() == len(intents)


def test_progress_is_reported_every_thousand_intents() -> None:
    seen: list[int] = []
    sim = simulate("small", seed=3, progress=seen.append)
    total = sum(1 for _ in sim.intents())
    assert seen == [1000 * k for k in range(1, total // 1000 + 1)] + ([total] if total % 1000 else [])


def test_small_scale_is_one_season_of_a_county() -> None:
    # How fast it is generated is measured by benchmarks/, never asserted here.
    sim = simulate("small", seed=11)
    n = sum(1 for _ in sim.intents())
    assert 4000 <= n <= 10000


def test_unknown_scale_is_refused() -> None:
    with pytest.raises(ValueError):
        simulate("province")


# ---- the EVENTS.md contract ----------------------------------------------------------------------
def test_every_body_has_exactly_the_events_md_fields(small: Any) -> None:
    _, intents = small
    for intent in intents:
        required, optional, _ = EVENTS[intent["type"]]
        keys = set(intent["body"])
        assert required <= keys <= required | optional, (intent["type"], keys ^ required)
        assert set(intent) <= {"actor", "type", "at", "body", "nonce", "pii", "key_of"}
        assert AT.match(intent["at"])


def test_nested_records_have_their_fields(small: Any) -> None:
    _, intents = small
    for intent in intents:
        body = intent["body"]
        if intent["type"] == "AttendanceRecorded":
            for t in body["trainees"]:
                assert set(t) == {"laborer_id", "theory_hours", "practical_hours"}
        if intent["type"] == "SubsidyClaimed":
            for line in body["lines"]:
                assert (
                    {"laborer_id", "amount_fen"}
                    <= set(line)
                    <= {"laborer_id", "amount_fen", "certificate_no", "employment_id"}
                )
                assert ("employment_id" in line) == (body["kind"] == "employer")
            assert body["total_fen"] == sum(line["amount_fen"] for line in body["lines"])
            assert ("class_id" in body) == (body["kind"] != "employer")
            if body["kind"] == "living_allowance":
                assert len(body["lines"]) == 1
        if intent["type"] == "ClaimApproved":
            assert body["total_fen"] == sum(line["amount_fen"] for line in body["lines"])
        if intent["type"] == "InspectionRecorded" and body["checklist"] is not None:
            assert set(body["checklist"]) == {
                "plan",
                "teachers",
                "facilities",
                "practical",
                "textbooks",
                "attendance",
            }


def test_ids_match_the_id_pattern(small: Any) -> None:
    _, intents = small
    for intent in intents:
        for key, value in intent["body"].items():
            if key.endswith("_id") and key not in ("key_id",) and isinstance(value, str) and value:
                assert ID.match(value), (key, value)


def test_every_signer_may_sign_its_type(small: Any) -> None:
    sim, intents = small
    roles = _roles(sim)
    for intent in intents:
        role = roles[intent["actor"]]
        assert role in EVENTS[intent["type"]][2], (intent["type"], intent["actor"])
        if intent["type"] == "CertificateIssued":
            assert role == CERTIFICATE_ISSUER[intent["body"]["certificate_type"]]
        if intent["type"] == "SubsidyClaimed":
            assert role == CLAIMANT[intent["body"]["kind"]]


def test_county_actors_act_only_in_their_county(small: Any) -> None:
    sim, intents = small
    jur = {a.actor_id: a.jurisdiction for a in sim.actors}
    classes = {i["body"]["class_id"]: i["body"]["jurisdiction"] for i in intents
               if i["type"] == "ClassOpeningRequested"}  # fmt: skip
    for intent in intents:
        where = jur.get(intent["actor"], "640400")
        class_id = intent["body"].get("class_id")
        if where != "640400" and class_id in classes and intent["type"] != "EmploymentStarted":
            assert classes[class_id] == where, intent


def test_created_ids_are_unique_and_references_come_first(small: Any) -> None:
    _, intents = small
    created: dict[str, set[str]] = defaultdict(set)
    for intent in intents:
        typ, body = intent["type"], intent["body"]
        if typ in CREATES:
            key = CREATES[typ]
            assert body[key] not in created[key], (typ, body[key])
            created[key].add(body[key])
        for ref in ("laborer_id", "class_id", "claim_id", "employment_id", "payment_id"):
            if ref in body and CREATES.get(typ) != ref and typ != "KeyRevoked":
                assert body[ref] in created[ref], (typ, ref, body[ref])
        if typ == "PaymentDisbursed":
            assert body["fund_id"] in created["fund_id"]
        if typ == "FundAllocated":
            created["fund_id"].add(body["fund_id"])


def test_personal_data_travels_beside_the_body_as_placeholders(small: Any) -> None:
    _, intents = small
    for intent in intents:
        body, pii = intent["body"], intent.get("pii")
        if intent["type"] == "LaborerRegistered":
            assert body["id_fingerprint"] == "" and body["pii_commitment"] == ""
            assert set(pii) == {"name", "id_number", "phone", "bank_account"}
            number = pii["id_number"]
            assert len(number) == 18 and number[17] == id_check_digit(number[:17])
            assert number[:6] == body["jurisdiction"] and number[6:14] == body["birth_date"].replace("-", "")
            assert (int(number[16]) % 2 == 1) == (body["gender"] == "male")
            assert re.fullmatch(r"1\d{10}", pii["phone"])
            card = pii["bank_account"]
            assert 16 <= len(card) <= 19 and card[-1] == luhn_digit(card[:-1])
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,5}", pii["name"])
        elif intent["type"] in ("SubsidyClaimed", "PaymentDisbursed"):
            assert body["payee_account"] == "" and set(pii) == {"bank_account"}
            assert re.fullmatch(r"\d{16,19}", pii["bank_account"])
        else:
            assert pii is None


def test_payments_go_to_the_claimed_account(clean: Any) -> None:
    _, intents = clean
    claimed = {
        i["body"]["claim_id"]: i["pii"]["bank_account"] for i in intents if i["type"] == "SubsidyClaimed"
    }
    for intent in intents:
        if intent["type"] == "PaymentDisbursed":
            assert intent["pii"]["bank_account"] == claimed[intent["body"]["claim_id"]]


def test_actors_are_complete_and_well_formed(small: Any) -> None:
    sim, _ = small
    ids = {a.actor_id for a in sim.actors}
    assert "admin" not in ids and len(ids) == len(sim.actors)
    for needed in (
        "hr-640422",
        "pov-640422",
        "fin-640422",
        "apc-640400",
        "traffic-640400",
        "insp-640400",
        "hr-640400",
        "fin-640400",
    ):
        assert needed in ids
    assert {a.role for a in sim.actors} >= {
        "hr_bureau",
        "poverty_office",
        "finance_bureau",
        "township",
        "institution",
        "employer",
        "appraisal_center",
        "traffic_authority",
        "inspector",
    }
    for actor in sim.actors:
        assert actor.uscc is None or re.fullmatch(r"[0-9A-Z]{18}", actor.uscc)


# ---- a clean world raises nothing --------------------------------------------------------------
def test_clean_simulation_has_no_truth(clean: Any) -> None:
    sim, intents = clean
    assert sim.truth == [] and sim.expected_knock_on == []
    assert not any(i["type"] == "KeyRevoked" for i in intents)


def test_clean_simulation_keeps_the_class_standards(clean: Any) -> None:
    _, intents = clean
    classes = {i["body"]["class_id"]: i["body"] for i in intents if i["type"] == "ClassOpeningRequested"}
    births = {i["body"]["laborer_id"]: D.fromisoformat(i["body"]["birth_date"]) for i in intents
              if i["type"] == "LaborerRegistered"}  # fmt: skip
    enrolled: dict[str, set[str]] = defaultdict(set)
    days: dict[str, dict[D, set[str]]] = defaultdict(dict)
    hours: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for intent in intents:
        body = intent["body"]
        if intent["type"] == "TraineeEnrolled":
            enrolled[body["class_id"]].add(body["laborer_id"])
            start = D.fromisoformat(classes[body["class_id"]]["planned_start"])
            age = age_at(births[body["laborer_id"]], start)
            assert 16 <= age <= 60
            if classes[body["class_id"]]["programme"] == "driver":
                assert age < 50
        if intent["type"] == "AttendanceRecorded":
            day = D.fromisoformat(body["date"])
            assert intent["at"][:10] == body["date"]  # signed on the day: never backdated
            days[body["class_id"]][day] = {t["laborer_id"] for t in body["trainees"]}
            for t in body["trainees"]:
                hours[body["class_id"]].append((t["theory_hours"], t["practical_hours"]))
            if classes[body["class_id"]]["programme"] in ("employment_skill", "special_ability"):
                assert max(t["theory_hours"] + t["practical_hours"] for t in body["trainees"]) >= 6
    for class_id, people in enrolled.items():
        assert len(people) <= 50
        theory = sum(t for t, _ in hours[class_id])
        practical = sum(p for _, p in hours[class_id])
        assert 3 * practical >= 2 * (theory + practical)
        if classes[class_id]["programme"] in ("employment_skill", "special_ability"):
            span = (max(days[class_id]) - min(days[class_id])).days + 1
            assert 20 <= span <= 30
    for intent in intents:
        body = intent["body"]
        if intent["type"] == "CertificateIssued":
            assert D.fromisoformat(body["issued_on"]) >= max(days[body["class_id"]])
        if intent["type"] == "InspectionRecorded" and body["method"] in ("site_visit", "spot_check"):
            attendance = days[body["class_id"]][D.fromisoformat(body["date"])]
            assert set(body["present"]) == attendance and not set(body["absent"]) & attendance


def test_clean_simulation_pays_what_was_approved_on_working_days(clean: Any) -> None:
    _, intents = clean
    claimed: dict[str, int] = {}
    approved: dict[str, tuple[int, D]] = {}
    funds: dict[str, int] = defaultdict(int)
    spent: dict[str, int] = defaultdict(int)
    returned: set[str] = set()
    pays: dict[str, tuple[str, str, int]] = {}
    for intent in intents:
        body = intent["body"]
        if intent["type"] == "SubsidyClaimed":
            claimed[body["claim_id"]] = body["total_fen"]
        elif intent["type"] == "ClaimApproved":
            assert body["total_fen"] == claimed[body["claim_id"]]
            approved[body["claim_id"]] = (body["total_fen"], D.fromisoformat(intent["at"][:10]))
        elif intent["type"] == "FundAllocated":
            funds[body["fund_id"]] += body["amount_fen"]
        elif intent["type"] == "FundAdjusted":
            funds[body["fund_id"]] += body["delta_fen"]
        elif intent["type"] == "PaymentDisbursed":
            value = D.fromisoformat(body["value_date"])
            assert is_working_day(value)
            total, when = approved[body["claim_id"]]
            assert body["amount_fen"] == total
            if body["claim_id"] not in {c for c, _, _ in pays.values()}:
                assert 5 <= (value - when).days <= 40
            assert body["fund_id"].startswith(f"F-{value.year}-")  # a fund of the value date's year
            spent[body["fund_id"]] += body["amount_fen"]
            assert spent[body["fund_id"]] <= funds[body["fund_id"]]
            pays[body["payment_id"]] = (body["claim_id"], body["fund_id"], body["amount_fen"])
        elif intent["type"] == "PaymentReturned":
            claim_id, fund_id, amount = pays[body["payment_id"]]
            spent[fund_id] -= amount
            returned.add(body["payment_id"])
    paid = Counter(claim for pid, (claim, _, _) in pays.items() if pid not in returned)
    assert set(paid) == set(approved) and set(paid.values()) == {1}


def test_clean_simulation_orders_business_dates(clean: Any) -> None:
    _, intents = clean
    registered: dict[str, D] = {}
    confirmed: dict[str, D] = {}
    approved: dict[str, D] = {}
    for intent in intents:
        body, day = intent["body"], D.fromisoformat(intent["at"][:10])
        assert D(2018, 12, 1) <= day <= D(2020, 12, 31)
        if intent["type"] == "LaborerRegistered":
            registered[body["laborer_id"]] = day
        elif intent["type"] == "IdentityConfirmed":
            confirmed[body["laborer_id"]] = day
        elif intent["type"] == "ClassOpeningApproved":
            approved[body["class_id"]] = day
        elif intent["type"] == "TraineeEnrolled":
            assert registered[body["laborer_id"]] < day and confirmed[body["laborer_id"]] < day
            assert approved[body["class_id"]] < day


# ---- injected misuse -------------------------------------------------------------------------------
def test_small_scale_injects_every_rule(small: Any) -> None:
    sim, _ = small
    assert {c.rule for c in sim.truth} == set(RULE_IDS)


def test_rule_ids_are_those_of_rules_md() -> None:
    rules = Path(__file__).resolve().parents[3] / "shared" / "RULES.md"  # beside the checkout
    if not rules.exists():
        pytest.skip("RULES.md not available here")
    listed = set(re.findall(r"^\| `([A-Z]+(?:-[A-Z]+)+)` \|", rules.read_text(), flags=re.M))
    assert set(RULE_IDS) <= listed
    # Rules RULES.md has that wait on a capability not built yet; the issue that builds it
    # implements them (and its injectors) and empties this set.
    awaiting: set[str] = set()
    assert listed - set(RULE_IDS) == awaiting


def test_rule_and_anomaly_ids_are_the_projections_own() -> None:
    assert tuple(r.id for r in engine.RULES) == RULE_IDS  # the registry, not a copy
    assert set(INJECTORS) == set(RULE_IDS)  # one injector per rule, no more
    assert anomaly_id is engine.anomaly_id


@pytest.mark.parametrize(
    ("code", "certificate", "fen"),
    [
        ("WLD", "vocational_qualification", 180000),  # the occupation's own standard
        ("EXC", "vocational_qualification", 200000),
        ("ELC", "vocational_qualification", 200000),  # two-after students: the programme's
        ("EMB", "special_ability", 120000),
        ("DRV", "driving_licence", 300000),
        ("CHF", "training_completion", 80000),  # a training-completion certificate: 800 yuan
    ],
)
def test_a_line_is_paid_by_the_most_specific_standard(code: str, certificate: str, fen: int) -> None:
    assert training_fen(OCCUPATIONS[code], certificate) == fen


def test_reference_data_is_read_from_the_data_files() -> None:
    assert set(SCALES) == {"tiny", "small", "city"} and len(SCALES["city"].counties) == 5
    assert len(OCCUPATIONS) == 16 and len(STANDARDS) == 15
    assert {s.kind for s in STANDARDS} == {"training", "appraisal", "employer", "living_allowance"}


def test_truth_names_subjects_as_rules_md_fixes_them(small: Any) -> None:
    sim, intents = small
    created: dict[str, set[str]] = defaultdict(set)
    reconciled: set[str] = set()
    for intent in intents:
        body = intent["body"]
        for key in (
            "laborer_id",
            "class_id",
            "claim_id",
            "payment_id",
            "fund_id",
            "certificate_no",
            "employment_id",
        ):
            if key in body:
                created[key].add(body[key])
        if intent["type"] == "ReconciliationRecorded":
            reconciled.add(f"{intent['actor']}:{body['period']}")
    kinds = {
        "laborer": "laborer_id",
        "class": "class_id",
        "claim": "claim_id",
        "payment": "payment_id",
        "fund": "fund_id",
        "certificate": "certificate_no",
        "employment": "employment_id",
    }
    actors = {a.actor_id for a in sim.actors}
    for case in sim.truth + sim.expected_knock_on:
        assert case.rule in RULE_IDS and case.subject_kind in SUBJECT_KINDS and case.note
        if case.subject_kind in kinds:
            assert case.subject_id in created[kinds[case.subject_kind]], case
        elif case.subject_kind == "account":
            assert re.fullmatch(r"raw:\d{16,19}", case.subject_id)
        elif case.subject_kind == "reconciliation":  # "<actor_id>:<YYYY-MM>": a month the bureau reconciled
            assert case.subject_id in reconciled, case
        else:
            assert case.subject_id in actors
        if case.rule in WITH_LABORER:
            assert case.laborer_id in created["laborer_id"], case
        elif case.subject_kind == "laborer":
            assert case.laborer_id == case.subject_id
        else:
            assert case.laborer_id is None, case


def test_key_revocation_is_the_last_intent_and_names_its_actor(small: Any) -> None:
    _, intents = small
    last = intents[-1]
    assert last["type"] == "KeyRevoked" and last["actor"] == "admin"
    assert last["body"]["key_id"] == "" and last["key_of"] == last["body"]["actor_id"]
    effective = dt.datetime.fromisoformat(last["body"]["effective_at"])
    later = [i for i in intents[:-1] if i["actor"] == last["key_of"]
             and dt.datetime.fromisoformat(i["at"]) > effective]  # fmt: skip
    assert later


def test_misuse_rate_scales_the_number_of_cases() -> None:
    few, many = simulate("small", seed=5, misuse_rate=0.01), simulate("small", seed=5, misuse_rate=0.5)
    assert len(many.truth) > len(few.truth) >= len(RULE_IDS)


def test_tiny_scale_is_one_clean_class() -> None:
    sim = simulate("tiny", seed=1)
    intents = list(sim.intents())
    assert sum(1 for i in intents if i["type"] == "ClassOpeningRequested") == 1
    assert sim.truth == [] and sim.count() == len(intents)


@pytest.mark.slow
def test_city_scale_meets_the_policy_target_and_injects_every_rule() -> None:
    sim = simulate("city", seed=2019)
    enrolments = 0
    n = 0
    counties: set[str] = set()
    for intent in sim.intents():
        n += 1
        if intent["type"] == "TraineeEnrolled":
            enrolments += 1
        elif intent["type"] == "ClassOpeningRequested":
            counties.add(intent["body"]["jurisdiction"])
    assert 33970 <= enrolments <= 42465  # the policy's three-year target (trainee-times)
    assert counties == {"640402", "640422", "640423", "640424", "640425"}
    assert 200_000 <= n <= 600_000
    assert {c.rule for c in sim.truth} == set(RULE_IDS)


# ---- the holiday table -----------------------------------------------------------------------------
def test_make_up_days_are_weekends_and_never_holidays() -> None:
    for day in MAKEUP_WORKDAYS:
        assert day.weekday() >= 5 and day not in HOLIDAYS and is_working_day(day)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2019, 10, 1), False),  # National Day
        (D(2019, 9, 29), True),  # Sunday worked for National Day
        (D(2019, 5, 3), False),  # Labour Day extended to four days in 2019
        (D(2019, 5, 5), True),
        (D(2020, 1, 31), False),  # Spring Festival extended for COVID-19
        (D(2020, 2, 1), False),  # no longer a make-up day after the extension
        (D(2020, 2, 3), True),
        (D(2020, 10, 8), False),
        (D(2020, 10, 10), True),  # Saturday worked
        (D(2018, 12, 29), True),  # Saturday worked for New Year 2019
        (D(2019, 6, 10), True),
        (D(2019, 6, 8), False),  # Saturday
    ],
)
def test_working_days_follow_the_state_council_notices(day: D, working: bool) -> None:
    assert is_working_day(day) is working
    assert is_holiday_or_weekend(day) is (not working)


def test_next_working_day_skips_a_holiday_block() -> None:
    assert next_working_day(D(2019, 10, 1)) == D(2019, 10, 8)
    assert next_working_day(D(2019, 10, 8)) == D(2019, 10, 8)
    assert covers(D(2021, 5, 1)) and not covers(D(2022, 5, 1))
