"""Personal data written where none belongs (EVENTS.md, reason ``personal_data_in_text``).

Pure functions over one string, run on every envelope at ingest, so they stay cheap: one
precompiled pattern finds the *digit tokens* of 11–19 characters (no Latin letter or digit right
before or after; Chinese characters around a number do not hide it), and only those tokens are
judged. Text without such a token — nearly all of it — costs one regex search.

What counts, exactly as EVENTS.md says:

- an 18-character mainland ID number (GB 11643-1999): a valid province prefix, a real birth date
  with a year in 1900–2099, and the ISO 7064 MOD 11-2 check digit (``X`` either case);
- in free text only, a mainland mobile number (``1[3-9]`` and 9 more digits) or a Luhn-valid
  card number of 16–19 digits.

Fullwidth digits and letters (``６４０４２２…``, what a Chinese input method types) read as their
ASCII forms. Numbers split by spaces or hyphens, a ``+86`` glued to a mobile number, and other
ids, codes and hashes are out of the contract's reach and are not judged.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

Kind = Literal["id_number", "mobile", "card"]

# Province-level prefixes of GB/T 2260 (the first two digits of an ID number): the 31 mainland
# provinces, 71 (Taiwan) of GB/T 2260, and 81/82/83 — the numbers of the residence permits for
# Hong Kong, Macao and Taiwan residents (港澳台居民居住证, 2018), built and checked the same way.
PROVINCES = frozenset(
    (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83)
)  # fmt: skip
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # ISO 7064 MOD 11-2, 2^(17-i) mod 11
_CHECK = "10X98765432"

_DIGIT = "0-9\uff10-\uff19"
_LATIN = "A-Za-z\uff21-\uff3a\uff41-\uff5a"
# A run of 11–19 digits, optionally ending in X, with no Latin letter or digit on either side.
# Inside a longer run the lookbehind fails at every start but the first, and the lookahead fails
# there, so a run of 20 digits yields no token (a mobile number inside it is not "its own").
_TOKEN = re.compile(
    f"(?<![{_DIGIT}{_LATIN}])[{_DIGIT}]{{11,19}}[Xx\uff38\uff58]?(?![{_DIGIT}{_LATIN}])"
)
_FULLWIDTH = str.maketrans(
    {chr(0xFF10 + i): str(i) for i in range(10)} | {"\uff38": "X", "\uff58": "x"}
)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def is_id_number(token: str) -> bool:
    """True if ``token`` is an 18-character ID number: province, birth date and check digit."""
    token = token.translate(_FULLWIDTH)
    if len(token) != 18 or not token[:17].isascii() or not token[:17].isdigit():
        return False
    if int(token[:2]) not in PROVINCES:
        return False
    year, month, day = int(token[6:10]), int(token[10:12]), int(token[12:14])
    if not 1900 <= year <= 2099:
        return False
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    total = sum(int(ch) * weight for ch, weight in zip(token, _WEIGHTS, strict=False))
    return _CHECK[total % 11] == token[17].upper()


def luhn_valid(digits: str) -> bool:
    """The Luhn (ISO/IEC 7812-1) check over a string of ASCII digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _judge(token: str, free_text: bool) -> Kind | None:
    token = token.translate(_FULLWIDTH)
    if len(token) == 18 and is_id_number(token):
        return "id_number"
    if not free_text or not token.isdigit():
        return None
    if len(token) == 11 and _MOBILE.fullmatch(token):
        return "mobile"
    if 16 <= len(token) <= 19 and luhn_valid(token):
        return "card"
    return None


def find(text: str, *, free_text: bool = True) -> Kind | None:
    """The first kind of personal data written in ``text`` as a token of its own, or None.

    ``free_text=False`` (a ``certificate_no`` or ``bank_reference``) judges ID numbers only.
    """
    for match in _TOKEN.finditer(text):
        kind = _judge(match.group(), free_text)
        if kind is not None:
            return kind
    return None
