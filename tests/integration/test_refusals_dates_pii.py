"""Issue 12's new refusals, through ``import`` on SQLite and PostgreSQL: nothing written.

- ``date_out_of_range`` (EVENTS.md): the red team's attack was one AttendanceRecorded dated
  9999-12-01, or one payment with value date 9999-12-31, accepted — after which every projection
  hung. Any date, month or timestamp after 2099-12-31 is now refused at the door.
- ``personal_data_in_text`` (EVENTS.md): an ID, mobile or card number written into a free-text
  field, an ID number as a certificate or bank reference, would stay in the immutable log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.application import Outcome
from ledger.domain import envelope as envelope_module
from ledger.domain import schema
from ledger.translog.verify import run_verify
from support.scenario import Scenario

ID = "64042219850601123X"  # a valid 西吉县 ID number (check character X)
ID_BAD_CHECK = "640422198506011230"
PHONE = "18040717459"
CARD = "6217991338056654659"  # Luhn-valid, 19 digits


@pytest.fixture
def sc(db_url: str, tmp_path: Path):
    scenario = Scenario.create(db_url, tmp_path)
    scenario.laborer("L-0001")
    scenario.klass("CLS-1")
    scenario.fund()
    scenario.claim("CL-1", "CLS-1", ["L-0001"])
    yield scenario
    scenario.close()


def imported(sc: Scenario, line: dict[str, Any], *, sign: bool = False) -> Outcome:
    """Import one JSON line (a signed envelope, or an intent with ``sign``) the way ``import`` does."""
    outcomes = list(sc.session.import_lines([json.dumps(line, ensure_ascii=False)], sign=sign))
    assert len(outcomes) == 1
    return outcomes[0][1]


def refused(sc: Scenario, line: dict[str, Any], code: str, *, sign: bool = False) -> str:
    size = sc.ledger.size()
    out = imported(sc, line, sign=sign)
    assert (out.status, out.code) == ("refused", code), out
    assert out.reason and "\n" not in out.reason
    if code in ("date_out_of_range", "personal_data_in_text"):
        assert code in out.reason  # import --json reports the message: it names its reason
    assert sc.ledger.size() == size, "a refusal must write nothing"
    return out.reason


def accepted(sc: Scenario, line: dict[str, Any], *, sign: bool = False) -> int:
    out = imported(sc, line, sign=sign)
    assert out.status == "accepted", out
    assert out.seq is not None
    return out.seq


def attendance(day: str) -> dict[str, Any]:
    return {"class_id": "CLS-1", "date": day,
            "trainees": [{"laborer_id": "L-0001", "theory_hours": 2, "practical_hours": 6}]}  # fmt: skip


def payment(value_date: str, payment_id: str = "P-1", bank_reference: str = "GKZF-P-1") -> dict[str, Any]:
    return {"payment_id": payment_id, "claim_id": "CL-1", "fund_id": "F-2019-640422-training",
            "amount_fen": 150000, "payee_account": "ab" * 32, "bank_reference": bank_reference,
            "value_date": value_date}  # fmt: skip


def intent(actor: str, event_type: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"actor": actor, "type": event_type, "at": "2019-05-10T10:00:00+08:00", "body": body, **extra}


# --- date_out_of_range: the red team's attacks --------------------------------------------------------
def test_attendance_dated_9999_refused_date_out_of_range(sc: Scenario) -> None:
    reason = refused(sc, sc.envelope("inst-xj", "AttendanceRecorded", attendance("9999-12-01")), "date_out_of_range")
    assert "body.date" in reason and "9999-12-01" in reason


def test_payment_value_date_9999_refused(sc: Scenario) -> None:
    reason = refused(sc, sc.envelope("fin-xj", "PaymentDisbursed", payment("9999-12-31")), "date_out_of_range")
    assert "body.value_date" in reason


def test_signed_intent_dated_9999_refused_too(sc: Scenario) -> None:
    refused(sc, intent("inst-xj", "AttendanceRecorded", attendance("9999-12-01")), "date_out_of_range", sign=True)


# --- the boundary: 2099-12-31 is a date of this world, 2100-01-01 is not -----------------------------------
def test_attendance_dated_2099_12_31_accepted(sc: Scenario) -> None:
    accepted(sc, sc.envelope("inst-xj", "AttendanceRecorded", attendance("2099-12-31")))


def test_attendance_dated_2100_01_01_refused(sc: Scenario) -> None:
    refused(sc, sc.envelope("inst-xj", "AttendanceRecorded", attendance("2100-01-01")), "date_out_of_range")


def test_payment_value_date_2099_12_31_accepted_and_2100_01_01_refused(sc: Scenario) -> None:
    refused(sc, sc.envelope("fin-xj", "PaymentDisbursed", payment("2100-01-01")), "date_out_of_range")
    accepted(sc, sc.envelope("fin-xj", "PaymentDisbursed", payment("2099-12-31")))


def test_month_2099_12_accepted_and_2100_01_refused(sc: Scenario) -> None:
    sc.ok("emp-xj", "EmploymentStarted", {"employment_id": "E-1", "laborer_id": "L-0001", "position": "保洁员",
                                          "start_date": "2019-06-01"})  # fmt: skip
    payroll = {"employment_id": "E-1", "wage_fen": 300000}
    refused(sc, sc.envelope("emp-xj", "PayrollRecorded", {**payroll, "month": "2100-01"}), "date_out_of_range")
    proof = {"employment_id": "E-1", "months": ["2019-07", "2100-01"]}
    assert "months.1" in refused(sc, sc.envelope("emp-xj", "EmploymentProofSubmitted", proof), "date_out_of_range")
    accepted(sc, sc.envelope("emp-xj", "PayrollRecorded", {**payroll, "month": "2099-12"}))


@pytest.mark.parametrize("field", ["planned_start", "planned_end"])
def test_class_planned_after_2099_refused(sc: Scenario, field: str) -> None:
    body = {"class_id": "CLS-2", "programme": "employment_skill", "occupation": "中式烹调", "in_catalog": True,
            "jurisdiction": "640422", "site": "实训楼", "planned_start": "2019-04-08", "planned_end": "2019-05-03",
            "capacity": 40, "hours_per_day": 8, "practical_percent": 70, "subsidy_per_trainee_fen": 150000}  # fmt: skip
    body[field] = "2100-01-01"
    assert f"body.{field}" in refused(sc, sc.envelope("inst-xj", "ClassOpeningRequested", body), "date_out_of_range")


def test_revocation_effective_after_2099_refused(sc: Scenario) -> None:
    actor = sc.ledger.actor("tw-jq")
    assert actor is not None
    body = {"actor_id": "tw-jq", "key_id": actor.current_key_id, "reason": "离职", "effective_at": "2100-01-01T00:00:00+08:00"}
    assert "effective_at" in refused(sc, sc.envelope("admin", "KeyRevoked", body), "date_out_of_range")


@pytest.mark.parametrize("at", ["9999-12-01T09:00:00+08:00", "2100-01-01T00:00:00+08:00",
                                "2099-12-31T20:00:00Z"])  # the last one is 2100-01-01 in Shanghai
def test_at_after_2099_refused_date_out_of_range_not_merely_from_the_future(sc: Scenario, at: str) -> None:
    env = sc.envelope("inst-xj", "AttendanceRecorded", attendance("2019-04-08"), at=at)
    assert refused(sc, env, "date_out_of_range").startswith("at")


def test_month_of_year_zero_is_malformed_not_a_crash(sc: Scenario) -> None:
    body = {"reconciliation_id": "R-1", "period": "0000-12", "statement_sha256": "c" * 64, "matched": 0,
            "unmatched_ledger": 0, "unmatched_bank": 0, "mismatched": 0}  # fmt: skip
    refused(sc, sc.envelope("fin-xj", "ReconciliationRecorded", body), "invalid_field")


def test_a_far_future_leaf_from_before_the_refusal_still_verifies(
    sc: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log written before the refusal existed is not a tampered log: verify judges the format."""
    monkeypatch.setattr(schema, "MAX_DATE", "9999-12-31")
    accepted(sc, sc.envelope("inst-xj", "AttendanceRecorded", attendance("9999-12-01")))
    monkeypatch.setattr(envelope_module, "screen_personal_data", lambda *_: None)
    accepted(sc, sc.envelope("inst-xj", "ClassCancelled", {"class_id": "CLS-1", "reason": f"联系 {PHONE}"}))
    monkeypatch.undo()
    intact = run_verify(sc.ledger, sc.session.keys, workers=0)
    assert intact.size == sc.ledger.size()


# --- personal_data_in_text ------------------------------------------------------------------------------------
def inspection(note: str) -> dict[str, Any]:
    return {"inspection_id": "I-1", "method": "site_visit", "subject_kind": "class", "subject_id": "CLS-1",
            "date": "2019-04-10", "class_id": "CLS-1", "present": ["L-0001"], "absent": [], "checklist": None,
            "findings": [{"code": "ok", "note": "教学计划齐全"}, {"laborer_id": "L-0001", "code": "attendance_denied",
                                                                     "note": note}], "verdict": "fail"}  # fmt: skip


def test_id_number_in_a_finding_note_refused_personal_data_in_text(sc: Scenario) -> None:
    reason = refused(sc, sc.envelope("insp", "InspectionRecorded", inspection(f"学员（身份证{ID}）称未参训")),
                     "personal_data_in_text")  # fmt: skip
    assert "findings.1.note" in reason
    assert ID not in reason and ID[:14] not in reason, "the refusal must not repeat the number"


def test_id_number_as_a_driving_licence_certificate_no_refused(sc: Scenario) -> None:
    body = {"certificate_no": ID, "certificate_type": "driving_licence", "laborer_id": "L-0001",
            "class_id": "CLS-1", "occupation": "C1 驾驶", "issued_on": "2019-06-01"}  # fmt: skip
    refused(sc, sc.envelope("traffic", "CertificateIssued", body), "personal_data_in_text")
    body["certificate_no"] = "640400190001234"  # the licence's file number (档案编号) instead
    accepted(sc, sc.envelope("traffic", "CertificateIssued", body))


def test_id_number_as_a_certificate_no_on_a_claim_line_refused(sc: Scenario) -> None:
    body = {"claim_id": "CL-2", "kind": "training", "class_id": "CLS-1", "payee_account": "ab" * 32,
            "lines": [{"laborer_id": "L-0001", "amount_fen": 150000, "certificate_no": ID.lower()}], "total_fen": 150000}  # fmt: skip
    refused(sc, sc.envelope("inst-xj", "SubsidyClaimed", body), "personal_data_in_text")


def test_id_number_as_a_bank_reference_refused(sc: Scenario) -> None:
    refused(sc, sc.envelope("fin-xj", "PaymentDisbursed", payment("2019-05-10", bank_reference=ID)), "personal_data_in_text")


@pytest.mark.parametrize("event_type, body", [
    ("ClassCancelled", {"class_id": "CLS-1", "reason": f"联系人电话{PHONE}"}),
    ("CompletionReviewed", {"class_id": "CLS-1", "approved": False, "note": f"补贴打到卡号 {CARD} 上"}),
    ("PersonalDataAccessed", {"laborer_id": "L-0001", "purpose": f"核实 {ID}"}),
    ("IdentityConfirmed", {"laborer_id": "L-0001", "basis": f"户口簿与身份证 {ID} 一致"}),
])  # fmt: skip
def test_personal_data_in_free_text_refused(sc: Scenario, event_type: str, body: dict[str, Any]) -> None:
    actor = {"ClassCancelled": "inst-xj", "CompletionReviewed": "hr-xj"}.get(event_type, "pov-xj")
    refused(sc, sc.envelope(actor, event_type, body), "personal_data_in_text")


def test_personal_data_in_text_of_a_signed_intent_refused(sc: Scenario) -> None:
    line = intent("pov-xj", "IdentityRejected", {"laborer_id": "L-0001", "reason": f"手机 {PHONE} 无人接听"})
    refused(sc, line, "personal_data_in_text", sign=True)


def test_near_misses_and_numbers_outside_free_text_are_recorded(sc: Scenario) -> None:
    accepted(sc, sc.envelope("insp", "InspectionRecorded", inspection(f"编号 {ID_BAD_CHECK} 校验位不符；文号 2019{PHONE}")))
    accepted(sc, sc.envelope("fin-xj", "PaymentDisbursed", payment("2019-05-10", bank_reference=PHONE)))
    accepted(sc, sc.envelope("fin-xj", "PaymentDisbursed", payment("2019-05-11", "P-2", bank_reference=CARD)))


def test_import_json_reports_both_refusals_by_code(sc: Scenario, db_url: str, tmp_path: Path) -> None:
    """The red team's lines, through the command line: exit 1, each line refused by its code."""
    source = tmp_path / "attack.jsonl"
    lines = [sc.envelope("inst-xj", "AttendanceRecorded", attendance("9999-12-01")),
             sc.envelope("fin-xj", "PaymentDisbursed", payment("9999-12-31")),
             sc.envelope("insp", "InspectionRecorded", inspection(f"身份证{ID}"))]  # fmt: skip
    source.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    size = sc.ledger.size()
    result = subprocess.run(
        [sys.executable, "-m", "api", "--db", db_url, "--keys", str(sc.session.keys.root), "--lang", "en",
         "import", "--json", str(source)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0"},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["refused"] * 3
    assert ["date_out_of_range" in rows[0]["reason"], "date_out_of_range" in rows[1]["reason"],
            "personal_data_in_text" in rows[2]["reason"]] == [True, True, True]  # fmt: skip
    assert ID not in result.stdout + result.stderr
    assert sc.ledger.size() == size


# --- envelope_too_large (EVENTS.md; found missing by benchmarks/redteam.py) --------------------------
def _attendance(sc: Scenario, rows: int) -> dict[str, Any]:
    trainees = [{"laborer_id": f"L-{n:06d}", "theory_hours": 2, "practical_hours": 6} for n in range(rows)]
    return sc.envelope("inst-xj", "AttendanceRecorded", {"class_id": "C-1", "date": "2019-04-08", "trainees": trainees})


def test_envelope_over_60_kib_refused_envelope_too_large(sc: Scenario) -> None:
    from ledger.domain.envelope import MAX_ENVELOPE_BYTES
    from ledger.encoding.canonical import canonical

    big = _attendance(sc, 1200)  # every field valid; 72 KiB of canonical JSON
    assert len(canonical(big)) > MAX_ENVELOPE_BYTES
    size = sc.ledger.size()
    outcome = sc.submit(big)
    assert outcome.status == "refused" and outcome.code == "envelope_too_large", outcome
    assert sc.ledger.size() == size
    fits = _attendance(sc, 900)  # 54 KiB: judged on, refused only for its unknown class
    assert len(canonical(fits)) < MAX_ENVELOPE_BYTES
    assert sc.submit(fits).code != "envelope_too_large"
