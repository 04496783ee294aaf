"""The decision to record or refuse one envelope (EVENTS.md, "Refused").

:class:`Decider` holds the refusal list of EVENTS.md. Its ``check_*`` steps raise a specific
:class:`~ledger.errors.Refused`; anything they do not refuse is recorded, because policy
breaches are for the anomaly rules to flag, not for the ledger to hide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, overload

from ledger.domain import schema as s
from ledger.domain.aggregates import (
    CREATES,
    OPENS_OR_ADDS,
    SUBJECT,
    Actor,
    Certificate,
    Claim,
    Employment,
    Fund,
    Laborer,
    LedgerAggregate,
    Payment,
    TrainingClass,
)
from ledger.domain.envelope import Envelope, key_id_of
from ledger.domain.policy import CERTIFICATE_ISSUER, CLAIMANT, SIGNERS, Jurisdictions
from ledger.encoding.b64 import b64decode_strict
from ledger.errors import (
    AlreadyExists,
    GenesisInvalid,
    InvalidField,
    KeyNotActors,
    KeyNotValid,
    OutsideJurisdiction,
    RoleNotAllowed,
    UnknownActor,
    UnknownKey,
    UnknownReference,
)

_A = TypeVar("_A", bound=LedgerAggregate)


class Lookup(Protocol):
    """The aggregate of a subject, by class and public id (blank, ``exists`` False, if none)."""

    def __call__(self, cls: type[_A], ident: str, /) -> _A: ...


# The body fields the shared checks read: every event about a labourer, class, employment or claim names it.
class _OfLaborer(Protocol):
    @property
    def laborer_id(self) -> str: ...


class _OfClass(Protocol):
    @property
    def class_id(self) -> str: ...


class _OfEmployment(Protocol):
    @property
    def employment_id(self) -> str: ...


class _OfClaim(Protocol):
    @property
    def claim_id(self) -> str: ...


class Decider:
    """Decides, for one envelope at one log position, whether it is recorded or refused.

    ``lookup(cls, id)`` returns the aggregate (possibly blank, ``exists`` False); ``key_owner``
    maps a key id to the actor that registered it; ``verify`` checks the signature with the
    given raw public key (the application may have verified in bulk beforehand).
    """

    def __init__(
        self,
        lookup: Lookup,
        key_owner: Callable[[str], str | None],
        jurisdictions: Jurisdictions,
        verify: Callable[[Envelope, bytes], None],
    ):
        self.lookup = lookup
        self.key_owner = key_owner
        self.jurisdictions = jurisdictions
        self.verify = verify

    # 1. attribution -------------------------------------------------------------------------
    def check_genesis(self, env: Envelope) -> None:
        body = env.body
        if env.type != "ActorRegistered" or not isinstance(body, s.ActorRegistered):
            raise GenesisInvalid("leaf 0 must be the first admin's ActorRegistered")
        if body.role != "admin" or body.actor_id != env.actor:
            raise GenesisInvalid("leaf 0 must register an admin, signed by that admin itself")
        raw = b64decode_strict(body.public_key)
        if key_id_of(raw) != env.key_id:
            raise GenesisInvalid("leaf 0 must be signed by the key it registers")
        if body.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {body.jurisdiction} is not a configured jurisdiction")
        self.verify(env, raw)

    def check_signer(self, env: Envelope, seq: int) -> Actor:
        actor = self.lookup(Actor, env.actor)
        if not actor.exists:
            raise UnknownActor(f"unknown actor {env.actor!r}")
        period = actor.key(env.key_id)
        if period is None:
            owner = self.key_owner(env.key_id)
            if owner is not None and owner != env.actor:
                raise KeyNotActors(f"key {env.key_id} belongs to {owner!r}, not {env.actor!r}")
            raise UnknownKey(f"unknown key {env.key_id} for actor {env.actor!r}")
        if not period.valid_at(seq, env.at):
            raise KeyNotValid(
                f"key {env.key_id} was rotated or revoked at leaf {period.until_seq}"
                f" (effective {period.until_at}); it cannot sign this envelope"
            )
        self.verify(env, period.raw)
        if actor.role not in SIGNERS[env.type] and not (
            "*self*" in SIGNERS[env.type] and getattr(env.body, "actor_id", None) == env.actor
        ):
            raise RoleNotAllowed(f"role {actor.role} may not sign {env.type}")
        return actor

    def check_within(self, actor: Actor, code: str | None, what: str) -> None:
        if code is None:
            return
        if actor.jurisdiction is None or not self.jurisdictions.covers(actor.jurisdiction, code):
            raise OutsideJurisdiction(
                f"actor {actor.name} ({actor.jurisdiction}) acts outside its jurisdiction:"
                f" {what} is in {code}"
            )

    # 2. references ------------------------------------------------------------------------------
    @overload
    def existing(self, cls: type[_A], ident: str, field: str) -> _A: ...
    @overload
    def existing(self, cls: type[_A], ident: str | None, field: str) -> _A | None: ...
    def existing(self, cls: type[_A], ident: str | None, field: str) -> _A | None:
        if ident is None:
            return None
        agg = self.lookup(cls, ident)
        if not agg.exists:
            raise UnknownReference(f"body.{field}: no {cls.KIND} {ident!r}")
        return agg

    def laborers(self, ids: list[str], field: str) -> None:
        for ident in dict.fromkeys(ids):
            self.existing(Laborer, ident, field)

    # 3. the decision ----------------------------------------------------------------------------
    def decide(self, env: Envelope, seq: int) -> LedgerAggregate:
        """Return the aggregate that records ``env`` at ``seq``, or raise a refusal."""
        if seq == 0:
            self.check_genesis(env)
            return self.lookup(Actor, env.actor)
        actor = self.check_signer(env, seq)
        cls, field = SUBJECT[env.type]
        ident = getattr(env.body, field)
        subject = self.lookup(cls, ident)
        if env.type in CREATES and subject.exists:
            raise AlreadyExists(f"body.{field}: {cls.KIND} {ident!r} already exists")
        if env.type not in CREATES and env.type not in OPENS_OR_ADDS and not subject.exists:
            raise UnknownReference(f"body.{field}: no {cls.KIND} {ident!r}")
        check = getattr(self, "check_" + env.type)
        check(env, env.body, actor, subject)
        return subject

    # registry and standards
    def check_ActorRegistered(self, env: Envelope, b: s.ActorRegistered, actor: Actor, _: LedgerAggregate) -> None:
        if b.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {b.jurisdiction} is not a configured jurisdiction")
        self.check_within(actor, b.jurisdiction, f"actor {b.actor_id}")

    def check_KeyRotated(self, env: Envelope, b: s.KeyRotated, actor: Actor, subject: Actor) -> None:
        if actor.role != "admin" and subject.current_key_id != env.key_id:
            raise KeyNotValid("an actor rotates its own key only with its current key")

    def check_KeyRevoked(self, env: Envelope, b: s.KeyRevoked, actor: Actor, subject: Actor) -> None:
        if subject.key(b.key_id) is None:
            raise UnknownKey(f"body.key_id: {b.key_id} is not a key of {b.actor_id!r}")

    def check_SubsidyStandardSet(self, *_: object) -> None:
        return None

    # funds
    def check_FundAllocated(self, env: Envelope, b: s.FundAllocated, actor: Actor, fund: Fund) -> None:
        if b.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {b.jurisdiction} is not a configured jurisdiction")
        if fund.exists and (fund.jurisdiction, fund.purpose) != (b.jurisdiction, b.purpose):
            raise AlreadyExists(
                f"body.fund_id: fund {b.fund_id!r} already exists for {fund.jurisdiction}/{fund.purpose}"
            )
        self.check_within(actor, b.jurisdiction, f"fund {b.fund_id}")

    def check_FundAdjusted(self, env: Envelope, b: s.FundAdjusted, actor: Actor, fund: Fund) -> None:
        self.check_within(actor, fund.jurisdiction, f"fund {b.fund_id}")

    # labourers
    def check_LaborerRegistered(self, env: Envelope, b: s.LaborerRegistered, actor: Actor, _: LedgerAggregate) -> None:
        if b.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {b.jurisdiction} is not a configured jurisdiction")
        self.check_within(actor, b.jurisdiction, f"labourer {b.laborer_id}")

    def _laborer_event(self, env: Envelope, b: _OfLaborer, actor: Actor, laborer: Laborer) -> None:
        self.check_within(actor, laborer.jurisdiction, f"labourer {b.laborer_id}")

    check_LaborerCorrected = check_IdentityConfirmed = check_IdentityRejected = _laborer_event
    check_PersonalDataErased = _laborer_event

    def check_PersonalDataAccessed(
        self, env: Envelope, b: s.PersonalDataAccessed, actor: Actor, laborer: Laborer
    ) -> None:
        if actor.role == "township" and laborer.signer != env.actor:
            raise RoleNotAllowed("a township reads only the personal data of its own registrations")
        self._laborer_event(env, b, actor, laborer)

    # classes
    def check_ClassOpeningRequested(
        self, env: Envelope, b: s.ClassOpeningRequested, actor: Actor, _: LedgerAggregate
    ) -> None:
        if b.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {b.jurisdiction} is not a configured jurisdiction")
        self.check_within(actor, b.jurisdiction, f"class {b.class_id}")

    def _class_event(self, env: Envelope, b: _OfClass, actor: Actor, klass: TrainingClass) -> None:
        self.check_within(actor, klass.jurisdiction, f"class {b.class_id}")
        if hasattr(b, "laborer_id"):
            self.existing(Laborer, b.laborer_id, "laborer_id")

    check_ClassOpeningApproved = check_ClassOpeningRejected = check_ClassCancelled = _class_event
    check_TraineeEnrolled = check_TraineeWithdrawn = check_CompletionReviewed = _class_event
    check_AppraisalFailed = _class_event

    def check_AttendanceRecorded(
        self, env: Envelope, b: s.AttendanceRecorded, actor: Actor, klass: TrainingClass
    ) -> None:
        self._class_event(env, b, actor, klass)
        self.laborers([t.laborer_id for t in b.trainees], "trainees")

    def check_ClassCompleted(
        self, env: Envelope, b: s.ClassCompleted, actor: Actor, klass: TrainingClass
    ) -> None:
        self._class_event(env, b, actor, klass)
        self.laborers(b.completers, "completers")

    # inspections
    def check_InspectionRecorded(self, env: Envelope, b: s.InspectionRecorded, actor: Actor, _: LedgerAggregate) -> None:
        field = "subject_id"
        if b.subject_kind == "class":
            code = self.existing(TrainingClass, b.subject_id, field).jurisdiction
        elif b.subject_kind == "laborer":
            code = self.existing(Laborer, b.subject_id, field).jurisdiction
        elif b.subject_kind == "claim":
            code = self.claim_code(self.existing(Claim, b.subject_id, field))
        else:
            employer = self.existing(Actor, b.subject_id, field)
            if employer.role != "employer":
                raise UnknownReference(f"body.subject_id: no employer {b.subject_id!r}")
            code = employer.jurisdiction
        self.existing(TrainingClass, b.class_id, "class_id")
        self.laborers(
            b.present + b.absent + [f.laborer_id for f in b.findings if f.laborer_id], "present"
        )
        self.check_within(actor, code, f"{b.subject_kind} {b.subject_id}")

    # certificates
    def check_CertificateIssued(self, env: Envelope, b: s.CertificateIssued, actor: Actor, _: LedgerAggregate) -> None:
        if CERTIFICATE_ISSUER[b.certificate_type] != actor.role:
            raise RoleNotAllowed(f"role {actor.role} may not issue a {b.certificate_type} certificate")
        self.existing(Laborer, b.laborer_id, "laborer_id")
        klass = self.existing(TrainingClass, b.class_id, "class_id")
        self.check_within(actor, klass.jurisdiction, f"class {b.class_id}")

    def check_CertificateRevoked(
        self, env: Envelope, b: s.CertificateRevoked, actor: Actor, cert: Certificate
    ) -> None:
        if cert.signer != env.actor:
            raise RoleNotAllowed(f"only the issuer {cert.signer!r} may revoke certificate {b.certificate_no}")

    # employment
    def check_EmploymentStarted(self, env: Envelope, b: s.EmploymentStarted, actor: Actor, _: LedgerAggregate) -> None:
        self.existing(Laborer, b.laborer_id, "laborer_id")
        self.existing(TrainingClass, b.class_id, "class_id")

    def _employment_event(self, env: Envelope, b: _OfEmployment, actor: Actor, job: Employment) -> None:
        employer = self.lookup(Actor, job.signer or "")
        self.check_within(actor, employer.jurisdiction, f"employment {b.employment_id}")

    check_PayrollRecorded = check_EmploymentProofSubmitted = check_EmploymentEnded = _employment_event

    # claims
    def claim_jurisdiction(self, b: s.SubsidyClaimed, actor: Actor) -> str | None:
        if b.kind == "employer":
            return actor.jurisdiction
        assert b.class_id is not None  # the schema requires it of every claim but an employer's
        return self.existing(TrainingClass, b.class_id, "class_id").jurisdiction

    def check_SubsidyClaimed(self, env: Envelope, b: s.SubsidyClaimed, actor: Actor, _: LedgerAggregate) -> None:
        if CLAIMANT[b.kind] != actor.role:
            raise RoleNotAllowed(f"role {actor.role} may not claim a {b.kind} subsidy")
        code = self.claim_jurisdiction(b, actor)
        self.existing(TrainingClass, b.class_id, "class_id")
        self.laborers([line.laborer_id for line in b.lines], "lines")
        for line in b.lines:
            self.existing(Employment, line.employment_id, "lines.employment_id")
        self.check_within(actor, code, f"claim {b.claim_id}")

    def check_ClaimWithdrawn(self, env: Envelope, b: s.ClaimWithdrawn, actor: Actor, claim: Claim) -> None:
        if claim.signer != env.actor:
            raise RoleNotAllowed(f"only the claimant {claim.signer!r} may withdraw claim {b.claim_id}")

    def claim_code(self, claim: Claim) -> str | None:
        """A claim's jurisdiction: its class's; an employer claim's, the employer's (DESIGN §2)."""
        if claim.class_id is not None:
            return self.lookup(TrainingClass, claim.class_id).jurisdiction
        return self.lookup(Actor, claim.signer or "").jurisdiction

    def _claim_event(self, env: Envelope, b: _OfClaim, actor: Actor, claim: Claim) -> None:
        self.check_within(actor, self.claim_code(claim), f"claim {b.claim_id}")

    def check_ClaimIdentityVerified(
        self, env: Envelope, b: s.ClaimIdentityVerified, actor: Actor, claim: Claim
    ) -> None:
        self.laborers(b.rejected_laborers, "rejected_laborers")
        self._claim_event(env, b, actor, claim)

    def check_ClaimApproved(self, env: Envelope, b: s.ClaimApproved, actor: Actor, claim: Claim) -> None:
        self.laborers([line.laborer_id for line in b.lines], "lines")
        self._claim_event(env, b, actor, claim)

    check_ClaimRejected = _claim_event

    # money
    def check_PaymentDisbursed(self, env: Envelope, b: s.PaymentDisbursed, actor: Actor, _: LedgerAggregate) -> None:
        self.existing(Claim, b.claim_id, "claim_id")
        fund = self.existing(Fund, b.fund_id, "fund_id")
        self.check_within(actor, fund.jurisdiction, f"fund {b.fund_id}")

    def check_PaymentReturned(self, env: Envelope, b: s.PaymentReturned, actor: Actor, payment: Payment) -> None:
        fund = self.lookup(Fund, payment.fund_id)
        self.check_within(actor, fund.jurisdiction, f"payment {b.payment_id}")

    def check_FundsRecovered(self, env: Envelope, b: s.FundsRecovered, actor: Actor, _: LedgerAggregate) -> None:
        claim = self.existing(Claim, b.claim_id, "claim_id")
        self.check_within(actor, self.claim_code(claim), f"claim {b.claim_id}")

    def check_ReconciliationRecorded(self, *_: object) -> None:
        return None

    def check_AnomalyDisposed(self, *_: object) -> None:
        return None
