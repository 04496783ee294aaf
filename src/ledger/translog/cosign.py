"""检查点与联署: show checkpoints, and let a finance bureau or inspector cosign them (DESIGN §6).

A cosignature (C2SP ``tlog-cosignature/v1``, key name = the cosigner's ``actor_id``) states
"I saw this checkpoint, and it extends every checkpoint I cosigned before". So before signing,
:func:`cosign_latest` checks, in order:

1. the actor is a registered ``finance_bureau`` or ``inspector`` and the keystore holds its
   *current* key (anyone can then check the cosignature against the registry leaf);
2. the checkpoint is signed by the trusted operator key (keystore ``operator.pub`` or the
   caller's, never one from the database), and its stored columns say what the note says;
3. it is consistent with the last checkpoint this actor cosigned (``cosigned/<actor>.json`` in
   the cosigner's own keystore): same root at the same size, or an RFC 9162 consistency proof
   from the ledger that verifies; a smaller size is a log that went backwards.

The cosignature line is appended to the stored note (a cosigned checkpoint is one signed note
with several signatures, as C2SP witnesses publish them); the append is a single atomic SQL
update, so concurrent cosigners never lose each other's lines. Operator signature and
checkpoint history are untouched: verifiers ignore signature lines of keys they do not know.

An operator key change (:func:`rotate_operator`, DESIGN §6: "made by dual-signing one
checkpoint") signs one checkpoint whose body names the new key in a ``next-operator-key``
extension line (tlog-checkpoint) with both the old and the new key; the old key's signature
is what vouches for the new key, so nobody can introduce one without it. From then on only
the new key signs (``ledger.translog.verify`` refuses the old one after that checkpoint).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.envelope import key_id_of, public_key_bytes
from ledger.domain.policy import COSIGNERS
from ledger.encoding.b64 import b64decode_strict, b64encode
from ledger.encoding.canonical import JSONObject
from ledger.errors import OperationalError, Refused, VerificationFailed
from ledger.persistence import queries
from ledger.persistence.store import StoredCheckpoint
from ledger.translog.merkle import ConsistencyProofInvalid
from ledger.translog.note import (
    SIG_TYPE_COSIGNATURE_V1,
    Checkpoint,
    CosignatureInvalid,
    Verifier,
    add_signature,
    cosign,
    cosignature_key_id,
    format_verifier_key,
    parse_cosignature,
    parse_note,
    sign_note,
    signature_line,
    verify_cosignature,
)
from ledger.translog.proofs import consistency_proof
from ledger.translog.verify import (
    NEXT_OPERATOR_KEY,
    RETIRED_OPERATOR_KEYS,
    CheckpointMismatch,
    load_operator_verifiers,
    verify_checkpoint_note,
)

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.keys.keystore import Keystore

__all__ = [
    "CheckpointInconsistent",
    "Cosigned",
    "NotACosigner",
    "OperatorKeyChanged",
    "cosign_latest",
    "cosignatures",
    "latest_checkpoint_info",
    "rotate_operator",
    "witness_key",
]


class NotACosigner(Refused):
    """Only a registered finance bureau or inspector, with its current key, cosigns (DESIGN §6)."""

    code = "not_a_cosigner"


class CheckpointInconsistent(VerificationFailed):
    """The checkpoint does not extend the last one this cosigner signed: the log was forked or cut."""

    code = "checkpoint_inconsistent"


@dataclass(frozen=True)
class Cosigned:
    actor: str
    size: int
    root: bytes
    timestamp: int
    note: str
    previous_size: int | None
    already: bool = False


def _state_name(actor_id: str) -> str:
    return f"cosigned/{actor_id}.json"


def _cosigner_key(ledger: Ledger, keys: Keystore, actor_id: str) -> Ed25519PrivateKey:
    # 1. A registered cosigner whose keystore key is its current registered key.
    actor = ledger.actor(actor_id)
    if actor is None:
        raise NotACosigner(f"unknown actor {actor_id!r}")
    if actor.role not in COSIGNERS:
        raise NotACosigner(f"{actor_id} is a {actor.role}; only finance_bureau or inspector actors cosign")
    private_key = keys.actor_key(actor_id)
    if key_id_of(public_key_bytes(private_key)) != actor.current_key_id:
        raise NotACosigner(f"the key in actors/{actor_id}.pem is not {actor_id}'s current registered key")
    return private_key


def cosign_latest(
    ledger: Ledger, keys: Keystore, actor_id: str, verifiers: Sequence[Verifier], *, now: int | None = None
) -> Cosigned:
    """Check the latest checkpoint as a witness would, then add ``actor_id``'s cosignature."""
    private_key = _cosigner_key(ledger, keys, actor_id)
    latest = ledger.latest_checkpoint()
    if latest is None:
        raise OperationalError("there is no checkpoint to cosign yet (run `checkpoint`)")
    size, root_column, note, signed_at = latest.size, latest.root, latest.note, latest.signed_at
    # 2. Signed by the trusted operator key; columns as signed.
    checkpoint = verify_checkpoint_note(note, verifiers)
    if checkpoint.size != size or checkpoint.root_hash != root_column:
        raise CheckpointMismatch(f"checkpoint {size}: stored columns differ from the signed note", checkpoint=size)
    # 3. Consistent with what this actor cosigned last.
    previous = _previous(keys, actor_id, checkpoint.origin)
    if previous is not None:
        _check_extends(ledger, previous, checkpoint)
    public_key = public_key_bytes(private_key)
    try:  # cosigning the same checkpoint twice adds nothing
        stamp = verify_cosignature(note, actor_id, public_key)
        return Cosigned(actor_id, size, checkpoint.root_hash, stamp, note,
                        None if previous is None else previous[0], already=True)  # fmt: skip
    except CosignatureInvalid:
        pass
    timestamp = int(time.time()) if now is None else now
    line = cosign(parse_note(note).text, actor_id, private_key, timestamp)
    add_signature(note, line)  # validates the line and the signature count
    stored = queries.append_cosignature(ledger.sql, size, signed_at, line) or ""
    verify_cosignature(stored, actor_id, public_key)  # what is stored is what we meant
    keys.write_state(_state_name(actor_id), {
        "origin": checkpoint.origin, "size": size, "root": b64encode(checkpoint.root_hash),
        "timestamp": timestamp, "checkpoint": checkpoint.body(),
    })  # fmt: skip
    return Cosigned(actor_id, size, checkpoint.root_hash, timestamp, stored,
                    None if previous is None else previous[0])  # fmt: skip


def _previous(keys: Keystore, actor_id: str, origin: str) -> tuple[int, bytes] | None:
    state = keys.read_state(_state_name(actor_id))
    if state is None:
        return None
    try:
        size, root = state["size"], b64decode_strict(state["root"])
        if type(size) is not int or size < 0 or len(root) != 32:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise OperationalError(f"{keys.root}/{_state_name(actor_id)} is unreadable") from None
    if state.get("origin") != origin:
        raise OperationalError(f"{_state_name(actor_id)} is for log {state.get('origin')!r}, not {origin!r}")
    return size, root


def _check_extends(ledger: Ledger, previous: tuple[int, bytes], checkpoint: Checkpoint) -> None:
    old_size, old_root = previous
    size = checkpoint.size
    if size < old_size:
        raise CheckpointInconsistent(
            f"checkpoint {size} is smaller than checkpoint {old_size} cosigned before: the log went backwards",
            checkpoint=size,
        )
    if size == old_size:
        if checkpoint.root_hash != old_root:
            raise CheckpointInconsistent(
                f"checkpoint {size} has another root than the one cosigned before at this size: a fork",
                checkpoint=size,
            )
        return
    if old_size == 0:
        return  # everything extends the empty tree
    proof = consistency_proof(ledger, old_size, size)
    try:
        proof.verify(old_root, checkpoint.root_hash)
    except ConsistencyProofInvalid as exc:
        raise CheckpointInconsistent(
            f"checkpoint {size} does not extend checkpoint {old_size} cosigned before: {exc}", checkpoint=size
        ) from None


# --- showing ------------------------------------------------------------------------------------------
def cosignatures(ledger: Ledger, note: str) -> list[JSONObject]:
    """The cosignature lines of a note, each checked against the cosigner's registered keys."""
    out: list[JSONObject] = []
    for line in parse_note(note).signatures:
        actor = ledger.actor(line.name)
        if actor is None or actor.role not in COSIGNERS:
            continue
        for key in actor.keys:
            raw = b64decode_strict(key.public_key)
            if cosignature_key_id(line.name, raw) != line.key_id:
                continue
            try:
                stamp = parse_cosignature(line).timestamp
                verify_cosignature(note, line.name, raw)
                verified = True
            except CosignatureInvalid:
                verified = False
            out.append({
                "name": line.name, "key_id": line.key_id.hex(), "timestamp": stamp,
                "time": dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat(), "verified": verified,
            })  # fmt: skip
            break
    return out


def latest_checkpoint_info(ledger: Ledger, verifiers: Sequence[Verifier]) -> JSONObject | None:
    """The latest checkpoint with its operator signature checked and its cosignatures listed."""
    latest = ledger.latest_checkpoint()
    if latest is None:
        return None
    size, root, note, signed_at = latest.size, latest.root, latest.note, latest.signed_at
    try:
        checkpoint: Checkpoint | None = verify_checkpoint_note(note, verifiers)
    except CheckpointMismatch:
        checkpoint = None
    return {
        "origin": checkpoint.origin if checkpoint else None,
        "size": size,
        "root_hash": b64encode(root),
        "signed_at": signed_at,
        "operator_signature_valid": checkpoint is not None and checkpoint.root_hash == root,
        "cosignatures": cosignatures(ledger, note),
        "note": note,
    }


# --- witnesses' keys ------------------------------------------------------------------------------------
def witness_key(ledger: Ledger, actor_id: str) -> str:
    """A cosigner's current key as a C2SP tlog-cosignature/v1 verifier key, for ``verify --witness``."""
    actor = ledger.actor(actor_id)
    if actor is None or actor.role not in COSIGNERS:
        raise NotACosigner(f"{actor_id!r} is not a registered finance_bureau or inspector")
    for key in actor.keys:
        raw = b64decode_strict(key.public_key)
        if key_id_of(raw) == actor.current_key_id:
            return format_verifier_key(actor_id, raw, SIG_TYPE_COSIGNATURE_V1)
    raise NotACosigner(f"{actor_id} has no current key (revoked)")


# --- operator key change ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class OperatorKeyChanged:
    size: int
    old: str  # verifier keys, C2SP name+hexid+base64
    new: str
    note: str  # the dual-signed checkpoint


def rotate_operator(ledger: Ledger, keys: Keystore, new_key: Ed25519PrivateKey | None = None) -> OperatorKeyChanged:
    """Change the operator key by dual-signing one checkpoint (DESIGN §6), then sign with the new key.

    1. The keystore's operator key must be the one ``operator.pub`` publishes (last line).
    2. The new private key is written beside the old (``operator.pem.new``) before the database
       is touched, so no crash leaves a checkpoint naming a key nobody holds.
    3. One transaction stores the dual-signed checkpoint over the current tree (body with a
       ``next-operator-key <verifier key>`` line, signed by the old key, then by the new) and,
       at the same size, the same checkpoint signed by the new key alone: what ``checkpoint``,
       cosigners and exports use from now on (a plain three-line body, as VERIFY.md expects).
    4. The keystore moves on: the old key to ``retired/``, its verifier key appended to
       ``operator-retired.pub`` (so ``verify`` from this keystore still checks older
       checkpoints), the new one in ``operator.pem`` / ``operator.pub``.
    """
    from ledger.application import format_recorded_at, utc_now
    from ledger.keys.keystore import private_pem, write_private

    origin = keys.origin
    old_key = keys.operator_key()
    published = load_operator_verifiers(keys)[-1]
    if published.public_key != public_key_bytes(old_key):
        raise OperationalError("operator.pem is not the key operator.pub publishes: finish the earlier key change first")
    new_key = Ed25519PrivateKey.generate() if new_key is None else new_key
    old_v = format_verifier_key(origin, public_key_bytes(old_key))
    new_v = format_verifier_key(origin, public_key_bytes(new_key))
    if new_v == old_v:
        raise OperationalError("the new operator key is the old one")
    # 2.
    pending = keys.root / "operator.pem.new"
    write_private(pending, private_pem(new_key))
    # 3.
    head = ledger.head()
    root = head.frontier.root()
    body = Checkpoint(origin, head.size, root, (NEXT_OPERATOR_KEY + new_v,)).body()
    dual = add_signature(sign_note(body, origin, old_key), signature_line(body, origin, new_key))
    plain = sign_note(Checkpoint(origin, head.size, root).body(), origin, new_key)
    now = utc_now()
    with ledger.sql.cursor(commit=True) as cur:
        queries.insert_checkpoint(cur, StoredCheckpoint(head.size, root, dual, format_recorded_at(now)))
        queries.insert_checkpoint(
            cur, StoredCheckpoint(head.size, root, plain, format_recorded_at(now + dt.timedelta(microseconds=1)))
        )
    # 4.
    retired = keys.root / "retired"
    retired.mkdir(parents=True, exist_ok=True)
    (keys.root / "operator.pem").rename(retired / f"operator.{time.time_ns()}.pem")
    with (keys.root / RETIRED_OPERATOR_KEYS).open("a", encoding="utf-8") as f:
        f.write(old_v + "\n")
    pending.replace(keys.root / "operator.pem")
    tmp = keys.root / "operator.pub.tmp"
    tmp.write_text(new_v + "\n", encoding="utf-8")
    tmp.replace(keys.root / "operator.pub")
    return OperatorKeyChanged(head.size, old_v, new_v, dual)
