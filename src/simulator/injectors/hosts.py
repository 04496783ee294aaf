"""Choosing where an injection lands: hosts (classes, claims, labourers) untouched by other
injections, in random order, keeping the scarce ones for the rules that need them; and the small
edits several families share (a forced appraisal failure, a return visit).

An injector is one function of the plan and the phase it runs in: A on rosters before attendance
is drawn, B on attendance, inspections and certificates, C on claims and payments, D on
employment, E on funds, F on the key registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from ledger.domain.holidays import next_working_day
from simulator.calendar import DAY
from simulator.plan import Plan
from simulator.programme import checklist, inspect_class
from simulator.records import Claim, Payment, TrainingClass
from simulator.roster import eligible, enrol


class Injector(NamedTuple):
    phase: str  # "A" … "F"
    inject: Callable[[Plan], None]


def classes(
    plan: Plan, pred: Callable[[TrainingClass], bool], slot: str | None = "class"
) -> Iterator[TrainingClass]:
    """Candidate hosts in random order, lazily: normal classes whose ``slot`` is free."""
    out = [c for c in plan.classes if c.state == "normal"
           and (slot is None or (slot == "class" and c.slot is None)
                or (slot == "claim" and c.claim_slot is None))]  # fmt: skip
    plan.rng.shuffle(out)
    # keep scarce hosts (order training, training-completion and driver classes) for the
    # injections that need them: any other injection takes them last
    out.sort(
        key=lambda c: (
            (c.employer is not None) * 2 + (c.occ.cert_type in ("training_completion", "driving_licence"))
        )
    )
    return (c for c in out if pred(c))


def plain(plan: Plan, cls: TrainingClass, lid: str) -> bool:
    """A labourer untouched by other injections, trained once, claimed on the training line."""
    lab = plan.labs[lid]
    return (
        not lab.tainted
        and len(lab.classes) == 1
        and lid not in cls.protected
        and lid not in cls.ghosts
        and lid not in cls.withdrawn
        and lab.category != "non_poor"
    )


def claimed(plan: Plan, cls: TrainingClass) -> list[str]:
    """The plain labourers on the class's live training claim."""
    claim = cls.training_claim()
    return [ln.lid for ln in claim.lines if plain(plan, cls, ln.lid)] if claim else []


def other_claims(plan: Plan, lid: str, besides: Claim) -> list[Claim]:
    """The labourer's other live claims (they share a knock-on flag)."""
    return [c for c in plan.all_claims() if c is not besides and c.reject is None
            and any(ln.lid == lid for ln in c.lines)]  # fmt: skip


def pairs(
    plan: Plan, pred: Callable[[TrainingClass, TrainingClass], bool]
) -> Iterator[tuple[TrainingClass, TrainingClass]]:
    """Ordered pairs of normal classes satisfying ``pred``, lazily, in random order."""
    normal = [c for c in plan.classes if c.state == "normal"]
    firsts = normal[:]
    plan.rng.shuffle(firsts)
    for a in firsts:
        seconds = normal[:]
        plan.rng.shuffle(seconds)
        for b in seconds:
            if a is not b and pred(a, b):
                yield a, b


def movable(plan: Plan, a: TrainingClass, targets: list[TrainingClass]) -> str | None:
    """A plain labourer of ``a`` who may also join every class of ``targets``."""
    for lid in a.roster:
        lab = plan.labs[lid]
        if (
            plain(plan, a, lid)
            and all(eligible(lab, t) for t in targets)
            and all(len(t.roster) < 49 for t in targets)
        ):
            return lid
    return None


def also_enrol(plan: Plan, a: TrainingClass, lid: str, targets: list[TrainingClass]) -> None:
    """Enrol ``lid`` of ``a`` in every class of ``targets`` too, kept in all of them (protected)
    and left alone by other injections (tainted)."""
    for t in targets:
        enrol(plan, t, plan.labs[lid])
    for c in (a, *targets):
        c.protected.add(lid)
    plan.taint(lid)


def appraisal_failures(
    plan: Plan, pred: Callable[[TrainingClass], bool]
) -> Iterator[tuple[TrainingClass, Claim, str]]:
    """Hosts for a payment despite a failed appraisal, lazily: classes satisfying ``pred`` whose live
    training claim lists three or more plain labourers, each yielded with that claim once one of its
    claimed passers (certified by the appraisal centre) has been turned into a failure."""
    for cls in classes(plan, lambda c: pred(c) and len(claimed(plan, c)) >= 3, slot="claim"):
        claim = cls.training_claim()
        assert claim is not None
        failed = _force_failure(plan, cls)
        if failed is not None:
            yield cls, claim, failed


def _force_failure(plan: Plan, cls: TrainingClass) -> str | None:
    """Turn one claimed passer of an appraised class into an appraisal failure."""
    options = [x for x in claimed(plan, cls) if cls.certs[x].issuer == "apc-640400"]
    if not options:
        return None
    lid = plan.rng.choice(options)
    cert = cls.certs.pop(lid)
    exam = min(next_working_day(cls.end + 3 * DAY), cert.issued_on)
    cls.failures[lid] = (exam, "apc-640400")
    for claim in cls.claims:
        if claim.kind in ("training", "appraisal"):
            claim.lines = [ln for ln in claim.lines if ln.lid != lid]
    plan.taint(lid)
    return lid


def revisit(plan: Plan, cls: TrainingClass, after: int) -> None:
    """The county HR bureau's return visit after a failed check: rectified."""
    j = plan.rng.randint(after + 1, len(cls.days) - 1)
    rectified = [{"code": "rectified", "note": "复查：考勤管理已整改"}]
    inspect_class(plan, cls, j, "site_visit", f"hr-{cls.county}", checklist(), rectified, "pass")


def other_claim_hosts(plan: Plan, kinds: tuple[str, ...]) -> Iterator[Claim]:
    """Paid living-allowance or appraisal claims untouched by other injections, lazily."""
    normal = [c for c in plan.classes if c.state == "normal"]
    plan.rng.shuffle(normal)
    for cls in normal:
        claims = [c for c in cls.claims if c.kind in kinds]
        plan.rng.shuffle(claims)
        for claim in claims:
            if (
                claim.slot is None
                and claim.reject is None
                and claim.payments
                and all(not plan.labs[ln.lid].tainted for ln in claim.lines)
            ):
                yield claim


def first_payments(plan: Plan, kinds: tuple[str, ...]) -> Iterator[tuple[Claim, Payment]]:
    """:func:`other_claim_hosts` with their first payment, where the bank did not return it."""
    for claim in other_claim_hosts(plan, kinds):
        if not claim.payments[0].returned:
            yield claim, claim.payments[0]
