"""SOD — segregation of duties: whoever approves does not also inspect (§4(5) 谁审核、谁监管)."""

from __future__ import annotations

from collections.abc import Iterator

from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, rule
from projections.anomalies.reads import class_claims, inspections_of, is_paid, money_evidence
from projections.anomalies.state import class_of_inspection
from projections.anomalies.triggers import INSPECTION, class_of_training_claim, money, via


def inspection_class(ctx: Ctx) -> Iterator[Subject]:
    """The class an inspection names (any method)."""
    class_id = class_of_inspection(ctx.ev)
    if class_id:
        yield Subject("class", class_id)


@rule("SOD-REVIEWER-ONLY-CHECK", severity="medium", subject="class", source="§4(5) 谁审核、谁监管",
      zh="培训班 {class_id} 的全部检查（{count} 次）均由审核其补贴申请的 {actor} 实施（谁审核、谁监管）",
      en="every inspection of class {class_id} ({count}) was made by {actor}, which also approved its claim",
      reads={INSPECTION: via(inspection_class), **money(via(class_of_training_claim))})  # fmt: skip
def reviewer_only_check(ctx: Ctx, s: Subject) -> Findings:
    checks = inspections_of(ctx, s.id)
    actors = {i.actor for i in checks}
    if len(actors) != 1:
        return NONE
    (actor,) = actors
    paid = [c for c in class_claims(ctx, s.id, "training") if is_paid(c) and c["approver"] == actor]
    if not paid:
        return NONE
    evidence = [i.seq for i in checks]
    for claim in paid:
        evidence += money_evidence(ctx, claim)
    return {None: Finding(evidence, {"class_id": s.id, "count": len(checks), "actor": actor})}
