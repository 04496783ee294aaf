"""Triggers and reads: the subjects an event touches.

A rule's ``on`` (event type → trigger) names the events about its own subject; a trigger is
``Callable[[Ctx], Iterator[Subject]]``. What a rule reads beyond its subject — a labourer's
household, the standards in force, a cited certificate — is a :class:`.engine.Read` declared here
once (the events that change it, and which entity they change), and the rule's ``reads`` map each
to a fan-out (the rule's subjects that read that entity). The engine derives the re-judgements from
both, so a late correction, standard or certificate re-judges exactly the subjects that read it.
The engine judges the rule for those subjects only, so a rule's cost follows the events that concern
it. The builders here are shared by the families; a trigger only one family uses lives beside its rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from projections import tables as T
from projections.anomalies.engine import SUBJECTS, Ctx, Read, Subject, SubjectKind, Trigger
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

CLAIM_DECIDED = ("ClaimApproved", "ClaimRejected", "ClaimWithdrawn")
MONEY = (*CLAIM_DECIDED, "PaymentDisbursed", "PaymentReturned")
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


def on_money(trigger: Trigger, types: Iterable[str] = MONEY) -> dict[str, Trigger]:
    """``trigger`` on every event that moves a claim's money (or on ``types`` of them)."""
    return dict.fromkeys(types, trigger)


def on_liveness(trigger: Trigger) -> dict[str, Trigger]:
    """The decisions that can make a claim live or not. An approval only can if the claim was
    rejected or withdrawn before (a later-dated approval revives it)."""

    def revived(ctx: Ctx) -> Iterator[Subject]:
        claim = ctx.claim(claim_id_of(ctx))
        if claim is not None and (claim["rejected_seq"] is not None or claim["withdrawn_seq"] is not None):
            yield from trigger(ctx)

    return {"ClaimRejected": trigger, "ClaimWithdrawn": trigger, "ClaimApproved": revived}


# --- what rules read beyond their subject (engine.Read) ------------------------------------------------
def _named(name: str, *, when: str | None = None) -> Callable[[Ctx], Iterator[str]]:
    """The id the body's ``name`` field gives (if the body carries ``when``, when given)."""

    def changed(ctx: Ctx) -> Iterator[str]:
        if when is None or ctx.body.get(when) is not None:
            yield str(ctx.body[name])

    return changed


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

