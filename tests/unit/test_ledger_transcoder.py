"""The ledger's orjson event transcoder writes exactly the bytes of the library's JSON transcoder
(issue 18): a stored domain event is the same whichever encoder wrote it."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.encoding.canonical import MAX_SAFE_INTEGER, check_value
from ledger.errors import InvalidJSON
from ledger.persistence.store import LedgerTranscoder


def _pair() -> tuple[LedgerTranscoder, JSONTranscoder]:
    fast, plain = LedgerTranscoder(), JSONTranscoder()
    app = Application[uuid.UUID]()
    app.register_transcodings(fast)
    app.register_transcodings(plain)
    return fast, plain


FAST, PLAIN = _pair()

text = st.text()  # any code point, lone surrogates included
scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | text
envelopes = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=30,
)
stamps = st.datetimes(timezones=st.just(dt.UTC) | st.just(dt.timezone(dt.timedelta(hours=8))))


def _state(stamp: dt.datetime, seq: int, recorded_at: str, envelope: object) -> dict[str, object]:
    return {"timestamp": stamp, "seq": seq, "recorded_at": recorded_at, "envelope": envelope}


def _same(value: object) -> None:
    try:
        expected: bytes | type[BaseException] = PLAIN.encode(value)
    except Exception as exc:  # the library refuses: so must the ledger's transcoder, alike
        expected = type(exc)
    try:
        got: bytes | type[BaseException] = FAST.encode(value)
    except Exception as exc:
        got = type(exc)
    assert got == expected


@settings(max_examples=400)
@given(stamps, st.integers(0, MAX_SAFE_INTEGER), text, envelopes)
def test_event_state_bytes_equal_the_library_transcoders(
    stamp: dt.datetime, seq: int, at: str, envelope: object
) -> None:
    _same(_state(stamp, seq, at, envelope))


def test_values_orjson_would_write_otherwise_take_the_librarys_path() -> None:
    stamp = dt.datetime(2019, 3, 1, 8, 0, tzinfo=dt.UTC)

    class Text(str):
        pass

    for odd in (Decimal("1.50"), Text("x"), {1: "int key"}, 2**80, "\ud800", [dt.date(2019, 3, 1)]):
        _same(_state(stamp, 1, "2019-03-01T00:00:00.000000Z", {"body": odd}))
    _same({"not": "an event state", "id": uuid.uuid4()})


def test_what_orjson_writes_natively_never_reaches_an_event_state() -> None:
    # orjson writes a UUID as a string where the library calls its transcoding: an event state
    # only ever holds an envelope that passed check_value (Envelope.from_dict), which refuses it.
    with pytest.raises(InvalidJSON):
        check_value({"body": {"id": uuid.uuid4()}})


def test_a_real_event_state_round_trips() -> None:
    state = _state(
        dt.datetime.now(dt.UTC),
        7,
        "2026-12-02T12:00:00.000001Z",
        {"v": 1, "body": {"名": "西吉县", "n": [1, None, True]}},
    )
    encoded = FAST.encode(state)
    assert encoded == PLAIN.encode(state)
    assert FAST.decode(encoded) == state
