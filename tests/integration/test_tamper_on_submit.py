"""Flipping one bit of ``body``, ``at``, ``nonce``, ``key_id`` or ``sig`` of a valid envelope is refused."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ledger.encoding.b64 import b64decode_strict, b64encode
from ledger.keys.signing import parse_line
from support.scenario import Scenario


@pytest.fixture
def sc(db_url: str, tmp_path: Path):
    scenario = Scenario.create(db_url, tmp_path)
    scenario.laborer("L-0001")
    yield scenario
    scenario.close()


def _flip_text(envelope: dict, field: str, rng: random.Random) -> str:
    """Flip one bit inside the JSON text of ``field``'s value; return the whole line."""
    line = json.dumps(envelope, ensure_ascii=False).encode()
    value = json.dumps(envelope[field], ensure_ascii=False).encode()
    start = line.index(b'"' + field.encode() + b'": ') + len(field) + 4
    assert line[start : start + len(value)] == value
    pos = start + rng.randrange(len(value))
    flipped = bytearray(line)
    flipped[pos] ^= 1 << rng.randrange(8)
    return bytes(flipped).decode("utf-8", errors="replace")


@pytest.mark.parametrize("field", ["body", "at", "nonce", "key_id", "sig"])
def test_one_flipped_bit_is_refused(sc: Scenario, field: str) -> None:
    rng = random.Random(field)
    body = {"laborer_id": "L-0001", "basis": "建档立卡系统比对 2019"}
    valid = sc.envelope("pov-xj", "IdentityConfirmed", body, nonce="confirm-L-0001")
    size = sc.ledger.size()
    for _ in range(40):
        line = _flip_text(valid, field, rng)
        item = parse_line(line, None)
        outcome = sc.ledger.append([item])[0]
        assert outcome.status == "refused", (field, line)
    if field == "sig":  # also flip bits of the raw signature, re-encoded as valid base64
        for bit in rng.sample(range(512), 32):
            raw = bytearray(b64decode_strict(valid["sig"]))
            raw[bit // 8] ^= 1 << (bit % 8)
            outcome = sc.submit({**valid, "sig": b64encode(bytes(raw))})
            assert (outcome.status, outcome.code) == ("refused", "bad_signature")
    assert sc.ledger.size() == size
    assert sc.submit(valid).status == "accepted"


def test_noncanonical_base64_signature_is_refused(sc: Scenario) -> None:
    valid = sc.envelope("pov-xj", "IdentityConfirmed", {"laborer_id": "L-0001", "basis": "比对"})
    raw = b64decode_strict(valid["sig"])
    # 64 bytes → 88 chars with "==": the last data char carries 4 unused bits; set one of them.
    text = b64encode(raw)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sloppy = text[:85] + alphabet[alphabet.index(text[85]) ^ 1] + "=="
    outcome = sc.submit({**valid, "sig": sloppy})
    assert (outcome.status, outcome.code) == ("refused", "invalid_field")
    unpadded = sc.submit({**valid, "sig": text.rstrip("=")})
    assert unpadded.status == "refused"
