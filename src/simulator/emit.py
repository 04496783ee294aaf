"""From a finished plan to intents: each entity (a household, a class, a claim, an employment, the
funds, the reconciliations) builds its events, each gets a clock time on its business date, and
the entities' streams are merged in time order — lazily, so memory stays flat at city scale.

An intent is ``{"actor", "type", "at", "body", "nonce"}`` (+ ``pii``, + ``key_of``): ``at`` is
the business time in Asia/Shanghai (+08:00); ``nonce`` = ``f"sim-{seed}-{n:08d}"`` in stream order.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import partial
from typing import NotRequired, TypeAlias, TypedDict

from simulator.calendar import DAY, month_end, office_day
from simulator.plan import Plan
from simulator.records import Claim, Employment, Household, TrainingClass
from simulator.world import STANDARDS, STANDARDS_FROM, training_fen

JSON: TypeAlias = "str | int | bool | None | Sequence[JSON] | Mapping[str, JSON]"
Body: TypeAlias = dict[str, JSON]


class Intent(TypedDict):
    """An unsigned event for the signing step (DESIGN §9 ``import --sign``)."""

    actor: str
    type: str
    at: str
    body: Body
    nonce: str
    pii: NotRequired[dict[str, str]]  # personal data the signing step moves into the vault (DESIGN §7)
    key_of: NotRequired[str]  # KeyRevoked: fill body.key_id with this actor's current key id


SETUP_DAY = dt.date(2018, 12, 18)  # the standards are set the day after the policy is issued

# Priorities order events that share a date inside one entity; _CLOCK gives their clock time.
(P_STD, P_FUND, P_REG, P_CONFIRM, P_CORRECT, P_REQUEST, P_CLS_APPROVE, P_CANCEL, P_WITHDRAW,
 P_ENROL, P_INSPECT, P_ATTEND, P_COMPLETE, P_FAIL, P_CERT, P_REVIEW, P_EMP, P_PROOF, P_CLAIM,
 P_REJECT, P_VERIFY, P_APPROVE, P_PAY, P_RETURN, P_RECOVER, P_PDA, P_VISIT, P_DISPOSE,
 P_RECON) = range(29)  # fmt: skip
_CLOCK: dict[int, int] = {
    P_STD: 9 * 3600, P_FUND: 9 * 3600 + 1800, P_REG: 9 * 3600, P_CONFIRM: 10 * 3600,
    P_CORRECT: 15 * 3600, P_REQUEST: 9 * 3600, P_CLS_APPROVE: 10 * 3600, P_CANCEL: 11 * 3600,
    P_WITHDRAW: 8 * 3600 + 1800, P_ENROL: 9 * 3600, P_INSPECT: 10 * 3600, P_ATTEND: 17 * 3600 + 1800,
    P_COMPLETE: 18 * 3600 + 1800, P_FAIL: 10 * 3600, P_CERT: 10 * 3600, P_REVIEW: 10 * 3600,
    P_EMP: 9 * 3600, P_PROOF: 10 * 3600, P_CLAIM: 9 * 3600, P_REJECT: 14 * 3600,
    P_VERIFY: 10 * 3600, P_APPROVE: 15 * 3600, P_PAY: 10 * 3600, P_RETURN: 14 * 3600,
    P_RECOVER: 15 * 3600, P_PDA: 11 * 3600, P_VISIT: 15 * 3600, P_DISPOSE: 16 * 3600,
    P_RECON: 16 * 3600,
}  # fmt: skip

# (business or signing date, priority, actor, type, body, pii or None)
Raw = tuple[dt.date, int, str, str, Body, dict[str, str] | None]
# (seconds since 0001-01-01 in +08:00, actor, type, body, pii or None)
Timed = tuple[int, str, str, Body, dict[str, str] | None]
# (start date, creation index, seed key, event builder)
Entity = tuple[dt.date, int, str, Callable[[list[Raw]], None]]


def _timed(raw: list[Raw], rng: random.Random) -> list[Timed]:
    """Give each event a clock time: by priority, strictly increasing within one date."""
    raw.sort(key=lambda e: (e[0], e[1]))  # stable: creation order breaks ties
    out: list[Timed] = []
    last_day: dt.date | None = None
    last_t = 0
    for day, prio, actor, typ, body, pii in raw:
        day0 = day.toordinal() * 86400
        t = day0 + _CLOCK[prio] + rng.randrange(0, 1500)
        if day == last_day and t <= last_t:
            t = last_t + rng.randrange(15, 75)
        t = min(t, day0 + 86399)
        out.append((t, actor, typ, body, pii))
        last_day, last_t = day, t
    return out


def _at(t: int) -> str:
    day = dt.date.fromordinal(t // 86400)
    s = t % 86400
    return f"{day.isoformat()}T{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}+08:00"


def _entities(plan: Plan) -> list[Entity]:
    """Every entity of the plan by the date its first event may happen (each claim its own
    entity: started only when it is filed)."""
    ents: list[Entity] = [(SETUP_DAY, 0, "setup:setup", partial(_setup, plan))]
    first_alloc = min((a[0] for f in plan.funds.values() for a in f.allocations), default=None)
    if first_alloc is not None:
        ents.append((first_alloc, 1, "funds:funds", partial(_funds, plan)))
    for hh in plan.households:
        assert hh.reg is not None
        ents.append((hh.reg, len(ents), f"household:{hh.hid}", partial(_household, plan, hh)))
    for cls in plan.classes:
        ents.append((cls.request, len(ents), f"class:{cls.cid}", partial(_class, plan, cls)))
        for claim in cls.claims:
            ents.append((claim.date, len(ents), f"claim:{claim.cid}", partial(_claim, plan, claim)))
    for emp in plan.emps:
        ents.append((emp.start, len(ents), f"employment:{emp.eid}", partial(_employment, plan, emp)))
    for claim in plan.emp_claims:
        ents.append((claim.date, len(ents), f"claim:{claim.cid}", partial(_claim, plan, claim)))
    if plan.statements:
        first = min(st.recorded for st in plan.statements)
        ents.append((first, len(ents), "recon:recon", partial(_recons, plan)))
    ents.sort(key=lambda e: (e[0], e[1]))
    return ents


def _events(plan: Plan, key: str, build: Callable[[list[Raw]], None]) -> list[Timed]:
    raw: list[Raw] = []
    build(raw)
    return _timed(raw, random.Random(f"sim:{plan.seed}:events:{key}"))


def count(plan: Plan) -> int:
    """The number of intents, without merging or holding the stream."""
    n = sum(len(_events(plan, key, build)) for _, _, key, build in _entities(plan))
    return n + (1 if plan.revocation else 0)


def stream(plan: Plan) -> Iterator[Intent]:
    """Every intent in import order: the entities' timed events merged by clock time."""
    pending = _entities(plan)
    heap: list[tuple[int, int, int, Timed, Iterator[Timed]]] = []
    pi = 0
    n = 0
    last_t = 0
    prefix = f"sim-{plan.seed}-"
    while heap or pi < len(pending):
        while pi < len(pending) and (not heap or pending[pi][0].toordinal() * 86400 <= heap[0][0]):
            _, idx, key, build = pending[pi]
            pi += 1
            it = iter(_events(plan, key, build))
            first = next(it, None)
            if first is not None:
                heapq.heappush(heap, (first[0], idx, 0, first, it))
        if not heap:
            continue
        t, idx, k, ev, it = heapq.heappop(heap)
        nxt = next(it, None)
        if nxt is not None:
            heapq.heappush(heap, (nxt[0], idx, k + 1, nxt, it))
        n += 1
        last_t = max(last_t, t)
        intent: Intent = {
            "actor": ev[1],
            "type": ev[2],
            "at": _at(t),
            "body": ev[3],
            "nonce": f"{prefix}{n:08d}",
        }
        if ev[4] is not None:
            intent["pii"] = ev[4]
        yield intent
    if plan.revocation is not None:
        actor, effective, reason = plan.revocation
        n += 1
        yield {
            "actor": "admin",
            "type": "KeyRevoked",
            "at": _at(last_t + 3600),
            "body": {
                "actor_id": actor,
                "key_id": "",
                "reason": reason,
                "effective_at": effective.isoformat(),
            },
            "nonce": f"{prefix}{n:08d}",
            "key_of": actor,
        }


# ---- event builders ---------------------------------------------------------------------------------
def _setup(plan: Plan, raw: list[Raw]) -> None:
    for s in STANDARDS:
        body: Body = {"standard_id": s.standard_id, "kind": s.kind}
        if s.programme is not None:
            body["programme"] = s.programme
        if s.certificate_type is not None:
            body["certificate_type"] = s.certificate_type
        if s.occupation is not None:
            body["occupation"] = s.occupation
        body.update(amount_fen=s.amount_fen, per=s.per, effective_from=STANDARDS_FROM.isoformat())
        raw.append((SETUP_DAY, P_STD, "admin", "SubsidyStandardSet", body, None))


def _funds(plan: Plan, raw: list[Raw]) -> None:
    for fund in sorted(plan.funds.values(), key=lambda f: f.fid):
        for day, signer, source, amount in fund.allocations:
            raw.append(
                (
                    day,
                    P_FUND,
                    signer,
                    "FundAllocated",
                    {
                        "fund_id": fund.fid,
                        "jurisdiction": fund.jur,
                        "source": source,
                        "purpose": fund.purpose,
                        "year": fund.year,
                        "amount_fen": amount,
                    },
                    None,
                )
            )
        for day, signer, delta, reason in fund.adjustments:
            raw.append(
                (
                    day,
                    P_FUND,
                    signer,
                    "FundAdjusted",
                    {"fund_id": fund.fid, "delta_fen": delta, "reason": reason},
                    None,
                )
            )


def _household(plan: Plan, hh: Household, raw: list[Raw]) -> None:
    assert hh.reg is not None and hh.confirm is not None
    pov = f"pov-{hh.county}"
    for lab in hh.members:
        raw.append(
            (
                hh.reg,
                P_REG,
                hh.registrar,
                "LaborerRegistered",
                {
                    "laborer_id": lab.lid,
                    "household_id": hh.hid,
                    "jurisdiction": hh.county,
                    "township": hh.township,
                    "village": hh.village,
                    "birth_date": lab.birth.isoformat(),
                    "gender": lab.gender,
                    "category": lab.category,
                    "id_fingerprint": "",
                    "pii_commitment": "",
                },
                {
                    "name": lab.name,
                    "id_number": lab.id_number,
                    "phone": lab.phone,
                    "bank_account": lab.account,
                },
            )
        )
    for lab in hh.members:
        if lab.rejected:
            raw.append(
                (
                    hh.confirm,
                    P_CONFIRM,
                    pov,
                    "IdentityRejected",
                    {
                        "laborer_id": lab.lid,
                        "reason": "经扶贫开发信息系统比对，不属于建档立卡贫困家庭劳动力",
                    },
                    None,
                )
            )
        elif lab.confirm:
            basis = {
                "poor": "建档立卡贫困户，扶贫开发信息系统比对一致",
                "eco_migrant": "“十二五”生态移民，移民安置花名册比对一致",
                "two_after_student": "建档立卡贫困家庭两后生，学籍与户籍信息核实一致",
                "non_poor": "非建档立卡户，身份信息核实无误",
            }[lab.category]
            raw.append(
                (
                    hh.confirm,
                    P_CONFIRM,
                    pov,
                    "IdentityConfirmed",
                    {"laborer_id": lab.lid, "basis": basis},
                    None,
                )
            )
        if lab.correction is not None:
            day, village = lab.correction
            raw.append(
                (
                    day,
                    P_CORRECT,
                    pov,
                    "LaborerCorrected",
                    {"laborer_id": lab.lid, "reason": "村组信息录入错误，据户籍更正", "village": village},
                    None,
                )
            )


def _class(plan: Plan, cls: TrainingClass, raw: list[Raw]) -> None:
    occ = cls.occ
    hr = f"hr-{cls.county}"
    raw.append(
        (
            cls.request,
            P_REQUEST,
            cls.inst,
            "ClassOpeningRequested",
            {
                "class_id": cls.cid,
                "programme": occ.programme,
                "occupation": occ.name,
                "in_catalog": occ.in_catalog,
                "jurisdiction": cls.county,
                "site": cls.site,
                "planned_start": cls.start.isoformat(),
                "planned_end": cls.planned_end.isoformat(),
                "capacity": cls.capacity,
                "hours_per_day": 7 if occ.programme == "driver" else 8,
                "practical_percent": 70 if occ.programme == "two_after_student" else 75,
                "subsidy_per_trainee_fen": training_fen(occ, occ.cert_type),
            },
            None,
        )
    )
    if cls.state == "rejected":
        raw.append(
            (
                cls.approve,
                P_CLS_APPROVE,
                hr,
                "ClassOpeningRejected",
                {"class_id": cls.cid, "reason": "该工种不在本年度培训计划内，请调整后重新申报"},
                None,
            )
        )
        return
    raw.append((cls.approve, P_CLS_APPROVE, hr, "ClassOpeningApproved", {"class_id": cls.cid}, None))
    if cls.state == "cancelled":
        assert cls.cancel is not None
        day, who, reason = cls.cancel
        raw.append((day, P_CANCEL, who, "ClassCancelled", {"class_id": cls.cid, "reason": reason}, None))
        return
    for lid in cls.roster:
        raw.append(
            (
                cls.enrol[lid],
                P_ENROL,
                cls.inst,
                "TraineeEnrolled",
                {"class_id": cls.cid, "laborer_id": lid},
                None,
            )
        )
    for lid, day in cls.withdrawn.items():
        raw.append(
            (
                day,
                P_WITHDRAW,
                cls.inst,
                "TraineeWithdrawn",
                {"class_id": cls.cid, "laborer_id": lid, "reason": "外出务工，本人申请退出培训"},
                None,
            )
        )
    presents: dict[int, list[str]] = {}
    for i, day in enumerate(cls.days):
        present = cls.present(i)
        presents[i] = present
        t, p = cls.hours[i]
        signed = day + cls.attendance_delay.get(i, 0) * DAY
        raw.append(
            (
                signed,
                P_ATTEND,
                cls.inst,
                "AttendanceRecorded",
                {
                    "class_id": cls.cid,
                    "date": day.isoformat(),
                    "trainees": [
                        {"laborer_id": lid, "theory_hours": t, "practical_hours": p} for lid in present
                    ],
                },
                None,
            )
        )
    for insp in cls.inspections:
        present_list: list[str] = []
        absent_list: list[str] = []
        if insp.day_index is not None:
            present = presents[insp.day_index]
            pset = set(present)
            present_list = [x for x in present if x not in insp.missing and x not in insp.marked_absent]
            absent_list = [
                x
                for x in cls.roster
                if x not in pset and not (x in cls.withdrawn and insp.date >= cls.withdrawn[x])
            ] + sorted(insp.marked_absent)
        body: Body = {
            "inspection_id": insp.iid,
            "method": insp.method,
            "subject_kind": insp.subject_kind,
            "subject_id": insp.subject_id,
            "date": insp.date.isoformat(),
        }
        if insp.class_id is not None:
            body["class_id"] = insp.class_id
        body.update(
            present=present_list,
            absent=absent_list,
            checklist=insp.checklist,
            findings=insp.findings,
            verdict=insp.verdict,
        )
        raw.append(
            (
                insp.date,
                P_VISIT if insp.method == "phone_visit" else P_INSPECT,
                insp.actor,
                "InspectionRecorded",
                body,
                None,
            )
        )
    raw.append(
        (
            cls.end,
            P_COMPLETE,
            cls.inst,
            "ClassCompleted",
            {"class_id": cls.cid, "end_date": cls.end.isoformat(), "completers": cls.completers},
            None,
        )
    )
    for lid, (day, signer) in cls.failures.items():
        raw.append(
            (
                day,
                P_FAIL,
                signer,
                "AppraisalFailed",
                {"laborer_id": lid, "class_id": cls.cid, "occupation": occ.name, "date": day.isoformat()},
                None,
            )
        )
    for cert in list(cls.certs.values()) + cls.extra_certs:
        body = {"certificate_no": cert.no, "certificate_type": cert.ctype}
        if cert.level is not None:
            body["level"] = cert.level
        body.update(
            laborer_id=cert.lid,
            class_id=cls.cid,
            occupation=occ.name,
            issued_on=cert.issued_on.isoformat(),
        )
        raw.append((cert.issued_on, P_CERT, cert.issuer, "CertificateIssued", body, None))
    if cls.review is not None:
        raw.append(
            (
                cls.review,
                P_REVIEW,
                hr,
                "CompletionReviewed",
                {
                    "class_id": cls.cid,
                    "approved": True,
                    "note": "结业资料齐全，考勤与实训记录完整，同意结业",
                },
                None,
            )
        )
    for day, actor, lid, purpose in cls.pdas:
        raw.append((day, P_PDA, actor, "PersonalDataAccessed", {"laborer_id": lid, "purpose": purpose}, None))


def _claim(plan: Plan, claim: Claim, raw: list[Raw]) -> None:
    hr, pov = f"hr-{claim.jur}", f"pov-{claim.jur}"
    lines = []
    for ln in claim.lines:
        line: Body = {"laborer_id": ln.lid, "amount_fen": ln.amount or 0}
        if ln.cert is not None:
            line["certificate_no"] = ln.cert
        if ln.emp is not None:
            line["employment_id"] = ln.emp
        lines.append(line)
    body: Body = {"claim_id": claim.cid, "kind": claim.kind}
    if claim.class_id is not None:
        body["class_id"] = claim.class_id
    body.update(lines=lines, payee_account="", total_fen=claim.total())
    raw.append((claim.date, P_CLAIM, claim.claimant, "SubsidyClaimed", body, {"bank_account": claim.account}))
    if claim.reject is not None:
        raw.append(
            (
                claim.reject[0],
                P_REJECT,
                hr,
                "ClaimRejected",
                {"claim_id": claim.cid, "reason": claim.reject[1]},
                None,
            )
        )
        return
    if claim.verify is not None:
        raw.append(
            (
                claim.verify,
                P_VERIFY,
                pov,
                "ClaimIdentityVerified",
                {"claim_id": claim.cid, "rejected_laborers": list(claim.verify_rejected)},
                None,
            )
        )
    if claim.approve is not None:
        approved = claim.approved_lines()
        raw.append(
            (
                claim.approve,
                P_APPROVE,
                hr,
                "ClaimApproved",
                {
                    "claim_id": claim.cid,
                    "lines": [{"laborer_id": lid, "amount_fen": a} for lid, a in approved],
                    "total_fen": sum(a for _, a in approved),
                },
                None,
            )
        )
    for pay in claim.payments:
        fin = f"fin-{plan.funds[pay.fund].jur}"
        raw.append(
            (
                pay.value,
                P_PAY,
                fin,
                "PaymentDisbursed",
                {
                    "payment_id": pay.pid,
                    "claim_id": claim.cid,
                    "fund_id": pay.fund,
                    "amount_fen": pay.amount or 0,
                    "payee_account": "",
                    "bank_reference": pay.bank_ref,
                    "value_date": pay.value.isoformat(),
                },
                {"bank_account": pay.account or claim.account},
            )
        )
        if pay.returned is not None:
            raw.append(
                (
                    pay.returned[0],
                    P_RETURN,
                    fin,
                    "PaymentReturned",
                    {"payment_id": pay.pid, "reason": pay.returned[1]},
                    None,
                )
            )
    fin = f"fin-{plan.funds[claim.payments[0].fund].jur}" if claim.payments else f"fin-{claim.jur}"
    for rec in claim.recoveries:
        amount = rec.amount
        if amount < 0:  # the whole duplicate payment
            amount = claim.payments[-1].amount or 0
        rbody: Body = {
            "recovery_id": rec.rid,
            "claim_id": claim.cid,
            "amount_fen": amount,
            "reason": rec.reason,
        }
        if rec.anomaly_id is not None:
            rbody["anomaly_id"] = rec.anomaly_id
        raw.append((rec.date, P_RECOVER, fin, "FundsRecovered", rbody, None))
    for day, aid, disposition in claim.disposals:
        raw.append(
            (
                day,
                P_DISPOSE,
                "insp-640400",
                "AnomalyDisposed",
                {
                    "anomaly_id": aid,
                    "disposition": disposition,
                    "note": "经核查属实，责令追回资金并约谈培训机构负责人"
                    if disposition == "confirmed"
                    else "已追回重复拨付资金，完成整改",
                },
                None,
            )
        )
    for day, actor, lid, purpose in claim.pdas:
        raw.append((day, P_PDA, actor, "PersonalDataAccessed", {"laborer_id": lid, "purpose": purpose}, None))


def _employment(plan: Plan, emp: Employment, raw: list[Raw]) -> None:
    body: Body = {
        "employment_id": emp.eid,
        "laborer_id": emp.lid,
        "position": emp.position,
        "start_date": emp.start.isoformat(),
    }
    if emp.class_id is not None:
        body["class_id"] = emp.class_id
    raw.append((emp.start, P_EMP, emp.employer, "EmploymentStarted", body, None))
    rng = random.Random(f"sim:{plan.seed}:payroll:{emp.eid}")
    for y, m, fen in emp.payroll:
        end = month_end(y, m)
        signed = office_day(end + rng.randint(1, 5) * DAY, end + DAY, end + 7 * DAY)
        raw.append(
            (
                signed,
                P_EMP,
                emp.employer,
                "PayrollRecorded",
                {"employment_id": emp.eid, "month": f"{y:04d}-{m:02d}", "wage_fen": fen},
                None,
            )
        )
    if emp.proof is not None and emp.proof <= plan.cfg.end:
        raw.append(
            (
                emp.proof,
                P_PROOF,
                emp.employer,
                "EmploymentProofSubmitted",
                {"employment_id": emp.eid, "months": emp.proof_months},
                None,
            )
        )
    if emp.ended is not None:
        raw.append(
            (
                emp.ended,
                P_PROOF,
                emp.employer,
                "EmploymentEnded",
                {"employment_id": emp.eid, "end_date": emp.ended.isoformat()},
                None,
            )
        )


def _recons(plan: Plan, raw: list[Raw]) -> None:
    """Each statement's reconciliation, as its bureau records it (:func:`simulator.statements.close`)."""
    for st in plan.statements:
        assert st.body is not None
        raw.append((st.recorded, P_RECON, st.actor, "ReconciliationRecorded", dict(st.body), None))
