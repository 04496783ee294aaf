"""The trace document (DESIGN §12's JSON) and the seqs an evidence bundle of the same subject holds.

:func:`trace` gathers (:mod:`.gather`), checks (:mod:`.check`) and describes each leaf from
``pj_events`` and ``pj_actors``; :func:`evidence_seqs` is the same gathering plus the signers'
registry leaves (DESIGN §6), so ``export evidence`` and ``trace`` cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NotRequired, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger.encoding.b64 import b64encode
from projections import tables as T
from projections.anomalies.query import Flag, flags_about
from projections.trace.check import Leaves, check
from projections.trace.gather import (
    PAGED,
    gather,
    paged_events,
    paged_relations,
    registry_seqs,
    subject_exists,
    summary,
)

if TYPE_CHECKING:
    from ledger.application import Ledger

DEFAULT_LIMIT = 1000


class TraceEvent(TypedDict):
    """One event of the trace. Declared here only: ``/openapi.json``'s ``TraceEvent`` is derived from it
    (``api.http.models.model_of``), an absent ``officer`` shown there as null."""

    seq: int
    type: str
    actor: str
    actor_name: str | None
    role: str | None
    key_id: str | None
    at: str
    business_date: str
    officer: NotRequired[str]
    relation: str
    signature_ok: bool
    included: bool


class PiiRead(TypedDict):
    seq: int
    actor: str
    at: str
    purpose: str


class CheckpointRef(TypedDict):
    size: int
    root: str


class Trace(TypedDict):
    kind: str
    id: str
    as_of: int
    checkpoint: CheckpointRef
    events: list[TraceEvent]
    anomalies: list[Flag]
    pii_reads: list[PiiRead]
    summary: NotRequired[dict[str, dict[str, int]]]
    next: NotRequired[int | None]


class Traced(NamedTuple):
    """The document, and a short label per event (its subject, and the labourer it names) for a timeline."""

    document: Trace
    subjects: dict[int, str]


def trace(ledger: Ledger, engine: Engine, kind: str, ident: str, size: int, root: bytes, *,
          start: int = 0, limit: int | None = None) -> Traced:  # fmt: skip
    """The trace of ``kind`` ``ident`` under the checkpoint of ``size`` leaves and ``root``.

    Fund and actor traces carry a ``summary`` of all their events and one page of them (from seq
    ``start``, ``limit`` of them, default 1,000) with ``next``, the seq the next page starts at.
    """
    leaves = Leaves(ledger)
    out_summary: dict[str, dict[str, int]] | None = None
    following: int | None = None
    with engine.connect() as conn:
        if kind in PAGED:
            limit = DEFAULT_LIMIT if limit is None else limit
            subject_exists(conn, kind, ident, size)
            page = list(paged_events(conn, kind, ident, size, start, limit + 1))
            if len(page) > limit:
                following = page[limit][0]
                page = page[:limit]
            relations = paged_relations(kind, page)
            out_summary = summary(conn, kind, ident, size)
        else:
            relations = gather(conn, leaves.bodies, kind, ident, size, leaves.envelopes).relations
        seqs = sorted(relations)
        facts = _facts(conn, seqs)
        registry = registry_seqs(conn, {f["actor"] for f in facts.values()}, size)
        checked = check(leaves, seqs, registry, size, root)
        names = _actors(conn, {f["actor"] for f in facts.values()})
        events: list[TraceEvent] = []
        for seq in seqs:
            f, c = facts[seq], checked[seq]
            name, role = names.get(f["actor"], (None, None))
            event: TraceEvent = {"seq": seq, "type": f["type"], "actor": f["actor"], "actor_name": name, "role": role,
                                 "key_id": c.key_id, "at": f["at"], "business_date": f["business_date"],
                                 "relation": relations[seq], "signature_ok": c.signature_ok, "included": c.included}  # fmt: skip
            if f["officer"] is not None:
                event["officer"] = f["officer"]
            events.append(event)
        if kind not in PAGED:
            events.sort(key=lambda e: (e["business_date"], _instant(e["at"]), e["seq"]))
        subjects = {(f["subject_kind"], f["subject_id"]) for f in facts.values()} | {(kind, ident)}
        anomalies = flags_about(conn, subjects, seqs, as_of=size - 1)
    doc: Trace = {"kind": kind, "id": ident, "as_of": size - 1, "checkpoint": {"size": size, "root": b64encode(root)},
                  "events": events, "anomalies": anomalies, "pii_reads": _pii_reads(leaves, events, kind)}  # fmt: skip
    if out_summary is not None:
        doc["summary"] = out_summary
        doc["next"] = following
    return Traced(doc, {seq: _label(f, leaves.envelope(seq)) for seq, f in facts.items()})


def evidence_seqs(ledger: Ledger, engine: Engine, kind: str, ident: str, size: int) -> list[int]:
    """Every seq of the trace (all pages) and its signers' registry leaves, sorted (DESIGN §6)."""
    leaves = Leaves(ledger)
    with engine.connect() as conn:
        seqs = sorted(gather(conn, leaves.bodies, kind, ident, size, leaves.envelopes).relations)
        signers = {str(f["actor"]) for f in _facts(conn, seqs).values()}
        return sorted(set(seqs) | set(registry_seqs(conn, signers, size)))


class _Fact(TypedDict):
    type: str
    actor: str
    officer: str | None
    at: str
    business_date: str
    subject_kind: str
    subject_id: str


def _facts(conn: Connection, seqs: Sequence[int]) -> dict[int, _Fact]:
    e = T.events
    query = sa.select(e.c.seq, e.c.type, e.c.actor, e.c.officer, e.c.at, e.c.business_date, e.c.subject_kind,
                      e.c.subject_id)  # fmt: skip
    out: dict[int, _Fact] = {}
    rows = [row for start in range(0, len(seqs), 500)
            for row in conn.execute(query.where(e.c.seq.in_(seqs[start : start + 500])))]  # fmt: skip
    for row in rows:
        out[int(row.seq)] = {"type": row.type, "actor": row.actor, "officer": row.officer, "at": row.at,
                             "business_date": row.business_date, "subject_kind": row.subject_kind,
                             "subject_id": row.subject_id}  # fmt: skip
    return out


def _actors(conn: Connection, actors: set[str]) -> dict[str, tuple[str, str]]:
    a = T.actors
    query = sa.select(a.c.actor_id, a.c.name, a.c.role).where(a.c.actor_id.in_(sorted(actors)))
    return {actor: (name, role) for actor, name, role in conn.execute(query)}


def _label(fact: _Fact, envelope: dict[str, Any] | None) -> str:
    """The event's subject, and the labourer (or how many trainees) it names when that is another."""
    label = fact["subject_id"]
    body = {} if envelope is None else envelope.get("body", {})
    laborer = body.get("laborer_id")
    if isinstance(laborer, str) and laborer != label:
        label += f" {laborer}"
    elif isinstance(body.get("trainees"), list):
        label += f" ×{len(body['trainees'])}"
    return label


def _instant(at: str) -> dt.datetime:
    return dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(dt.UTC)


def _pii_reads(leaves: Leaves, events: list[TraceEvent], kind: str) -> list[PiiRead]:
    """Every read of the labourer's personal data (their right to know who read it)."""
    if kind != "laborer":
        return []
    out: list[PiiRead] = []
    for e in sorted((e for e in events if e["type"] == "PersonalDataAccessed"), key=lambda e: e["seq"]):
        envelope = leaves.envelope(e["seq"]) or {}
        out.append({"seq": e["seq"], "actor": e["actor"], "at": e["at"],
                    "purpose": str(envelope.get("body", {}).get("purpose", ""))})  # fmt: skip
    return out
