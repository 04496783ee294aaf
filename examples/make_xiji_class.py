"""Regenerate examples/xiji-class.jsonl: one 西吉县 cooking class, registration to payment.

Fictional people, real places. Twelve labourers of 吉强镇 are registered by the township and
confirmed by the poverty office; 西吉县职业技术学校 runs a 22-day 中式烹调 class (8 class-hours a
day, 2 theory + 6 practical), the county HR bureau approves it and inspects it, the city
appraisal centre issues special-ability certificates, the HR bureau reviews completion and
approves the institution's claim, and the county finance bureau pays it from the 2019 fund.
Run: python examples/make_xiji_class.py > examples/xiji-class.jsonl
"""

from __future__ import annotations

import datetime as dt
import json

PEOPLE = [
    ("马秀兰", "female", "1985-06-01"), ("李建军", "male", "1979-03-14"), ("杨海燕", "female", "1990-11-23"),
    ("马文祥", "male", "1983-08-08"), ("苏小梅", "female", "1992-02-17"), ("田志强", "male", "1976-12-30"),
    ("马丽娟", "female", "1988-05-05"), ("王永福", "male", "1981-07-19"), ("海秀英", "female", "1986-09-09"),
    ("赵国平", "male", "1974-04-26"), ("冯玉琴", "female", "1995-01-12"), ("马占林", "male", "1989-10-01"),
]  # fmt: skip
VILLAGES = ["龙王坝村", "北门村", "团结村", "园河村"]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(region: str, birth: str, seq: int, gender: str) -> str:
    order = seq * 2 + (1 if gender == "male" else 0)
    base = region + birth.replace("-", "") + f"{order:03d}"
    total = sum(int(d) * w for d, w in zip(base, WEIGHTS))
    return base + "10X98765432"[total % 11]


def at(date: str, hour: int = 17) -> str:
    return f"{date}T{hour:02d}:00:00+08:00"


def main() -> None:
    out = []

    def emit(actor: str, event_type: str, body: dict, when: str, **extra: object) -> None:
        out.append({"actor": actor, "type": event_type, "at": when, "body": body, **extra})

    emit("admin", "SubsidyStandardSet", {"standard_id": "STD-2019-SA-COOK", "kind": "training",
         "programme": "special_ability", "certificate_type": "special_ability", "amount_fen": 120000,
         "per": "trainee", "effective_from": "2019-01-01", "effective_to": "2020-12-31"}, at("2019-01-05", 10))
    emit("fin-640422", "FundAllocated", {"fund_id": "F-2019-640422-training", "jurisdiction": "640422",
         "source": "central", "purpose": "training", "year": 2019, "amount_fen": 300_000_000},
         at("2019-02-20", 10))
    laborers = []
    for i, (name, gender, birth) in enumerate(PEOPLE, start=1):
        lid = f"L-640422-{i:06d}"
        laborers.append(lid)
        emit("tw-640422-jq", "LaborerRegistered", {
            "laborer_id": lid, "household_id": f"H-640422-{(i + 1) // 2:05d}", "jurisdiction": "640422",
            "township": "吉强镇", "village": VILLAGES[i % 4], "birth_date": birth, "gender": gender,
            "category": "eco_migrant" if i % 5 == 0 else "poor", "id_fingerprint": "", "pii_commitment": ""},
            at("2019-03-04", 9 + i % 8), pii={"name": name, "id_number": id_number("640422", birth, i, gender),
            "phone": f"139{95400000 + i * 137:08d}", "bank_account": f"62284800781{23456000 + i:08d}"})
        emit("pov-640422", "IdentityConfirmed", {"laborer_id": lid, "basis": "全国扶贫开发信息系统比对 2019-03"},
             at("2019-03-08", 11))
    cls = "CLS-2019-640422-0001"
    emit("inst-640422-zj", "ClassOpeningRequested", {"class_id": cls, "programme": "special_ability",
         "occupation": "中式烹调", "in_catalog": False, "jurisdiction": "640422",
         "site": "西吉县职业技术学校实训楼二层", "planned_start": "2019-04-08", "planned_end": "2019-05-03",
         "capacity": 40, "hours_per_day": 8, "practical_percent": 75, "subsidy_per_trainee_fen": 120000},
         at("2019-03-20", 10))
    emit("hr-640422", "ClassOpeningApproved", {"class_id": cls}, at("2019-03-28", 15))
    for lid in laborers:
        emit("inst-640422-zj", "TraineeEnrolled", {"class_id": cls, "laborer_id": lid}, at("2019-04-03", 10))
    day, days = dt.date(2019, 4, 8), []
    while len(days) < 22:
        if day.weekday() < 6 and day != dt.date(2019, 5, 1):
            days.append(day.isoformat())
        day += dt.timedelta(days=1)
    for d in days:
        emit("inst-640422-zj", "AttendanceRecorded", {"class_id": cls, "date": d, "trainees": [
             {"laborer_id": lid, "theory_hours": 2, "practical_hours": 6} for lid in laborers]}, at(d, 18))
        if d == days[9]:
            emit("hr-640422", "InspectionRecorded", {"inspection_id": "INSP-2019-640422-0001",
                 "method": "site_visit", "subject_kind": "class", "subject_id": cls, "date": d, "class_id": cls,
                 "present": laborers, "absent": [], "checklist": {"plan": True, "teachers": True,
                 "facilities": True, "practical": True, "textbooks": True, "attendance": True},
                 "findings": [], "verdict": "pass"}, at(d, 16), officer="XJ-RS-0117")
    end = days[-1]
    emit("inst-640422-zj", "ClassCompleted", {"class_id": cls, "end_date": end, "completers": laborers}, at(end, 19))
    emit("pov-640422", "InspectionRecorded", {"inspection_id": "INSP-2019-640422-0002", "method": "phone_visit",
         "subject_kind": "laborer", "subject_id": laborers[3], "date": "2019-05-10", "class_id": cls,
         "present": [], "absent": [], "checklist": None, "findings": [{"laborer_id": laborers[3],
         "code": "confirmed_attendance", "note": "本人确认参训22天"}], "verdict": "pass"}, at("2019-05-10", 10))
    for i, lid in enumerate(laborers, start=1):
        emit("apc-640400", "CertificateIssued", {"certificate_no": f"ZXNL-2019-6404-{i:05d}",
             "certificate_type": "special_ability", "level": "专项", "laborer_id": lid, "class_id": cls,
             "occupation": "中式烹调", "issued_on": "2019-05-15"}, at("2019-05-15", 14))
    emit("hr-640422", "CompletionReviewed", {"class_id": cls, "approved": True, "note": "资料齐全，考勤真实"},
         at("2019-05-20", 10))
    lines = [{"laborer_id": lid, "amount_fen": 120000, "certificate_no": f"ZXNL-2019-6404-{i:05d}"}
             for i, lid in enumerate(laborers, start=1)]
    emit("inst-640422-zj", "SubsidyClaimed", {"claim_id": "C-2019-640422-0001", "kind": "training", "class_id": cls,
         "lines": lines, "payee_account": "", "total_fen": 120000 * len(lines)}, at("2019-05-22", 10),
         pii={"bank_account": "1551 0101 0400 0012 345"})
    emit("pov-640422", "ClaimIdentityVerified", {"claim_id": "C-2019-640422-0001", "rejected_laborers": []},
         at("2019-05-24", 10))
    emit("hr-640422", "ClaimApproved", {"claim_id": "C-2019-640422-0001",
         "lines": [{"laborer_id": ln["laborer_id"], "amount_fen": 120000} for ln in lines],
         "total_fen": 120000 * len(lines)}, at("2019-05-28", 16))
    emit("fin-640422", "PaymentDisbursed", {"payment_id": "P-2019-640422-0001", "claim_id": "C-2019-640422-0001",
         "fund_id": "F-2019-640422-training", "amount_fen": 120000 * len(lines), "payee_account": "",
         "bank_reference": "XJNSH20190604000187", "value_date": "2019-06-04"}, at("2019-06-04", 11),
         pii={"bank_account": "1551 0101 0400 0012 345"})
    for item in out:
        print(json.dumps(item, ensure_ascii=False))


if __name__ == "__main__":
    main()
