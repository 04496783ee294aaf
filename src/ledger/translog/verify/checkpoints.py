"""Steps 8 and 10: stored checkpoints (DESIGN §6 "Checkpoint").

Each is signed by a *trusted* operator key (from the keystore or the caller, never from the
database), its root is the recomputed root at its size, and it is consistent with the one before
it (RFC 9162 §2.1.4 proof from the stored nodes, verified). An operator key change is accepted
only through one checkpoint signed by the old and the new key (a ``next-operator-key`` line in its
signed body); later checkpoints need the new key. After the pass: every cosignature by a
registered cosigner verifies, and the latest checkpoint carries each required witness's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from ledger.domain.policy import COSIGNERS
from ledger.errors import OperationalError, VerificationFailed
from ledger.persistence import queries
from ledger.persistence.store import StoredCheckpoint
from ledger.translog import merkle
from ledger.translog.note import (
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
from ledger.translog.verify.anchor import TrustAnchor, anchor_lost
from ledger.translog.verify.errors import CheckpointMismatch, WitnessMissing
from ledger.translog.verify.registry import Registry
from ledger.translog.verify.result import Intact

if TYPE_CHECKING:
    from ledger.application import Ledger


NEXT_OPERATOR_KEY = "next-operator-key "  # checkpoint extension line: the key that signs from here on


def _checkpoint_rows(ledger: Ledger, page: int = 1000) -> Iterator[StoredCheckpoint]:
    """Stored checkpoints by size, then signing time, a page at a time."""
    last: tuple[int, str] = (-1, "")
    while True:
        rows = queries.checkpoints_after(ledger.sql, last[0], last[1], page)
        if not rows:
            return
        yield from rows
        last = (rows[-1].size, rows[-1].signed_at)


class CheckpointChecker:
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
                    raise anchor_lost(who, seen, f"the root at size {size} differs from", "history was rewritten")

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

    def cosigners(self, registry: Registry) -> list[str]:
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
