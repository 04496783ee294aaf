"""Signed envelopes (DESIGN §6): parse, canonical signing bytes, Ed25519 sign and verify.

An :class:`Envelope` validates itself when built (:meth:`Envelope.from_dict`), so an envelope
that exists is well-formed; its signature is checked separately against the key registry
(:mod:`ledger.domain.aggregates`), because which key is valid depends on the log position.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.domain.schema import (
    Body,
    business_date,
    check_timestamp_in_range,
    parse_body,
    parse_rfc3339,
    prefixed,
    screen_personal_data,
)
from ledger.encoding.b64 import Base64Invalid, b64decode_strict, b64encode
from ledger.encoding.canonical import JSONObject, canonical, check_value
from ledger.errors import DateOutOfRange, EnvelopeTooLarge, InvalidField, InvalidJSON, SignatureInvalid

try:  # libsodium verifies ~2.7× faster than OpenSSL (LIMITS.md); same RFC 8032 result.
    from nacl.bindings import crypto_sign_open as _sodium_open
    from nacl.exceptions import BadSignatureError as _SodiumBad
except ImportError:  # pragma: no cover - PyNaCl is a declared dependency
    _sodium_open = None  # type: ignore[assignment]

# EVENTS.md: an envelope over 60 KiB is refused — its leaf (the envelope plus seq and
# recorded_at) must fit a C2SP tlog-tiles entry bundle, whose entries have a 2-byte length.
MAX_ENVELOPE_BYTES = 60 * 1024

ENVELOPE_KEYS = frozenset({"v", "type", "actor", "key_id", "at", "nonce", "body", "sig"})
OPTIONAL_KEYS = frozenset({"officer"})
INTENT_KEYS = frozenset({"actor", "type", "at", "body", "nonce", "officer", "pii"})
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_NONCE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_KEY_ID = re.compile(r"^ed25519:[0-9a-f]{32}$")


def key_id_of(public_key: bytes) -> str:
    """``"ed25519:" + hex(SHA-256(raw 32-byte key))[:32]`` (DESIGN §6)."""
    return "ed25519:" + hashlib.sha256(public_key).hexdigest()[:32]


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> None:
    """Raise :class:`SignatureInvalid` unless ``signature`` is valid (RFC 8032)."""
    if len(signature) != 64 or len(public_key) != 32:
        raise SignatureInvalid("signature does not verify")
    if _sodium_open is not None:
        try:
            _sodium_open(signature + message, public_key)
            return
        except (_SodiumBad, ValueError):
            raise SignatureInvalid("signature does not verify") from None
    try:  # pragma: no cover - fallback path
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise SignatureInvalid("signature does not verify") from None


def _text(obj: JSONObject, key: str, pattern: re.Pattern[str], what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidField(f"{key}: {what}")
    return value


@dataclass(frozen=True, eq=False)
class Envelope:
    """``{"v":1, type, actor, key_id, at, nonce, body, sig}`` plus optional ``officer``."""

    raw: JSONObject
    type: str
    actor: str
    key_id: str
    at: dt.datetime
    nonce: str
    body: Body
    sig: bytes
    officer: str | None

    @classmethod
    def from_dict(cls, obj: object, *, parsed: bool = False, recorded: bool = False) -> Envelope:
        """Validate ``obj``; ``parsed`` says it came from :func:`loads_strict` (already checked).

        ``recorded`` says ``obj`` is a leaf's envelope already in the log (``verify``): it is
        judged by the format alone, without the refusals of what arrives (EVENTS.md
        ``date_out_of_range`` and ``personal_data_in_text``) — a leaf recorded before those
        refusals existed is not a tampered one.
        """
        if not isinstance(obj, dict):
            raise InvalidJSON("an envelope must be a JSON object")
        keys = set(obj)
        missing = ENVELOPE_KEYS - keys
        if missing:
            raise InvalidField(f"{sorted(missing)[0]}: missing")
        extra = keys - ENVELOPE_KEYS - OPTIONAL_KEYS
        if extra:
            raise InvalidField(f"{sorted(extra)[0]}: not an envelope field")
        if not parsed:
            check_value(obj)
        if type(obj["v"]) is not int or obj["v"] != 1:
            raise InvalidField("v: must be the integer 1")
        if not isinstance(obj["type"], str):
            raise InvalidField("type: must be a string")
        actor = _text(obj, "actor", _ID, "must be an id [A-Za-z0-9._:-]{1,64}")
        key_id = _text(obj, "key_id", _KEY_ID, "must be ed25519: and 32 hex characters")
        nonce = _text(obj, "nonce", _NONCE, "must be 8–64 characters of [A-Za-z0-9._:-]")
        if not isinstance(obj["at"], str):
            raise InvalidField("at: must be an RFC 3339 string")
        try:
            at = parse_rfc3339(obj["at"])
        except ValueError as exc:
            raise InvalidField(f"at: {exc}") from None
        try:
            if not recorded:
                check_timestamp_in_range(obj["at"], at)
        except DateOutOfRange as exc:
            raise prefixed("at: ", exc) from None
        officer = obj.get("officer")
        if "officer" in obj and (
            not isinstance(officer, str) or not 1 <= len(officer) <= 64 or not officer.isprintable()
        ):
            raise InvalidField("officer: must be 1–64 printable characters")
        if not isinstance(obj["sig"], str):
            raise InvalidField("sig: must be base64")
        try:
            sig = b64decode_strict(obj["sig"])
        except Base64Invalid as exc:
            raise InvalidField(f"sig: {exc}") from None
        if len(sig) != 64:
            raise InvalidField("sig: an Ed25519 signature is 64 bytes")
        body = parse_body(obj["type"], obj["body"], recorded=recorded)
        if not recorded:
            screen_personal_data(obj["type"], obj["body"])
        if obj["type"] in ("ActorRegistered", "KeyRotated"):
            try:
                if len(b64decode_strict(obj["body"]["public_key"])) != 32:
                    raise Base64Invalid("not 32 bytes")
            except Base64Invalid as exc:
                raise InvalidField(f"body.public_key: {exc}") from None
        envelope = cls(obj, obj["type"], actor, key_id, at, nonce, body, sig, officer)
        # The canonical bytes are needed anyway (signature, leaf) and cached: the check is free.
        if not recorded and len(envelope.canonical_bytes) > MAX_ENVELOPE_BYTES:
            raise EnvelopeTooLarge(
                f"envelope is {len(envelope.canonical_bytes):,} bytes of canonical JSON, over the"
                f" {MAX_ENVELOPE_BYTES:,} (60 KiB) a leaf may carry (envelope_too_large)"
            )
        return envelope

    @cached_property
    def signing_bytes(self) -> bytes:
        """RFC 8785 canonical JSON of the envelope without ``sig`` — what is signed."""
        return canonical({k: v for k, v in self.raw.items() if k != "sig"})

    @cached_property
    def canonical_bytes(self) -> bytes:
        # JCS sorts "sig" between "officer"/"nonce" and "type", the last key but "v"; splice it
        # into the signing bytes rather than encode the envelope a second time.
        head, sep, tail = self.signing_bytes.rpartition(b',"type":')
        sig = b',"sig":"' + b64encode(self.sig).encode("ascii") + b'"'
        return head + sig + sep + tail

    @property
    def business_date(self) -> dt.date:
        return business_date(self.type, self.body, self.at)

    def verify_with(self, public_key: bytes) -> None:
        verify_ed25519(public_key, self.sig, self.signing_bytes)


def sign_envelope(
    unsigned: JSONObject, private_key: Ed25519PrivateKey
) -> JSONObject:
    """Add ``v``, ``key_id`` and ``sig`` to ``{type, actor, at, nonce, body, officer?}``."""
    env = {k: v for k, v in unsigned.items() if k != "sig"}
    env["v"] = 1
    env["key_id"] = key_id_of(public_key_bytes(private_key))
    env["sig"] = b64encode(private_key.sign(canonical(env)))
    return env


def b64_public_key(raw: bytes) -> str:
    return b64encode(raw)
