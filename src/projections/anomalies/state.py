"""The rules' indexes, kept up by every event before the rules look (``pj_rule_state``).

The base read models answer "the row with this key"; rules also ask "which claims cite this
class", "where was this labourer on this day", "what did this day's attendance list before it
was recorded again". Those answers live here, in one JSON value per subject keyed by primary
key, so each is one prefetched lookup. Spaces:

=============  ==========================================================================
``class``      ``claims`` (ids), ``insp`` (inspection_id → [seq, actor, method, date,
               verdict]), ``certs``, ``emps`` (order-training employments), ``roster``
               (active labourer → enrolment seq), ``enrolled_on`` (labourer → latest enrolment date),
               ``out`` (withdrawn labourer → [date, seq]; by business date, whatever the arrival),
               ``att`` (labourer → days attended), ``entries`` (date → seqs of enrolments and
               attendance dated that day), ``days`` (attendance dates), ``tp`` (Σ theory,
               Σ practical over the current class-days)
``cday``       ``class|date`` → [seq, labourers, Σ theory, Σ practical, hours, at, actor, nonce] of the
               current record: the latest by (at, actor, nonce), whatever the arrival (DESIGN §3
               "replaces"; hours: the most theory + practical of a line, as RULES.md defines)
``laborer``    ``att`` (class → the sorted dates they are in its attendance), ``classes`` (class →
               [first enrolment seq,
               institution, start year]), ``claims``, ``certs`` (no → class), ``denials``,
               ``accounts`` (payee accounts of living-allowance payments for them)
``claim``      ``lines`` ([labourer, amount, certificate, employment]), ``signed`` ([at, actor, nonce]), ``payments``,
               ``approvals`` ([date, seq]), ``denied`` (its labourers a visit found denying)
``certificate`` ``cites`` ([claim, kind, labourer])
``employment`` ``claims`` (employer claims citing it), ``months`` (payroll month → seq)
``account``    ``pays`` (payment → [labourer, seq, value date, at, actor, nonce]) for living-allowance payments
``fund``       ``moves`` (allocation and adjustment seqs), ``allocs`` (allocation seqs), ``pays`` (its
               payments' and returns' seqs), ``payments`` (its payments' ids)
``payment``    ``recons`` (``actor:YYYY-MM`` of the reconciliations whose exceptions name it)
``reconciliation`` ``actor:YYYY-MM`` → ``recons``: every ``ReconciliationRecorded`` of that bureau
               and month ([id, at, seq, funds, payment → statuses, status → [n, fen], nonce])
``fp``         id_fingerprint → [[labourer, date, seq, at, actor, nonce]]
``standards``  "" → every SubsidyStandardSet body with its seq
``kindclaims`` ``kind|YYYY-MM`` → the claims of that kind claimed in that month; ``kind`` →
               those months (what a standard recorded late may govern)
``due``        YYYY-MM → {date: [claims]}: when an approved claim turns stale
``pending``    anomaly id → dispositions recorded before the flag was raised
=============  ==========================================================================

Every subject's value also holds ``sup`` (see :mod:`projections.anomalies.engine`). Rows are keyed
``"space/id"``. Each space is a typed :class:`Space` below (its value a ``TypedDict``); a positional
record kept inside a value (a JSON array, so the stored JSON stays as it always was) is read
through the ``NamedTuple`` named after what it is — :class:`ClassDay`, :class:`InspectionRef`,
:class:`ClaimLine`, … — by :mod:`projections.anomalies.reads`; nothing reads a record by position. Composite-key read models (trainees, class-days, payroll) are not looked up here:
what the rules need of them is kept above.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from typing import NamedTuple, NotRequired, TypedDict, TypeVar, cast

import sqlalchemy as sa

from ledger.domain.schema import parse_rfc3339
from projections import tables as T
from projections.anomalies import tables as A
from projections.anomalies.engine import Ctx, Record, Space, SubjectState, add_days
from projections.events import LeafEvent
from projections.uow import Key


# --- the records kept inside the values (stored as JSON arrays, in this field order) ------------------
class ClassDay(NamedTuple):
    """``cday``: a class-day's current attendance record."""

    seq: int
    laborers: list[str]  # sorted, once each
    theory: int  # Σ theory hours of its lines
    practical: int  # Σ practical hours
    hours: int  # the most theory + practical of one line (RULES.md's class-hours of the day)
    at: str  # the record's envelope: DESIGN §3's tie-break after the business date (see reads.in_order)
    actor: str
    nonce: str


class InspectionRef(NamedTuple):
    """``class.insp``: an inspection naming the class (stored without its id, the key)."""

    inspection_id: str
    seq: int
    actor: str
    method: str  # site_visit | spot_check | questionnaire | phone_visit
    date: str
    verdict: str  # pass | fail
    at: str  # the envelope's at and nonce: with actor, DESIGN §3's tie-break of one date (reads.in_order)
    nonce: str


class Withdrawal(NamedTuple):
    """``class.out``: a labourer's latest move in the class was a withdrawal."""

    date: str
    seq: int
    at: str  # the envelope's at, actor and nonce: DESIGN §3's tie-break (see reads.in_order)
    actor: str
    nonce: str


class Enrolment(NamedTuple):
    """``laborer.classes``: the labourer's first enrolment in a class."""

    seq: int
    institution: str
    year: int  # the class's planned start year


class ClaimLine(NamedTuple):
    """``claim.lines``: a line as claimed (or as it stands once approved: :func:`.reads.standing_lines`)."""

    laborer_id: str
    amount_fen: int
    certificate_no: str | None
    employment_id: str | None


class Approval(NamedTuple):
    """``claim.approvals``: a ``ClaimApproved`` of the claim."""

    date: str
    seq: int


class Citation(NamedTuple):
    """``certificate.cites``: a claim line citing the certificate."""

    claim_id: str
    kind: str
    laborer_id: str


class AccountPayment(NamedTuple):
    """``account.pays``: a living-allowance payment to the account, and whose it was."""

    laborer_id: str
    seq: int
    date: str  # its value date, then its envelope's at, actor and nonce: DESIGN §3's order (reads.in_order)
    at: str
    actor: str
    nonce: str


class Registration(NamedTuple):
    """``fp``: a labourer registered with the fingerprint."""

    laborer_id: str
    date: str
    seq: int
    at: str  # the envelope's at, actor and nonce: "the later" of one date by DESIGN §3 (reads.in_order)
    actor: str
    nonce: str


class Signed(NamedTuple):
    """``claim.signed``: the claim's envelope, what DESIGN §3 breaks a tie of its business date by."""

    at: str
    actor: str
    nonce: str


class ReconRef(NamedTuple):
    """``reconciliation.recons``: a ``ReconciliationRecorded`` of the bureau and month, as the rules need it."""

    reconciliation_id: str
    at: str  # the envelope's ("latest" is by at, then nonce: one bureau signs them all; DESIGN §3)
    seq: int
    funds: list[str] | None  # sorted; None: every fund of the bureau
    listed: dict[str, list[str]]  # payment_id → the statuses its exceptions give it
    tally: dict[str, list[int]]  # status → [exceptions, Σ amount_fen] over the exceptions listed
    nonce: str


class StandardSet(TypedDict):
    """``standards``: a ``SubsidyStandardSet`` body (EVENTS.md) with its seq."""

    standard_id: str
    kind: str
    programme: NotRequired[str | None]
    certificate_type: NotRequired[str | None]
    occupation: NotRequired[str | None]
    amount_fen: int
    per: str  # trainee | day
    effective_from: str
    effective_to: NotRequired[str | None]
    seq: int
    at: NotRequired[str]  # its envelope's at, actor and nonce: "the latest" of equals (DESIGN §3)
    actor: NotRequired[str]
    nonce: NotRequired[str]


# --- the values, space by space ----------------------------------------------------------------------
class ClassState(SubjectState, total=False):
    claims: list[str]
    insp: dict[str, Record]  # inspection_id → InspectionRef without its id
    certs: list[str]
    emps: list[str]
    roster: dict[str, int]  # active labourer → enrolment seq
    enrolled_on: dict[str, str]  # labourer → the latest business date they were enrolled on
    out: dict[str, Record]  # labourer → Withdrawal
    att: dict[str, int]  # labourer → days attended
    entries: dict[str, list[int]]  # date → seqs of enrolments and attendance dated that day
    days: list[str]
    tp: list[int]  # [Σ theory, Σ practical]


class LaborerState(SubjectState, total=False):
    att: dict[str, list[str]]  # class → sorted dates
    classes: dict[str, Record]  # class → Enrolment
    claims: list[str]
    certs: dict[str, str]  # certificate_no → class
    denials: list[int]
    accounts: list[str]  # payee accounts of living-allowance payments for them (NET-SHARED-ACCOUNT)


class ClaimState(SubjectState, total=False):
    lines: list[Record]  # ClaimLine
    signed: Record  # Signed: its envelope's at, actor and nonce
    payments: list[str]
    approvals: list[Record]  # Approval
    denied: list[str]


class CertificateState(SubjectState, total=False):
    cites: list[Record]  # Citation


class EmploymentState(SubjectState, total=False):
    claims: list[str]
    months: dict[str, int]  # payroll month → seq


class AccountState(SubjectState, total=False):
    pays: dict[str, Record]  # payment → AccountPayment


class FundState(SubjectState, total=False):
    moves: list[int]
    allocs: list[int]  # seqs of its allocations (what FIN-FUND-MISMATCH cites of the fund)
    payments: list[str]  # its payments' ids (re-judged by FIN-FUND-MISMATCH when an allocation arrives)
    pays: list[int]  # seqs of its payments and of their returns (FIN-FUND-OVERDRAWN's evidence)


class PaymentState(SubjectState, total=False):
    recons: list[str]  # "actor:YYYY-MM" of reconciliations whose exceptions name the payment


class ReconciliationState(SubjectState, total=False):
    recons: list[Record]  # ReconRef, in log order


class ClockState(TypedDict, total=False):
    stale: str  # the clock TIME-STALE-CLAIM last looked at


CLASSES = Space("class", ClassState)
CLASS_DAYS = Space[Record]("cday", list)  # "class_id|date" → ClassDay
LABORERS = Space("laborer", LaborerState)
CLAIMS = Space("claim", ClaimState)
CERTIFICATES = Space("certificate", CertificateState)
EMPLOYMENTS = Space("employment", EmploymentState)
ACCOUNTS = Space("account", AccountState)
FUNDS = Space("fund", FundState)
PAYMENTS = Space("payment", PaymentState)
RECONCILIATIONS = Space("reconciliation", ReconciliationState)  # "actor:YYYY-MM"
FINGERPRINTS = Space[list[Record]]("fp", list)  # id_fingerprint → [Registration]
STANDARDS = Space[list[StandardSet]]("standards", list)  # "" → every standard
KIND_CLAIMS = Space[list[str]]("kindclaims", list)  # "kind|YYYY-MM" → claims; "kind" → the months
DUE = Space[dict[str, list[str]]]("due", dict)  # YYYY-MM → {date: [claims]}; "months" → {"months": [YYYY-MM]}
META = Space("meta", ClockState)  # "clock"

Item = TypeVar("Item")


def _add(items: list[Item], item: Item) -> None:
    if item not in items:
        items.append(item)


# --- upkeep per event type ---------------------------------------------------------------------------
def laborer_registered(ctx: Ctx) -> None:
    b = ctx.body
    registered = Registration(b["laborer_id"], ctx.ev.business_date, ctx.seq, *envelope_order(ctx))
    ctx.keep(FINGERPRINTS, b["id_fingerprint"]).append(list(registered))


def standard_set(ctx: Ctx) -> None:
    at, actor, nonce = envelope_order(ctx)
    ctx.keep(STANDARDS, "").append(cast(StandardSet, dict(ctx.body, seq=ctx.seq, at=at, actor=actor, nonce=nonce)))


def trainee_enrolled(ctx: Ctx) -> None:
    class_id, laborer_id = ctx.body["class_id"], ctx.body["laborer_id"]
    klass = ctx.keep(CLASSES, class_id)
    date = ctx.ev.business_date
    since = klass.setdefault("enrolled_on", {})
    since[laborer_id] = max(since.get(laborer_id, date), date)
    out = klass.setdefault("out", {})
    # by business date, not arrival (DESIGN §3): a withdrawal dated on or after this enrolment stands
    if laborer_id not in out or Withdrawal._make(out[laborer_id]).date < date:
        klass.setdefault("roster", {})[laborer_id] = ctx.seq
        out.pop(laborer_id, None)
    klass.setdefault("entries", {}).setdefault(ctx.ev.business_date, []).append(ctx.seq)
    row = ctx.klass(class_id)
    mine = ctx.keep(LABORERS, laborer_id).setdefault("classes", {})
    if class_id not in mine and row is not None:
        mine[class_id] = list(Enrolment(ctx.seq, row["institution"], int(row["planned_start"][:4])))


def envelope_order(ctx: Ctx) -> tuple[str, str, str]:
    """The event's at, actor and nonce: what DESIGN §3 breaks a business-date tie by (never seq)."""
    return ctx.ev.envelope["at"], ctx.ev.actor, ctx.ev.envelope["nonce"]


def signed_order(at: str, actor: str, nonce: str) -> tuple[dt.datetime, str, str]:
    """DESIGN §3's tie-break of one business date: ``at`` as an instant, then actor and nonce."""
    return parse_rfc3339(at), actor, nonce


def trainee_withdrawn(ctx: Ctx) -> None:
    klass = ctx.keep(CLASSES, ctx.body["class_id"])
    laborer_id, date = ctx.body["laborer_id"], ctx.ev.business_date
    if klass.get("enrolled_on", {}).get(laborer_id, date) > date:
        return  # re-enrolled on a later date (the enrolment arrived first): the withdrawal is superseded
    klass.setdefault("roster", {}).pop(laborer_id, None)
    klass.setdefault("out", {})[laborer_id] = list(Withdrawal(date, ctx.seq, *envelope_order(ctx)))


def attendance_recorded(ctx: Ctx) -> None:
    """Keep the day's list; tell the rules who joined and who left it (a day recorded again).

    A day recorded again is replaced by the record signed later (DESIGN §3: by ``at``, then actor and
    nonce), whatever the arrival: an older record arriving late is an entry of the day, not its list."""
    b = ctx.body
    class_id, date = b["class_id"], b["date"]
    order = envelope_order(ctx)
    held = ctx.state(CLASS_DAYS, f"{class_id}|{date}")
    if held and signed_order(*order) < signed_order(*ClassDay._make(held)[5:]):
        ctx.keep(CLASSES, class_id).setdefault("entries", {}).setdefault(date, []).append(ctx.seq)
        return
    trainees = b["trainees"]
    names = sorted({t["laborer_id"] for t in trainees})
    theory = sum(t["theory_hours"] for t in trainees)
    practical = sum(t["practical_hours"] for t in trainees)
    hours = max((t["theory_hours"] + t["practical_hours"] for t in trainees), default=0)
    day = ctx.keep(CLASS_DAYS, f"{class_id}|{date}")
    before = ClassDay._make(day) if day else None
    old = list(before.laborers) if before else []
    old_tp = (before.theory, before.practical) if before else (0, 0)
    day[:] = ClassDay(ctx.seq, names, theory, practical, hours, *order)
    klass = ctx.keep(CLASSES, class_id)
    attended = klass.setdefault("att", {})
    if old:
        for laborer_id in set(names) - set(old):
            attended[laborer_id] = attended.get(laborer_id, 0) + 1
        for laborer_id in set(old) - set(names):
            attended[laborer_id] -= 1
    else:  # the day's first record (the common case): everyone listed joins it
        for laborer_id in names:
            attended[laborer_id] = attended.get(laborer_id, 0) + 1
    klass.setdefault("entries", {}).setdefault(date, []).append(ctx.seq)
    days = klass.setdefault("days", [])
    if not days or days[-1] < date:
        days.append(date)  # a chronological log: the newest day (same list as inserting and sorting)
    elif date not in days:
        days.append(date)
        days.sort()
    tp = klass.setdefault("tp", [0, 0])
    tp[0] += theory - old_tp[0]
    tp[1] += practical - old_tp[1]
    left = sorted(set(old) - set(names)) if old else []
    # ctx.keep(LABORERS, laborer_id) for each, with the rows held read straight from the unit of work (the
    # hot path: a class-day's 45 labourers); a row not held takes ctx.keep's own path
    held_rows, _complete = ctx.uow.rows(A.state)
    changed = ctx.uow.dirty(A.state)
    for laborer_id in names:
        k = (f"{LABORERS.name}/{laborer_id}",)
        row = held_rows.get(k)
        if row is None:
            value = ctx.keep(LABORERS, laborer_id)
        else:
            changed[k] = row
            value = row["value"]
        dates = value.setdefault("att", {}).setdefault(class_id, [])
        if not dates or dates[-1] < date:
            dates.append(date)
        else:
            at = bisect_left(dates, date)
            if dates[at] != date:
                dates.insert(at, date)
    for laborer_id in left:
        dates = ctx.keep(LABORERS, laborer_id).setdefault("att", {}).get(class_id, [])
        if date in dates:
            dates.remove(date)
    ctx.day_dropped = left
    ctx.day_listed = names


def inspection_recorded(ctx: Ctx) -> None:
    b = ctx.body
    class_id = class_of_inspection(ctx.ev)
    if class_id is not None:
        at, actor, nonce = envelope_order(ctx)
        ref = InspectionRef(b["inspection_id"], ctx.seq, actor, b["method"], b["date"], b["verdict"], at, nonce)
        ctx.keep(CLASSES, class_id).setdefault("insp", {})[ref.inspection_id] = list(ref[1:])
    for laborer_id in denied(ctx.ev):
        _add(ctx.keep(LABORERS, laborer_id).setdefault("denials", []), ctx.seq)
        for claim_id in ctx.read(LABORERS, laborer_id).get("claims", []):
            _add(ctx.keep(CLAIMS, claim_id).setdefault("denied", []), laborer_id)


DENIALS = ("attendance_denied", "payment_denied")


def denied(ev: LeafEvent) -> list[str]:
    """Labourers an ``InspectionRecorded`` phone visit or questionnaire found denying attendance or payment."""
    body = ev.body
    if body["method"] not in ("phone_visit", "questionnaire"):
        return []
    out: list[str] = []
    for finding in body["findings"]:
        if finding.get("code") in DENIALS:
            who = finding.get("laborer_id") or (body["subject_id"] if body["subject_kind"] == "laborer" else None)
            if who is not None and who not in out:
                out.append(who)
    return out


def class_of_inspection(ev: LeafEvent) -> str | None:
    """The class an ``InspectionRecorded`` names, if any."""
    body = ev.body
    found: str | None = body.get("class_id") or (body["subject_id"] if body["subject_kind"] == "class" else None)
    return found


def certificate_issued(ctx: Ctx) -> None:
    b = ctx.body
    ctx.keep(LABORERS, b["laborer_id"]).setdefault("certs", {})[b["certificate_no"]] = b["class_id"]
    _add(ctx.keep(CLASSES, b["class_id"]).setdefault("certs", []), b["certificate_no"])


def employment_started(ctx: Ctx) -> None:
    if ctx.body.get("class_id"):
        _add(ctx.keep(CLASSES, ctx.body["class_id"]).setdefault("emps", []), ctx.body["employment_id"])


def subsidy_claimed(ctx: Ctx) -> None:
    b = ctx.body
    claim_id, kind = b["claim_id"], b["kind"]
    lines = [ClaimLine(ln["laborer_id"], ln["amount_fen"], ln.get("certificate_no"), ln.get("employment_id"))
             for ln in b["lines"]]  # fmt: skip
    claim = ctx.keep(CLAIMS, claim_id)
    claim["lines"] = [list(line) for line in lines]
    claim["signed"] = list(Signed(*envelope_order(ctx)))
    month = ctx.ev.business_date[:7]
    of_month: list[str] = ctx.keep(KIND_CLAIMS, f"{kind}|{month}")
    _add(of_month, claim_id)
    months = ctx.read(KIND_CLAIMS, kind)
    if month not in months:
        index: list[str] = ctx.keep(KIND_CLAIMS, kind)
        insort(index, month)
    if b.get("class_id"):
        _add(ctx.keep(CLASSES, b["class_id"]).setdefault("claims", []), claim_id)
    for line in lines:
        mine = ctx.keep(LABORERS, line.laborer_id)
        _add(mine.setdefault("claims", []), claim_id)
        if mine.get("denials"):
            _add(claim.setdefault("denied", []), line.laborer_id)
        if line.certificate_no is not None:
            cites = ctx.keep(CERTIFICATES, line.certificate_no).setdefault("cites", [])
            cited: Record = list(Citation(claim_id, kind, line.laborer_id))
            _add(cites, cited)
        if line.employment_id is not None:
            _add(ctx.keep(EMPLOYMENTS, line.employment_id).setdefault("claims", []), claim_id)


def claim_approved(ctx: Ctx) -> None:
    ctx.keep(CLAIMS, ctx.body["claim_id"]).setdefault("approvals", []).append(list(Approval(ctx.ev.business_date, ctx.seq)))
    claim = ctx.claim(ctx.body["claim_id"])
    if claim is not None and claim["approved_date"] is not None:
        due = add_days(claim["approved_date"], ctx.cfg.stale_claim_days + 1)
        _add(ctx.keep(DUE, due[:7]).setdefault(due, []), claim["claim_id"])
        index = ctx.keep(DUE, "months").setdefault("months", [])
        if due[:7] not in index:
            insort(index, due[:7])


def payment_disbursed(ctx: Ctx) -> None:
    b = ctx.body
    fund = ctx.keep(FUNDS, b["fund_id"])
    fund.setdefault("pays", []).append(ctx.seq)
    fund.setdefault("payments", []).append(b["payment_id"])
    _add(ctx.keep(CLAIMS, b["claim_id"]).setdefault("payments", []), b["payment_id"])
    claim = ctx.claim(b["claim_id"])
    if claim is not None and claim["kind"] == "living_allowance" and claim["sole_laborer_id"] is not None:
        pays = ctx.keep(ACCOUNTS, b["payee_account"]).setdefault("pays", {})
        pays[b["payment_id"]] = list(AccountPayment(claim["sole_laborer_id"], ctx.seq, b["value_date"],
                                                     *envelope_order(ctx)))  # fmt: skip
        if b["payee_account"] not in ctx.read(LABORERS, claim["sole_laborer_id"]).get("accounts", ()):
            ctx.keep(LABORERS, claim["sole_laborer_id"]).setdefault("accounts", []).append(b["payee_account"])


def payroll_recorded(ctx: Ctx) -> None:
    ctx.keep(EMPLOYMENTS, ctx.body["employment_id"]).setdefault("months", {})[ctx.body["month"]] = ctx.seq


def fund_moved(ctx: Ctx) -> None:
    fund = ctx.keep(FUNDS, ctx.body["fund_id"])
    fund.setdefault("moves", []).append(ctx.seq)
    if ctx.ev.type == "FundAllocated":
        fund.setdefault("allocs", []).append(ctx.seq)


def payment_returned(ctx: Ctx) -> None:
    payment = ctx.row(T.payments, ctx.body["payment_id"])
    if payment is not None:
        ctx.keep(FUNDS, payment["fund_id"]).setdefault("pays", []).append(ctx.seq)


def reconciliation_recorded(ctx: Ctx) -> None:
    b = ctx.body
    key = bureau_month(ctx.ev.actor, b["period"])
    listed: dict[str, list[str]] = {}
    tally: dict[str, list[int]] = {}
    for e in b.get("exceptions") or ():
        status = e["status"]
        if e.get("payment_id"):
            _add(listed.setdefault(e["payment_id"], []), status)
        held = tally.setdefault(status, [0, 0])
        held[0] += 1
        held[1] += e["amount_fen"]
    funds = None if b.get("funds") is None else sorted(b["funds"])
    ref = ReconRef(b["reconciliation_id"], ctx.ev.envelope["at"], ctx.seq, funds, listed, tally, ctx.ev.envelope["nonce"])
    ctx.keep(RECONCILIATIONS, key).setdefault("recons", []).append(list(ref))
    for payment_id in listed:
        _add(ctx.keep(PAYMENTS, payment_id).setdefault("recons", []), key)


def bureau_month(actor: str, period: str) -> str:
    """A finance bureau's month: the key of its reconciliations, and FIN-BANK-UNMATCHED's subject."""
    return f"{actor}:{period}"


UPKEEP: dict[str, Callable[[Ctx], None]] = {
    "LaborerRegistered": laborer_registered,
    "SubsidyStandardSet": standard_set,
    "TraineeEnrolled": trainee_enrolled,
    "TraineeWithdrawn": trainee_withdrawn,
    "AttendanceRecorded": attendance_recorded,
    "InspectionRecorded": inspection_recorded,
    "CertificateIssued": certificate_issued,
    "EmploymentStarted": employment_started,
    "SubsidyClaimed": subsidy_claimed,
    "ClaimApproved": claim_approved,
    "PaymentDisbursed": payment_disbursed,
    "PaymentReturned": payment_returned,
    "PayrollRecorded": payroll_recorded,
    "FundAllocated": fund_moved,
    "FundAdjusted": fund_moved,
    "ReconciliationRecorded": reconciliation_recorded,
}


# --- what to load for a batch in a few queries (registry ``reads``) ------------------------------------
def prefetch(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    """The state rows and read-model rows this event's upkeep and rules will look up by key."""
    b = ev.body

    def S(space: str, key: str) -> tuple[sa.Table, Key]:
        return A.state, (f"{space}/{key}",)

    laborers: list[str] = []
    if "laborer_id" in b:
        laborers.append(b["laborer_id"])
    for item in b.get("trainees") or b.get("lines") or ():
        laborers.append(item["laborer_id"])
    laborers += b.get("rejected_laborers", ())
    if ev.type == "InspectionRecorded":
        laborers += denied(ev)
    for laborer_id in dict.fromkeys(laborers):
        yield S("laborer", laborer_id)
        yield T.laborers, (laborer_id,)
    class_id = b.get("class_id")
    if ev.type == "InspectionRecorded":
        class_id = class_of_inspection(ev)
    if class_id:
        yield S("class", class_id)
        yield T.classes, (class_id,)
        if "date" in b:
            yield S("cday", f"{class_id}|{b['date']}")
    for name, space, table in (("claim_id", "claim", T.claims), ("payment_id", "payment", T.payments),
                               ("fund_id", "fund", T.funds), ("employment_id", "employment", T.employments),
                               ("certificate_no", "certificate", T.certificates),
                               ("actor_id", "actor", T.actors), ("key_id", "key", T.keys)):  # fmt: skip
        if b.get(name):
            yield S(space, b[name])
            yield table, (b[name],)
    for line in b.get("lines", ()):
        if line.get("certificate_no"):
            yield S("certificate", line["certificate_no"])
            yield T.certificates, (line["certificate_no"],)
        if line.get("employment_id"):
            yield S("employment", line["employment_id"])
            yield T.employments, (line["employment_id"],)
    if b.get("payee_account"):
        yield S("account", b["payee_account"])
    if ev.type == "LaborerRegistered":
        yield S("fp", b["id_fingerprint"])
    if ev.type == "SubsidyClaimed":
        yield S("kindclaims", b["kind"])
        yield S("kindclaims", f"{b['kind']}|{ev.business_date[:7]}")
    if ev.type == "AnomalyDisposed":
        yield A.anomalies, (b["anomaly_id"],)
    if ev.type == "PaymentDisbursed":
        yield S("reconciliation", bureau_month(ev.actor, b["value_date"][:7]))
    if ev.type == "ReconciliationRecorded":
        yield S("reconciliation", bureau_month(ev.actor, b["period"]))
        for payment_id in dict.fromkeys(e["payment_id"] for e in b.get("exceptions") or () if e.get("payment_id")):
            yield S("payment", payment_id)
            yield T.payments, (payment_id,)
    yield S("standards", "")
    yield S("meta", "clock")
