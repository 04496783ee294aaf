"""Response models derived from a projection's ``TypedDict`` (:func:`api.http.models.model_of`): the
document's shape is declared once, where it is made, and ``/openapi.json`` follows it."""

from __future__ import annotations

from typing import NotRequired, TypedDict, get_type_hints

import pytest
from pydantic import ValidationError

from api.http import models as m
from projections.trace import query


class Payment(TypedDict):  # postponed annotations, as in the projections: NotRequired is still seen
    seq: int
    payee: str | None
    officer: NotRequired[str]
    paid: bool


def test_a_derived_model_keeps_the_keys_order_types_and_which_may_be_absent() -> None:
    model = m.model_of(Payment, {"officer": "absent when no officer signed", "paid": "money left the fund"})
    schema = model.model_json_schema()
    assert model.__name__ == "Payment" and list(schema["properties"]) == ["seq", "payee", "officer", "paid"]
    assert schema["required"] == ["seq", "payee", "paid"]
    assert schema["properties"]["officer"]["description"] == "absent when no officer signed"
    assert "description" not in schema["properties"]["seq"]
    full = {"seq": 3, "payee": None, "officer": "o-1", "paid": True}
    assert model.model_validate(full).model_dump() == full
    assert model.model_validate({"seq": 3, "payee": "p", "paid": False}).model_dump(exclude_unset=True) == {
        "seq": 3, "payee": "p", "paid": False
    }  # fmt: skip
    with pytest.raises(ValidationError):
        model.model_validate({"seq": 3, "officer": "o-1", "paid": True})  # payee may be null, never absent


def test_the_trace_event_model_is_the_trace_documents_event() -> None:
    assert list(m.TraceEvent.model_fields) == list(get_type_hints(query.TraceEvent))
    assert {n for n, f in m.TraceEvent.model_fields.items() if not f.is_required()} == {"officer"}
    assert m.Trace.model_fields["events"].annotation == list[m.TraceEvent]
