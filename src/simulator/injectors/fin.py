"""Finance (FIN-*): paid above the approval, approved above the claim, a fund paid beyond its
allocation, the wrong fund, the wrong card, a claim split to pass the standard; and bank statements
that show otherwise than the ledger (DESIGN §10)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable

from ledger.domain.holidays import next_working_day
from ledger.domain.money import yuan
from projections.anomalies.engine import anomaly_id
from simulator.calendar import DAY
from simulator.injectors.hosts import Injector, claimed, classes, first_payments, other_claim_hosts
from simulator.people import org_account
from simulator.plan import Plan
from simulator.records import BankLine, BankStatement, Claim, ClaimLine, Recovery
from simulator.statements import in_reach, payments_alike, plain_debits, statement_of
from simulator.world import CITY


def overpaid(plan: Plan) -> None:
    """A payment above the approved total (金额录入错误), the excess recovered."""
    for claim, pay in first_payments(plan, ("appraisal", "living_allowance")):
        if claim.approve is None:
            continue
        claim.slot = "FIN-OVERPAID"
        pay.delta = plan.rng.choice([10000, 30000, 100000])
        when = next_working_day(pay.value + plan.rng.randint(30, 60) * DAY)
        if when <= plan.cfg.end:
            aid = anomaly_id("FIN-OVERPAID", "claim", claim.cid, None)
            claim.recoveries.append(
                Recovery(
                    plan.recovery_id(when),
                    when,
                    pay.delta,
                    "拨付金额录入错误，多付部分追回",
                    aid,
                )
            )
        plan.case(
            "FIN-OVERPAID",
            "claim",
            claim.cid,
            None,
            f"paid {yuan(pay.delta)} yuan more than approved (金额录入错误)",
        )
        return


def approved_over_claim(plan: Plan) -> None:
    """An approval that raises one line above the amount claimed."""
    for claim in other_claim_hosts(plan, ("appraisal",)):
        if claim.approve is None:
            continue
        claim.slot = "FIN-APPROVED-OVER-CLAIM"
        line = plan.rng.choice(claim.lines)
        claim.approve_override[line.lid] = (line.amount or 0) + plan.rng.choice([5000, 10000])
        plan.case(
            "FIN-APPROVED-OVER-CLAIM",
            "claim",
            claim.cid,
            None,
            f"approval raises the line of {line.lid} above the amount claimed",
        )
        plan.knock(
            "STD-OVER-STANDARD", "claim", claim.cid, line.lid, "the approved line is above the standard"
        )
        return


def overdrawn_fund(plan: Plan) -> None:
    """A county fund allocated 80–90 % of what it pays out (超支付)."""
    options = [f for f in plan.funds.values() if f.purpose in ("living_allowance", "employer")
               and f.jur != CITY and not f.overdrawn and f.need >= 5_000_000]  # fmt: skip
    options.sort(key=lambda f: f.fid)
    if not options:
        return
    fund = plan.rng.choice(options)
    unit = 100_000  # 1,000 yuan
    total = int(fund.need * plan.rng.uniform(0.8, 0.9)) // unit * unit
    fund.overdrawn = True
    fund.adjustments = []
    before = sum(a for *_, a in fund.allocations)
    left = total
    allocs = []
    for k, (day, signer, source, amount) in enumerate(fund.allocations):
        share = left if k == len(fund.allocations) - 1 else min(left, total * amount // before // unit * unit)
        left -= share
        if share > 0:
            allocs.append((day, signer, source, share))
    fund.allocations = allocs
    plan.case(
        "FIN-FUND-OVERDRAWN",
        "fund",
        fund.fid,
        None,
        f"payments of {yuan(fund.need)} yuan from a fund allocated {yuan(total)} (超支付)",
    )


def wrong_fund(plan: Plan) -> None:
    """A living allowance paid out of the training fund (挪用专项资金)."""
    for claim, pay in first_payments(plan, ("living_allowance",)):
        claim.slot = "FIN-FUND-MISMATCH"
        pay.fund = plan.fund_id(pay.value.year, claim.jur, "training")
        plan.case(
            "FIN-FUND-MISMATCH",
            "payment",
            pay.pid,
            None,
            f"living allowance paid out of the training fund {pay.fund} (挪用专项资金)",
        )
        return


def wrong_card(plan: Plan) -> None:
    """A living allowance paid to a card other than the one claimed."""
    for claim, pay in first_payments(plan, ("living_allowance",)):
        claim.slot = "FIN-PAYEE-MISMATCH"
        pay.account = plan.people.card(plan.rng)
        plan.case(
            "FIN-PAYEE-MISMATCH",
            "payment",
            pay.pid,
            None,
            "living allowance paid to a card other than the one claimed (a village cadre's)",
        )
        return


def split_claim(plan: Plan) -> None:
    """A 'supplementary' second training claim that pushes the class above standard × completers."""
    for cls in classes(plan, lambda c: len(claimed(plan, c)) >= 8, slot="claim"):
        c1 = cls.training_claim()
        assert c1 is not None and c1.approve is not None
        # enough repeated lines to exceed the standard × completers whatever the headroom left
        # by completers who were not claimed (failed appraisal, non-poor)
        k = max(4, len(cls.completers) - len(c1.lines) + 2)
        if k > len(claimed(plan, cls)):
            continue
        day = next_working_day(c1.approve + plan.rng.randint(5, 20) * DAY)
        cls.claim_slot = "FIN-SPLIT-CLAIM"
        picked = plan.rng.sample(claimed(plan, cls), k)
        lines = [ClaimLine(ln.lid, ln.amount) for ln in c1.lines if ln.lid in picked]
        c2 = Claim(plan.claim_id(day), "training", cls.inst, cls.cid, cls.county, lines, c1.account, day)
        c2.slot = "split"
        c2.verify = next_working_day(day + plan.rng.randint(1, 5) * DAY)
        cls.claims.append(c2)
        plan.taint(*picked)
        plan.case(
            "FIN-SPLIT-CLAIM",
            "class",
            cls.cid,
            None,
            f"second 'supplementary' training claim {c2.cid} pushes the class above standard × completers",
        )
        for ln in lines:
            plan.knock("DUP-CLAIM-LINE", "claim", c2.cid, ln.lid, "the supplementary claim repeats this line")
        return


# --- bank reconciliation (DESIGN §10): a statement that shows otherwise than the ledger -------------------------
def bank_differs(plan: Plan) -> None:
    """Six ways a month's statement shows a payment otherwise than the ledger, each in a payment of
    its own: an amount off by 0.01 yuan (录入差错), another payee account, a value date beyond the
    window, a payment the bank never made, money returned that the ledger never recorded, and two
    equal payments to one payee that the bank lists without references (批量代发: ambiguous twins)."""
    hosts = plain_debits(plan)
    used: set[str] = set()

    def take(fits: Callable[[BankStatement, BankLine], bool]) -> tuple[BankStatement, BankLine] | None:
        for st, line in hosts:
            if line.payment is not None and line.payment.pid not in used and fits(st, line):
                used.add(line.payment.pid)
                return st, line
        return None

    def flag(line: BankLine, note: str) -> None:
        assert line.payment is not None
        plan.case("FIN-RECON-EXCEPTION", "payment", line.payment.pid, None, note)

    twins = _twins(plan, hosts)
    if twins is not None:
        st, pair = twins
        for line in pair:
            assert line.payment is not None and line.claim_id is not None
            used.add(line.payment.pid)
            st.missing.append((line.payment, line.claim_id))
            line.reference, line.status, line.payment, line.claim_id = None, "ambiguous", None, None
        for pay, _ in st.missing[-2:]:
            plan.case("FIN-RECON-EXCEPTION", "payment", pay.pid, None,
                      "one of two equal payments to one payee the bank lists without references (ambiguous twins)")
    if (found := take(lambda st, line: line.debit_fen > 1)) is not None:
        _, line = found
        line.debit_fen += plan.rng.choice([-1, 1])
        line.status = "amount_mismatch"
        flag(line, "the bank paid 0.01 yuan otherwise than the ledger records (录入差错)")
    if (found := take(lambda st, line: True)) is not None:
        _, line = found
        line.account, line.name, line.status = plan.people.card(plan.rng), "", "payee_mismatch"
        flag(line, "the bank paid another account than the ledger records")
    late = plan.rng.randint(4, 6)
    if (found := take(lambda st, line: in_reach(st, line.date + late * DAY))) is not None:
        _, line = found
        line.date += late * DAY
        line.status = "date_mismatch"
        flag(line, f"the bank's value date is {late} days after the ledger's (beyond the ±3-day window)")
    if (found := take(lambda st, line: True)) is not None:
        st, line = found
        assert line.payment is not None and line.claim_id is not None
        st.lines.remove(line)
        st.missing.append((line.payment, line.claim_id))
        flag(line, "a payment the ledger records and the bank never made (虚列支出)")

    def comes_back(st: BankStatement, line: BankLine) -> bool:  # on a statement of the bureau
        return statement_of(plan, st.actor, next_working_day(line.date + 6 * DAY)) is not None

    if (found := take(comes_back)) is not None:
        st, line = found
        assert line.payment is not None
        back = next_working_day(line.date + 6 * DAY)
        later = statement_of(plan, st.actor, back)
        assert later is not None
        later.lines.append(BankLine(back, f"TH{back:%Y%m%d}{plan.next('BANKRET'):06d}", line.account, line.name, 0,
                                    line.debit_fen, f"退汇 原交易流水号{line.payment.bank_ref} 收款账户已销户",
                                    "return_not_recorded", line.payment, line.claim_id))  # fmt: skip
        flag(line, "the bank returned the payment and the ledger never recorded the return (退汇未登记)")


def _twins(plan: Plan, hosts: list[tuple[BankStatement, BankLine]]) -> tuple[BankStatement, list[BankLine]] | None:
    """Two plain lines of one statement paying one account the same amount within the window, and
    no other payment of the bureau alike within it that its reference would not take first."""
    alike: dict[tuple[int, str, int, str | None], list[BankLine]] = defaultdict(list)
    statements: dict[int, BankStatement] = {}
    for st, line in hosts:
        statements[id(st)] = st
        alike[id(st), st.period, line.debit_fen, line.account].append(line)
    for (key, _, amount, account), lines in alike.items():
        st = statements[key]
        lines.sort(key=lambda line: line.date)
        for a, b in zip(lines, lines[1:], strict=False):
            if account is None or (b.date - a.date).days > 3:
                continue
            listed = {line.payment.pid for line in st.lines if line.reference and line.payment is not None}
            near = [p for p in payments_alike(plan, st.actor, amount, account)
                    if a.date - 3 * DAY <= p.value <= b.date + 3 * DAY]  # fmt: skip
            if all(p in (a.payment, b.payment) or (p.pid in listed and p.returned is None) for p in near):
                return st, [a, b]
    return None


def bank_unrecorded(plan: Plan) -> None:
    """Money out of the special-fund account with no payment in the ledger: a transfer to a company
    (挪用) in one month's statement, one payment's line printed twice in another's."""
    if not plan.statements:
        return
    names = ("固原鑫达商贸有限公司", "西吉县恒通物资经销部", "宁夏顺源建材有限公司")
    st = plan.rng.choice(plan.statements)
    y, m = int(st.period[:4]), int(st.period[5:])
    day = next_working_day(dt.date(y, m, plan.rng.randint(1, 25)))
    if not in_reach(st, day, 0):
        day = dt.date(y, m, 28)
    st.lines.append(BankLine(day, f"ZZ{day:%Y%m%d}{plan.next('BANKOUT'):06d}", org_account(f"shell:{plan.seed}:{st.period}"),
                             plan.rng.choice(names), plan.rng.randint(200, 900) * 10000, 0, "往来款", "unmatched_bank"))  # fmt: skip
    plan.case("FIN-BANK-UNMATCHED", "reconciliation", f"{st.actor}:{st.period}", None,
              "a transfer out of the special-fund account with no payment in the ledger (挪用)")
    others = [(s, line) for s, line in plain_debits(plan) if s is not st] or plain_debits(plan)
    if others:
        dup, line = others[0]
        dup.lines.insert(dup.lines.index(line) + 1, BankLine(
            line.date, line.reference, line.account, line.name, line.debit_fen, 0, line.memo, "duplicate_bank"))
        if dup is not st:
            plan.case("FIN-BANK-UNMATCHED", "reconciliation", f"{dup.actor}:{dup.period}", None,
                      "one payment's bank line printed twice: money out twice for one payment")


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "FIN-OVERPAID": Injector("C", overpaid),
    "FIN-APPROVED-OVER-CLAIM": Injector("C", approved_over_claim),
    "FIN-FUND-OVERDRAWN": Injector("E", overdrawn_fund),
    "FIN-FUND-MISMATCH": Injector("C", wrong_fund),
    "FIN-PAYEE-MISMATCH": Injector("C", wrong_card),
    "FIN-SPLIT-CLAIM": Injector("C", split_claim),
    "FIN-RECON-EXCEPTION": Injector("F", bank_differs),
    "FIN-BANK-UNMATCHED": Injector("F", bank_unrecorded),
}
