"""The fast canonical path equals RFC 8785 (the ``rfc8785`` package) on the ledger's JSON subset."""

from __future__ import annotations

import datetime
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding import canonical as canonical_module
from ledger.encoding.canonical import MAX_SAFE_INTEGER, canonical, canonical_str, loads_strict, loads_trusted
from ledger.errors import InvalidJSON

ascii_keys = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ascii_keys, inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=400)
@given(values)
def test_fast_canonical_equals_rfc8785(value: object) -> None:
    assert canonical(value) == rfc8785.dumps(value)


@settings(max_examples=400)
@given(values)
def test_both_encoder_paths_write_the_same_text(value: object) -> None:
    """orjson (the hot path) and json.dumps (its fallback) agree byte for byte, and round-trip."""
    slow = canonical_module._encoder.encode(value)
    assert canonical_str(value) == slow
    assert canonical(value) == slow.encode("utf-8")
    assert loads_trusted(slow) == json.loads(slow)


def test_what_orjson_refuses_is_encoded_as_json_dumps_encodes_it() -> None:
    big = {"fen": 2**60, "k": [1, {"z": None, "a": "中"}]}  # beyond ±(2^53−1): orjson refuses, json writes it
    assert canonical_str(big) == '{"fen":1152921504606846976,"k":[1,{"a":"中","z":null}]}'
    assert canonical_str({3: "x"}) == json.dumps({3: "x"}, separators=(",", ":"))
    with pytest.raises(TypeError):
        canonical({"x": {1, 2}})  # a set is not JSON on either path
    with pytest.raises(TypeError):
        canonical({"at": datetime.date(2019, 6, 1)})  # orjson would write a date: json.dumps refuses, as before

    class Code(str):
        pass

    assert canonical_str({"code": Code("640422")}) == '{"code":"640422"}'  # a str subclass: json.dumps's path


@settings(max_examples=200)
@given(values)
def test_strict_reader_round_trips_canonical_bytes(value: object) -> None:
    assert canonical(loads_strict(canonical(value))) == canonical(value)


def test_control_characters_and_unicode_escape_like_jcs() -> None:
    value = {"b": "\u0000\u001f\b\t\n\f\r\"\\\u007f\u2028é固原", "a": [1, -0, True, None]}
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": 1.5}', "integers"),
        ('{"a": 1e3}', "integers"),
        ('{"a": NaN}', "not JSON"),
        ('{"a": 9007199254740992}', "outside"),
        ('{"a": 1, "a": 2}', "duplicate"),
        ('{"a": "\\ud800"}', "surrogate"),
        ('{"a": 1} x', "trailing"),
        ("{'a': 1}", "not JSON"),
    ],
)
def test_strict_reader_refuses(text: str, reason: str) -> None:
    with pytest.raises(InvalidJSON, match=reason):
        loads_strict(text)


def test_largest_safe_integer_is_accepted() -> None:
    assert loads_strict(json.dumps({"a": MAX_SAFE_INTEGER, "b": -MAX_SAFE_INTEGER})) == {
        "a": MAX_SAFE_INTEGER, "b": -MAX_SAFE_INTEGER}  # fmt: skip
