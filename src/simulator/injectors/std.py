"""Standards (STD-*): a class above 50, a course squeezed, half days, lectures instead of practice,
lines above the standard, an in-catalogue occupation paid without appraisal."""

from __future__ import annotations

from ledger.domain.holidays import next_working_day
from ledger.domain.money import yuan
from simulator.calendar import DAY
from simulator.injectors.hosts import Injector, appraisal_failures, claimed, classes
from simulator.plan import Plan
from simulator.records import ClaimLine
from simulator.roster import enrol, new_trainee
from simulator.schedule import hours_for


def oversized_class(plan: Plan) -> None:
    """52–56 enrolled in a class approved for 50 (超员开班)."""
    for cls in classes(plan, lambda c: len(c.roster) >= 30 and c.programme != "two_after_student"):
        cls.slot = "STD-CLASS-SIZE"
        target = plan.rng.randint(52, 56)
        cls.capacity = 50
        while len(cls.roster) < target:
            gender = "female" if plan.rng.random() < cls.occ.female else "male"
            enrol(plan, cls, new_trainee(plan, cls, gender))
        plan.case(
            "STD-CLASS-SIZE",
            "class",
            cls.cid,
            None,
            f"{len(cls.roster)} enrolled in a class approved for 50 (超员开班)",
        )
        return


def squeezed_course(plan: Plan) -> None:
    """A course squeezed into 12–16 days (压缩培训时间)."""
    for cls in classes(plan, lambda c: c.programme in ("employment_skill", "special_ability")):
        span = plan.rng.randint(12, 16)
        days = [d for d in cls.days if d <= cls.start + (span - 1) * DAY]
        if len(days) < 8:
            continue
        cls.slot = "STD-DURATION"
        cls.days = days
        cls.hours = hours_for(cls.programme, len(days))
        plan.case(
            "STD-DURATION",
            "class",
            cls.cid,
            None,
            f"course squeezed into {(days[-1] - days[0]).days + 1} days (压缩培训时间), planned "
            f"{(cls.planned_end - cls.start).days + 1}",
        )
        return


def half_days(plan: Plan) -> None:
    """Three to five half days of 4 class-hours counted as full days (半天课)."""
    for cls in classes(plan, lambda c: c.programme in ("employment_skill", "special_ability")):
        cls.slot = "STD-DAILY-HOURS"
        picks = plan.rng.sample(range(1, len(cls.days)), plan.rng.randint(3, 5))
        for i in picks:
            cls.hours[i] = (1, 3)
        plan.case(
            "STD-DAILY-HOURS",
            "class",
            cls.cid,
            None,
            f"{len(picks)} half days of 4 class-hours (半天课) counted as full days",
        )
        return


def lectures_for_practice(plan: Plan) -> None:
    """Practical training replaced by lectures: 4 + 4 hours every day (以理论代实操)."""
    for cls in classes(plan, lambda c: c.programme != "driver"):
        cls.slot = "STD-PRACTICAL-SHARE"
        cls.hours = [(4, 4)] * len(cls.days)
        plan.case(
            "STD-PRACTICAL-SHARE",
            "class",
            cls.cid,
            None,
            "practical training replaced by lectures: 4 theory + 4 practical every day (以理论代实操)",
        )
        return


def inflated_lines(plan: Plan) -> None:
    """Two lines of a training claim above the standard (超标准申领)."""
    for cls in classes(plan, lambda c: bool(claimed(plan, c)), slot="claim"):
        claim = cls.training_claim()
        assert claim is not None
        cls.claim_slot = "STD-OVER-STANDARD"
        picked = plan.rng.sample(claimed(plan, cls), min(2, len(claimed(plan, cls))))
        for line in claim.lines:
            if line.lid in picked:
                line.amount = (line.amount or 0) + plan.rng.choice([20000, 30000, 50000])
                plan.case(
                    "STD-OVER-STANDARD",
                    "claim",
                    claim.cid,
                    line.lid,
                    f"line of {yuan(line.amount)} yuan above the standard (超标准申领)",
                )
        plan.taint(*picked)
        return


def unappraised_payment(plan: Plan) -> None:
    """An in-catalogue occupation paid on a training-completion certificate after a failed appraisal."""
    for cls, claim, failed in appraisal_failures(plan, lambda c: c.occ.in_catalog):
        cls.claim_slot = "STD-UNAPPRAISED"
        issued = next_working_day(cls.end + 2 * DAY)
        cert = plan.certificate("training_completion", None, cls.inst, issued, failed)
        cls.extra_certs.append(cert)
        claim.lines.append(ClaimLine(failed, 80000, cert.no))
        plan.case(
            "STD-UNAPPRAISED",
            "claim",
            claim.cid,
            failed,
            f"in-catalogue occupation {cls.occ.name}: appraisal failed, paid on a training-completion "
            f"certificate {cert.no} instead (未经鉴定)",
        )
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "STD-CLASS-SIZE": Injector("A", oversized_class),
    "STD-DURATION": Injector("A", squeezed_course),
    "STD-DAILY-HOURS": Injector("A", half_days),
    "STD-PRACTICAL-SHARE": Injector("A", lectures_for_practice),
    "STD-OVER-STANDARD": Injector("C", inflated_lines),
    "STD-UNAPPRAISED": Injector("C", unappraised_payment),
}
