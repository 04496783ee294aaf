"""C2SP signed-note, tlog-checkpoint and tlog-cosignature/v1 against the spec examples.

Only the signed-note example can be verified (its public key is published); the checkpoint
and cosignature examples are checked for format: key id prefix, lengths, signed message.
The vectors live beside the repository in ``shared/vectors``; a missing file fails.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding.b64 import b64decode_strict
from ledger.translog.merkle import leaf_hash
from ledger.translog.note import (
    SIG_TYPE_COSIGNATURE_V1,
    SIG_TYPE_ED25519,
    Checkpoint,
    CheckpointMalformed,
    CheckpointSignatureInvalid,
    CosignatureInvalid,
    NoteMalformed,
    NoteSignatureInvalid,
    SignatureLine,
    Verifier,
    VerifierKeyInvalid,
    add_signature,
    cosign,
    cosignature_key_id,
    cosignature_message,
    format_verifier_key,
    key_id,
    open_checkpoint,
    parse_cosignature,
    parse_note,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_cosignature,
    verify_note,
)
from vector_files import vectors_dir

VECTORS = vectors_dir()


def _load(name: str) -> Any:
    path = VECTORS / name
    assert path.is_file(), f"test vectors missing: {path}"
    return json.loads(path.read_text(encoding="utf-8"))


V = _load("signed_note_vectors.json")
NOTE = V["signed_note_example"]
CKPT = V["checkpoint_example"]
COSIG = V["cosignature_example"]


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


# --- signed-note example (verifiable) ----------------------------------------------------------


def test_verifier_key_parses_to_name_id_and_key() -> None:
    v = parse_verifier_key(NOTE["verifier_key"])
    assert v.name == NOTE["key_name"]
    assert v.key_id.hex() == NOTE["key_id_hex"]
    assert v.public_key.hex() == NOTE["ed25519_public_key_hex"]
    assert v.signature_type == int(NOTE["signature_type_byte_hex"], 16) == SIG_TYPE_ED25519
    assert v.format() == NOTE["verifier_key"]
    pub = bytes.fromhex(NOTE["ed25519_public_key_hex"])
    assert format_verifier_key(NOTE["key_name"], pub) == NOTE["verifier_key"]
    assert key_id(NOTE["key_name"], pub).hex() == NOTE["key_id_hex"]


def test_signed_note_example_parses() -> None:
    text, sigs = parse_note(NOTE["full_note"])
    assert text == NOTE["note_text"]
    assert len(sigs) == 1
    assert sigs[0].name == NOTE["key_name"]
    assert sigs[0].key_id.hex() == NOTE["signature_key_id_prefix_hex"]
    assert sigs[0].signature.hex() == NOTE["ed25519_signature_hex"]
    assert sigs[0].format() == NOTE["signature_line"]
    assert NOTE["full_note"] == NOTE["note_text"] + "\n" + NOTE["signature_line"] + "\n"


def test_signed_note_example_verifies() -> None:
    assert NOTE["expected"] == "valid"
    verify_note(NOTE["full_note"], parse_verifier_key(NOTE["verifier_key"]))
    verify_note(NOTE["full_note"].encode(), parse_verifier_key(NOTE["verifier_key"]))


def test_every_single_bit_flip_of_the_signed_note_is_rejected() -> None:
    verifier = parse_verifier_key(NOTE["verifier_key"])
    raw = NOTE["full_note"].encode()
    for bit in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(NoteSignatureInvalid):
            verify_note(bytes(flipped), verifier)


def test_signed_note_is_rejected_by_another_key_even_with_the_same_name() -> None:
    other = Verifier.for_key(NOTE["key_name"], _key(7).public_key())
    with pytest.raises(NoteSignatureInvalid, match="no signature"):
        verify_note(NOTE["full_note"], other)


def test_a_bad_signature_from_the_known_key_rejects_the_note() -> None:
    # signed-note: a failing signature from a known key SHOULD reject the whole note,
    # even if another line by the same key verifies.
    verifier = parse_verifier_key(NOTE["verifier_key"])
    good = parse_note(NOTE["full_note"]).signatures[0]
    bad = SignatureLine(good.name, good.key_id, bytes(64))
    with pytest.raises(NoteSignatureInvalid, match="does not verify"):
        verify_note(NOTE["full_note"] + bad.format() + "\n", verifier)


def test_unknown_signatures_are_ignored() -> None:
    verifier = parse_verifier_key(NOTE["verifier_key"])
    other = sign_note(NOTE["note_text"], "someone.else/key", _key(3))
    both = add_signature(NOTE["full_note"], parse_note(other).signatures[0].format())
    verify_note(both, verifier)


# --- our own signing round-trips in exactly that format --------------------------------------


def test_sign_note_layout_and_round_trip() -> None:
    sk = _key(1)
    note = sign_note("hello\n\nworld\n", "example.org/op", sk)
    kid = key_id("example.org/op", sk.public_key())
    sig = sk.sign(b"hello\n\nworld\n")
    assert note == f"hello\n\nworld\n\n\u2014 example.org/op {base64.b64encode(kid + sig).decode()}\n"
    verifier = parse_verifier_key(format_verifier_key("example.org/op", sk.public_key()))
    verify_note(note, verifier)
    assert parse_note(note).text == "hello\n\nworld\n"  # blank lines in the text survive


def test_sign_note_refuses_text_without_final_newline() -> None:
    with pytest.raises(NoteMalformed):
        sign_note("no newline", "example.org/op", _key(1))
    with pytest.raises(NoteMalformed):
        sign_note("tab\there\n", "example.org/op", _key(1))


def test_add_signature_is_idempotent_and_validates() -> None:
    note = sign_note("x\n", "a.example/k", _key(1))
    line = parse_note(sign_note("x\n", "b.example/k", _key(2))).signatures[0].format()
    once = add_signature(note, line)
    assert add_signature(once, line + "\n") == once
    assert len(parse_note(once).signatures) == 2
    with pytest.raises(NoteMalformed):
        add_signature(note, "- b.example/k AAAAAAA=")


SIG = NOTE["signature_line"]
TEXT = NOTE["note_text"]


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(TEXT + SIG + "\n", id="no-blank-line"),
        pytest.param(TEXT + "\n", id="no-signatures"),
        pytest.param(TEXT + "\n" + SIG, id="signature-without-newline"),
        pytest.param(TEXT + "\n" + SIG + "\n\n", id="trailing-blank-line"),
        pytest.param(TEXT + "\n" + SIG.replace("\u2014", "-") + "\n", id="hyphen-not-em-dash"),
        pytest.param(TEXT + "\n" + SIG.replace("\u2014 ", "\u2014") + "\n", id="no-space-after-dash"),
        pytest.param(
            TEXT + "\n" + SIG.replace("example.com/foo", "example.com+foo") + "\n", id="plus-in-name"
        ),
        pytest.param(TEXT + "\n" + SIG.replace("example.com/foo", "ex\u00a0foo") + "\n", id="nbsp-in-name"),
        pytest.param(TEXT + "\n" + SIG.replace(" Uw2", "  Uw2") + "\n", id="double-space"),
        pytest.param(TEXT + "\n" + SIG.replace("aQM=", "aQN=") + "\n", id="base64-nonzero-trailing-bits"),
        pytest.param(TEXT + "\n" + SIG.replace("aQM=", "aQM") + "\n", id="base64-missing-padding"),
        pytest.param(TEXT + "\n" + SIG.replace(" Uw2Q", " Uw2-") + "\n", id="base64-url-alphabet"),
        pytest.param(TEXT + "\n\u2014 example.com/foo AAAAAA==\n", id="signature-shorter-than-key-id"),
        pytest.param(TEXT + "\n\u2014 example.com/foo \n", id="empty-signature"),
        pytest.param(TEXT + "\n\u2014  AAAAAAA=\n", id="empty-name"),
        pytest.param(TEXT.replace("\n", "\r\n") + "\n" + SIG + "\n", id="crlf"),
        pytest.param("tab\there\n\n" + SIG + "\n", id="control-character"),
        pytest.param("surrogate \ud800\n\n" + SIG + "\n", id="lone-surrogate"),
        pytest.param(TEXT + "\n" + (SIG + "\n") * 101, id="too-many-signatures"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteMalformed):
        parse_note(note)
    with pytest.raises(NoteSignatureInvalid):
        verify_note(note, parse_verifier_key(NOTE["verifier_key"]))


def test_note_bytes_must_be_utf8() -> None:
    with pytest.raises(NoteMalformed):
        parse_note(b"\xff\n\n" + SIG.encode() + b"\n")


@pytest.mark.parametrize(
    "key",
    [
        "example.com/foo+530d903a",  # no key material
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # upper-case id
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong id
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong name
        "example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x02
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2",  # truncated
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2l",  # trailing bits
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # empty name
    ],
)
def test_malformed_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(VerifierKeyInvalid):
        parse_verifier_key(key)


# --- tlog-checkpoint example (format only) -------------------------------------------------------


def test_checkpoint_example_parses_and_round_trips() -> None:
    cp = Checkpoint.parse(CKPT["note_text"])
    assert cp.origin == CKPT["origin"]
    assert cp.size == CKPT["tree_size"]
    assert cp.root_hash.hex() == CKPT["root_hash_hex"]
    assert cp.body() == CKPT["note_text"]
    assert CKPT["note_text"].splitlines()[2] == CKPT["root_hash_base64"]


def test_checkpoint_example_signature_line_layout() -> None:
    note = CKPT["note_text"] + "\n" + CKPT["log_signature_line"] + "\n"
    text, sigs = parse_note(note)
    assert text == CKPT["note_text"]
    (sig,) = sigs
    assert sig.name == CKPT["origin"]  # tlog-checkpoint: key name SHOULD be the origin
    assert sig.key_id.hex() == CKPT["log_signature_key_id_hex"]
    assert 4 + len(sig.signature) == CKPT["log_signature_length_bytes"] == 68
    b64 = CKPT["log_signature_line"].split(" ")[-1]
    assert b64decode_strict(b64)[:4].hex() == CKPT["log_signature_key_id_hex"]
    # The spec does not publish this key: some other key of that name must not verify it.
    with pytest.raises(CheckpointSignatureInvalid):
        open_checkpoint(note, Verifier.for_key(CKPT["origin"], _key(9).public_key()))


def test_checkpoint_sign_and_open_round_trip() -> None:
    sk = _key(4)
    cp = Checkpoint("guyuan.subsidy-ledger", 3, leaf_hash(b"root"))
    note = sign_checkpoint(cp, cp.origin, sk)
    assert note.startswith(f"guyuan.subsidy-ledger\n3\n{base64.b64encode(cp.root_hash).decode()}\n\n")
    assert open_checkpoint(note, Verifier.for_key(cp.origin, sk.public_key())) == cp
    with pytest.raises(CheckpointSignatureInvalid):
        open_checkpoint(note, Verifier.for_key(cp.origin, _key(5).public_key()))
    forged = note.replace("\n3\n", "\n4\n", 1)
    with pytest.raises(CheckpointSignatureInvalid):
        open_checkpoint(forged, Verifier.for_key(cp.origin, sk.public_key()))
    # A validly signed note that is not a checkpoint is malformed, not "opened".
    with pytest.raises(CheckpointMalformed):
        open_checkpoint(sign_note("hello\n", cp.origin, sk), Verifier.for_key(cp.origin, sk.public_key()))


@pytest.mark.parametrize(
    "body",
    [
        "origin\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # leading zero
        "origin\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n\u0665\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # Arabic-Indic five
        "origin\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "origin\n18446744073709551616\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # 2^64
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",  # non-canonical base64
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  # no padding
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n",  # 31 bytes
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",  # no final newline
        "origin\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",  # empty extension line
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # empty origin
        "origin\n5\n",
    ],
)
def test_malformed_checkpoints_are_refused(body: str) -> None:
    with pytest.raises(CheckpointMalformed):
        Checkpoint.parse(body)


def test_checkpoint_keeps_extension_lines() -> None:
    body = CKPT["note_text"] + "ext one\n"
    cp = Checkpoint.parse(body)
    assert cp.extensions == ("ext one",)
    assert cp.body() == body


# --- tlog-cosignature/v1 example (format only) -----------------------------------------------------


def test_cosignature_example_layout() -> None:
    cosig = parse_cosignature(COSIG["witness_signature_line"])
    assert cosig.name == "witness.example.com/w1"
    assert cosig.key_id.hex() == COSIG["key_id_hex"]
    assert cosig.timestamp == COSIG["timestamp_u64_big_endian"]
    assert len(cosig.signature) == 64
    raw = b64decode_strict(COSIG["witness_signature_line"].split(" ")[-1])
    assert len(raw) == COSIG["signature_length_bytes"] == 4 + 8 + 64
    assert raw[:4].hex() == COSIG["key_id_hex"]
    assert int.from_bytes(raw[4:12], "big") == COSIG["timestamp_u64_big_endian"]


def test_cosignature_signed_message_layout() -> None:
    message = cosignature_message(CKPT["note_text"], COSIG["timestamp_u64_big_endian"])
    assert message == COSIG["signed_message"].encode()
    assert message.startswith(b"cosignature/v1\ntime 1679315147\n")


def test_spec_example_with_log_signature_and_cosignature_parses() -> None:
    note = (
        CKPT["note_text"] + "\n" + CKPT["log_signature_line"] + "\n" + COSIG["witness_signature_line"] + "\n"
    )
    text, sigs = parse_note(note)
    assert Checkpoint.parse(text).size == CKPT["tree_size"]
    assert [s.name for s in sigs] == [CKPT["origin"], "witness.example.com/w1"]
    # Unpublished key: a different key under the witness's name finds no cosignature.
    with pytest.raises(CosignatureInvalid):
        verify_cosignature(note, "witness.example.com/w1", _key(11).public_key())


def test_cosign_and_verify_round_trip() -> None:
    operator, finance = _key(21), _key(22)
    cp = Checkpoint("guyuan.subsidy-ledger", 42, leaf_hash(b"x"))
    note = sign_checkpoint(cp, cp.origin, operator)
    line = cosign(cp.body(), "finance-bureau", finance, 1_700_000_000)
    cosigned = add_signature(note, line)
    assert verify_cosignature(cosigned, "finance-bureau", finance.public_key()) == 1_700_000_000
    # The cosigner key id uses type 0x04, not the note type 0x01.
    parsed = parse_cosignature(line)
    assert parsed.key_id == cosignature_key_id("finance-bureau", finance.public_key())
    assert parsed.key_id != key_id("finance-bureau", finance.public_key())
    vk = format_verifier_key("finance-bureau", finance.public_key(), SIG_TYPE_COSIGNATURE_V1)
    assert parse_verifier_key(vk).signature_type == SIG_TYPE_COSIGNATURE_V1
    # The operator's signature still verifies; the cosignature is ignored as unknown.
    assert open_checkpoint(cosigned, Verifier.for_key(cp.origin, operator.public_key())) == cp
    # A cosignature is not a note signature: a 0x04 key cannot verify notes.
    with pytest.raises(NoteSignatureInvalid):
        verify_note(cosigned, parse_verifier_key(vk))
    # Moved onto another checkpoint, or with its timestamp changed, it fails.
    other = sign_checkpoint(Checkpoint(cp.origin, 43, cp.root_hash), cp.origin, operator)
    with pytest.raises(CosignatureInvalid):
        verify_cosignature(add_signature(other, line), "finance-bureau", finance.public_key())
    raw = bytearray(b64decode_strict(line.split(" ")[-1]))
    raw[11] ^= 1
    retimed = line.rsplit(" ", 1)[0] + " " + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(CosignatureInvalid):
        verify_cosignature(add_signature(note, retimed), "finance-bureau", finance.public_key())
    with pytest.raises(CosignatureInvalid):
        verify_cosignature(note, "finance-bureau", finance.public_key())


def test_cosign_refuses_non_checkpoints_and_bad_timestamps() -> None:
    with pytest.raises(CheckpointMalformed):
        cosign("hello\n", "w", _key(1), 0)
    with pytest.raises(ValueError):
        cosign(CKPT["note_text"], "w", _key(1), 2**63)
    with pytest.raises(ValueError):
        cosign(CKPT["note_text"], "w", _key(1), -1)


@settings(max_examples=50, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(exclude_categories=["Cs"], min_codepoint=0x20) | st.just("\n"),
        max_size=60,
    ),
    seed=st.integers(0, 255),
)
def test_any_valid_text_round_trips(text: str, seed: int) -> None:
    text += "\n"
    sk = _key(seed)
    note = sign_note(text, "k.example/x", sk)
    assert parse_note(note).text == text
    verify_note(note, Verifier.for_key("k.example/x", sk.public_key()))
