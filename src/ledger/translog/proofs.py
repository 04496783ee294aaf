"""包含证明 / 一致性证明: RFC 9162 inclusion and consistency proofs of the log, as JSON.

DESIGN §6 fixes the JSON:

* inclusion: ``{"leaf_index", "tree_size", "leaf_hash", "inclusion_path": [base64…]}``
* consistency: ``{"first_size", "second_size", "consistency_path": [base64…]}``

Hashes are standard base64 (RFC 4648, padded). A proof is built from O(log n) stored subtree
hashes fetched in one query (:func:`ledger.translog.merkle.inclusion_proof` over
:meth:`Ledger.nodes <ledger.application.Ledger.nodes>`), never by reading the log. Proof
objects validate themselves when built (``from_json`` refuses anything malformed with
:class:`ProofMalformed`), and ``verify`` returns nothing or raises
(:class:`~ledger.translog.merkle.InclusionProofInvalid`, :class:`~ledger.translog.merkle.ConsistencyProofInvalid`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.encoding.b64 import Base64Invalid, b64decode_strict, b64encode
from ledger.encoding.canonical import JSONObject
from ledger.errors import LedgerError, OperationalError
from ledger.persistence import queries
from ledger.translog import merkle
from ledger.translog.merkle import ConsistencyProofInvalid, InclusionProofInvalid

if TYPE_CHECKING:
    from ledger.application import Ledger

__all__ = [
    "ConsistencyProof",
    "ConsistencyProofInvalid",
    "InclusionProof",
    "InclusionProofInvalid",
    "ProofMalformed",
    "ProofRequestInvalid",
    "checkpoint_root",
    "consistency_proof",
    "default_size",
    "inclusion_proof",
]


class ProofMalformed(LedgerError):
    """Proof JSON that is not the shape DESIGN §6 fixes."""

    code = "proof_malformed"


class ProofRequestInvalid(LedgerError):
    """A proof that cannot exist: a leaf outside the tree, a size beyond the log, no checkpoint."""

    code = "proof_request_invalid"


def _int(obj: JSONObject, key: str) -> int:
    value = obj.get(key)
    if type(value) is not int or value < 0:
        raise ProofMalformed(f"{key}: must be a non-negative integer")
    return value


def _hash(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ProofMalformed(f"{what}: must be base64")
    try:
        raw = b64decode_strict(value)
    except Base64Invalid as exc:
        raise ProofMalformed(f"{what}: {exc}") from None
    if len(raw) != merkle.HASH_SIZE:
        raise ProofMalformed(f"{what}: a SHA-256 hash is {merkle.HASH_SIZE} bytes")
    return raw


def _path(obj: JSONObject, key: str) -> tuple[bytes, ...]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise ProofMalformed(f"{key}: must be a list of base64 hashes")
    return tuple(_hash(item, f"{key}[{i}]") for i, item in enumerate(value))


def _exact_keys(obj: object, keys: set[str]) -> JSONObject:
    if not isinstance(obj, dict) or set(obj) != keys:
        raise ProofMalformed(f"a proof is an object with exactly {sorted(keys)}")
    return obj


@dataclass(frozen=True)
class InclusionProof:
    """PATH(leaf_index, D[tree_size]) with the leaf's hash (RFC 9162 §2.1.3)."""

    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.leaf_index < self.tree_size:
            raise ProofMalformed(f"leaf_index {self.leaf_index} is not in a tree of size {self.tree_size}")
        if len(self.leaf_hash) != merkle.HASH_SIZE or any(len(p) != merkle.HASH_SIZE for p in self.path):
            raise ProofMalformed(f"hashes are {merkle.HASH_SIZE} bytes")

    def as_json(self) -> JSONObject:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": b64encode(self.leaf_hash),
            "inclusion_path": [b64encode(p) for p in self.path],
        }

    @classmethod
    def from_json(cls, obj: object) -> InclusionProof:
        obj = _exact_keys(obj, {"leaf_index", "tree_size", "leaf_hash", "inclusion_path"})
        return cls(
            _int(obj, "leaf_index"), _int(obj, "tree_size"),
            _hash(obj.get("leaf_hash"), "leaf_hash"), _path(obj, "inclusion_path"),
        )  # fmt: skip

    def verify(self, root: bytes, leaf: bytes | None = None) -> None:
        """Raise :class:`InclusionProofInvalid` unless the path leads from the leaf to ``root``.

        With ``leaf`` (the exact leaf bytes), also check that ``leaf_hash`` is its RFC 9162 hash.
        """
        if leaf is not None and merkle.leaf_hash(leaf) != self.leaf_hash:
            raise InclusionProofInvalid("leaf_hash is not SHA-256(0x00 || leaf)")
        merkle.verify_inclusion(self.leaf_hash, self.leaf_index, self.tree_size, self.path, root)


@dataclass(frozen=True)
class ConsistencyProof:
    """PROOF(first_size, D[second_size]) (RFC 9162 §2.1.4)."""

    first_size: int
    second_size: int
    path: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not 0 < self.first_size <= self.second_size:
            raise ProofMalformed("a consistency proof needs 0 < first_size <= second_size")
        if any(len(p) != merkle.HASH_SIZE for p in self.path):
            raise ProofMalformed(f"hashes are {merkle.HASH_SIZE} bytes")

    def as_json(self) -> JSONObject:
        return {
            "first_size": self.first_size,
            "second_size": self.second_size,
            "consistency_path": [b64encode(p) for p in self.path],
        }

    @classmethod
    def from_json(cls, obj: object) -> ConsistencyProof:
        obj = _exact_keys(obj, {"first_size", "second_size", "consistency_path"})
        return cls(_int(obj, "first_size"), _int(obj, "second_size"), _path(obj, "consistency_path"))

    def verify(self, first_root: bytes, second_root: bytes) -> None:
        """Raise :class:`ConsistencyProofInvalid` unless tree ``second_size`` extends ``first_size``."""
        merkle.verify_consistency(self.first_size, self.second_size, first_root, second_root, self.path)


# --- building proofs from a ledger -----------------------------------------------------------------
def default_size(ledger: Ledger) -> int:
    """The latest checkpoint's tree size: proofs are useful against a signed root (DESIGN §6)."""
    latest = ledger.latest_checkpoint()
    if latest is None:
        raise ProofRequestInvalid("no checkpoint yet: sign one with `checkpoint`, or pass --size")
    return latest.size


def _check_size(ledger: Ledger, size: int) -> None:
    current = ledger.size()
    if size > current:
        raise ProofRequestInvalid(f"tree size {size} is beyond the log ({current} leaves)")


def inclusion_proof(ledger: Ledger, seq: int, size: int | None = None) -> InclusionProof:
    """The inclusion proof of leaf ``seq`` in the tree of ``size`` leaves (default: latest checkpoint).

    Three indexed reads whatever the log's size: the leaf, and the O(log n) path nodes.
    """
    size = default_size(ledger) if size is None else size
    if seq < 0 or size <= 0 or seq >= size:
        raise ProofRequestInvalid(f"seq {seq} is not in a tree of size {size}")
    leaf = ledger.leaf(seq)
    if leaf is None:
        _check_size(ledger, size)
        raise OperationalError(f"leaf {seq} is missing from the store (run verify)")
    try:
        path = merkle.inclusion_proof(seq, size, ledger.nodes)
    except OperationalError:
        _check_size(ledger, size)
        raise
    return InclusionProof(seq, size, merkle.leaf_hash(leaf), tuple(path))


def consistency_proof(ledger: Ledger, first_size: int, second_size: int | None = None) -> ConsistencyProof:
    """The proof that the tree of ``second_size`` leaves (default: latest checkpoint) extends ``first_size``."""
    second_size = default_size(ledger) if second_size is None else second_size
    if not 0 < first_size <= second_size:
        raise ProofRequestInvalid(f"a consistency proof needs 0 < OLD <= NEW (got {first_size}, {second_size})")
    try:
        path = merkle.consistency_proof(first_size, second_size, ledger.nodes)
    except OperationalError:
        _check_size(ledger, second_size)
        raise
    return ConsistencyProof(first_size, second_size, tuple(path))


def checkpoint_root(ledger: Ledger, size: int) -> bytes:
    """The root a proof at ``size`` must reach: a stored checkpoint's if one has that size, else the tree's."""
    root = queries.checkpoint_root(ledger.sql, size)
    if root is not None:
        return root
    _check_size(ledger, size)
    return ledger.root(size)
