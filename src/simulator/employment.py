"""Employment after training: order-training hires and other subsidised jobs, monthly payroll,
six-month proofs and the employers' subsidy claims."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from ledger.domain.holidays import next_working_day
from simulator.calendar import DAY, month_end, next_month
from simulator.people import org_account
from simulator.plan import Plan
from simulator.programme import flow
from simulator.records import Claim, ClaimLine, Employment, Recovery, TrainingClass
from simulator.world import EMPLOYER_FEN, WAGE_YUAN


def employment(plan: Plan) -> None:
    """Hires after training (order training: half the class), six months and more of payroll, the
    employer's proof, and one employer claim per employer and quarter of proofs."""
    rng = random.Random(f"sim:{plan.seed}:employment")
    cfg = plan.cfg
    ly, lm = cfg.last_payroll
    for cls in plan.classes:
        if cls.state != "normal":
            continue
        for lid, start in cls.pre_employed.items():
            _employ(plan, cls.employer or "", cls, lid, start, rng, order=True)
        for lid in cls.completers:
            lab = plan.labs[lid]
            cert = cls.certs.get(lid)
            if (
                cert is None
                or lab.tainted
                or lab.employed
                or lab.category == "non_poor"
                or lid in cls.withdrawn
                or lid in cls.pre_employed
            ):
                continue
            if cls.employer is not None and rng.random() < 0.5:
                start = next_working_day(cls.end + rng.randint(3, 10) * DAY)
                _employ(plan, cls.employer, cls, lid, start, rng, order=True)
            elif rng.random() < cfg.hire_share:
                pool = [e for e, s in plan.employers[cls.county] if s == cls.occ.sector]
                if not pool:
                    continue
                start = next_working_day(cert.issued_on + rng.randint(10, 60) * DAY)
                _employ(plan, rng.choice(pool), cls, lid, start, rng, order=False)
    # payroll, proof, end
    for emp in plan.emps:
        months: list[tuple[int, int, int]] = []
        y, m = emp.start.year, emp.start.month
        n = rng.randint(6, 14)
        lo, hi = WAGE_YUAN[next(s for e, s in plan.employers[emp.county] if e == emp.employer)]
        wage = rng.randint(lo, hi) * 100
        while len(months) < n and (y, m) <= (ly, lm):
            fen = wage
            if (y, m) == (emp.start.year, emp.start.month) and emp.start.day > 1:
                dim = month_end(y, m).day
                fen = wage * (dim - emp.start.day + 1) // dim
            months.append((y, m, fen))
            y, m = next_month(y, m)
        emp.payroll = months
        if len(months) >= 6:
            six = months[:6]
            emp.proof_months = [f"{a:04d}-{b:02d}" for a, b, _ in six]
            emp.proof = next_working_day(month_end(six[-1][0], six[-1][1]) + rng.randint(7, 15) * DAY)
        if months and len(months) == n and rng.random() < 0.3:
            last_y, last_m, _ = months[-1]
            emp.ended = month_end(last_y, last_m) - rng.randint(0, 5) * DAY
    # employer claims: one per employer and quarter of proofs
    batches: dict[tuple[str, int, int], list[Employment]] = defaultdict(list)
    for emp in plan.emps:
        if emp.proof is not None and emp.proof <= cfg.end:
            batches[(emp.employer, emp.proof.year, (emp.proof.month - 1) // 3)].append(emp)
    for (employer, y, q), emps in sorted(batches.items()):
        qy, qm = (y + 1, 1) if q == 3 else (y, 3 * q + 4)
        day = next_working_day(dt.date(qy, qm, 1) + rng.randint(4, 20) * DAY)
        if day + 70 * DAY > cfg.end:
            continue
        county = emps[0].county
        lines = [ClaimLine(e.lid, EMPLOYER_FEN, plan.cert_of(e.lid), e.eid) for e in emps]
        claim = Claim(
            plan.claim_id(day), "employer", employer, None, county, lines, org_account(employer), day
        )
        flow(plan, claim, rng)
        for e in emps:
            e.claimed = True
        if rng.random() < 0.03 and plan.cfg.name != "tiny":
            line = rng.choice(lines)
            when = next_working_day(claim.payments[0].value + rng.randint(30, 90) * DAY)
            if when <= cfg.end:
                claim.recoveries.append(
                    Recovery(
                        plan.recovery_id(when),
                        when,
                        line.amount or 0,
                        f"复核发现{line.lid}社保缴费记录与工资表不一致，追回该人补贴",
                        None,
                    )
                )
        plan.emp_claims.append(claim)


def _employ(
    plan: Plan, employer: str, cls: TrainingClass, lid: str, start: dt.date, rng: random.Random, order: bool
) -> Employment:
    county = next(c for c, rows in plan.employers.items() if any(e == employer for e, _ in rows))
    eid = f"EMP-{county}-{plan.next('EMP' + county):05d}"
    position = cls.occ.position
    emp = Employment(eid, employer, county, lid, position, start, cls.cid if order else None, [])
    plan.emps.append(emp)
    plan.emp_by_id[eid] = emp
    plan.labs[lid].employed = True
    return emp
