"""Money is integer fen (分) everywhere; this module is the one place that turns it into yuan text.

Two renderings, because readers meet money in two places:

- :func:`yuan` — the shortest exact text, as a sentence says it: ``570``, ``570.50``, ``-3.05``.
  Anomaly messages use it, and they are part of the flag JSON, so it never changes.
- :func:`yuan_amount` — a column of a table or report: always two decimals with thousands
  separators, ``1,500.00``; ``None`` is shown as ``—``.

:func:`parse_yuan` reads a yuan amount the way a bank statement writes it (``1,234.5``,
``-0.01``) into fen exactly: string arithmetic, never a float.
"""

from __future__ import annotations

import re

FEN_PER_YUAN = 100

_YUAN = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")


def yuan(fen: int) -> str:
    """``57000`` → ``570``; ``57050`` → ``570.50``; ``-305`` → ``-3.05``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}" if cents == 0 else f"{sign}{whole}.{cents:02d}"


def yuan_amount(fen: int | None) -> str:
    """``150000`` → ``1,500.00``; ``None`` → ``—`` (a table cell with no amount)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}"


def parse_yuan(text: str) -> int:
    """``"1,234.5"`` → ``123450`` fen; anything that is not a yuan amount raises ``ValueError``."""
    match = _YUAN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a yuan amount: {text!r}")
    sign, whole, cents = match.groups()
    fen = int(whole.replace(",", "")) * FEN_PER_YUAN + int((cents or "0").ljust(2, "0"))
    return -fen if sign == "-" else fen
