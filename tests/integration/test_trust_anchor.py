"""Issue 12 fault 3, "the trust anchor is weak": each test is named after the attack it reproduces.

Real SQLite and PostgreSQL, real keys and signatures, real anchor files. The attacker is the
operator itself, holding every key of its keystore (``support.rewrite``): it rewrites a leaf with
a valid signature, fixes hashes, events and tree, re-signs every later checkpoint and, where the
test says so, edits the anchor kept in its own keystore.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.envelope import public_key_bytes
from ledger.keys.keystore import private_pem
from ledger.translog.cosign import cosign_latest, rotate_operator, witness_key
from ledger.translog.note import Checkpoint, add_signature, format_verifier_key, sign_note, signature_line
from ledger.translog.verify import (
    NEXT_OPERATOR_KEY,
    CheckpointMismatch,
    TrustAnchorMismatch,
    WitnessMissing,
    load_operator_verifiers,
    load_trust,
    run_verify,
)
from support import rewrite
from support.scenario import Scenario

BIRTH = (b'"birth_date": "1985-06-01"', b'"birth_date": "1975-06-01"')  # ten years older: another subsidy class


@pytest.fixture
def sc(db_url: str, tmp_path: Path):
    """Actors (a checkpoint after each), five labourers, one more checkpoint: 17 leaves, all covered."""
    s = Scenario.create(db_url, tmp_path)
    for n in range(1, 6):
        s.laborer(f"L-{n:04d}")
    s.session.checkpoint()
    yield s
    s.close()


def verify(sc: Scenario, **kw):  # type: ignore[no-untyped-def]
    trust = load_trust(sc.session.keys, kw.pop("operator_key", None), kw.pop("anchor", None), kw.pop("witnesses", ()))
    return run_verify(sc.ledger, sc.session.keys, workers=kw.pop("workers", 0), trust=trust, **kw)


def caught(sc: Scenario, error: type, **kw):  # type: ignore[no-untyped-def]
    with pytest.raises(error) as info:
        verify(sc, **kw)
    return info.value


def test_no_anchor_is_trust_on_first_use_and_writes_nothing_silently(sc: Scenario) -> None:
    keys = sc.session.keys.root
    intact = verify(sc)
    assert intact.trust["tofu"] is True and intact.trust["anchor_written"] is False
    assert intact.as_json()["tofu"] is True
    assert not (keys / "trusted.json").exists() and not (keys / "trusted.leaves").exists()
    # A published operator key or a witness is trust from outside: not TOFU, still nothing written.
    given = verify(sc, operator_key=sc.session.keys.operator_verifier())
    assert given.trust["tofu"] is False and not (keys / "trusted.json").exists()
    # Only an explicit trust-on-first-use records the anchor, with its leaf hashes (32 bytes a leaf).
    first = verify(sc, trust_first_use=True)
    assert first.trust == {**first.trust, "tofu": True, "anchor_written": True}
    assert json.loads((keys / "trusted.json").read_text())["size"] == 17
    assert (keys / "trusted.leaves").stat().st_size == 17 * 32
    # From then on the anchor exists: not TOFU, and it only grows.
    sc.laborer("L-0006")
    sc.session.checkpoint()
    later = verify(sc)
    assert later.trust["tofu"] is False and later.trust["anchor_written"] is True and later.trusted_size == 17
    assert (keys / "trusted.leaves").stat().st_size == 18 * 32
    # A witness must be a cosigner key (0x04), not an operator key; a bad one is an operational error.
    from ledger.errors import OperationalError

    with pytest.raises(OperationalError, match="0x04"):
        verify(sc, witnesses=[sc.session.keys.operator_verifier()])


def test_operator_rewrite_plus_trusted_json_edit_caught_by_external_anchor(sc: Scenario, tmp_path: Path) -> None:
    external = tmp_path / "monitor" / "anchor.json"  # e.g. the finance bureau's own machine
    verify(sc, anchor=external, trust_first_use=True)
    verify(sc, trust_first_use=True)  # and the operator's keystore anchor
    assert json.loads(external.read_text())["size"] == 17 and external.with_suffix(".leaves").exists()
    k = rewrite.seq_of(sc, "LaborerRegistered", "L-0003")
    rewrite.rewrite_leaf(sc, k, *BIRTH)
    rewrite.edit_trusted_json(sc)
    # The operator's own keystore now vouches for the rewritten history ...
    assert verify(sc).size == 17
    # ... the anchor it could not reach does not.
    error = caught(sc, TrustAnchorMismatch, anchor=external)
    assert error.seq == k and "rewritten" in str(error)
    assert json.loads(external.read_text())["size"] == 17  # a failed verify never moves the anchor


@pytest.mark.parametrize("attack", ["rewritten", "rolled back"])
def test_rewrite_caught_by_cosigner_checkpoint(sc: Scenario, attack: str) -> None:
    cosigned = cosign_latest(sc.ledger, sc.session.keys, "fin-xj", load_operator_verifiers(sc.session.keys))
    assert cosigned.size == 17
    k = rewrite.seq_of(sc, "LaborerRegistered", "L-0003")
    if attack == "rewritten":
        rewrite.rewrite_leaf(sc, k, *BIRTH)  # every checkpoint re-signed; the cosignature is gone
    else:
        rewrite.truncate(sc, k)
    assert not (sc.session.keys.root / "trusted.json").exists()  # no anchor of this verifier's own
    error = caught(sc, TrustAnchorMismatch)
    assert error.checkpoint == 17 and "fin-xj" in str(error) and attack in str(error)


def test_monitor_names_first_changed_seq(sc: Scenario) -> None:
    verify(sc, trust_first_use=True)
    k = rewrite.seq_of(sc, "LaborerRegistered", "L-0002")
    rewrite.rewrite_leaf(sc, k, *BIRTH)
    later = rewrite.seq_of(sc, "LaborerRegistered", "L-0004")
    rewrite.rewrite_leaf(sc, later, *BIRTH)
    error = caught(sc, TrustAnchorMismatch)
    assert (error.seq, error.checkpoint) == (k, 17) and f"from seq {k}" in str(error)
    assert caught(sc, TrustAnchorMismatch, workers=2).seq == k  # leaves checked in worker processes
    # Without the leaf hashes, only the checkpoint whose root moved can be named.
    (sc.session.keys.root / "trusted.leaves").unlink()
    error = caught(sc, TrustAnchorMismatch)
    assert (error.seq, error.checkpoint) == (None, 17)


def test_damaged_leaf_hashes_are_an_operational_error_not_an_accusation(sc: Scenario) -> None:
    from ledger.errors import OperationalError

    verify(sc, trust_first_use=True)
    leaves = sc.session.keys.root / "trusted.leaves"
    data = bytearray(leaves.read_bytes())
    data[5 * 32] ^= 1
    leaves.write_bytes(bytes(data))
    with pytest.raises(OperationalError, match="damaged"):
        verify(sc)


def test_witness_required(sc: Scenario, tmp_path: Path) -> None:
    fin = witness_key(sc.ledger, "fin-xj")
    insp = witness_key(sc.ledger, "insp")
    assert fin.startswith("fin-xj+")
    error = caught(sc, WitnessMissing, witnesses=[fin])
    assert error.checkpoint == 17 and "fin-xj" in str(error)
    cosign_latest(sc.ledger, sc.session.keys, "fin-xj", load_operator_verifiers(sc.session.keys))
    key_file = tmp_path / "fin-xj.pub"
    key_file.write_text(fin + "\n")
    intact = verify(sc, witnesses=[str(key_file)], trust_first_use=True)
    assert intact.witnesses == ["fin-xj"] and intact.trust["tofu"] is False and intact.trust["anchor_written"]
    assert caught(sc, WitnessMissing, witnesses=[fin, insp]).checkpoint == 17
    # The anchor moves only to a witnessed checkpoint: a newer one nobody cosigned is refused.
    sc.laborer("L-0006")
    sc.session.checkpoint()
    assert caught(sc, WitnessMissing, witnesses=[fin]).checkpoint == 18
    assert json.loads((sc.session.keys.root / "trusted.json").read_text())["size"] == 17
    # A witness key of the right name but another key is not that witness.
    stranger = format_verifier_key("fin-xj", public_key_bytes(Ed25519PrivateKey.generate()), 0x04)
    cosign_latest(sc.ledger, sc.session.keys, "fin-xj", load_operator_verifiers(sc.session.keys))
    assert caught(sc, WitnessMissing, witnesses=[stranger]).checkpoint == 18


def test_operator_key_change_by_dual_signed_checkpoint(sc: Scenario) -> None:
    old = sc.session.keys.operator_verifier()
    changed = rotate_operator(sc.ledger, sc.session.keys)
    assert changed.old == old and changed.size == 17
    assert sc.session.keys.operator_verifier() == changed.new
    sc.laborer("L-0006")
    note = sc.session.checkpoint()  # signed by the new key only
    assert note is not None and changed.new.split("+")[1] not in old
    # A verifier that knows only the old key follows the change ...
    intact = verify(sc, operator_key=old)
    assert intact.operator_key_changes == [17] and intact.latest_checkpoint == 18
    # ... so does one reading this keystore (operator-retired.pub + operator.pub), and cosigners.
    assert verify(sc, trust_first_use=True).operator_key_changes == [17]
    cosign_latest(sc.ledger, sc.session.keys, "insp", load_operator_verifiers(sc.session.keys))
    # After the change the old key signs nothing: a checkpoint signed with it is refused.
    retired = next((sc.session.keys.root / "retired").glob("operator.*.pem"))
    from ledger.keys.keystore import load_private_pem

    old_key = load_private_pem(retired.read_bytes(), "old")
    sc.laborer("L-0007")
    origin = sc.session.keys.origin
    forged = sign_note(Checkpoint(origin, 19, sc.ledger.root(19)).body(), origin, old_key)
    sc.ledger.sql.execute("INSERT INTO ledger_checkpoints VALUES (?, ?, ?, ?)",
                          (19, sc.ledger.root(19), forged, "2099-01-01T00:00:00.000000Z"))  # fmt: skip
    assert caught(sc, CheckpointMismatch, operator_key=old).checkpoint == 19


@pytest.mark.parametrize("how", ["key swapped", "change signed by the old key only", "change signed by the new key only"])
def test_new_operator_key_without_dual_signature_refused(sc: Scenario, how: str) -> None:
    old = sc.session.keys.operator_verifier()
    old_key = sc.session.keys.operator_key()
    new_key = Ed25519PrivateKey.generate()
    origin = sc.session.keys.origin
    sc.laborer("L-0006")
    if how == "key swapped":  # the operator (or a thief) just starts signing with another key
        (sc.session.keys.root / "operator.pem").write_bytes(private_pem(new_key))
        sc.session.checkpoint()
    else:
        new_v = format_verifier_key(origin, public_key_bytes(new_key))
        body = Checkpoint(origin, 18, sc.ledger.root(18), (NEXT_OPERATOR_KEY + new_v,)).body()
        signer = old_key if how == "change signed by the old key only" else new_key
        note = sign_note(body, origin, signer)
        if how == "change signed by the new key only":  # and a forged "old" line by yet another key
            note = add_signature(note, signature_line(body, origin, Ed25519PrivateKey.generate()))
        sc.ledger.sql.execute("INSERT INTO ledger_checkpoints VALUES (?, ?, ?, ?)",
                              (18, sc.ledger.root(18), note, "2099-01-01T00:00:00.000000Z"))  # fmt: skip
    error = caught(sc, CheckpointMismatch, operator_key=old)
    assert error.checkpoint == 18
    if how == "change signed by the old key only":
        assert "not signed by it" in str(error)
    else:
        assert "trusted operator key" in str(error)
