"""Issue 12, fault 1: one signed event dated in year 9999 once stopped every projection for good.

A month loop compared ``"10000-01" <= "9999-12"`` as strings and never ended. The ledger now
refuses dates after 2099-12-31 (EVENTS.md ``date_out_of_range``), but a log written before that
refusal existed may hold such an event for ever: the projections must get through it. These tests
put the far-future events in the log the way an older ledger accepted them (the refusal turned
off), then catch the projections up under an alarm — a hang fails the test instead of the run.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from projections.db import engine_for
from projections.readmodels.balances import balances
from projections.runner.catchup import catch_up, rebuild
from support.rules_builder import RuleScenario, at

HANG_GUARD_S = 120  # far beyond any run of these few events: only a loop that never ends reaches it


@pytest.fixture
def sc(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RuleScenario]:
    from ledger.domain import schema

    # A ledger from before the refusal: every date up to 9999-12-31 was accepted.
    monkeypatch.setattr(schema, "MAX_DATE", "9999-12-31")
    scenario = RuleScenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


@pytest.fixture
def no_hang() -> Iterator[None]:
    def hung(signum: int, frame: Any) -> None:
        raise AssertionError(f"the projections did not finish within {HANG_GUARD_S} s: a loop is driven by a date")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _approved_unpaid_claim(sc: RuleScenario) -> None:
    sc.person("L-1")
    sc.open_class("C-1")
    sc.enrol("C-1", "L-1")
    sc.attend("C-1", "2019-04-08", ["L-1"])
    sc.claim_of("CL-1", "C-1", [("L-1", 80000)])
    sc.approve("CL-1", [("L-1", 80000)], on="2019-05-20")


def test_attendance_dated_9999_in_log_does_not_stop_projections(sc: RuleScenario, no_hang: None) -> None:
    _approved_unpaid_claim(sc)
    far = sc.ok("inst-xj", "AttendanceRecorded", {"class_id": "C-1", "date": "9999-12-01", "trainees": [
        {"laborer_id": "L-1", "theory_hours": 2, "practical_hours": 6}]}, at=at("2019-05-21"))  # fmt: skip
    flag = sc.one("TIME-STALE-CLAIM")  # the log clock jumped to 9999: the claim is overdue
    assert flag["subject"]["id"] == "CL-1" and flag["raised_seq"] == far
    assert balances(engine_for(sc.ledger))["trial_balance"]["total_fen"] == 0


def test_payment_value_date_9999_in_log_does_not_stop_projections(sc: RuleScenario, no_hang: None) -> None:
    _approved_unpaid_claim(sc)
    sc.fund_of()
    seq = sc.ok("fin-xj", "PaymentDisbursed", {
        "payment_id": "P-1", "claim_id": "CL-1", "fund_id": "F-2019-640422-training", "amount_fen": 80000,
        "payee_account": "ab" * 32, "bank_reference": "GKZF-P-1", "value_date": "9999-12-31"},
        at=at("2019-06-03"))  # fmt: skip
    flags = {f["rule"] for f in sc.flags()}
    assert "TIME-STALE-CLAIM" not in flags  # paid, however oddly dated
    catch_up(sc.ledger)
    report = balances(engine_for(sc.ledger))
    assert report["trial_balance"]["total_fen"] == 0 and seq is not None


def test_payroll_of_month_9999_12_in_log_does_not_stop_projections(sc: RuleScenario, no_hang: None) -> None:
    sc.person("L-1")
    sc.ok("emp-xj", "EmploymentStarted", {"employment_id": "E-1", "laborer_id": "L-1", "position": "保洁员",
                                          "start_date": "2019-06-01"}, at=at("2019-06-01"))  # fmt: skip
    sc.ok("emp-xj", "PayrollRecorded", {"employment_id": "E-1", "month": "9999-12", "wage_fen": 300000},
          at=at("2019-07-01"))  # fmt: skip
    sc.flags()
    rebuild(sc.ledger)  # from seq 0 as well as incrementally
    assert sc.flags() == sc.flags()
