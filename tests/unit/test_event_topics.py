"""Domain event classes are declared, never renamed: topics stay what stored ledgers hold."""

from __future__ import annotations

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from ledger.domain.aggregates import AGGREGATES, SUBJECT, LedgerEvent
from ledger.domain.schema import BODIES


def test_every_envelope_type_has_one_event_class_on_its_subject_aggregate() -> None:
    assert set(SUBJECT) == set(BODIES)
    declared = [name for agg in AGGREGATES for name in agg.EVENTS]
    assert sorted(declared) == sorted(BODIES)
    for name, (agg, _) in SUBJECT.items():
        event = getattr(agg, name)
        assert issubclass(event, LedgerEvent) and event.aggregate_class is agg


@pytest.mark.parametrize("name", sorted(SUBJECT))
def test_topic_is_the_module_and_qualified_name_and_the_old_topic_still_resolves(name: str) -> None:
    agg = SUBJECT[name][0]
    event = getattr(agg, name)
    assert get_topic(event) == f"ledger.domain.aggregates:{agg.__name__}.{name}"
    assert resolve_topic(f"ledger.domain:{agg.__name__}.{name}") is event  # ledgers made before issue 19
    assert event.class_version == 1
