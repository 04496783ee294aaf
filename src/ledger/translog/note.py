"""C2SP signed notes, tlog checkpoints and tlog-cosignature/v1, with Ed25519 (DESIGN §6).

* signed-note (c2sp.org/signed-note): text ending in a newline, a blank line, then one or
  more lines ``— <key name> base64(4-byte key id || signature)``. Ed25519 note keys have key
  id ``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` and are published as verifier keys
  ``name+hexid+base64(0x01 || public key)``.
* tlog-checkpoint (c2sp.org/tlog-checkpoint): a note whose text is
  ``origin\\nsize\\nbase64(root)\\n`` plus optional extension lines.
* tlog-cosignature/v1 (c2sp.org/tlog-cosignature, Ed25519): key id with type byte 0x04; the
  signature is ``u64 big-endian timestamp || Ed25519 signature`` over
  ``"cosignature/v1\\ntime <T>\\n" || checkpoint text``.

Parsing is strict (a note either is well formed or is refused with :class:`NoteMalformed`),
base64 must be canonical (:func:`ledger.encoding.b64.b64decode_strict`), and each verify function
returns nothing or raises its own error, naming the failed step (STYLE.md habit 3).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.encoding.b64 import Base64Invalid, b64decode_strict, b64encode
from ledger.errors import LedgerError

__all__ = [
    "COSIGNATURE_HEADER",
    "MAX_SIGNATURES",
    "SIG_TYPE_COSIGNATURE_V1",
    "SIG_TYPE_ED25519",
    "Checkpoint",
    "CheckpointMalformed",
    "CheckpointSignatureInvalid",
    "Cosignature",
    "CosignatureInvalid",
    "NoteMalformed",
    "NoteSignatureInvalid",
    "ParsedNote",
    "SignatureLine",
    "Verifier",
    "VerifierKeyInvalid",
    "add_signature",
    "cosign",
    "cosignature_key_id",
    "cosignature_message",
    "format_verifier_key",
    "key_id",
    "open_checkpoint",
    "parse_cosignature",
    "parse_note",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "signature_line",
    "verify_cosignature",
    "verify_note",
]

SIG_TYPE_ED25519 = 0x01
"""signed-note §"Signature types": Ed25519 note signatures."""

SIG_TYPE_COSIGNATURE_V1 = 0x04
"""signed-note §"Signature types": timestamped Ed25519 cosignatures (tlog-cosignature)."""

MAX_SIGNATURES = 100
"""signed-note asks verifiers to cap signatures (and accept at least 16); Go's note uses 100."""

COSIGNATURE_HEADER = "cosignature/v1\n"
"""tlog-cosignature §"Ed25519 signed message": the domain-separating first line."""

_MAX_COSIGNATURE_TIME = 2**63 - 1  # tlog-cosignature: "MUST NOT exceed 2^63 - 1"
_MAX_TREE_SIZE = 2**64 - 1  # tree sizes are uint64 in every tlog implementation
_SIG_PREFIX = "\u2014 "  # em dash, space (signed-note §Format)
_KEY_ID_SIZE = 4
_ED25519_KEY_SIZE = 32
_ED25519_SIG_SIZE = 64
_TIMESTAMP_SIZE = 8
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)  # no leading zeroes, ASCII digits only
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}", re.ASCII)


# --- errors ----------------------------------------------------------------------------------


class NoteMalformed(LedgerError):
    """Not a signed note as c2sp.org/signed-note defines it."""

    code = "note_malformed"


class NoteSignatureInvalid(LedgerError):
    """No valid signature by the expected key (or one by it that fails to verify)."""

    code = "note_signature_invalid"


class VerifierKeyInvalid(LedgerError):
    """Not a well-formed ``name+hexid+base64(type||key)`` verifier key."""

    code = "verifier_key_invalid"


class CheckpointMalformed(LedgerError):
    """Note text that is not a c2sp.org/tlog-checkpoint body."""

    code = "checkpoint_malformed"


class CheckpointSignatureInvalid(NoteSignatureInvalid):
    """The checkpoint note carries no valid signature by the operator key."""

    code = "checkpoint_signature_invalid"


class CosignatureInvalid(LedgerError):
    """No valid tlog-cosignature/v1 by the expected cosigner on this checkpoint."""

    code = "cosignature_invalid"


# --- keys ------------------------------------------------------------------------------------


def _raw_public_key(public_key: bytes | Ed25519PublicKey) -> bytes:
    if isinstance(public_key, Ed25519PublicKey):
        return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    raw = bytes(public_key)
    if len(raw) != _ED25519_KEY_SIZE:
        raise ValueError(f"an Ed25519 public key is {_ED25519_KEY_SIZE} bytes, got {len(raw)}")
    return raw


def _valid_name(name: str) -> bool:
    """signed-note §Format: non-empty, no Unicode spaces, no '+'; plus the note-wide rules."""
    return (
        bool(name)
        and "+" not in name
        and not any(ch.isspace() for ch in name)
        and _valid_chars(name, allow_newline=False)
    )


def _valid_chars(text: str, *, allow_newline: bool) -> bool:
    """signed-note §Format: valid UTF-8, no ASCII control character other than newline."""
    try:
        text.encode("utf-8")  # refuses lone surrogates, which are not UTF-8
    except UnicodeEncodeError:
        return False
    return not any(ch < " " and not (allow_newline and ch == "\n") for ch in text)


def _key_id(name: str, signature_type: int, public_key: bytes | Ed25519PublicKey) -> bytes:
    # signed-note §Signatures: SHA-256(key name || 0x0A || signature type || public key)[:4]
    raw = _raw_public_key(public_key)
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + raw).digest()[:4]


def key_id(name: str, public_key: bytes | Ed25519PublicKey) -> bytes:
    """Ed25519 note key id: SHA-256(name || 0x0A || 0x01 || key)[:4] (signed-note)."""
    return _key_id(name, SIG_TYPE_ED25519, public_key)


def cosignature_key_id(name: str, public_key: bytes | Ed25519PublicKey) -> bytes:
    """Ed25519 cosigner key id: SHA-256(name || 0x0A || 0x04 || key)[:4] (tlog-cosignature)."""
    return _key_id(name, SIG_TYPE_COSIGNATURE_V1, public_key)


@dataclass(frozen=True)
class Verifier:
    """A trusted key: name, 4-byte key id, raw 32-byte Ed25519 public key, signature type.

    Validated when built, so the key id always matches the name, type and key.
    """

    name: str
    key_id: bytes
    public_key: bytes
    signature_type: int = SIG_TYPE_ED25519

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise VerifierKeyInvalid(f"invalid key name {self.name!r}")
        if self.signature_type not in (SIG_TYPE_ED25519, SIG_TYPE_COSIGNATURE_V1):
            raise VerifierKeyInvalid(f"unsupported signature type 0x{self.signature_type:02x}")
        if len(self.public_key) != _ED25519_KEY_SIZE:
            raise VerifierKeyInvalid("an Ed25519 public key is 32 bytes")
        if self.key_id != _key_id(self.name, self.signature_type, self.public_key):
            raise VerifierKeyInvalid("key id does not match the key name and public key")

    @classmethod
    def for_key(
        cls,
        name: str,
        public_key: bytes | Ed25519PublicKey,
        signature_type: int = SIG_TYPE_ED25519,
    ) -> Verifier:
        raw = _raw_public_key(public_key)
        if not _valid_name(name):
            raise VerifierKeyInvalid(f"invalid key name {name!r}")
        return cls(name, _key_id(name, signature_type, raw), raw, signature_type)

    def format(self) -> str:
        """``name+hexid+base64(type || key)`` (signed-note verifier keys)."""
        blob = bytes([self.signature_type]) + self.public_key
        return f"{self.name}+{self.key_id.hex()}+{b64encode(blob)}"


def format_verifier_key(
    name: str, public_key: bytes | Ed25519PublicKey, signature_type: int = SIG_TYPE_ED25519
) -> str:
    """Publishable verifier key ``name+hexid+base64(0x01 || key)`` (DESIGN §6).

    Pass ``signature_type=SIG_TYPE_COSIGNATURE_V1`` for a cosigner's key (tlog-cosignature).
    """
    return Verifier.for_key(name, public_key, signature_type).format()


def parse_verifier_key(text: str) -> Verifier:
    """Parse ``name+hexid+base64(type || key)``; raise :class:`VerifierKeyInvalid`.

    Accepts Ed25519 note keys (0x01) and Ed25519 cosigner keys (0x04); the key id must be
    8 lowercase hex digits and must match the name and key.
    """
    # The name cannot contain '+', and neither can the hex id: exactly three fields remain
    # (base64 may itself contain '+', so split from the left only twice).
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise VerifierKeyInvalid("a verifier key is name+hexid+base64key")
    name, hex_id, b64 = parts
    if not _HEX_KEY_ID.fullmatch(hex_id):
        raise VerifierKeyInvalid("key id must be 8 lowercase hex digits")
    try:
        blob = b64decode_strict(b64)
    except Base64Invalid as exc:
        raise VerifierKeyInvalid(f"key material: {exc}") from None
    if len(blob) != 1 + _ED25519_KEY_SIZE:
        raise VerifierKeyInvalid("key material must be a type byte and a 32-byte Ed25519 key")
    return Verifier(name, bytes.fromhex(hex_id), blob[1:], blob[0])


# --- notes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureLine:
    """One ``— <name> base64(key id || signature)`` line (signed-note §Signatures)."""

    name: str
    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteMalformed(f"invalid key name {self.name!r}")
        if len(self.key_id) != _KEY_ID_SIZE:
            raise NoteMalformed("a key id is 4 bytes")
        if not self.signature:
            raise NoteMalformed("empty signature")

    @classmethod
    def parse(cls, line: str) -> SignatureLine:
        """Parse one line, without its trailing newline."""
        if not line.startswith(_SIG_PREFIX):
            raise NoteMalformed("signature line does not start with an em dash and a space")
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep:
            raise NoteMalformed("signature line has no signature")
        try:
            blob = b64decode_strict(b64)
        except Base64Invalid as exc:
            raise NoteMalformed(f"signature: {exc}") from None
        if len(blob) <= _KEY_ID_SIZE:
            raise NoteMalformed("signature shorter than a key id and one byte")
        return cls(name, blob[:_KEY_ID_SIZE], blob[_KEY_ID_SIZE:])

    def format(self) -> str:
        """The line without its trailing newline."""
        return f"{_SIG_PREFIX}{self.name} {b64encode(self.key_id + self.signature)}"


class ParsedNote(NamedTuple):
    """A parsed note: its text (with the final newline) and its signature lines, in order."""

    text: str
    signatures: list[SignatureLine]


def _as_text(note: str | bytes) -> str:
    if isinstance(note, bytes):
        try:
            return note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteMalformed("note is not valid UTF-8") from None
    return note


def _check_note_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteMalformed("note text must end with a newline")
    if not _valid_chars(text, allow_newline=True):
        raise NoteMalformed("note text must be UTF-8 without control characters")


def parse_note(note: str | bytes) -> ParsedNote:
    """Split a signed note into text and signature lines; raise :class:`NoteMalformed`.

    Structure only: no signature is checked here. Per signed-note §Format the text is
    separated from the signatures by the *last* blank line, so the text may itself contain
    blank lines.
    """
    note = _as_text(note)
    # 1. Valid UTF-8 with no control characters but newline, anywhere in the note.
    if not _valid_chars(note, allow_newline=True):
        raise NoteMalformed("note must be UTF-8 without control characters")
    # 2. Text, blank line, signature block ending in a newline.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteMalformed("no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteMalformed("a note needs signature lines, each ending in a newline")
    lines = block[:-1].split("\n")
    # 3. Bound the work a hostile note can cause.
    if len(lines) > MAX_SIGNATURES:
        raise NoteMalformed(f"more than {MAX_SIGNATURES} signatures")
    # 4. Every line must be a well-formed signature line.
    return ParsedNote(text, [SignatureLine.parse(line) for line in lines])


def _public_key_object(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def _ed25519_valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    if len(signature) != _ED25519_SIG_SIZE:
        return False
    try:
        _public_key_object(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign ``text`` (which must end in a newline) as a C2SP signed note with one signature.

    Returns ``text + "\\n" + "— <name> base64(key id || Ed25519(text))\\n"``.
    """
    _check_note_text(text)
    signature = private_key.sign(text.encode())
    line = SignatureLine(name, key_id(name, private_key.public_key()), signature)
    return f"{text}\n{line.format()}\n"


def signature_line(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """One more Ed25519 signature line (no trailing newline) over a note's text.

    With :func:`add_signature` a note gets several signers: an operator key change is one
    checkpoint signed by the old and the new key (DESIGN §6), each line checked on its own.
    """
    _check_note_text(text)
    return SignatureLine(name, key_id(name, private_key.public_key()), private_key.sign(text.encode())).format()


def add_signature(note: str, line: str) -> str:
    """Append a signature line (with or without its newline) to a signed note.

    Both are validated; adding a line the note already carries returns the note unchanged
    (verifiers drop duplicates anyway), so co-signing twice is harmless.
    """
    line = line.removesuffix("\n")
    parsed = parse_note(note)
    new = SignatureLine.parse(line)
    if new in parsed.signatures:
        return note
    if len(parsed.signatures) >= MAX_SIGNATURES:
        raise NoteMalformed(f"more than {MAX_SIGNATURES} signatures")
    return f"{note}{line}\n"


def verify_note(note: str | bytes, verifier: Verifier) -> None:
    """Verify ``note`` against one trusted key; raise :class:`NoteSignatureInvalid`.

    Signatures by other keys are ignored (signed-note §Signatures: verifiers MUST ignore
    unknown keys); every signature that names this key must verify (the spec's SHOULD
    reject the whole note), and at least one must exist.
    """
    # 1. Only an Ed25519 note key signs note text directly (a 0x04 key signs cosignatures).
    if verifier.signature_type != SIG_TYPE_ED25519:
        raise NoteSignatureInvalid("verifier is not an Ed25519 note key")
    # 2. The note must be well formed.
    try:
        text, signatures = parse_note(note)
    except NoteMalformed as exc:
        raise NoteSignatureInvalid(f"malformed note: {exc}") from exc
    # 3. Find this key's signatures by name *and* key id.
    mine = [s for s in signatures if s.name == verifier.name and s.key_id == verifier.key_id]
    if not mine:
        raise NoteSignatureInvalid(f"no signature by {verifier.name}+{verifier.key_id.hex()}")
    # 4. Each must verify over the note text.
    message = text.encode()
    for sig in mine:
        if not _ed25519_valid(verifier.public_key, sig.signature, message):
            raise NoteSignatureInvalid(f"signature by {verifier.name} does not verify")


# --- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint body: origin, tree size, RFC 6962 root hash (+ extension lines).

    We never write extension lines, but keep any we read so a body round-trips exactly
    (cosignatures sign the whole body, tlog-cosignature §"Ed25519 signed message").
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # tlog-checkpoint §"Note text": non-empty single lines, decimal size, hash root.
        if not self.origin or not _valid_chars(self.origin, allow_newline=False):
            raise CheckpointMalformed("origin must be a non-empty line")
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise CheckpointMalformed(f"tree size {self.size!r} out of range")
        if len(self.root_hash) != 32:
            raise CheckpointMalformed("root hash must be 32 bytes (SHA-256)")
        for ext in self.extensions:
            if not ext or not _valid_chars(ext, allow_newline=False):
                raise CheckpointMalformed("extension lines must be non-empty lines")

    def body(self) -> str:
        """``origin\\nsize\\nbase64(root)\\n`` (then any extension lines)."""
        lines = [self.origin, str(self.size), b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint note text strictly; raise :class:`CheckpointMalformed`."""
        if not body.endswith("\n"):
            raise CheckpointMalformed("checkpoint must end with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointMalformed("checkpoint needs origin, size and root hash lines")
        origin, size, root, *extensions = lines
        if not _DECIMAL.fullmatch(size):
            raise CheckpointMalformed("tree size must be decimal without leading zeroes")
        try:
            root_hash = b64decode_strict(root)
        except Base64Invalid as exc:
            raise CheckpointMalformed(f"root hash: {exc}") from None
        return cls(origin, int(size), root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, name: str, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note (tlog-checkpoint: the key name SHOULD be the origin)."""
    return sign_note(checkpoint.body(), name, private_key)


def open_checkpoint(note: str | bytes, verifier: Verifier) -> Checkpoint:
    """Verify the operator's signature, then parse the checkpoint.

    Raises :class:`CheckpointSignatureInvalid` (signature) or :class:`CheckpointMalformed`
    (body). Callers must still compare ``origin`` with the log they expect.
    """
    try:
        verify_note(note, verifier)
    except NoteSignatureInvalid as exc:
        raise CheckpointSignatureInvalid(str(exc)) from exc
    return Checkpoint.parse(parse_note(note).text)


# --- cosignatures ----------------------------------------------------------------------------


class Cosignature(NamedTuple):
    """A decoded tlog-cosignature/v1 line (structure only, not verified)."""

    name: str
    key_id: bytes
    timestamp: int
    signature: bytes


def cosignature_message(checkpoint_body: str, timestamp: int) -> bytes:
    """``cosignature/v1\\ntime <T>\\n`` followed by the whole checkpoint text.

    tlog-cosignature §"Ed25519 signed message"; T is ASCII decimal, no leading zeroes.
    """
    if not 0 <= timestamp <= _MAX_COSIGNATURE_TIME:
        raise ValueError(f"cosignature timestamp {timestamp} out of range")
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{checkpoint_body}".encode()


def parse_cosignature(line: SignatureLine | str) -> Cosignature:
    """Split a cosignature line into key id, timestamp and Ed25519 signature.

    tlog-cosignature §Format: ``timestamped_signature`` = u64 big-endian timestamp || 64-byte
    signature. Raises :class:`CosignatureInvalid` if the layout is wrong.
    """
    if isinstance(line, str):
        try:
            line = SignatureLine.parse(line.removesuffix("\n"))
        except NoteMalformed as exc:
            raise CosignatureInvalid(f"malformed signature line: {exc}") from exc
    if len(line.signature) != _TIMESTAMP_SIZE + _ED25519_SIG_SIZE:
        raise CosignatureInvalid("a cosignature is an 8-byte timestamp and a 64-byte signature")
    timestamp = int.from_bytes(line.signature[:_TIMESTAMP_SIZE], "big")
    if timestamp > _MAX_COSIGNATURE_TIME:
        raise CosignatureInvalid("cosignature timestamp exceeds 2^63 - 1")
    return Cosignature(line.name, line.key_id, timestamp, line.signature[_TIMESTAMP_SIZE:])


def cosign(checkpoint_body: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """A tlog-cosignature/v1 signature line (no trailing newline) over a checkpoint text.

    ``timestamp`` is POSIX seconds. Add it to the checkpoint note with :func:`add_signature`.
    The caller must first have checked consistency with the last checkpoint it cosigned:
    that is what a cosignature asserts.
    """
    Checkpoint.parse(checkpoint_body)  # cosignatures are statements about checkpoints only
    message = cosignature_message(checkpoint_body, timestamp)
    kid = cosignature_key_id(name, private_key.public_key())
    sig = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + private_key.sign(message)
    return SignatureLine(name, kid, sig).format()


def verify_cosignature(note: str | bytes, name: str, public_key: bytes | Ed25519PublicKey) -> int:
    """Verify ``name``'s tlog-cosignature/v1 on a checkpoint note; return its timestamp.

    Raises :class:`CosignatureInvalid`. Lines that do not carry this cosigner's name and
    key id are ignored (signed-note §Signatures); each that does must verify. With several
    valid cosignatures by the same key, the latest timestamp is returned.
    """
    # 1. A well-formed note whose text is a checkpoint.
    try:
        text, signatures = parse_note(note)
        Checkpoint.parse(text)
    except (NoteMalformed, CheckpointMalformed) as exc:
        raise CosignatureInvalid(f"not a checkpoint note: {exc}") from exc
    # 2. This cosigner's lines, by name and 0x04 key id.
    raw = _raw_public_key(public_key)
    kid = cosignature_key_id(name, raw)
    mine = [s for s in signatures if s.name == name and s.key_id == kid]
    if not mine:
        raise CosignatureInvalid(f"no cosignature by {name}+{kid.hex()}")
    # 3. Each must have the timestamped layout and verify over the v1 message.
    timestamps: list[int] = []
    for line in mine:
        cosig = parse_cosignature(line)
        message = cosignature_message(text, cosig.timestamp)
        if not _ed25519_valid(raw, cosig.signature, message):
            raise CosignatureInvalid(f"cosignature by {name} does not verify")
        timestamps.append(cosig.timestamp)
    return max(timestamps)
