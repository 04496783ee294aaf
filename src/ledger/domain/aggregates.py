"""The domain: aggregates per subject (DESIGN §3) and the decision to record or refuse.

One accepted envelope is stored as exactly one domain event, on the aggregate of its subject:
actor (with its keys), subsidy standard, fund, labourer, training class, inspection,
certificate, employment, claim, payment, recovery, reconciliation and anomaly case. Payments,
recoveries and inspections are aggregates of their own because their ids must be unique and
later events (``PaymentReturned``) name them directly; each still names its claim or subject.

:class:`Decider` holds the refusal list of EVENTS.md. Its ``check_*`` steps raise a specific
:class:`~ledger.errors.Refused`; anything they do not refuse is recorded, because policy
breaches are for the anomaly rules to flag, not for the ledger to hide.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic

from ledger.domain import schema as s
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

NAMESPACE = UUID("6f1c3e2a-5b7d-4c1e-9a40-640400201812")


@lru_cache(maxsize=1 << 18)
def subject_uuid(kind: str, ident: str) -> UUID:
    """Aggregate id of a subject: the same on every machine, from its kind and public id."""
    return uuid5(NAMESPACE, f"{kind}:{ident}")


class LedgerEvent(Aggregate.Event):
    """One accepted envelope, as stored: its log position, receipt time and the envelope."""

    seq: int
    recorded_at: str
    envelope: dict[str, Any]
    aggregate_class: ClassVar[type[LedgerAggregate]]

    def mutate(self, aggregate: Any) -> Any:
        if aggregate is None:  # the subject's first event opens the aggregate
            aggregate = self.aggregate_class.blank(self.originator_id, self.timestamp)
        return super().mutate(aggregate)

    def apply(self, aggregate: Any) -> None:
        handler = getattr(aggregate, "on_" + type(self).__name__, None)
        if handler is not None:
            handler(self.envelope["body"], self)


class LedgerAggregate(Aggregate):
    """Base of every subject. ``EVENTS`` names the envelope types that happen to it."""

    KIND: ClassVar[str]
    EVENTS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.EVENTS:
            event_class = type(
                name,
                (LedgerEvent,),
                {"__qualname__": f"{cls.__qualname__}.{name}", "__module__": cls.__module__},
            )
            event_class.aggregate_class = cls  # type: ignore[attr-defined]
            setattr(cls, name, event_class)

    @classmethod
    def blank(cls, ident: UUID, timestamp: dt.datetime) -> Any:
        agg = cls.__new__(cls)
        agg.__base_init__(ident, 0, timestamp)
        agg.init()
        return agg

    def init(self) -> None:
        self.first_seq: int | None = None
        self.signer: str | None = None
        self.jurisdiction: str | None = None

    def record(self, envelope: Envelope, seq: int, recorded_at: str) -> None:
        event_class = getattr(type(self), envelope.type)
        self.trigger_event(
            event_class, seq=seq, recorded_at=recorded_at, envelope=envelope.raw
        )

    def on_first(self, body: dict[str, Any], event: LedgerEvent) -> None:
        self.first_seq = event.seq
        self.signer = event.envelope["actor"]

    @property
    def exists(self) -> bool:
        return self.version > 0


@dataclass
class KeyPeriod:
    key_id: str
    public_key: str
    from_seq: int
    until_seq: int | None = None
    until_at: str | None = None  # rotation's at, or revocation's effective_at

    def valid_at(self, seq: int, at: dt.datetime) -> bool:
        """DESIGN §6: not after the leaf that rotated or revoked it, nor after its end time."""
        if seq < self.from_seq:
            return False
        if self.until_seq is not None and seq > self.until_seq:
            return False
        return self.until_at is None or at < s.parse_rfc3339(self.until_at)


class Actor(LedgerAggregate):
    KIND = "actor"
    EVENTS = ("ActorRegistered", "KeyRotated", "KeyRevoked")

    def init(self) -> None:
        super().init()
        self.role = ""
        self.name = ""
        self.keys: list[dict[str, Any]] = []

    def on_ActorRegistered(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.role, self.name, self.jurisdiction = body["role"], body["name"], body["jurisdiction"]
        self._add_key(body["public_key"], e.seq)

    def on_KeyRotated(self, body: dict[str, Any], e: LedgerEvent) -> None:
        for key in self.keys:
            if key["until_seq"] is None:
                key["until_seq"], key["until_at"] = e.seq, e.envelope["at"]
        self._add_key(body["public_key"], e.seq)

    def on_KeyRevoked(self, body: dict[str, Any], e: LedgerEvent) -> None:
        for key in self.keys:
            if key["key_id"] == body["key_id"] and key["until_seq"] is None:
                key["until_seq"], key["until_at"] = e.seq, body["effective_at"]

    def _add_key(self, public_key: str, seq: int) -> None:
        raw = b64decode_strict(public_key)
        self.keys.append(
            {"key_id": key_id_of(raw), "public_key": public_key, "from_seq": seq,
             "until_seq": None, "until_at": None}
        )

    def key(self, key_id: str) -> KeyPeriod | None:
        for key in reversed(self.keys):
            if key["key_id"] == key_id:
                return KeyPeriod(**key)
        return None

    @property
    def current_key_id(self) -> str | None:
        for key in self.keys:
            if key["until_seq"] is None:
                return str(key["key_id"])
        return None


class SubsidyStandard(LedgerAggregate):
    KIND = "standard"
    EVENTS = ("SubsidyStandardSet",)

    def on_SubsidyStandardSet(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)


class Fund(LedgerAggregate):
    KIND = "fund"
    EVENTS = ("FundAllocated", "FundAdjusted")

    def init(self) -> None:
        super().init()
        self.purpose = ""

    def on_FundAllocated(self, body: dict[str, Any], e: LedgerEvent) -> None:
        if self.first_seq is None:
            self.on_first(body, e)
            self.jurisdiction, self.purpose = body["jurisdiction"], body["purpose"]


class Laborer(LedgerAggregate):
    KIND = "laborer"
    EVENTS = (
        "LaborerRegistered",
        "LaborerCorrected",
        "IdentityConfirmed",
        "IdentityRejected",
        "PersonalDataAccessed",
        "PersonalDataErased",
    )

    def init(self) -> None:
        super().init()
        self.erased = False
        self.erased_seq: int | None = None

    def on_LaborerRegistered(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.jurisdiction = body["jurisdiction"]

    def on_PersonalDataErased(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.erased = True
        if self.erased_seq is None:
            self.erased_seq = e.seq


class TrainingClass(LedgerAggregate):
    KIND = "class"
    EVENTS = (
        "ClassOpeningRequested",
        "ClassOpeningApproved",
        "ClassOpeningRejected",
        "ClassCancelled",
        "TraineeEnrolled",
        "TraineeWithdrawn",
        "AttendanceRecorded",
        "ClassCompleted",
        "CompletionReviewed",
        "AppraisalFailed",
    )

    def on_ClassOpeningRequested(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.jurisdiction = body["jurisdiction"]


class Inspection(LedgerAggregate):
    KIND = "inspection"
    EVENTS = ("InspectionRecorded",)

    def on_InspectionRecorded(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)


class Certificate(LedgerAggregate):
    KIND = "certificate"
    EVENTS = ("CertificateIssued", "CertificateRevoked")

    def on_CertificateIssued(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)


class Employment(LedgerAggregate):
    KIND = "employment"
    EVENTS = ("EmploymentStarted", "PayrollRecorded", "EmploymentProofSubmitted", "EmploymentEnded")

    def on_EmploymentStarted(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)


class Claim(LedgerAggregate):
    KIND = "claim"
    EVENTS = (
        "SubsidyClaimed",
        "ClaimWithdrawn",
        "ClaimIdentityVerified",
        "ClaimApproved",
        "ClaimRejected",
    )

    def on_SubsidyClaimed(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.kind, self.class_id = body["kind"], body.get("class_id")


class Payment(LedgerAggregate):
    KIND = "payment"
    EVENTS = ("PaymentDisbursed", "PaymentReturned")

    def on_PaymentDisbursed(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.claim_id, self.fund_id = body["claim_id"], body["fund_id"]


class Recovery(LedgerAggregate):
    KIND = "recovery"
    EVENTS = ("FundsRecovered",)

    def on_FundsRecovered(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)


class Reconciliation(LedgerAggregate):
    KIND = "reconciliation"
    EVENTS = ("ReconciliationRecorded",)

    def on_ReconciliationRecorded(self, body: dict[str, Any], e: LedgerEvent) -> None:
        self.on_first(body, e)


class AnomalyCase(LedgerAggregate):
    KIND = "anomaly"
    EVENTS = ("AnomalyDisposed",)


AGGREGATES: tuple[type[LedgerAggregate], ...] = (
    Actor, SubsidyStandard, Fund, Laborer, TrainingClass, Inspection, Certificate,
    Employment, Claim, Payment, Recovery, Reconciliation, AnomalyCase,
)  # fmt: skip

# Which aggregate each envelope type happens to, and which body field names it.
SUBJECT: dict[str, tuple[type[LedgerAggregate], str]] = {}
for _agg in AGGREGATES:
    for _name in _agg.EVENTS:
        SUBJECT[_name] = (_agg, "")
for _name, _field in {
    "ActorRegistered": "actor_id", "KeyRotated": "actor_id", "KeyRevoked": "actor_id",
    "SubsidyStandardSet": "standard_id", "FundAllocated": "fund_id", "FundAdjusted": "fund_id",
    "InspectionRecorded": "inspection_id", "CertificateIssued": "certificate_no",
    "CertificateRevoked": "certificate_no", "SubsidyClaimed": "claim_id",
    "PaymentDisbursed": "payment_id", "PaymentReturned": "payment_id",
    "FundsRecovered": "recovery_id", "ReconciliationRecorded": "reconciliation_id",
    "AnomalyDisposed": "anomaly_id",
}.items():  # fmt: skip
    SUBJECT[_name] = (SUBJECT[_name][0], _field)
for _name, (_agg, _field) in list(SUBJECT.items()):
    if not _field:
        _field = {
            Laborer: "laborer_id", TrainingClass: "class_id", Employment: "employment_id",
            Claim: "claim_id",
        }[_agg]  # fmt: skip
        SUBJECT[_name] = (_agg, _field)

# Envelope types that create their subject (an existing id is refused).
CREATES = frozenset(
    {
        "ActorRegistered", "SubsidyStandardSet", "LaborerRegistered", "ClassOpeningRequested",
        "InspectionRecorded", "CertificateIssued", "EmploymentStarted", "SubsidyClaimed",
        "PaymentDisbursed", "FundsRecovered", "ReconciliationRecorded",
    }
)  # fmt: skip
# Envelope types whose subject may or may not exist yet.
OPENS_OR_ADDS = frozenset({"FundAllocated", "AnomalyDisposed"})

Lookup = Callable[[type[LedgerAggregate], str], Any]


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
        actor: Actor = self.lookup(Actor, env.actor)
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
        self.verify(env, b64decode_strict(period.public_key))
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
    def existing(self, cls: type[LedgerAggregate], ident: str | None, field: str) -> Any:
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
            return self.lookup(Actor, env.actor)  # type: ignore[no-any-return]
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
        return subject  # type: ignore[no-any-return]

    # registry and standards
    def check_ActorRegistered(self, env: Envelope, b: s.ActorRegistered, actor: Actor, _: Any) -> None:
        if b.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {b.jurisdiction} is not a configured jurisdiction")
        self.check_within(actor, b.jurisdiction, f"actor {b.actor_id}")

    def check_KeyRotated(self, env: Envelope, b: s.KeyRotated, actor: Actor, subject: Actor) -> None:
        if actor.role != "admin" and subject.current_key_id != env.key_id:
            raise KeyNotValid("an actor rotates its own key only with its current key")

    def check_KeyRevoked(self, env: Envelope, b: s.KeyRevoked, actor: Actor, subject: Actor) -> None:
        if subject.key(b.key_id) is None:
            raise UnknownKey(f"body.key_id: {b.key_id} is not a key of {b.actor_id!r}")

    def check_SubsidyStandardSet(self, *_: Any) -> None:
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
    def check_LaborerRegistered(self, env: Envelope, b: s.LaborerRegistered, actor: Actor, _: Any) -> None:
        if b.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {b.jurisdiction} is not a configured jurisdiction")
        self.check_within(actor, b.jurisdiction, f"labourer {b.laborer_id}")

    def _laborer_event(self, env: Envelope, b: Any, actor: Actor, laborer: Laborer) -> None:
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
        self, env: Envelope, b: s.ClassOpeningRequested, actor: Actor, _: Any
    ) -> None:
        if b.jurisdiction not in self.jurisdictions:
            raise InvalidField(f"body.jurisdiction: {b.jurisdiction} is not a configured jurisdiction")
        self.check_within(actor, b.jurisdiction, f"class {b.class_id}")

    def _class_event(self, env: Envelope, b: Any, actor: Actor, klass: TrainingClass) -> None:
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
    def check_InspectionRecorded(self, env: Envelope, b: s.InspectionRecorded, actor: Actor, _: Any) -> None:
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
    def check_CertificateIssued(self, env: Envelope, b: s.CertificateIssued, actor: Actor, _: Any) -> None:
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
    def check_EmploymentStarted(self, env: Envelope, b: s.EmploymentStarted, actor: Actor, _: Any) -> None:
        self.existing(Laborer, b.laborer_id, "laborer_id")
        self.existing(TrainingClass, b.class_id, "class_id")

    def _employment_event(self, env: Envelope, b: Any, actor: Actor, job: Employment) -> None:
        employer: Actor = self.lookup(Actor, job.signer or "")
        self.check_within(actor, employer.jurisdiction, f"employment {b.employment_id}")

    check_PayrollRecorded = check_EmploymentProofSubmitted = check_EmploymentEnded = _employment_event

    # claims
    def claim_jurisdiction(self, b: s.SubsidyClaimed, actor: Actor) -> str | None:
        if b.kind == "employer":
            return actor.jurisdiction
        return self.existing(TrainingClass, b.class_id, "class_id").jurisdiction  # type: ignore[no-any-return]

    def check_SubsidyClaimed(self, env: Envelope, b: s.SubsidyClaimed, actor: Actor, _: Any) -> None:
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
            return self.lookup(TrainingClass, claim.class_id).jurisdiction  # type: ignore[no-any-return]
        return self.lookup(Actor, claim.signer or "").jurisdiction  # type: ignore[no-any-return]

    def _claim_event(self, env: Envelope, b: Any, actor: Actor, claim: Claim) -> None:
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
    def check_PaymentDisbursed(self, env: Envelope, b: s.PaymentDisbursed, actor: Actor, _: Any) -> None:
        self.existing(Claim, b.claim_id, "claim_id")
        fund = self.existing(Fund, b.fund_id, "fund_id")
        self.check_within(actor, fund.jurisdiction, f"fund {b.fund_id}")

    def check_PaymentReturned(self, env: Envelope, b: s.PaymentReturned, actor: Actor, payment: Payment) -> None:
        fund = self.lookup(Fund, payment.fund_id)
        self.check_within(actor, fund.jurisdiction, f"payment {b.payment_id}")

    def check_FundsRecovered(self, env: Envelope, b: s.FundsRecovered, actor: Actor, _: Any) -> None:
        claim = self.existing(Claim, b.claim_id, "claim_id")
        self.check_within(actor, self.claim_code(claim), f"claim {b.claim_id}")

    def check_ReconciliationRecorded(self, *_: Any) -> None:
        return None

    def check_AnomalyDisposed(self, *_: Any) -> None:
        return None


# Ledgers written before the package restructure (issue 19) stored their domain events under
# this module's old name, ``ledger.domain:Claim.ClaimApproved``; those topics resolve here.
# Each old topic is registered whole: registering the module name would redirect the new
# topics' prefix ``ledger.domain`` as well.
def _register_old_topics() -> None:
    for value in list(globals().values()):
        if isinstance(value, type) and issubclass(value, Aggregate) and value.__module__ == __name__:
            register_topic(f"ledger.domain:{value.__qualname__}", value)
            for member in vars(value).values():
                if isinstance(member, type) and issubclass(member, Aggregate.Event):
                    register_topic(f"ledger.domain:{member.__qualname__}", member)


_register_old_topics()
