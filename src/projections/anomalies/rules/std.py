"""STD — class standards (policy §4(3), the five unifications): size, duration, hours, practice, amounts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ledger.domain.money import yuan
from projections import tables as T
from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, days_between, rule
from projections.anomalies.reads import (
    attended,
    cday,
    claim_laborers,
    claim_lines,
    class_claims,
    class_days,
    class_end,
    day_touched,
    is_live,
    is_paid,
    money_evidence,
    standard,
    standing_line,
    valid_certificates,
)
from projections.anomalies.state import CLASSES, StandardSet
from projections.anomalies.triggers import (
    CERTIFICATE,
    CLAIM_APPROVAL,
    CLAIM_DECISION,
    CLAIM_FILED,
    CLASS_ATTENDANCE,
    CLASS_COMPLETION,
    CLASS_ROSTER,
    STANDARDS_IN_FORCE,
    claim_if,
    claims_of_certificate,
    class_entry_date,
    each_line,
    itself,
    lines_citing,
    lines_governed,
    money,
    the_claim,
    via,
)
from projections.uow import Row


@rule("STD-CLASS-SIZE", severity="high", subject="class", source="§4(3)",
      zh="培训班 {class_id} 在册学员 {enrolled} 人，超过每班 {limit} 人上限",
      en="class {class_id} has {enrolled} trainees enrolled and not withdrawn, above the limit of {limit}",
      reads={CLASS_ROSTER: itself("class")})  # fmt: skip
def class_size(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    limit = ctx.cfg.class_size_max
    if klass is None or klass["enrolled"] <= limit:
        return NONE
    roster = ctx.read(CLASSES, s.id).get("roster", {})
    return {None: Finding([klass["requested_seq"], *roster.values()],
                          {"class_id": s.id, "enrolled": klass["enrolled"], "limit": limit})}  # fmt: skip


def class_if_completed(ctx: Ctx) -> Iterator[Subject]:
    klass = ctx.klass(ctx.body["class_id"])
    if klass is not None and klass["completed_seq"] is not None:
        yield Subject("class", ctx.body["class_id"])


@rule("STD-DURATION", severity="medium", subject="class", source="§4(3)",
      zh="培训班 {class_id} 培训周期 {span} 天（{first} 至 {last}），不在 {low}–{high} 天标准内",
      en="class {class_id} spans {span} days ({first} to {last}), outside the standard {low}–{high} days",
      reads={CLASS_COMPLETION: itself("class"), CLASS_ATTENDANCE: via(class_if_completed)})  # fmt: skip
def duration(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    cfg = ctx.cfg
    if klass is None or klass["programme"] not in cfg.duration_programmes or klass["completed_seq"] is None:
        return NONE
    first, last = klass["first_attendance"], klass["last_attendance"]
    if first is None or last is None:
        return NONE
    span = days_between(first, last) + 1
    if cfg.duration_min_days <= span <= cfg.duration_max_days:
        return NONE
    evidence = [klass["completed_seq"]] + [day.seq for day in class_days(ctx, s.id)]  # every day: the span's ends in any order
    return {None: Finding(evidence, {"class_id": s.id, "span": span, "first": first, "last": last,
                                     "low": cfg.duration_min_days, "high": cfg.duration_max_days})}  # fmt: skip


@rule("STD-DAILY-HOURS", severity="medium", subject="class", source="§4(3)",
      zh="培训班 {class_id} 有 {n} 个培训日学时不足 {low} 学时（如 {date} 仅 {hours} 学时）",
      en="class {class_id} has {n} class-day(s) under {low} class-hours (e.g. {date}: {hours})",
      reads={CLASS_ATTENDANCE: via(class_entry_date)})  # fmt: skip
def daily_hours(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    if klass is None or klass["programme"] not in ctx.cfg.daily_hours_programmes:
        return NONE
    day = cday(ctx, s.id, s.part)
    if day is None or not day.laborers or day.hours >= ctx.cfg.daily_hours_min:
        return NONE
    return {None: Finding([day.seq], {"class_id": s.id, "date": s.part, "hours": day.hours,
                                      "low": ctx.cfg.daily_hours_min})}  # fmt: skip


@rule("STD-PRACTICAL-SHARE", severity="medium", subject="class", source="§4(3)",
      zh="培训班 {class_id} 实操学时占比 {share}%，低于 {need}（理论 {theory}、实操 {practical} 人·学时）",
      en="class {class_id} has {share}% practical hours, below {need} (theory {theory}, practical {practical} trainee-hours)",
      reads={CLASS_COMPLETION: itself("class"), CLASS_ATTENDANCE: via(class_if_completed)})  # fmt: skip
def practical_share(ctx: Ctx, s: Subject) -> Findings:
    klass = ctx.klass(s.id)
    if klass is None or klass["completed_seq"] is None:
        return NONE
    held = ctx.read(CLASSES, s.id)
    theory, practical = held.get("tp", [0, 0])
    num, den = ctx.cfg.practical_share
    total = theory + practical
    if total == 0 or den * practical >= num * total:
        return NONE
    evidence = [klass["completed_seq"]] + [day.seq for day in class_days(ctx, s.id)]
    return {None: Finding(evidence, {"class_id": s.id, "share": practical * 100 // total, "need": f"{num}/{den}",
                                     "theory": theory, "practical": practical})}  # fmt: skip


def _certificate_type(ctx: Ctx, cert_no: str | None) -> str | None:
    cert = None if cert_no is None else ctx.row(T.certificates, cert_no)
    return None if cert is None else cert["certificate_type"]


def claims_of_completed_class(ctx: Ctx) -> Iterator[Subject]:
    for claim in class_claims(ctx, ctx.body["class_id"]):
        yield Subject("claim", claim["claim_id"])


def line_standard(ctx: Ctx, claim: Row, laborer_id: str, cert_no: str | None) -> tuple[int, StandardSet] | None:
    """The most a line may claim (fen) and the standard behind it, or None when none is found."""
    klass = ctx.klass(claim["class_id"])
    on = class_end(klass) if klass is not None else claim["claimed_date"]
    found = standard(ctx, claim["kind"], on, programme=None if klass is None else klass["programme"],
                     occupation=None if klass is None else klass["occupation"],
                     certificate_type=_certificate_type(ctx, cert_no))  # fmt: skip
    if found is None:
        return None
    if found["per"] == "day":
        days = 0 if klass is None else attended(ctx, klass["class_id"], laborer_id)
        return found["amount_fen"] * days, found
    return found["amount_fen"], found


def la_lines_of_attendees(ctx: Ctx) -> Iterator[Subject]:
    """Living-allowance claims (paid per day attended) of the labourers a day added or dropped."""
    claims = class_claims(ctx, ctx.body["class_id"], "living_allowance")
    if not claims:
        return
    touched = set(day_touched(ctx))
    for claim in claims:
        for laborer_id in claim_laborers(ctx, claim):
            if laborer_id in touched:
                yield Subject("claim", claim["claim_id"], laborer_id)


@rule("STD-OVER-STANDARD", severity="high", subject="claim", source="§4(3), five unifications",
      zh="补贴申请 {claim} 中 {laborer} 的{what} {amount} 元，超过标准 {limit} 元（{standard}）",
      en="claim {claim}: the {what_en} for {laborer}, {amount} yuan, is above the standard of {limit} yuan ({standard})",
      reads={CLAIM_FILED: via(each_line(the_claim)), CLAIM_APPROVAL: via(each_line(the_claim)),
             CLAIM_DECISION: via(each_line(the_claim)), CLASS_COMPLETION: via(each_line(claims_of_completed_class)),
             CLASS_ATTENDANCE: via(la_lines_of_attendees), STANDARDS_IN_FORCE: lines_governed,
             CERTIFICATE: lines_citing})  # fmt: skip
def over_standard(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or not is_live(claim):
        return NONE
    claimed: dict[str, int] = defaultdict(int)
    certs: dict[str, str | None] = {}
    for line in claim_lines(ctx, s.id):
        if line.laborer_id == s.part:
            claimed[line.laborer_id] += line.amount_fen
            certs.setdefault(line.laborer_id, line.certificate_no)
    approved: dict[str, int] = defaultdict(int)
    for laborer_id, amount in (claim["approved_lines"] or []) if claim["approved_seq"] is not None else []:
        if laborer_id == s.part:
            approved[laborer_id] += amount
    out: Findings = {}
    for laborer_id in sorted(set(claimed) | set(approved)):
        found = line_standard(ctx, claim, laborer_id, certs.get(laborer_id))
        if found is None:
            continue
        limit, std = found
        over_claimed = claimed.get(laborer_id, 0) > limit
        over_approved = approved.get(laborer_id, 0) > limit
        if not (over_claimed or over_approved):
            continue
        evidence = [claim["claimed_seq"], std["seq"]] + ([claim["approved_seq"]] if over_approved else [])
        amount = claimed[laborer_id] if over_claimed else approved[laborer_id]
        out[laborer_id] = Finding(evidence, {
            "claim": s.id, "laborer": laborer_id, "amount": yuan(amount), "limit": yuan(limit),
            "standard": std["standard_id"], "what": "申报金额" if over_claimed else "审核金额",
            "what_en": "claimed line" if over_claimed else "approved line"})  # fmt: skip
    return out


@rule("STD-UNAPPRAISED", severity="high", subject="claim", source="§3(2), §4(3)",
      zh="培训补贴申请 {claim} 已拨付 {laborer} 的补贴，但国家职业资格目录内的培训班 {class_id} 该学员仅有培训合格证书（未经鉴定）",
      en="training claim {claim} paid {laborer} for in-catalogue class {class_id}, who holds only a training-completion certificate for it",
      reads={**money(via(each_line(claim_if("training"), rule="STD-UNAPPRAISED", when=is_paid))),
             CERTIFICATE: via(claims_of_certificate("training"))})  # fmt: skip
def unappraised(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["kind"] != "training" or not is_paid(claim):
        return NONE
    klass = ctx.klass(claim["class_id"])
    if klass is None or not klass["in_catalog"] or standing_line(ctx, claim, s.part) is None:
        return NONE
    certs = valid_certificates(ctx, s.part, klass["class_id"])
    if not certs or any(c["certificate_type"] != "training_completion" for c in certs):
        return NONE
    return {s.part: Finding(money_evidence(ctx, claim) + [c["seq"] for c in certs],
                            {"claim": s.id, "laborer": s.part, "class_id": klass["class_id"]})}  # fmt: skip
