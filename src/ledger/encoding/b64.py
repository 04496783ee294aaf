"""Strict base64 (RFC 4648 §4, standard alphabet, with padding).

A value that does not re-encode to the very same string (non-zero trailing bits, missing
padding, whitespace, URL-safe letters) is refused, so every signature and key has exactly one
textual form (DESIGN §6).
"""

from __future__ import annotations

import base64
import binascii


class Base64Invalid(ValueError):
    pass


def b64decode_strict(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise Base64Invalid("not standard base64 with padding") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise Base64Invalid("base64 does not re-encode to the same string")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
