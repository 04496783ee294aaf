"""SEQ — the sequence of duties: approval, attendance, certificate, review and identity before money."""

from __future__ import annotations

from collections.abc import Iterator

from projections import tables as T
from projections.anomalies.engine import (
    NONE,
    Ctx,
    Detail,
    Fanout,
    Finding,
    Findings,
    Read,
    Subject,
    months_from,
    rule,
)
from projections.anomalies.reads import (
    approvals,
    attended,
    class_claims,
    day_touched,
    is_paid,
    money_evidence,
    payments_of,
    revoked_certificates,
    standing_line,
    stands,
    valid_certificates,
)
from projections.anomalies.state import CLASSES, EMPLOYMENTS
from projections.anomalies.triggers import (
    CERTIFICATE,
    CLAIM_APPROVAL,
    CLAIM_PAYMENTS,
    CLASS_ATTENDANCE,
    CLASS_OPENING,
    CLASS_REVIEW,
    CLASS_ROSTER,
    IDENTITY,
    PAYROLL,
    claim_if,
    claims_of_certificate,
    claims_of_class,
    claims_of_laborer,
    class_entry_date,
    each_line,
    itself,
    money,
    the_claim,
    via,
)
from projections.uow import Row


@rule("SEQ-PAID-WITHOUT-APPROVAL", severity="critical", subject="claim", source="§4(5)",
      zh="补贴申请 {claim} 在审核通过前已拨付（拨付日 {value_date}）",
      en="claim {claim} was paid (value date {value_date}) without a prior approval",
      reads={CLAIM_APPROVAL: itself("claim"), CLAIM_PAYMENTS: itself("claim")})  # fmt: skip
def paid_without_approval(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None:
        return NONE
    first = min((a.date for a in approvals(ctx, s.id)), default=None)
    early = [p for p in payments_of(ctx, s.id, returned=True) if first is None or p["value_date"] < first]
    if not early:
        return NONE
    return {None: Finding([claim["claimed_seq"]] + [p["seq"] for p in early],
                          {"claim": s.id, "value_date": early[0]["value_date"]})}  # fmt: skip


def training_money(rule_id: str) -> dict[Read, Fanout]:
    return money(via(each_line(claim_if("training"), rule=rule_id, when=stands)))


def claim_lines_of_attendees(ctx: Ctx) -> Iterator[Subject]:
    """Training claims of the class, for the labourers a (re)recorded day added or dropped."""
    claims = class_claims(ctx, ctx.body["class_id"], "training")
    for laborer_id in day_touched(ctx) if claims else ():
        for claim in claims:
            yield Subject("claim", claim["claim_id"], laborer_id)


def _stage(claim: Row, laborer_id: str | None = None) -> Detail:
    paid = is_paid(claim)
    return {"claim": claim["claim_id"], "laborer": laborer_id, "class_id": claim["class_id"],
            "stage": "已拨付" if paid else "已审核待拨付", "stage_en": "paid" if paid else "approved, not yet paid"}  # fmt: skip


@rule("SEQ-PAID-WITHOUT-ATTENDANCE", severity="critical", subject="claim", source="design card; §4(3) attendance in place",
      zh="补贴申请 {claim} 为 {laborer} 申报培训补贴（{stage}），但该学员在培训班 {class_id} 没有任何考勤记录",
      en="claim {claim} ({stage_en}) pays {laborer} for training in class {class_id}, who has no attendance there",
      reads={**training_money("SEQ-PAID-WITHOUT-ATTENDANCE"), CLASS_ATTENDANCE: via(claim_lines_of_attendees)})  # fmt: skip
def paid_without_attendance(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or claim["class_id"] is None or not stands(claim):
        return NONE
    if standing_line(ctx, claim, s.part) is None or attended(ctx, claim["class_id"], s.part) > 0:
        return NONE
    return {s.part: Finding(money_evidence(ctx, claim), _stage(claim, s.part))}


@rule("SEQ-PAID-WITHOUT-CERTIFICATE", severity="critical", subject="claim", source="§3, §4(3)",
      zh="补贴申请 {claim} 为 {laborer} 申报培训补贴（{stage}），但该学员没有培训班 {class_id} 的有效证书",
      en="claim {claim} ({stage_en}) pays {laborer} for class {class_id} without a valid certificate of that labourer for it",
      reads={**training_money("SEQ-PAID-WITHOUT-CERTIFICATE"), CERTIFICATE: via(claims_of_certificate("training"))})  # fmt: skip
def paid_without_certificate(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or claim["class_id"] is None or not stands(claim):
        return NONE
    if standing_line(ctx, claim, s.part) is None or valid_certificates(ctx, s.part, claim["class_id"]):
        return NONE
    revoked = [c["revoked_seq"] for c in revoked_certificates(ctx, s.part, claim["class_id"])]
    return {s.part: Finding(money_evidence(ctx, claim) + revoked, _stage(claim, s.part))}


@rule("SEQ-PAID-WITHOUT-REVIEW", severity="high", subject="claim", source="§4(3) completion review",
      zh="培训补贴申请 {claim}（{stage}）所属培训班 {class_id} 未经结业审核通过",
      en="training claim {claim} ({stage_en}) is for class {class_id}, which has no approving completion review",
      reads={**money(via(claim_if("training"))), CLASS_REVIEW: via(claims_of_class("training"))})  # fmt: skip
def paid_without_review(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or not stands(claim):
        return NONE
    klass = ctx.klass(claim["class_id"])
    if klass is None or klass["review_approved"]:
        return NONE
    evidence = money_evidence(ctx, claim) + ([klass["review_seq"]] if klass["review_seq"] is not None else [])
    return {None: Finding(evidence, _stage(claim))}


@rule("SEQ-PAID-WITHOUT-IDENTITY", severity="critical", subject="claim", source="§4(5), §5(1)",
      zh="补贴申请 {claim}（{stage}）中的 {laborer} 身份{why}",
      en="claim {claim} ({stage_en}) includes {laborer}, whose identity {why_en}",
      reads={**money(via(each_line(the_claim, rule="SEQ-PAID-WITHOUT-IDENTITY", when=stands))),
             IDENTITY: via(claims_of_laborer())})  # fmt: skip
def paid_without_identity(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or not stands(claim) or standing_line(ctx, claim, s.part) is None:
        return NONE
    person = ctx.laborer(s.part)
    if person is None or person["identity_status"] == "confirmed":
        return NONE
    rejected = person["identity_status"] == "rejected"
    evidence = money_evidence(ctx, claim) + [person["registered_seq"]]
    if rejected and person["identity_seq"] is not None:
        evidence.append(person["identity_seq"])
    return {s.part: Finding(evidence, dict(
        _stage(claim, s.part), why="认定已被否定（最近一次认定为不通过）" if rejected else "从未经扶贫部门认定",
        why_en="was rejected by the latest identity decision" if rejected else "was never confirmed"))}  # fmt: skip


def claims_of_employment(ctx: Ctx) -> Iterator[Subject]:
    job = ctx.row(T.employments, ctx.body["employment_id"])
    if job is None:
        return
    for claim_id in ctx.read(EMPLOYMENTS, ctx.body["employment_id"]).get("claims", []):
        yield Subject("claim", claim_id, job["laborer_id"])


@rule("SEQ-EMPLOYER-WITHOUT-SIX-MONTHS", severity="critical", subject="claim", source="§4(4)",
      zh="用人单位补贴申请 {claim}（{stage}）中的 {laborer}：{why}",
      en="employer claim {claim} ({stage_en}) for {laborer}: {why_en}",
      reads={**money(via(each_line(claim_if("employer"), rule="SEQ-EMPLOYER-WITHOUT-SIX-MONTHS", when=stands))),
             CERTIFICATE: via(claims_of_certificate("employer")), PAYROLL: via(claims_of_employment)})  # fmt: skip
def employer_without_six_months(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "employer" or not stands(claim):
        return NONE
    line = standing_line(ctx, claim, s.part)
    if line is None:
        return NONE
    need = ctx.cfg.employer_months
    why: list[str] = []
    why_en: list[str] = []
    evidence = money_evidence(ctx, claim)
    employment_id = line.employment_id
    job = None if employment_id is None else ctx.row(T.employments, employment_id)
    if employment_id is not None and job is not None:
        evidence.append(job["seq"])
        months = list(months_from(job["start_date"][:7], need))
        payroll = ctx.read(EMPLOYMENTS, employment_id).get("months", {})
        rows = [payroll.get(m) for m in months]
        evidence += [seq for seq in rows if seq is not None]
        run = next((i for i, seq in enumerate(rows) if seq is None), need)
        if run < need:
            why.append(f"自 {months[0]} 起连续工资记录仅 {run} 个月，不足 {need} 个月")
            why_en.append(f"only {run} consecutive payroll month(s) from {months[0]}, fewer than {need}")
    else:
        why.append("未指明就业记录")
        why_en.append("no employment record")
    if not valid_certificates(ctx, line.laborer_id):
        why.append("该劳动力没有有效证书")
        why_en.append("the labourer holds no valid certificate")
    if not why:
        return NONE
    return {line.laborer_id: Finding(evidence, dict(_stage(claim, line.laborer_id), why="；".join(why),
                                                    why_en="; ".join(why_en)))}  # fmt: skip


def class_entry_dates(ctx: Ctx) -> Iterator[Subject]:
    for date in sorted(ctx.read(CLASSES, ctx.body["class_id"]).get("entries", {})):
        yield Subject("class", ctx.body["class_id"], date)


@rule("SEQ-BEFORE-APPROVAL", severity="high", subject="class", source="§4(3) open-class application",
      zh="培训班 {class_id} 在开班审批{approval}前已有报名或考勤（{first} 起，共 {n} 天）",
      en="class {class_id} has enrolments or attendance dated before its opening approval {approval_en} (from {first}, {n} day(s))",
      reads={CLASS_ROSTER: via(class_entry_date), CLASS_ATTENDANCE: via(class_entry_date),
             CLASS_OPENING: via(class_entry_dates)})  # fmt: skip
def before_approval(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    seqs = ctx.read(CLASSES, s.id).get("entries", {}).get(s.part, [])
    if klass is None or not seqs:
        return NONE
    approved = klass["approved_date"]
    if approved is not None and s.part >= approved:
        return NONE
    # Which entries are dated before the approval is only known once the approval is recorded: until
    # then the flag cites the application alone, and a late approval leaves the same evidence as one
    # in business order (issue 16, docs/rules.md).
    evidence = [klass["requested_seq"]] + ([] if approved is None else [*seqs, klass["approved_seq"]])
    return {None: Finding(evidence, {"class_id": s.id, "first": s.part,
                                     "approval": f"（{approved}）" if approved else "（尚未审批）",
                                     "approval_en": f"of {approved}" if approved else "(none yet)"})}  # fmt: skip
