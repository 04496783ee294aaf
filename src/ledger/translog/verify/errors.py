"""One error class per failed step, all :class:`~ledger.errors.VerificationFailed` (exit status 1)."""

from __future__ import annotations

from ledger.errors import VerificationFailed


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


BY_CODE: dict[str, type[VerificationFailed]] = {
    cls.code: cls
    for cls in (LeafTampered, EventMismatch, SignatureInvalidAt, TreeMismatch)
}


class BadLeaf(Exception):
    """A per-leaf check failed (possibly in a worker process): the pass raises the class of ``code``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
