"""The programme of one class once its roster is full: attendance, certificates, the training,
appraisal and living-allowance claims with their review, approval and payment, and the
inspections and phone visits — each class drawing from its own seeded stream."""

from __future__ import annotations

import datetime as dt
import random

from ledger.domain.holidays import is_working_day, next_working_day
from simulator.calendar import DAY, prev_working_day
from simulator.people import org_account
from simulator.plan import Plan
from simulator.records import Claim, ClaimLine, Inspection, Payment, TrainingClass
from simulator.world import APPRAISAL_FEN, CITY, training_fen


def pay_date(day: dt.date) -> dt.date:
    """The treasury pays on working days, and not before 14 January (the year's funds arrive first)."""
    day = next_working_day(day)
    if day.month == 1 and day.day < 14:
        day = next_working_day(dt.date(day.year, 1, 14))
    return day


def payment(plan: Plan, claim: Claim, value: dt.date, fund_jur: str | None = None) -> Payment:
    purpose = claim.kind
    jur = fund_jur or (CITY if purpose == "appraisal" else claim.jur)
    n = plan.next("BANKREF")
    pay = Payment(
        pid=f"P-{value.year}-{plan.next('P' + str(value.year)):06d}",
        fund=plan.fund_id(value.year, jur, purpose),
        value=value,
        bank_ref=f"GKZF{value:%Y%m%d}{n:07d}",
    )
    claim.payments.append(pay)
    return pay


def flow(plan: Plan, claim: Claim, rng: random.Random, pay_window: tuple[int, int] = (5, 35)) -> None:
    """Verification, approval and payment dates after ``claim.date`` (all working days)."""
    claim.verify = next_working_day(claim.date + rng.randint(1, 5) * DAY)
    claim.approve = next_working_day(claim.verify + rng.randint(2, 8) * DAY)
    value = pay_date(claim.approve + rng.randint(*pay_window) * DAY)
    if value > claim.approve + 40 * DAY:  # keep the 5–40 day window across holidays
        value = prev_working_day(claim.approve + 40 * DAY)
    payment(plan, claim, value)


def class_details(plan: Plan, cls: TrainingClass) -> None:
    """A class after its roster: attendance, certificates, the completion review, claims and
    their payments, inspections and phone visits — from the class's own random stream."""
    rng = random.Random(f"sim:{plan.seed}:class:{cls.cid}")
    _attendance(cls, rng)
    _certificates(plan, cls, rng)
    cls.review = next_working_day(cls.end + rng.randint(2, 8) * DAY)
    _claims(plan, cls, rng)
    _inspections(plan, cls, rng)
    _phone_visits(plan, cls, rng)


def _attendance(cls: TrainingClass, rng: random.Random) -> None:
    """Withdrawals (2 %) and missed days (3 %); everyone else completes."""
    n = len(cls.days)
    for lid in cls.roster:
        if lid in cls.protected or lid in cls.ghosts:
            continue
        if n >= 8 and rng.random() < 0.02 and cls.slot != "STD-CLASS-SIZE":
            cls.withdrawn[lid] = cls.days[rng.randint(3, n - 3)]
        for i in range(n):
            if rng.random() < 0.03:
                cls.absences.setdefault(i, set()).add(lid)
    cls.completers = [lid for lid in cls.roster if lid not in cls.withdrawn]


def _certificates(plan: Plan, cls: TrainingClass, rng: random.Random) -> None:
    """Training-completion certificates from the institution; the driving test (88 % pass) and the
    appraisal centre's exam (90 % qualification, 93 % special ability) for the others."""
    occ = cls.occ
    end = cls.end
    if occ.cert_type == "training_completion":
        issued = next_working_day(end + rng.randint(1, 3) * DAY)
        for lid in cls.completers:
            cls.certs[lid] = plan.certificate(occ.cert_type, occ.level, cls.inst, issued, lid)
    elif occ.cert_type == "driving_licence":
        for lid in cls.completers:
            test = next_working_day(end + rng.randint(3, 25) * DAY)
            if lid in cls.protected or rng.random() < 0.88:
                cls.certs[lid] = plan.certificate(occ.cert_type, occ.level, "traffic-640400", test, lid)
            else:
                cls.failures[lid] = (test, "traffic-640400")
    else:
        exam = next_working_day(end + rng.randint(3, 8) * DAY)
        issued = next_working_day(exam + rng.randint(12, 25) * DAY)
        rate = 0.9 if occ.cert_type == "vocational_qualification" else 0.93
        for lid in cls.completers:
            if lid in cls.protected or rng.random() < rate:
                cls.certs[lid] = plan.certificate(occ.cert_type, occ.level, "apc-640400", issued, lid)
            else:
                cls.failures[lid] = (exam, "apc-640400")


def _claims(plan: Plan, cls: TrainingClass, rng: random.Random) -> None:
    """The institution's training claim (one line per certified registered-poor completer), the
    appraisal centre's claim, and one living-allowance claim per labourer, paid in one batch."""
    occ = cls.occ
    end = cls.end
    assert cls.review is not None  # reviewed before anything is claimed
    last_cert = max((c.issued_on for c in cls.certs.values()), default=end)
    # training claim (institution), one line per certified registered-poor completer
    lines = [ClaimLine(lid, training_fen(occ, cls.certs[lid].ctype), cls.certs[lid].no)
             for lid in cls.completers
             if lid in cls.certs and plan.labs[lid].category != "non_poor"]  # fmt: skip
    if lines:
        day = next_working_day(max(cls.review, last_cert) + rng.randint(3, 10) * DAY)
        if rng.random() < 0.03 and plan.cfg.name != "tiny":  # rejected for missing papers, refiled
            bad = Claim(
                plan.claim_id(day),
                "training",
                cls.inst,
                cls.cid,
                cls.county,
                [ClaimLine(x.lid, x.amount, x.cert) for x in lines],
                org_account(cls.inst),
                day,
            )
            bad.reject = (
                next_working_day(day + rng.randint(3, 6) * DAY),
                "申报材料缺少学员签字考勤表，退回补正",
            )
            cls.claims.append(bad)
            day = next_working_day(bad.reject[0] + rng.randint(5, 12) * DAY)
        claim = Claim(
            plan.claim_id(day),
            "training",
            cls.inst,
            cls.cid,
            cls.county,
            lines,
            org_account(cls.inst),
            day,
        )
        flow(plan, claim, rng)
        cls.claims.append(claim)
    # appraisal claim (appraisal centre)
    if occ.cert_type in APPRAISAL_FEN:
        alines = [
            ClaimLine(lid, APPRAISAL_FEN[occ.cert_type], c.no)
            for lid, c in cls.certs.items()
            if plan.labs[lid].category != "non_poor"
        ]
        if alines:
            day = next_working_day(last_cert + rng.randint(5, 15) * DAY)
            claim = Claim(
                plan.claim_id(day),
                "appraisal",
                "apc-640400",
                cls.cid,
                cls.county,
                alines,
                org_account("apc-640400"),
                day,
            )
            flow(plan, claim, rng)
            cls.claims.append(claim)
    # living allowance: one claim per labourer, paid to the labourer's own card, in one batch
    if cls.la:
        day = next_working_day(end + rng.randint(3, 10) * DAY)
        verify = next_working_day(day + rng.randint(1, 4) * DAY)
        approve = next_working_day(verify + rng.randint(2, 6) * DAY)
        value = pay_date(approve + rng.randint(5, 20) * DAY)
        for lid in cls.completers:
            lab = plan.labs[lid]
            if lab.category == "non_poor" or lid in cls.ghosts:
                continue
            claim = Claim(
                plan.claim_id(day),
                "living_allowance",
                cls.inst,
                cls.cid,
                cls.county,
                [ClaimLine(lid, None)],
                lab.account,
                day,
                verify=verify,
                approve=approve,
            )
            pay = payment(plan, claim, value)
            if rng.random() < 0.01 and plan.cfg.name != "tiny":  # bank return, then paid again
                back = next_working_day(value + rng.randint(2, 6) * DAY)
                pay.returned = (back, "收款行退票：账户状态异常（久悬户），原路退回")
                claim.pdas.append(
                    (
                        next_working_day(back + DAY),
                        f"pov-{lab.hh.county}",
                        lid,
                        "补贴退票，核对本人银行账户信息",
                    )
                )
                payment(plan, claim, pay_date(back + rng.randint(5, 12) * DAY))
            cls.claims.append(claim)


CHECKLIST = ("plan", "teachers", "facilities", "practical", "textbooks", "attendance")


def checklist(*failed: str) -> dict[str, bool]:
    """An inspection's checklist of the six things a class must have in place, all met but ``failed``."""
    items = dict.fromkeys(CHECKLIST, True)
    for item in failed:
        items[item] = False
    return items


def inspect_class(
    plan: Plan,
    cls: TrainingClass,
    i: int,
    method: str,
    actor: str,
    items: dict[str, bool] | None,
    findings: list[dict[str, str]],
    verdict: str,
    *,
    headcount: bool = True,
    missing: frozenset[str] = frozenset(),
    marked: frozenset[str] = frozenset(),
) -> Inspection:
    """An inspection of ``cls`` on its day ``i``, added to the class; ``headcount``: it lists who was
    present and absent that day (a questionnaire does not), ``missing`` and ``marked`` its departures
    from that day's attendance (in neither list, listed absent)."""
    insp = Inspection(
        plan.insp_id(cls.start.year),
        method,
        actor,
        cls.days[i],
        "class",
        cls.cid,
        cls.cid,
        items,
        findings,
        verdict,
        day_index=i if headcount else None,
        missing=missing,
        marked_absent=marked,
    )
    cls.inspections.append(insp)
    return insp


def phone_visit(
    plan: Plan, cls: TrainingClass, day: dt.date, actor: str, lid: str, code: str, note: str, verdict: str
) -> None:
    """A phone visit on ``day`` to a labourer of ``cls``, with what they said (``code``, ``note``)."""
    cls.inspections.append(
        Inspection(
            plan.insp_id(day.year),
            "phone_visit",
            actor,
            day,
            "laborer",
            lid,
            cls.cid,
            None,
            [{"laborer_id": lid, "code": code, "note": note}],
            verdict,
        )
    )


def _inspections(plan: Plan, cls: TrainingClass, rng: random.Random) -> None:
    """A process inspection by the county HR bureau, a spot check by another office (5 % failed,
    rectified and passed on a return visit), sometimes a questionnaire."""
    n = len(cls.days)
    hr, pov, fin = f"hr-{cls.county}", f"pov-{cls.county}", f"fin-{cls.county}"
    inner = list(range(1, n - 1)) if n >= 4 else list(range(n))
    inner = [i for i in inner if is_working_day(cls.days[i])] or inner  # inspectors visit on weekdays
    if rng.random() < 0.6:
        inspect_class(plan, cls, rng.choice(inner), "site_visit", hr, checklist(), [], "pass")
    who = rng.choices([pov, fin, "insp-640400", "aud-640400", "hr-640400"], [35, 20, 20, 10, 15])[0]
    i = rng.choice(inner)
    if rng.random() < 0.05 and i < n - 2:  # failed, rectified, passed on a return visit
        missing_textbooks = [{"code": "textbooks_missing", "note": "未按要求发放统一教材"}]
        inspect_class(plan, cls, i, "spot_check", who, checklist("textbooks"), missing_textbooks, "fail")
        rectified = [{"code": "rectified", "note": "教材已补发，整改到位"}]
        inspect_class(plan, cls, rng.randint(i + 1, n - 2), "site_visit", who, checklist(), rectified, "pass")
    else:
        inspect_class(plan, cls, i, "spot_check", who, checklist(), [], "pass")
    if rng.random() < 0.1:
        inspect_class(plan, cls, rng.choice(inner), "questionnaire", pov, None, [], "pass", headcount=False)


def _phone_visits(plan: Plan, cls: TrainingClass, rng: random.Random) -> None:
    """A quarter of paid classes: one to three labourers phoned after payment."""
    pov = f"pov-{cls.county}"
    tclaim = cls.training_claim()
    if tclaim is not None and rng.random() < 0.25:
        paid = tclaim.payments[0].value
        for line in rng.sample(tclaim.lines, min(len(tclaim.lines), rng.randint(1, 3))):
            day = next_working_day(paid + rng.randint(5, 30) * DAY)
            if day <= plan.cfg.end:
                actor = rng.choice([pov, "insp-640400"])
                phone_visit(
                    plan,
                    cls,
                    day,
                    actor,
                    line.lid,
                    "attendance_confirmed",
                    "本人确认参加培训并收到补贴",
                    "pass",
                )
