"""Misuse injectors, one module per rule family of RULES.md, and how a plan takes them.

With ``misuse_rate > 0`` one case of *every* rule is injected, then ``round(misuse_rate ×
classes)`` further cases drawn from the common kinds. Each injector finds a host untouched by
the others, rewrites it, and records the :class:`~simulator.records.InjectedCase` RULES.md
should raise (``plan.truth``) and the knock-on flags it legitimately causes (``plan.knock_on``).
"""

from __future__ import annotations

from projections.anomalies.engine import RULES
from simulator.injectors import conf, dup, elig, fin, insp, net, seq, sod, std, time
from simulator.injectors.hosts import Injector
from simulator.plan import Plan

# The projections' registry says which rules exist; the simulator injects exactly those.
RULE_IDS: tuple[str, ...] = tuple(r.id for r in RULES)

# rule id -> injector, family by family in RULES.md's order: the order the one-of-each cases run in
INJECTORS: dict[str, Injector] = {
    **dup.INJECTORS, **seq.INJECTORS, **std.INJECTORS, **elig.INJECTORS, **conf.INJECTORS,
    **net.INJECTORS, **sod.INJECTORS, **time.INJECTORS, **fin.INJECTORS, **insp.INJECTORS,
}  # fmt: skip
if set(INJECTORS) != set(RULE_IDS):
    raise ImportError(f"injectors and rules differ: {sorted(set(INJECTORS) ^ set(RULE_IDS))}")

# Rules whose hosts are scarce run first within their phase (lower first; default 9).
SCARCE: dict[str, int] = {
    "CONF-EMPLOYED-BEFORE-TRAINING": 0, "NET-RECYCLED-TRAINEE": 0, "SEQ-PAID-WITHOUT-ATTENDANCE": 1,
    "ELIG-DRIVER-AGE": 1, "DUP-REPEAT-TRAINING": 1, "TIME-CERT-BEFORE-END": 1, "STD-DURATION": 2,
    "STD-DAILY-HOURS": 2, "ELIG-AGE-RANGE": 2, "STD-UNAPPRAISED": 1, "DUP-CERTIFICATE": 2,
    "SEQ-PAID-WITHOUT-CERTIFICATE": 2, "TIME-STALE-CLAIM": 1, "FIN-APPROVED-OVER-CLAIM": 2,
    "NET-SHARED-ACCOUNT": 1,
}  # fmt: skip

# The extra cases' kinds and weights: the frauds and slips met most often.
COMMON: dict[str, int] = {
    "SEQ-PAID-WITHOUT-ATTENDANCE": 4, "STD-OVER-STANDARD": 3, "CONF-VISIT-DENIAL": 2, "STD-DURATION": 2,
    "TIME-BACKDATED": 2, "CONF-HEADCOUNT": 2, "STD-DAILY-HOURS": 1, "STD-PRACTICAL-SHARE": 1,
    "SEQ-PAID-WITHOUT-CERTIFICATE": 1, "DUP-CLAIM-LINE": 1, "INSP-UNINSPECTED": 1, "ELIG-NOT-POOR": 1,
    "ELIG-AGE-RANGE": 1, "ELIG-DRIVER-AGE": 1, "CONF-AFTER-WITHDRAWAL": 1, "SEQ-BEFORE-APPROVAL": 1,
    "TIME-WEEKEND-PAYMENT": 1, "TIME-CERT-BEFORE-END": 1, "NET-SHARED-ACCOUNT": 1, "STD-CLASS-SIZE": 1,
    "SEQ-PAID-WITHOUT-REVIEW": 1, "FIN-OVERPAID": 1, "DUP-PAYMENT": 1, "SEQ-PAID-WITHOUT-IDENTITY": 1,
    "CONF-DOUBLE-PRESENCE": 1, "DUP-LABORER": 1, "STD-UNAPPRAISED": 1, "INSP-FAILED-PAID": 1,
    "FIN-PAYEE-MISMATCH": 1,
}  # fmt: skip


def choose_cases(plan: Plan) -> list[str]:
    """One case of every rule, then ``round(misuse_rate × classes)`` common ones."""
    if plan.misuse_rate <= 0:
        return []
    cases = list(INJECTORS)
    extra = round(plan.misuse_rate * len(plan.classes))
    names = list(COMMON)
    weights = [COMMON[k] for k in names]
    cases += plan.rng.choices(names, weights, k=extra)
    return cases


def run_cases(plan: Plan, cases: list[str], phase: str) -> None:
    """The cases of ``phase``: one of every rule first, then the extras; within each, the rules
    whose hosts are scarce (order training, training-completion, driver classes) first."""
    order = sorted(range(len(cases)), key=lambda i: (i >= len(INJECTORS), SCARCE.get(cases[i], 9), i))
    for i in order:
        injector = INJECTORS[cases[i]]
        if injector.phase == phase:
            injector.inject(plan)


def collateral(plan: Plan) -> None:
    """Knock-on flags where two injections meet on one class (e.g. a second training claim
    filed for a class whose completion review was left out is also paid without review)."""
    listed = {(c.rule, c.subject_id, c.laborer_id) for c in plan.truth + plan.knock_on}
    for cls in plan.classes:
        if cls.state != "normal" or cls.review is not None:
            continue
        for claim in cls.claims:
            if (
                claim.kind == "training"
                and claim.reject is None
                and (claim.approve or claim.payments)
                and ("SEQ-PAID-WITHOUT-REVIEW", claim.cid, None) not in listed
            ):
                plan.knock(
                    "SEQ-PAID-WITHOUT-REVIEW",
                    "claim",
                    claim.cid,
                    None,
                    "another training claim of a class that was never reviewed",
                )


__all__ = ["INJECTORS", "RULE_IDS", "Injector", "choose_cases", "collateral", "run_cases"]
