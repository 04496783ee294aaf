"""ELIG — eligibility: who may be trained and paid (policy §2, §3(3); Ningxia's ages 16–60)."""

from __future__ import annotations

from collections.abc import Iterator

from ledger.domain.dates import age_at
from projections import tables as T
from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, rule
from projections.anomalies.reads import is_paid, payments_of, standing_line
from projections.anomalies.state import CLASSES, LABORERS
from projections.anomalies.triggers import (
    CLASS_ROSTER,
    LABORER_FACTS,
    claims_of_laborer,
    each_line,
    enrolee,
    money,
    the_claim,
    via,
)
from projections.uow import Row


def enrolments_of_laborer(ctx: Ctx) -> Iterator[Subject]:
    for class_id in sorted(ctx.read(LABORERS, ctx.body["laborer_id"]).get("classes", {})):
        yield Subject("class", class_id, ctx.body["laborer_id"])


ENROLEE = {CLASS_ROSTER: via(enrolee), LABORER_FACTS: via(enrolments_of_laborer)}


def _age_finding(ctx: Ctx, s: Subject) -> tuple[Row, int, Row, int] | None:
    """(class, enrolment seq, labourer, age at planned start) of an active enrolee, or None."""
    klass = ctx.klass(s.id)
    enrolled = ctx.read(CLASSES, s.id).get("roster", {}).get(s.part)
    person = ctx.laborer(s.part)
    if klass is None or enrolled is None or person is None:
        return None
    return klass, enrolled, person, age_at(person["birth_date"], klass["planned_start"])


def _age_evidence(klass: Row, enrolled: int, person: Row) -> list[int]:
    out = [klass["requested_seq"], person["registered_seq"], enrolled]
    return out + ([person["corrected_seq"]] if person["corrected_seq"] is not None else [])


@rule("ELIG-DRIVER-AGE", severity="high", subject="class", source="§3(3)",
      zh="机动车驾驶员培训班 {class_id} 学员 {laborer} 开班时 {age} 岁，须在 {limit} 岁以下",
      en="driver class {class_id}: trainee {laborer} is {age} at the planned start; drivers must be under {limit}",
      reads=ENROLEE)  # fmt: skip
def driver_age(ctx: Ctx, s: Subject) -> Findings:
    found = _age_finding(ctx, s)
    if found is None:
        return NONE
    klass, enrolled, person, age = found
    if klass["programme"] != "driver" or age < ctx.cfg.driver_age_limit:
        return NONE
    return {s.part: Finding(_age_evidence(klass, enrolled, person),
                            {"class_id": s.id, "laborer": s.part, "age": age, "limit": ctx.cfg.driver_age_limit})}


@rule("ELIG-AGE-RANGE", severity="medium", subject="class", source="NX: ages 16–60",
      zh="培训班 {class_id} 学员 {laborer} 开班时 {age} 岁，不在 {low}–{high} 岁范围内",
      en="class {class_id}: trainee {laborer} is {age} at the planned start, outside ages {low}–{high}",
      reads=ENROLEE)  # fmt: skip
def age_range(ctx: Ctx, s: Subject) -> Findings:
    found = _age_finding(ctx, s)
    if found is None:
        return NONE
    klass, enrolled, person, age = found
    if ctx.cfg.age_min <= age <= ctx.cfg.age_max:
        return NONE
    return {s.part: Finding(_age_evidence(klass, enrolled, person),
                            {"class_id": s.id, "laborer": s.part, "age": age, "low": ctx.cfg.age_min,
                             "high": ctx.cfg.age_max})}  # fmt: skip


# not a claim's rejection: the rule neither cites the approval nor asks whether the claim is live
@rule("ELIG-NOT-POOR", severity="high", subject="claim", source="§2",
      zh="补贴申请 {claim} 从仅限贫困劳动力使用的资金 {fund} 中为非建档立卡劳动力 {laborer} 拨付补贴",
      en="claim {claim} paid non-poor labourer {laborer} from fund {fund}, which is for poor labourers only",
      reads={**money(via(each_line(the_claim, rule="ELIG-NOT-POOR", when=is_paid)), decisions=False),
             LABORER_FACTS: via(claims_of_laborer())})  # fmt: skip
def not_poor(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    person = ctx.laborer(s.part)
    if claim is None or person is None or person["category"] != "non_poor":
        return NONE
    if standing_line(ctx, claim, s.part) is None:
        return NONE
    poverty = []
    for p in payments_of(ctx, s.id):
        fund = ctx.row(T.funds, p["fund_id"])
        if fund is not None and fund["poverty_only"]:
            poverty.append(p)
    if not poverty:
        return NONE
    evidence = [person["registered_seq"], claim["claimed_seq"]] + [p["seq"] for p in poverty]
    if person["corrected_seq"] is not None:
        evidence.append(person["corrected_seq"])
    return {s.part: Finding(evidence, {"claim": s.id, "laborer": s.part, "fund": poverty[0]["fund_id"]})}
