"""A flag's evidence follows its proof, in any arrival order (issue 16, RULES.md: "the flags that are
not withdrawn, and their evidence (as envelopes), are the same for any order the ledger accepts").

Two corners where evidence once depended on order, because it only ever grew: a class-day recorded
twice whose superseded record arrived first, and a claim approved, rejected, then paid. Each story
is told in both arrival orders, each in its own ledger on a real database (SQLite, PostgreSQL), and
the flags' evidence, compared as envelope identities (actor + nonce), must be the same. The
``--as-of`` answers before and after a seq leaves the evidence are checked too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from projections import tables as T
from projections.anomalies import TABLES
from projections.db import engine_for
from projections.runner.catchup import catch_up, rebuild, rebuild_only
from support.pg import pg_database
from support.rules_builder import PAYEE, START, TRAINING_FUND, RuleScenario, at, plus
from unit.rules.test_order_property_corners import WORLD, arrival, business_order

Identity = tuple[str, str]  # (actor, nonce): an envelope the same in both ledgers
Ledger = Callable[[], RuleScenario]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """A fresh ledger on the backend at each call (one per arrival order)."""
    with ExitStack() as stack:
        opened: list[RuleScenario] = []

        def make() -> RuleScenario:
            folder = tmp_path / f"order-{len(opened)}"
            url = (f"sqlite:///{folder}.db" if request.param == "sqlite"
                   else stack.enter_context(pg_database()))  # fmt: skip
            sc = RuleScenario.create(url, folder)
            opened.append(sc)
            stack.callback(sc.close)
            return sc

        yield make


def put(sc: RuleScenario, actor: str, event_type: str, body: dict[str, Any], when: str, nonce: str) -> int:
    """An envelope with a fixed nonce, so that it is the same envelope in both ledgers."""
    return sc.ok(actor, event_type, body, at=when, nonce=nonce)


def evidence(sc: RuleScenario, rule: str) -> dict[str, frozenset[Identity]]:
    """The rule's current flags by id, their evidence as envelope identities."""
    named: dict[int, Identity] = {}
    for seq, _, leaf in sc.ledger.leaves():
        envelope = json.loads(leaf)["envelope"]
        named[seq] = (envelope["actor"], envelope["nonce"])
    return {f["id"]: frozenset(named[seq] for seq in f["evidence"]) for f in sc.flags(rule=rule)}


def day_record(sc: RuleScenario, date: str, signed: str, nonce: str) -> int:
    trainees = [{"laborer_id": "L-1", "theory_hours": 2, "practical_hours": 6}]
    return put(sc, "inst-xj", "AttendanceRecorded", {"class_id": "C-1", "date": date, "trainees": trainees},
               at(signed, 18), nonce)  # fmt: skip


def short_class(sc: RuleScenario) -> str:
    """A class of two days (STD-DURATION: too short), completed, its second day not recorded yet."""
    sc.person("L-1")
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    sc.attend("C-1", START, ["L-1"])
    second = plus(START, 1)
    sc.complete("C-1", second, ["L-1"])
    return second


def test_a_class_day_recorded_twice_whose_superseded_record_arrives_first_is_not_cited(
    ledger: Ledger,
) -> None:
    found = []
    for superseded_first in (True, False):
        sc = ledger()
        second = short_class(sc)
        records = [
            (second, "day-2-first-record"),
            (plus(second, 1), "day-2-recorded-again"),
        ]  # signed later: stands
        seqs = [day_record(sc, second, signed, nonce)
                for signed, nonce in (records if superseded_first else records[::-1])]  # fmt: skip
        found.append(evidence(sc, "STD-DURATION"))
        if superseded_first:  # cited, then dropped when the record signed later arrived
            superseded, standing = seqs
            flag_id = next(iter(found[-1]))
            before, after = sc.flag(flag_id, as_of=standing - 1), sc.flag(flag_id, as_of=standing)
            assert before is not None and after is not None
            assert (
                superseded in before["evidence"] and standing not in before["evidence"]
            )  # as the flag stood
            assert superseded not in after["evidence"] and standing in after["evidence"]
            assert after["evidence"] == sc.one("STD-DURATION")["evidence"]
    assert found[0] == found[1] and len(found[0]) == 1
    (cited,) = found[0].values()
    assert ("inst-xj", "day-2-recorded-again") in cited and ("inst-xj", "day-2-first-record") not in cited


def claim_story(sc: RuleScenario, reject_before_pay: bool) -> dict[str, int]:
    """A class's training claim approved, rejected and paid (the payment arriving before or after
    the rejection); the class never inspected (INSP-UNINSPECTED)."""
    sc.person("L-1")
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    sc.attend("C-1", START, ["L-1"])
    sc.complete("C-1", plus(START, 14), ["L-1"])
    sc.fund_of()
    seqs = {
        "claim": sc.claim_of("CL-1", "C-1", [("L-1", 80000)]),
        "approval": put(
            sc,
            "hr-xj",
            "ClaimApproved",
            {"claim_id": "CL-1", "lines": [{"laborer_id": "L-1", "amount_fen": 80000}], "total_fen": 80000},
            at("2019-05-20", 15),
            "claim-approval",
        ),
    }
    rejection = {"claim_id": "CL-1", "reason": "材料不全"}
    payment = {
        "payment_id": "P-1",
        "claim_id": "CL-1",
        "fund_id": TRAINING_FUND,
        "amount_fen": 80000,
        "payee_account": PAYEE,
        "bank_reference": "GKZF-P-1",
        "value_date": "2019-06-03",
    }
    steps = [
        ("rejection", "hr-xj", "ClaimRejected", rejection, at("2019-05-22", 14)),
        ("payment", "fin-xj", "PaymentDisbursed", payment, at("2019-06-03")),
    ]
    for name, actor, event_type, body, when in steps if reject_before_pay else steps[::-1]:
        seqs[name] = put(sc, actor, event_type, body, when, f"claim-{name}")
    return seqs


def test_a_claim_approved_then_rejected_then_paid_cites_no_approval_in_either_order(ledger: Ledger) -> None:
    rule = "INSP-UNINSPECTED"
    found = []
    for reject_before_pay in (True, False):
        sc = ledger()
        seqs = claim_story(sc, reject_before_pay)
        found.append(evidence(sc, rule))
        if not reject_before_pay:  # approve → pay → reject: the approval was cited, then dropped
            flag_id = next(iter(found[-1]))
            before = sc.flag(flag_id, as_of=seqs["rejection"] - 1)
            after = sc.flag(flag_id, as_of=seqs["rejection"])
            assert before is not None and after is not None
            assert seqs["approval"] in before["evidence"] and seqs["approval"] not in after["evidence"]
            assert after["evidence"] == sc.one(rule)["evidence"]
    assert found[0] == found[1] and len(found[0]) == 1
    (cited,) = found[0].values()
    assert ("fin-xj", "claim-payment") in cited and ("hr-xj", "claim-approval") not in cited


@pytest.mark.parametrize(
    "late",
    [("claim-rejected",), ("day-2-first-record", "completed")],
    ids=["reject-last", "standing-record-first"],
)
def test_a_shuffled_world_caught_up_event_by_event_equals_its_rebuild(
    db_url: str, tmp_path: Path, late: tuple[str, ...]
) -> None:
    """The corners' world in a migration order, projected one event per catch-up (evidence cited and
    dropped across batches): a rebuild from scratch, and a rebuild of the anomaly tables alone, give the
    very same rows, and the flags the same ids as business order's."""
    order = arrival([len(WORLD) if step.name in late else 0 for step in WORLD])
    sc = RuleScenario.create(db_url, tmp_path)
    try:
        for step in order:
            sc.ok(step.actor, step.type, step.body, at=step.at, nonce=f"world.{step.name}")
            catch_up(sc.ledger)
        engine = engine_for(sc.ledger)
        with engine.connect() as conn:
            caught_up = T.dump(conn)
        rebuild(sc.ledger)
        with engine.connect() as conn:
            assert T.dump(conn) == caught_up
        rebuild_only(sc.ledger, TABLES)
        with engine.connect() as conn:
            assert T.dump(conn) == caught_up
        assert {f["id"] for f in sc.flags()} == set(business_order())
        assert any(not row["cited"] for row in caught_up["pj_anomaly_evidence"])  # something was dropped
    finally:
        sc.close()
