"""Reads and fan-outs: what a rule reads, and the subjects a change touches (issue 16).

Everything a rule's verdict rests on — a claim's lines, approval and payments, a class's roster,
attendance and inspections, a labourer's identity and household, the standards in force, a cited
certificate, the log clock — is a :class:`.engine.Read` declared here once, with every event type that
changes it and the id of what it changes. A rule names the reads (``reads``: read → fan-out, the rule's
subjects that read the changed entity); no rule lists trigger events, so none can fall out of step with
what it reads. The engine derives the re-judgements from the declarations, so a late correction,
standard, inspection, return or revocation re-judges exactly the subjects that read it, and the rule
only those (its cost follows the events that concern it). A fan-out ``via(trigger)`` finds its subjects
from the event itself (a trigger is ``Callable[[Ctx], Iterator[Subject]]``); the builders here are
shared by the families, and a fan-out only one family uses lives beside its rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from projections import tables as T
from projections.anomalies.engine import SUBJECTS, Ctx, Fanout, Read, Subject, SubjectKind, Trigger
from projections.anomalies.reads import (
    citations,
    claim_laborers,
    claim_lines,
    claims_by_id,
    class_claims,
    class_end,
    is_approved,
    is_paid,
    laborer_claims,
    load_lines,
    stands,
    supports,
)
from projections.anomalies.state import KIND_CLAIMS, LABORERS, STANDARDS, StandardSet
from projections.uow import Row

PAYMENTS = ("PaymentDisbursed", "PaymentReturned")


def claim_id_of(ctx: Ctx) -> str | None:
    """The claim the event is about (a returned payment's too)."""
    if "claim_id" in ctx.body:
        return str(ctx.body["claim_id"])
    if ctx.ev.type == "PaymentReturned":
        payment = ctx.row(T.payments, ctx.body["payment_id"])
        return None if payment is None else str(payment["claim_id"])
    return None


def the(kind: SubjectKind, name: str) -> Trigger:
    """The subject the body's ``name`` field names."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        yield Subject(kind, ctx.body[name])

    return trigger


def of_payment(kind: SubjectKind, column: str) -> Trigger:
    """The subject the event's payment row names in ``column`` (its fund, its payee account)."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        payment = ctx.row(T.payments, ctx.body["payment_id"])
        if payment is not None:
            yield Subject(kind, payment[column])

    return trigger


def the_claim(ctx: Ctx) -> Iterator[Subject]:
    claim_id = claim_id_of(ctx)
    if claim_id is not None:
        yield Subject("claim", claim_id)


def each_line(trigger: Trigger, *, rule: str | None = None, when: Callable[[Row], bool] | None = None) -> Trigger:
    """A claim trigger, judged labourer by labourer: claim + laborer rules settle one line at a
    time, so an event about one labourer (a certificate, a payroll month) costs one line.

    ``when(claim)``: the lines are only worth judging if it holds — or if ``rule`` already holds
    something on the claim, which may now have to be withdrawn."""

    def per_line(ctx: Ctx) -> Iterator[Subject]:
        for s in trigger(ctx):
            claim = ctx.claim(s.id)
            if claim is None or (when is not None and not when(claim) and not supports(ctx, rule, "claim", s.id)):
                continue
            if when is stands and ctx.ev.type in PAYMENTS and is_approved(claim):
                # judged line by line at its approval: a payment only grows the flagged lines' evidence
                held = ctx.read(SUBJECTS["claim"], s.id).get("sup", {}).get(rule, {}) if rule is not None else {}
                for laborer_id in sorted(held):
                    yield Subject("claim", s.id, laborer_id)
                continue
            load_lines(ctx, claim)
            for laborer_id in claim_laborers(ctx, claim):
                yield Subject("claim", s.id, laborer_id)

    return per_line


def claim_if(*kinds: str) -> Trigger:
    """The event's claim, if of one of these kinds."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        claim = ctx.claim(claim_id_of(ctx))
        if claim is not None and claim["kind"] in kinds:
            yield Subject("claim", claim["claim_id"])

    return trigger


def class_of_claim(*kinds: str) -> Trigger:
    """The class of the event's claim (of one of these kinds, or any)."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        claim = ctx.claim(claim_id_of(ctx))
        if claim is not None and claim["class_id"] is not None and (not kinds or claim["kind"] in kinds):
            yield Subject("class", claim["class_id"])

    return trigger


class_of_training_claim = class_of_claim("training")


def laborers_of_claim(ctx: Ctx) -> Iterator[Subject]:
    claim = ctx.claim(claim_id_of(ctx))
    if claim is not None:
        load_lines(ctx, claim)
        for laborer_id in dict.fromkeys(line.laborer_id for line in claim_lines(ctx, claim["claim_id"])):
            yield Subject("laborer", laborer_id)


def laborers_of_training_claim(ctx: Ctx) -> Iterator[Subject]:
    """Labourers of a training claim whose payment changed (or whose paid lines were re-approved)."""
    claim = ctx.claim(claim_id_of(ctx))
    if claim is not None and claim["kind"] == "training" and (ctx.ev.type != "ClaimApproved" or is_paid(claim)):
        yield from laborers_of_claim(ctx)


def claims_of_class(kind: str | None = None) -> Trigger:
    """The claims (of this kind, or any) citing the event's class."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        for claim in class_claims(ctx, ctx.body["class_id"], kind):
            yield Subject("claim", claim["claim_id"])

    return trigger


def claims_of_laborer(*kinds: str) -> Trigger:
    """The labourer's line on each of their claims (of these kinds)."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        for laborer_id in _laborers(ctx):
            for claim in laborer_claims(ctx, laborer_id):
                if not kinds or claim["kind"] in kinds:
                    yield Subject("claim", claim["claim_id"], laborer_id)

    return trigger


def _laborers(ctx: Ctx) -> list[str]:
    b = ctx.body
    if ctx.ev.type == "ClaimIdentityVerified":
        return list(b["rejected_laborers"])
    if ctx.ev.type in ("CertificateIssued", "CertificateRevoked"):
        cert = ctx.row(T.certificates, b["certificate_no"])
        return [] if cert is None else [cert["laborer_id"]]
    return [b["laborer_id"]]


def claims_of_certificate(*kinds: str) -> Trigger:
    """Claims (of these kinds) citing the certificate's class and labourer, or the certificate."""

    def trigger(ctx: Ctx) -> Iterator[Subject]:
        cert = ctx.row(T.certificates, ctx.body["certificate_no"])
        if cert is None:
            return
        for claim in laborer_claims(ctx, cert["laborer_id"]):
            if claim["kind"] in kinds and (claim["class_id"] in (None, cert["class_id"])):
                yield Subject("claim", claim["claim_id"], cert["laborer_id"])

    return trigger


def enrolee(ctx: Ctx) -> Iterator[Subject]:
    """The class, judged for the labourer the enrolment or withdrawal names."""
    yield Subject("class", ctx.body["class_id"], ctx.body["laborer_id"])


def class_entry_date(ctx: Ctx) -> Iterator[Subject]:
    """The class, judged for the business date of the enrolment or attendance."""
    yield Subject("class", ctx.body["class_id"], ctx.ev.business_date)


# --- what rules read beyond their subject (engine.Read) ------------------------------------------------
def _named(name: str, *, when: str | None = None) -> Callable[[Ctx], Iterable[str]]:
    """The id the body's ``name`` field gives (if the body carries ``when``, when given): a tuple, not a
    generator (a million of these per 100k leaves)."""
    if when is None:

        def changed(ctx: Ctx) -> Iterable[str]:
            return (str(ctx.body[name]),)

    else:

        def changed(ctx: Ctx) -> Iterable[str]:
            return (str(ctx.body[name]),) if ctx.body.get(when) is not None else ()

    return changed


def _claim_of_event(ctx: Ctx) -> Iterator[str]:
    """The claim a payment or its return is about."""
    claim_id = claim_id_of(ctx)
    if claim_id is not None:
        yield claim_id


def _identity_decided(ctx: Ctx) -> Iterator[str]:
    """The labourers an identity decision names (a claim's verification: those it rejects)."""
    if ctx.ev.type == "ClaimIdentityVerified":
        yield from ctx.body["rejected_laborers"]
    else:
        yield ctx.body["laborer_id"]


def _clock(ctx: Ctx) -> Iterator[str]:
    if ctx.clock is not None:
        yield ctx.clock


# Each read once, with every event type that changes it: a rule names the reads, never the events.
CLAIM_FILED = Read("claim.filed", "a claim as filed: kind, class, lines, certificates cited, payee",
                   {"SubsidyClaimed": _named("claim_id")})  # fmt: skip
CLAIM_APPROVAL = Read("claim.approval", "a claim's approval: its approved lines and date",
                      {"ClaimApproved": _named("claim_id")})  # fmt: skip
CLAIM_DECISION = Read("claim.decision", "a claim rejected or withdrawn (no longer live)",
                      {"ClaimRejected": _named("claim_id"), "ClaimWithdrawn": _named("claim_id")})  # fmt: skip
CLAIM_PAYMENTS = Read("claim.payments", "a claim's payments and their returns",
                      {"PaymentDisbursed": _claim_of_event, "PaymentReturned": _claim_of_event})  # fmt: skip
PAYMENT = Read("payment", "a payment as disbursed: fund, payee, amount, value date",
               {"PaymentDisbursed": _named("payment_id")})  # fmt: skip
PAYMENT_RETURN = Read("payment.return", "a payment returned", {"PaymentReturned": _named("payment_id")})
FUND_ADJUSTMENTS = Read("fund.adjustments", "a fund's adjustments", {"FundAdjusted": _named("fund_id")})
CLASS_OPENING = Read("class.opening", "a class's opening approval", {"ClassOpeningApproved": _named("class_id")})
CLASS_ROSTER = Read("class.roster", "a class's enrolments and withdrawals",
                    {"TraineeEnrolled": _named("class_id"), "TraineeWithdrawn": _named("class_id")})  # fmt: skip
CLASS_ATTENDANCE = Read("class.attendance", "a class's attendance, day by day (a day recorded again too)",
                        {"AttendanceRecorded": _named("class_id")})  # fmt: skip
CLASS_COMPLETION = Read("class.completion", "a class's completion: end date and completers",
                        {"ClassCompleted": _named("class_id")})  # fmt: skip
CLASS_REVIEW = Read("class.review", "a class's completion review", {"CompletionReviewed": _named("class_id")})
INSPECTION = Read("inspection", "an inspection: its class or labourer, date, method, lists and findings",
                  {"InspectionRecorded": _named("inspection_id")})  # fmt: skip
FINGERPRINT = Read("laborer.fingerprint", "the labourers registered with one ID fingerprint",
                   {"LaborerRegistered": _named("id_fingerprint")})  # fmt: skip
LABORER_FACTS = Read("laborer.facts", "a labourer's corrected facts (birth date, category…)",
                     {"LaborerCorrected": _named("laborer_id")})  # fmt: skip
IDENTITY = Read("laborer.identity", "a labourer's identity decisions", {
    "IdentityConfirmed": _identity_decided, "IdentityRejected": _identity_decided,
    "ClaimIdentityVerified": _identity_decided})  # fmt: skip
PAYROLL = Read("employment.payroll", "an employment's payroll months", {"PayrollRecorded": _named("employment_id")})
RECONCILIATION = Read("reconciliation", "a finance bureau's bank reconciliations of a month",
                      {"ReconciliationRecorded": _named("reconciliation_id")})  # fmt: skip
KEY_REVOCATION = Read("actor.keys", "an actor's key revocations", {"KeyRevoked": _named("actor_id")})
CLOCK = Read("clock", "the log clock (DESIGN §3 \"now\")", {"@clock": _clock})
HOUSEHOLD = Read("laborer.household", "a labourer's household (registered, corrected)", {
    "LaborerRegistered": _named("laborer_id"), "LaborerCorrected": _named("laborer_id", when="household_id")})  # fmt: skip
STANDARDS_IN_FORCE = Read("standards", "the subsidy standards in force",
                          {"SubsidyStandardSet": _named("standard_id")})  # fmt: skip
FUND_ALLOCATIONS = Read("fund.allocations", "a fund's allocations (its purpose, jurisdiction and year)",
                        {"FundAllocated": _named("fund_id")})  # fmt: skip
CERTIFICATE = Read("certificate", "a cited certificate: its type, holder and validity (issued, revoked)", {
    "CertificateIssued": _named("certificate_no"), "CertificateRevoked": _named("certificate_no")})  # fmt: skip


def accounts_of_laborer(ctx: Ctx, laborer_id: str) -> Iterator[Subject]:
    """The payee accounts of the labourer's living-allowance payments."""
    for account in ctx.read(LABORERS, laborer_id).get("accounts", ()):
        yield Subject("account", account)


def _the_standard(ctx: Ctx, standard_id: str) -> StandardSet | None:
    table: list[StandardSet] = ctx.read(STANDARDS, "")
    return next((s for s in reversed(table) if s["standard_id"] == standard_id), None)


def governed_claims(ctx: Ctx, standard_id: str) -> Iterator[Row]:
    """The claims the standard may govern: of its kind, whose class (if the standard names one, of its
    programme and occupation) ends inside the standard's dates (a claim with no class: its date)."""
    std = _the_standard(ctx, standard_id)
    if std is None:
        return
    kind, start, end = std["kind"], std["effective_from"], std.get("effective_to")
    for month in ctx.read(KIND_CLAIMS, kind):
        for claim in claims_by_id(ctx, ctx.read(KIND_CLAIMS, f"{kind}|{month}")):
            klass = ctx.klass(claim["class_id"])
            if klass is not None and any(std.get(f) not in (None, klass[f]) for f in ("programme", "occupation")):
                continue
            on = claim["claimed_date"] if klass is None else class_end(klass)
            if start <= on and (end is None or on <= end):
                yield claim


def lines_governed(ctx: Ctx, standard_id: str) -> Iterator[Subject]:
    """Each line of the claims the standard may govern."""
    for claim in governed_claims(ctx, standard_id):
        load_lines(ctx, claim)
        for laborer_id in claim_laborers(ctx, claim):
            yield Subject("claim", claim["claim_id"], laborer_id)


def classes_governed(ctx: Ctx, standard_id: str) -> Iterator[Subject]:
    """The classes of the training claims the standard may govern."""
    for claim in governed_claims(ctx, standard_id):
        if claim["kind"] == "training" and claim["class_id"] is not None:
            yield Subject("class", claim["class_id"])


def lines_citing(ctx: Ctx, certificate_no: str) -> Iterator[Subject]:
    """The claim lines citing the certificate."""
    for cited in citations(ctx, certificate_no):
        yield Subject("claim", cited.claim_id, cited.laborer_id)


def classes_citing(ctx: Ctx, certificate_no: str) -> Iterator[Subject]:
    """The classes of the training claims citing the certificate."""
    for cited in citations(ctx, certificate_no):
        claim = ctx.claim(cited.claim_id) if cited.kind == "training" else None
        if claim is not None and claim["class_id"] is not None:
            yield Subject("class", claim["class_id"])


# --- fan-outs: a read's change → the rule's subjects ------------------------------------------------------
def via(trigger: Trigger) -> Fanout:
    """The subjects ``trigger`` finds from the event itself (the read's change is the event's subject)."""

    def fanout(ctx: Ctx, _ident: str) -> Iterable[Subject]:
        return trigger(ctx)

    return fanout


def itself(kind: SubjectKind) -> Fanout:
    """The changed entity is the subject (a class, a claim, a payment, a fund…)."""

    def fanout(ctx: Ctx, ident: str) -> Iterable[Subject]:
        return (Subject(kind, ident),)

    return fanout


def money(fanout: Fanout, *, decisions: bool = True) -> dict[Read, Fanout]:
    """A claim's approval, rejection or withdrawal, payments and returns: a rule citing a claim's money
    (``reads.money_evidence``: the approval while it stands) is re-judged when a decision overrides
    the approval, so its evidence drops it whichever arrives first (RULES.md). ``decisions`` off: a
    rule that neither cites the approval nor asks whether the claim is live."""
    return {CLAIM_APPROVAL: fanout, **({CLAIM_DECISION: fanout} if decisions else {}), CLAIM_PAYMENTS: fanout}


def liveness(fanout: Fanout) -> dict[Read, Fanout]:
    """Whether a claim is live: rejected or withdrawn, or revived by a later-dated approval (an approval
    of a claim never rejected or withdrawn changes nothing here)."""

    def revived(ctx: Ctx, ident: str) -> Iterator[Subject]:
        claim = ctx.claim(ident)
        if claim is not None and (claim["rejected_seq"] is not None or claim["withdrawn_seq"] is not None):
            yield from fanout(ctx, ident)

    return {CLAIM_DECISION: fanout, CLAIM_APPROVAL: revived}
