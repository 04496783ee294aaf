"""Time (TIME-*): attendance signed days later, a certificate before the course ended, a payment
on a holiday, an approved claim never paid, a key revoked from a past date."""

from __future__ import annotations

import datetime as dt

from ledger.domain.holidays import is_working_day
from simulator.calendar import DAY, SHANGHAI, prev_working_day
from simulator.injectors.hosts import Injector, claimed, classes, other_claim_hosts
from simulator.plan import Plan
from simulator.world import CITY


def backdated_attendance(plan: Plan) -> None:
    """One day's attendance signed 9–14 days later (补录考勤)."""
    for cls in classes(plan, lambda c: len(c.days) >= 6):
        cls.slot = "TIME-BACKDATED"
        i = plan.rng.randint(2, len(cls.days) - 3)
        cls.attendance_delay[i] = plan.rng.randint(9, 14)
        plan.case(
            "TIME-BACKDATED",
            "class",
            cls.cid,
            None,
            f"attendance of {cls.days[i]} signed {cls.attendance_delay[i]} days later (补录考勤)",
        )
        return


def certificate_before_end(plan: Plan) -> None:
    """A certificate issued before the last class day (提前发证)."""
    for cls in classes(
        plan,
        lambda c: c.occ.cert_type == "training_completion" and bool(claimed(plan, c)) and len(c.days) >= 6,
    ):
        lid = plan.rng.choice(claimed(plan, cls))
        cls.slot = "TIME-CERT-BEFORE-END"
        cert = cls.certs[lid]
        cert.issued_on = prev_working_day(cls.end - plan.rng.randint(2, 4) * DAY)
        plan.taint(lid)
        plan.case(
            "TIME-CERT-BEFORE-END",
            "certificate",
            cert.no,
            lid,
            f"certificate issued {cert.issued_on}, before the last class day {cls.end} (提前发证)",
        )
        return


def weekend_payment(plan: Plan) -> None:
    """A payment whose value date is not a working day."""
    for claim in other_claim_hosts(plan, ("living_allowance", "appraisal")):
        pay = claim.payments[0]
        if pay.returned or claim.approve is None:
            continue
        day = claim.approve + 5 * DAY
        while is_working_day(day):
            day += DAY
        if day.month == 1 and day.day < 14 or day > plan.cfg.end:
            continue
        claim.slot = "TIME-WEEKEND-PAYMENT"
        pay.value = day
        fund = plan.funds[pay.fund]
        pay.fund = plan.fund_id(day.year, fund.jur, fund.purpose)
        plan.case(
            "TIME-WEEKEND-PAYMENT",
            "payment",
            pay.pid,
            None,
            f"value date {day} ({['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][day.weekday()]}) "
            "is not a working day",
        )
        return


def stale_claim(plan: Plan) -> None:
    """An appraisal claim approved and never paid (资金滞留)."""
    for claim in other_claim_hosts(plan, ("appraisal",)):
        if claim.approve is None or claim.approve > plan.cfg.stale_before:
            continue
        claim.slot = "TIME-STALE-CLAIM"
        claim.payments = []
        plan.case(
            "TIME-STALE-CLAIM",
            "claim",
            claim.cid,
            None,
            f"approved {claim.approve} and never paid (资金滞留)",
        )
        return


def revoked_key(plan: Plan) -> None:
    """A private school's key revoked as compromised from the middle of its last class."""
    privates = [a for a, j, _ in plan.institutions if a.endswith(("-02", "-03")) and j != CITY]
    classes = [c for c in plan.classes if c.state == "normal" and c.inst in privates and len(c.days) >= 6]
    if not classes:
        return
    cls = max(classes, key=lambda c: (c.start, c.cid))
    day = cls.days[len(cls.days) // 2]
    effective = dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    plan.revocation = (cls.inst, effective, "签名私钥被该机构离职人员带走并冒用，自其离职之日起作废")
    plan.case(
        "TIME-SIGNED-AFTER-REVOCATION",
        "actor",
        cls.inst,
        None,
        f"key of {cls.inst} revoked with effective_at {effective.isoformat()}: everything it signed "
        'since (attendance, completion, claims) is covered; KeyRevoked carries key_id "" and key_of',
    )


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "TIME-BACKDATED": Injector("B", backdated_attendance),
    "TIME-CERT-BEFORE-END": Injector("B", certificate_before_end),
    "TIME-WEEKEND-PAYMENT": Injector("C", weekend_payment),
    "TIME-STALE-CLAIM": Injector("C", stale_claim),
    "TIME-SIGNED-AFTER-REVOCATION": Injector("F", revoked_key),
}
