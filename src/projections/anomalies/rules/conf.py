"""CONF — conflicting facts: what one record says another contradicts (policy §4(3), §4(5))."""

from __future__ import annotations

from collections.abc import Iterator

from projections import tables as T
from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, rule
from projections.anomalies.reads import (
    PROCESS_CHECKS,
    attendance_dates,
    cday,
    claim_lines,
    claim_order,
    class_days,
    classes_on,
    day_touched,
    in_order,
    is_live,
    is_paid,
    laborer_claims,
    money_evidence,
    process_checks,
    standing_lines,
    withdrawals,
)
from projections.anomalies.state import (
    CLAIMS,
    CLASSES,
    EMPLOYMENTS,
    LABORERS,
    InspectionRef,
    class_of_inspection,
    denied,
)
from projections.anomalies.triggers import (
    CLAIM_FILED,
    CLASS_ATTENDANCE,
    CLASS_ROSTER,
    INSPECTION,
    PAYROLL,
    claim_id_of,
    enrolee,
    itself,
    liveness,
    money,
    via,
)
from projections.uow import Row


def inspected_day(ctx: Ctx) -> Iterator[Subject]:
    """The class-day an inspection or an attendance record is about (when the day was inspected)."""
    if ctx.ev.type == "InspectionRecorded":
        class_id = class_of_inspection(ctx.ev)
        if class_id is not None and ctx.body["method"] in PROCESS_CHECKS:
            yield Subject("class", class_id, ctx.body["date"])
        return
    date, class_id = ctx.body["date"], ctx.body["class_id"]
    if any(i.date == date for i in process_checks(ctx, class_id)):
        yield Subject("class", class_id, date)


INSPECTED_DAY = {INSPECTION: via(inspected_day), CLASS_ATTENDANCE: via(inspected_day)}


def _checks_on(ctx: Ctx, class_id: str, date: str) -> list[tuple[InspectionRef, Row]]:
    out = []
    for i in process_checks(ctx, class_id):
        if i.date == date:
            row = ctx.row(T.inspections, i.inspection_id)
            if row is not None:
                out.append((i, row))
    return out


@rule("CONF-INSPECTION-ABSENT", severity="critical", subject="class", source="§4(5) spot checks",
      zh="培训班 {class_id}：{date} 的现场检查记录 {laborer} 缺勤，当天考勤却记其出勤（代签到）",
      en="class {class_id}: the inspection of {date} listed {laborer} absent, yet that day's attendance lists them",
      reads=INSPECTED_DAY)  # fmt: skip
def inspection_absent(ctx: Ctx, s: Subject) -> Findings:
    day = cday(ctx, s.id, s.part)
    if day is None:
        return NONE
    present = set(day.laborers)
    out: Findings = {}
    for i, row in _checks_on(ctx, s.id, s.part):
        for laborer_id in sorted(set(row["absent"]) & present):
            found = out.setdefault(laborer_id, Finding([], {"class_id": s.id, "date": s.part, "laborer": laborer_id}))
            found.evidence = [*found.evidence, i.seq, day.seq]
    return out


@rule("CONF-HEADCOUNT", severity="high", subject="class", source="§4(5)",
      zh="培训班 {class_id}：{date} 现场检查实到 {found} 人，当天考勤登记 {listed} 人",
      en="class {class_id}: the inspection of {date} found {found} present; that day's attendance lists {listed}",
      reads=INSPECTED_DAY)  # fmt: skip
def headcount(ctx: Ctx, s: Subject) -> Findings:
    day = cday(ctx, s.id, s.part)
    if day is None:
        return NONE
    listed = len(day.laborers)
    short = [(i, row) for i, row in _checks_on(ctx, s.id, s.part) if len(set(row["present"])) < listed]
    if not short:
        return NONE
    found = min(len(set(row["present"])) for _, row in short)
    return {None: Finding([i.seq for i, _ in short] + [day.seq],
                          {"class_id": s.id, "date": s.part, "found": found, "listed": listed})}  # fmt: skip


def attendees(ctx: Ctx) -> Iterator[Subject]:
    """Labourers of the (re)recorded day who are in two classes that day, or were (a cure)."""
    date = ctx.body["date"]
    for laborer_id in day_touched(ctx):
        held = ctx.read(LABORERS, laborer_id)
        if len(held.get("att", {})) >= 2 or date in held.get("sup", {}).get("CONF-DOUBLE-PRESENCE", ()):
            yield Subject("laborer", laborer_id, date)


@rule("CONF-DOUBLE-PRESENCE", severity="high", subject="laborer", source="overlap test",
      zh="劳动力 {laborer} 于 {date} 同时出现在 {classes} 的考勤中（共 {n} 天）",
      en="labourer {laborer} is in the attendance of {classes} on {date} ({n} day(s) in all)",
      reads={CLASS_ATTENDANCE: via(attendees)})  # fmt: skip
def double_presence(ctx: Ctx, s: Subject) -> Findings:
    classes = classes_on(ctx, s.id, s.part)
    if len(classes) < 2:
        return NONE
    days = [cday(ctx, class_id, s.part) for class_id in classes]
    return {s.id: Finding([d.seq for d in days if d is not None],
                          {"laborer": s.id, "date": s.part, "classes": "、".join(classes)})}  # fmt: skip


def withdrawn_attendees(ctx: Ctx) -> Iterator[Subject]:
    class_id = ctx.body["class_id"]
    out = withdrawals(ctx, class_id)
    for laborer_id in day_touched(ctx):
        if laborer_id in out:
            yield Subject("class", class_id, laborer_id)


def claim_laborers_in_class(ctx: Ctx) -> Iterator[Subject]:
    claim = ctx.claim(claim_id_of(ctx))
    if claim is None or claim["class_id"] is None:
        return
    out = withdrawals(ctx, claim["class_id"])
    for laborer_id in dict.fromkeys(line.laborer_id for line in claim_lines(ctx, claim["claim_id"])):
        if laborer_id in out:
            yield Subject("class", claim["class_id"], laborer_id)


@rule("CONF-AFTER-WITHDRAWAL", severity="high", subject="class", source="§4(3)",
      zh="劳动力 {laborer} 已于 {withdrawn} 退出培训班 {class_id}，此后仍有{what}",
      en="labourer {laborer} withdrew from class {class_id} on {withdrawn}, yet has {what_en} after that",
      reads={CLASS_ATTENDANCE: via(withdrawn_attendees), CLASS_ROSTER: via(enrolee),
             CLAIM_FILED: via(claim_laborers_in_class), **liveness(via(claim_laborers_in_class))})  # fmt: skip
def after_withdrawal(ctx: Ctx, s: Subject) -> Findings:
    withdrawal = withdrawals(ctx, s.id).get(s.part)
    if withdrawal is None:
        return NONE
    # a class-day or claim dated the withdrawal's day is after it by DESIGN §3's tie-break (at, actor, nonce)
    cut = in_order(withdrawal.date, withdrawal.at, withdrawal.actor, withdrawal.nonce)
    days = [(date, cday(ctx, s.id, date)) for date in attendance_dates(ctx, s.part, s.id) if date >= withdrawal.date]
    days_after = [day.seq for date, day in days
                  if day is not None and in_order(date, day.at, day.actor, day.nonce) > cut]  # fmt: skip
    claimed = [c["claimed_seq"] for c in laborer_claims(ctx, s.part)
               if c["class_id"] == s.id and is_live(c)
               and claim_order(ctx, c) > cut]  # fmt: skip
    if not days_after and not claimed:
        return NONE
    what = "、".join(w for w, has in (("考勤记录", days_after), ("补贴申报", claimed)) if has)
    what_en = " and ".join(w for w, has in (("attendance", days_after), ("claim lines", claimed)) if has)
    return {s.part: Finding([withdrawal.seq, *days_after, *claimed],
                            {"class_id": s.id, "laborer": s.part, "withdrawn": withdrawal.date,
                             "what": what, "what_en": what_en})}  # fmt: skip


def denying_laborers(ctx: Ctx) -> Iterator[Subject]:
    for laborer_id in denied(ctx.ev):
        yield Subject("laborer", laborer_id)


def denying_laborers_of_claim(ctx: Ctx) -> Iterator[Subject]:
    claim_id = claim_id_of(ctx)
    if claim_id is None:
        return
    for laborer_id in ctx.read(CLAIMS, claim_id).get("denied", []):
        yield Subject("laborer", laborer_id)


@rule("CONF-VISIT-DENIAL", severity="high", subject="laborer", source="§4(5) phone visits",
      zh="电话询访或问卷中劳动力 {laborer} 否认参训或领取补贴，而其补贴已拨付（{claims}）",
      en="a phone visit or questionnaire found {laborer} denying attendance or payment, yet their line is paid ({claims})",
      reads={INSPECTION: via(denying_laborers), **money(via(denying_laborers_of_claim))})  # fmt: skip
def visit_denial(ctx: Ctx, s: Subject) -> Findings:
    denials = ctx.read(LABORERS, s.id).get("denials", [])
    if not denials:
        return NONE
    paid = [c for c in laborer_claims(ctx, s.id)
            if is_paid(c) and any(line.laborer_id == s.id for line in standing_lines(ctx, c))]  # fmt: skip
    if not paid:
        return NONE
    evidence = list(denials)
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {s.id: Finding(evidence, {"laborer": s.id, "claims": ", ".join(c["claim_id"] for c in paid)})}


def order_employments(ctx: Ctx) -> Iterator[Subject]:
    """Every day of the class re-judges its order-training employments: each is cited (the first
    day may arrive last) and the last attendance month bounds the payroll cited."""
    for employment_id in ctx.read(CLASSES, ctx.body["class_id"]).get("emps", []):
        yield Subject("employment", employment_id)


# Not the employment's start: the ledger refuses payroll for an employment not yet started, so the
# start always arrives before the months it could make early (before them, nothing is found).
@rule("CONF-EMPLOYED-BEFORE-TRAINING", severity="medium", subject="employment", source="audit practice",
      zh="订单培训就业记录 {employment}（{laborer}）在培训班 {class_id} 首次考勤（{first}）之前已有工资记录（{months}）",
      en="order-training employment {employment} ({laborer}) has payroll for {months}, before class {class_id}'s first attendance on {first}",
      reads={PAYROLL: itself("employment"), CLASS_ATTENDANCE: via(order_employments)})  # fmt: skip
def employed_before_training(ctx: Ctx, s: Subject) -> Findings:
    job = ctx.row(T.employments, s.id)
    if job is None or job["class_id"] is None:
        return NONE
    klass = ctx.klass(job["class_id"])
    if klass is None or klass["first_attendance"] is None:
        return NONE
    first = klass["first_attendance"]
    months = ctx.read(EMPLOYMENTS, s.id).get("months", {})
    early = sorted(m for m in months if m < first[:7])
    if not early:
        return NONE
    # The payroll of every month before the class's last attendance month and every class-day: the
    # first day and the early months as they stand after any arrival order.
    paid = [months[m] for m in sorted(months) if m < klass["last_attendance"][:7]]
    evidence = [job["seq"], *paid, *(day.seq for day in class_days(ctx, klass["class_id"]))]
    return {job["laborer_id"]: Finding(evidence, {"employment": s.id, "laborer": job["laborer_id"],
                                                  "class_id": klass["class_id"], "first": first,
                                                  "months": "、".join(early)})}  # fmt: skip
