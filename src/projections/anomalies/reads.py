"""What the rules read, shared by every family: the vocabulary of RULES.md over the read models and
the rules' state, each answer typed (the stored records become :mod:`.state`'s NamedTuples here).

Vocabulary (RULES.md "Definitions"): a claim is **live** unless rejected or withdrawn; a line is
**paid** when its claim has payments not returned summing > 0; a claim **stands** when it is
paid or approved (the ``SEQ-PAID-*`` rules judge it at approval, so a critical flag can stop the
payment); the lines a standing claim stands for are its approved lines (amount > 0) once an
approval exists, else the lines claimed. "Before"/"after" compare business dates, ``seq``
breaking ties; "now" is the log clock.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from typing import cast

import sqlalchemy as sa

from ledger.domain.schema import parse_rfc3339
from projections import tables as T
from projections.anomalies.engine import SUBJECTS, Ctx, Memo, SubjectKind
from projections.anomalies.state import (
    ACCOUNTS,
    CERTIFICATES,
    CLAIMS,
    CLASS_DAYS,
    CLASSES,
    FINGERPRINTS,
    LABORERS,
    PAYMENTS,
    RECONCILIATIONS,
    STANDARDS,
    AccountPayment,
    Approval,
    Citation,
    ClaimLine,
    ClassDay,
    Enrolment,
    InspectionRef,
    ReconRef,
    Registration,
    Signed,
    StandardSet,
    Withdrawal,
    signed_order,
)
from projections.uow import Key, Row

KIND_ZH = {"training": "培训", "appraisal": "鉴定", "living_allowance": "生活费", "employer": "用人单位"}
PROCESS_CHECKS = ("site_visit", "spot_check")  # what counts as a process inspection (§4(3))


# --- claims ------------------------------------------------------------------------------------------
def is_live(claim: Row) -> bool:
    return claim["status"] not in ("rejected", "withdrawn")


def net_paid(claim: Row) -> int:
    return int(claim["paid_fen"]) - int(claim["returned_fen"])


def is_paid(claim: Row) -> bool:
    return net_paid(claim) > 0


def is_approved(claim: Row) -> bool:
    return claim["approved_seq"] is not None and claim["status"] == "approved"


def stands(claim: Row) -> bool:
    """Paid, or approved: the moment the SEQ-PAID-* rules judge a claim (RULES.md)."""
    return is_paid(claim) or is_approved(claim)


CLAIM_LINES = Memo[list[ClaimLine]]("lines")
STANDING_LINES = Memo[list[ClaimLine]]("standing")
MONEY_EVIDENCE = Memo[list[int]]("money")
LINES_LOADED = Memo[bool]("loaded")


def claim_lines(ctx: Ctx, claim_id: str) -> list[ClaimLine]:
    """The lines as claimed."""
    return ctx.remember(CLAIM_LINES, claim_id,
                        lambda: [ClaimLine._make(line) for line in ctx.read(CLAIMS, claim_id).get("lines", [])])  # fmt: skip


def standing_lines(ctx: Ctx, claim: Row) -> list[ClaimLine]:
    """The lines a standing claim stands for: approved (amount > 0) once approved, else claimed.

    Memoised for the event: every rule judging the claim's lines asks the same question."""
    return ctx.remember(STANDING_LINES, claim["claim_id"], lambda: _standing_lines(ctx, claim))


def standing_line(ctx: Ctx, claim: Row, laborer_id: str) -> ClaimLine | None:
    return next((line for line in standing_lines(ctx, claim) if line.laborer_id == laborer_id), None)


def claim_laborers(ctx: Ctx, claim: Row) -> list[str]:
    """Every labourer the claim names: on its lines or on its approval."""
    out = dict.fromkeys(line.laborer_id for line in claim_lines(ctx, claim["claim_id"]))
    out.update(dict.fromkeys(lid for lid, _ in claim["approved_lines"] or ()))
    return list(out)


def _standing_lines(ctx: Ctx, claim: Row) -> list[ClaimLine]:
    claimed = claim_lines(ctx, claim["claim_id"])
    if claim["approved_seq"] is None or claim["approved_lines"] is None:
        out = [line for line in claimed if line.amount_fen > 0]
    else:
        first: dict[str, ClaimLine] = {}
        for line in claimed:
            first.setdefault(line.laborer_id, line)
        out = []
        for laborer_id, amount in claim["approved_lines"]:
            if amount > 0:
                cited = first.get(laborer_id)
                cert, job = (None, None) if cited is None else (cited.certificate_no, cited.employment_id)
                out.append(ClaimLine(laborer_id, amount, cert, job))
    once: dict[str, ClaimLine] = {}
    for line in out:
        once.setdefault(line.laborer_id, line)  # a labourer twice on one claim stands once (DUP-* see the rest)
    return list(once.values())


def payments_of(ctx: Ctx, claim_id: str, *, returned: bool = False) -> list[Row]:
    """The claim's payments (in log order); returned ones only if asked."""
    rows = _rows(ctx, T.payments, ctx.read(CLAIMS, claim_id).get("payments", []))
    return [p for p in rows if returned or p["returned_seq"] is None]


def money_evidence(ctx: Ctx, claim: Row) -> list[int]:
    """The claim, its standing approval and its payments not returned (memoised for the event)."""
    found = ctx.remember(MONEY_EVIDENCE, claim["claim_id"], lambda: _money_evidence(ctx, claim))
    return list(found)  # a copy: rules add to it


def _money_evidence(ctx: Ctx, claim: Row) -> list[int]:
    out = [claim["claimed_seq"]]
    if claim["approved_seq"] is not None and is_approved(claim):
        out.append(claim["approved_seq"])
    out += [p["seq"] for p in payments_of(ctx, claim["claim_id"])]
    return out


def approvals(ctx: Ctx, claim_id: str) -> list[Approval]:
    return [Approval._make(a) for a in ctx.read(CLAIMS, claim_id).get("approvals", [])]


def class_claims(ctx: Ctx, class_id: str, kind: str | None = None) -> list[Row]:
    """The claims citing the class (of this kind, or any)."""
    return claims_by_id(ctx, ctx.read(CLASSES, class_id).get("claims", []), kind)


def laborer_claims(ctx: Ctx, laborer_id: str, kind: str | None = None) -> list[Row]:
    """The claims with a line for the labourer (of this kind, or any)."""
    return claims_by_id(ctx, ctx.read(LABORERS, laborer_id).get("claims", []), kind)


def claims_by_id(ctx: Ctx, ids: list[str], kind: str | None = None) -> list[Row]:
    """The claims with these ids (of this kind, or any), in their order."""
    return [c for c in _rows(ctx, T.claims, ids) if kind is None or c["kind"] == kind]


def _rows(ctx: Ctx, table: sa.Table, ids: list[str]) -> list[Row]:
    """The rows of ``table`` with these keys, in their order, absent ones left out (several: one query)."""
    if len(ids) > 1:
        ctx.uow.prefetch((table, (i,)) for i in ids)
    return [row for row in (ctx.row(table, i) for i in ids) if row is not None]


def load_lines(ctx: Ctx, claim: Row) -> None:
    """One query per table for what a claim's lines will look up (instead of one per line)."""
    ctx.remember(LINES_LOADED, claim["claim_id"], lambda: _load_lines(ctx, claim))


def _load_lines(ctx: Ctx, claim: Row) -> bool:
    lines = claim_lines(ctx, claim["claim_id"])
    if len(lines) < 2:
        return True
    wanted: list[tuple[sa.Table, Key]] = []
    for line in lines:
        wanted += [LABORERS.at(line.laborer_id), (T.laborers, (line.laborer_id,))]
        if line.certificate_no is not None:
            wanted += [(T.certificates, (line.certificate_no,)), CERTIFICATES.at(line.certificate_no)]
    ctx.uow.prefetch(wanted)
    return True


def supports(ctx: Ctx, rule_id: str | None, kind: SubjectKind, ident: str) -> bool:
    """Does ``rule_id`` currently hold anything on this subject?"""
    return rule_id is not None and bool(ctx.read(SUBJECTS[kind], ident).get("sup", {}).get(rule_id))


# --- classes, attendance, inspections -----------------------------------------------------------------
def class_end(klass: Row) -> str:
    end: str = klass["end_date"] or klass["last_attendance"] or klass["planned_end"]
    return end


def cday(ctx: Ctx, class_id: str, date: str) -> ClassDay | None:
    """The class-day's current attendance record."""
    day = ctx.state(CLASS_DAYS, f"{class_id}|{date}")
    return ClassDay._make(day) if day else None


def in_order(date: str, at: str, actor: str, nonce: str) -> tuple[str, dt.datetime, str, str]:
    """DESIGN §3's order: the business date, then ``at`` (as an instant), actor and nonce; never seq."""
    return (date, *signed_order(at, actor, nonce))


def claim_order(ctx: Ctx, claim: Row) -> tuple[str, dt.datetime, str, str]:
    """A claim's place in DESIGN §3's order: its business date, then its envelope's at, actor and nonce."""
    return in_order(claim["claimed_date"], *Signed._make(ctx.read(CLAIMS, claim["claim_id"])["signed"]))


def class_days(ctx: Ctx, class_id: str, after: str = "") -> list[ClassDay]:
    """The class's current class-day records (those dated after ``after``). A rule whose verdict rests
    on the first or last day cites them all (written when evidence only grew: the first seen so far is
    not the first in every order); the standing record of each day, so the same in every arrival order."""
    days = (cday(ctx, class_id, d) for d in ctx.read(CLASSES, class_id).get("days", ()) if d > after)
    return [day for day in days if day is not None]


def attended(ctx: Ctx, class_id: str, laborer_id: str) -> int:
    """Days the labourer is in the class's current attendance records."""
    return int(ctx.read(CLASSES, class_id).get("att", {}).get(laborer_id, 0))


def attendance_dates(ctx: Ctx, laborer_id: str, class_id: str) -> list[str]:
    """The sorted dates the class's current attendance lists the labourer."""
    return ctx.read(LABORERS, laborer_id).get("att", {}).get(class_id, [])


def classes_on(ctx: Ctx, laborer_id: str, date: str) -> list[str]:
    """The classes whose current attendance lists the labourer on ``date``."""
    att = ctx.read(LABORERS, laborer_id).get("att", {})
    out = []
    for class_id in sorted(att):
        dates = att[class_id]
        at = bisect_left(dates, date)
        if at < len(dates) and dates[at] == date:
            out.append(class_id)
    return out


def day_touched(ctx: Ctx) -> list[str]:
    """``AttendanceRecorded``: the labourers the day lists, then those it no longer lists."""
    return [*ctx.day_listed, *ctx.day_dropped]


def inspections_of(ctx: Ctx, class_id: str) -> list[InspectionRef]:
    """Every inspection naming the class, by seq."""
    held = ctx.read(CLASSES, class_id).get("insp", {})
    return sorted((InspectionRef._make([k, *v]) for k, v in held.items()), key=lambda i: i.seq)


def process_checks(ctx: Ctx, class_id: str) -> list[InspectionRef]:
    """The class's site visits and spot checks, by seq."""
    return [i for i in inspections_of(ctx, class_id) if i.method in PROCESS_CHECKS]


def withdrawals(ctx: Ctx, class_id: str) -> dict[str, Withdrawal]:
    """Labourers whose latest move in the class is a withdrawal."""
    return {lid: Withdrawal._make(w) for lid, w in ctx.read(CLASSES, class_id).get("out", {}).items()}


def enrolments(ctx: Ctx, laborer_id: str) -> dict[str, Enrolment]:
    """Every class the labourer was enrolled in (withdrawn or not)."""
    return {cid: Enrolment._make(e) for cid, e in ctx.read(LABORERS, laborer_id).get("classes", {}).items()}


# --- labourers, certificates, accounts -----------------------------------------------------------------
def registrations(ctx: Ctx, fingerprint: str) -> list[Registration]:
    return [Registration._make(r) for r in ctx.read(FINGERPRINTS, fingerprint)]


def valid_certificates(ctx: Ctx, laborer_id: str, class_id: str | None = None) -> list[Row]:
    """The labourer's certificates not revoked (for one class, or any)."""
    out = []
    for number, for_class in sorted(ctx.read(LABORERS, laborer_id).get("certs", {}).items()):
        if class_id is None or for_class == class_id:
            cert = ctx.row(T.certificates, number)
            if cert is not None and cert["revoked_seq"] is None:
                out.append(cert)
    return out


def revoked_certificates(ctx: Ctx, laborer_id: str, class_id: str) -> list[Row]:
    certs = ctx.read(LABORERS, laborer_id).get("certs", {})
    rows = [ctx.row(T.certificates, n) for n, c in sorted(certs.items()) if c == class_id]
    return [c for c in rows if c is not None and c["revoked_seq"] is not None]


def citations(ctx: Ctx, certificate_no: str) -> list[Citation]:
    """The claim lines citing the certificate."""
    return [Citation._make(c) for c in ctx.read(CERTIFICATES, certificate_no).get("cites", [])]


def account_payments(ctx: Ctx, account: str) -> dict[str, AccountPayment]:
    """Living-allowance payments to the account: payment → whose."""
    return {pid: AccountPayment._make(p) for pid, p in ctx.read(ACCOUNTS, account).get("pays", {}).items()}


# --- bank reconciliations (DESIGN §10) ----------------------------------------------------------------------
def reconciliations(ctx: Ctx, key: str) -> list[ReconRef]:
    """Every ``ReconciliationRecorded`` of a bureau's month (``actor:YYYY-MM``), in log order."""
    return [ReconRef._make(r) for r in ctx.read(RECONCILIATIONS, key).get("recons", [])]


def latest_reconciliation(recons: list[ReconRef]) -> ReconRef | None:
    """The latest by ``at`` (as an instant), the nonce breaking ties (RULES.md; DESIGN §3: never seq —
    one bureau signs every reconciliation of its months, so the actor ties too)."""
    return max(recons, key=lambda r: (parse_rfc3339(r.at), r.nonce), default=None)


def covers(recon: ReconRef, fund_id: str) -> bool:
    """Does the reconciliation's statement cover the fund (no ``funds``: all of the bureau's)?"""
    return recon.funds is None or fund_id in recon.funds


def reconciled_in(ctx: Ctx, payment_id: str) -> list[str]:
    """The ``actor:YYYY-MM`` of the reconciliations whose exceptions name the payment."""
    return ctx.read(PAYMENTS, payment_id).get("recons", [])


# --- subsidy standards (five unifications): the most specific standard in force -------------------------
StandardQuery = tuple[int, str, str, str | None, str | None, str | None, bool]
Rank = tuple[int | str | bool | dt.datetime, ...]


def standard(ctx: Ctx, kind: str, on: str, *, programme: str | None = None, occupation: str | None = None,
             certificate_type: str | None = None, any_certificate: bool = False) -> StandardSet | None:  # fmt: skip
    """The ``SubsidyStandardSet`` in force on ``on`` for this kind, programme, certificate type and
    occupation; the most specific wins (occupation, then certificate type, then programme), then the
    latest. ``any_certificate``: the highest over all certificate types (FIN-SPLIT-CLAIM).

    Memoised for the batch (the unit of work): the standards only grow, and their count is in the key."""
    table = ctx.read(STANDARDS, "")
    memo = cast(dict[StandardQuery, StandardSet | None], ctx.uow.notes.setdefault("standard_memo", {}))
    key = (len(table), kind, on, programme, occupation, certificate_type, any_certificate)
    if key not in memo:
        memo[key] = _standard(table, kind, on, programme, occupation, certificate_type, any_certificate)
    return memo[key]


def _standard(table: list[StandardSet], kind: str, on: str, programme: str | None, occupation: str | None,
              certificate_type: str | None, any_certificate: bool) -> StandardSet | None:  # fmt: skip
    best: Rank | None = None
    found = None
    for s in table:
        if s["kind"] != kind or s["effective_from"] > on or ((to := s.get("effective_to")) and to < on):
            continue
        if s.get("programme") not in (None, programme) or s.get("occupation") not in (None, occupation):
            continue
        if not any_certificate and s.get("certificate_type") not in (None, certificate_type):
            continue
        rank: Rank
        if any_certificate:
            rank = (s["amount_fen"], s.get("occupation") is not None, s["effective_from"], *_latest(s))
        else:
            rank = (s.get("occupation") is not None, s.get("certificate_type") is not None,
                    s.get("programme") is not None, s["effective_from"], *_latest(s))  # fmt: skip
        if best is None or rank > best:
            best, found = rank, s
    return found


def _latest(s: StandardSet) -> tuple[int | str | dt.datetime, ...]:
    """"Then the latest" of two equal standards: DESIGN §3's (at, actor, nonce), never seq. The
    trace reads them from the standards' envelopes (pj_standards keeps none); without them, by seq."""
    if "at" in s and "actor" in s and "nonce" in s:
        return signed_order(s["at"], s["actor"], s["nonce"])
    return (s["seq"],)
