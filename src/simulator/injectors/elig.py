"""Eligibility (ELIG-*): a driver trainee over 50, a trainee over 60, a non-poor labourer paid from
the poverty fund."""

from __future__ import annotations

from ledger.domain.dates import age_at
from simulator.injectors.hosts import Injector, classes
from simulator.plan import Plan
from simulator.records import ClaimLine
from simulator.roster import enrol, new_trainee
from simulator.world import training_fen


def old_driver(plan: Plan) -> None:
    """A driver trainee aged 51–54 (drivers must be under 50)."""
    _too_old(
        plan,
        "ELIG-DRIVER-AGE",
        ("driver",),
        (51, 54),
        "driver trainee aged {age} (驾驶员培训须50岁以下)",
        "male",
    )


def over_age(plan: Plan) -> None:
    """An enrolee aged 61–64, over NX's limit of 60."""
    programmes = ("employment_skill", "special_ability")
    _too_old(plan, "ELIG-AGE-RANGE", programmes, (61, 64), "enrolee aged {age}, over the NX limit of 60")


def _too_old(
    plan: Plan,
    rule: str,
    programmes: tuple[str, ...],
    ages: tuple[int, int],
    note: str,
    gender: str | None = None,
) -> None:
    """A new trainee aged within ``ages`` (of either sex unless ``gender``) enrolled in a class of
    ``programmes`` with a place left; ``note`` is the case's, with the age at the start as ``{age}``."""
    for cls in classes(plan, lambda c: c.programme in programmes and len(c.roster) < 49):
        cls.slot = rule
        sex = gender or plan.rng.choice(["male", "female"])
        lab = new_trainee(plan, cls, sex, age=plan.rng.randint(*ages))
        enrol(plan, cls, lab)
        plan.taint(lab.lid)
        plan.case(rule, "class", cls.cid, lab.lid, note.format(age=age_at(lab.birth, cls.start)))
        return


def non_poor_paid(plan: Plan) -> None:
    """A non-poor labourer claimed and paid from the poverty-only training fund."""
    for cls in classes(
        plan, lambda c: c.training_claim() is not None and c.occ.cert_type != "driving_licence", slot="claim"
    ):
        claim = cls.training_claim()
        assert claim is not None
        cert_any = next(iter(cls.certs.values()), None)
        if cert_any is None:
            continue
        cls.claim_slot = "ELIG-NOT-POOR"
        lab = next(
            (
                plan.labs[x]
                for x in cls.completers
                if plan.labs[x].category == "non_poor" and x in cls.certs and not plan.labs[x].tainted
            ),
            None,
        )
        if lab is None:
            lab = new_trainee(
                plan, cls, "female" if plan.rng.random() < cls.occ.female else "male", category="non_poor"
            )
            lab.category = "non_poor"
            enrol(plan, cls, lab, when=cls.enrol[cls.roster[0]])
            cls.protected.add(lab.lid)
            cls.completers.append(lab.lid)
            cls.certs[lab.lid] = plan.certificate(
                cert_any.ctype, cert_any.level, cert_any.issuer, cert_any.issued_on, lab.lid
            )
        claim.lines.append(
            ClaimLine(lab.lid, training_fen(cls.occ, cls.certs[lab.lid].ctype), cls.certs[lab.lid].no)
        )
        plan.taint(lab.lid)
        plan.case(
            "ELIG-NOT-POOR",
            "claim",
            claim.cid,
            lab.lid,
            "non-poor labourer claimed and paid from the poverty-only training fund",
        )
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "ELIG-DRIVER-AGE": Injector("A", old_driver),
    "ELIG-AGE-RANGE": Injector("A", over_age),
    "ELIG-NOT-POOR": Injector("C", non_poor_paid),
}
