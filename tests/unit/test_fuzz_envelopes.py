"""Whatever a line of an import file holds, parsing either gives a valid envelope or refuses it
with the ledger's own reason (issue 12, build item 6): never another exception, never a hang.

The structured fuzzer (``support.fuzz``) mutates valid signed envelopes; a bounded, seeded run
of it is here, the 100k campaign in ``benchmarks/bench_fuzz.py``. Regression cases are named
after what they once crashed.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support import fuzz

CASES = 2000
SEED = 20261202


def test_the_seed_envelopes_are_valid_so_the_mutations_start_from_what_import_accepts() -> None:
    for env in fuzz.seed_envelopes():
        assert fuzz.run_case(fuzz.encode(env).encode()) == "valid", env["type"]


def test_mutated_envelopes_parse_or_are_refused_with_a_reason_code() -> None:
    outcomes: Counter[str] = Counter()
    mutations: Counter[str] = Counter()
    crashes = []
    for case in fuzz.cases(SEED, CASES):
        assert len(case.data) <= fuzz.MAX_CASE
        mutations[case.mutation.split("+")[0]] += 1
        try:
            outcomes[fuzz.run_case(case.data)] += 1
        except Exception as exc:  # the oracle: anything but a refusal is a crash
            crashes.append(f"{case.mutation}: {type(exc).__name__}: {exc} <- {case.data[:160]!r}")
    assert not crashes, f"{len(crashes)} crashes, first: {crashes[0]}"
    assert set(mutations) == set(fuzz.MUTATIONS)  # every kind of mutation ran
    assert {"valid", "invalid_json", "invalid_field", "unknown_type"} <= set(outcomes)
    assert outcomes["valid"] < CASES // 4  # most mutations break the envelope, as they should


def test_the_cases_are_the_same_for_the_same_seed() -> None:
    assert list(fuzz.cases(7, 50)) == list(fuzz.cases(7, 50))


# --- regressions ---------------------------------------------------------------------------------
def _envelope_with(path: tuple[str, ...], raw: str) -> bytes:
    env = fuzz.seed_envelopes()[-1]
    target = env
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = fuzz.Raw(raw)
    return fuzz.encode(env).encode()


@pytest.mark.parametrize("digits", [4300, 4301, 5000, 100_000])
def test_a_5000_digit_integer_is_refused_not_an_internal_error(digits: int) -> None:
    """int() of more than 4,300 digits raised ValueError out of loads_strict: "internal error"."""
    assert fuzz.run_case(_envelope_with(("v",), "9" * digits)) == "invalid_json"
    assert fuzz.run_case(_envelope_with(("body", "note"), "-" + "1" * digits)) == "invalid_json"


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"])
def test_an_at_whose_business_date_overflows_is_refused(at: str) -> None:
    """Its date in Asia/Shanghai is before year 1 or after 9999: ``business_date`` raised
    OverflowError after the envelope had been accepted as valid."""
    assert fuzz.run_case(_envelope_with(("at",), json.dumps(at))) != "valid"


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_deep_nesting_is_refused(depth: int) -> None:
    assert fuzz.run_case(_envelope_with(("body",), "[" * depth + "]" * depth)) in ("invalid_json", "invalid_field")


# --- unstructured input ------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_are_refused(data: bytes) -> None:
    fuzz.run_case(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(st.sampled_from(["v", "type", "actor", "key_id", "at", "nonce", "body", "sig", "officer"]),
                       json_values))  # fmt: skip
def test_any_json_object_with_envelope_keys_parses_or_is_refused(obj: dict) -> None:
    fuzz.run_case(json.dumps(obj, allow_nan=True).encode())
