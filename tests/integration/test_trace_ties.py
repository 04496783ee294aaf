"""A trace's standard in force breaks a tie of equal standards as the rules do: by DESIGN §3's
(at, actor, nonce), never by seq (issue 16; tests/unit/rules/test_ties.py for the rules). On SQLite
and PostgreSQL: the trace reads the projections' tables and the standards' own envelopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.db import engine_for
from projections.runner.catchup import catch_up
from projections.trace.check import Leaves
from projections.trace.gather import gather
from support.rules_builder import STANDARDS, RuleScenario, at


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[RuleScenario]:
    scenario = RuleScenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


@pytest.mark.parametrize("later_signed_first", [True, False])
def test_a_claims_trace_holds_the_later_signed_of_two_equal_standards_in_either_order(
    sc: RuleScenario, later_signed_first: bool
) -> None:
    """Two training-completion standards from one date signed at 10:00 and 11:00: the 11:00 one is in
    force (STD-OVER-STANDARD judges by it), whichever was recorded last."""
    sid, kind, _, ctype, _, _, per = STANDARDS[0]

    def standard(standard_id: str, amount: int, hour: int) -> int:
        return sc.ok("admin", "SubsidyStandardSet", {
            "standard_id": standard_id, "kind": kind, "certificate_type": ctype, "amount_fen": amount, "per": per,
            "effective_from": "2018-01-01"}, at=at("2018-12-18", hour))  # fmt: skip

    if later_signed_first:
        later = standard(f"{sid}-B", 60000, 11)
        earlier = standard(f"{sid}-A", 80000, 10)
    else:
        earlier = standard(f"{sid}-A", 80000, 10)
        later = standard(f"{sid}-B", 60000, 11)
    sc.person("L-1")
    sc.open_class("C-1")
    sc.attend("C-1", "2019-04-08", ["L-1"])
    sc.complete("C-1", "2019-05-02", ["L-1"])
    sc.certify("TC-1", "L-1", "C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 70000, "TC-1")])
    assert "600" in sc.one("STD-OVER-STANDARD")["message"]  # the rules: the 11:00 standard, 600 yuan
    catch_up(sc.ledger)
    leaves = Leaves(sc.ledger)
    with engine_for(sc.ledger).connect() as conn:
        relations = gather(conn, leaves.bodies, "claim", "CL-1", sc.ledger.size(), leaves.envelopes).relations
    assert later in relations and earlier not in relations
