"""Columns on a terminal: Chinese characters take two cells (Unicode East Asian Width)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, right: bool = False) -> str:
    """``text`` padded to ``size`` cells, on the left when ``right`` (numbers)."""
    gap = " " * max(size - width(text), 0)
    return gap + text if right else text + gap


def sizes(rows: Sequence[Sequence[str]]) -> list[int]:
    """Each column's size in cells: its widest text among ``rows`` (the head and foot included)."""
    return [max(width(row[i]) for row in rows) for i in range(len(rows[0]))]


def line(cells: Sequence[str], sizes: Sequence[int], numbers_from: int | None = None) -> str:
    """One row, two spaces between columns and none at the end; the columns from ``numbers_from``
    on are numbers, aligned right."""
    right = len(cells) if numbers_from is None else numbers_from
    return "  ".join(pad(c, sizes[i], right=i >= right) for i, c in enumerate(cells)).rstrip()


def rule(sizes: Sequence[int]) -> str:
    """The dashes under a head (and above a foot)."""
    return "  ".join("-" * n for n in sizes)
