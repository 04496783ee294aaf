"""RFC 6962 / RFC 9162 Merkle tree against transparency-dev/merkle's vectors and probes.

The vectors live beside the repository in ``shared/vectors`` (DESIGN §6); a missing file is
a collection error, never a skip, so the contract cannot silently go untested.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.translog.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ConsistencyProofInvalid,
    InclusionProofInvalid,
    MemoryNodeStore,
    NodeKey,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_to_store_on_append,
    root_at,
    subtree_ranges,
    verify_consistency,
    verify_inclusion,
)
from vector_files import vectors_dir

VECTORS = vectors_dir()


def _load(name: str) -> Any:
    path = VECTORS / name
    assert path.is_file(), f"test vectors missing: {path}"
    return json.loads(path.read_text(encoding="utf-8"))


V = _load("rfc6962_vectors.json")
LEAVES = [bytes.fromhex(x) for x in V["leaf_inputs_hex"]]
INCLUSION_PROBES = V["probes"]["inclusion"]
CONSISTENCY_PROBES = V["probes"]["consistency"]


def _hexes(values: Sequence[str] | None) -> list[bytes]:
    # The source's Go JSON writes a nil proof as null: it means an empty path.
    return [bytes.fromhex(x) for x in values or []]


# --- naive RFC 9162 definitions, straight from the text, to compare against ------------------


def _k(n: int) -> int:
    """Largest power of two smaller than n (RFC 9162 §2.1.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(hashes: Sequence[bytes]) -> bytes:
    """MTH over already hashed leaves (RFC 9162 §2.1.1)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return node_hash(naive_mth(hashes[:k]), naive_mth(hashes[k:]))


def naive_path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1)."""
    if len(hashes) == 1:
        return []
    k = _k(len(hashes))
    if m < k:
        return naive_path(m, hashes[:k]) + [naive_mth(hashes[k:])]
    return naive_path(m - k, hashes[k:]) + [naive_mth(hashes[:k])]


def naive_subproof(m: int, hashes: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) (RFC 9162 §2.1.4.1)."""
    n = len(hashes)
    if m == n:
        return [] if b else [naive_mth(hashes)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, hashes[:k], b) + [naive_mth(hashes[k:])]
    return naive_subproof(m - k, hashes[k:], False) + [naive_mth(hashes[:k])]


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.fixture(scope="module")
def store() -> MemoryNodeStore:
    return MemoryNodeStore.from_leaves(LEAVES)


# --- hasher, stored nodes, roots -------------------------------------------------------------


@pytest.mark.parametrize("vector", V["hasher_vectors"], ids=lambda v: v["desc"])
def test_hasher_vectors(vector: dict[str, str]) -> None:
    expected = bytes.fromhex(vector["expected_hex"])
    if "left_hex" in vector:
        got = node_hash(bytes.fromhex(vector["left_hex"]), bytes.fromhex(vector["right_hex"]))
    elif "leaf_input_hex" in vector:
        got = leaf_hash(bytes.fromhex(vector["leaf_input_hex"]))
    else:
        got = EMPTY_ROOT
    assert got == expected


def test_stored_nodes_are_exactly_the_complete_subtrees_by_level(store: MemoryNodeStore) -> None:
    expected = {
        (int(level), index): bytes.fromhex(h)
        for level, hashes in V["node_hashes_by_level"].items()
        for index, h in enumerate(hashes)
    }
    assert store.get_many(list(expected)) == expected
    assert len(store) == len(expected)  # nothing else is stored


@pytest.mark.parametrize("size", sorted(int(s) for s in V["root_hashes_by_tree_size"]))
def test_root_for_each_tree_size(store: MemoryNodeStore, size: int) -> None:
    expected = bytes.fromhex(V["root_hashes_by_tree_size"][str(size)])
    assert root_at(size, store.get_many) == expected
    prefix = CompactRange()
    prefix.extend(leaf_hash(d) for d in LEAVES[:size])
    assert prefix.root() == expected
    assert CompactRange.from_size(size, store.get).root() == expected
    assert naive_mth([leaf_hash(d) for d in LEAVES[:size]]) == expected


def test_nodes_to_store_on_append_matches_compact_range(store: MemoryNodeStore) -> None:
    stored: dict[NodeKey, bytes] = {}
    frontier = CompactRange()
    for n, data in enumerate(LEAVES):
        h = leaf_hash(data)
        by_reads = nodes_to_store_on_append(n, h, lambda lv, ix: stored[(lv, ix)])
        assert by_reads == frontier.append(h)
        stored.update({(lv, ix): nh for lv, ix, nh in by_reads})
    assert stored == store.get_many(list(stored))


# --- proofs from the reference generator -----------------------------------------------------


@pytest.mark.parametrize(
    "vector", V["inclusion_proofs"], ids=lambda v: f"leaf{v['leaf_index']}-size{v['tree_size']}"
)
def test_inclusion_proof_vectors(store: MemoryNodeStore, vector: dict[str, Any]) -> None:
    index, size = vector["leaf_index"], vector["tree_size"]
    lh = bytes.fromhex(vector["leaf_hash_hex"])
    root = bytes.fromhex(vector["expected_root_hex"])
    assert leaf_hash(bytes.fromhex(vector["leaf_input_hex"])) == lh
    proof = inclusion_proof(index, size, store.get_many)
    assert proof == _hexes(vector["proof_hex"])
    verify_inclusion(lh, index, size, proof, root)


@pytest.mark.parametrize("vector", V["consistency_proofs"], ids=lambda v: f"{v['size1']}-to-{v['size2']}")
def test_consistency_proof_vectors(store: MemoryNodeStore, vector: dict[str, Any]) -> None:
    m, n = vector["size1"], vector["size2"]
    old, new = bytes.fromhex(vector["root1_hex"]), bytes.fromhex(vector["root2_hex"])
    proof = consistency_proof(m, n, store.get_many)
    assert proof == _hexes(vector["proof_hex"])
    verify_consistency(m, n, old, new, proof)


# --- every probe: accepted or refused exactly as marked ------------------------------------


@pytest.mark.parametrize("probe", INCLUSION_PROBES, ids=lambda p: p["file"])
def test_inclusion_probe(store: MemoryNodeStore, probe: dict[str, Any]) -> None:
    args = (
        bytes.fromhex(probe["leafHash"]),
        probe["leafIdx"],
        probe["treeSize"],
        _hexes(probe["proof"]),
        bytes.fromhex(probe["root"]),
    )
    if probe["wantErr"]:
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)
        # The reference generator used the same eight leaves: our proof must be its proof.
        assert inclusion_proof(probe["leafIdx"], probe["treeSize"], store.get_many) == args[3]


@pytest.mark.parametrize("probe", CONSISTENCY_PROBES, ids=lambda p: p["file"])
def test_consistency_probe(store: MemoryNodeStore, probe: dict[str, Any]) -> None:
    m, n = probe["size1"], probe["size2"]
    proof = _hexes(probe["proof"])
    args = (m, n, bytes.fromhex(probe["root1"]), bytes.fromhex(probe["root2"]), proof)
    if probe["wantErr"]:
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(*args)
    else:
        verify_consistency(*args)
        assert consistency_proof(m, n, store.get_many) == proof


def test_probe_set_is_complete() -> None:
    # Guards against a truncated vectors file quietly shrinking the parametrized cases.
    assert len(INCLUSION_PROBES) == 98
    assert len(CONSISTENCY_PROBES) == 98
    assert sum(not p["wantErr"] for p in INCLUSION_PROBES + CONSISTENCY_PROBES) >= 10


# --- cost: proofs read O(log n) nodes in one call, never a scan ------------------------------


class CountingStore:
    """Fabricates a hash for any complete subtree of a huge tree and counts the reads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.calls: list[list[NodeKey]] = []

    def get_many(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        self.calls.append(list(keys))
        for level, index in keys:
            assert (index + 1) << level <= self.size, "asked for a node that is not complete"
        return {(lv, ix): leaf_hash(f"{lv}/{ix}".encode()) for lv, ix in keys}

    def get(self, level: int, index: int) -> bytes:
        return self.get_many([(level, index)])[(level, index)]


@pytest.mark.parametrize("size", [1, 2, 3, 1000, 2**20, 2**40 - 1, 10**12 + 12345])
def test_proofs_read_logarithmically_many_nodes_in_one_call(size: int) -> None:
    bound = 3 * size.bit_length() + 3
    for index in {0, size // 3, size - 1}:
        s = CountingStore(size)
        inclusion_proof(index, size, s.get_many)
        assert len(s.calls) <= 1 and sum(map(len, s.calls)) <= bound
    for m in {1, size // 2 or 1, size - 1 or 1, size}:
        s = CountingStore(size)
        consistency_proof(m, size, s.get_many)
        assert len(s.calls) <= 1 and sum(map(len, s.calls)) <= bound
    s = CountingStore(size)
    root_at(size, s.get_many)
    CompactRange.from_size(size, s.get)
    assert sum(map(len, s.calls)) <= 2 * size.bit_length()


def test_subtree_ranges_cover_exactly_and_minimally() -> None:
    for begin in range(0, 40):
        for end in range(begin, 70):
            ranges = subtree_ranges(begin, end)
            covered = [i for lv, ix in ranges for i in range(ix << lv, (ix + 1) << lv)]
            assert covered == list(range(begin, end))
            # Minimal: no two neighbours could merge into one aligned parent.
            for (l1, i1), (l2, i2) in zip(ranges, ranges[1:], strict=False):
                assert not (l1 == l2 and i1 % 2 == 0 and i2 == i1 + 1)


def test_every_proof_in_small_trees_matches_rfc_9162() -> None:
    # Exhaustive over all shapes up to 33 leaves: every index, every older size.
    hashes = [leaf_hash(i.to_bytes(2, "big")) for i in range(33)]
    store = MemoryNodeStore.from_leaf_hashes(hashes)
    for size in range(1, len(hashes) + 1):
        root = store.root_at(size)
        assert root == naive_mth(hashes[:size])
        for index in range(size):
            path = store.inclusion_proof(index, size)
            assert path == naive_path(index, hashes[:size])
            verify_inclusion(hashes[index], index, size, path, root)
        for m in range(1, size + 1):
            proof = store.consistency_proof(m, size)
            assert proof == naive_subproof(m, hashes[:size], True)
            verify_consistency(m, size, store.root_at(m), root, proof)


def test_proof_generation_refuses_impossible_requests() -> None:
    store = MemoryNodeStore.from_leaves(LEAVES)
    with pytest.raises(ValueError):
        store.inclusion_proof(8, 8)
    with pytest.raises(ValueError):
        store.inclusion_proof(0, 9)  # beyond what is stored
    with pytest.raises(ValueError):
        store.consistency_proof(0, 8)  # from the empty tree proves nothing
    with pytest.raises(ValueError):
        store.consistency_proof(5, 4)
    with pytest.raises(ValueError):
        CompactRange().append(b"short")


# --- properties over random trees --------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(min_value=0, max_value=300),
    salt=st.binary(max_size=8),
    data=st.data(),
)
def test_random_trees_match_rfc_9162_definitions(count: int, salt: bytes, data: st.DataObject) -> None:
    # Distinct leaves, so a proof for one position can never also fit another by accident.
    leaves = [f"{i}:".encode() + salt for i in range(count)]
    hashes = [leaf_hash(d) for d in leaves]
    store = MemoryNodeStore.from_leaves(leaves)
    assert store.root() == naive_mth(hashes)
    # A complete aligned subtree is stored per node of the full tree: 2n - popcount(n).
    assert len(store) == 2 * count - bin(count).count("1")

    size = data.draw(st.integers(min_value=0, max_value=count), label="size")
    root = store.root_at(size)
    assert root == naive_mth(hashes[:size])
    reloaded = CompactRange.from_size(size, store.get)
    assert reloaded.root() == root
    if size < count:  # a reloaded frontier keeps appending exactly like the original
        nodes = reloaded.append(hashes[size])
        assert nodes == nodes_to_store_on_append(size, hashes[size], store.get)
        assert reloaded.root() == naive_mth(hashes[: size + 1])
    if size == 0:
        return

    # Inclusion (RFC 9162 §2.1.3).
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    path = store.inclusion_proof(index, size)
    assert path == naive_path(index, hashes[:size])
    verify_inclusion(hashes[index], index, size, path, root)
    with pytest.raises(InclusionProofInvalid):
        verify_inclusion(hashes[index], index, size, path, _flip(root, data.draw(st.integers(0, 255))))
    with pytest.raises(InclusionProofInvalid):
        verify_inclusion(_flip(hashes[index], 0), index, size, path, root)
    with pytest.raises(InclusionProofInvalid):
        verify_inclusion(hashes[index], index, size, [*path, root], root)
    if path:
        at = data.draw(st.integers(0, len(path) - 1), label="tampered element")
        bad = list(path)
        bad[at] = _flip(bad[at], data.draw(st.integers(0, 255)))
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(hashes[index], index, size, bad, root)
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(hashes[index], index, size, path[:-1], root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(hashes[index], other, size, path, root)

    # Consistency (RFC 9162 §2.1.4).
    m = data.draw(st.integers(min_value=1, max_value=size), label="m")
    old = store.root_at(m)
    proof = store.consistency_proof(m, size)
    assert proof == naive_subproof(m, hashes[:size], True)
    verify_consistency(m, size, old, root, proof)
    if m < size:
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(m, size, _flip(old, 3), root, proof)
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(m, size, old, _flip(root, 3), proof)
        at = data.draw(st.integers(0, len(proof) - 1), label="tampered step")
        bad = list(proof)
        bad[at] = _flip(bad[at], data.draw(st.integers(0, 255)))
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(m, size, old, root, bad)
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(m, size, old, root, proof[:-1])
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(m, size, old, root, [*proof, root])
    else:
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(m, size, old, _flip(root, 3), proof)
