"""Separation of duties (SOD-*): only the bureau that approves the claims ever inspected the class."""

from __future__ import annotations

from simulator.injectors.hosts import Injector, classes
from simulator.plan import Plan
from simulator.records import Inspection


def reviewer_only_inspects(plan: Plan) -> None:
    """Only the HR bureau that approves the claims ever inspected the class (谁审核、谁监管)."""
    for cls in classes(plan, lambda c: len(c.days) >= 4 and c.training_claim() is not None):
        cls.slot = "SOD-REVIEWER-ONLY-CHECK"
        cls.no_visits = True
        hr = f"hr-{cls.county}"
        ok = dict.fromkeys(("plan", "teachers", "facilities", "practical", "textbooks", "attendance"), True)
        cls.inspections = []
        for i in sorted(plan.rng.sample(range(1, len(cls.days) - 1), 2)):
            cls.inspections.append(
                Inspection(
                    plan.insp_id(cls.start.year),
                    "site_visit",
                    hr,
                    cls.days[i],
                    "class",
                    cls.cid,
                    cls.cid,
                    dict(ok),
                    [],
                    "pass",
                    day_index=i,
                )
            )
        plan.case(
            "SOD-REVIEWER-ONLY-CHECK",
            "class",
            cls.cid,
            None,
            f"only {hr}, which also approves the claims, ever inspected this class (谁审核、谁监管)",
        )
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "SOD-REVIEWER-ONLY-CHECK": Injector("B", reviewer_only_inspects),
}
