"""The migration order (issue 16): the same intents in a random order the ledger still accepts.

What the ledger needs of an order is checked here independently of ``simulator.order``: created
ids before every reference to them (EVENTS.md "What is refused"), a revoked key's signatures
before its revocation; and what the order leaves free — standards and corrections — does move.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from simulator import simulate
from simulator.emit import Intent
from simulator.order import migration_order

# type → the body field naming the aggregate it creates (EVENTS.md); FundAllocated opens or adds.
CREATES = {"LaborerRegistered": "laborer_id", "ClassOpeningRequested": "class_id", "SubsidyClaimed": "claim_id",
           "PaymentDisbursed": "payment_id", "EmploymentStarted": "employment_id", "FundAllocated": "fund_id"}  # fmt: skip
KIND = {"laborer_id": "laborer", "class_id": "class", "claim_id": "claim", "payment_id": "payment",
        "employment_id": "employment", "fund_id": "fund"}  # fmt: skip


def named(intent: dict[str, Any]) -> set[tuple[str, str]]:
    """Every labourer, class, claim, payment, employment and fund an intent names."""
    body = intent["body"]
    out = {(KIND[k], v) for k, v in body.items() if k in KIND}
    for name in ("completers", "present", "absent", "rejected_laborers"):
        out |= {("laborer", lid) for lid in body.get(name, [])}
    for name in ("trainees", "lines", "findings"):
        for record in body.get(name, []):
            out |= {(KIND[k], v) for k, v in record.items() if k in KIND}
    if intent["type"] == "InspectionRecorded" and body["subject_kind"] != "employer":
        out.add((body["subject_kind"], body["subject_id"]))
    return out


def assert_acceptable(intents: list[dict[str, Any]]) -> None:
    made: set[tuple[str, str]] = set()
    for intent in intents:
        field = CREATES.get(intent["type"])
        own = (KIND[field], intent["body"][field]) if field else None
        missing = named(intent) - made - {own}
        assert not missing, (intent["type"], intent["nonce"], sorted(missing))
        if own is not None:
            made.add(own)
    revoked = [i for i in intents if i["type"] == "KeyRevoked"]
    for revocation in revoked:
        at = intents.index(revocation)
        assert not [i for i in intents[at + 1 :] if i["actor"] == revocation["key_of"]]


@pytest.fixture(scope="module")
def small() -> list[dict[str, Any]]:
    return list(simulate("small", seed=2019).intents())


@pytest.fixture(scope="module")
def shuffled() -> list[dict[str, Any]]:
    return list(simulate("small", seed=2019, order="shuffled", order_seed=7).intents())


def _text(intents: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(i, sort_keys=True, ensure_ascii=False) for i in intents]


def test_a_migration_order_holds_the_same_intents_with_the_same_nonces_and_times(
    small: list[dict[str, Any]], shuffled: list[dict[str, Any]]
) -> None:
    assert sorted(_text(small)) == sorted(_text(shuffled))  # each envelope keeps its nonce and its at
    assert _text(small) != _text(shuffled)
    assert_acceptable(small)


def test_a_migration_order_names_nothing_before_it_exists_and_revokes_a_key_after_its_signatures(
    shuffled: list[dict[str, Any]],
) -> None:
    assert_acceptable(shuffled)
    assert any(i["type"] == "KeyRevoked" for i in shuffled)


def test_the_order_is_a_function_of_its_seed() -> None:
    def nonces(order_seed: int | None) -> list[str]:
        return [
            i["nonce"] for i in simulate("small", seed=5, order="shuffled", order_seed=order_seed).intents()
        ]

    assert nonces(3) == nonces(3) and nonces(3) != nonces(4)
    assert nonces(None) == nonces(5)  # the order seed defaults to the simulation's


def test_standards_and_corrections_may_come_after_what_they_govern(
    small: list[dict[str, Any]], shuffled: list[dict[str, Any]]
) -> None:
    business = {i["nonce"]: n for n, i in enumerate(small)}
    migrated = {i["nonce"]: n for n, i in enumerate(shuffled)}

    def overtaken(first: dict[str, Any], later: dict[str, Any]) -> bool:
        """``later`` follows ``first`` in business order but arrives before it."""
        a, b = first["nonce"], later["nonce"]
        return business[a] < business[b] and migrated[a] > migrated[b]

    standards = [i for i in small if i["type"] == "SubsidyStandardSet"]
    claims = [i for i in small if i["type"] == "SubsidyClaimed"]
    assert any(overtaken(s, c) for s in standards for c in claims)
    corrections = [i for i in small if i["type"] == "LaborerCorrected"]
    assert corrections and any(
        overtaken(c, i) for c in corrections for i in small
        if i["type"] != "LaborerRegistered" and ("laborer", c["body"]["laborer_id"]) in named(i)
    )  # fmt: skip


def test_the_truth_is_that_of_the_business_order() -> None:
    a, b = simulate("small", seed=2019), simulate("small", seed=2019, order="shuffled", order_seed=11)
    assert a.truth == b.truth and a.expected_knock_on == b.expected_knock_on and a.count() == b.count()


def _intent(n: int, actor: str, typ: str, body: dict[str, Any], **extra: Any) -> Intent:
    at = (
        dt.datetime(2019, 3, 1, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))) + dt.timedelta(hours=n)
    ).isoformat()
    return {"actor": actor, "type": typ, "at": at, "body": body, "nonce": f"t-{n:03d}", **extra}  # type: ignore[typeddict-item]


def test_what_the_business_order_refuses_stays_refused() -> None:
    """A reference before its creation, a second creation of one id and a signature after its
    key's revocation are refused in business order; every migration order keeps them so."""
    claim = {
        "claim_id": "C1",
        "kind": "training",
        "class_id": "K1",
        "lines": [],
        "payee_account": "",
        "total_fen": 0,
    }
    intents = [
        _intent(0, "pov", "IdentityConfirmed", {"laborer_id": "L1", "basis": "b"}),  # before L1 exists
        _intent(1, "pov", "LaborerRegistered", {"laborer_id": "L1"}),
        _intent(2, "inst", "ClassOpeningRequested", {"class_id": "K1"}),
        _intent(3, "inst", "SubsidyClaimed", claim),
        _intent(4, "inst", "SubsidyClaimed", claim),  # the same claim id again
        _intent(5, "admin", "KeyRevoked", {"actor_id": "inst"}, key_of="inst"),
        _intent(6, "inst", "ClassCancelled", {"class_id": "K1", "reason": "r"}),  # after the revocation
        _intent(7, "admin", "SubsidyStandardSet", {"standard_id": "S1"}),
    ]
    seen = set()
    for seed in range(40):
        order = [i["nonce"] for i in migration_order(intents, seed)]
        seen.add(order.index("t-007"))
        assert order.index("t-000") < order.index("t-001")
        assert order.index("t-003") < order.index("t-004")
        assert order.index("t-002") < order.index("t-005") and order.index("t-004") < order.index("t-005")
        assert order.index("t-005") < order.index("t-006")
    assert len(seen) > 3  # the standard constrains nothing: it lands anywhere


def test_an_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown order"):
        simulate("tiny", order="alphabetical")
