"""Sequence (SEQ-*): money paid before the step that should come first — approval, attendance,
a certificate, the completion review, identity confirmation, six months of employment, or a
class opened before its approval."""

from __future__ import annotations

from ledger.domain.holidays import next_working_day
from projections.anomalies.engine import anomaly_id
from simulator.calendar import DAY, month_end, prev_working_day
from simulator.injectors.hosts import (
    Injector,
    appraisal_failures,
    claimed,
    classes,
    other_claim_hosts,
    other_claims,
)
from simulator.plan import Plan
from simulator.records import ClaimLine, Recovery, TrainingClass
from simulator.roster import enrol, new_trainee
from simulator.world import APPRAISAL_FEN, CERT_ABBR, training_fen


def paid_before_approval(plan: Plan) -> None:
    """A living allowance paid by finance before the HR bureau approved it."""
    for claim in other_claim_hosts(plan, ("living_allowance",)):
        claim.slot = "SEQ-PAID-WITHOUT-APPROVAL"
        claim.approve = None
        plan.case(
            "SEQ-PAID-WITHOUT-APPROVAL",
            "claim",
            claim.cid,
            None,
            "living allowance paid by finance before the HR bureau approved it",
        )
        plan.knock("FIN-OVERPAID", "claim", claim.cid, None, "no approval counts as an approved total of 0")
        return


def ghost_trainee(plan: Plan) -> None:
    """A ghost trainee (虚报冒领): enrolled, certified and paid, never in the attendance."""
    for cls in classes(plan, lambda c: c.occ.cert_type == "training_completion" and len(c.roster) < 49):
        cls.slot = "SEQ-PAID-WITHOUT-ATTENDANCE"
        lab = new_trainee(plan, cls, plan.rng.choice(["male", "female"]), category="poor")
        enrol(plan, cls, lab)
        cls.ghosts.add(lab.lid)
        plan.taint(lab.lid)

        def resolve(cls: TrainingClass = cls, lid: str = lab.lid) -> None:
            claim = cls.training_claim()
            assert claim is not None
            plan.case(
                "SEQ-PAID-WITHOUT-ATTENDANCE",
                "claim",
                claim.cid,
                lid,
                "ghost trainee (虚报冒领): enrolled, certified and paid, never in the attendance",
            )
            pay = claim.payments[0]
            when = next_working_day(pay.value + plan.rng.randint(40, 80) * DAY)
            if when <= plan.cfg.end:
                aid = anomaly_id("SEQ-PAID-WITHOUT-ATTENDANCE", "claim", claim.cid, lid)
                rid = plan.recovery_id(when)
                line = next(ln for ln in claim.lines if ln.lid == lid)
                claim.pdas.append(
                    (
                        prev_working_day(when - 5 * DAY),
                        "insp-640400",
                        lid,
                        "核查疑似虚报冒领：核实本人身份与联系方式",
                    )
                )
                claim.recoveries.append(
                    Recovery(
                        rid,
                        when,
                        line.amount or 0,
                        "纪检监察核查：该学员未实际参训，追回虚报的培训补贴",
                        aid,
                    )
                )
                claim.disposals.append((next_working_day(when + 3 * DAY), aid, "confirmed"))

        plan.after_details.append(resolve)
        return


def invented_certificate(plan: Plan) -> None:
    """A failed labourer paid on a certificate number that was never issued."""
    for cls, claim, failed in appraisal_failures(plan, lambda c: c.occ.cert_type in APPRAISAL_FEN):
        cls.claim_slot = "SEQ-PAID-WITHOUT-CERTIFICATE"
        bogus = f"CERT-{CERT_ABBR[cls.occ.cert_type]}-{cls.end.year}-9{plan.next('BOGUS'):05d}"
        claim.lines.append(ClaimLine(failed, training_fen(cls.occ, cls.occ.cert_type), bogus))
        plan.case(
            "SEQ-PAID-WITHOUT-CERTIFICATE",
            "claim",
            claim.cid,
            failed,
            f"paid on certificate {bogus}, which was never issued: the labourer failed the appraisal",
        )
        return


def never_reviewed(plan: Plan) -> None:
    """A training claim approved and paid without any completion review (未结业审核)."""
    for cls in classes(plan, lambda c: c.training_claim() is not None):
        cls.slot = "SEQ-PAID-WITHOUT-REVIEW"
        cls.review = None
        claim = cls.training_claim()
        assert claim is not None
        plan.case(
            "SEQ-PAID-WITHOUT-REVIEW",
            "claim",
            claim.cid,
            None,
            "training claim approved and paid without any completion review (未结业审核)",
        )
        return


def unconfirmed_identity(plan: Plan) -> None:
    """A labourer whose identity was never confirmed, rejected at verification, paid anyway."""
    for cls in sorted(classes(plan, lambda c: bool(claimed(plan, c)), slot="claim"), key=lambda c: c.la):
        claim = cls.training_claim()
        assert claim is not None
        lid = plan.rng.choice(claimed(plan, cls))
        cls.claim_slot = "SEQ-PAID-WITHOUT-IDENTITY"
        plan.labs[lid].confirm = False
        claim.verify_rejected = [lid]
        plan.taint(lid)
        plan.case(
            "SEQ-PAID-WITHOUT-IDENTITY",
            "claim",
            claim.cid,
            lid,
            "identity never confirmed and rejected at claim verification, approved and paid anyway",
        )
        for other in other_claims(plan, lid, claim):
            plan.knock("SEQ-PAID-WITHOUT-IDENTITY", "claim", other.cid, lid, "the same unconfirmed labourer")
        return


def left_before_six_months(plan: Plan) -> None:
    """An employee who left after four months, still listed for six in the employer's proof."""
    options = [e for e in plan.emps if e.claimed and len(e.payroll) >= 6 and e.class_id is None
               and not plan.labs[e.lid].tainted]  # fmt: skip
    plan.rng.shuffle(options)
    for emp in options:
        claim = next(c for c in plan.emp_claims if any(ln.emp == emp.eid for ln in c.lines))
        emp.payroll = emp.payroll[:4]
        y, m, _ = emp.payroll[-1]
        emp.ended = month_end(y, m) - plan.rng.randint(0, 8) * DAY
        plan.taint(emp.lid)
        plan.case(
            "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS",
            "claim",
            claim.cid,
            emp.lid,
            f"{emp.eid} left after 4 months of payroll; the employer's proof still lists six (虚报稳岗)",
        )
        return


def opened_before_approval(plan: Plan) -> None:
    """A class started before its opening was approved (先开班后审批)."""
    for cls in classes(plan, lambda c: len(c.days) >= 5 and c.request < c.start - 5 * DAY):
        cls.slot = "SEQ-BEFORE-APPROVAL"
        cls.approve = cls.days[plan.rng.randint(1, 3)]
        lo = cls.request + DAY
        for lid in cls.roster:
            when = lo + plan.rng.randint(0, (cls.start - DAY - lo).days) * DAY
            cls.enrol[lid] = when
            hh = plan.labs[lid].hh
            hh.first_use = when if hh.first_use is None else min(hh.first_use, when)
        plan.case(
            "SEQ-BEFORE-APPROVAL",
            "class",
            cls.cid,
            None,
            f"class started {cls.start} before its opening was approved on {cls.approve} (先开班后审批)",
        )
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "SEQ-PAID-WITHOUT-APPROVAL": Injector("C", paid_before_approval),
    "SEQ-PAID-WITHOUT-ATTENDANCE": Injector("A", ghost_trainee),
    "SEQ-PAID-WITHOUT-CERTIFICATE": Injector("C", invented_certificate),
    "SEQ-PAID-WITHOUT-REVIEW": Injector("B", never_reviewed),
    "SEQ-PAID-WITHOUT-IDENTITY": Injector("C", unconfirmed_identity),
    "SEQ-EMPLOYER-WITHOUT-SIX-MONTHS": Injector("D", left_before_six_months),
    "SEQ-BEFORE-APPROVAL": Injector("B", opened_before_approval),
}
