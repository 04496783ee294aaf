"""NET — networks: accounts and trainees shared or recycled across people and classes."""

from __future__ import annotations

from collections import defaultdict

from projections import tables as T
from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, rule
from projections.anomalies.reads import account_payments, enrolments, in_order
from projections.anomalies.triggers import (
    CLASS_ROSTER,
    HOUSEHOLD,
    PAYMENT,
    PAYMENT_RETURN,
    accounts_of_laborer,
    of_payment,
    the,
    via,
)
from projections.uow import Row

account_of_payment = of_payment("account", "payee_account")


@rule("NET-SHARED-ACCOUNT", severity="critical", subject="account", source="shared-account test",
      zh="同一收款账户 {account_short}… 收取 {laborers} 名劳动力（{households} 户）的生活费补贴（疑似代领）",
      en="one payee account {account_short}… receives living allowances of {laborers} labourers of {households} households",
      reads={PAYMENT: via(account_of_payment), PAYMENT_RETURN: via(account_of_payment),
             HOUSEHOLD: accounts_of_laborer})  # fmt: skip
def shared_account(ctx: Ctx, s: Subject) -> Findings:
    pays = account_payments(ctx, s.id)
    if len(pays) < ctx.cfg.shared_account_laborers:
        return NONE
    kept: list[tuple[Row, str, int]] = []
    # by DESIGN §3's order (never seq): the first payment names the flag's jurisdiction
    for payment_id, paid in sorted(pays.items(), key=lambda kv: in_order(kv[1].date, kv[1].at, kv[1].actor, kv[1].nonce)):
        payment = ctx.row(T.payments, payment_id)
        if payment is not None and payment["returned_seq"] is None:
            kept.append((payment, paid.laborer_id, paid.seq))
    laborers = {lid for _, lid, _ in kept}
    households = {p["household_id"] for p in (ctx.laborer(lid) for lid in laborers) if p is not None}
    if len(laborers) < ctx.cfg.shared_account_laborers or len(households) < ctx.cfg.shared_account_households:
        return NONE
    return {None: Finding([seq for _, _, seq in kept], {"account_short": s.id[:12], "laborers": len(laborers),
                                                        "households": len(households)},
                          jurisdiction=kept[0][0]["jurisdiction"])}  # fmt: skip


@rule("NET-RECYCLED-TRAINEE", severity="medium", subject="laborer", source="§4(2)",
      zh="培训机构 {institution} 在 {year} 年让劳动力 {laborer} 参加了 {count} 个培训班（{classes}）（反复培训同一人）",
      en="institution {institution} enrolled labourer {laborer} in {count} classes starting in {year} ({classes})",
      reads={CLASS_ROSTER: via(the("laborer", "laborer_id"))})  # fmt: skip
def recycled_trainee(ctx: Ctx, s: Subject) -> Findings:
    groups: dict[tuple[str, int], list[tuple[str, int]]] = defaultdict(list)
    for class_id, enrolment in sorted(enrolments(ctx, s.id).items()):
        groups[(enrolment.institution, enrolment.year)].append((class_id, enrolment.seq))
    for (institution, year), found in sorted(groups.items()):
        if len(found) >= ctx.cfg.recycled_classes_per_year:
            return {s.id: Finding([seq for _, seq in found], {
                "laborer": s.id, "institution": institution, "year": year, "count": len(found),
                "classes": "、".join(c for c, _ in found)})}  # fmt: skip
    return NONE
