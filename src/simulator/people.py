"""Who the labourers and organisations are: names, resident ID numbers, phones, bank cards and
unified social credit codes, each with its check character, unique within one simulation."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from simulator.calendar import DAY, add_years
from simulator.world import load

_NAMES = load("names.toml")
_SURNAME_CHARS: list[str] = [s for s, _ in _NAMES["surnames"]]
_SURNAME_CUM: list[int] = [sum(w for _, w in _NAMES["surnames"][: i + 1]) for i in range(len(_SURNAME_CHARS))]
_MALE_CHARS: str = _NAMES["male_chars"]
_FEMALE_CHARS: str = _NAMES["female_chars"]
_HUI_MALE: list[str] = _NAMES["hui_male"]
_HUI_FEMALE: list[str] = _NAMES["hui_female"]
_PHONE_PREFIXES: list[str] = _NAMES["phone_prefixes"]
_CARD_BINS: list[str] = _NAMES["card_bins"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def id_check_digit(first17: str) -> str:
    """GB 11643 (ISO 7064 MOD 11-2) check character of a resident ID number."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def luhn_digit(body: str) -> str:
    """The Luhn check digit to append to ``body`` (bank cards)."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def uscc(kind: str, region: str, actor_id: str) -> str:
    """A GB 32100 unified social credit code with valid GB 11714 and GB 32100 check characters.

    ``kind`` is the first two characters: 11 机关, 12 事业单位, 52 民办非企业单位, 91 企业,
    93 农民专业合作社. Companies founded after 2015 carry "MA" organisation codes.
    """
    r = random.Random("uscc:" + actor_id)
    if kind in ("91", "93", "52"):
        body = "MA7" + "".join(r.choice(_USCC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(5))
    else:
        body = "".join(r.choice("0123456789") for _ in range(8))
    s = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    c9 = 11 - s % 11
    org = body + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    first17 = kind + region + org
    t = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return first17 + _USCC_CHARS[(31 - t % 31) % 31]


def org_account(actor_id: str) -> str:
    """A stable 17-digit corporate account (对公账户) for an organisation."""
    r = random.Random("acct:" + actor_id)
    return "2905" + "".join(str(r.randrange(10)) for _ in range(13))


def birth_for(age: int, ref: dt.date, rng: random.Random) -> dt.date:
    """A birth date that makes someone ``age`` (completed years) on ``ref``."""
    hi = add_years(ref, -age)
    lo = add_years(ref, -(age + 1)) + DAY
    return lo + rng.randrange((hi - lo).days + 1) * DAY


def name(gender: str, rng: random.Random) -> str:
    surname = rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_CUM)[0]
    if gender == "male":
        if rng.random() < 0.05:
            return surname + rng.choice(_HUI_MALE)
        chars = _MALE_CHARS
    else:
        if rng.random() < 0.04:
            return surname + rng.choice(_HUI_FEMALE)
        chars = _FEMALE_CHARS
    return surname + "".join(rng.choice(chars) for _ in range(1 if rng.random() < 0.4 else 2))


class Identities:
    """ID numbers, bank cards and phone numbers drawn so far: each is drawn once per simulation."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.accounts: set[str] = set()
        self.phones: set[str] = set()

    def id_number(self, county: str, birth: dt.date, gender: str, rng: random.Random) -> str:
        """18 characters: the county, the birth date, an odd 17th digit for men, the check character."""

        def draw() -> str:
            seq = rng.randrange(0, 1000)
            if (seq % 2 == 1) != (gender == "male"):
                seq = (seq + 1) % 1000
            first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
            return first17 + id_check_digit(first17)

        return _unused(self.ids, draw)

    def card(self, rng: random.Random) -> str:
        """A 19-digit debit card with its Luhn digit."""

        def draw() -> str:
            body = rng.choice(_CARD_BINS) + f"{rng.randrange(10**12):012d}"
            return body + luhn_digit(body)

        return _unused(self.accounts, draw)

    def phone(self, rng: random.Random) -> str:
        return _unused(self.phones, lambda: rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}")


def _unused(drawn: set[str], draw: Callable[[], str]) -> str:
    """Draw until a number not drawn before comes up, and remember it."""
    while True:
        number = draw()
        if number not in drawn:
            drawn.add(number)
            return number
