"""The rules' state (``pj_rule_state``) keeps the JSON it always had: records are arrays in a fixed
field order, read through the NamedTuples of :mod:`projections.anomalies.state` — never by position.

In memory (``RuleScenario.in_memory``): one class from enrolment to payment, then the stored values
compared with the layout written before the state was typed (issue 19: stored JSON unchanged).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.encoding.canonical import canonical_str
from projections.anomalies import tables as A
from projections.anomalies.state import (
    Approval,
    Citation,
    ClaimLine,
    ClassDay,
    Enrolment,
    InspectionRef,
    Registration,
    Signed,
    Withdrawal,
)
from projections.uow import MemoryTables
from support.rules_builder import RuleScenario


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], dict[str, int]]:
    sc = RuleScenario.in_memory(Path(tmp_path_factory.mktemp("state")))
    sc.standards()
    sc.fund_of()
    seqs = {"registered": sc.person("L-1")}
    sc.person("L-2")
    sc.open_class("C-1")
    seqs["enrolled"] = sc.enrol("C-1", "L-1")
    seqs["enrolled-2"] = sc.enrol("C-1", "L-2")
    seqs["attended"] = sc.attend("C-1", "2019-04-08", ["L-1", "L-2"], theory=3, practical=5)
    seqs["inspected"] = sc.inspect("I-1", "C-1", "2019-04-08", present=["L-1", "L-2"])
    seqs["withdrawn"] = sc.withdraw("C-1", "L-2", on="2019-04-09")
    sc.certify("TC-1", "L-1", "C-1")
    sc.claim_of("CL-1", "C-1", [("L-1", 80000, "TC-1")])
    seqs["approved"] = sc.approve("CL-1", [("L-1", 80000)])
    sc.pay("P-1", "CL-1", 80000)
    tables = sc.projected()
    assert isinstance(tables, MemoryTables)
    values = {row["key"]: row["value"] for row in tables.rows(A.state)}
    return values, seqs


def test_every_record_is_stored_as_the_array_it_always_was(state: tuple[dict[str, object], dict[str, int]]) -> None:
    values, s = state
    day = values["cday/C-1|2019-04-08"]  # the record's envelope last: DESIGN §3's tie-break (issue 16)
    assert isinstance(day, list) and canonical_str(day[:5]) == f'[{s["attended"]},["L-1","L-2"],6,10,8]'
    assert day[5:7] == ["2019-04-08T18:00:00+08:00", "inst-xj"] and str(day[7]).startswith("test-")
    klass = values["class/C-1"]
    assert isinstance(klass, dict)
    insp = klass["insp"]["I-1"]
    assert list(klass["insp"]) == ["I-1"] and canonical_str(insp[:5]) == f'[{s["inspected"]},"insp","spot_check","2019-04-08","pass"]'
    assert insp[5] == "2019-04-08T11:00:00+08:00" and str(insp[6]).startswith("test-") and len(insp) == 7
    assert list(klass["out"]) == ["L-2"] and klass["out"]["L-2"][:2] == ["2019-04-09", s["withdrawn"]]
    assert len(klass["out"]["L-2"]) == 5 and str(klass["out"]["L-2"][4]).startswith("test-")
    assert klass["roster"] == {"L-1": s["enrolled"]}
    assert klass["tp"] == [6, 10]
    claim = values["claim/CL-1"]
    assert isinstance(claim, dict)
    assert claim["lines"] == [["L-1", 80000, "TC-1", None]]
    assert claim["approvals"] == [["2019-05-20", s["approved"]]]
    assert values["certificate/TC-1"] == {"cites": [["CL-1", "training", "L-1"]]}
    laborer = values["laborer/L-1"]
    assert isinstance(laborer, dict)
    assert laborer["classes"] == {"C-1": [s["enrolled"], "inst-xj", 2019]}
    fingerprint = values[f"fp/{1:064x}"]  # the registration's envelope last: DESIGN §3's tie-break (issue 16)
    assert isinstance(fingerprint, list) and len(fingerprint) == 1
    assert fingerprint[0][:3] == ["L-1", "2019-03-01", s["registered"]] and fingerprint[0][4] == "pov-xj"
    assert len(fingerprint[0]) == 6 and str(fingerprint[0][5]).startswith("test-")
    assert claim["signed"][1] == "inst-xj" and str(claim["signed"][2]).startswith("test-")


def test_the_named_records_read_the_stored_arrays_field_by_field(
    state: tuple[dict[str, object], dict[str, int]],
) -> None:
    values, s = state
    klass, claim, laborer = values["class/C-1"], values["claim/CL-1"], values["laborer/L-1"]
    assert isinstance(klass, dict) and isinstance(claim, dict) and isinstance(laborer, dict)
    stored_day = values["cday/C-1|2019-04-08"]
    assert isinstance(stored_day, list)
    day = ClassDay._make(stored_day)
    assert (day.seq, day.laborers, day.theory, day.practical, day.hours) == (s["attended"], ["L-1", "L-2"], 6, 10, 8)
    check = InspectionRef._make(["I-1", *klass["insp"]["I-1"]])
    assert (check.seq, check.actor, check.method, check.date, check.verdict) == (
        s["inspected"], "insp", "spot_check", "2019-04-08", "pass")  # fmt: skip
    out = Withdrawal._make(klass["out"]["L-2"])
    assert (out.date, out.seq, out.actor, out.nonce) == ("2019-04-09", s["withdrawn"], *klass["out"]["L-2"][3:])
    assert ClaimLine._make(claim["lines"][0]) == ClaimLine("L-1", 80000, certificate_no="TC-1", employment_id=None)
    assert Approval._make(claim["approvals"][0]) == Approval(date="2019-05-20", seq=s["approved"])
    cites = values["certificate/TC-1"]
    assert isinstance(cites, dict)
    assert Citation._make(cites["cites"][0]) == Citation(claim_id="CL-1", kind="training", laborer_id="L-1")
    assert Enrolment._make(laborer["classes"]["C-1"]) == Enrolment(seq=s["enrolled"], institution="inst-xj", year=2019)
    fingerprints = values[f"fp/{1:064x}"]
    assert isinstance(fingerprints, list)
    registered = Registration._make(fingerprints[0])
    assert (registered.laborer_id, registered.date, registered.seq) == ("L-1", "2019-03-01", s["registered"])
    assert Signed._make(claim["signed"]).actor == "inst-xj"
