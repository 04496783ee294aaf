"""Closing the plan: living allowances from the days attended, payments from the approved totals,
funds allocated in January with a margin, registration and identity confirmation dated before each
household's first use (the finance bureaus' bank statements: :mod:`.statements`)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from ledger.domain.holidays import next_working_day
from simulator.calendar import DAY, office_day
from simulator.plan import Plan
from simulator.world import CITY, LA_PER_DAY_FEN


def finalize(plan: Plan) -> None:
    rng = random.Random(f"sim:{plan.seed}:finalize")
    for cls in plan.classes:
        if cls.state != "normal":
            continue
        attended: dict[str, int] = defaultdict(int)
        for i in range(len(cls.days)):
            for lid in cls.present(i):
                attended[lid] += 1
        for claim in cls.claims:
            if claim.kind == "living_allowance":
                for line in claim.lines:
                    line.amount = LA_PER_DAY_FEN * attended[line.lid]
    for claim in plan.all_claims():
        approved = sum(a for _, a in claim.approved_lines()) if claim.approve else claim.total()
        for pay in claim.payments:
            if pay.amount is None:
                pay.amount = approved + pay.delta
            plan.funds[pay.fund].need += pay.amount
    # funds: allocated in the first days of January, before any payment, with a margin
    for fund in sorted(plan.funds.values(), key=lambda f: f.fid):
        if fund.need == 0:
            continue
        wan = 1_000_000  # allocations are made in units of 10,000 yuan (万元)
        total = -(-int(fund.need * rng.uniform(1.08, 1.25)) // wan) * wan
        if fund.jur == CITY:
            parts = [("region", 0.6), ("city", 0.4)]
        elif fund.purpose == "training":
            parts = [("central", 0.5), ("region", 0.25), ("city", 0.1), ("county", 0.15)]
        elif fund.purpose == "living_allowance":
            parts = [("region", 0.6), ("county", 0.4)]
        else:
            parts = [("central", 0.4), ("region", 0.4), ("county", 0.2)]
        day = dt.date(fund.year, 1, 2)
        left = total
        for k, (source, share) in enumerate(parts):
            amount = left if k == len(parts) - 1 else int(total * share) // wan * wan
            left -= amount
            day = next_working_day(day + DAY)
            signer = "fin-640400" if source == "city" or fund.jur == CITY else f"fin-{fund.jur}"
            fund.allocations.append((day, signer, source, amount))
        if rng.random() < 0.3:
            top = max(wan, int(fund.need * 0.08) // wan * wan)
            when = next_working_day(dt.date(fund.year, 7, rng.randint(1, 15)))
            if when <= plan.cfg.end:
                fund.adjustments.append(
                    (
                        when,
                        f"fin-{fund.jur}" if fund.jur != CITY else "fin-640400",
                        top,
                        "追加下达第二批培训专项资金",
                    )
                )
    # registration and identity confirmation before each household's first use
    for hh in plan.households:
        first = hh.first_use or plan.cfg.reg_start + 30 * DAY
        reg = first - rng.randint(7, 40) * DAY
        reg = max(reg, plan.cfg.reg_start)
        reg = min(reg, first - 3 * DAY)
        hh.reg = office_day(reg, plan.cfg.reg_start, first - 3 * DAY)
        confirm = hh.reg + rng.randint(1, max(1, min(10, (first - hh.reg).days - 1))) * DAY
        hh.confirm = office_day(confirm, hh.reg + DAY, first - DAY)
        if rng.random() < 0.01:
            lab = rng.choice(hh.members)
            when = next_working_day(hh.confirm + rng.randint(5, 30) * DAY)
            if when <= plan.cfg.end:
                _, villages, _ = next(t for t in plan.townships[hh.county] if t[0] == hh.township)
                lab.correction = (when, rng.choice([v for v in villages if v != hh.village] or villages))
    # a duplicate registration comes after the original's (DUP-LABORER names the later one)
    for orig, dup in plan.dup_households:
        assert orig.reg is not None and dup.reg is not None and dup.first_use is not None
        if dup.reg <= orig.reg:
            dup.reg = orig.reg + DAY
            if dup.reg > dup.first_use - 3 * DAY:
                dup.reg = dup.first_use - 3 * DAY
                orig.reg = dup.reg - DAY
            for hh in (orig, dup):
                assert hh.reg is not None and hh.first_use is not None
                hh.confirm = hh.reg + max(1, min(3, (hh.first_use - hh.reg).days - 1)) * DAY
    # a few registered members are rejected on confirmation (never trained)
    for hh in plan.households:
        for lab in hh.members:
            if not lab.classes and rng.random() < 0.04 and plan.cfg.name != "tiny":
                lab.rejected = True

