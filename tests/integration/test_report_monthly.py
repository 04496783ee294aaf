"""``report monthly`` (DESIGN §11) on a small hand-written ledger, figures computed by hand.

The ledger (Xiji 640422 unless said, all in 2019):

* labourers L-1, L-2 (poor), L-3 (eco_migrant), L-4 (non_poor), L-5 (poor), each its own household
  H-0000n, registered 04-01; L-5 is corrected into household H-00001 on 05-10. L-6 (poor, H-00006)
  is registered in Longde 640423 and trains in Xiji.
* class C-A (inst-xj): requested 04-01, approved 04-05; L-1, L-2, L-3, L-6 enrolled 04-08; L-3
  withdrawn 04-20; completed 05-10 with L-1, L-2, L-6 — a class spanning April and May.
  Class C-B (inst-xj): requested 05-02, approved 05-06, L-4 and L-5 enrolled 05-08.
* certificates TC-1/2/3 (training_completion) for L-1, L-2, L-6 on 05-12, SA-1 (special_ability,
  apc) for L-2 on 05-20; TC-1 revoked 06-15 — after May. L-6 fails an appraisal on 05-18.
* E-1: emp-xj employs L-1 after C-A from 05-20.
* inspections: a site visit of C-A 04-20 (pass); an inspector's phone visit to L-2 05-15 (fail).
* fund F-XJ: 500,000 yuan allocated 04-01, cut by 10,000 yuan 05-03. Claim CL-1 (C-A, L-1, L-2,
  L-6 at 1,500 yuan) 05-12, approved 05-14; paid P-1 05-16, returned 05-20, paid again P-2 05-24;
  1,500 yuan recovered 06-10. Claim CL-2 (L-3) 05-13, withdrawn 05-15.
* checkpoint K1 after all that; then a late EmploymentStarted E-2 (L-2, dated 05-28) and
  checkpoint K2.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from api import services
from ledger.service import Session
from projections.runner.catchup import rebuild
from support.cli import cli, one_line_error
from support.pg import pg_database
from support.scenario import LONGDE, XIJI, Scenario

CLASS_BODY = {"programme": "employment_skill", "occupation": "中式烹调", "in_catalog": True, "site": "西吉县职业技术学校实训楼",
              "capacity": 40, "hours_per_day": 6, "practical_percent": 70, "subsidy_per_trainee_fen": 150000}  # fmt: skip


def at(date: str, time: str = "10:00:00") -> str:
    return f"{date}T{time}+08:00"


def build(sc: Scenario) -> dict[str, int]:
    """The ledger above; returns the sizes of the checkpoints K1 and K2 and the late seq."""
    s = sc.session
    s.add_actor("pov-ld", "poverty_office", LONGDE, "隆德县扶贫开发办公室")
    for n in (1, 2, 3, 4, 5):
        sc.laborer(f"L-{n}", category={3: "eco_migrant", 4: "non_poor"}.get(n, "poor"))
    sc.laborer("L-6", code=LONGDE, by="pov-ld")
    sc.ok("pov-xj", "LaborerCorrected", {"laborer_id": "L-5", "reason": "户籍核对：与 L-1 同户", "household_id": "H-00001"},
          at=at("2019-05-10"))  # fmt: skip
    sc.ok("inst-xj", "ClassOpeningRequested", {**CLASS_BODY, "class_id": "C-A", "jurisdiction": XIJI,
          "planned_start": "2019-04-08", "planned_end": "2019-05-10"}, at=at("2019-04-01"))  # fmt: skip
    sc.ok("hr-xj", "ClassOpeningApproved", {"class_id": "C-A"}, at=at("2019-04-05"))
    for lid in ("L-1", "L-2", "L-3", "L-6"):
        sc.ok("inst-xj", "TraineeEnrolled", {"class_id": "C-A", "laborer_id": lid}, at=at("2019-04-08"))
    sc.ok("inst-xj", "TraineeWithdrawn", {"class_id": "C-A", "laborer_id": "L-3", "reason": "外出务工"},
          at=at("2019-04-20"))  # fmt: skip
    sc.ok("hr-xj", "InspectionRecorded", {
        "inspection_id": "I-1", "method": "site_visit", "subject_kind": "class", "subject_id": "C-A",
        "date": "2019-04-20", "present": ["L-1", "L-2", "L-6"], "absent": [], "checklist": None,
        "findings": [], "verdict": "pass"}, at=at("2019-04-20", "16:00:00"))  # fmt: skip
    sc.ok("inst-xj", "ClassOpeningRequested", {**CLASS_BODY, "class_id": "C-B", "jurisdiction": XIJI,
          "planned_start": "2019-05-08", "planned_end": "2019-06-07"}, at=at("2019-05-02"))  # fmt: skip
    sc.ok("hr-xj", "ClassOpeningApproved", {"class_id": "C-B"}, at=at("2019-05-06"))
    for lid in ("L-4", "L-5"):
        sc.ok("inst-xj", "TraineeEnrolled", {"class_id": "C-B", "laborer_id": lid}, at=at("2019-05-08"))
    sc.ok("inst-xj", "ClassCompleted", {"class_id": "C-A", "end_date": "2019-05-10", "completers": ["L-1", "L-2", "L-6"]},
          at=at("2019-05-10", "17:00:00"))  # fmt: skip
    for no, lid in (("TC-1", "L-1"), ("TC-2", "L-2"), ("TC-3", "L-6")):
        sc.ok("inst-xj", "CertificateIssued", {"certificate_no": no, "certificate_type": "training_completion",
              "laborer_id": lid, "class_id": "C-A", "occupation": "中式烹调", "issued_on": "2019-05-12"},
              at=at("2019-05-12"))  # fmt: skip
    sc.ok("apc", "CertificateIssued", {"certificate_no": "SA-1", "certificate_type": "special_ability", "level": "专项",
          "laborer_id": "L-2", "class_id": "C-A", "occupation": "中式烹调", "issued_on": "2019-05-20"},
          at=at("2019-05-20"))  # fmt: skip
    sc.ok("apc", "AppraisalFailed", {"laborer_id": "L-6", "class_id": "C-A", "occupation": "中式烹调", "date": "2019-05-18"},
          at=at("2019-05-18"))  # fmt: skip
    sc.ok("emp-xj", "EmploymentStarted", {"employment_id": "E-1", "laborer_id": "L-1", "position": "帮厨",
          "start_date": "2019-05-20", "class_id": "C-A"}, at=at("2019-05-20"))  # fmt: skip
    sc.ok("insp", "InspectionRecorded", {
        "inspection_id": "I-2", "method": "phone_visit", "subject_kind": "laborer", "subject_id": "L-2",
        "date": "2019-05-15", "present": [], "absent": [], "checklist": None,
        "findings": [{"laborer_id": "L-2", "code": "attendance_denied", "note": "本人称未参加培训"}],
        "verdict": "fail"}, at=at("2019-05-15"))  # fmt: skip
    sc.ok("fin-xj", "FundAllocated", {"fund_id": "F-XJ", "jurisdiction": XIJI, "source": "central", "purpose": "training",
          "year": 2019, "amount_fen": 50_000_000}, at=at("2019-04-01"))  # fmt: skip
    sc.ok("fin-xj", "FundAdjusted", {"fund_id": "F-XJ", "delta_fen": -1_000_000, "reason": "上级收回"}, at=at("2019-05-03"))
    lines = [{"laborer_id": lid, "amount_fen": 150000} for lid in ("L-1", "L-2", "L-6")]
    sc.ok("inst-xj", "SubsidyClaimed", {"claim_id": "CL-1", "kind": "training", "class_id": "C-A", "lines": lines,
          "payee_account": "ab" * 32, "total_fen": 450000}, at=at("2019-05-12", "15:00:00"))  # fmt: skip
    sc.ok("inst-xj", "SubsidyClaimed", {"claim_id": "CL-2", "kind": "training", "class_id": "C-A",
          "lines": [{"laborer_id": "L-3", "amount_fen": 150000}], "payee_account": "ab" * 32, "total_fen": 150000},
          at=at("2019-05-13"))  # fmt: skip
    sc.ok("inst-xj", "ClaimWithdrawn", {"claim_id": "CL-2", "reason": "学员中途退学"}, at=at("2019-05-15"))
    sc.ok("hr-xj", "ClaimApproved", {"claim_id": "CL-1", "lines": lines, "total_fen": 450000}, at=at("2019-05-14"))
    pay = {"claim_id": "CL-1", "fund_id": "F-XJ", "amount_fen": 450000, "payee_account": "ab" * 32}
    sc.ok("fin-xj", "PaymentDisbursed", {**pay, "payment_id": "P-1", "bank_reference": "B-1", "value_date": "2019-05-16"},
          at=at("2019-05-16"))  # fmt: skip
    sc.ok("fin-xj", "PaymentReturned", {"payment_id": "P-1", "reason": "收款账户冻结"}, at=at("2019-05-20"))
    sc.ok("fin-xj", "PaymentDisbursed", {**pay, "payment_id": "P-2", "bank_reference": "B-2", "value_date": "2019-05-24"},
          at=at("2019-05-24"))  # fmt: skip
    sc.ok("fin-xj", "FundsRecovered", {"claim_id": "CL-1", "recovery_id": "R-1", "amount_fen": 150000,
          "reason": "L-6 鉴定未通过，追回补贴"}, at=at("2019-06-10"))  # fmt: skip
    sc.ok("inst-xj", "CertificateRevoked", {"certificate_no": "TC-1", "reason": "复核发现考勤不实"}, at=at("2019-06-15"))
    s.checkpoint()
    k1 = sc.ledger.size()
    late = sc.ok("emp-xj", "EmploymentStarted", {"employment_id": "E-2", "laborer_id": "L-2", "position": "配菜",
                 "start_date": "2019-05-28", "class_id": "C-A"}, at=at("2019-05-28"))  # fmt: skip
    s.checkpoint()
    return {"k1": k1, "k2": sc.ledger.size(), "late": late}


TARGETS = "# 培训人次目标\n[640423]\nmin = 100\nmax = 200\n"


@pytest.fixture(scope="module")
def sqlite_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    here = tmp_path_factory.mktemp("report")
    sc = Scenario.create(f"sqlite:///{here / 'ledger.db'}", here)
    marks = build(sc)
    sc.close()
    (here / "keys" / "report-targets.toml").write_text(TARGETS, encoding="utf-8")
    yield here, marks


def run(here: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(here, "report", "monthly", *args)


def doc(here: Path, *args: str) -> dict[str, Any]:
    out = run(here, *args)
    assert out.returncode == 0, out.stderr
    parsed: dict[str, Any] = json.loads(out.stdout)
    return parsed


NO_FLAGS = {"raised": 0, "withdrawn": 0, "disposed": 0, "open_at_month_end": 0,
            "by_family": dict.fromkeys(("CONF", "DUP", "ELIG", "FIN", "INSP", "NET", "SEQ", "SOD", "STD", "TIME"), 0),
            "by_severity": {"critical": 0, "high": 0, "medium": 0, "low": 0}}  # fmt: skip
NO_INSPECTIONS = {m: {"pass": 0, "fail": 0} for m in ("phone_visit", "questionnaire", "site_visit", "spot_check")}
NO_CERTIFICATES = {"driving_licence": 0, "special_ability": 0, "training_completion": 0, "vocational_qualification": 0}
XJ_FUND = {"fund_id": "F-XJ", "jurisdiction": XIJI, "source": "central", "purpose": "training", "year": 2019,
           "allocated_fen": 50_000_000, "adjusted_fen": -1_000_000, "paid_fen": 900_000, "returned_fen": 450_000,
           "recovered_fen": 0, "balance_fen": 48_550_000}  # fmt: skip
INST_XJ = {"actor_id": "inst-xj", "name": "西吉县职业技术学校"}

# May in Xiji, as of K1 (figures worked out from the ledger in the module docstring):
MAY_XIJI = {
    # C-B requested and approved; C-A completed 05-10 by its end_date; L-4 and L-5 enrolled in C-B.
    "activity": {"classes_requested": 1, "classes_approved": 1, "classes_completed": 1, "enrolments": 2,
                 "withdrawals": 0, "completers": 3,
                 "certificates": {**NO_CERTIFICATES, "training_completion": 3, "special_ability": 1},
                 "appraisals_failed": 1, "employments_started": 1, "employment_proofs": 0},
    # households with a poor/eco-migrant member after L-5 joined H-00001: H-1, H-2, H-3 (H-4 is
    # non_poor); with a certificate at May's end: H-1 (TC-1, revoked only in June) and H-2. L-6's
    # household is Longde's. No target for Xiji in the targets file.
    "cumulative": {"trainee_times": 3, "target": None, "households_registered": 3, "households_with_certificate": 2},
    "funds": [XJ_FUND],
    # claimed CL-1 450,000 + CL-2 150,000 (withdrawn later, still claimed); P-1 and P-2 paid,
    # P-1 returned; the recovery is June's.
    "money_month": {"claimed_fen": 600_000, "approved_fen": 450_000, "paid_fen": 900_000, "returned_fen": 450_000,
                    "recovered_fen": 0},
    "inspections": {**NO_INSPECTIONS, "phone_visit": {"pass": 0, "fail": 1}},
    # raised in May: CONF-AFTER-WITHDRAWAL (L-3, claimed after withdrawal), CONF-VISIT-DENIAL (L-2),
    # SEQ-PAID-WITHOUT-ATTENDANCE ×3 and -IDENTITY ×3, -REVIEW, SOD-REVIEWER-ONLY-CHECK, STD-UNAPPRAISED
    # ×2 = 12; withdrawn in May: CONF-AFTER-WITHDRAWAL (CL-2 withdrawn) and, while P-1 was returned,
    # CONF-VISIT-DENIAL, SOD and the two STD-UNAPPRAISED (raised again when P-2 paid) = 5; standing at
    # May's end: the 7 SEQ, 2 STD, CONF-VISIT-DENIAL, SOD = 11.
    "anomalies": {"raised": 12, "withdrawn": 5, "disposed": 0, "open_at_month_end": 11,
                  "by_family": {**NO_FLAGS["by_family"], "SEQ": 7, "STD": 2, "CONF": 1, "SOD": 1},
                  "by_severity": {"critical": 6, "high": 4, "medium": 1, "low": 0}},
    # inst-xj: trainees C-A 4 + C-B 2; certified pairs (C-A, L-1/L-2/L-6); E-1; standing flags on its
    # claim CL-1 (9) and class C-A (1) — CONF-VISIT-DENIAL is the labourer's: 10 per 6 trainees.
    "institutions": [{**INST_XJ, "trainees": 6, "completers": 3, "certified": 3, "employed": 1, "open_anomalies": 10,
                      "anomalies_per_100_trainees": "166.67"}],
}  # fmt: skip


def test_may_in_xiji_as_of_k1_with_the_late_employment(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    here, marks = sqlite_ledger
    got = doc(here, "--month", "2019-05", "--jurisdiction", XIJI, "--checkpoint", str(marks["k1"]),
              "--compare-with", str(marks["k2"]))  # fmt: skip
    assert got["report"] == "monthly" and got["month"] == "2019-05" and got["jurisdiction"] == XIJI
    assert got["as_of"] == marks["k1"] - 1 == 50
    assert got["checkpoint"]["size"] == 51 and got["checkpoint"]["note"].startswith("guyuan.subsidy-ledger\n51\n")
    assert got["checkpoint"]["note"].count("\n— ") == 1  # the operator's signature alone
    for key, expected in MAY_XIJI.items():
        assert got[key] == expected, key
    # E-2 (dated 05-28) arrived after K1: one more employment in May, and for inst-xj.
    assert got["late"] == {"compare_with": 52, "seqs": [51], "changes": [
        {"path": "/activity/employments_started", "as_issued": 1, "as_known_now": 2},
        {"path": "/institutions/inst-xj/employed", "as_issued": 1, "as_known_now": 2}]}  # fmt: skip


def test_june_after_the_revocation_and_the_recovery(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    here, marks = sqlite_ledger
    got = doc(here, "--month", "2019-06", "--jurisdiction", XIJI, "--checkpoint", str(marks["k1"]))
    assert got["activity"] == {"classes_requested": 0, "classes_approved": 0, "classes_completed": 0, "enrolments": 0,
                               "withdrawals": 0, "completers": 0, "certificates": NO_CERTIFICATES,
                               "appraisals_failed": 0, "employments_started": 0, "employment_proofs": 0}  # fmt: skip
    # TC-1 revoked 06-15: H-00001 (L-1, L-5) holds no certificate any more.
    assert got["cumulative"] == {"trainee_times": 3, "target": None, "households_registered": 3,
                                 "households_with_certificate": 1}  # fmt: skip
    # R-1 counts for F-XJ, which made CL-1's first payment; the fund account's balance is unchanged.
    assert got["funds"] == [{**XJ_FUND, "recovered_fen": 150_000}]
    assert got["money_month"] == {"claimed_fen": 0, "approved_fen": 0, "paid_fen": 0, "returned_fen": 0,
                                  "recovered_fen": 150_000}  # fmt: skip
    assert got["inspections"] == NO_INSPECTIONS
    # SEQ-PAID-WITHOUT-CERTIFICATE (L-1) raised by the revocation, STD-UNAPPRAISED (L-1) withdrawn.
    assert got["anomalies"] == {"raised": 1, "withdrawn": 1, "disposed": 0, "open_at_month_end": 11,
                                "by_family": {**NO_FLAGS["by_family"], "SEQ": 8, "STD": 1, "CONF": 1, "SOD": 1},
                                "by_severity": {"critical": 7, "high": 3, "medium": 1, "low": 0}}  # fmt: skip
    assert got["institutions"] == [{**INST_XJ, "trainees": 6, "completers": 3, "certified": 2, "employed": 1,
                                    "open_anomalies": 10, "anomalies_per_100_trainees": "166.67"}]  # fmt: skip
    assert got["late"] is None


def test_april_before_the_correction(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    here, marks = sqlite_ledger
    got = doc(here, "--month", "2019-04", "--jurisdiction", XIJI, "--checkpoint", str(marks["k1"]))
    assert got["activity"] == {"classes_requested": 1, "classes_approved": 1, "classes_completed": 0, "enrolments": 4,
                               "withdrawals": 1, "completers": 0, "certificates": NO_CERTIFICATES,
                               "appraisals_failed": 0, "employments_started": 0, "employment_proofs": 0}  # fmt: skip
    # L-5 joins H-00001 only on 05-10: four households in April (H-1, H-2, H-3, H-5).
    assert got["cumulative"] == {"trainee_times": 0, "target": None, "households_registered": 4,
                                 "households_with_certificate": 0}  # fmt: skip
    assert got["funds"] == [{**XJ_FUND, "adjusted_fen": 0, "paid_fen": 0, "returned_fen": 0, "balance_fen": 50_000_000}]
    assert got["money_month"] == dict.fromkeys(("claimed_fen", "approved_fen", "paid_fen", "returned_fen", "recovered_fen"), 0)
    assert got["inspections"] == {**NO_INSPECTIONS, "site_visit": {"pass": 1, "fail": 0}}
    assert got["anomalies"] == NO_FLAGS
    assert got["institutions"] == [{**INST_XJ, "trainees": 4, "completers": 0, "certified": 0, "employed": 0,
                                    "open_anomalies": 0, "anomalies_per_100_trainees": "0.00"}]  # fmt: skip


def test_the_city_and_longde_count_the_labourer_trained_in_xiji(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    here, marks = sqlite_ledger
    city = doc(here, "--month", "2019-05")  # the city, at the latest checkpoint (K2)
    assert city["jurisdiction"] == "640400" and city["as_of"] == marks["k2"] - 1
    assert city["cumulative"] == {"trainee_times": 3, "target": {"min": 33970, "max": 42465},
                                  "households_registered": 4, "households_with_certificate": 3}  # fmt: skip
    assert city["activity"] == {**MAY_XIJI["activity"], "employments_started": 2}
    assert city["money_month"] == MAY_XIJI["money_month"] and city["funds"] == [XJ_FUND]
    longde = doc(here, "--month", "2019-05", "--jurisdiction", LONGDE)
    # L-6 is Longde's: its household, with TC-3 from the Xiji class; the class's figures are Xiji's.
    assert longde["cumulative"] == {"trainee_times": 0, "target": {"min": 100, "max": 200},
                                    "households_registered": 1, "households_with_certificate": 1}  # fmt: skip
    assert longde["institutions"] == [] and longde["funds"] == [] and longde["anomalies"] == NO_FLAGS


def test_series_of_the_chart(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    here, marks = sqlite_ledger
    with closing(Session.open(f"sqlite:///{here / 'ledger.db'}", here / "keys")) as s:
        found = services.monthly_report(s, month="2019-06", jurisdiction=XIJI, checkpoint=marks["k1"])
    assert found.series == [{"month": "2019-04", "trainee_times": 0, "completers": 0},
                            {"month": "2019-05", "trainee_times": 3, "completers": 3},
                            {"month": "2019-06", "trainee_times": 3, "completers": 0}]  # fmt: skip


def test_same_bytes_twice_and_after_rebuild(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    here, marks = sqlite_ledger
    args = ("--month", "2019-05", "--checkpoint", str(marks["k1"]), "--compare-with", str(marks["k2"]))
    first = run(here, *args)
    assert first.returncode == 0 and first.stdout.endswith("}\n")
    assert run(here, *args).stdout == first.stdout
    assert cli(here, "rebuild").returncode == 0
    assert run(here, *args).stdout == first.stdout
    written = here / "may.json"
    assert run(here, *args, "--out", str(written)).returncode == 0
    assert written.read_bytes() == first.stdout.encode()


@pytest.mark.parametrize("fmt", ["html", "xlsx", "md"])
def test_every_format_is_the_same_bytes_twice_and_after_rebuild(sqlite_ledger: tuple[Path, dict[str, int]],
                                                                 fmt: str) -> None:  # fmt: skip
    here, marks = sqlite_ledger
    args = ("--month", "2019-05", "--jurisdiction", XIJI, "--checkpoint", str(marks["k1"]), "--format", fmt)
    first, second, third = (here / f"first.{fmt}", here / f"second.{fmt}", here / f"third.{fmt}")
    assert run(here, *args, "--out", str(first)).returncode == 0
    assert run(here, *args, "--out", str(second)).returncode == 0
    assert cli(here, "rebuild").returncode == 0
    assert run(here, *args, "--out", str(third)).returncode == 0
    assert first.read_bytes() == second.read_bytes() == third.read_bytes()
    if fmt == "xlsx":
        assert first.read_bytes()[:2] == b"PK"
    else:
        text = first.read_text(encoding="utf-8")
        assert "西吉县" in text and "166.67" in text  # the jurisdiction's name and inst-xj's rate


def test_refusals_are_one_line(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    here, marks = sqlite_ledger
    # Checkpoints were signed as the actors were added (sizes 1..13), then at K1 = 51 and K2 = 52.
    line = one_line_error(run(here, "--month", "2019-05", "--checkpoint", "50"), 1)
    assert line == "拒绝: 没有大小为 50 的检查点；最接近的是 13 和 51"
    line = one_line_error(cli(here, "--lang", "en", "report", "monthly", "--month", "2019-05", "--checkpoint", "60"), 1)
    assert line == "refused: no checkpoint of size 60; the nearest are 52"
    assert "YYYY-MM" in one_line_error(run(here, "--month", "2019-13"), 1)
    assert "2100-12" in one_line_error(run(here, "--month", "9999-12"), 1)  # not 96,000 months of chart
    assert "640499" in one_line_error(run(here, "--month", "2019-05", "--jurisdiction", "640499"), 1)
    later = one_line_error(run(here, "--month", "2019-05", "--compare-with", str(marks["k1"])), 1)
    assert "--compare-with 51" in later


def test_the_sample_document_has_the_reports_keys(sqlite_ledger: tuple[Path, dict[str, int]]) -> None:
    """tests/fixtures/report/monthly-sample.json (what the renderers are built against) keeps the
    shape of a real report."""
    here, marks = sqlite_ledger
    sample = json.loads((Path(__file__).parents[1] / "fixtures" / "report" / "monthly-sample.json").read_text("utf-8"))
    real = doc(here, "--month", "2019-05", "--checkpoint", str(marks["k1"]), "--compare-with", str(marks["k2"]))

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        if isinstance(value, list):
            return [shape(value[0])] if value else []
        return type(value).__name__ if value is not None else None

    assert shape(sample) == shape(real)


def test_sqlite_and_postgresql_give_the_same_figures(sqlite_ledger: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    here, marks = sqlite_ledger
    with pg_database() as url:
        sc = Scenario.create(url, tmp_path)
        pg_marks = build(sc)
        assert pg_marks == marks
        pg = services.monthly_report(sc.session, month="2019-05", checkpoint=marks["k1"], compare_with=marks["k2"])
        rebuild(sc.ledger)
        again = services.monthly_report(sc.session, month="2019-05", checkpoint=marks["k1"], compare_with=marks["k2"])
        sc.close()
    with closing(Session.open(f"sqlite:///{here / 'ledger.db'}", here / "keys")) as s:
        lite = services.monthly_report(s, month="2019-05", checkpoint=marks["k1"], compare_with=marks["k2"])
    for key in ("checkpoint",):  # the leaves' recorded_at differ, so do the roots and notes
        lite.doc.pop(key), pg.doc.pop(key), again.doc.pop(key)
    assert pg.doc == lite.doc == again.doc
    assert pg.series == lite.series
