"""A log leaf as the projections see it: decoded once, with its business date and subject.

Leaves were validated at the ledger's boundary (strict JSON, typed bodies) before they got a
``seq``, so the projections trust them and read bodies as plain dicts: re-validating a million
bodies with pydantic would cost more than the whole rebuild budget (LIMITS.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from ledger.domain.aggregates import SUBJECT
from ledger.domain.schema import REGISTRY_TYPES, business_date
from ledger.encoding.canonical import loads_trusted

Document = dict[str, Any]  # a JSON object as decoded: envelopes and bodies, validated at the ledger's boundary


@dataclass(slots=True)
class LeafEvent:
    """One leaf: where it sits, who signed what, and the facts the read models key on."""

    seq: int
    recorded_at: str
    envelope: Document
    type: str
    actor: str
    body: Document
    business_date: str  # ISO date (EVENTS.md): what "before"/"after" compare
    subject_kind: str
    subject_id: str
    jurisdiction: str | None = None  # DESIGN §2; set by the event's handler
    posting_lines: int = 0  # postings appended for this leaf so far: the next one's ``line``

    @property
    def period(self) -> str:
        return self.business_date[:7]

    @property
    def moves_clock(self) -> bool:
        """Registry events carry the ledger's set-up date, not business time (DESIGN §3)."""
        return self.type not in REGISTRY_TYPES


def decode(seq: int, recorded_at: str, leaf: bytes) -> LeafEvent:
    envelope = loads_trusted(leaf)["envelope"]
    kind = envelope["type"]
    body = envelope["body"]
    aggregate, field_name = SUBJECT[kind]
    return LeafEvent(
        seq=seq,
        recorded_at=recorded_at,
        envelope=envelope,
        type=kind,
        actor=envelope["actor"],
        body=body,
        business_date=business_date_of(kind, body, envelope["at"]),
        subject_kind=aggregate.KIND,
        subject_id=body[field_name],
    )


_OWN_DATE = ("date", "end_date", "issued_on", "start_date", "value_date")


def business_date_of(kind: str, body: Document, at: str) -> str:
    """EVENTS.md's business date (ISO), by the ledger's own definition (one source of truth).

    Two shortcuts skip the datetime arithmetic on the hot path without changing the answer: a
    body date field is the business date as written, and an ``at`` already in +08:00 (how
    offices sign) has the Shanghai date as its first ten characters.
    """
    for name in _OWN_DATE:
        value = body.get(name)
        if isinstance(value, str):
            return value
    if kind != "PayrollRecorded" and at.endswith("+08:00"):
        return at[:10]
    moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return business_date(kind, SimpleNamespace(**body), moment).isoformat()  # type: ignore[arg-type]
