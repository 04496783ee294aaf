"""Finance (FIN-*): paid above the approval, approved above the claim, a fund paid beyond its
allocation, the wrong fund, the wrong card, a claim split to pass the standard."""

from __future__ import annotations

from ledger.domain.holidays import next_working_day
from ledger.domain.money import yuan
from projections.anomalies.engine import anomaly_id
from simulator.calendar import DAY
from simulator.injectors.hosts import Injector, claimed, classes, first_payments, other_claim_hosts
from simulator.plan import Plan
from simulator.records import Claim, ClaimLine, Recovery
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


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "FIN-OVERPAID": Injector("C", overpaid),
    "FIN-APPROVED-OVER-CLAIM": Injector("C", approved_over_claim),
    "FIN-FUND-OVERDRAWN": Injector("E", overdrawn_fund),
    "FIN-FUND-MISMATCH": Injector("C", wrong_fund),
    "FIN-PAYEE-MISMATCH": Injector("C", wrong_card),
    "FIN-SPLIT-CLAIM": Injector("C", split_claim),
}
