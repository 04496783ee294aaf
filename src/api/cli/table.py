"""Columns on a terminal: Chinese characters take two cells (Unicode East Asian Width)."""

from __future__ import annotations

import unicodedata


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, right: bool = False) -> str:
    """``text`` padded to ``size`` cells, on the left when ``right`` (numbers)."""
    gap = " " * max(size - width(text), 0)
    return gap + text if right else text + gap
