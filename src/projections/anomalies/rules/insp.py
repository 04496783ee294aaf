"""INSP — process inspection: training paid for a class never inspected, or whose inspection failed (§4(3))."""

from __future__ import annotations

from collections.abc import Iterator

from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, rule
from projections.anomalies.reads import (
    PROCESS_CHECKS,
    class_claims,
    in_order,
    is_paid,
    money_evidence,
    process_checks,
)
from projections.anomalies.state import class_of_inspection
from projections.anomalies.triggers import INSPECTION, class_of_training_claim, money, via
from projections.uow import Row


def inspected_class(ctx: Ctx) -> Iterator[Subject]:
    class_id = class_of_inspection(ctx.ev)
    if class_id is not None and ctx.body["method"] in PROCESS_CHECKS:
        yield Subject("class", class_id)


# a training claim's approval, decisions and payments: a payment may arrive before its claim's approval,
# which money_evidence cites while it stands. "Paid" is net of returns whatever the decision, so a
# rejection or withdrawal changes no verdict, but it ends the approval's standing: the evidence drops
# the approval whether the rejection arrives before the payment or after (RULES.md).
PAID_TRAINING = {INSPECTION: via(inspected_class), **money(via(class_of_training_claim))}


def _paid_training(ctx: Ctx, class_id: str) -> list[Row]:
    return [c for c in class_claims(ctx, class_id, "training") if is_paid(c)]


@rule("INSP-UNINSPECTED", severity="medium", subject="class", source="§4(3) process inspection",
      zh="培训班 {class_id} 的培训补贴已拨付（{claims}），但该班从未接受现场检查或随机抽查",
      en="class {class_id}'s training claim is paid ({claims}), but the class never had a site visit or spot check",
      reads=PAID_TRAINING)  # fmt: skip
def uninspected(ctx: Ctx, s: Subject) -> Findings:
    if process_checks(ctx, s.id):
        return NONE
    paid = _paid_training(ctx, s.id)
    if not paid:
        return NONE
    evidence: list[int] = []
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {None: Finding(evidence, {"class_id": s.id, "claims": ", ".join(c["claim_id"] for c in paid)})}


@rule("INSP-FAILED-PAID", severity="high", subject="class", source="§4(3) six in place",
      zh="培训班 {class_id} 最近一次检查（{date}，{inspection}）不合格，培训补贴仍已拨付（{claims}）",
      en="class {class_id}'s latest inspection ({inspection}, {date}) failed, yet its training claim was paid ({claims})",
      reads=PAID_TRAINING)  # fmt: skip
def failed_paid(ctx: Ctx, s: Subject) -> Findings:
    checks = process_checks(ctx, s.id)
    if not checks:
        return NONE
    latest = max(checks, key=lambda i: in_order(i.date, i.at, i.actor, i.nonce))  # DESIGN §3: never by seq
    if latest.verdict != "fail":
        return NONE
    paid = _paid_training(ctx, s.id)
    if not paid:
        return NONE
    evidence = [latest.seq]
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {None: Finding(evidence, {"class_id": s.id, "date": latest.date, "inspection": latest.inspection_id,
                                     "claims": ", ".join(c["claim_id"] for c in paid)})}  # fmt: skip
