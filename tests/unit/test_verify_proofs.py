"""Proof objects (DESIGN §6 JSON): exact shape in and out, refusal of anything else, RFC 9162 checks."""

from __future__ import annotations

import pytest

from ledger.encoding.b64 import b64encode
from ledger.translog import merkle
from ledger.translog.proofs import ConsistencyProof, InclusionProof, InclusionProofInvalid, ProofMalformed

STORE = merkle.MemoryNodeStore.from_leaves(f"leaf {i}".encode() for i in range(13))


def test_inclusion_json_round_trips_and_verifies_at_every_position() -> None:
    for size in range(1, 14):
        root = STORE.root_at(size)
        for index in range(size):
            proof = InclusionProof(index, size, merkle.leaf_hash(f"leaf {index}".encode()),
                                   tuple(STORE.inclusion_proof(index, size)))  # fmt: skip
            again = InclusionProof.from_json(proof.as_json())
            assert again == proof
            again.verify(root, f"leaf {index}".encode())


def test_consistency_json_round_trips_and_verifies() -> None:
    for n in range(1, 14):
        for m in range(1, n + 1):
            proof = ConsistencyProof(m, n, tuple(STORE.consistency_proof(m, n)))
            ConsistencyProof.from_json(proof.as_json()).verify(STORE.root_at(m), STORE.root_at(n))


GOOD = {"leaf_index": 1, "tree_size": 2, "leaf_hash": b64encode(b"\1" * 32), "inclusion_path": [b64encode(b"\2" * 32)]}


@pytest.mark.parametrize(
    "bad",
    [
        {**GOOD, "extra": 1},
        {k: v for k, v in GOOD.items() if k != "leaf_hash"},
        {**GOOD, "leaf_index": True},
        {**GOOD, "leaf_index": "1"},
        {**GOOD, "leaf_index": 2},
        {**GOOD, "leaf_hash": b64encode(b"\1" * 31)},
        {**GOOD, "leaf_hash": b64encode(b"\1" * 32).rstrip("=")},
        {**GOOD, "inclusion_path": b64encode(b"\2" * 32)},
        [GOOD],
    ],
)
def test_malformed_inclusion_proofs_are_refused(bad: object) -> None:
    with pytest.raises(ProofMalformed):
        InclusionProof.from_json(bad)


def test_consistency_from_the_empty_tree_is_refused() -> None:
    with pytest.raises(ProofMalformed):
        ConsistencyProof.from_json({"first_size": 0, "second_size": 3, "consistency_path": []})


def test_a_proof_for_another_leaf_does_not_verify() -> None:
    proof = InclusionProof(3, 13, merkle.leaf_hash(b"leaf 3"), tuple(STORE.inclusion_proof(3, 13)))
    with pytest.raises(InclusionProofInvalid):
        proof.verify(STORE.root_at(13), b"leaf 4")
