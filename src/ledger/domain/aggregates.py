"""The domain: aggregates per subject (DESIGN §3) and the events that happen to them.

One accepted envelope is stored as exactly one domain event, on the aggregate of its subject:
actor (with its keys), subsidy standard, fund, labourer, training class, inspection,
certificate, employment, claim, payment, recovery, reconciliation and anomaly case. Payments,
recoveries and inspections are aggregates of their own because their ids must be unique and
later events (``PaymentReturned``) name them directly; each still names its claim or subject.

Each aggregate declares its events as nested classes named after the envelope types of
EVENTS.md; an event's topic is ``ledger.domain.aggregates:<Aggregate>.<Type>`` and is never
renamed. Every event class is at ``class_version`` 1: a changed stored shape raises it and adds
an upcast (STYLE.md habit 5). The refusal checks are :class:`ledger.domain.decider.Decider`'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, cast
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, TAggregate
from eventsourcing.utils import register_topic

from ledger.domain import schema as s
from ledger.domain.envelope import Envelope, key_id_of
from ledger.encoding.b64 import b64decode_strict
from ledger.encoding.canonical import JSONObject

NAMESPACE = UUID("6f1c3e2a-5b7d-4c1e-9a40-640400201812")


@lru_cache(maxsize=1 << 18)
def subject_uuid(kind: str, ident: str) -> UUID:
    """Aggregate id of a subject: the same on every machine, from its kind and public id."""
    return uuid5(NAMESPACE, f"{kind}:{ident}")


@lru_cache(maxsize=1 << 12)
def _raw_key(public_key: str) -> bytes:
    return b64decode_strict(public_key)


class LedgerEvent(Aggregate.Event):
    """One accepted envelope, as stored: its log position, receipt time and the envelope."""

    seq: int
    recorded_at: str
    envelope: JSONObject
    aggregate_class: ClassVar[type[LedgerAggregate]]
    class_version: ClassVar[int] = 1  # the stored shape; an upcast reads older ones

    def mutate(self, aggregate: TAggregate | None) -> TAggregate | None:
        if aggregate is None:  # the subject's first event opens the aggregate
            aggregate = cast("TAggregate", self.aggregate_class.blank(self.originator_id, self.timestamp))
        return super().mutate(aggregate)

    def apply(self, aggregate: object) -> None:
        handler = getattr(aggregate, "on_" + type(self).__name__, None)
        if handler is not None:
            handler(self.envelope["body"], self)


class LedgerAggregate(Aggregate):
    """Base of every subject. ``EVENTS`` names the envelope types that happen to it: its
    nested :class:`LedgerEvent` classes, in the order they are declared."""

    KIND: ClassVar[str]
    EVENTS: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, *, created_event_name: str = "") -> None:
        super().__init_subclass__(created_event_name=created_event_name)
        # The library has by now made each nested event a subclass of this aggregate's Event too.
        events = [
            name for name, member in vars(cls).items()
            if isinstance(member, type) and issubclass(member, LedgerEvent) and member.__name__ == name
        ]  # fmt: skip
        cls.EVENTS = tuple(events)
        for name in events:
            getattr(cls, name).aggregate_class = cls

    @classmethod
    def blank(cls, ident: UUID, timestamp: dt.datetime) -> LedgerAggregate:
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

    def on_first(self, body: JSONObject, event: LedgerEvent) -> None:
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

    @property
    def raw(self) -> bytes:
        """The raw 32-byte key (decoded once per key, not once per envelope it checks)."""
        return _raw_key(self.public_key)

    def valid_at(self, seq: int, at: dt.datetime) -> bool:
        """DESIGN §6: not after the leaf that rotated or revoked it, nor after its end time."""
        if seq < self.from_seq:
            return False
        if self.until_seq is not None and seq > self.until_seq:
            return False
        return self.until_at is None or at < s.parse_rfc3339(self.until_at)


class Actor(LedgerAggregate):
    KIND = "actor"

    class ActorRegistered(LedgerEvent): ...
    class KeyRotated(LedgerEvent): ...
    class KeyRevoked(LedgerEvent): ...

    def init(self) -> None:
        super().init()
        self.role = ""
        self.name = ""
        self.keys: list[KeyPeriod] = []

    def on_ActorRegistered(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.role, self.name, self.jurisdiction = body["role"], body["name"], body["jurisdiction"]
        self._add_key(body["public_key"], e.seq)

    def on_KeyRotated(self, body: JSONObject, e: LedgerEvent) -> None:
        for key in self.keys:
            if key.until_seq is None:
                key.until_seq, key.until_at = e.seq, e.envelope["at"]
        self._add_key(body["public_key"], e.seq)

    def on_KeyRevoked(self, body: JSONObject, e: LedgerEvent) -> None:
        for key in self.keys:
            if key.key_id == body["key_id"] and key.until_seq is None:
                key.until_seq, key.until_at = e.seq, body["effective_at"]

    def _add_key(self, public_key: str, seq: int) -> None:
        self.keys.append(KeyPeriod(key_id_of(b64decode_strict(public_key)), public_key, seq))

    def key(self, key_id: str) -> KeyPeriod | None:
        for key in reversed(self.keys):
            if key.key_id == key_id:
                return KeyPeriod(key.key_id, key.public_key, key.from_seq, key.until_seq, key.until_at)
        return None

    @property
    def current_key_id(self) -> str | None:
        for key in self.keys:
            if key.until_seq is None:
                return key.key_id
        return None


class SubsidyStandard(LedgerAggregate):
    KIND = "standard"

    class SubsidyStandardSet(LedgerEvent): ...

    def on_SubsidyStandardSet(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)


class Fund(LedgerAggregate):
    KIND = "fund"

    class FundAllocated(LedgerEvent): ...
    class FundAdjusted(LedgerEvent): ...

    def init(self) -> None:
        super().init()
        self.purpose = ""

    def on_FundAllocated(self, body: JSONObject, e: LedgerEvent) -> None:
        if self.first_seq is None:
            self.on_first(body, e)
            self.jurisdiction, self.purpose = body["jurisdiction"], body["purpose"]


class Laborer(LedgerAggregate):
    KIND = "laborer"

    class LaborerRegistered(LedgerEvent): ...
    class LaborerCorrected(LedgerEvent): ...
    class IdentityConfirmed(LedgerEvent): ...
    class IdentityRejected(LedgerEvent): ...
    class PersonalDataAccessed(LedgerEvent): ...
    class PersonalDataErased(LedgerEvent): ...

    def init(self) -> None:
        super().init()
        self.erased = False
        self.erased_seq: int | None = None

    def on_LaborerRegistered(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.jurisdiction = body["jurisdiction"]

    def on_PersonalDataErased(self, body: JSONObject, e: LedgerEvent) -> None:
        self.erased = True
        if self.erased_seq is None:
            self.erased_seq = e.seq


class TrainingClass(LedgerAggregate):
    KIND = "class"

    class ClassOpeningRequested(LedgerEvent): ...
    class ClassOpeningApproved(LedgerEvent): ...
    class ClassOpeningRejected(LedgerEvent): ...
    class ClassCancelled(LedgerEvent): ...
    class TraineeEnrolled(LedgerEvent): ...
    class TraineeWithdrawn(LedgerEvent): ...
    class AttendanceRecorded(LedgerEvent): ...
    class ClassCompleted(LedgerEvent): ...
    class CompletionReviewed(LedgerEvent): ...
    class AppraisalFailed(LedgerEvent): ...

    def on_ClassOpeningRequested(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.jurisdiction = body["jurisdiction"]


class Inspection(LedgerAggregate):
    KIND = "inspection"

    class InspectionRecorded(LedgerEvent): ...

    def on_InspectionRecorded(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)


class Certificate(LedgerAggregate):
    KIND = "certificate"

    class CertificateIssued(LedgerEvent): ...
    class CertificateRevoked(LedgerEvent): ...

    def on_CertificateIssued(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)


class Employment(LedgerAggregate):
    KIND = "employment"

    class EmploymentStarted(LedgerEvent): ...
    class PayrollRecorded(LedgerEvent): ...
    class EmploymentProofSubmitted(LedgerEvent): ...
    class EmploymentEnded(LedgerEvent): ...

    def on_EmploymentStarted(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)


class Claim(LedgerAggregate):
    KIND = "claim"

    class SubsidyClaimed(LedgerEvent): ...
    class ClaimWithdrawn(LedgerEvent): ...
    class ClaimIdentityVerified(LedgerEvent): ...
    class ClaimApproved(LedgerEvent): ...
    class ClaimRejected(LedgerEvent): ...

    def init(self) -> None:
        super().init()
        self.kind = ""
        self.class_id: str | None = None

    def on_SubsidyClaimed(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.kind, self.class_id = body["kind"], body.get("class_id")


class Payment(LedgerAggregate):
    KIND = "payment"

    class PaymentDisbursed(LedgerEvent): ...
    class PaymentReturned(LedgerEvent): ...

    def init(self) -> None:
        super().init()
        self.claim_id = ""
        self.fund_id = ""

    def on_PaymentDisbursed(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)
        self.claim_id, self.fund_id = body["claim_id"], body["fund_id"]


class Recovery(LedgerAggregate):
    KIND = "recovery"

    class FundsRecovered(LedgerEvent): ...

    def on_FundsRecovered(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)


class Reconciliation(LedgerAggregate):
    KIND = "reconciliation"

    class ReconciliationRecorded(LedgerEvent): ...

    def on_ReconciliationRecorded(self, body: JSONObject, e: LedgerEvent) -> None:
        self.on_first(body, e)


class AnomalyCase(LedgerAggregate):
    KIND = "anomaly"

    class AnomalyDisposed(LedgerEvent): ...


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
