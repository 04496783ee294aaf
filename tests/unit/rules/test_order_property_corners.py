"""The order property on a small world built to hold the corners where evidence once depended on
arrival order (issue 16, RULES.md: "the flags that are not withdrawn, and their evidence (as
envelopes), are the same for any order the ledger accepts").

The misuse simulation of ``tests/integration/test_rule_order_property.py`` never records a class-day
twice nor pays a claim already rejected, so that property could not catch these. Here the world holds:

* a class-day recorded twice, the superseded record and the one signed later both supporting
  STD-DURATION (a class of two days) and STD-PRACTICAL-SHARE;
* a claim approved, then rejected, then paid (INSP-UNINSPECTED and SOD-REVIEWER-ONLY-CHECK cite the
  claim's money: the approval only while it stands);
* a labourer who denies on a phone visit being paid (CONF-VISIT-DENIAL, citing the same money).

Hypothesis draws an arrival order the ledger accepts — each event after those it refers to — as one
priority per event (ties and zeros keep business order, so a failing order shrinks towards business
order); after the whole log the current flags must equal business order's: id, rule, subject,
labourer, status, and evidence as envelope identities (actor + nonce). In memory, real signatures.
CI runs a bounded number of orders (``ORDER_PROPERTY_EXAMPLES`` raises it).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from support.rules_builder import PAYEE, TRAINING_FUND, RuleScenario, at
from support.scenario import XIJI

EXAMPLES = int(os.environ.get("ORDER_PROPERTY_EXAMPLES", "50"))

Identity = tuple[str, str]  # (actor, nonce)
FlagView = tuple[str, str, str, str, str | None, str, frozenset[Identity]]


@dataclass(frozen=True)
class Step:
    name: str  # its nonce is "world.<name>": the same envelope in every order
    actor: str
    type: str
    body: dict[str, Any]
    at: str
    needs: tuple[str, ...] = field(default=())  # the steps it refers to (the ledger refuses it before them)


def _trainees(theory: int, practical: int) -> list[dict[str, Any]]:
    return [{"laborer_id": "L-1", "theory_hours": theory, "practical_hours": practical}]


def _day(name: str, date: str, signed: str, theory: int) -> Step:
    return Step(name, "inst-xj", "AttendanceRecorded", {"class_id": "C-1", "date": date,
                                                         "trainees": _trainees(theory, 8 - theory)},
                at(signed, 18), ("class-requested", "enrolled"))  # fmt: skip


WORLD: list[Step] = [  # in business order
    Step(
        "registered-L-1",
        "pov-xj",
        "LaborerRegistered",
        {
            "laborer_id": "L-1",
            "household_id": "H-00001",
            "jurisdiction": XIJI,
            "township": "吉强镇",
            "village": "龙王坝村",
            "birth_date": "1985-06-01",
            "gender": "female",
            "category": "poor",
            "id_fingerprint": "01" * 32,
            "pii_commitment": "08" * 32,
        },
        at("2019-03-01"),
    ),  # fmt: skip
    Step(
        "confirmed-L-1",
        "pov-xj",
        "IdentityConfirmed",
        {"laborer_id": "L-1", "basis": "系统比对一致"},
        at("2019-03-02"),
        ("registered-L-1",),
    ),
    Step(
        "fund-allocated",
        "fin-xj",
        "FundAllocated",
        {
            "fund_id": TRAINING_FUND,
            "jurisdiction": XIJI,
            "source": "central",
            "purpose": "training",
            "year": 2019,
            "amount_fen": 50_000_000,
        },
        at("2019-01-03"),
    ),  # fmt: skip
    Step(
        "class-requested",
        "inst-xj",
        "ClassOpeningRequested",
        {
            "class_id": "C-1",
            "programme": "employment_skill",
            "occupation": "家政服务",
            "in_catalog": False,
            "jurisdiction": XIJI,
            "site": "西吉县职业技术学校实训楼",
            "planned_start": "2019-04-08",
            "planned_end": "2019-05-02",
            "capacity": 40,
            "hours_per_day": 8,
            "practical_percent": 75,
            "subsidy_per_trainee_fen": 80000,
        },
        at("2019-03-18"),
    ),  # fmt: skip
    Step(
        "class-approved",
        "hr-xj",
        "ClassOpeningApproved",
        {"class_id": "C-1"},
        at("2019-04-01"),
        ("class-requested",),
    ),
    Step(
        "enrolled",
        "inst-xj",
        "TraineeEnrolled",
        {"class_id": "C-1", "laborer_id": "L-1"},
        at("2019-04-03"),
        ("class-requested", "registered-L-1"),
    ),
    _day("day-1", "2019-04-08", "2019-04-08", 6),
    _day("day-2-first-record", "2019-04-09", "2019-04-09", 6),  # superseded by the record signed later
    Step(
        "completed",
        "inst-xj",
        "ClassCompleted",
        {"class_id": "C-1", "end_date": "2019-04-09", "completers": ["L-1"]},
        at("2019-04-09", 19),
        ("class-requested", "registered-L-1"),
    ),  # fmt: skip
    _day("day-2-recorded-again", "2019-04-09", "2019-04-10", 5),
    Step(
        "claimed",
        "inst-xj",
        "SubsidyClaimed",
        {
            "claim_id": "CL-1",
            "kind": "training",
            "class_id": "C-1",
            "lines": [{"laborer_id": "L-1", "amount_fen": 80000}],
            "payee_account": PAYEE,
            "total_fen": 80000,
        },
        at("2019-05-13", 9),
        ("class-requested", "registered-L-1"),
    ),  # fmt: skip
    Step(
        "claim-approved",
        "hr-xj",
        "ClaimApproved",
        {"claim_id": "CL-1", "lines": [{"laborer_id": "L-1", "amount_fen": 80000}], "total_fen": 80000},
        at("2019-05-20", 15),
        ("claimed",),
    ),  # fmt: skip
    Step(
        "claim-rejected",
        "hr-xj",
        "ClaimRejected",
        {"claim_id": "CL-1", "reason": "材料不全"},
        at("2019-05-22", 14),
        ("claimed",),
    ),
    Step(
        "paid",
        "fin-xj",
        "PaymentDisbursed",
        {
            "payment_id": "P-1",
            "claim_id": "CL-1",
            "fund_id": TRAINING_FUND,
            "amount_fen": 80000,
            "payee_account": PAYEE,
            "bank_reference": "GKZF-P-1",
            "value_date": "2019-06-03",
        },
        at("2019-06-03"),
        ("claimed", "fund-allocated"),
    ),  # fmt: skip
    Step(
        "phone-visit",
        "pov-xj",
        "InspectionRecorded",
        {
            "inspection_id": "I-1",
            "method": "phone_visit",
            "subject_kind": "laborer",
            "subject_id": "L-1",
            "date": "2019-06-10",
            "class_id": "C-1",
            "present": [],
            "absent": [],
            "checklist": None,
            "findings": [{"laborer_id": "L-1", "code": "payment_denied", "note": "本人称未收到补贴"}],
            "verdict": "fail",
        },
        at("2019-06-10", 11),
        ("class-requested", "registered-L-1"),
    ),  # fmt: skip
]
BY_NAME = {step.name: step for step in WORLD}


def arrival(priorities: list[int]) -> list[Step]:
    """An order the ledger accepts: each step after those it needs, otherwise by priority, then
    business order."""
    placed: set[str] = set()
    left = list(range(len(WORLD)))
    out: list[Step] = []
    while left:
        ready = [i for i in left if set(WORLD[i].needs) <= placed]
        i = min(ready, key=lambda j: (priorities[j], j))
        left.remove(i)
        placed.add(WORLD[i].name)
        out.append(WORLD[i])
    return out


def final_flags(order: list[Step]) -> dict[str, FlagView]:
    with tempfile.TemporaryDirectory(prefix="corners-") as folder:
        sc = RuleScenario.in_memory(Path(folder))
        for step in order:
            sc.ok(step.actor, step.type, step.body, at=step.at, nonce=f"world.{step.name}")
        named: dict[int, Identity] = {}
        for seq, _, leaf in sc.ledger.leaves():
            envelope = json.loads(leaf)["envelope"]
            named[seq] = (envelope["actor"], envelope["nonce"].removeprefix("world."))
        return {f["id"]: (f["id"], f["rule"], f["subject"]["kind"], f["subject"]["id"], f["laborer_id"], f["status"],
                          frozenset(named[seq] for seq in f["evidence"])) for f in sc.flags()}  # fmt: skip


@cache
def business_order() -> dict[str, FlagView]:
    return final_flags(WORLD)


def test_the_world_raises_the_rules_whose_evidence_an_override_changes() -> None:
    rules = {view[1] for view in business_order().values()}
    assert {"STD-DURATION", "STD-PRACTICAL-SHARE", "INSP-UNINSPECTED", "CONF-VISIT-DENIAL"} <= rules
    by_rule = {view[1]: view[6] for view in business_order().values()}
    for rule in ("STD-DURATION", "STD-PRACTICAL-SHARE"):  # the record standing, not the one it superseded
        assert ("inst-xj", "day-2-recorded-again") in by_rule[rule] and (
            "inst-xj",
            "day-2-first-record",
        ) not in by_rule[rule]
    for rule in (
        "INSP-UNINSPECTED",
        "CONF-VISIT-DENIAL",
    ):  # the money, not an approval the rejection overrode
        assert ("fin-xj", "paid") in by_rule[rule] and ("hr-xj", "claim-approved") not in by_rule[rule]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    priorities=st.lists(
        st.integers(min_value=0, max_value=len(WORLD)), min_size=len(WORLD), max_size=len(WORLD)
    )
)
@example(priorities=[0] * len(WORLD))  # business order itself: the superseded record arrives first
@example(
    priorities=[len(WORLD) if s.name == "claim-rejected" else 0 for s in WORLD]
)  # approve → pay → reject
@example(
    priorities=[len(WORLD) if s.name in ("day-2-first-record", "completed") else 0 for s in WORLD]
)  # standing record first
def test_final_flags_and_their_evidence_are_the_same_in_every_accepted_order(priorities: list[int]) -> None:
    order = arrival(priorities)
    got, expected = final_flags(order), business_order()
    differ = sorted(fid for fid in expected.keys() | got.keys() if expected.get(fid) != got.get(fid))
    assert not differ, f"arrival {[s.name for s in order]}: " + "; ".join(
        f"{(expected.get(f) or got[f])[1]} business {sorted(expected[f][6]) if f in expected else None}"
        f" vs {sorted(got[f][6]) if f in got else None}"
        for f in differ
    )
