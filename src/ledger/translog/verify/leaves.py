"""Steps 1–4 and 6 for one leaf, on its own (run in worker processes): format, hashes, envelope, event, signature.

The leaf bytes are the RFC 8785 (JCS) form of ``{"seq", "recorded_at", "envelope"}``; the stored
``leaf_hash`` is ``SHA-256(0x00 || leaf)`` (RFC 9162 §2.1.1); the envelope parses and its row
columns agree. The signature is checked with the key its ``key_id`` names; which key was *valid*
at that position is the sequential registry's decision (:mod:`.registry`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import NamedTuple, NoReturn

from ledger.domain.envelope import Envelope, verify_ed25519
from ledger.domain.schema import REGISTRY_TYPES
from ledger.encoding.canonical import JSONObject, canonical
from ledger.errors import Refused
from ledger.persistence.store import Row  # the columns of queries.checked_rows_statement, in this order:
from ledger.translog import merkle
from ledger.translog.verify.errors import BadLeaf
from ledger.translog.verify.events import check_event

RECORDED_AT_BEFORE_AT = dt.timedelta(minutes=5)  # DESIGN §6: recorded_at never > 5 min before at


_RECORDED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", re.ASCII)


class Fact(NamedTuple):
    """What the sequential part needs to know about one leaf that passed its own checks."""

    seq: int
    recorded_at: str
    at: dt.datetime
    type: str
    actor: str
    key_id: str
    sig_ok: bool | None  # None: the key named by key_id was not in the key map given to the worker
    body: JSONObject | None  # registry events only
    leaf_hash: bytes
    signed: tuple[bytes, bytes] | None  # (signature, signed bytes) when sig_ok is None


# (seq, recorded_at, leaf, leaf_hash, actor, type, nonce, originator_id, originator_version,
#  stored level-0 node, topic, state) — the columns of queries.checked_rows_statement


class _NotLedgerJSON(ValueError):
    pass


def _no_float(text: str) -> NoReturn:
    raise _NotLedgerJSON(f"numbers must be integers, not {text}")


def _no_constant(text: str) -> NoReturn:
    raise _NotLedgerJSON(f"{text} is not JSON")


# json's C scanner, calling back only for floats and NaN/Infinity (DESIGN §6 allows neither).
_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_constant)


_ENVELOPE_PREFIX = b'{"envelope":'


def check_rows(rows: Sequence[Row], keys: dict[str, bytes]) -> tuple[list[Fact], tuple[int, str, str] | None]:
    """Check a batch of leaves in order; stop at the first bad one and say why."""
    facts: list[Fact] = []
    for row in rows:
        try:
            facts.append(check_leaf(row, keys))
        except BadLeaf as bad:
            return facts, (int(row[0]), bad.code, str(bad))
    return facts, None


def check_leaf(row: Row, keys: dict[str, bytes]) -> Fact:
    seq, rec_col, leaf, hash_col, actor_col, type_col, nonce_col, oid, version, node0, topic, state = row
    # 1. The leaf bytes are JCS of exactly {seq, recorded_at, envelope} (DESIGN §6 "Log"):
    #    re-encoding what was parsed must give the same bytes, which refuses duplicate keys,
    #    other spacing, escapes or key order; floats and NaN are refused while parsing.
    try:
        obj = _DECODER.decode(leaf.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise BadLeaf("leaf_tampered", "leaf bytes are not JSON as the log format allows") from None
    if not isinstance(obj, dict) or obj.keys() != {"seq", "recorded_at", "envelope"}:
        raise BadLeaf("leaf_tampered", "leaf is not {seq, recorded_at, envelope}")
    try:
        canon = canonical(obj)
    except (ValueError, TypeError, UnicodeEncodeError):  # e.g. a lone surrogate has no UTF-8
        canon = b""
    if canon != leaf:
        raise BadLeaf("leaf_tampered", "leaf bytes are not the RFC 8785 canonical JSON of the leaf")
    # 2. The seq inside the leaf is the row's.
    if type(obj["seq"]) is not int or obj["seq"] != seq:
        raise BadLeaf("leaf_tampered", f"the leaf says seq {obj['seq']!r} but is stored as seq {seq}")
    # 3. recorded_at: UTC RFC 3339 with microseconds, as the row says.
    recorded_at = obj["recorded_at"]
    if not isinstance(recorded_at, str) or not _RECORDED_AT.fullmatch(recorded_at):
        raise BadLeaf("leaf_tampered", "recorded_at is not UTC RFC 3339 with microseconds")
    try:
        recorded = dt.datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
    except ValueError:
        raise BadLeaf("leaf_tampered", "recorded_at is not a valid time") from None
    if recorded_at != rec_col:
        raise BadLeaf("leaf_tampered", "the recorded_at column differs from the leaf")
    # 4. The stored leaf hash and level-0 Merkle node are RFC 9162's SHA-256(0x00 || leaf).
    h = merkle.leaf_hash(leaf)
    if h != hash_col:
        raise BadLeaf("leaf_tampered", "stored leaf_hash is not SHA-256(0x00 || leaf bytes)")
    if node0 is None:
        raise BadLeaf("tree_mismatch", f"stored Merkle node (0, {seq}) is missing")
    if bytes(node0) != h:
        raise BadLeaf("tree_mismatch", f"stored Merkle node (0, {seq}) is not the leaf's hash")
    # 5. The envelope is one the ledger accepts (DESIGN §6, EVENTS.md), and the row agrees.
    #    The value walk of check_value is not needed again: parsing refused floats and NaN,
    #    re-encoding refused lone surrogates, the schema refuses unknown (so non-ASCII) keys,
    #    and every integer field of the schema is bounded within ±(2^53−1)
    #    (tests/unit/test_verify_leaf.py keeps that last point true).
    try:
        env = Envelope.from_dict(obj["envelope"], parsed=True, recorded=True)
    except Refused as exc:
        raise BadLeaf("leaf_tampered", f"envelope refused: {exc}") from None
    if (env.actor, env.type, env.nonce) != (actor_col, type_col, nonce_col):
        raise BadLeaf("leaf_tampered", "the actor/type/nonce columns differ from the envelope")
    if recorded < env.at - RECORDED_AT_BEFORE_AT:
        raise BadLeaf("leaf_tampered", "recorded_at is more than five minutes before the envelope's at")
    # The envelope's JCS bytes are a slice of the (canonical) leaf; the signed bytes are that
    # slice without the "sig" member (keys are sorted, and "type" always follows "sig").
    envelope_bytes = leaf[len(_ENVELOPE_PREFIX) : leaf.rindex(b',"recorded_at":')]
    signed = envelope_bytes.replace(b'"sig":"' + obj["envelope"]["sig"].encode() + b'",', b"", 1)
    # 6. The domain event is on the right aggregate and holds the same leaf.
    check_event(seq, recorded_at, env, envelope_bytes, oid, version, topic, state)
    # 7. The signature, with the key its key_id names (which key was *valid* is decided later).
    public_key = keys.get(env.key_id)
    sig_ok = None if public_key is None else ed25519_ok(public_key, env.sig, signed)
    body = obj["envelope"]["body"] if env.type in REGISTRY_TYPES else None
    return Fact(seq, recorded_at, env.at, env.type, env.actor, env.key_id, sig_ok, body, h,
                 None if sig_ok is not None else (env.sig, signed))  # fmt: skip


def ed25519_ok(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        verify_ed25519(public_key, signature, message)
    except Refused:
        return False
    return True
