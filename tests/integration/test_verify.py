"""``verify`` on real ledgers: what intact means, where trust comes from, and that parallel == serial."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.envelope import public_key_bytes
from ledger.encoding.b64 import b64decode_strict, b64encode
from ledger.errors import OperationalError, VerificationFailed
from ledger.translog.note import format_verifier_key
from ledger.translog.verify import (
    CheckpointMismatch,
    EventMismatch,
    TrustAnchor,
    load_operator_verifiers,
    run_verify,
    verify_ledger,
)
from support.scenario import Scenario


@pytest.fixture
def sc(sqlite_url: str, tmp_path: Path):
    scenario = Scenario.create(sqlite_url, tmp_path)
    yield scenario
    scenario.close()


def _laborers(sc: Scenario, first: int, count: int) -> None:
    for n in range(first, first + count):
        sc.laborer(f"L-{n:04d}")


def test_intact_ledger_verifies_and_remembers_its_largest_checkpoint(db_url: str, tmp_path: Path) -> None:
    sc = Scenario.create(db_url, tmp_path)
    try:
        _laborers(sc, 1, 5)
        sc.session.checkpoint()
        _laborers(sc, 6, 2)  # two leaves not yet under a checkpoint
        # With no anchor yet, only an explicit trust-on-first-use records one (never silently).
        intact = run_verify(sc.ledger, sc.session.keys, workers=0, trust_first_use=True)
        assert intact.size == sc.ledger.size() == 19
        assert intact.signatures == 19
        assert intact.latest_checkpoint == 17 and intact.uncovered == 2
        assert intact.checkpoints == 13  # init, eleven actors, then the one above
        assert intact.trust["tofu"] and intact.trust["anchor_written"]
        anchor = TrustAnchor.load(sc.session.keys)
        assert anchor is not None and (anchor.size, anchor.root) == (17, sc.ledger.root(17))
        assert json.loads((sc.session.keys.root / "trusted.json").read_text())["checkpoint"].startswith(anchor.origin)
        sc.session.checkpoint()
        again = run_verify(sc.ledger, sc.session.keys, workers=0)
        assert again.trusted_size == 17 and again.latest_checkpoint == 19
        assert TrustAnchor.load(sc.session.keys).size == 19  # type: ignore[union-attr]
        # Worker processes read the store on their own connections (SQLite file or PostgreSQL).
        pooled = verify_ledger(sc.ledger, load_operator_verifiers(sc.session.keys), workers=2, batch=4)
        assert (pooled.size, pooled.signatures, pooled.workers) == (19, 19, 2)
    finally:
        sc.close()


def test_revocation_effective_in_the_past_does_not_taint_earlier_leaves(sc: Scenario) -> None:
    """DESIGN §6: the registry as it stood at each leaf judges it; a later revocation only flags."""
    sc.ok("pov-xj", "LaborerRegistered", {
        "laborer_id": "L-0001", "household_id": "H-1", "jurisdiction": "640422", "township": "吉强镇",
        "village": "龙王坝村", "birth_date": "1985-06-01", "category": "poor",
        "id_fingerprint": "1" * 64, "pii_commitment": "2" * 64,
    }, at="2019-04-02T09:00:00+08:00")  # fmt: skip
    sc.session.revoke_actor("pov-xj", "key leaked", effective_at="2019-01-01T00:00:00+08:00")
    sc.session.rotate_actor("tw-jq")  # the township's old key signed nothing after this leaf
    sc.laborer("L-0002", by="tw-jq")
    intact = run_verify(sc.ledger, sc.session.keys, workers=0)
    assert intact.size == sc.ledger.size()


def test_worker_processes_give_the_same_verdict_as_one_process(sc: Scenario) -> None:
    _laborers(sc, 1, 60)
    sc.session.checkpoint()
    serial = verify_ledger(sc.ledger, load_operator_verifiers(sc.session.keys), workers=0, batch=16)
    parallel = verify_ledger(sc.ledger, load_operator_verifiers(sc.session.keys), workers=2, batch=16)
    assert (serial.size, serial.signatures, serial.latest_checkpoint) == (
        parallel.size, parallel.signatures, parallel.latest_checkpoint)  # fmt: skip
    # A signature broken in the middle of a batch handled by a worker: same first seq either way.
    seq, _, leaf = next(r for r in sc.ledger.leaves(40) if b'"L-0035"' in r[2])
    env = json.loads(leaf)["envelope"]
    sig = bytearray(b64decode_strict(env["sig"]))
    sig[5] ^= 1
    forged = leaf.replace(env["sig"].encode(), b64encode(bytes(sig)).encode())
    from ledger.translog import merkle

    sc.ledger.sql.execute("UPDATE ledger_leaves SET leaf = ?, leaf_hash = ? WHERE seq = ?",
                          (forged, merkle.leaf_hash(forged), seq))  # fmt: skip
    verdicts = []
    for workers in (0, 2):
        with pytest.raises(VerificationFailed) as info:
            verify_ledger(sc.ledger, load_operator_verifiers(sc.session.keys), workers=workers, batch=16)
        verdicts.append((info.value.seq, info.value.code))
    assert verdicts[0] == verdicts[1] and verdicts[0][0] == seq


def test_a_key_from_anywhere_but_the_keystore_or_caller_is_not_trusted(sc: Scenario, tmp_path: Path) -> None:
    stranger = format_verifier_key(sc.session.keys.origin, public_key_bytes(Ed25519PrivateKey.generate()))
    with pytest.raises(CheckpointMismatch) as info:
        run_verify(sc.ledger, sc.session.keys, stranger, workers=0)
    assert info.value.checkpoint == 1
    # A file of keys (an operator key change) trusts each of them.
    keys_file = tmp_path / "operator-keys.pub"
    keys_file.write_text(stranger + "\n" + sc.session.keys.operator_verifier() + "\n")
    assert run_verify(sc.ledger, sc.session.keys, str(keys_file), workers=0).size == 12
    with pytest.raises(OperationalError):
        load_operator_verifiers(sc.session.keys, str(tmp_path / "missing.pub"))


def test_domain_event_without_a_leaf_is_caught(sc: Scenario) -> None:
    from ledger.domain.aggregates import subject_uuid

    state = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-01T00:00:00+00:00"}, "seq": 3,
             "recorded_at": "2026-01-01T00:00:00.000000Z", "envelope": {}}  # fmt: skip
    sc.ledger.sql.execute(
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
        (subject_uuid("laborer", "L-9999").hex, 1, "ledger.domain.aggregates:Laborer.LaborerRegistered",
         json.dumps(state).encode()),
    )  # fmt: skip
    with pytest.raises(EventMismatch) as info:
        run_verify(sc.ledger, sc.session.keys, workers=0)
    assert info.value.seq == 3 and "no leaf" in str(info.value)


def test_the_trust_anchor_must_belong_to_this_log(sc: Scenario) -> None:
    sc.session.keys.write_state("trusted.json", {"origin": "elsewhere", "size": 1, "root": b64encode(b"\0" * 32)})
    with pytest.raises(OperationalError):
        run_verify(sc.ledger, sc.session.keys, workers=0)
