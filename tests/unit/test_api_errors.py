"""``api.errors``: one row per ``LedgerError`` code, with DESIGN §9's exit status and API.md's HTTP status."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import ledger
import projections
from api.errors import ERRORS, PROBLEM_TYPE, problem_for
from ledger.errors import InvalidJSON, LedgerError, NonceReused, Refused, VerificationFailed


def every_ledger_error() -> list[type[LedgerError]]:
    """Every subclass of ``LedgerError`` that ``ledger`` and ``projections`` define."""
    for package in (ledger, projections):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found, todo = [], [LedgerError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__qualname__)


ALL = every_ledger_error()


def test_the_walk_finds_errors_of_every_layer() -> None:
    names = {c.__name__ for c in ALL}
    assert {"InvalidJSON", "LeafTampered", "ProjectionInconsistent", "ProofMalformed", "AsOfOutOfRange"} <= names


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_ledger_error_has_a_row_of_its_own_code(cls: type[LedgerError]) -> None:
    assert cls.code in ERRORS, f"{cls.__module__}.{cls.__name__}: add {cls.code!r} to api/errors.py"
    assert ERRORS[cls.code].code == cls.code


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_exit_status_is_1_for_a_refusal_or_a_failed_check_and_2_otherwise(cls: type[LedgerError]) -> None:
    expected = 1 if issubclass(cls, (Refused, VerificationFailed)) else 2  # DESIGN §9
    assert ERRORS[cls.code].exit_status == expected


def test_http_statuses_are_api_md_errors() -> None:
    assert ERRORS["invalid_json"].http_status == 400
    assert ERRORS["nonce_reused"].http_status == ERRORS["already_exists"].http_status == 409
    assert ERRORS["subject_not_found"].http_status == 404  # an unknown subject
    assert ERRORS["operational_error"].http_status == 503  # database unreachable
    # every other refusal of EVENTS.md: 422 with its reason
    for code in ("envelope_too_large", "date_out_of_range", "personal_data_in_text", "bad_signature", "unknown_actor",
                 "key_not_valid", "role_not_allowed", "outside_jurisdiction", "unknown_reference", "invalid_field",
                 "unknown_type", "total_mismatch", "living_allowance_lines", "at_in_future"):  # fmt: skip
        assert ERRORS[code].http_status == 422, code
    assert all(row.http_status < 500 or row.http_status == 503 for row in ERRORS.values())  # no 5xx but 503


def test_a_refusal_reason_copied_onto_a_plain_refused_finds_its_row() -> None:
    error = Refused("nonce already used")
    error.code = NonceReused.code  # as ledger.service does with an Outcome's code
    assert problem_for(error).http_status == 409
    assert problem_for(InvalidJSON("x")).document("x") == {
        "type": PROBLEM_TYPE + "invalid_json", "title": "Not JSON", "status": 400, "detail": "x"}  # fmt: skip


def test_an_unknown_code_falls_back_to_its_class_row() -> None:
    error = VerificationFailed("odd")
    error.code = "something_new"
    assert problem_for(error).exit_status == 1
