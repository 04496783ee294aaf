"""Ties of one business date broken by DESIGN §3's (at, actor, nonce), never by seq (issue 16).

Each story records two events of one business date in both arrival orders, in two ledgers, and the
verdict — the current flags: rule, subject, labourer, status, message, evidence named by what each
leaf is — must be the same, and the one the later-signed event gives. In memory
(``RuleScenario.in_memory``): real keys and signatures, the ledger's own decider, no database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from support.rules_builder import LA_FUND, STANDARDS, RuleScenario, at
from support.scenario import XIJI
from unit.rules.test_per_read import SHARED, shared_account

Labels = dict[int, str]  # seq → what the leaf is, the same in both orders
Story = Callable[[RuleScenario, bool], Labels]
Verdict = list[tuple[str, str, str | None, str, str, list[str]]]


def verdict(sc: RuleScenario, rule: str, labels: Labels) -> Verdict:
    """The rule's current flags, their evidence named by ``labels`` (a leaf not labelled: by its type)."""
    return sorted((f["rule"], f["subject"]["id"], f["laborer_id"], f["status"], f["message"],
                   sorted(labels.get(seq, "other") for seq in f["evidence"]))
                  for f in sc.flags(rule=rule))  # fmt: skip


def both_orders(tmp_path: Path, rule: str, story: Story) -> Verdict:
    """The story's verdict in both arrival orders of its tied pair; they must agree."""
    found = []
    for swap in (False, True):
        sc = RuleScenario.in_memory(tmp_path / str(swap))
        found.append(verdict(sc, rule, story(sc, swap)))
    assert found[0] == found[1]
    return found[0]


def pair(swap: bool, first: Callable[[], int], second: Callable[[], int]) -> tuple[int, int]:
    """Record ``first`` then ``second``, or the other way round; their seqs in the order given."""
    if swap:
        b = second()
        return first(), b
    a = first()
    return a, second()


def registered(sc: RuleScenario, laborer_id: str, hour: int) -> int:
    n = int(laborer_id[2:])
    return sc.ok("pov-xj", "LaborerRegistered", {
        "laborer_id": laborer_id, "household_id": f"H-{n:05d}", "jurisdiction": XIJI, "township": "吉强镇",
        "village": "龙王坝村", "birth_date": "1985-06-01", "gender": "female", "category": "poor",
        "id_fingerprint": "ee" * 32, "pii_commitment": f"{n + 7:064x}"}, at=at("2019-03-01", hour))  # fmt: skip


def test_dup_laborer_the_later_registration_of_one_day_by_its_signature(tmp_path: Path) -> None:
    def story(sc: RuleScenario, swap: bool) -> Labels:
        early, late = pair(swap, lambda: registered(sc, "L-1", 9), lambda: registered(sc, "L-2", 15))
        return {early: "L-1 09:00", late: "L-2 15:00"}

    found = both_orders(tmp_path, "DUP-LABORER", story)
    assert [(subject, evidence) for _, subject, _, _, _, evidence in found] == [("L-2", ["L-1 09:00", "L-2 15:00"])]


@pytest.mark.parametrize(("hour", "flagged"), [(9, True), (7, False)])
def test_after_withdrawal_a_claim_of_the_withdrawal_day_by_its_signature(tmp_path: Path, hour: int,
                                                                          flagged: bool) -> None:  # fmt: skip
    """The withdrawal is signed at 08:00: a claim of that day signed at 09:00 is after it, at 07:00 before."""

    def story(sc: RuleScenario, swap: bool) -> Labels:
        sc.person("L-1")
        sc.open_class("C-1")
        sc.enrol("C-1", "L-1")
        out, claim = pair(swap, lambda: sc.withdraw("C-1", "L-1", on="2019-04-20"),
                          lambda: sc.claim_of("CL-1", "C-1", [("L-1", 80000)], on="2019-04-20", hour=hour))  # fmt: skip
        return {out: "withdrawal", claim: "claim"}

    found = both_orders(tmp_path, "CONF-AFTER-WITHDRAWAL", story)
    assert [evidence for *_, evidence in found] == ([["claim", "withdrawal"]] if flagged else [])


def test_dup_claim_line_the_later_claim_of_one_day_by_its_signature(tmp_path: Path) -> None:
    def story(sc: RuleScenario, swap: bool) -> Labels:
        sc.person("L-1")
        sc.open_class("C-1")
        a, b = pair(swap, lambda: sc.claim_of("CL-A", "C-1", [("L-1", 80000)], hour=9),
                    lambda: sc.claim_of("CL-B", "C-1", [("L-1", 80000)], hour=15))  # fmt: skip
        return {a: "CL-A 09:00", b: "CL-B 15:00"}

    found = both_orders(tmp_path, "DUP-CLAIM-LINE", story)
    assert [(subject, evidence) for _, subject, _, _, _, evidence in found] == [("CL-B", ["CL-A 09:00", "CL-B 15:00"])]
    assert "CL-A" in found[0][4]  # "already claimed by" the earlier-signed claim


def test_shared_account_payments_of_one_value_date_in_either_order(tmp_path: Path) -> None:
    def story(sc: RuleScenario, swap: bool) -> Labels:
        shared_account(("H-A", "H-B", "H-C"), paid=False)(sc)
        labels = {sc.pay("P-1", "LA-1", 60000, fund=LA_FUND, payee=SHARED): "P-1"}
        two, three = pair(swap, lambda: sc.pay("P-2", "LA-2", 60000, fund=LA_FUND, payee=SHARED),
                          lambda: sc.pay("P-3", "LA-3", 60000, fund=LA_FUND, payee=SHARED))  # fmt: skip
        return {**labels, two: "P-2", three: "P-3"}

    found = both_orders(tmp_path, "NET-SHARED-ACCOUNT", story)
    assert [evidence for *_, evidence in found] == [["P-1", "P-2", "P-3"]]


@pytest.mark.parametrize("clean_last", [True, False])
def test_recon_exception_the_latest_of_two_reconciliations_signed_at_one_instant_by_nonce(
    tmp_path: Path, clean_last: bool
) -> None:
    """Two reconciliations of one month signed at the same instant: the greater nonce is the latest."""
    listing, clean = ("tie-nonce-a", "tie-nonce-b") if clean_last else ("tie-nonce-b", "tie-nonce-a")

    def story(sc: RuleScenario, swap: bool) -> Labels:
        sc.person("L-1")
        sc.open_class("C-1")
        sc.fund_of()
        paid = sc.paid_claim("CL-1", "C-1", [("L-1", 80000)], payment_id="P-1")
        listed, cleared = pair(
            swap,
            lambda: sc.reconciled("2019-06", [("unmatched_ledger", "P-1", 80000, "2019-06-03")], on="2019-07-05",
                                  nonce=listing, reconciliation_id="R-2019-06-listing"),
            lambda: sc.reconciled("2019-06", [], on="2019-07-05", matched=1, nonce=clean,
                                  reconciliation_id="R-2019-06-clean"),
        )  # fmt: skip
        return {paid: "payment", listed: "listing", cleared: "clean"}

    found = both_orders(tmp_path, "FIN-RECON-EXCEPTION", story)
    assert [evidence for *_, evidence in found] == ([] if clean_last else [["listing", "payment"]])


def test_daily_hours_a_class_day_recorded_twice_the_later_signed_record_replaces(tmp_path: Path) -> None:
    """The record signed later (20:00, 4 hours) is the day's, whichever arrives last."""

    def story(sc: RuleScenario, swap: bool) -> Labels:
        sc.person("L-1")
        sc.open_class("C-1")
        first, again = pair(
            swap,
            lambda: sc.attend("C-1", "2019-04-09", ["L-1"], theory=2, practical=6, signed="2019-04-09"),
            lambda: sc.ok("inst-xj", "AttendanceRecorded", {"class_id": "C-1", "date": "2019-04-09", "trainees": [
                {"laborer_id": "L-1", "theory_hours": 1, "practical_hours": 3}]}, at=at("2019-04-09", 20)),
        )  # fmt: skip
        return {first: "18:00 record", again: "20:00 record"}

    found = both_orders(tmp_path, "STD-DAILY-HOURS", story)
    assert [evidence for *_, evidence in found] == [["20:00 record"]]


def test_over_standard_the_latest_of_two_equal_standards_by_its_signature(tmp_path: Path) -> None:
    """Two training-completion standards from one date, signed at 10:00 (800) and 11:00 (600): the latter."""
    sid, kind, programme, ctype, occupation, _, per = STANDARDS[0]

    def standard(sc: RuleScenario, standard_id: str, amount: int, hour: int) -> int:
        return sc.ok("admin", "SubsidyStandardSet", {
            "standard_id": standard_id, "kind": kind, "certificate_type": ctype, "amount_fen": amount, "per": per,
            "effective_from": "2018-01-01"}, at=at("2018-12-18", hour))  # fmt: skip

    def story(sc: RuleScenario, swap: bool) -> Labels:
        sc.person("L-1")
        sc.open_class("C-1")
        sc.attend("C-1", "2019-04-08", ["L-1"])
        sc.complete("C-1", "2019-05-02", ["L-1"])
        sc.certify("TC-1", "L-1", "C-1")
        claim = sc.claim_of("CL-1", "C-1", [("L-1", 70000, "TC-1")])
        a, b = pair(swap, lambda: standard(sc, f"{sid}-A", 80000, 10), lambda: standard(sc, f"{sid}-B", 60000, 11))
        return {claim: "claim", a: "800", b: "600"}

    assert programme is None and occupation is None
    found = both_orders(tmp_path, "STD-OVER-STANDARD", story)
    assert [(subject, laborer) for _, subject, laborer, *_ in found] == [("CL-1", "L-1")] and "600" in found[0][4]
