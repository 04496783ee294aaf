"""Step 5: the domain event in the ``eventsourcing`` table is the one the leaf row names, and holds the
same ``seq``, ``recorded_at`` and envelope, on the aggregate of the envelope's subject; after the
pass, no domain event lacks its leaf.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import Mapper

from ledger.domain.aggregates import SUBJECT, subject_uuid
from ledger.domain.envelope import Envelope
from ledger.encoding.canonical import canonical
from ledger.errors import VerificationFailed
from ledger.persistence import queries
from ledger.translog.verify.errors import BadLeaf, EventMismatch

if TYPE_CHECKING:
    from ledger.application import Ledger


_EVENT_STATE_KEYS = frozenset({"timestamp", "seq", "recorded_at", "envelope"})


def check_event(
    seq: int, recorded_at: str, env: Envelope, envelope_bytes: bytes, oid: object, version: object, topic: object,
    state: bytes | None,
) -> None:
    cls, field_name = SUBJECT[env.type]
    subject = subject_uuid(cls.KIND, str(env.raw["body"][field_name]))
    if str(oid) != subject.hex or type(version) is not int or version < 1:
        raise BadLeaf("event_mismatch", f"the leaf row names domain event {oid}/{version}, not one of {cls.KIND} {subject.hex}")
    if state is None:
        raise BadLeaf("event_mismatch", f"no domain event {oid} v{version} for this leaf")
    try:
        decoded = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        raise BadLeaf("event_mismatch", "the stored domain event is not readable JSON") from None
    if not isinstance(decoded, dict) or not decoded.keys() >= _EVENT_STATE_KEYS:
        raise BadLeaf("event_mismatch", "the stored domain event's fields were altered")
    if not isinstance(topic, str) or not topic.endswith("." + env.type):
        raise BadLeaf("event_mismatch", f"the stored domain event's topic {topic!r} is not {env.type}")
    if decoded["seq"] != seq or decoded["recorded_at"] != recorded_at:
        raise BadLeaf("event_mismatch", "the stored domain event has another seq or recorded_at")
    try:
        same_envelope = canonical(decoded["envelope"]) == envelope_bytes
    except (ValueError, TypeError, UnicodeEncodeError):
        same_envelope = False
    if not same_envelope:
        raise BadLeaf("event_mismatch", "the stored domain event holds another envelope than the leaf")
    stamp = decoded["timestamp"]
    if not isinstance(stamp, dict) or stamp.get("_type_") != "datetime_iso" or not isinstance(stamp.get("_data_"), str):
        raise BadLeaf("event_mismatch", "the stored domain event's timestamp was altered")
    try:
        dt.datetime.fromisoformat(stamp["_data_"])
    except ValueError:
        raise BadLeaf("event_mismatch", "the stored domain event's timestamp was altered") from None


def plain_state(mapper: Mapper[UUID], state: bytes | None) -> bytes | None:
    if state is None:
        return None
    try:
        if mapper.cipher is not None:
            state = mapper.cipher.decrypt(state)
        if mapper.compressor is not None:
            state = mapper.compressor.decompress(state)
    except Exception:  # an undecryptable event is reported as altered by the per-leaf check
        return b"\x00"
    return bytes(state)


def extra_event(ledger: Ledger) -> VerificationFailed | None:
    counts = queries.event_counts(ledger.sql)
    if counts.events <= counts.leaves:
        return None
    # Rare (only after tampering): find one, page by page, to name its seq.
    last: tuple[str, int] = ("", 0)
    while True:
        rows = queries.events_after(ledger.sql, last, page=1000)
        if not rows:
            return EventMismatch("there are more domain events than log leaves")
        for oid, version, state in rows:
            hex_id = oid.replace("-", "")
            try:
                seq = json.loads(plain_state(ledger.mapper, state) or b"")["seq"]
            except (ValueError, KeyError, TypeError):
                seq = None
            leaf = None if type(seq) is not int else queries.leaf_origin(ledger.sql, seq)
            if leaf is None or leaf != (hex_id, version):
                where = f"seq {seq}" if type(seq) is int else "no seq"
                return EventMismatch(
                    f"domain event {hex_id} v{version} ({where}) has no leaf in the log",
                    seq=seq if type(seq) is int else None,
                )
        last = (rows[-1].originator_id, rows[-1].originator_version)
