"""Decoding a leaf for the projections: the business date agrees with the ledger's definition."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.schema import business_date
from projections.events import business_date_of, decode

offsets = st.sampled_from(["+08:00", "Z", "+00:00", "-05:00", "+14:00"])
moments = st.datetimes(min_value=dt.datetime(2018, 1, 1), max_value=dt.datetime(2021, 12, 31))


@given(moment=moments, offset=offsets, kind=st.sampled_from(["IdentityConfirmed", "PayrollRecorded", "ClaimApproved"]),
       month=st.integers(1, 12))  # fmt: skip
def test_the_fast_business_date_equals_the_ledgers(moment: dt.datetime, offset: str, kind: str, month: int) -> None:
    at = moment.strftime("%Y-%m-%dT%H:%M:%S") + offset
    body = {"month": f"2019-{month:02d}"} if kind == "PayrollRecorded" else {}
    expected = business_date(kind, SimpleNamespace(**body), dt.datetime.fromisoformat(at.replace("Z", "+00:00")))  # type: ignore[arg-type]
    assert business_date_of(kind, body, at) == expected.isoformat()


def test_a_body_date_is_the_business_date_whatever_the_signing_time() -> None:
    assert business_date_of("AttendanceRecorded", {"date": "2019-04-08"}, "2019-04-20T10:00:00+08:00") == "2019-04-08"
    assert business_date_of("PaymentDisbursed", {"value_date": "2019-06-03"}, "2019-06-01T23:30:00Z") == "2019-06-03"


def test_decode_names_the_subject_and_the_period() -> None:
    leaf = json.dumps({"seq": 7, "recorded_at": "2026-01-01T00:00:00.000000Z", "envelope": {
        "type": "PaymentDisbursed", "actor": "fin-xj", "at": "2019-06-01T23:30:00Z", "body": {
            "payment_id": "P-1", "claim_id": "C-1", "fund_id": "F", "amount_fen": 1, "payee_account": "a" * 64,
            "bank_reference": "B", "value_date": "2019-06-03"}}}).encode()  # fmt: skip
    ev = decode(7, "2026-01-01T00:00:00.000000Z", leaf)
    assert (ev.subject_kind, ev.subject_id, ev.business_date, ev.period) == ("payment", "P-1", "2019-06-03", "2019-06")
    assert ev.moves_clock
