"""Inspections (INSP-*): a class paid without any site visit or spot check, or after a failed one."""

from __future__ import annotations

from simulator.injectors.hosts import Injector, classes
from simulator.plan import Plan
from simulator.programme import checklist, inspect_class


def uninspected(plan: Plan) -> None:
    """A class paid without any site visit or spot check."""
    for cls in classes(plan, lambda c: c.training_claim() is not None):
        cls.slot = "INSP-UNINSPECTED"
        cls.no_visits = True
        cls.inspections = []
        plan.case("INSP-UNINSPECTED", "class", cls.cid, None, "paid without any site visit or spot check")
        return


def failed_inspection_paid(plan: Plan) -> None:
    """The last spot check failed (no practical training), the claim paid anyway."""
    for cls in classes(plan, lambda c: len(c.days) >= 4 and c.training_claim() is not None):
        cls.slot = "INSP-FAILED-PAID"
        cls.inspections = [
            x
            for x in cls.inspections
            if x.method not in ("site_visit", "spot_check")
            or (x.day_index is not None and x.day_index < len(cls.days) - 1)
        ]
        inspect_class(
            plan,
            cls,
            len(cls.days) - 1,
            "spot_check",
            plan.rng.choice([f"pov-{cls.county}", "insp-640400", "aud-640400"]),
            checklist("practical", "attendance"),
            [{"code": "practical_not_in_place", "note": "无实训设备，实操课未开展；考勤不规范"}],
            "fail",
        )
        plan.case(
            "INSP-FAILED-PAID",
            "class",
            cls.cid,
            None,
            "last spot check failed (practical training not in place), claim paid anyway",
        )
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "INSP-UNINSPECTED": Injector("B", uninspected),
    "INSP-FAILED-PAID": Injector("B", failed_inspection_paid),
}
