"""包含证明 / 一致性证明 from a real ledger: correct for every position, O(log n) reads, exact JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.translog import merkle
from ledger.translog.proofs import (
    ConsistencyProof,
    ConsistencyProofInvalid,
    InclusionProof,
    InclusionProofInvalid,
    ProofRequestInvalid,
    checkpoint_root,
    consistency_proof,
    inclusion_proof,
)
from support.scenario import Scenario


@pytest.fixture
def sc(sqlite_url: str, tmp_path: Path):
    scenario = Scenario.create(sqlite_url, tmp_path)
    for n in range(1, 10):
        scenario.laborer(f"L-{n:04d}")
    scenario.session.checkpoint()
    yield scenario
    scenario.close()


def _memory(sc: Scenario) -> merkle.MemoryNodeStore:
    return merkle.MemoryNodeStore.from_leaves(leaf for _, _, leaf in sc.ledger.leaves())


def test_every_inclusion_and_consistency_proof_matches_the_reference_tree(sc: Scenario) -> None:
    reference = _memory(sc)
    n = sc.ledger.size()
    assert n == 21
    for size in range(1, n + 1):
        root = sc.ledger.root(size)
        assert root == reference.root_at(size)
        for seq in range(size):
            proof = inclusion_proof(sc.ledger, seq, size)
            assert list(proof.path) == reference.inclusion_proof(seq, size)
            proof.verify(root, sc.ledger.leaf(seq))
        for old in range(1, size + 1):
            c = consistency_proof(sc.ledger, old, size)
            assert list(c.path) == reference.consistency_proof(old, size)
            c.verify(sc.ledger.root(old), root)


def test_proofs_default_to_the_latest_checkpoint_and_print_the_fixed_json(sc: Scenario) -> None:
    sc.laborer("L-0100")  # a leaf after the latest checkpoint (size 21)
    proof = inclusion_proof(sc.ledger, 3)
    assert proof.tree_size == 21
    as_json = proof.as_json()
    assert list(as_json) == ["leaf_index", "tree_size", "leaf_hash", "inclusion_path"]
    assert InclusionProof.from_json(json.loads(json.dumps(as_json))) == proof
    proof.verify(checkpoint_root(sc.ledger, 21))
    c = consistency_proof(sc.ledger, 12)
    assert list(c.as_json()) == ["first_size", "second_size", "consistency_path"]
    assert (c.first_size, c.second_size) == (12, 21)
    assert ConsistencyProof.from_json(c.as_json()) == c


def test_a_proof_reads_a_handful_of_rows_whatever_the_log_size(sc: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = sc.ledger.sql.all

    def counting(statement: str, params=()):  # type: ignore[no-untyped-def]
        calls.append(statement)
        return original(statement, params)

    monkeypatch.setattr(sc.ledger.sql, "all", counting)
    inclusion_proof(sc.ledger, 5, 21)
    consistency_proof(sc.ledger, 7, 21)
    assert len(calls) <= 3
    assert not any("ledger_leaves" in c and "seq = ?" not in c for c in calls)  # never a scan


def test_impossible_proofs_are_refused(sc: Scenario) -> None:
    with pytest.raises(ProofRequestInvalid):
        inclusion_proof(sc.ledger, 21, 21)
    with pytest.raises(ProofRequestInvalid):
        inclusion_proof(sc.ledger, 0, 500)
    with pytest.raises(ProofRequestInvalid):
        consistency_proof(sc.ledger, 0, 5)
    with pytest.raises(ProofRequestInvalid):
        consistency_proof(sc.ledger, 6, 5)
    sc.ledger.sql.execute("DELETE FROM ledger_checkpoints")
    with pytest.raises(ProofRequestInvalid):
        inclusion_proof(sc.ledger, 1)


def test_a_wrong_proof_fails_verification(sc: Scenario) -> None:
    proof = inclusion_proof(sc.ledger, 4, 21)
    root = sc.ledger.root(21)
    with pytest.raises(InclusionProofInvalid):
        proof.verify(root, sc.ledger.leaf(5))
    bent = InclusionProof(5, 21, proof.leaf_hash, proof.path)
    with pytest.raises(InclusionProofInvalid):
        bent.verify(root)
    c = consistency_proof(sc.ledger, 9, 21)
    with pytest.raises(ConsistencyProofInvalid):
        c.verify(sc.ledger.root(8), root)


def test_proofs_on_postgres_match_sqlite(db_url: str, tmp_path: Path) -> None:
    sc = Scenario.create(db_url, tmp_path)
    try:
        reference = _memory(sc)
        for seq in (0, 5, 11):
            assert list(inclusion_proof(sc.ledger, seq).path) == reference.inclusion_proof(seq, 12)
        assert list(consistency_proof(sc.ledger, 5).path) == reference.consistency_proof(5, 12)
    finally:
        sc.close()
