"""Every refusal of EVENTS.md, on SQLite and PostgreSQL: a specific error, nothing written.

Each test asserts the refusal's error code and that the log did not grow, so a refusal that
"half happened" fails here.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.envelope import public_key_bytes, sign_envelope
from ledger.encoding.b64 import b64encode
from support.scenario import Scenario


@pytest.fixture
def sc(db_url: str, tmp_path: Path):
    scenario = Scenario.create(db_url, tmp_path)
    scenario.laborer("L-0001")
    scenario.klass("CLS-1")
    yield scenario
    scenario.close()


def refused(sc: Scenario, envelope: dict, code: str) -> str:
    size = sc.ledger.size()
    out = sc.submit(envelope)
    assert out.status == "refused", out
    assert out.code == code, out
    assert out.reason
    assert sc.ledger.size() == size, "a refusal must write nothing"
    return out.reason


# --- malformed -------------------------------------------------------------------------------------
def test_refuses_unknown_event_type(sc: Scenario) -> None:
    refused(sc, sc.envelope("hr-xj", "ClassOpened", {"class_id": "CLS-1"}), "unknown_type")


def test_refuses_missing_field(sc: Scenario) -> None:
    reason = refused(sc, sc.envelope("hr-xj", "ClassOpeningRejected", {"class_id": "CLS-1"}), "invalid_field")
    assert "reason" in reason


def test_refuses_extra_field_so_no_personal_data_slips_in(sc: Scenario) -> None:
    env = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1", "name": "张三"})
    assert "name" in refused(sc, env, "invalid_field")


def test_refuses_extra_envelope_field(sc: Scenario) -> None:
    env = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, pii={"name": "张三"})
    refused(sc, env, "invalid_field")


def test_refuses_mistyped_field_string_for_number(sc: Scenario) -> None:
    env = sc.envelope("fin-xj", "FundAllocated", {
        "fund_id": "F-1", "jurisdiction": "640422", "source": "central", "purpose": "training",
        "year": 2019, "amount_fen": "80000"})  # fmt: skip
    assert "amount_fen" in refused(sc, env, "invalid_field")


def test_refuses_true_for_integer(sc: Scenario) -> None:
    env = sc.envelope("fin-xj", "FundAllocated", {
        "fund_id": "F-1", "jurisdiction": "640422", "source": "central", "purpose": "training",
        "year": 2019, "amount_fen": True})  # fmt: skip
    refused(sc, env, "invalid_field")


def test_refuses_bad_id(sc: Scenario) -> None:
    env = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS 1/../x"})
    assert "class_id" in refused(sc, env, "invalid_field")


def test_refuses_negative_money(sc: Scenario) -> None:
    env = sc.envelope("fin-xj", "FundAllocated", {
        "fund_id": "F-1", "jurisdiction": "640422", "source": "central", "purpose": "training",
        "year": 2019, "amount_fen": -1})  # fmt: skip
    assert "negative" in refused(sc, env, "invalid_field")


def test_refuses_negative_hours(sc: Scenario) -> None:
    env = sc.envelope("inst-xj", "AttendanceRecorded", {"class_id": "CLS-1", "date": "2019-04-08",
        "trainees": [{"laborer_id": "L-0001", "theory_hours": -2, "practical_hours": 6}]})  # fmt: skip
    assert "negative" in refused(sc, env, "invalid_field")


def test_refuses_total_not_sum_of_lines(sc: Scenario) -> None:
    env = sc.envelope("inst-xj", "SubsidyClaimed", {"claim_id": "C-1", "kind": "training", "class_id": "CLS-1",
        "lines": [{"laborer_id": "L-0001", "amount_fen": 150000}], "payee_account": "ab" * 32,
        "total_fen": 160000})  # fmt: skip
    refused(sc, env, "total_mismatch")


def test_refuses_living_allowance_claim_with_two_lines(sc: Scenario) -> None:
    sc.laborer("L-0002")
    env = sc.envelope("inst-xj", "SubsidyClaimed", {"claim_id": "C-1", "kind": "living_allowance",
        "class_id": "CLS-1", "lines": [{"laborer_id": "L-0001", "amount_fen": 3000},
        {"laborer_id": "L-0002", "amount_fen": 3000}], "payee_account": "ab" * 32, "total_fen": 6000})  # fmt: skip
    refused(sc, env, "living_allowance_lines")


def test_refuses_float(sc: Scenario) -> None:
    from ledger.keys.signing import parse_line

    item = parse_line('{"v": 1.0, "type": "X"}', None)
    assert item.error is not None and item.error.code == "invalid_json"


def test_refuses_duplicate_json_keys() -> None:
    from ledger.keys.signing import parse_line

    item = parse_line('{"v": 1, "v": 1}', None)
    assert item.error is not None and "duplicate key" in str(item.error)


# --- attribution --------------------------------------------------------------------------------------
def test_refuses_bad_signature(sc: Scenario) -> None:
    env = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"})
    env["sig"] = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-2"})["sig"]
    refused(sc, env, "bad_signature")


def test_refuses_unknown_actor(sc: Scenario) -> None:
    key = Ed25519PrivateKey.generate()
    env = sign_envelope({"type": "ClassOpeningApproved", "actor": "hr-ghost", "at": "2019-04-01T09:00:00+08:00",
                         "nonce": "ghost-0001", "body": {"class_id": "CLS-1"}}, key)  # fmt: skip
    refused(sc, env, "unknown_actor")


def test_refuses_unknown_key(sc: Scenario) -> None:
    key = Ed25519PrivateKey.generate()
    env = sign_envelope({"type": "ClassOpeningApproved", "actor": "hr-xj", "at": "2019-04-01T09:00:00+08:00",
                         "nonce": "ghost-0001", "body": {"class_id": "CLS-1"}}, key)  # fmt: skip
    refused(sc, env, "unknown_key")


def test_refuses_key_id_of_another_actor(sc: Scenario) -> None:
    env = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, key_actor="hr-ld")
    assert "hr-ld" in refused(sc, env, "key_not_actors")


def test_refuses_old_key_after_rotation_even_for_an_earlier_at(sc: Scenario) -> None:
    old = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, at="2019-04-01T09:00:00+08:00")
    sc.session.rotate_actor("hr-xj")
    refused(sc, old, "key_not_valid")
    sc.ok("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"})  # the new key works


def test_refuses_key_after_revocation_for_an_at_after_it_takes_effect(sc: Scenario) -> None:
    sc.session.revoke_actor("hr-xj", "钥匙遗失 key lost", effective_at="2019-03-01T00:00:00+08:00")
    env = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, at="2019-04-01T09:00:00+08:00")
    refused(sc, env, "key_not_valid")


def test_refuses_role_not_allowed_to_sign_type(sc: Scenario) -> None:
    env = sc.envelope("inst-xj", "ClassOpeningApproved", {"class_id": "CLS-1"})
    assert "institution" in refused(sc, env, "role_not_allowed")


def test_refuses_institution_issuing_a_qualification_certificate(sc: Scenario) -> None:
    env = sc.envelope("inst-xj", "CertificateIssued", {"certificate_no": "Z-1", "certificate_type":
        "vocational_qualification", "laborer_id": "L-0001", "class_id": "CLS-1", "occupation": "中式烹调",
        "issued_on": "2019-05-04"})  # fmt: skip
    refused(sc, env, "role_not_allowed")


def test_refuses_actor_outside_its_jurisdiction(sc: Scenario) -> None:
    env = sc.envelope("hr-ld", "ClassOpeningApproved", {"class_id": "CLS-1"})
    assert "640422" in refused(sc, env, "outside_jurisdiction")


def test_city_level_actor_acts_in_any_county(sc: Scenario) -> None:
    sc.ok("insp", "InspectionRecorded", {"inspection_id": "I-1", "method": "phone_visit", "subject_kind":
        "laborer", "subject_id": "L-0001", "date": "2019-04-10", "present": [], "absent": [],
        "checklist": None, "findings": [], "verdict": "pass"})  # fmt: skip


def test_refuses_a_genesis_that_is_not_a_self_signed_admin(tmp_path: Path, db_url: str) -> None:
    from ledger.application import Item, Ledger
    from ledger.domain.envelope import Envelope

    ledger = Ledger.open(db_url)
    try:
        admin, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        body = {"actor_id": "admin", "name": "x", "role": "admin", "jurisdiction": "640400",
                "public_key": b64encode(public_key_bytes(admin))}  # fmt: skip
        bad = sign_envelope({"type": "ActorRegistered", "actor": "admin", "at": "2026-01-01T00:00:00Z",
                             "nonce": "genesis-1", "body": body}, other)  # fmt: skip
        out = ledger.append([Item(Envelope.from_dict(bad))])[0]
        assert (out.status, out.code) == ("refused", "genesis_invalid")
        assert ledger.size() == 0
    finally:
        ledger.close()


# --- replay ------------------------------------------------------------------------------------------------
def test_same_envelope_again_is_a_duplicate_not_a_second_leaf(sc: Scenario) -> None:
    env = sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, nonce="approve-cls-1")
    first = sc.submit(env)
    size = sc.ledger.size()
    again = sc.submit(env)
    assert (again.status, again.seq) == ("duplicate", first.seq)
    assert sc.ledger.size() == size


def test_refuses_nonce_reused_for_a_different_envelope(sc: Scenario) -> None:
    sc.ok("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, nonce="approve-cls-1")
    env = sc.envelope("hr-xj", "ClassOpeningRejected", {"class_id": "CLS-1", "reason": "x"}, nonce="approve-cls-1")
    refused(sc, env, "nonce_reused")


# --- references ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("actor", "event_type", "body", "field"),
    [
        ("inst-xj", "TraineeEnrolled", {"class_id": "CLS-1", "laborer_id": "L-9999"}, "laborer_id"),
        ("inst-xj", "TraineeEnrolled", {"class_id": "CLS-404", "laborer_id": "L-0001"}, "class_id"),
        ("hr-xj", "ClaimApproved", {"claim_id": "C-404", "lines": [], "total_fen": 0}, "claim_id"),
        ("fin-xj", "FundAdjusted", {"fund_id": "F-404", "delta_fen": -5, "reason": "红字冲销"}, "fund_id"),
        ("fin-xj", "PaymentReturned", {"payment_id": "P-404", "reason": "账户冻结"}, "payment_id"),
        ("emp-xj", "PayrollRecorded", {"employment_id": "E-404", "month": "2019-06", "wage_fen": 300000}, "employment_id"),
    ],
)
def test_refuses_reference_to_what_does_not_exist(sc: Scenario, actor: str, event_type: str, body: dict, field: str) -> None:
    assert field in refused(sc, sc.envelope(actor, event_type, body), "unknown_reference")


def test_refuses_payment_from_unknown_fund(sc: Scenario) -> None:
    sc.claim("C-1", "CLS-1", ["L-0001"])
    env = sc.envelope("fin-xj", "PaymentDisbursed", {"payment_id": "P-1", "claim_id": "C-1", "fund_id": "F-404",
        "amount_fen": 150000, "payee_account": "ab" * 32, "bank_reference": "B1", "value_date": "2019-06-03"})  # fmt: skip
    assert "fund_id" in refused(sc, env, "unknown_reference")


@pytest.mark.parametrize(
    ("make", "envelope_args", "field"),
    [
        ("laborer", ("pov-xj", "LaborerRegistered"), "laborer_id"),
        ("klass", ("inst-xj", "ClassOpeningRequested"), "class_id"),
    ],
)
def test_refuses_id_that_already_exists(sc: Scenario, make: str, envelope_args: tuple, field: str) -> None:
    size = sc.ledger.size()
    ident = {"laborer": "L-0001", "klass": "CLS-1"}[make]
    with pytest.raises(AssertionError):
        getattr(sc, make)(ident)
    assert sc.ledger.size() == size
    out = sc.do(envelope_args[0], envelope_args[1], _body_of(sc, ident))
    assert out.code == "already_exists" and field in (out.reason or "")


def _body_of(sc: Scenario, ident: str) -> dict:
    import json

    for _, _, leaf in sc.ledger.leaves():
        env = json.loads(leaf)["envelope"]
        if ident in (env["body"].get("laborer_id"), env["body"].get("class_id")) and env["type"] in (
            "LaborerRegistered", "ClassOpeningRequested"):  # fmt: skip
            return env["body"]
    raise AssertionError(ident)


@pytest.mark.parametrize(
    ("actor", "event_type", "body"),
    [
        ("hr-xj", "InspectionRecorded", {"inspection_id": "I-1", "method": "questionnaire", "subject_kind": "class",
            "subject_id": "CLS-1", "date": "2019-04-10", "present": [], "absent": [], "checklist": None,
            "findings": [], "verdict": "pass"}),
        ("admin", "SubsidyStandardSet", {"standard_id": "S-1", "kind": "training", "amount_fen": 80000,
            "per": "trainee", "effective_from": "2018-01-01"}),
        ("fin-xj", "ReconciliationRecorded", {"reconciliation_id": "R-1", "period": "2019-06", "statement_sha256":
            "cd" * 32, "matched": 1, "unmatched_ledger": 0, "unmatched_bank": 0, "mismatched": 0}),
        ("admin", "ActorRegistered", {"actor_id": "hr-xj", "name": "x", "role": "hr_bureau", "jurisdiction": "640422",
            "public_key": base64.b64encode(bytes(32)).decode()}),
    ],
)  # fmt: skip
def test_refuses_second_creation_of_any_unique_id(sc: Scenario, actor: str, event_type: str, body: dict) -> None:
    if event_type != "ActorRegistered":
        sc.ok(actor, event_type, body)
    refused(sc, sc.envelope(actor, event_type, body), "already_exists")


def test_certificate_no_on_a_claim_line_may_not_exist_yet(sc: Scenario) -> None:
    sc.ok("inst-xj", "SubsidyClaimed", {"claim_id": "C-1", "kind": "training", "class_id": "CLS-1",
        "lines": [{"laborer_id": "L-0001", "amount_fen": 150000, "certificate_no": "Z-LATER"}],
        "payee_account": "ab" * 32, "total_fen": 150000})  # fmt: skip


def test_anomaly_id_may_not_exist_yet(sc: Scenario) -> None:
    sc.ok("insp", "AnomalyDisposed", {"anomaly_id": "A-" + "0" * 40, "disposition": "false_positive", "note": "已核实"})


# --- time ----------------------------------------------------------------------------------------------------
def test_refuses_at_more_than_five_minutes_ahead(sc: Scenario) -> None:
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)).isoformat(timespec="seconds")
    refused(sc, sc.envelope("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, at=ahead), "at_in_future")
    near = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=4)).isoformat(timespec="seconds")
    sc.ok("hr-xj", "ClassOpeningApproved", {"class_id": "CLS-1"}, at=near)


def test_refuses_any_date_after_2099_12_31(sc: Scenario) -> None:
    """The attacks and every date field: tests/integration/test_refusals_dates_pii.py."""
    body = {"class_id": "CLS-1", "end_date": "2100-01-01", "completers": ["L-0001"]}
    assert "body.end_date" in refused(sc, sc.envelope("inst-xj", "ClassCompleted", body), "date_out_of_range")
    sc.ok("inst-xj", "ClassCompleted", {**body, "end_date": "2099-12-31"})


# --- personal data where it does not belong ---------------------------------------------------------------------
def test_refuses_an_id_number_written_into_free_text(sc: Scenario) -> None:
    """Every field and kind, and the near misses: tests/unit/test_pii_text.py and test_refusals_dates_pii.py."""
    body = {"class_id": "CLS-1", "laborer_id": "L-0001", "reason": "本人（64042219850601123X）外出务工"}
    reason = refused(sc, sc.envelope("inst-xj", "TraineeWithdrawn", body), "personal_data_in_text")
    assert "body.reason" in reason and "64042219850601123X" not in reason
    sc.ok("inst-xj", "TraineeWithdrawn", {**body, "reason": "本人外出务工"})


# --- policy breaches are recorded, not refused -----------------------------------------------------------------
def test_payment_without_approval_is_recorded(sc: Scenario) -> None:
    sc.fund()
    sc.claim("C-1", "CLS-1", ["L-0001"])
    sc.ok("fin-xj", "PaymentDisbursed", {"payment_id": "P-1", "claim_id": "C-1", "fund_id": "F-2019-640422-training",
        "amount_fen": 900000, "payee_account": "ab" * 32, "bank_reference": "B1", "value_date": "2019-06-01"})  # fmt: skip
