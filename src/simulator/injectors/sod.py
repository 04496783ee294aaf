"""Separation of duties (SOD-*): only the bureau that approves the claims ever inspected the class."""

from __future__ import annotations

from simulator.injectors.hosts import Injector, classes
from simulator.plan import Plan
from simulator.programme import checklist, inspect_class


def reviewer_only_inspects(plan: Plan) -> None:
    """Only the HR bureau that approves the claims ever inspected the class (谁审核、谁监管)."""
    for cls in classes(plan, lambda c: len(c.days) >= 4 and c.training_claim() is not None):
        cls.slot = "SOD-REVIEWER-ONLY-CHECK"
        cls.no_visits = True
        hr = f"hr-{cls.county}"
        cls.inspections = []
        for i in sorted(plan.rng.sample(range(1, len(cls.days) - 1), 2)):
            inspect_class(plan, cls, i, "site_visit", hr, checklist(), [], "pass")
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
