"""FIN — money: paid above approval, approval above claim, funds overdrawn or misused, payees, split claims,
and what the finance bureaus' bank reconciliations (DESIGN §10) found."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ledger.domain.money import yuan
from projections import tables as T
from projections.anomalies.engine import NONE, Ctx, Finding, Findings, Subject, rule
from projections.anomalies.reads import (
    KIND_ZH,
    claim_lines,
    class_claims,
    class_end,
    covers,
    is_live,
    latest_reconciliation,
    net_paid,
    payments_of,
    reconciled_in,
    reconciliations,
    standard,
)
from projections.anomalies.state import FUNDS, StandardSet, bureau_month
from projections.anomalies.triggers import (
    CERTIFICATE,
    CLAIM_APPROVAL,
    CLAIM_FILED,
    CLASS_COMPLETION,
    FUND_ADJUSTMENTS,
    FUND_ALLOCATIONS,
    PAYMENT,
    PAYMENT_RETURN,
    RECONCILIATION,
    STANDARDS_IN_FORCE,
    class_of_training_claim,
    classes_citing,
    classes_governed,
    itself,
    liveness,
    money,
    of_payment,
    via,
)
from projections.uow import Row


@rule("FIN-OVERPAID", severity="critical", subject="claim", source="§4(5) disbursement precise",
      zh="补贴申请 {claim} 已拨付（扣除退回）{paid} 元，超过审核通过金额 {approved} 元",
      en="claim {claim} was paid {paid} yuan net of returns, above its approved total of {approved} yuan",
      reads=money(itself("claim")))  # fmt: skip
def overpaid(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None:
        return NONE
    approved = claim["approved_fen"] if claim["approved_seq"] is not None and is_live(claim) else 0
    if net_paid(claim) <= approved:
        return NONE
    evidence = [p["seq"] for p in payments_of(ctx, s.id)]
    if claim["approved_seq"] is not None:
        evidence.append(claim["approved_seq"])
    return {None: Finding(evidence, {"claim": s.id, "paid": yuan(net_paid(claim)), "approved": yuan(approved)})}


@rule("FIN-APPROVED-OVER-CLAIM", severity="high", subject="claim", source="approval control",
      zh="补贴申请 {claim} 审核通过金额高于申报金额（{where}）",
      en="the approval of claim {claim} is above the amount claimed ({where_en})",
      reads={CLAIM_APPROVAL: itself("claim")})  # fmt: skip
def approved_over_claim(ctx: Ctx, s: Subject) -> Findings:
    claim = ctx.claim(s.id)
    if claim is None or claim["approved_seq"] is None:
        return NONE
    claimed: dict[str, int] = defaultdict(int)
    for line in claim_lines(ctx, s.id):
        claimed[line.laborer_id] += line.amount_fen
    approved: dict[str, int] = defaultdict(int)
    for laborer_id, amount in claim["approved_lines"] or ():
        approved[laborer_id] += amount
    where = []
    where_en = []
    if claim["approved_fen"] > claim["claimed_fen"]:
        where.append(f"合计 {yuan(claim['approved_fen'])} 元 > {yuan(claim['claimed_fen'])} 元")
        where_en.append(f"total {yuan(claim['approved_fen'])} > {yuan(claim['claimed_fen'])} yuan")
    for laborer_id in sorted(approved):
        if approved[laborer_id] > claimed.get(laborer_id, 0):
            where.append(f"{laborer_id} {yuan(approved[laborer_id])} 元 > {yuan(claimed.get(laborer_id, 0))} 元")
            where_en.append(f"{laborer_id} {yuan(approved[laborer_id])} > {yuan(claimed.get(laborer_id, 0))} yuan")
    if not where:
        return NONE
    return {None: Finding([claim["claimed_seq"], claim["approved_seq"]],
                          {"claim": s.id, "where": "；".join(where), "where_en": "; ".join(where_en)})}


fund_of_payment = of_payment("fund", "fund_id")


@rule("FIN-FUND-OVERDRAWN", severity="critical", subject="fund", source="fund control",
      zh="专项资金 {fund} 拨付（扣除退回）{paid} 元，超过下达及调整后的 {available} 元",
      en="fund {fund} paid out {paid} yuan net of returns, above its allocations and adjustments of {available} yuan",
      reads={PAYMENT: via(fund_of_payment), PAYMENT_RETURN: via(fund_of_payment), FUND_ALLOCATIONS: itself("fund"),
             FUND_ADJUSTMENTS: itself("fund")})  # fmt: skip
def fund_overdrawn(ctx: Ctx, s: Subject) -> Findings:
    fund = ctx.row(T.funds, s.id)
    if fund is None:
        return NONE
    paid = int(fund["paid_fen"]) - int(fund["returned_fen"])
    available = int(fund["allocated_fen"]) + int(fund["adjusted_fen"])
    if paid <= available:
        return NONE
    held = ctx.read(FUNDS, s.id)  # every allocation, adjustment, payment and return: the same in any order
    evidence = [*held.get("moves", []), *held.get("pays", [])]
    return {None: Finding(evidence, {"fund": s.id, "paid": yuan(paid), "available": yuan(available)})}


def payments_of_fund(ctx: Ctx, fund_id: str) -> Iterator[Subject]:
    for payment_id in ctx.read(FUNDS, fund_id).get("payments", ()):
        yield Subject("payment", payment_id)


@rule("FIN-FUND-MISMATCH", severity="high", subject="payment", source="fund control",
      zh="拨付 {payment} 使用的资金 {fund} 与补贴申请 {claim} 不符：{why}",
      en="payment {payment} for claim {claim} is from fund {fund}, which does not fit: {why_en}",
      reads={PAYMENT: itself("payment"), FUND_ALLOCATIONS: payments_of_fund})  # fmt: skip
def fund_mismatch(ctx: Ctx, s: Subject) -> Findings:
    payment = ctx.row(T.payments, s.id)
    if payment is None:
        return NONE
    claim, fund = ctx.claim(payment["claim_id"]), ctx.row(T.funds, payment["fund_id"])
    if claim is None or fund is None:
        return NONE
    why, why_en = [], []
    if fund["purpose"] != claim["kind"]:
        why.append(f"资金用途为{KIND_ZH.get(fund['purpose'], fund['purpose'])}，补贴类别为{KIND_ZH.get(claim['kind'], claim['kind'])}")
        why_en.append(f"fund purpose {fund['purpose']}, claim kind {claim['kind']}")
    code = claim["jurisdiction"]
    if code is not None and not ctx.cfg.jurisdictions.covers(fund["jurisdiction"], code):  # its own or one above it
        why.append(f"资金属地 {fund['jurisdiction']} 既非申请所属 {code} 也非其上级")
        why_en.append(f"fund jurisdiction {fund['jurisdiction']} is neither {code} nor above it")
    if int(fund["year"]) != int(payment["value_date"][:4]):
        why.append(f"资金年度 {fund['year']} 与起息日 {payment['value_date']} 不在同一年")
        why_en.append(f"fund year {fund['year']} differs from the value date {payment['value_date']}")
    if not why:
        return NONE
    # every allocation of the fund (the first to arrive is not the same one in every order)
    allocations = ctx.read(FUNDS, fund["fund_id"]).get("allocs", [])
    return {None: Finding([payment["seq"], claim["claimed_seq"], *allocations], {
        "payment": s.id, "fund": fund["fund_id"], "claim": claim["claim_id"], "why": "；".join(why),
        "why_en": "; ".join(why_en)})}  # fmt: skip


@rule("FIN-PAYEE-MISMATCH", severity="high", subject="payment", source="payee test",
      zh="拨付 {payment} 的收款账户与补贴申请 {claim} 的收款账户不一致",
      en="payment {payment} went to a payee account other than the one claim {claim} names",
      reads={PAYMENT: itself("payment")})  # fmt: skip
def payee_mismatch(ctx: Ctx, s: Subject) -> Findings:
    payment = ctx.row(T.payments, s.id)
    claim = None if payment is None else ctx.claim(payment["claim_id"])
    if payment is None or claim is None or payment["payee_account"] == claim["payee_account"]:
        return NONE
    return {None: Finding([payment["seq"], claim["claimed_seq"]], {"payment": s.id, "claim": claim["claim_id"]})}


@rule("FIN-SPLIT-CLAIM", severity="medium", subject="class", source="splitting test",
      zh="培训机构 {institution} 就培训班 {class_id} 分 {count} 次申报培训补贴共 {total} 元，超过标准 {unit} 元 × 结业 {completers} 人 = {cap} 元",
      en="institution {institution} filed {count} training claims for class {class_id} totalling {total} yuan, above the standard {unit} × {completers} completers = {cap} yuan",
      reads={CLAIM_FILED: via(class_of_training_claim), **liveness(via(class_of_training_claim)),
             CLASS_COMPLETION: itself("class"), STANDARDS_IN_FORCE: classes_governed,
             CERTIFICATE: classes_citing})  # fmt: skip
def split_claim(ctx: Ctx, s: Subject) -> Findings:
    """The cap is Σ over the class's completers of the standard in force for the certificates their
    lines in the institution's claims cite (the highest of those); a completer whose lines cite no
    issued certificate counts at the highest training standard of the class (any certificate type)."""
    klass = ctx.klass(s.id)
    if klass is None or klass["completed_seq"] is None:
        return NONE
    by_claimant: dict[str, list[Row]] = defaultdict(list)
    for claim in class_claims(ctx, s.id, "training"):
        if is_live(claim):
            by_claimant[claim["claimant"]].append(claim)
    completers = sorted(set(klass["completers"] or ()))
    for institution, claims in sorted(by_claimant.items()):
        if len(claims) < 2:
            continue
        total = sum(int(c["claimed_fen"]) for c in claims)
        units = _completer_standards(ctx, klass, claims, completers)
        if units is None:
            continue
        cap = sum(std["amount_fen"] for std in units)
        if total > cap:
            amounts = sorted({std["amount_fen"] for std in units})
            return {None: Finding([c["claimed_seq"] for c in claims] + [klass["completed_seq"]]
                                  + [std["seq"] for std in units], {
                "institution": institution, "class_id": s.id, "count": len(claims), "total": yuan(total),
                "unit": "/".join(yuan(a) for a in amounts) if amounts else yuan(0), "completers": len(completers),
                "cap": yuan(cap)})}  # fmt: skip
    return NONE


def _completer_standards(ctx: Ctx, klass: Row, claims: list[Row], completers: list[str]) -> list[StandardSet] | None:
    """Each completer's per-trainee standard (see :func:`split_claim`), or None when one is not found."""
    cited: dict[str, set[str]] = defaultdict(set)
    for claim in claims:
        for line in claim_lines(ctx, claim["claim_id"]):
            cert = None if line.certificate_no is None else ctx.row(T.certificates, line.certificate_no)
            if cert is not None:
                cited[line.laborer_id].add(cert["certificate_type"])
    on, programme, occupation = class_end(klass), klass["programme"], klass["occupation"]
    units: list[StandardSet] = []
    for laborer_id in completers:
        types = sorted(cited.get(laborer_id, ()))
        found = [standard(ctx, "training", on, programme=programme, occupation=occupation, certificate_type=t)
                 for t in types] or [standard(ctx, "training", on, programme=programme, occupation=occupation,
                                              any_certificate=True)]  # fmt: skip
        usable = [std for std in found if std is not None and std["per"] == "trainee"]
        if not usable:
            return None
        units.append(max(usable, key=lambda std: std["amount_fen"]))
    return units


# --- bank reconciliation (DESIGN §10): a recorded reconciliation's exceptions become flags ----------------
RECON_ZH = {"unmatched_ledger": "账本有、银行无", "amount_mismatch": "金额不符", "payee_mismatch": "收款人不符",
            "date_mismatch": "日期不符", "return_not_recorded": "退汇未登记", "unmatched_bank": "银行有、账本无",
            "duplicate_bank": "银行重复记录"}  # fmt: skip  (GLOSSARY.md)
PAYMENT_EXCEPTIONS = ("unmatched_ledger", "amount_mismatch", "payee_mismatch", "date_mismatch", "return_not_recorded")
MONEY_OUT_UNRECORDED = ("unmatched_bank", "duplicate_bank")


def payments_reconciled(ctx: Ctx) -> Iterator[Subject]:
    """``ReconciliationRecorded``: every payment a reconciliation of this bureau's month names (now
    or before: a later one may no longer list it), judged for that month."""
    key = bureau_month(ctx.ev.actor, ctx.body["period"])
    named: dict[str, None] = {}
    for recon in reconciliations(ctx, key):
        for payment_id, statuses in recon.listed.items():
            if any(status in PAYMENT_EXCEPTIONS for status in statuses):
                named[payment_id] = None
    for payment_id in named:
        yield Subject("payment", payment_id, key)


def reconciled_payment(ctx: Ctx) -> Iterator[Subject]:
    """``PaymentDisbursed`` recorded after a reconciliation that names it: judged for each such month."""
    for key in reconciled_in(ctx, ctx.body["payment_id"]):
        yield Subject("payment", ctx.body["payment_id"], key)


@rule("FIN-RECON-EXCEPTION", severity="high", subject="payment", source="§4(5) disbursement precise; bank reconciliation",
      zh="拨付 {payment}（{amount} 元，起息日 {value_date}）在 {period} 的银行对账 {reconciliation} 中为“{status}”",
      en="payment {payment} ({amount} yuan, value date {value_date}) is listed as {status_en} by the bank reconciliation {reconciliation} of {period}",
      reads={RECONCILIATION: via(payments_reconciled), PAYMENT: via(reconciled_payment)})  # fmt: skip
def recon_exception(ctx: Ctx, s: Subject) -> Findings:
    """Judged per bureau month (the part): the latest reconciliation of the payment's own month that
    covers its fund, for any exception; of a later month, for ``return_not_recorded`` only."""
    payment = ctx.row(T.payments, s.id)
    actor, _, month = s.part.rpartition(":")
    if payment is None or actor != payment["actor"] or month < payment["value_date"][:7]:
        return NONE
    statuses = PAYMENT_EXCEPTIONS if month == payment["value_date"][:7] else ("return_not_recorded",)
    latest = latest_reconciliation([r for r in reconciliations(ctx, s.part) if covers(r, payment["fund_id"])])
    listed = () if latest is None else latest.listed.get(s.id, ())
    found = next((status for status in statuses if status in listed), None)
    if latest is None or found is None:
        return NONE
    return {None: Finding([latest.seq, payment["seq"]], {
        "payment": s.id, "amount": yuan(payment["amount_fen"]), "value_date": payment["value_date"], "period": month,
        "reconciliation": latest.reconciliation_id, "status": RECON_ZH[found], "status_en": found})}  # fmt: skip


def funds_part(funds: list[str] | None) -> str:
    """A statement's account, as the funds it pays from ("*": every fund of the bureau)."""
    return "*" if funds is None else ",".join(sorted(funds))


def bureau_reconciled(ctx: Ctx) -> Iterator[Subject]:
    """The bureau's month, judged for the account (the funds) the statement covers."""
    yield Subject("reconciliation", bureau_month(ctx.ev.actor, ctx.body["period"]), funds_part(ctx.body.get("funds")))


@rule("FIN-BANK-UNMATCHED", severity="critical", subject="reconciliation",
      source="bank reconciliation: money out with no record",
      zh="{actor} {period} 的银行对账 {reconciliation} 有 {count} 笔银行支出共 {amount} 元在账本中没有对应的拨付（{what}）",
      en="the bank reconciliation {reconciliation} of {actor} for {period} lists {count} debit(s) totalling {amount} yuan with no payment in the ledger ({what_en})",
      reads={RECONCILIATION: via(bureau_reconciled)})  # fmt: skip
def bank_unmatched(ctx: Ctx, s: Subject) -> Findings:
    """The latest reconciliation of the month for one account (the part: its funds) lists money out
    that no payment accounts for."""
    latest = latest_reconciliation([r for r in reconciliations(ctx, s.id) if funds_part(r.funds) == s.part])
    if latest is None:
        return NONE
    found = {status: latest.tally[status] for status in MONEY_OUT_UNRECORDED if status in latest.tally}
    if not found:
        return NONE
    actor, _, period = s.id.rpartition(":")
    return {None: Finding([latest.seq], {
        "actor": actor, "period": period, "reconciliation": latest.reconciliation_id,
        "count": sum(n for n, _ in found.values()), "amount": yuan(sum(fen for _, fen in found.values())),
        "what": "；".join(f"{RECON_ZH[status]} {n} 笔" for status, (n, _) in found.items()),
        "what_en": "; ".join(f"{status} {n}" for status, (n, _) in found.items())})}  # fmt: skip
