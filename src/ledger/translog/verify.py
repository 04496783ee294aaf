"""防篡改校验 (verify): prove that the ledger is intact, or name the first place it is not.

DESIGN §6 fixes what "intact" means. One streaming pass over the log (memory stays flat: one
batch of rows, the Merkle frontier and the key registry) checks, leaf by leaf in ``seq`` order:

1. the row's ``seq`` is the next one (gapless ``0..n-1``);
2. the leaf bytes are the RFC 8785 (JCS) form of ``{"seq", "recorded_at", "envelope"}``, with
   the row's ``seq`` and ``recorded_at`` (UTC, microseconds, non-decreasing, never more than
   five minutes before the envelope's ``at``);
3. the stored ``leaf_hash`` is ``SHA-256(0x00 || leaf)`` (RFC 9162 §2.1.1);
4. the envelope parses (:meth:`ledger.domain.envelope.Envelope.from_dict`) and its row columns agree;
5. the domain event in the ``eventsourcing`` table is the one the leaf row names and holds the
   same ``seq``, ``recorded_at`` and envelope, on the aggregate of the envelope's subject;
6. the signature verifies with the key the registry held *at that leaf*: the registry is
   rebuilt from the leaves themselves (``ActorRegistered``, ``KeyRotated``, ``KeyRevoked``),
   so a revocation recorded later never taints earlier leaves (DESIGN §6, "Keys");
7. every stored Merkle node equals the one recomputed from the leaf hashes;
8. every stored checkpoint is signed by a *trusted* operator key (from the keystore or the
   caller, never from the database), its root is the recomputed root at its size, and each is
   consistent with the one before it (RFC 9162 §2.1.4 proof from the stored nodes, verified);
9. the trust anchors — the largest checkpoint verified before (``trusted.json`` or
   ``--anchor FILE``) and each cosigner's last cosigned checkpoint (``cosigned/<actor>.json``) —
   are not beyond the log and have the same root there, so a log cut back or rewritten together
   with its checkpoints is caught; with the anchor's leaf hashes (``*.leaves``), the first
   rewritten ``seq`` is named;
10. an operator key change is accepted only through one checkpoint signed by the old and the
   new key (a ``next-operator-key`` line in its signed body); later checkpoints need the new key.

After the pass: no checkpoint or Merkle node lies beyond the log, there are no domain events
without a leaf, the key index (``ledger_keys``) is what the registry leaves say, every
cosignature by a registered cosigner verifies, and the latest checkpoint carries a valid
cosignature of every witness the caller requires (``--witness``).

Signature checks — the physical limit of this pass (LIMITS.md) — run on every core: worker
processes parse and check whole batches of leaves and verify each signature with the key its
``key_id`` names; the main process keeps the sequential decisions (which key was valid at that
position, the tree, the checkpoints). Verification raises at the first failure (STYLE.md
habit 3) with a :class:`~ledger.errors.VerificationFailed` subclass naming the ``seq`` or the
checkpoint (its tree size).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from ledger.domain.aggregates import SUBJECT, KeyPeriod, subject_uuid
from ledger.domain.envelope import Envelope, key_id_of, verify_ed25519
from ledger.domain.policy import COSIGNERS, SIGNERS
from ledger.domain.schema import REGISTRY_TYPES
from ledger.encoding.b64 import Base64Invalid, b64decode_strict, b64encode
from ledger.encoding.canonical import canonical
from ledger.errors import OperationalError, Refused, VerificationFailed
from ledger.persistence.store import StoredCheckpoint
from ledger.translog import merkle
from ledger.translog.note import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    CheckpointMalformed,
    CosignatureInvalid,
    NoteMalformed,
    NoteSignatureInvalid,
    Verifier,
    VerifierKeyInvalid,
    cosignature_key_id,
    open_checkpoint,
    parse_note,
    parse_verifier_key,
    verify_cosignature,
    verify_note,
)

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.keys.keystore import Keystore

__all__ = [
    "CheckpointMismatch",
    "EventMismatch",
    "Intact",
    "KeyIndexMismatch",
    "KeyNotValidAt",
    "LeafMissing",
    "NEXT_OPERATOR_KEY",
    "LeafTampered",
    "RegistryInvalidAt",
    "SignatureInvalidAt",
    "TreeMismatch",
    "Trust",
    "TrustAnchor",
    "TrustAnchorMismatch",
    "WitnessMissing",
    "leaf_hashes_path",
    "load_operator_verifiers",
    "load_trust",
    "load_witnesses",
    "remember",
    "run_verify",
    "verify_ledger",
]

TRUSTED_STATE = "trusted.json"
RETIRED_OPERATOR_KEYS = "operator-retired.pub"  # verifier keys the operator signed with before a key change
NEXT_OPERATOR_KEY = "next-operator-key "  # checkpoint extension line: the key that signs from here on
COSIGNED_DIR = "cosigned"  # cosigned/<actor>.json: the last checkpoint that cosigner signed (ledger.translog.cosign)
_HASH = 32  # bytes per leaf hash in an anchor's leaf-hash file
RECORDED_AT_BEFORE_AT = dt.timedelta(minutes=5)  # DESIGN §6: recorded_at never > 5 min before at
PARALLEL_THRESHOLD = 4000  # below this many leaves, starting worker processes costs more than it saves
_RECORDED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", re.ASCII)
_PUBLIC_KEY = re.compile(rb'"public_key":"([A-Za-z0-9+/]{43}=)"')
_EVENT_STATE_KEYS = frozenset({"timestamp", "seq", "recorded_at", "envelope"})


# --- errors: one class per failure, all VerificationFailed (exit status 1) ---------------------
class LeafTampered(VerificationFailed):
    """The leaf bytes, or a column of their row, are not what the log format says."""

    code = "leaf_tampered"


class LeafMissing(VerificationFailed):
    """A ``seq`` is missing: the log is not gapless."""

    code = "leaf_missing"


class SignatureInvalidAt(VerificationFailed):
    """The envelope's signature does not verify with the key the registry held at that leaf."""

    code = "signature_invalid"


class KeyNotValidAt(VerificationFailed):
    """The signing actor or key was unknown, rotated or revoked at that leaf, or the role may not sign it."""

    code = "key_not_valid"


class RegistryInvalidAt(VerificationFailed):
    """A registry leaf that the ledger would have refused (duplicate actor, unknown key)."""

    code = "registry_invalid"


class EventMismatch(VerificationFailed):
    """The ``eventsourcing`` domain events and the log leaves do not match one for one."""

    code = "event_mismatch"


class TreeMismatch(VerificationFailed):
    """A stored Merkle node is missing, extra, or differs from the recomputed one."""

    code = "tree_mismatch"


class CheckpointMismatch(VerificationFailed):
    """A stored checkpoint is not signed by a trusted key, or does not match the log."""

    code = "checkpoint_mismatch"


class TrustAnchorMismatch(VerificationFailed):
    """The log no longer contains the checkpoint this verifier trusted before."""

    code = "trust_anchor_mismatch"


class KeyIndexMismatch(VerificationFailed):
    """A ``ledger_keys`` row disagrees with the registry leaves."""

    code = "key_index_mismatch"


class WitnessMissing(VerificationFailed):
    """The checkpoint ``verify`` relies on lacks a valid cosignature of a witness the caller requires."""

    code = "witness_missing"


_ERRORS: dict[str, type[VerificationFailed]] = {
    cls.code: cls
    for cls in (LeafTampered, EventMismatch, SignatureInvalidAt, TreeMismatch)
}


# --- trust ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrustAnchor:
    """The largest checkpoint this verifier has seen verified (``trusted.json``)."""

    origin: str
    size: int
    root: bytes

    @classmethod
    def load(cls, keys: Keystore) -> TrustAnchor | None:
        return cls.load_file(keys.root / TRUSTED_STATE)

    @classmethod
    def load_file(cls, path: Path) -> TrustAnchor | None:
        """The anchor kept in ``path`` (``trusted.json``, ``--anchor FILE``), or None if there is none yet."""
        if not path.exists():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise OperationalError(f"{path} is unreadable") from None
        return cls.from_state(state, str(path))

    @classmethod
    def from_state(cls, state: Any, where: str) -> TrustAnchor:
        try:
            size, root, origin = state["size"], b64decode_strict(state["root"]), state["origin"]
            if type(size) is not int or size < 0 or len(root) != 32 or not isinstance(origin, str):
                raise ValueError
        except (KeyError, TypeError, ValueError, Base64Invalid):
            raise OperationalError(f"{where} is not a trust anchor") from None
        return cls(origin, size, root)

    def as_state(self, note: str | None = None) -> dict[str, Any]:
        state: dict[str, Any] = {"origin": self.origin, "size": self.size, "root": b64encode(self.root)}
        if note is not None:
            state["checkpoint"] = note
        return state

    def save(self, path: Path, note: str | None, leaf_hashes: Path | None = None) -> None:
        """Write the anchor (and move its leaf-hash file into place first), each atomically."""
        path.parent.mkdir(parents=True, exist_ok=True)
        state = self.as_state(note)
        if leaf_hashes is not None:
            leaf_hashes.replace(leaf_hashes_path(path))
            state["leaf_hashes"] = leaf_hashes_path(path).name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)


def leaf_hashes_path(anchor: Path) -> Path:
    """The anchor's leaf-hash file: ``trusted.json`` → ``trusted.leaves`` (32 bytes per leaf, seq order)."""
    return anchor.with_suffix(".leaves")


def load_operator_verifiers(keys: Keystore, operator_key: str | None = None) -> list[Verifier]:
    """The operator's verifier key(s): ``--operator-key`` (a key or a file of keys) or ``operator.pub``.

    Never the database: a verifier that took the key from the ledger it checks would accept any
    history re-signed by whoever rewrote it. Several lines are several trusted keys (an operator
    key change dual-signs one checkpoint, DESIGN §6); each stored checkpoint needs one of them.
    """
    if operator_key is not None:
        try:
            return [parse_verifier_key(operator_key.strip())]
        except VerifierKeyInvalid:
            pass
        path = Path(operator_key)
        if not path.is_file():
            raise OperationalError(f"--operator-key: {operator_key!r} is neither a verifier key nor a file")
    else:
        path = keys.root / "operator.pub"
        if not path.is_file():
            raise OperationalError(f"no operator key: {path} is missing (pass --operator-key)")
        retired = keys.root / RETIRED_OPERATOR_KEYS  # keys before `checkpoint rotate-operator`
        if retired.is_file():
            verifiers = _verifier_file(retired) + _verifier_file(path)
            if len({v.name for v in verifiers}) != 1:
                raise OperationalError(f"{retired} and {path} name different origins")
            return verifiers
    return _verifier_file(path)


def _verifier_file(path: Path) -> list[Verifier]:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationalError(f"cannot read {path}: {exc}") from None
    try:
        verifiers = [parse_verifier_key(line) for line in lines]
    except VerifierKeyInvalid as exc:
        raise OperationalError(f"{path}: {exc}") from None
    if not verifiers:
        raise OperationalError(f"{path} holds no verifier key")
    if len({v.name for v in verifiers}) != 1:
        raise OperationalError(f"{path}: all operator keys must name the same origin")
    return verifiers


def load_witnesses(specs: Sequence[str]) -> list[Verifier]:
    """``--witness KEY``: a C2SP cosigner verifier key (``name+hexid+base64(0x04 || key)``) or a file holding one."""
    witnesses: list[Verifier] = []
    for spec in specs:
        try:
            witness = parse_verifier_key(spec.strip())
        except VerifierKeyInvalid:
            try:
                text = Path(spec).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                raise OperationalError(f"--witness: {spec[:80]!r} is neither a verifier key nor a readable file") from None
            try:
                witness = parse_verifier_key(text)
            except VerifierKeyInvalid as exc:
                raise OperationalError(f"--witness {spec}: {exc}") from None
        if witness.signature_type != SIG_TYPE_COSIGNATURE_V1:
            raise OperationalError(f"--witness {spec}: not a tlog-cosignature/v1 key (type 0x04)")
        witnesses.append(witness)
    return witnesses


# --- the result --------------------------------------------------------------------------------
@dataclass
class Intact:
    """What an intact verification covered."""

    size: int
    signatures: int = 0
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    latest_root: bytes | None = None
    latest_note: str | None = None
    trusted_size: int | None = None
    cosigners: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    workers: int = 0
    witnesses: list[str] = field(default_factory=list)  # witnesses whose cosignature the latest checkpoint carries
    cosigned_anchors: dict[str, int] = field(default_factory=dict)  # cosigner -> size of its saved checkpoint
    operator_key_changes: list[int] = field(default_factory=list)  # sizes of dual-signed checkpoints
    leaves_compared: int = 0  # leaves compared with the anchor's leaf hashes
    trust: dict[str, Any] = field(default_factory=dict)  # filled by run_verify: see Trust.as_json
    leaf_hashes_file: Path | None = None  # the recorded leaf hashes up to latest_checkpoint, for the next anchor

    @property
    def uncovered(self) -> int:
        """Leaves not yet under a signed checkpoint: only the database vouches for them."""
        return self.size - (self.latest_checkpoint or 0)

    @property
    def events_per_second(self) -> float:
        return self.size / self.elapsed if self.elapsed > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "intact": True,
            "size": self.size,
            "first_bad_seq": None,
            "checkpoint": None,
            "reason": None,
            "code": None,
            "signatures": self.signatures,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "latest_root": None if self.latest_root is None else b64encode(self.latest_root),
            "uncovered": self.uncovered,
            "trusted_size": self.trusted_size,
            "cosigners": self.cosigners,
            "elapsed_s": round(self.elapsed, 3),
            "events_per_s": round(self.events_per_second, 1),
            "workers": self.workers,
            "witnesses": self.witnesses,
            "cosigned_anchors": self.cosigned_anchors,
            "operator_key_changes": self.operator_key_changes,
            "leaves_compared": self.leaves_compared,
            **self.trust,
        }


def failure_json(exc: VerificationFailed, size: int) -> dict[str, Any]:
    return {
        "intact": False,
        "size": size,
        "first_bad_seq": exc.seq,
        "checkpoint": exc.checkpoint,
        "reason": str(exc),
        "code": exc.code,
    }


# --- the monitor's leaf hashes -------------------------------------------------------------------------
class _LeafMonitor:
    """Compares each leaf hash with the one this verifier saw under its anchor, and records the new ones.

    The anchor's leaf-hash file (32 bytes per leaf, ``seq`` order) lets a rewrite be named by its
    first changed ``seq``, not only by the checkpoint whose root moved. The file is read a chunk
    at a time and proven against the anchor's root (RFC 9162 tree) before it accuses a leaf, so
    a damaged file is an operational error, never a false "rewritten at seq k".
    """

    _CHUNK = 4096  # leaf hashes read at a time

    def __init__(self, anchor: TrustAnchor | None, known: Path | None, record: Path | None):
        self.anchor = anchor
        self.known = None
        self.count = 0
        if anchor is not None and known is not None and known.is_file():
            if known.stat().st_size != anchor.size * _HASH:
                raise OperationalError(f"{known} does not hold the {anchor.size} leaf hashes of its trust anchor")
            self.known = known.open("rb")
            self.count = anchor.size
        self.buffer = b""
        self.buffer_start = 0
        self.record_path = record
        self.record = None if record is None else record.open("wb")
        self.compared = 0

    def see(self, seq: int, leaf_hash: bytes) -> None:
        if self.record is not None:
            self.record.write(leaf_hash)
        if seq >= self.count or self.known is None:
            return
        offset = seq - self.buffer_start
        if not 0 <= offset * _HASH < len(self.buffer):
            self.known.seek(seq * _HASH)
            self.buffer, self.buffer_start, offset = self.known.read(self._CHUNK * _HASH), seq, 0
        seen = self.buffer[offset * _HASH : (offset + 1) * _HASH]
        self.compared += 1
        if seen != leaf_hash:
            self._prove_known()
            assert self.anchor is not None
            raise TrustAnchorMismatch(
                f"leaf {seq} differs from the leaf this verifier saw under its trusted checkpoint"
                f" {self.anchor.size}: history was rewritten from seq {seq}", seq=seq, checkpoint=self.anchor.size,
            )  # fmt: skip

    def _prove_known(self) -> None:
        assert self.known is not None and self.anchor is not None
        self.known.seek(0)
        frontier = merkle.CompactRange()
        while chunk := self.known.read(self._CHUNK * _HASH):
            for i in range(0, len(chunk), _HASH):
                frontier.append(chunk[i : i + _HASH])
        if frontier.root() != self.anchor.root:
            raise OperationalError(f"{self.known.name} does not hash to its trust anchor's root: it was damaged")

    def close(self, keep: int | None = None) -> Path | None:
        """Close both files; return the recorded file cut to ``keep`` leaves (None: discard it)."""
        if self.known is not None:
            self.known.close()
        if self.record is None or self.record_path is None:
            return None
        self.record.close()
        if keep is None:
            self.record_path.unlink(missing_ok=True)
            return None
        os.truncate(self.record_path, keep * _HASH)
        return self.record_path


# --- per-leaf checks (run in worker processes) ---------------------------------------------------
class _Fact(NamedTuple):
    """What the sequential part needs to know about one leaf that passed its own checks."""

    seq: int
    recorded_at: str
    at: dt.datetime
    type: str
    actor: str
    key_id: str
    sig_ok: bool | None  # None: the key named by key_id was not in the key map given to the worker
    body: dict[str, Any] | None  # registry events only
    leaf_hash: bytes
    signed: tuple[bytes, bytes] | None  # (signature, signed bytes) when sig_ok is None


_Row = tuple[Any, ...]
# (seq, recorded_at, leaf, leaf_hash, actor, type, nonce, originator_id, originator_version,
#  stored level-0 node, topic, state) — the columns of _stream_sql


class _Bad(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class _NotLedgerJSON(ValueError):
    pass


def _no_float(text: str) -> Any:
    raise _NotLedgerJSON(f"numbers must be integers, not {text}")


def _no_constant(text: str) -> Any:
    raise _NotLedgerJSON(f"{text} is not JSON")


# json's C scanner, calling back only for floats and NaN/Infinity (DESIGN §6 allows neither).
_DECODER = json.JSONDecoder(parse_float=_no_float, parse_constant=_no_constant)
_ENVELOPE_PREFIX = b'{"envelope":'


def _check_rows(rows: Sequence[_Row], keys: dict[str, bytes]) -> tuple[list[_Fact], tuple[int, str, str] | None]:
    """Check a batch of leaves in order; stop at the first bad one and say why."""
    facts: list[_Fact] = []
    for row in rows:
        try:
            facts.append(_check_leaf(row, keys))
        except _Bad as bad:
            return facts, (int(row[0]), bad.code, str(bad))
    return facts, None


def _check_leaf(row: _Row, keys: dict[str, bytes]) -> _Fact:
    seq, rec_col, leaf, hash_col, actor_col, type_col, nonce_col, oid, version, node0, topic, state = row
    # 1. The leaf bytes are JCS of exactly {seq, recorded_at, envelope} (DESIGN §6 "Log"):
    #    re-encoding what was parsed must give the same bytes, which refuses duplicate keys,
    #    other spacing, escapes or key order; floats and NaN are refused while parsing.
    try:
        obj = _DECODER.decode(leaf.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise _Bad("leaf_tampered", "leaf bytes are not JSON as the log format allows") from None
    if not isinstance(obj, dict) or obj.keys() != {"seq", "recorded_at", "envelope"}:
        raise _Bad("leaf_tampered", "leaf is not {seq, recorded_at, envelope}")
    try:
        canon = canonical(obj)
    except (ValueError, TypeError, UnicodeEncodeError):  # e.g. a lone surrogate has no UTF-8
        canon = b""
    if canon != leaf:
        raise _Bad("leaf_tampered", "leaf bytes are not the RFC 8785 canonical JSON of the leaf")
    # 2. The seq inside the leaf is the row's.
    if type(obj["seq"]) is not int or obj["seq"] != seq:
        raise _Bad("leaf_tampered", f"the leaf says seq {obj['seq']!r} but is stored as seq {seq}")
    # 3. recorded_at: UTC RFC 3339 with microseconds, as the row says.
    recorded_at = obj["recorded_at"]
    if not isinstance(recorded_at, str) or not _RECORDED_AT.fullmatch(recorded_at):
        raise _Bad("leaf_tampered", "recorded_at is not UTC RFC 3339 with microseconds")
    try:
        recorded = dt.datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad("leaf_tampered", "recorded_at is not a valid time") from None
    if recorded_at != rec_col:
        raise _Bad("leaf_tampered", "the recorded_at column differs from the leaf")
    # 4. The stored leaf hash and level-0 Merkle node are RFC 9162's SHA-256(0x00 || leaf).
    h = merkle.leaf_hash(leaf)
    if h != hash_col:
        raise _Bad("leaf_tampered", "stored leaf_hash is not SHA-256(0x00 || leaf bytes)")
    if node0 is None:
        raise _Bad("tree_mismatch", f"stored Merkle node (0, {seq}) is missing")
    if bytes(node0) != h:
        raise _Bad("tree_mismatch", f"stored Merkle node (0, {seq}) is not the leaf's hash")
    # 5. The envelope is one the ledger accepts (DESIGN §6, EVENTS.md), and the row agrees.
    #    The value walk of check_value is not needed again: parsing refused floats and NaN,
    #    re-encoding refused lone surrogates, the schema refuses unknown (so non-ASCII) keys,
    #    and every integer field of the schema is bounded within ±(2^53−1)
    #    (tests/unit/test_verify_leaf.py keeps that last point true).
    try:
        env = Envelope.from_dict(obj["envelope"], parsed=True, recorded=True)
    except Refused as exc:
        raise _Bad("leaf_tampered", f"envelope refused: {exc}") from None
    if (env.actor, env.type, env.nonce) != (actor_col, type_col, nonce_col):
        raise _Bad("leaf_tampered", "the actor/type/nonce columns differ from the envelope")
    if recorded < env.at - RECORDED_AT_BEFORE_AT:
        raise _Bad("leaf_tampered", "recorded_at is more than five minutes before the envelope's at")
    # The envelope's JCS bytes are a slice of the (canonical) leaf; the signed bytes are that
    # slice without the "sig" member (keys are sorted, and "type" always follows "sig").
    envelope_bytes = leaf[len(_ENVELOPE_PREFIX) : leaf.rindex(b',"recorded_at":')]
    signed = envelope_bytes.replace(b'"sig":"' + obj["envelope"]["sig"].encode() + b'",', b"", 1)
    # 6. The domain event is on the right aggregate and holds the same leaf.
    _check_event(seq, recorded_at, env, envelope_bytes, oid, version, topic, state)
    # 7. The signature, with the key its key_id names (which key was *valid* is decided later).
    public_key = keys.get(env.key_id)
    sig_ok = None if public_key is None else _ed25519_ok(public_key, env.sig, signed)
    body = obj["envelope"]["body"] if env.type in REGISTRY_TYPES else None
    return _Fact(seq, recorded_at, env.at, env.type, env.actor, env.key_id, sig_ok, body, h,
                 None if sig_ok is not None else (env.sig, signed))  # fmt: skip


def _ed25519_ok(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        verify_ed25519(public_key, signature, message)
    except Refused:
        return False
    return True


def _check_event(
    seq: int, recorded_at: str, env: Envelope, envelope_bytes: bytes, oid: Any, version: Any, topic: Any, state: Any
) -> None:
    cls, field_name = SUBJECT[env.type]
    subject = subject_uuid(cls.KIND, str(env.raw["body"][field_name]))
    if str(oid) != subject.hex or type(version) is not int or version < 1:
        raise _Bad("event_mismatch", f"the leaf row names domain event {oid}/{version}, not one of {cls.KIND} {subject.hex}")
    if state is None:
        raise _Bad("event_mismatch", f"no domain event {oid} v{version} for this leaf")
    try:
        decoded = json.loads(state)
    except (ValueError, UnicodeDecodeError):
        raise _Bad("event_mismatch", "the stored domain event is not readable JSON") from None
    if not isinstance(decoded, dict) or not decoded.keys() >= _EVENT_STATE_KEYS:
        raise _Bad("event_mismatch", "the stored domain event's fields were altered")
    if not isinstance(topic, str) or not topic.endswith("." + env.type):
        raise _Bad("event_mismatch", f"the stored domain event's topic {topic!r} is not {env.type}")
    if decoded["seq"] != seq or decoded["recorded_at"] != recorded_at:
        raise _Bad("event_mismatch", "the stored domain event has another seq or recorded_at")
    try:
        same_envelope = canonical(decoded["envelope"]) == envelope_bytes
    except (ValueError, TypeError, UnicodeEncodeError):
        same_envelope = False
    if not same_envelope:
        raise _Bad("event_mismatch", "the stored domain event holds another envelope than the leaf")
    stamp = decoded["timestamp"]
    if not isinstance(stamp, dict) or stamp.get("_type_") != "datetime_iso" or not isinstance(stamp.get("_data_"), str):
        raise _Bad("event_mismatch", "the stored domain event's timestamp was altered")
    try:
        dt.datetime.fromisoformat(stamp["_data_"])
    except ValueError:
        raise _Bad("event_mismatch", "the stored domain event's timestamp was altered") from None


# --- the key registry as it stood at each leaf (sequential) ------------------------------------------
@dataclass
class _ActorKeys:
    role: str
    keys: list[KeyPeriod]

    def key(self, key_id: str) -> KeyPeriod | None:
        for period in reversed(self.keys):
            if period.key_id == key_id:
                return period
        return None


class _Registry:
    """Actors and their key periods, rebuilt from the registry leaves as the pass goes."""

    def __init__(self) -> None:
        self.actors: dict[str, _ActorKeys] = {}
        self.key_rows: dict[str, tuple[str, int]] = {}  # key_id -> (actor_id, seq): the key index

    def signing_key(self, fact: _Fact) -> bytes:
        """The raw key that must have signed this leaf; raise if none was valid there."""
        seq = fact.seq
        if seq == 0:  # DESIGN §6: the genesis ActorRegistered of the first admin, signed by itself
            body = fact.body or {}
            if fact.type != "ActorRegistered" or body.get("role") != "admin" or body.get("actor_id") != fact.actor:
                raise KeyNotValidAt("leaf 0 is not the first admin's ActorRegistered, signed by itself", seq=0)
            raw = b64decode_strict(body["public_key"])
            if key_id_of(raw) != fact.key_id:
                raise KeyNotValidAt("leaf 0 is not signed by the key it registers", seq=0)
            return raw
        actor = self.actors.get(fact.actor)
        if actor is None:
            raise KeyNotValidAt(f"actor {fact.actor!r} was not registered before this leaf", seq=seq)
        period = actor.key(fact.key_id)
        if period is None:
            raise KeyNotValidAt(f"{fact.key_id} was not a key of {fact.actor!r} at this leaf", seq=seq)
        if not period.valid_at(seq, fact.at):
            raise KeyNotValidAt(
                f"{fact.key_id} of {fact.actor!r} was rotated or revoked (leaf {period.until_seq},"
                f" effective {period.until_at}) before this envelope", seq=seq,
            )  # fmt: skip
        allowed = SIGNERS.get(fact.type, frozenset())
        self_rotation = "*self*" in allowed and (fact.body or {}).get("actor_id") == fact.actor
        if actor.role not in allowed and not self_rotation:
            raise KeyNotValidAt(f"role {actor.role} may not sign {fact.type}", seq=seq)
        if fact.type == "KeyRotated" and actor.role != "admin":
            subject = self.actors.get(fact.actor)
            current = [p for p in subject.keys if p.until_seq is None] if subject else []
            if not current or current[0].key_id != fact.key_id:
                raise KeyNotValidAt("an actor rotates its own key only with its current key", seq=seq)
        return b64decode_strict(period.public_key)

    def apply(self, fact: _Fact) -> None:
        """Mirror of :class:`ledger.domain.aggregates.Actor`'s handlers, leaf by leaf."""
        body = fact.body
        if body is None:
            return
        actor_id = body["actor_id"]
        subject = self.actors.get(actor_id)
        if fact.type == "ActorRegistered":
            if subject is not None:
                raise RegistryInvalidAt(f"actor {actor_id!r} is registered a second time", seq=fact.seq)
            subject = self.actors[actor_id] = _ActorKeys(body["role"], [])
            self._add_key(actor_id, subject, body["public_key"], fact.seq)
            return
        if subject is None:
            raise RegistryInvalidAt(f"{fact.type} names unknown actor {actor_id!r}", seq=fact.seq)
        if fact.type == "KeyRotated":
            for period in subject.keys:
                if period.until_seq is None:
                    period.until_seq, period.until_at = fact.seq, fact.at.isoformat()
            self._add_key(actor_id, subject, body["public_key"], fact.seq)
        else:  # KeyRevoked
            target = subject.key(body["key_id"])
            if target is None:
                raise RegistryInvalidAt(f"{body['key_id']} is not a key of {actor_id!r}", seq=fact.seq)
            if target.until_seq is None:
                target.until_seq, target.until_at = fact.seq, body["effective_at"]

    def _add_key(self, actor_id: str, subject: _ActorKeys, public_key: str, seq: int) -> None:
        key_id = key_id_of(b64decode_strict(public_key))
        subject.keys.append(KeyPeriod(key_id, public_key, seq))
        self.key_rows.setdefault(key_id, (actor_id, seq))

    def public_keys(self, actor_id: str) -> list[bytes]:
        actor = self.actors.get(actor_id)
        return [] if actor is None else [b64decode_strict(p.public_key) for p in actor.keys]


# --- reading the store ---------------------------------------------------------------------------
def _stream_sql(postgres: bool, events: str) -> str:
    """Leaves ``[start, stop)`` with their level-0 node and domain event, in seq order."""
    if postgres:
        # A hand-edited originator_id that is not a UUID must not abort the query: no match.
        join = "e.originator_id = (CASE WHEN l.originator_id ~ '^[0-9a-f]{32}$' THEN CAST(l.originator_id AS uuid) END)"
    else:
        join = "e.originator_id = l.originator_id"
    return (
        "SELECT l.seq, l.recorded_at, l.leaf, l.leaf_hash, l.actor, l.type, l.nonce, l.originator_id,"
        " l.originator_version, t.hash, e.topic, e.state"
        " FROM ledger_leaves l"
        " LEFT JOIN ledger_tree t ON t.level = 0 AND t.idx = l.seq"
        f" LEFT JOIN {events} e ON {join} AND e.originator_version = l.originator_version"
        " WHERE l.seq >= ? AND l.seq < ? ORDER BY l.seq"
    )


def _events_table(ledger: Ledger) -> str:
    """``stored_events`` on SQLite, ``ledger_events`` on PostgreSQL (the library names it)."""
    return str(cast(Any, ledger.recorder).events_table_name)


def _plain_state(mapper: Any, state: bytes | None) -> bytes | None:
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


def _plain_rows(rows: list[tuple[Any, ...]], mapper: Any = None) -> list[_Row]:
    out = []
    for r in rows:
        state = r[11] if mapper is None else _plain_state(mapper, r[11])
        out.append((int(r[0]), r[1], bytes(r[2]), bytes(r[3]), r[4], r[5], r[6], str(r[7]).replace("-", ""),
                    r[8], None if r[9] is None else bytes(r[9]), r[10], None if state is None else bytes(state)))  # fmt: skip
    return out


def _nodes_completed(ledger: Ledger, first: int, last: int) -> dict[tuple[int, int], bytes]:
    """Stored nodes above level 0 that become complete at leaves ``first..last``."""
    wanted: list[tuple[int, int, int]] = []
    level = 1
    while (1 << level) <= last + 1:
        lo = ((first + (1 << level)) >> level) - 1
        hi = ((last + 1) >> level) - 1
        if lo <= hi:
            wanted.append((level, lo, hi))
        level += 1
    if not wanted:
        return {}
    cond = " OR ".join(["(level = ? AND idx BETWEEN ? AND ?)"] * len(wanted))
    rows = ledger.sql.all(f"SELECT level, idx, hash FROM ledger_tree WHERE {cond}", [v for w in wanted for v in w])
    return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}


def _checkpoint_rows(ledger: Ledger, page: int = 1000) -> Iterator[StoredCheckpoint]:
    """Stored checkpoints by size, then signing time, a page at a time."""
    last: tuple[int, str] = (-1, "")
    while True:
        rows = ledger.sql.all(
            "SELECT size, root_hash, note, signed_at FROM ledger_checkpoints"
            " WHERE size > ? OR (size = ? AND signed_at > ?) ORDER BY size, signed_at LIMIT ?",
            (last[0], last[0], last[1], page),
        )
        if not rows:
            return
        for row in rows:
            yield StoredCheckpoint.from_row(row)
        last = (int(rows[-1][0]), str(rows[-1][3]))


def _key_material(ledger: Ledger, stop: int) -> dict[str, bytes]:
    """key_id -> raw key of every key registered below ``stop``, for the workers' signature checks.

    Pure key material, found through the key index (a hint only: a key it misses is checked in
    the main process, and the index itself is checked against the registry leaves afterwards).
    Which key was *valid* where is the registry's sequential decision.
    """
    seqs = [int(r[0]) for r in ledger.sql.all("SELECT seq FROM ledger_keys WHERE seq < ?", (stop,))]
    keys: dict[str, bytes] = {}
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        rows = ledger.sql.all(f"SELECT leaf FROM ledger_leaves WHERE seq IN ({','.join('?' * len(chunk))})", chunk)
        for (leaf,) in rows:
            match = _PUBLIC_KEY.search(bytes(leaf))
            if match:
                try:
                    raw = b64decode_strict(match.group(1).decode())
                except Base64Invalid:
                    continue
                keys[key_id_of(raw)] = raw
    return keys


# --- worker processes ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    """How a worker process reads the store on its own connection (no leaf bytes cross processes)."""

    postgres: bool
    target: str  # the SQLite file, or a libpq conninfo
    sql: str


_WORKER: dict[str, Any] = {}


def _worker_init(source: _Source, keys: dict[str, bytes]) -> None:
    _WORKER.clear()
    _WORKER.update(source=source, keys=keys, conn=None)


def _worker_rows(start: int, stop: int) -> list[_Row]:
    source: _Source = _WORKER["source"]
    if _WORKER["conn"] is None:
        if source.postgres:
            import psycopg

            _WORKER["conn"] = psycopg.connect(source.target, autocommit=True)
        else:
            import sqlite3

            uri = Path(source.target).resolve().as_uri() + "?mode=ro"
            _WORKER["conn"] = sqlite3.connect(uri, uri=True, timeout=60)
    sql = source.sql.replace("?", "%s") if source.postgres else source.sql
    return _plain_rows(_WORKER["conn"].execute(sql, (start, stop)).fetchall())


def _check_range(start: int, stop: int) -> tuple[list[_Fact], tuple[int, str, str] | None]:
    return _check_rows(_worker_rows(start, stop), _WORKER["keys"])


def _source(ledger: Ledger) -> _Source | None:
    """Where workers can read on their own, or None (in-memory SQLite, encrypted events)."""
    mapper = ledger.mapper
    if mapper.cipher is not None or mapper.compressor is not None:
        return None
    env = ledger.env
    sql = _stream_sql(ledger.sql.postgres, _events_table(ledger))
    if ledger.sql.postgres:
        from psycopg.conninfo import make_conninfo

        target = make_conninfo(
            dbname=env.get("POSTGRES_DBNAME"), host=env.get("POSTGRES_HOST"), port=env.get("POSTGRES_PORT"),
            user=env.get("POSTGRES_USER"), password=env.get("POSTGRES_PASSWORD") or None,
        )  # fmt: skip
        return _Source(True, target, sql)
    path = env.get("SQLITE_DBNAME", "")
    if not path or path == ":memory:" or "mode=memory" in path:
        return None
    return _Source(False, path, sql)


def _pool(workers: int, source: _Source, keys: dict[str, bytes]) -> Any:
    # fork: workers inherit the imported modules and need nothing from __main__ (spawn and
    # forkserver re-run the caller's main script, which breaks under `python -` or notebooks).
    # Workers open their own connection and touch no inherited one.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ctx.Pool(workers, initializer=_worker_init, initargs=(source, keys))


def _checked(
    ledger: Ledger, stop: int, batch: int, workers: int
) -> Iterator[tuple[int, int, list[_Fact], tuple[int, str, str] | None]]:
    """(start, stop, facts, first error) per range of seqs, in order; worker processes when ``workers`` > 0."""
    keys = _key_material(ledger, stop)
    ranges = ((a, min(a + batch, stop)) for a in range(0, stop, batch))
    source = _source(ledger) if workers > 0 else None
    if source is None:
        sql = _stream_sql(ledger.sql.postgres, _events_table(ledger))
        mapper = ledger.mapper if (ledger.mapper.cipher or ledger.mapper.compressor) else None
        for a, b in ranges:
            rows = _plain_rows(ledger.sql.all(sql, (a, b)), mapper)
            yield (a, b, *_check_rows(rows, keys))
        return
    pool = _pool(workers, source, keys)
    try:
        pending: deque[tuple[int, int, Any]] = deque()
        for a, b in ranges:
            pending.append((a, b, pool.apply_async(_check_range, (a, b))))
            while len(pending) > 2 * workers:  # bounded: memory stays flat
                a0, b0, result = pending.popleft()
                yield (a0, b0, *result.get())
        while pending:
            a0, b0, result = pending.popleft()
            yield (a0, b0, *result.get())
    finally:
        pool.terminate()
        pool.join()


# --- the pass ------------------------------------------------------------------------------------------
def verify_ledger(
    ledger: Ledger,
    verifiers: Sequence[Verifier],
    anchor: TrustAnchor | None = None,
    *,
    workers: int | None = None,
    batch: int = 1000,
    progress: Callable[[int], None] | None = None,
    cosigned: Sequence[tuple[str, TrustAnchor]] = (),
    witnesses: Sequence[Verifier] = (),
    known_leaves: Path | None = None,
    record_leaves: Path | None = None,
) -> Intact:
    """Verify the whole ledger; return what was covered, or raise at the first failure.

    ``verifiers`` are the trusted operator keys (never read from the database); ``anchor`` is
    the largest checkpoint verified before (``trusted.json`` or ``--anchor``), ``known_leaves``
    its leaf-hash file; ``cosigned`` are the checkpoints cosigners saved; ``witnesses`` must have
    cosigned the latest checkpoint. ``record_leaves`` receives every leaf hash of the pass (the
    next anchor's leaf-hash file; the caller cuts and keeps it). ``workers`` processes check
    leaves and signatures (default: every core for a log large enough to be worth it; 0: here).
    """
    if not verifiers:
        raise OperationalError("no trusted operator key")
    origin = verifiers[0].name
    if anchor is not None and anchor.origin != origin:
        raise OperationalError(f"the trust anchor is for log {anchor.origin!r}, not {origin!r}")
    monitor = _LeafMonitor(anchor, known_leaves, record_leaves)
    try:
        return _verify_pass(ledger, verifiers, anchor, workers, batch, progress, cosigned, witnesses, monitor)
    except BaseException:
        monitor.close(None)
        raise


def _verify_pass(
    ledger: Ledger, verifiers: Sequence[Verifier], anchor: TrustAnchor | None, workers: int | None, batch: int,
    progress: Callable[[int], None] | None, cosigned: Sequence[tuple[str, TrustAnchor]],
    witnesses: Sequence[Verifier], monitor: _LeafMonitor,
) -> Intact:  # fmt: skip
    origin = verifiers[0].name
    started = time.perf_counter()
    stop = ledger.size()
    if workers is None:
        workers = (os.cpu_count() or 1) if stop >= PARALLEL_THRESHOLD else 0
    intact = Intact(size=stop, workers=workers, trusted_size=None if anchor is None else anchor.size)
    registry = _Registry()
    frontier = merkle.CompactRange()
    checkpoints = _CheckpointChecker(ledger, verifiers, origin, anchor, intact, cosigned)
    intact.cosigned_anchors = {who: seen.size for who, seen in cosigned}
    checkpoints.reach(frontier)  # a checkpoint of size 0, if any
    expected = 0
    last_recorded = ""
    for start, end, facts, error in _checked(ledger, stop, batch, workers):
        stored_nodes = _nodes_completed(ledger, start, end - 1)
        for fact in facts:
            seq = fact.seq
            # 1. Gapless: the next leaf is the next seq.
            if seq != expected:
                raise LeafMissing(f"seq {expected} is missing (the next stored leaf is seq {seq})", seq=expected)
            # 2. recorded_at never decreases along seq (fixed-width UTC: text order is time order).
            if fact.recorded_at < last_recorded:
                raise LeafTampered(f"recorded_at {fact.recorded_at} is earlier than the leaf before it", seq=seq)
            last_recorded = fact.recorded_at
            # 3. The key valid at this position, then the signature with it.
            public_key = registry.signing_key(fact)
            ok = fact.sig_ok
            if ok is None and fact.signed is not None:
                ok = _ed25519_ok(public_key, *fact.signed)
            if not ok:
                raise SignatureInvalidAt(f"signature of {fact.actor!r} ({fact.key_id}) does not verify", seq=seq)
            intact.signatures += 1
            registry.apply(fact)
            # The leaf this verifier saw there before, if it kept the anchor's leaf hashes.
            monitor.see(seq, fact.leaf_hash)
            # 4. The Merkle tree: every node this leaf completes is stored, and equal (level 0
            #    was compared with the leaf hash by the per-leaf check).
            for level, idx, node in frontier.append(fact.leaf_hash)[1:]:
                stored = stored_nodes.get((level, idx))
                if stored is None:
                    raise TreeMismatch(f"stored Merkle node ({level}, {idx}) is missing", seq=seq)
                if stored != node:
                    raise TreeMismatch(f"stored Merkle node ({level}, {idx}) differs from the recomputed one", seq=seq)
            expected += 1
            # 5. Checkpoints and the trust anchor of exactly this size.
            checkpoints.reach(frontier)
        if error is not None:
            if error[0] != expected:
                raise LeafMissing(f"seq {expected} is missing (the next stored leaf is seq {error[0]})", seq=expected)
            raise _ERRORS[error[1]](error[2], seq=error[0])
        if expected != end:  # rows at the end of this range are missing
            raise LeafMissing(f"seq {expected} is missing", seq=expected)
        if progress is not None:
            progress(end - start)
    _after_the_pass(ledger, registry, checkpoints, stop)
    intact.cosigners = checkpoints.cosigners(registry)
    intact.witnesses = checkpoints.witnessed(witnesses)
    intact.leaves_compared = monitor.compared
    intact.elapsed = time.perf_counter() - started
    intact.leaf_hashes_file = monitor.close(intact.latest_checkpoint)
    return intact


class _CheckpointChecker:
    """Checks stored checkpoints as the pass reaches their sizes (DESIGN §6 "Checkpoint")."""

    def __init__(self, ledger: Ledger, verifiers: Sequence[Verifier], origin: str,
                 anchor: TrustAnchor | None, intact: Intact,
                 cosigned: Sequence[tuple[str, TrustAnchor]] = ()):  # fmt: skip
        self.ledger = ledger
        self.verifiers = list(verifiers)  # the operator keys trusted at this point of the log
        self.origin = origin
        self.anchor = anchor
        # Every checkpoint this verifier (None) or a cosigner saw, by size: the log must still hold each.
        self.anchors: dict[int, list[tuple[str | None, TrustAnchor]]] = {}
        for who, seen in [(None, anchor), *cosigned]:
            if seen is not None:
                self.anchors.setdefault(seen.size, []).append((who, seen))
        self.intact = intact
        self.rows = _checkpoint_rows(ledger)
        self.next = next(self.rows, None)
        self.previous: tuple[int, bytes] | None = None
        self.cosigned: list[tuple[int, str]] = []  # notes carrying more than the operator's signature
        self.latest_notes: list[str] = []  # every stored note of the latest checkpoint's size

    def reach(self, frontier: merkle.CompactRange) -> None:
        size = frontier.size
        if self.next is not None and self.next.size == size or size in self.anchors:
            root = frontier.root()
            while self.next is not None and self.next.size == size:
                self._check(self.next, root)
                self.next = next(self.rows, None)
            for who, seen in self.anchors.get(size, ()):
                if seen.root != root:
                    raise _anchor_lost(who, seen, f"the root at size {size} differs from", "history was rewritten")

    def _check(self, row: StoredCheckpoint, root: bytes) -> None:
        size, root_column, note = row.size, row.root, row.note
        # 1. Signed by a trusted operator key (C2SP signed-note), for this log's origin.
        checkpoint = None
        for verifier in self.verifiers:
            try:
                checkpoint = open_checkpoint(note, verifier)
                break
            except (NoteSignatureInvalid, CheckpointMalformed):
                continue
        if checkpoint is None:
            raise CheckpointMismatch(
                f"checkpoint {size} has no valid signature by the trusted operator key", checkpoint=size
            )
        if checkpoint.origin != self.origin:
            raise CheckpointMismatch(f"checkpoint {size} is for log {checkpoint.origin!r}", checkpoint=size)
        # 2. Its columns say what its signed body says.
        if checkpoint.size != size or checkpoint.root_hash != root_column:
            raise CheckpointMismatch(
                f"checkpoint {size}: the stored size/root columns differ from the signed note", checkpoint=size
            )
        # 3. Its root is the one recomputed from the leaves.
        if checkpoint.root_hash != root:
            raise CheckpointMismatch(
                f"checkpoint {size} was signed over another history: its root differs from the"
                " root recomputed from the leaves", checkpoint=size,
            )  # fmt: skip
        # 4. Consistent with the checkpoint before it (RFC 9162 §2.1.4, proof from the stored nodes).
        if self.previous is not None and 0 < self.previous[0] < size:
            old_size, old_root = self.previous
            try:
                proof = merkle.consistency_proof(old_size, size, self.ledger.nodes)
                merkle.verify_consistency(old_size, size, old_root, checkpoint.root_hash, proof)
            except (merkle.ConsistencyProofInvalid, OperationalError, KeyError, ValueError) as exc:
                raise CheckpointMismatch(
                    f"checkpoint {size} is not consistent with checkpoint {old_size}: {exc}", checkpoint=size
                ) from None
        # 5. An operator key change: the new key is in the body the old key signed, and signs it too.
        self._key_change(size, note, checkpoint)
        self.previous = (size, checkpoint.root_hash)
        self.intact.checkpoints += 1
        if self.intact.latest_checkpoint != size:
            self.latest_notes = []
        self.latest_notes.append(note)
        self.intact.latest_checkpoint = size
        self.intact.latest_root = checkpoint.root_hash
        self.intact.latest_note = note
        if len(parse_note(note).signatures) > 1:
            self.cosigned.append((size, note))

    def _key_change(self, size: int, note: str, checkpoint: Checkpoint) -> None:
        """DESIGN §6: "an operator key change is made by dual-signing one checkpoint"."""
        lines = [line for line in checkpoint.extensions if line.startswith(NEXT_OPERATOR_KEY)]
        if not lines:
            return
        if len(lines) > 1:
            raise CheckpointMismatch(f"checkpoint {size} names more than one next operator key", checkpoint=size)
        text = lines[0][len(NEXT_OPERATOR_KEY) :]
        try:
            new = parse_verifier_key(text)
        except VerifierKeyInvalid as exc:
            raise CheckpointMismatch(f"checkpoint {size}: next operator key: {exc}", checkpoint=size) from None
        if new.name != self.origin or new.signature_type != SIG_TYPE_ED25519:
            raise CheckpointMismatch(f"checkpoint {size}: the next operator key is not an Ed25519 key of {self.origin}",
                                     checkpoint=size)  # fmt: skip
        try:
            verify_note(note, new)
        except NoteSignatureInvalid:
            raise CheckpointMismatch(
                f"checkpoint {size} names the next operator key {text} but is not signed by it"
                " (a key change needs one checkpoint signed by the old and the new key)", checkpoint=size,
            ) from None  # fmt: skip
        # From here on only the new key signs: a stolen old key can no longer sign checkpoints.
        self.verifiers = [new]
        self.intact.operator_key_changes.append(size)

    def beyond(self, current_size: int) -> VerificationFailed | None:
        """A checkpoint larger than the log means leaves were removed after it was signed."""
        row = self.next
        while row is not None:
            if row.size > current_size:
                # Leaves are committed before their checkpoint is stored: look again before alarming.
                current_size = self.ledger.size()
            if row.size > current_size:
                return CheckpointMismatch(
                    f"checkpoint {row.size} covers more leaves than the log holds ({current_size}):"
                    " leaves were removed", checkpoint=row.size, seq=current_size,
                )  # fmt: skip
            row = next(self.rows, None)  # newer than this pass: appended while we verified
        return None

    def witnessed(self, witnesses: Sequence[Verifier]) -> list[str]:
        """Every required witness must have cosigned the latest checkpoint (the one the anchor moves to)."""
        if not witnesses:
            return []
        size = self.intact.latest_checkpoint
        if size is None:
            raise WitnessMissing("there is no checkpoint for the required witnesses to have cosigned")
        for witness in witnesses:
            for note in self.latest_notes:
                try:
                    verify_cosignature(note, witness.name, witness.public_key)
                    break
                except CosignatureInvalid:
                    continue
            else:
                raise WitnessMissing(
                    f"checkpoint {size} carries no valid cosignature by witness {witness.name}+{witness.key_id.hex()}",
                    checkpoint=size,
                )  # fmt: skip
        return [w.name for w in witnesses]

    def cosigners(self, registry: _Registry) -> list[str]:
        """Verify every cosignature by a registered cosigner; name those on the latest checkpoint."""
        latest: list[str] = []
        for size, note in self.cosigned:
            names: list[str] = []
            for line in parse_note(note).signatures:
                actor = registry.actors.get(line.name)
                if actor is None or actor.role not in COSIGNERS:
                    continue  # signed-note: signatures by unknown keys are ignored
                for raw in registry.public_keys(line.name):
                    if cosignature_key_id(line.name, raw) == line.key_id:
                        try:
                            verify_cosignature(note, line.name, raw)
                        except CosignatureInvalid as exc:
                            raise CheckpointMismatch(f"checkpoint {size}: {exc}", checkpoint=size) from None
                        names.append(line.name)
            if size == self.intact.latest_checkpoint:
                latest = sorted(set(names))
        return latest


def _after_the_pass(ledger: Ledger, registry: _Registry, checkpoints: _CheckpointChecker, stop: int) -> None:
    """Checks that need the whole pass; the failure with the smallest seq is raised."""
    current = ledger.size()
    failures: list[VerificationFailed] = []
    # 1. Nothing signed or trusted lies beyond the log.
    beyond = checkpoints.beyond(current)
    if beyond is not None:
        failures.append(beyond)
    for size, seen_by in checkpoints.anchors.items():
        if size <= stop:
            continue
        for who, anchor in seen_by:
            if size > current:
                failures.append(_anchor_lost(
                    who, anchor, f"the log holds {current} leaves, fewer than", "leaves were removed (rolled back)",
                    seq=current,
                ))  # fmt: skip
            elif ledger.root(size) != anchor.root:
                failures.append(_anchor_lost(who, anchor, f"the root at size {size} differs from", "history was rewritten"))
    # 2. No Merkle node beyond the log (a truncation that forgot the tree).
    # One statement, so nodes and leaves appended meanwhile are seen together.
    for level, max_idx, max_seq in ledger.sql.all(
        "SELECT level, MAX(idx) AS max_idx, (SELECT MAX(seq) FROM ledger_leaves) AS max_seq"
        " FROM ledger_tree GROUP BY level"
    ):
        size = 0 if max_seq is None else int(max_seq) + 1
        if int(max_idx) > (size >> int(level)) - 1:
            failures.append(TreeMismatch(
                f"stored Merkle node ({level}, {max_idx}) covers leaves beyond the log ({size})",
                seq=min(size, int(max_idx) << int(level)),
            ))  # fmt: skip
            break
    # 3. No domain event without its leaf.
    extra = _extra_event(ledger)
    if extra is not None:
        failures.append(extra)
    # 4. The key index is what the registry leaves say.
    mismatch = _key_index_mismatch(ledger, registry, stop)
    if mismatch is not None:
        failures.append(mismatch)
    if failures:
        raise min(failures, key=lambda f: (f.seq if f.seq is not None else current, f.checkpoint or 0))


def _anchor_lost(who: str | None, anchor: TrustAnchor, what: str, verdict: str, seq: int | None = None) -> TrustAnchorMismatch:
    whose = "the checkpoint this verifier trusted before" if who is None else f"the checkpoint cosigner {who} saved"
    return TrustAnchorMismatch(f"{what} {whose} (size {anchor.size}): {verdict}", seq=seq, checkpoint=anchor.size)


def _extra_event(ledger: Ledger) -> VerificationFailed | None:
    events = _events_table(ledger)
    row = ledger.sql.one(f"SELECT (SELECT COUNT(*) FROM {events}) AS events, (SELECT COUNT(*) FROM ledger_leaves) AS leaves")
    if row is None or int(row[0]) <= int(row[1]):
        return None
    # Rare (only after tampering): find one, page by page, to name its seq.
    last: tuple[str, int] = ("", 0)
    while True:
        if ledger.sql.postgres:
            sql = (f"SELECT CAST(originator_id AS text), originator_version, state FROM {events}"
                   " WHERE (CAST(originator_id AS text), originator_version) > (?, ?)"
                   " ORDER BY CAST(originator_id AS text), originator_version LIMIT 1000")  # fmt: skip
        else:
            sql = (f"SELECT originator_id, originator_version, state FROM {events}"
                   " WHERE (originator_id, originator_version) > (?, ?)"
                   " ORDER BY originator_id, originator_version LIMIT 1000")  # fmt: skip
        rows = ledger.sql.all(sql, last)
        if not rows:
            return EventMismatch("there are more domain events than log leaves")
        for oid, version, state in rows:
            hex_id = str(oid).replace("-", "")
            try:
                seq = json.loads(_plain_state(ledger.mapper, bytes(state)) or b"")["seq"]
            except (ValueError, KeyError, TypeError):
                seq = None
            leaf = None if type(seq) is not int else ledger.sql.one(
                "SELECT originator_id, originator_version FROM ledger_leaves WHERE seq = ?", (seq,)
            )
            if leaf is None or (str(leaf[0]), int(leaf[1])) != (hex_id, int(version)):
                where = f"seq {seq}" if type(seq) is int else "no seq"
                return EventMismatch(
                    f"domain event {hex_id} v{version} ({where}) has no leaf in the log",
                    seq=seq if type(seq) is int else None,
                )
        last = (str(rows[-1][0]), int(rows[-1][1]))


def _key_index_mismatch(ledger: Ledger, registry: _Registry, stop: int) -> VerificationFailed | None:
    rows = ledger.sql.all("SELECT key_id, actor_id, seq FROM ledger_keys")
    found: dict[str, tuple[str, int]] = {}
    problems: list[KeyIndexMismatch] = []
    for key_id, actor_id, seq in rows:
        key_id, actor_id, seq = str(key_id), str(actor_id), int(seq)
        found[key_id] = (actor_id, seq)
        if seq >= stop:
            continue  # registered while we verified: not part of the verified prefix
        expected = registry.key_rows.get(key_id)
        if expected != (actor_id, seq):
            where = seq if expected is None else expected[1]
            problems.append(KeyIndexMismatch(
                f"key index row {key_id} -> {actor_id} (seq {seq}) is not what the registry leaves say"
                + ("" if expected is None else f" ({expected[0]}, seq {expected[1]})"), seq=where,
            ))  # fmt: skip
    for key_id, (actor_id, seq) in registry.key_rows.items():
        if key_id not in found:
            problems.append(KeyIndexMismatch(f"key index has no row for {key_id} of {actor_id}", seq=seq))
    return min(problems, key=lambda p: p.seq or 0) if problems else None


# --- the operation: trust anchor in, trust anchor out ----------------------------------------------------
@dataclass(frozen=True)
class Trust:
    """Where one verification's trust comes from (DESIGN §6 "Trust anchor"; docs/security.md).

    ``tofu`` (trust on first use): no anchor file yet, no ``--operator-key`` and no ``--witness``
    — the operator key and every checkpoint then come from the operator's own keystore and
    database, so a history the operator rewrote and re-signed would verify too.
    """

    verifiers: list[Verifier]
    operator_key_given: bool
    anchor_path: Path
    anchor: TrustAnchor | None
    witnesses: list[Verifier]
    cosigned: list[tuple[str, TrustAnchor]]

    @property
    def tofu(self) -> bool:
        return self.anchor is None and not self.operator_key_given and not self.witnesses

    def as_json(self, anchor_written: bool) -> dict[str, Any]:
        return {
            "tofu": self.tofu,
            "anchor": str(self.anchor_path),
            "anchor_written": anchor_written,
            "operator_key": "given" if self.operator_key_given else "keystore",
            "required_witnesses": [w.name for w in self.witnesses],
        }


def load_trust(
    keys: Keystore, operator_key: str | None = None, anchor_file: str | Path | None = None,
    witnesses: Sequence[str] = (),
) -> Trust:  # fmt: skip
    """Gather what this verifier trusts: operator key(s), its anchor, cosigners' saved checkpoints, witnesses."""
    verifiers = load_operator_verifiers(keys, operator_key)
    path = Path(anchor_file) if anchor_file is not None else keys.root / TRUSTED_STATE
    if path.is_dir():
        raise OperationalError(f"--anchor {path} is a folder, not a file")
    return Trust(verifiers, operator_key is not None, path, TrustAnchor.load_file(path), load_witnesses(witnesses),
                 _cosigned_anchors(keys, verifiers[0].name))  # fmt: skip


def _cosigned_anchors(keys: Keystore, origin: str) -> list[tuple[str, TrustAnchor]]:
    """``cosigned/<actor>.json``: what each cosigner witnessed; the log must still contain it."""
    folder = keys.root / COSIGNED_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise OperationalError(f"{path} is unreadable") from None
        anchor = TrustAnchor.from_state(state, str(path))
        if anchor.origin == origin:  # a keystore may witness other logs too
            found.append((path.stem, anchor))
    return found


def run_verify(
    ledger: Ledger,
    keys: Keystore,
    operator_key: str | None = None,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    update_anchor: bool = True,
    trust: Trust | None = None,
    trust_first_use: bool = False,
) -> Intact:
    """Verify with this verifier's trust (:func:`load_trust`); move its anchor to a larger checkpoint.

    The anchor file is written only when it already exists (then it only ever grows) or when
    the caller asks for trust on first use (``trust_first_use``): never silently from what the
    database says. Its leaf-hash file is rewritten with it.
    """
    trust = load_trust(keys, operator_key) if trust is None else trust
    write = update_anchor and (trust.anchor is not None or trust_first_use)
    intact = verify_ledger(
        ledger, trust.verifiers, trust.anchor, workers=workers, progress=progress, cosigned=trust.cosigned,
        witnesses=trust.witnesses, known_leaves=leaf_hashes_path(trust.anchor_path),
        record_leaves=_recording_path(trust.anchor_path) if write else None,
    )  # fmt: skip
    written = False
    if write:
        written = remember(keys, intact, trust.verifiers[0].name, trust.anchor_path)
    if intact.leaf_hashes_file is not None:
        intact.leaf_hashes_file.unlink(missing_ok=True)
        intact.leaf_hashes_file = None
    intact.trust = trust.as_json(written)
    return intact


def _recording_path(anchor: Path) -> Path:
    anchor.parent.mkdir(parents=True, exist_ok=True)
    return leaf_hashes_path(anchor).with_name(leaf_hashes_path(anchor).name + f".{os.getpid()}.tmp")


def remember(keys: Keystore, intact: Intact, origin: str, path: Path | None = None) -> bool:
    """Keep the largest verified checkpoint as the anchor (DESIGN §6 "Trust anchor"); True if written.

    ``path`` defaults to the keystore's ``trusted.json``. The leaf hashes recorded by the pass
    (``intact.leaf_hashes_file``) go beside it, so a later rewrite is named by its first seq; an
    anchor of the same size gets them too if it had none.
    """
    path = keys.root / TRUSTED_STATE if path is None else path
    if intact.latest_checkpoint is None or intact.latest_root is None:
        return False
    hashes = intact.leaf_hashes_file
    if intact.trusted_size is not None and intact.trusted_size >= intact.latest_checkpoint:
        if intact.trusted_size == intact.latest_checkpoint and hashes is not None and not leaf_hashes_path(path).exists():
            hashes.replace(leaf_hashes_path(path))
            intact.leaf_hashes_file = None
        return False
    anchor = TrustAnchor(origin, intact.latest_checkpoint, intact.latest_root)
    anchor.save(path, intact.latest_note, hashes)
    intact.leaf_hashes_file = None
    return True


def verify_checkpoint_note(note: str, verifiers: Sequence[Verifier]) -> Checkpoint:
    """Open a checkpoint note with any of the trusted operator keys; raise :class:`CheckpointMismatch`."""
    for verifier in verifiers:
        try:
            checkpoint = open_checkpoint(note, verifier)
        except (NoteSignatureInvalid, CheckpointMalformed, NoteMalformed):
            continue
        if checkpoint.origin == verifier.name:
            return checkpoint
    size = None
    with contextlib.suppress(NoteMalformed, CheckpointMalformed):
        size = Checkpoint.parse(parse_note(note).text).size
    raise CheckpointMismatch("the checkpoint has no valid signature by the trusted operator key", checkpoint=size)

