"""Envelopes validate themselves when built; signatures and key ids follow DESIGN §6."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.domain.envelope import Envelope, key_id_of, public_key_bytes, sign_envelope
from ledger.domain.schema import BODIES, business_date, parse_body
from ledger.encoding.canonical import canonical
from ledger.errors import InvalidField, SignatureInvalid, UnknownEventType

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
UNSIGNED = {"type": "IdentityConfirmed", "actor": "pov-640422", "at": "2019-03-08T11:00:00+08:00",
            "nonce": "n-00000001", "body": {"laborer_id": "L-1", "basis": "系统比对"}}  # fmt: skip


def test_key_id_is_sha256_prefix_of_raw_key() -> None:
    raw = public_key_bytes(KEY)
    assert key_id_of(raw) == "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def test_signature_covers_the_jcs_of_the_envelope_without_sig() -> None:
    env = sign_envelope(UNSIGNED, KEY)
    message = canonical({k: v for k, v in env.items() if k != "sig"})
    parsed = Envelope.from_dict(env)
    assert parsed.signing_bytes == message
    parsed.verify_with(public_key_bytes(KEY))
    with pytest.raises(SignatureInvalid):
        parsed.verify_with(public_key_bytes(Ed25519PrivateKey.generate()))


def test_signing_is_deterministic() -> None:
    assert sign_envelope(UNSIGNED, KEY) == sign_envelope(UNSIGNED, KEY)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"v": True}, "v"),
        ({"v": 2}, "v"),
        ({"nonce": "short"}, "nonce"),
        ({"nonce": "has space x"}, "nonce"),
        ({"at": "2019-03-08 11:00:00+08:00"}, "at"),
        ({"at": "2019-03-08T11:00:00"}, "at"),
        ({"key_id": "ed25519:XYZ"}, "key_id"),
        ({"officer": ""}, "officer"),
        ({"extra": 1}, "extra"),
    ],
)
def test_envelope_fields_are_validated(change: dict, field: str) -> None:
    env = {**sign_envelope(UNSIGNED, KEY), **change}
    with pytest.raises(InvalidField, match=field):
        Envelope.from_dict(env)


def test_every_catalogue_type_has_a_body_model() -> None:
    assert len(BODIES) == 39
    with pytest.raises(UnknownEventType):
        parse_body("LaborerDeleted", {})


def test_business_dates_follow_the_catalogue() -> None:
    import datetime as dt

    at = dt.datetime.fromisoformat("2019-07-03T01:00:00+00:00")
    payroll = parse_body("PayrollRecorded", {"employment_id": "E-1", "month": "2020-02", "wage_fen": 1})
    assert business_date("PayrollRecorded", payroll, at) == dt.date(2020, 2, 29)
    approved = parse_body("ClassOpeningApproved", {"class_id": "K"})
    assert business_date("ClassOpeningApproved", approved, at) == dt.date(2019, 7, 3)
    late = dt.datetime.fromisoformat("2019-07-03T17:00:00+00:00")  # 01:00 next day in Shanghai
    assert business_date("ClassOpeningApproved", approved, late) == dt.date(2019, 7, 4)
