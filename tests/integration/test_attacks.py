"""Attacks on the stored ledger, each caught by ``verify`` at the right seq or checkpoint.

Every test edits the database directly (SQL through the ledger's own connection pool) the way an
operator or intruder with write access could, on SQLite and PostgreSQL, then asserts that
``verify`` names the first place the ledger stops being intact and why. Attackers are modelled
at increasing strength: editing bytes only, then also fixing the derived columns (leaf hash,
Merkle nodes, domain events), then also holding a private key — each layer of the design
catches what the one before lets through.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.aggregates import subject_uuid
from ledger.domain.envelope import key_id_of, public_key_bytes, sign_envelope
from ledger.encoding.b64 import b64encode
from ledger.encoding.canonical import canonical
from ledger.errors import VerificationFailed
from ledger.translog import merkle
from ledger.translog.note import Checkpoint, sign_note
from ledger.translog.verify import (
    CheckpointMismatch,
    EventMismatch,
    KeyIndexMismatch,
    LeafMissing,
    LeafTampered,
    SignatureInvalidAt,
    TreeMismatch,
    TrustAnchorMismatch,
    run_verify,
)
from support.rewrite import rebuild_tree
from support.scenario import Scenario

XIJI_CLASS = "CLS-2019-640422-001"


@pytest.fixture
def sc(db_url: str, tmp_path: Path):
    """A small but complete trace: actors (a checkpoint after each), labourers, a class, a paid claim.

    Checkpoints at sizes 1..12 (init and the actors), ``sc.c1`` after enrolment, ``sc.c2`` at the
    end; a first ``verify`` has left ``trusted.json`` at ``sc.c2``.
    """
    s = Scenario.create(db_url, tmp_path)
    s.fund()
    for n in (1, 2, 3):
        s.laborer(f"L-000{n}")
    s.klass(XIJI_CLASS)
    s.ok("hr-xj", "ClassOpeningApproved", {"class_id": XIJI_CLASS})
    for n in (1, 2, 3):
        s.ok("inst-xj", "TraineeEnrolled", {"class_id": XIJI_CLASS, "laborer_id": f"L-000{n}"})
    s.c1 = checkpoint(s)
    s.ok("inst-xj", "AttendanceRecorded", {"class_id": XIJI_CLASS, "date": "2019-04-08", "trainees": [
        {"laborer_id": f"L-000{n}", "theory_hours": 2, "practical_hours": 6} for n in (1, 2, 3)]})  # fmt: skip
    s.claim("C-2019-0001", XIJI_CLASS, ["L-0001", "L-0002", "L-0003"])
    s.ok("hr-xj", "ClaimApproved", {"claim_id": "C-2019-0001", "total_fen": 450000, "lines": [
        {"laborer_id": f"L-000{n}", "amount_fen": 150000} for n in (1, 2, 3)]})  # fmt: skip
    s.ok("fin-xj", "PaymentDisbursed", {
        "payment_id": "P-2019-0001", "claim_id": "C-2019-0001", "fund_id": "F-2019-640422-training",
        "amount_fen": 450000, "payee_account": "ab" * 32, "bank_reference": "XJ20190601", "value_date": "2019-06-01",
    })  # fmt: skip
    s.c2 = checkpoint(s)
    intact = run_verify(s.ledger, s.session.keys, workers=0, trust_first_use=True)  # records trusted.json
    assert intact.latest_checkpoint == s.c2 and intact.size == s.c2
    yield s
    s.close()


# --- helpers: what an attacker with SQL access does --------------------------------------------------------
def checkpoint(sc: Scenario) -> int:
    sc.session.checkpoint()
    return sc.ledger.size()


def verify(sc: Scenario) -> Any:
    return run_verify(sc.ledger, sc.session.keys, workers=0)


def caught(sc: Scenario, error: type[VerificationFailed]) -> VerificationFailed:
    with pytest.raises(VerificationFailed) as info:
        verify(sc)
    assert isinstance(info.value, error), repr(info.value)
    return info.value


def seq_of(sc: Scenario, type_: str, needle: str = "") -> int:
    for seq, _, leaf in sc.ledger.leaves():
        if f'"type":"{type_}"'.encode() in leaf and needle.encode() in leaf:
            return seq
    raise AssertionError(f"no {type_} {needle}")


def row(sc: Scenario, seq: int) -> tuple[Any, ...]:
    found = sc.ledger.sql.one(
        "SELECT seq, recorded_at, actor, type, nonce, leaf, leaf_hash, originator_id, originator_version"
        " FROM ledger_leaves WHERE seq = ?", (seq,),
    )  # fmt: skip
    assert found is not None
    return found


def events_table(sc: Scenario) -> str:
    return sc.ledger.recorder.events_table_name


def originator(sc: Scenario, hex_id: str) -> Any:
    from uuid import UUID

    return UUID(hex_id) if sc.ledger.sql.postgres else hex_id


def event_state(sc: Scenario, seq: int) -> tuple[Any, bytes]:
    r = row(sc, seq)
    oid = originator(sc, r[7])
    found = sc.ledger.sql.one(
        f"SELECT state FROM {events_table(sc)} WHERE originator_id = ? AND originator_version = ?", (oid, r[8])
    )
    assert found is not None
    return oid, bytes(found[0])


def set_event_envelope(sc: Scenario, seq: int, envelope: dict[str, Any], new_seq: int | None = None) -> None:
    oid, state = event_state(sc, seq)
    decoded = json.loads(state)
    decoded["envelope"] = envelope
    if new_seq is not None:
        decoded["seq"] = new_seq
    sc.ledger.sql.execute(
        f"UPDATE {events_table(sc)} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        (json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode(), oid, row(sc, seq)[8]),
    )


def forget_leaf_hashes(sc: Scenario) -> None:
    """A verifier that kept only trusted.json, not the leaf hashes beside it."""
    (sc.session.keys.root / "trusted.leaves").unlink()


def rewrite_leaf(sc: Scenario, seq: int, leaf: bytes, *, fix_hash: bool = True) -> None:
    params = (leaf, merkle.leaf_hash(leaf), seq) if fix_hash else (leaf, bytes(row(sc, seq)[6]), seq)
    sc.ledger.sql.execute("UPDATE ledger_leaves SET leaf = ?, leaf_hash = ? WHERE seq = ?", params)


def leaf_of(seq: int, recorded_at: str, envelope: dict[str, Any]) -> bytes:
    return canonical({"seq": seq, "recorded_at": recorded_at, "envelope": envelope})


# --- the attacks ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("also_fixed", "error"),
    [
        ("nothing", LeafTampered),  # the stored leaf hash no longer matches
        ("leaf hash", TreeMismatch),  # the stored Merkle tree still holds the old hash
        ("leaf hash, Merkle tree", EventMismatch),  # the domain event still holds the signed envelope
        ("leaf hash, Merkle tree, domain event", SignatureInvalidAt),  # the signature no longer verifies
    ],
)
def test_one_byte_changed_in_a_leaf_is_caught_at_its_seq(sc: Scenario, also_fixed: str, error: type) -> None:
    seq = seq_of(sc, "LaborerRegistered", "L-0002")
    leaf = bytes(row(sc, seq)[5])
    forged = leaf.replace(b'"birth_date":"1985-06-01"', b'"birth_date":"1985-06-02"', 1)
    assert len(forged) == len(leaf) and forged != leaf  # exactly one byte
    rewrite_leaf(sc, seq, forged, fix_hash=also_fixed != "nothing")
    if "Merkle tree" in also_fixed:
        rebuild_tree(sc)
    if "domain event" in also_fixed:
        set_event_envelope(sc, seq, json.loads(forged)["envelope"])
    assert caught(sc, error).seq == seq


def test_one_byte_changed_in_a_stored_domain_event_is_caught_at_its_seq(sc: Scenario) -> None:
    seq = seq_of(sc, "ClaimApproved")
    oid, state = event_state(sc, seq)
    forged = state.replace(b'"amount_fen":150000', b'"amount_fen":950000', 1)
    assert len(forged) == len(state) and forged != state
    sc.ledger.sql.execute(
        f"UPDATE {events_table(sc)} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        (forged, oid, row(sc, seq)[8]),
    )
    error = caught(sc, EventMismatch)
    assert error.seq == seq and "envelope" in str(error)


def test_deleted_row_is_caught_at_its_seq(sc: Scenario) -> None:
    seq = seq_of(sc, "TraineeEnrolled", "L-0002")
    sc.ledger.sql.execute("DELETE FROM ledger_leaves WHERE seq = ?", (seq,))
    error = caught(sc, LeafMissing)
    assert error.seq == seq


def test_forged_row_appended_with_its_tree_nodes_is_caught(sc: Scenario) -> None:
    """Signed by a real actor's key but never accepted: appended straight into the tables."""
    n = sc.ledger.size()
    last = row(sc, n - 1)
    envelope = sc.envelope("pov-xj", "IdentityConfirmed", {"laborer_id": "L-0001", "basis": "伪造"})
    leaf = leaf_of(n, last[1], envelope)
    subject = subject_uuid("laborer", "L-0001").hex
    frontier = merkle.CompactRange.from_size(n, sc.ledger.node)
    with sc.ledger.sql.cursor(commit=True) as cur:
        cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (
            n, last[1], "pov-xj", "IdentityConfirmed", envelope["nonce"], leaf, merkle.leaf_hash(leaf), subject, 2,
        ))  # fmt: skip
        cur.executemany("INSERT INTO ledger_tree VALUES (?, ?, ?)", frontier.append(merkle.leaf_hash(leaf)))
    error = caught(sc, EventMismatch)
    assert error.seq == n


def test_forged_row_inserted_in_the_middle_is_caught_by_the_next_checkpoint(sc: Scenario) -> None:
    """A thorough attacker: renumbers every later leaf, fixes hashes, events and tree. Only signatures remain."""
    k = sc.c1 - 2  # inside the part covered by checkpoint c1
    n = sc.ledger.size()
    rows = [row(sc, s) for s in range(k, n)]
    with sc.ledger.sql.cursor(commit=True) as cur:
        cur.execute("DELETE FROM ledger_leaves WHERE seq >= ?", (k,))
    forged_env = sc.envelope("pov-xj", "IdentityConfirmed", {"laborer_id": "L-0003", "basis": "伪造"})
    inserted = [(k, rows[0][1], "pov-xj", "IdentityConfirmed", forged_env["nonce"], forged_env,
                 subject_uuid("laborer", "L-0003").hex, 2)]  # fmt: skip
    for r in rows:
        inserted.append((r[0] + 1, r[1], r[2], r[3], r[4], json.loads(bytes(r[5]))["envelope"], r[7], r[8]))
    with sc.ledger.sql.cursor(commit=True) as cur:
        for seq, rec, actor, type_, nonce, env, oid, version in inserted:
            leaf = leaf_of(seq, rec, env)
            cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (seq, rec, actor, type_, nonce, leaf, merkle.leaf_hash(leaf), oid, version))  # fmt: skip
    for seq, *_, env, _, _ in inserted[1:]:
        set_event_envelope(sc, seq, env, new_seq=seq)
    state = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-01T00:00:00+00:00"},
             "seq": k, "recorded_at": rows[0][1], "envelope": forged_env}  # fmt: skip
    sc.ledger.sql.execute(
        f"INSERT INTO {events_table(sc)} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
        (originator(sc, inserted[0][6]), 2, "ledger.domain.aggregates:Laborer.IdentityConfirmed",
         json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()),
    )  # fmt: skip
    rebuild_tree(sc)
    # The leaf hashes kept beside trusted.json name the forged leaf itself ...
    assert caught(sc, TrustAnchorMismatch).seq == k
    # ... and without them the operator's checkpoint still catches it.
    forget_leaf_hashes(sc)
    error = caught(sc, CheckpointMismatch)
    assert error.checkpoint == sc.c1 and error.seq is None


def test_two_swapped_rows_are_caught_at_the_first(sc: Scenario) -> None:
    i, j = seq_of(sc, "LaborerRegistered", "L-0001"), seq_of(sc, "LaborerRegistered", "L-0003")
    a, b = row(sc, i), row(sc, j)
    with sc.ledger.sql.cursor(commit=True) as cur:
        cur.execute("DELETE FROM ledger_leaves WHERE seq IN (?, ?)", (i, j))
        cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (i, *b[1:]))
        cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (j, *a[1:]))
    error = caught(sc, LeafTampered)
    assert error.seq == i and f"says seq {j}" in str(error)


def test_truncated_tail_with_its_checkpoints_is_caught_by_the_trust_anchor(sc: Scenario, tmp_path: Path) -> None:
    k = sc.c1
    versions = sc.ledger.sql.all("SELECT originator_id, originator_version FROM ledger_leaves WHERE seq >= ?", (k,))
    assert versions
    with sc.ledger.sql.cursor(commit=True) as cur:
        for oid, version in versions:
            cur.execute(f"DELETE FROM {events_table(sc)} WHERE originator_id = ? AND originator_version = ?",
                        (originator(sc, oid), version))  # fmt: skip
        cur.execute("DELETE FROM ledger_leaves WHERE seq >= ?", (k,))
        cur.execute("DELETE FROM ledger_keys WHERE seq >= ?", (k,))
        cur.execute("DELETE FROM ledger_checkpoints WHERE size > ?", (k,))
    rebuild_tree(sc)  # the tree of the shorter log: everything left is self-consistent
    error = caught(sc, TrustAnchorMismatch)
    assert (error.seq, error.checkpoint) == (k, sc.c2)
    # A verifier without a trust anchor could not tell: that is what trusted.json is for.
    (sc.session.keys.root / "trusted.json").unlink()
    assert verify(sc).size == k


def test_registered_public_key_replaced_in_its_leaf_is_caught(sc: Scenario) -> None:
    """Without the admin's key the registration's signature breaks at its own seq."""
    seq = seq_of(sc, "ActorRegistered", '"actor_id":"fin-xj"')
    envelope = json.loads(bytes(row(sc, seq)[5]))["envelope"]
    envelope["body"]["public_key"] = b64encode(public_key_bytes(Ed25519PrivateKey.generate()))
    rewrite_leaf(sc, seq, leaf_of(seq, row(sc, seq)[1], envelope))
    set_event_envelope(sc, seq, envelope)
    rebuild_tree(sc)
    assert caught(sc, SignatureInvalidAt).seq == seq


def test_registered_public_key_replaced_and_resigned_with_the_admin_key_is_caught_by_the_checkpoint(sc: Scenario) -> None:
    """Even holding the admin key, the rewritten leaf changes the root the operator signed right after it."""
    seq = seq_of(sc, "ActorRegistered", '"actor_id":"fin-xj"')
    envelope = json.loads(bytes(row(sc, seq)[5]))["envelope"]
    attacker = Ed25519PrivateKey.generate()
    unsigned = {k: v for k, v in envelope.items() if k not in ("v", "key_id", "sig")}
    unsigned["body"] = {**envelope["body"], "public_key": b64encode(public_key_bytes(attacker))}
    resigned = sign_envelope(unsigned, sc.session.keys.actor_key("admin"))
    rewrite_leaf(sc, seq, leaf_of(seq, row(sc, seq)[1], resigned))
    set_event_envelope(sc, seq, resigned)
    sc.ledger.sql.execute(
        "UPDATE ledger_keys SET key_id = ? WHERE seq = ?", (key_id_of(public_key_bytes(attacker)), seq)
    )
    rebuild_tree(sc)
    assert caught(sc, TrustAnchorMismatch).seq == seq  # the leaf hashes kept beside trusted.json
    forget_leaf_hashes(sc)
    error = caught(sc, CheckpointMismatch)
    assert error.checkpoint == seq + 1  # Scenario.create signs a checkpoint after each registration


def test_key_index_row_replaced_is_caught_at_the_registering_seq(sc: Scenario) -> None:
    seq = seq_of(sc, "ActorRegistered", '"actor_id":"fin-xj"')
    attacker = key_id_of(public_key_bytes(Ed25519PrivateKey.generate()))
    sc.ledger.sql.execute("UPDATE ledger_keys SET key_id = ? WHERE seq = ?", (attacker, seq))
    error = caught(sc, KeyIndexMismatch)
    assert error.seq == seq


def test_edited_checkpoint_is_caught_by_its_signature(sc: Scenario) -> None:
    c1 = next(c for c in sc.ledger.checkpoints() if c.size == sc.c1)
    size, root, note, signed_at = c1.size, c1.root, c1.note, c1.signed_at
    other = b64encode(sc.ledger.root(sc.c1 - 1))
    forged = note.replace(b64encode(root), other)
    assert forged != note
    sc.ledger.sql.execute(
        "UPDATE ledger_checkpoints SET note = ?, root_hash = ? WHERE size = ? AND signed_at = ?",
        (forged, sc.ledger.root(sc.c1 - 1), size, signed_at),
    )
    error = caught(sc, CheckpointMismatch)
    assert error.checkpoint == sc.c1 and "signature" in str(error)


def test_checkpoint_resigned_with_another_key_is_caught(sc: Scenario) -> None:
    c1 = next(c for c in sc.ledger.checkpoints() if c.size == sc.c1)
    size, root, signed_at = c1.size, c1.root, c1.signed_at
    origin = sc.session.keys.origin
    resigned = sign_note(Checkpoint(origin, size, root).body(), origin, Ed25519PrivateKey.generate())
    sc.ledger.sql.execute(
        "UPDATE ledger_checkpoints SET note = ? WHERE size = ? AND signed_at = ?", (resigned, size, signed_at)
    )
    error = caught(sc, CheckpointMismatch)
    assert error.checkpoint == sc.c1
