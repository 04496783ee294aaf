"""The per-leaf checks of ``verify`` (pure: no database), one reason per way a leaf can be wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.aggregates import subject_uuid
from ledger.domain.envelope import key_id_of, public_key_bytes, sign_envelope
from ledger.encoding.canonical import canonical
from ledger.translog import merkle
from ledger.translog.verify.leaves import check_leaf, check_rows

KEY = Ed25519PrivateKey.generate()
RAW = public_key_bytes(KEY)
KEYS = {key_id_of(RAW): RAW}
RECORDED = "2026-11-28T07:00:00.123456Z"
BODY = {"laborer_id": "L-0001", "basis": "建档立卡系统比对"}


def envelope(**over: Any) -> dict[str, Any]:
    unsigned = {"type": "IdentityConfirmed", "actor": "pov-xj", "at": "2026-11-28T15:00:00+08:00",
                "nonce": "nonce-0001", "body": dict(BODY)}  # fmt: skip
    unsigned.update(over)
    return sign_envelope(unsigned, KEY)


def state(seq: int, recorded_at: str, env: dict[str, Any]) -> bytes:
    value = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-28T07:00:00.200000+00:00"},
             "seq": seq, "recorded_at": recorded_at, "envelope": env}  # fmt: skip
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def row(seq: int = 7, *, leaf: bytes | None = None, env: dict[str, Any] | None = None, **over: Any) -> tuple[Any, ...]:
    env = env or envelope()
    leaf = leaf if leaf is not None else canonical({"seq": seq, "recorded_at": RECORDED, "envelope": env})
    values = {
        "seq": seq, "recorded_at": RECORDED, "leaf": leaf, "leaf_hash": merkle.leaf_hash(leaf),
        "actor": env["actor"], "type": env["type"], "nonce": env["nonce"],
        "originator_id": subject_uuid("laborer", "L-0001").hex, "originator_version": 2,
        "node0": merkle.leaf_hash(leaf), "topic": "ledger.domain.aggregates:Laborer.IdentityConfirmed", "state": state(seq, RECORDED, env),
    }  # fmt: skip
    values.update(over)
    return tuple(values.values())


def reason(r: tuple[Any, ...]) -> tuple[str, str]:
    facts, error = check_rows([r], KEYS)
    assert not facts and error is not None
    return error[1], error[2]


def test_a_good_leaf_yields_the_facts_the_registry_needs() -> None:
    fact = check_leaf(row(), KEYS)
    assert (fact.seq, fact.actor, fact.type, fact.sig_ok, fact.body) == (7, "pov-xj", "IdentityConfirmed", True, None)
    assert check_leaf(row(), {}).sig_ok is None  # key never registered: the registry decides


@pytest.mark.parametrize(
    ("mangle", "words"),
    [
        (lambda leaf: leaf.replace(b'{"envelope":', b'{ "envelope":'), "canonical"),
        (lambda leaf: leaf.replace(b'"seq":7}', b'"seq":7,"seq":7}'), "canonical"),
        (lambda leaf: leaf.replace(b'"seq":7}', b'"seq":7.0}'), "not JSON"),
        (lambda leaf: leaf[:-1], "not JSON"),
        (lambda leaf: leaf.replace(b'"seq":7}', b'"seq":7,"x":1}'), "{seq, recorded_at, envelope}"),
        (lambda leaf: leaf.replace(b'"seq":7}', b'"seq":8}'), "says seq 8"),
        (lambda leaf: leaf.replace(b'.123456Z', b'.123Z   '), "microseconds"),
    ],
)
def test_a_leaf_that_is_not_the_log_format_is_tampered(mangle: Any, words: str) -> None:
    good = row()
    bad = mangle(good[2])
    code, message = reason(row(leaf=bad))
    assert code == "leaf_tampered" and words in message


def test_floats_and_big_integers_inside_the_envelope_are_refused_even_when_they_re_encode() -> None:
    env = envelope(body={"laborer_id": "L-0001", "basis": "x"})
    leaf = canonical({"seq": 7, "recorded_at": RECORDED, "envelope": env})
    code, message = reason(row(leaf=leaf.replace(b'"v":1', b'"v":1.5')))
    assert code == "leaf_tampered" and "not JSON" in message
    code, message = reason(row(leaf=leaf.replace(b'"v":1', b'"v":9007199254740993')))
    assert code == "leaf_tampered" and "envelope refused" in message


def test_every_integer_field_of_the_schema_is_bounded_within_the_json_range() -> None:
    """verify skips re-walking parsed envelopes for big integers because the schema bounds them all."""
    import inspect
    import typing

    from annotated_types import Ge, Le

    from ledger.domain import schema

    limit = 2**53 - 1
    models = [c for c in vars(schema).values() if inspect.isclass(c) and issubclass(c, schema.Body)]
    checked = 0
    for model in models:
        for name, info in model.model_fields.items():
            if info.annotation is int or int in typing.get_args(info.annotation):
                ge = [m.ge for m in info.metadata if isinstance(m, Ge)]
                le = [m.le for m in info.metadata if isinstance(m, Le)]
                assert ge and le and -limit <= ge[0] and le[0] <= limit, f"{model.__name__}.{name}"
                checked += 1
    assert checked >= 20


def test_the_stored_hash_and_columns_must_agree_with_the_leaf() -> None:
    assert "leaf_hash" in reason(row(leaf_hash=b"\0" * 32))[1]
    assert "recorded_at column" in reason(row(recorded_at="2026-11-28T07:00:00.123457Z"))[1]
    assert "columns" in reason(row(nonce="nonce-9999"))[1]


def test_recorded_at_more_than_five_minutes_before_at_is_tampered() -> None:
    env = envelope(at="2026-11-28T15:06:00+08:00")
    assert "five minutes" in reason(row(env=env))[1]
    assert check_leaf(row(env=envelope(at="2026-11-28T15:04:59+08:00")), KEYS).sig_ok


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"state": None}, "no domain event"),
        ({"originator_id": subject_uuid("laborer", "L-0002").hex}, "names domain event"),
        ({"topic": "ledger.domain.aggregates:Laborer.IdentityRejected"}, "topic"),
        ({"state": b'{"seq":7'}, "not readable"),
        ({"state": state(8, RECORDED, envelope())}, "another seq"),
        ({"state": state(7, RECORDED, envelope(nonce="nonce-0002"))}, "another envelope"),
        ({"state": state(7, RECORDED, envelope()).replace(b'"timestamp"', b'"timestamq"')}, "fields"),
    ],
)
def test_the_domain_event_must_hold_the_same_leaf(over: dict[str, Any], words: str) -> None:
    code, message = reason(row(**over))
    assert code == "event_mismatch" and words in message


def test_a_bad_signature_is_a_fact_for_the_sequential_decision() -> None:
    env = envelope()
    env["body"]["basis"] = "改过"
    fact = check_leaf(row(env=env, state=state(7, RECORDED, env)), KEYS)
    assert fact.sig_ok is False


def test_the_stored_level_zero_node_must_be_the_leaf_hash() -> None:
    assert reason(row(node0=None)) == ("tree_mismatch", "stored Merkle node (0, 7) is missing")
    assert reason(row(node0=b"\1" * 32))[0] == "tree_mismatch"


def test_the_signed_bytes_sliced_from_the_leaf_are_the_envelope_without_sig() -> None:
    from ledger.domain.envelope import Envelope

    for env in (envelope(), envelope(officer="XJ-0117"), envelope(body={"laborer_id": "L-0001", "basis": '"sig":"x",'})):
        fact = check_leaf(row(env=env), {})
        assert fact.signed is not None and fact.signed[1] == Envelope.from_dict(env).signing_bytes
