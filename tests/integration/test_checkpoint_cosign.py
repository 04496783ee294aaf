"""检查点与联署: a finance bureau or inspector cosigns only what extends what it saw before."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.encoding.b64 import b64encode
from ledger.persistence import queries
from ledger.translog.cosign import CheckpointInconsistent, NotACosigner, cosign_latest, latest_checkpoint_info
from ledger.translog.note import Checkpoint, parse_note, sign_note, verify_cosignature
from ledger.translog.verify import CheckpointMismatch, load_operator_verifiers, run_verify
from support.scenario import Scenario


def _cosign(sc: Scenario, actor: str):  # type: ignore[no-untyped-def]
    return cosign_latest(sc.ledger, sc.session.keys, actor, load_operator_verifiers(sc.session.keys))


@pytest.fixture
def sc(sqlite_url: str, tmp_path: Path):
    scenario = Scenario.create(sqlite_url, tmp_path)
    yield scenario
    scenario.close()


def test_cosigners_witness_each_checkpoint_and_keep_history(db_url: str, tmp_path: Path) -> None:
    sc = Scenario.create(db_url, tmp_path)
    try:
        first = _cosign(sc, "fin-xj")
        assert (first.size, first.previous_size, first.already) == (12, None, False)
        assert _cosign(sc, "fin-xj").already
        sc.laborer("L-0001")
        sc.laborer("L-0002")
        sc.session.checkpoint()
        second = _cosign(sc, "fin-xj")
        assert (second.size, second.previous_size) == (14, 12)  # consistency proof 12 → 14 verified
        _cosign(sc, "insp")
        state = sc.session.keys.read_state("cosigned/fin-xj.json")
        assert state is not None and state["size"] == 14
        notes = {c.size: c.note for c in sc.ledger.checkpoints()}
        fin_key = sc.session.keys.actor_key("fin-xj").public_key()
        verify_cosignature(notes[12], "fin-xj", fin_key)  # the older checkpoint keeps its cosignature
        verify_cosignature(notes[14], "fin-xj", fin_key)
        info = latest_checkpoint_info(sc.ledger, load_operator_verifiers(sc.session.keys))
        assert info is not None and info["operator_signature_valid"]
        assert sorted(c["name"] for c in info["cosignatures"] if c["verified"]) == ["fin-xj", "insp"]
        intact = run_verify(sc.ledger, sc.session.keys, workers=0)
        assert intact.cosigners == ["fin-xj", "insp"]
        # a witness's status (the integrity page): the largest checkpoint it cosigned, by its lines alone
        sc.laborer("L-0003")
        sc.session.checkpoint()
        names = ("fin-xj", "insp", "hr-xj", "fin_xj", "fin-")
        last = {name: queries.last_cosigned(sc.ledger.sql, name) for name in names}
        assert {name: found and found.size for name, found in last.items()} == {
            "fin-xj": 14, "insp": 14, "hr-xj": None, "fin_xj": None, "fin-": None}  # fmt: skip
    finally:
        sc.close()


def test_only_a_finance_bureau_or_inspector_with_its_current_key_cosigns(sc: Scenario) -> None:
    with pytest.raises(NotACosigner):
        _cosign(sc, "hr-xj")
    sc.session.keys.save_actor_key("insp", Ed25519PrivateKey.generate())  # not the registered key
    with pytest.raises(NotACosigner):
        _cosign(sc, "insp")


def test_a_checkpoint_not_signed_by_the_trusted_operator_key_is_not_cosigned(sc: Scenario) -> None:
    latest = sc.ledger.latest_checkpoint()
    assert latest is not None
    size, root, signed_at = latest.size, latest.root, latest.signed_at
    origin = sc.session.keys.origin
    forged = sign_note(Checkpoint(origin, size, root).body(), origin, Ed25519PrivateKey.generate())
    sc.ledger.sql.execute("UPDATE ledger_checkpoints SET note = ? WHERE size = ? AND signed_at = ?",
                          (forged, size, signed_at))  # fmt: skip
    with pytest.raises(CheckpointMismatch):
        _cosign(sc, "fin-xj")
    assert sc.session.keys.read_state("cosigned/fin-xj.json") is None


@pytest.mark.parametrize("attack", ["fork at the same size", "log went backwards", "history rewritten"])
def test_a_checkpoint_that_does_not_extend_the_last_cosigned_one_is_refused(sc: Scenario, attack: str) -> None:
    _cosign(sc, "fin-xj")
    state = sc.session.keys.read_state("cosigned/fin-xj.json")
    assert state is not None
    if attack == "fork at the same size":
        state["root"] = b64encode(b"\x01" * 32)
    elif attack == "log went backwards":
        state["size"] = 40
    else:  # the cosigner saw size 6 with another root: no proof links it to today's root
        sc.laborer("L-0001")
        sc.session.checkpoint()
        state.update(size=6, root=b64encode(sc.ledger.root(7)))
    sc.session.keys.write_state("cosigned/fin-xj.json", state)
    with pytest.raises(CheckpointInconsistent):
        _cosign(sc, "fin-xj")


def test_a_tampered_cosignature_fails_verify(sc: Scenario) -> None:
    cosigned = _cosign(sc, "insp")
    text, signatures = parse_note(cosigned.note)
    line = signatures[-1]
    forged_sig = bytes([line.signature[0] ^ 1]) + line.signature[1:]
    forged = cosigned.note.replace(b64encode(line.key_id + line.signature), b64encode(line.key_id + forged_sig))
    sc.ledger.sql.execute("UPDATE ledger_checkpoints SET note = ? WHERE size = ?", (forged, cosigned.size))
    with pytest.raises(CheckpointMismatch) as info:
        run_verify(sc.ledger, sc.session.keys, workers=0)
    assert info.value.checkpoint == cosigned.size and "insp" in str(info.value)
