"""Fen ↔ yuan text and age: the one implementation every package uses."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.domain.dates import age_at
from ledger.domain.money import parse_yuan, yuan, yuan_amount


@pytest.mark.parametrize(("fen", "text"), [(57000, "570"), (57050, "570.50"), (-305, "-3.05"), (0, "0"), (7, "0.07")])
def test_yuan_is_the_shortest_exact_text(fen: int, text: str) -> None:
    assert yuan(fen) == text


@pytest.mark.parametrize(("fen", "text"), [(150000, "1,500.00"), (-1, "-0.01"), (None, "—"), (123456789, "1,234,567.89")])
def test_yuan_amount_is_a_table_cell(fen: int | None, text: str) -> None:
    assert yuan_amount(fen) == text


@pytest.mark.parametrize(("text", "fen"), [("1,234.5", 123450), ("-0.01", -1), ("570", 57000), (" 12.34 ", 1234)])
def test_parse_yuan_is_exact(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen
    assert parse_yuan(yuan_amount(fen)) == fen


@pytest.mark.parametrize("text", ["", "1.234", "12,34", "1e3", "¥5", "0.1.2", "--1"])
def test_parse_yuan_refuses_what_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError, match="not a yuan amount"):
        parse_yuan(text)


def test_age_counts_completed_years() -> None:
    assert age_at("2000-03-01", "2018-02-28") == 17
    assert age_at("2000-03-01", "2018-03-01") == 18
    assert age_at(dt.date(2000, 2, 29), dt.date(2019, 2, 28)) == 18

