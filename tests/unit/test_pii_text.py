"""The personal-data-in-text detector (EVENTS.md, reason ``personal_data_in_text``), pure.

Each kind has cases it must find and near misses it must let pass: a wrong check digit, a date
that does not exist, digits glued to letters or to more digits, 17 digits, the old 15-digit ID,
a card number that fails Luhn, a mobile number inside a longer run.
"""

from __future__ import annotations

import pytest

from ledger.domain import pii_text
from ledger.domain.pii_text import find, is_id_number, luhn_valid
from ledger.domain.schema import TEXT_PATHS, screen_personal_data
from ledger.errors import PersonalDataInText

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(first17: str) -> str:
    """``first17`` with its GB 11643 check character (computed here, independently)."""
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def luhn(first: str) -> str:
    """``first`` with its Luhn check digit appended."""
    for check in "0123456789":
        if luhn_valid(first + check):
            return first + check
    raise AssertionError


ID = id_number("64042219850601123")  # 西吉县, born 1985-06-01 — ends in X
ID_DIGIT = id_number("64042219720921380")
CARD = luhn("621799133805665465")  # 19 digits
PHONE = "18040717459"


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


# --- ID numbers --------------------------------------------------------------------------------------
def test_known_id_numbers_are_recognised() -> None:
    assert ID.endswith("X") and is_id_number(ID)
    assert is_id_number(ID_DIGIT)
    assert is_id_number("11010519491231002X")  # the GB 11643 example
    assert is_id_number(ID.lower())  # x as well as X


@pytest.mark.parametrize("number", [
    pytest.param(wrong_check(ID), id="bad-check-digit"),
    pytest.param(id_number("64042219850231123"), id="february-31st"),
    pytest.param(id_number("64042219851301123"), id="month-13"),
    pytest.param(id_number("64042218991231123"), id="born-1899"),
    pytest.param(id_number("64042221000101123"), id="born-2100"),
    pytest.param(id_number("99042219850601123"), id="province-99"),
    pytest.param(id_number("10042219850601123"), id="province-10"),
    pytest.param(id_number("64042219850601123")[:17], id="17-digits"),
    pytest.param("640422850601123", id="old-15-digit-id"),
])  # fmt: skip
def test_near_miss_id_numbers_are_not_id_numbers(number: str) -> None:
    assert not is_id_number(number)
    assert find(f"身份证{number}。") != "id_number"


@pytest.mark.parametrize("prefix", ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82", "83"])
def test_every_province_group_and_the_permits_of_hong_kong_macao_and_taiwan(prefix: str) -> None:
    assert is_id_number(id_number(prefix + "042219850601123"))


@pytest.mark.parametrize("prefix", ["16", "20", "24", "30", "38", "40", "47", "55", "60", "66", "70", "80", "84", "91"])
def test_prefixes_that_no_province_has_are_not_id_numbers(prefix: str) -> None:
    assert not is_id_number(id_number(prefix + "042219850601123"))


@pytest.mark.parametrize("text", [
    ID, f"身份证号{ID}，已核实", f"（{ID}）", f"no. {ID}.", f"{ID}号", f"证号:{ID}", f"复核{ID.lower()}",
])  # fmt: skip
def test_id_number_as_its_own_token_is_found_chinese_characters_do_not_hide_it(text: str) -> None:
    assert find(text) == "id_number"
    assert find(text, free_text=False) == "id_number"


@pytest.mark.parametrize("text", [f"A{ID}", f"{ID}b", f"7{ID}", f"{ID}7", f"NO{ID}", f"x{ID_DIGIT}x"])
def test_id_number_glued_to_a_latin_letter_or_digit_is_not_its_own_token(text: str) -> None:
    assert find(text) is None


def test_fullwidth_digits_are_the_same_number() -> None:
    fullwidth = "".join(chr(0xFF10 + int(c)) if c.isdigit() else "\uff38" for c in ID)
    assert find(f"身份证号：{fullwidth}") == "id_number"
    assert find("电话" + "".join(chr(0xFF10 + int(c)) for c in PHONE)) == "mobile"


# --- mobile numbers ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [PHONE, f"电话{PHONE}", f"tel: {PHONE}", f"联系人 {PHONE}。", "13012345678", "19912345678"])
def test_mobile_number_in_free_text_is_found(text: str) -> None:
    assert find(text) == "mobile"


@pytest.mark.parametrize("text", [
    pytest.param("12012345678", id="1-2-is-not-mobile"),
    pytest.param("1381234567", id="10-digits"),
    pytest.param(f"9{PHONE}", id="inside-a-longer-run-before"),
    pytest.param(f"{PHONE}0", id="inside-a-longer-run-after"),
    pytest.param(f"20190401{PHONE}", id="inside-a-document-number"),
    pytest.param(f"A{PHONE}", id="glued-to-a-letter"),
    pytest.param(f"{PHONE}X", id="glued-to-X"),
])  # fmt: skip
def test_near_miss_mobile_numbers_are_not_found(text: str) -> None:
    assert find(text) is None


def test_mobile_number_outside_free_text_is_not_judged() -> None:
    assert find(PHONE, free_text=False) is None


# --- card numbers ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("digits", [luhn("411111111111111"), luhn("6217991338056654"), luhn("62179913380566546"), CARD])
def test_luhn_valid_16_to_19_digits_in_free_text_are_a_card(digits: str) -> None:
    assert 16 <= len(digits) <= 19
    assert find(f"退回至卡号 {digits}") == "card"


def test_near_miss_card_numbers_are_not_found() -> None:
    invalid = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    assert not luhn_valid(invalid) and find(invalid) is None
    assert find(luhn("62179913380566")) is None  # 15 digits
    assert find(luhn("621799133805665465") + "1") is None  # 20 digits: no token at all
    assert find(f"卡{CARD}B") is None
    assert find(CARD, free_text=False) is None  # a bank_reference is judged for ID numbers only


def test_luhn_against_known_values() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


def test_ordinary_text_and_ids_pass() -> None:
    for text in ("西吉县职业技术学校实训楼", "2019年4月8日至5月3日，共 26 天", "GKZF2019040100001234",
                 "GKZF-P-000123", "CERT-640422-2019-000001", "学员 40 人，实到 38 人", "a" * 2000, ""):  # fmt: skip
        assert find(text) is None, text


# --- which fields are judged (EVENTS.md) ----------------------------------------------------------------------------
def test_the_fields_judged_are_those_events_md_names() -> None:
    judged = {(t, f, s, free) for t, paths in TEXT_PATHS.items() for f, s, free in paths}
    assert ("InspectionRecorded", "findings", "note", True) in judged
    assert ("SubsidyClaimed", "lines", "certificate_no", False) in judged
    assert ("PaymentDisbursed", "bank_reference", None, False) in judged
    assert ("CertificateIssued", "certificate_no", None, False) in judged
    assert ("LaborerRegistered", "village", None, True) in judged
    assert ("PersonalDataAccessed", "purpose", None, True) in judged
    assert TEXT_PATHS["AttendanceRecorded"] == ()  # nothing to read: no cost
    names = {s or f for _, f, s, _ in judged}
    assert names <= pii_text_fields()


def pii_text_fields() -> set[str]:
    from ledger.domain.schema import FREE_TEXT_FIELDS, ID_NUMBER_FIELDS

    return set(FREE_TEXT_FIELDS | ID_NUMBER_FIELDS)


def test_screen_names_the_field_and_never_the_number() -> None:
    body = {"inspection_id": "I-1", "findings": [{"code": "ok", "note": "无"}, {"code": "x", "note": f"本人{ID}"}]}
    with pytest.raises(PersonalDataInText) as caught:
        screen_personal_data("InspectionRecorded", body)
    assert "findings.1.note" in str(caught.value) and "personal_data_in_text" in str(caught.value)
    assert ID not in str(caught.value) and ID[:6] not in str(caught.value)


def test_screen_judges_a_bank_reference_for_id_numbers_only() -> None:
    screen_personal_data("PaymentDisbursed", {"bank_reference": PHONE})
    screen_personal_data("PaymentDisbursed", {"bank_reference": CARD})
    with pytest.raises(PersonalDataInText):
        screen_personal_data("PaymentDisbursed", {"bank_reference": ID})


def test_detector_is_a_pure_module_of_the_standard_library() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(pii_text.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "datetime", "re", "typing"}
