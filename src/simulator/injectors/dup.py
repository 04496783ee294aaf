"""Duplicates (DUP-*): one person registered twice, one line claimed twice, one certificate cited
for two people, one claim paid twice, one training paid twice."""

from __future__ import annotations

from ledger.domain.dates import age_at
from ledger.domain.holidays import next_working_day
from projections.anomalies.engine import anomaly_id
from simulator.calendar import DAY
from simulator.injectors.hosts import (
    Injector,
    also_enrol,
    appraisal_failures,
    claimed,
    classes,
    first_payments,
    pairs,
    plain,
)
from simulator.plan import Plan
from simulator.programme import flow, pay_date, payment
from simulator.records import Claim, ClaimLine, Laborer, Recovery
from simulator.roster import enrol, household
from simulator.world import APPRAISAL_FEN, training_fen


def registered_twice(plan: Plan) -> None:
    """The same person (same ID number) registered again in another household by another office, then trained again."""
    for a, b in pairs(
        plan,
        lambda a, b: (
            a.county == b.county
            and a.occ.name != b.occ.name
            and b.start > a.end + 20 * DAY
            and len(b.roster) < 49
            and b.programme != "two_after_student"
        ),
    ):
        lid = next(
            (
                x
                for x in a.roster
                if plain(plan, a, x)
                and plan.labs[x].category != "non_poor"
                and b.occ.min_age <= age_at(plan.labs[x].birth, b.start) <= b.occ.max_age
            ),
            None,
        )
        if lid is None:
            continue
        orig = plan.labs[lid]
        hh = household(plan, a.county, orig.hh.category)
        hh.registrar = (
            f"pov-{a.county}"
            if orig.hh.registrar.startswith("tw-")
            else next((t[2] for t in plan.townships[a.county] if t[2]), f"pov-{a.county}")
        )
        n = plan.next("L-" + hh.county)
        dup = Laborer(
            lid=f"L-{hh.county}-{n:06d}",
            hh=hh,
            birth=orig.birth,
            gender=orig.gender,
            category=orig.category,
            name=orig.name,
            id_number=orig.id_number,
            phone=plan.people.phone(plan.rng),
            account=plan.people.card(plan.rng),
        )
        hh.members.append(dup)
        plan.labs[dup.lid] = dup
        plan.dup_households.append((orig.hh, hh))
        enrol(plan, b, dup)
        b.protected.add(dup.lid)
        plan.taint(lid, dup.lid)
        plan.case(
            "DUP-LABORER",
            "laborer",
            dup.lid,
            dup.lid,
            f"the same person as {lid} (same ID number) registered again in another household "
            f"by another office, then trained again in {b.cid}",
        )
        return


def claimed_twice(plan: Plan) -> None:
    """Two lines of a paid training claim filed again in a later claim (重复申报)."""
    for cls in classes(plan, lambda c: len(claimed(plan, c)) >= 3, slot="claim"):
        c1 = cls.training_claim()
        assert c1 is not None
        day = next_working_day(c1.payments[0].value + plan.rng.randint(20, 40) * DAY)
        if day + 60 * DAY > plan.cfg.end:
            continue
        cls.claim_slot = "DUP-CLAIM-LINE"
        picked = plan.rng.sample(claimed(plan, cls), 2)
        lines = [ClaimLine(ln.lid, ln.amount, ln.cert) for ln in c1.lines if ln.lid in picked]
        c2 = Claim(plan.claim_id(day), "training", cls.inst, cls.cid, cls.county, lines, c1.account, day)
        c2.slot = "dup"
        flow(plan, c2, plan.rng)
        cls.claims.append(c2)
        plan.taint(*picked)
        for ln in lines:
            plan.case(
                "DUP-CLAIM-LINE",
                "claim",
                c2.cid,
                ln.lid,
                f"claimed again in {c2.cid} after {c1.cid} had paid the same line (重复申报)",
            )
            plan.knock("DUP-CERTIFICATE", "certificate", ln.cert or "", None, "the certificate cited twice")
            plan.knock("DUP-REPEAT-TRAINING", "laborer", ln.lid, ln.lid, "paid twice for one training")
        plan.knock(
            "FIN-SPLIT-CLAIM", "class", cls.cid, None, "two training claims exceed standard × completers"
        )
        return


def borrowed_certificate(plan: Plan) -> None:
    """A passer's certificate cited for a labourer who failed the appraisal (冒用证书)."""
    for cls, claim, failed in appraisal_failures(plan, lambda c: c.occ.cert_type in APPRAISAL_FEN):
        cls.claim_slot = "DUP-CERTIFICATE"
        other = plan.rng.choice([ln for ln in claim.lines if ln.lid in claimed(plan, cls)])
        amount = training_fen(cls.occ, cls.occ.cert_type)
        claim.lines.append(ClaimLine(failed, amount, other.cert))
        plan.case(
            "DUP-CERTIFICATE",
            "certificate",
            other.cert or "",
            None,
            f"certificate of {other.lid} also cited for {failed}, who failed the appraisal (冒用证书)",
        )
        plan.knock(
            "SEQ-PAID-WITHOUT-CERTIFICATE",
            "claim",
            claim.cid,
            failed,
            "the borrower holds no certificate",
        )
        return


def paid_twice(plan: Plan) -> None:
    """A living-allowance or appraisal claim paid twice (重复拨付), then recovered."""
    for claim, first in first_payments(plan, ("living_allowance", "appraisal")):
        value = pay_date(first.value + plan.rng.randint(1, 5) * DAY)
        if value + 60 * DAY > plan.cfg.end:
            continue
        claim.slot = "DUP-PAYMENT"
        payment(plan, claim, value)
        aid = anomaly_id("DUP-PAYMENT", "claim", claim.cid, None)
        when = next_working_day(value + plan.rng.randint(20, 50) * DAY)
        claim.recoveries.append(
            Recovery(
                plan.recovery_id(when),
                when,
                -1,
                "重复拨付，银行对账发现后追回",
                aid,
            )
        )
        claim.disposals.append((next_working_day(when + 2 * DAY), aid, "rectified"))
        plan.case("DUP-PAYMENT", "claim", claim.cid, None, f"{claim.kind} claim paid twice (重复拨付)")
        plan.knock("FIN-OVERPAID", "claim", claim.cid, None, "two payments exceed the approved total")
        return


def trained_twice(plan: Plan) -> None:
    """A labourer trained and paid twice for one occupation and level."""
    for a, b in pairs(
        plan,
        lambda a, b: a.occ.name == b.occ.name and a.occ.level == b.occ.level and b.start > a.end + 7 * DAY,
    ):
        lab_lid = None
        for lid in a.roster:
            lab = plan.labs[lid]
            if plain(plan, a, lid) and len(b.roster) < 49 and lid not in b.enrol:
                age = age_at(lab.birth, b.start)
                if b.occ.min_age <= age <= b.occ.max_age:
                    lab_lid = lid
                    break
        if lab_lid is None:
            continue
        also_enrol(plan, a, lab_lid, [b])
        plan.case(
            "DUP-REPEAT-TRAINING",
            "laborer",
            lab_lid,
            lab_lid,
            f"trained and paid twice for {a.occ.name} ({a.occ.level or 'no level'}): {a.cid} and {b.cid}",
        )
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "DUP-LABORER": Injector("A", registered_twice),
    "DUP-CLAIM-LINE": Injector("C", claimed_twice),
    "DUP-CERTIFICATE": Injector("C", borrowed_certificate),
    "DUP-PAYMENT": Injector("C", paid_twice),
    "DUP-REPEAT-TRAINING": Injector("A", trained_twice),
}
