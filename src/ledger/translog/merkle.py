"""RFC 9162 (RFC 6962) Merkle tree over SHA-256: hashing, storage layout, proofs, verification.

DESIGN §6 fixes the hashes: a leaf is ``SHA-256(0x00 || data)``, an interior node is
``SHA-256(0x01 || left || right)`` and the empty tree's root is ``SHA-256("")``
(RFC 9162 §2.1.1). Anyone with ``sha256sum`` and the RFC can recompute every value here.

Storage model
-------------
The persistent store keeps only hashes of *complete, aligned* subtrees, keyed by
``(level, index)``: level 0 index ``i`` is leaf hash ``i``; level ``L`` index ``i`` is
``MTH(D[i*2^L : (i+1)*2^L])``. Such a node never changes once its last leaf is appended, so
the store is append-only like the log itself. Every subtree that RFC 9162's recursive
definitions talk about (``D[k:n]`` in §2.1.1, §2.1.3.1, §2.1.4.1) starts at a multiple of a
power of two at least as large as itself, so it is the right-folded hash of at most
``log2(n)`` stored nodes (:func:`subtree_ranges`). Roots and proofs therefore cost O(log n)
node reads, fetched in a single ``get_many`` call; nothing here ever scans the log.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step and raises
(:class:`InclusionProofInvalid`, :class:`ConsistencyProofInvalid`) rather than returning a
bool (STYLE.md habit 3).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import pairwise

from ledger.errors import LedgerError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "ConsistencyProofInvalid",
    "GetNode",
    "GetNodes",
    "InclusionProofInvalid",
    "MemoryNodeStore",
    "NodeKey",
    "StoredNode",
    "consistency_proof",
    "consistency_proof_ranges",
    "inclusion_proof",
    "inclusion_proof_ranges",
    "leaf_hash",
    "node_hash",
    "nodes_to_store_on_append",
    "root_at",
    "subtree_ranges",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""SHA-256 output length; every leaf hash, node hash, root and proof element has it."""

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() of the empty string (RFC 9162 §2.1.1)."""

NodeKey = tuple[int, int]
"""``(level, index)`` of a complete aligned subtree."""

GetNode = Callable[[int, int], bytes]
"""Reads one stored node: ``get(level, index) -> hash``."""

GetNodes = Callable[[Sequence[NodeKey]], Mapping[NodeKey, bytes]]
"""Reads several stored nodes in one round trip; must return every key it was asked for."""

StoredNode = tuple[int, int, bytes]
"""``(level, index, hash)`` of a complete aligned subtree, as the node store keeps it."""


class InclusionProofInvalid(LedgerError):
    """An RFC 9162 §2.1.3.2 inclusion proof does not lead from the leaf to the root."""

    code = "inclusion_proof_invalid"


class ConsistencyProofInvalid(LedgerError):
    """An RFC 9162 §2.1.4.2 consistency proof does not link the two tree heads."""

    code = "consistency_proof_invalid"


# --- hashing (RFC 9162 §2.1.1) ------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) (RFC 9162 §2.1.1).

    The 0x00/0x01 prefixes keep a leaf from ever being mistaken for an interior node
    (second-preimage resistance, RFC 9162 §2.1.1).
    """
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 9162 §2.1.1).

    Lengths are deliberately not checked: the reference vectors hash raw byte strings here.
    """
    return hashlib.sha256(b"\x01" + left + right).digest()


# --- geometry ------------------------------------------------------------------------------


def _largest_power_of_two_below(n: int) -> int:
    """k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")


def subtree_ranges(begin: int, end: int) -> list[NodeKey]:
    """Decompose leaves ``[begin, end)`` into the fewest complete aligned subtrees.

    Returned left to right as ``(level, index)``; at most ``2 * log2(end - begin) + 2``
    entries, found in O(log n) steps. Greedy is optimal here: from ``begin`` the largest
    aligned block that fits is always part of some minimal cover.
    """
    _check_size("begin", begin)
    if end < begin:
        raise ValueError(f"empty range end {end} < begin {begin}")
    out: list[NodeKey] = []
    while begin < end:
        level = (end - begin).bit_length() - 1  # largest block that still fits
        if begin:
            # ... but it must also start on a multiple of its own size (be aligned).
            level = min(level, (begin & -begin).bit_length() - 1)
        out.append((level, begin >> level))
        begin += 1 << level
    return out


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """MTH of a tree-shaped range from its stored pieces, largest first.

    RFC 9162 §2.1.1 splits D[n] at the largest power of two k < n; when the range starts on
    a multiple of a power of two >= n, that split coincides with the first stored piece, and
    recursively so, giving node(p1, node(p2, ... node(p_{r-1}, p_r))).
    """
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _tree_range_keys(begin: int, end: int) -> list[NodeKey]:
    """Stored pieces of a non-empty range that is a subtree of RFC 9162's recursion."""
    keys = subtree_ranges(begin, end)
    # Strictly decreasing levels is what makes the right fold equal MTH; every range the
    # RFC 9162 algorithms below ask for has it. Guard against misuse from new callers.
    if not keys or any(a[0] <= b[0] for a, b in pairwise(keys)):
        raise ValueError(f"[{begin}, {end}) is not a subtree of an RFC 9162 Merkle tree")
    return keys


# --- appending -----------------------------------------------------------------------------


def nodes_to_store_on_append(n: int, leaf_hash: bytes, get: GetNode) -> list[StoredNode]:
    """Nodes that become complete when leaf ``n`` (0-based) is appended.

    Level 0 node ``n`` first, then each parent while the node just completed is a right
    child (odd index); its left sibling is read with ``get``. At most log2(n) + 1 nodes and
    log2(n) reads. :class:`CompactRange` computes the same nodes with no reads at all.
    """
    _check_size("n", n)
    _check_hash("leaf_hash", leaf_hash)
    level, index, h = 0, n, leaf_hash
    out: list[StoredNode] = [(level, index, h)]
    while index & 1:
        h = node_hash(get(level, index - 1), h)
        level, index = level + 1, index >> 1
        out.append((level, index, h))
    return out


class CompactRange:
    """The right frontier of a tree of ``size`` leaves: hashes of ``subtree_ranges(0, size)``.

    It is all an appender needs: :meth:`append` yields the nodes to store and :meth:`root`
    the new tree head, both in O(log n) hashing and without touching the store, so a batch
    import hashes in memory and writes nodes in bulk.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[StoredNode] = []

    @staticmethod
    def frontier_keys(size: int) -> list[NodeKey]:
        """The stored nodes a frontier of ``size`` leaves consists of (largest first)."""
        _check_size("size", size)
        return subtree_ranges(0, size)

    @classmethod
    def from_frontier(cls, size: int, nodes: Mapping[NodeKey, bytes]) -> CompactRange:
        """Build from already fetched nodes (e.g. one ``get_many(frontier_keys(size))``)."""
        cr = cls()
        for level, index in cls.frontier_keys(size):
            h = nodes[(level, index)]
            _check_hash(f"node ({level}, {index})", h)
            cr._frontier.append((level, index, h))
        cr._size = size
        return cr

    @classmethod
    def from_size(cls, size: int, get: GetNode) -> CompactRange:
        """Load the frontier of a stored tree with popcount(size) <= log2(size)+1 reads."""
        keys = cls.frontier_keys(size)
        return cls.from_frontier(size, {(lv, ix): get(lv, ix) for lv, ix in keys})

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[StoredNode, ...]:
        return tuple(self._frontier)

    def copy(self) -> CompactRange:
        cr = CompactRange()
        cr._size = self._size
        cr._frontier = list(self._frontier)
        return cr

    def append(self, leaf_hash: bytes) -> list[StoredNode]:
        """Append leaf hash number ``size``; return every node that became complete.

        Merging works like binary increment: the new leaf absorbs frontier entries of the
        same level (always its left siblings, because the frontier is aligned).
        """
        _check_hash("leaf_hash", leaf_hash)
        level, index, h = 0, self._size, leaf_hash
        out: list[StoredNode] = [(level, index, h)]
        while self._frontier and self._frontier[-1][0] == level:
            _, _, left = self._frontier.pop()
            level, index, h = level + 1, index >> 1, node_hash(left, h)
            out.append((level, index, h))
        self._frontier.append((level, index, h))
        self._size += 1
        return out

    def extend(self, leaf_hashes: Iterable[bytes]) -> list[StoredNode]:
        """Append several leaf hashes; all new nodes, in order of completion."""
        out: list[StoredNode] = []
        for h in leaf_hashes:
            out.extend(self.append(h))
        return out

    def root(self) -> bytes:
        """MTH(D[size]) (RFC 9162 §2.1.1); :data:`EMPTY_ROOT` when empty."""
        if not self._frontier:
            return EMPTY_ROOT
        return _fold_right([h for _, _, h in self._frontier])


# --- reading roots and proofs ------------------------------------------------------------


def _fetch(get_many: GetNodes, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    """MTH of each tree-shaped range, with one ``get_many`` call for all their pieces."""
    pieces = [_tree_range_keys(a, b) for a, b in ranges]
    wanted = list(dict.fromkeys(k for keys in pieces for k in keys))
    got: Mapping[NodeKey, bytes] = get_many(wanted) if wanted else {}
    out: list[bytes] = []
    for keys in pieces:
        hashes = []
        for key in keys:
            if key not in got:
                raise KeyError(f"node store has no node {key}")
            _check_hash(f"node {key}", got[key])
            hashes.append(got[key])
        out.append(_fold_right(hashes))
    return out


def root_at(size: int, get_many: GetNodes) -> bytes:
    """MTH(D[size]) from at most log2(size)+1 stored nodes (RFC 9162 §2.1.1)."""
    _check_size("size", size)
    if size == 0:
        return EMPTY_ROOT
    return _fetch(get_many, [(0, size)])[0]


def inclusion_proof_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges ``[a, b)`` whose MTH make up PATH(index, D[size]) (RFC 9162 §2.1.3.1).

    PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
                  = PATH(m-k, D[k:n]) : MTH(D[0:k])     if m >= k
    unrolled top-down, then reversed because the path lists the deepest sibling first.
    """
    _check_size("index", index)
    if index >= size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    siblings: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            siblings.append((lo + k, hi))
            hi = lo + k
        else:
            siblings.append((lo, lo + k))
            lo += k
    siblings.reverse()
    return siblings


def inclusion_proof(index: int, size: int, get_many: GetNodes) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1).

    One ``get_many`` call for at most ~2*log2(size) stored nodes.
    """
    return _fetch(get_many, inclusion_proof_ranges(index, size))


def inclusion_proofs(indices: Sequence[int], size: int, get_many: GetNodes) -> dict[int, list[bytes]]:
    """The audit paths of many leaves in the tree of ``size`` leaves, with one ``get_many`` call.

    Their paths share the upper ranges, so each distinct range is fetched and folded once (a
    trace proves dozens of leaves against one checkpoint). Raises ``KeyError`` like
    :func:`inclusion_proof` when the store lacks a node.
    """
    ranges = {index: inclusion_proof_ranges(index, size) for index in indices}
    distinct = list(dict.fromkeys(r for path in ranges.values() for r in path))
    hashes = dict(zip(distinct, _fetch(get_many, distinct), strict=True))
    return {index: [hashes[r] for r in path] for index, path in ranges.items()}


def consistency_proof_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTH make up PROOF(m, D[n]) (RFC 9162 §2.1.4.1).

    SUBPROOF(m, D[m], true) = {};  SUBPROOF(m, D[m], false) = {MTH(D[m])}
    SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])          if m <= k
                         = SUBPROOF(m-k, D[k:n], false) : MTH(D[0:k])     if m > k
    Requires 0 < m <= n: a proof from the empty tree proves nothing (and verifiers, like
    transparency-dev/merkle's, reject it), so asking for one is a caller error.
    """
    if not 0 < m <= n:
        raise ValueError(f"consistency proof needs 0 < m <= n, got m={m}, n={n}")
    siblings: list[tuple[int, int]] = []
    lo, hi = 0, n
    rel_m, b = m, True
    while rel_m != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if rel_m <= k:
            siblings.append((lo + k, hi))
            hi = lo + k
        else:
            siblings.append((lo, lo + k))
            lo += k
            rel_m -= k
            b = False
    siblings.reverse()
    # The old tree's own subtree heads the proof only when it is not the left edge (b false).
    return siblings if b else [(lo, hi), *siblings]


def consistency_proof(m: int, n: int, get_many: GetNodes) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1); one ``get_many`` call for O(log n) nodes."""
    return _fetch(get_many, consistency_proof_ranges(m, n))


# --- verification --------------------------------------------------------------------------


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ValueError(f"{name} must be {HASH_SIZE} bytes, got {len(value)}")


def _same(a: bytes, b: bytes) -> bool:
    # Constant time is not needed for public hashes, but costs nothing and avoids doubt.
    return hmac.compare_digest(a, b)


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check an inclusion proof per RFC 9162 §2.1.3.2; raise :class:`InclusionProofInvalid`.

    ``leaf_hash`` is the already hashed leaf (``leaf_hash(data)``), as in the RFC.
    """
    # Inputs that are not hashes cannot take part in a valid proof.
    if len(leaf_hash) != HASH_SIZE:
        raise InclusionProofInvalid(f"leaf hash is {len(leaf_hash)} bytes, not {HASH_SIZE}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise InclusionProofInvalid(f"inclusion path element is not {HASH_SIZE} bytes")
    # 1. leaf_index must lie inside the tree (also rules out size 0 and negative indexes).
    if not 0 <= index < size:
        raise InclusionProofInvalid(f"leaf index {index} is not in a tree of size {size}")
    # 2. fn = leaf_index, sn = tree_size - 1.
    fn, sn = index, size - 1
    # 3. r = hash.
    r = leaf_hash
    # 4. Walk the path.
    for p in proof:
        # 4a. A path longer than the tree is tall is forged.
        if sn == 0:
            raise InclusionProofInvalid("inclusion path is too long")
        # 4b. Left sibling when fn is a right child or the last node of its level.
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # Skip levels where the node had no right sibling (promoted unchanged).
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        # 4c.
        fn >>= 1
        sn >>= 1
    # 5. The path must reach the top exactly, and end at the claimed root.
    if sn != 0:
        raise InclusionProofInvalid("inclusion path is too short")
    if not _same(r, root):
        raise InclusionProofInvalid("inclusion path does not lead to the root")


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that tree ``n`` extends tree ``m`` per RFC 9162 §2.1.4.2.

    Raises :class:`ConsistencyProofInvalid`. The RFC's algorithm presumes 0 < m < n; the
    edge cases follow transparency-dev/merkle (the reference vectors): m == n needs an empty
    proof and equal roots; m == 0 is refused, since "consistent with the empty tree" says
    nothing, and a verifier that accepted it would accept any new root.
    """
    if m < 0 or n < 0:
        raise ConsistencyProofInvalid(f"negative tree size (m={m}, n={n})")
    if m > n:
        raise ConsistencyProofInvalid(f"tree size went backwards ({m} > {n})")
    if m == 0:
        raise ConsistencyProofInvalid("a consistency proof from the empty tree proves nothing")
    if m == n:
        if proof:
            raise ConsistencyProofInvalid("equal tree sizes need an empty proof")
        if not _same(old_root, new_root):
            raise ConsistencyProofInvalid("same tree size but different roots")
        return
    if any(len(p) != HASH_SIZE for p in proof):
        raise ConsistencyProofInvalid(f"consistency path element is not {HASH_SIZE} bytes")
    # 1. An empty path can never link two different sizes.
    if not proof:
        raise ConsistencyProofInvalid("empty consistency path")
    path = list(proof)
    # 2. When m is a power of two the old root is itself a node of the new tree, and the
    #    RFC leaves it out of the path; put it back.
    if m & (m - 1) == 0:
        path.insert(0, old_root)
    # 3.
    fn, sn = m - 1, n - 1
    # 4. Climb past the levels where the old tree's last node is a right child.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        # 6a. A path longer than the new tree is tall is forged.
        if sn == 0:
            raise ConsistencyProofInvalid("consistency path is too long")
        # 6b.
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        # 6c.
        fn >>= 1
        sn >>= 1
    # 7. Both heads must be reproduced, with the path reaching the new tree's top exactly.
    if sn != 0:
        raise ConsistencyProofInvalid("consistency path is too short")
    if not _same(fr, old_root):
        raise ConsistencyProofInvalid("consistency path does not reproduce the old root")
    if not _same(sr, new_root):
        raise ConsistencyProofInvalid("consistency path does not reproduce the new root")


# --- an in-memory store ----------------------------------------------------------------------


class MemoryNodeStore:
    """Dict-backed node store with the same layout as the database's (tests, export checks).

    ``get`` and ``get_many`` have the :data:`GetNode` / :data:`GetNodes` shapes, so the
    module functions take them directly.
    """

    def __init__(self) -> None:
        self._nodes: dict[NodeKey, bytes] = {}
        self._frontier = CompactRange()

    @classmethod
    def from_leaf_hashes(cls, leaf_hashes: Iterable[bytes]) -> MemoryNodeStore:
        store = cls()
        for h in leaf_hashes:
            store.append_leaf_hash(h)
        return store

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MemoryNodeStore:
        return cls.from_leaf_hashes(leaf_hash(d) for d in leaves)

    @property
    def size(self) -> int:
        return self._frontier.size

    def __len__(self) -> int:
        return len(self._nodes)

    def append_leaf_hash(self, leaf_hash: bytes) -> None:
        for level, index, h in self._frontier.append(leaf_hash):
            self._nodes[(level, index)] = h

    def append_leaf(self, data: bytes) -> bytes:
        """Append raw leaf bytes; return their leaf hash."""
        h = leaf_hash(data)
        self.append_leaf_hash(h)
        return h

    def get(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise KeyError(f"node store has no node {(level, index)}") from None

    def get_many(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        return {key: self.get(*key) for key in keys}

    def root(self) -> bytes:
        return self._frontier.root()

    def root_at(self, size: int) -> bytes:
        self._check_within(size)
        return root_at(size, self.get_many)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        self._check_within(size)
        return inclusion_proof(index, size, self.get_many)

    def consistency_proof(self, m: int, n: int) -> list[bytes]:
        self._check_within(n)
        return consistency_proof(m, n, self.get_many)

    def _check_within(self, size: int) -> None:
        if size > self.size:
            raise ValueError(f"tree size {size} is beyond the {self.size} stored leaves")
