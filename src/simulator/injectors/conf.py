"""Conflicts with what was seen (CONF-*): signed in while an inspector listed them absent (代签到),
a short headcount, two classes at once, signed in after withdrawal, denied on a phone visit,
on the payroll before the order training began (先上岗后培训)."""

from __future__ import annotations

from ledger.domain.holidays import next_working_day
from simulator.calendar import DAY, prev_working_day
from simulator.injectors.hosts import Injector, also_enrol, claimed, classes, movable, pairs, plain, revisit
from simulator.plan import Plan
from simulator.programme import checklist, inspect_class, phone_visit
from simulator.records import TrainingClass


def absent_at_inspection(plan: Plan) -> None:
    """Listed absent by a spot check, yet signed in that day (代签到)."""
    for cls in classes(plan, lambda c: len(c.days) >= 6):
        i = plan.rng.randint(1, len(cls.days) - 3)
        present = [x for x in cls.present(i) if x not in cls.protected]
        if not present:
            continue
        cls.slot = "CONF-INSPECTION-ABSENT"
        lid = plan.rng.choice(present)
        inspect_class(
            plan,
            cls,
            i,
            "spot_check",
            "insp-640400",
            checklist("attendance"),
            [{"laborer_id": lid, "code": "absent_at_inspection", "note": "抽查时本人不在培训现场"}],
            "fail",
            marked=frozenset({lid}),
        )
        revisit(plan, cls, i)
        plan.case(
            "CONF-INSPECTION-ABSENT",
            "class",
            cls.cid,
            lid,
            f"listed absent by the spot check of {cls.days[i]}, yet signed in that day (代签到)",
        )
        plan.knock("CONF-HEADCOUNT", "class", cls.cid, None, "the same spot check counts one fewer present")
        return


def short_headcount(plan: Plan) -> None:
    """A spot check counts 5–8 fewer present than the attendance lists."""
    for cls in classes(plan, lambda c: len(c.days) >= 6 and len(c.roster) >= 20):
        i = plan.rng.randint(1, len(cls.days) - 3)
        present = [x for x in cls.present(i) if x not in cls.protected]
        k = plan.rng.randint(5, 8)
        if len(present) <= k:
            continue
        cls.slot = "CONF-HEADCOUNT"
        missing = frozenset(plan.rng.sample(present, k))
        inspect_class(
            plan,
            cls,
            i,
            "spot_check",
            plan.rng.choice(["insp-640400", f"fin-{cls.county}"]),
            checklist("attendance"),
            [{"code": "headcount_short", "note": f"实到{len(present) - k}人，考勤表登记{len(present)}人"}],
            "fail",
            missing=missing,
        )
        revisit(plan, cls, i)
        plan.case(
            "CONF-HEADCOUNT",
            "class",
            cls.cid,
            None,
            f"spot check on {cls.days[i]} found {len(present) - k} present; attendance lists {len(present)}",
        )
        return


def two_classes_at_once(plan: Plan) -> None:
    """One labourer signed in to two classes on the same days (双重报名)."""
    for a, b in pairs(
        plan,
        lambda a, b: (
            a.county == b.county
            and a.occ.name != b.occ.name
            and a.start < b.start <= a.end
            and b.programme != "two_after_student"
        ),
    ):
        if not set(a.days) & set(b.days):
            continue
        lid = movable(plan, a, [b])
        if lid is None:
            continue
        also_enrol(plan, a, lid, [b])
        overlap = sorted(set(a.days) & set(b.days))
        plan.case(
            "CONF-DOUBLE-PRESENCE",
            "laborer",
            lid,
            lid,
            f"signed in to {a.cid} and {b.cid} on {len(overlap)} same days (双重报名), first {overlap[0]}",
        )
        return


def signed_in_after_withdrawal(plan: Plan) -> None:
    """Withdrawn mid-course, still signed in afterwards and claimed."""
    for cls in classes(plan, lambda c: len(c.days) >= 8 and bool(claimed(plan, c))):
        lid = plan.rng.choice(claimed(plan, cls))
        cls.slot = "CONF-AFTER-WITHDRAWAL"
        cls.withdrawn[lid] = cls.days[plan.rng.randint(3, len(cls.days) - 3)]
        cls.keep_after_withdrawal.add(lid)
        plan.taint(lid)
        plan.case(
            "CONF-AFTER-WITHDRAWAL",
            "class",
            cls.cid,
            lid,
            f"withdrawn on {cls.withdrawn[lid]} (外出务工), still signed in afterwards and claimed",
        )
        return


def denied_on_phone_visit(plan: Plan) -> None:
    """A phone visit after payment: the labourer denies the training or the money."""
    for cls in classes(plan, lambda c: bool(claimed(plan, c)) and not c.no_visits, slot=None):
        claim = cls.training_claim()
        assert claim is not None
        lid = plan.rng.choice(claimed(plan, cls))
        day = next_working_day(claim.payments[0].value + plan.rng.randint(10, 40) * DAY)
        if day > plan.cfg.end:
            continue
        plan.taint(lid)
        code = plan.rng.choice(["attendance_denied", "payment_denied"])
        note = (
            "本人称从未参加该培训"
            if code == "attendance_denied"
            else "本人称未收到任何补贴，培训期间仅到场两天"
        )
        cls.pdas.append((prev_working_day(day - DAY), "insp-640400", lid, "电话询访前调取本人联系方式"))
        phone_visit(plan, cls, day, "insp-640400", lid, code, note, "fail")
        plan.case(
            "CONF-VISIT-DENIAL",
            "laborer",
            lid,
            lid,
            f"phone visit: the labourer denies ({code}) the training paid on {claim.cid}",
        )
        return


def employed_before_training(plan: Plan) -> None:
    """An order-training employee on the payroll months before the class began (先上岗后培训)."""
    for cls in classes(plan, lambda c: c.employer is not None and c.start >= plan.cfg.reg_start + 90 * DAY):
        lid = next(
            (x for x in cls.roster if plain(plan, cls, x) and plan.labs[x].category != "non_poor"), None
        )
        if lid is None:
            continue
        cls.slot = "CONF-EMPLOYED-BEFORE-TRAINING"
        start = next_working_day(cls.start - plan.rng.randint(75, 95) * DAY)
        start = max(start, next_working_day(plan.cfg.reg_start + 10 * DAY))
        cls.request = prev_working_day(start - plan.rng.randint(3, 8) * DAY)
        cls.request = max(cls.request, next_working_day(plan.cfg.reg_start + 3 * DAY))
        cls.approve = next_working_day(cls.request + plan.rng.randint(1, 3) * DAY)
        if cls.approve >= start:
            start = next_working_day(cls.approve + DAY)
        cls.pre_employed[lid] = start
        cls.protected.add(lid)
        lab = plan.labs[lid]
        lab.hh.first_use = min(lab.hh.first_use or start, start)
        plan.taint(lid)

        def resolve(cls: TrainingClass = cls, lid: str = lid) -> None:
            emp = next(e for e in plan.emps if e.lid == lid and e.class_id == cls.cid)
            plan.case(
                "CONF-EMPLOYED-BEFORE-TRAINING",
                "employment",
                emp.eid,
                lid,
                f"order-training employee on the payroll since {emp.start:%Y-%m}, before the class "
                f"began on {cls.start} (先上岗后培训)",
            )

        plan.after_employment.append(resolve)
        return


INJECTORS: dict[str, Injector] = {  # RULES.md's order
    "CONF-INSPECTION-ABSENT": Injector("B", absent_at_inspection),
    "CONF-HEADCOUNT": Injector("B", short_headcount),
    "CONF-DOUBLE-PRESENCE": Injector("A", two_classes_at_once),
    "CONF-AFTER-WITHDRAWAL": Injector("B", signed_in_after_withdrawal),
    "CONF-VISIT-DENIAL": Injector("B", denied_on_phone_visit),
    "CONF-EMPLOYED-BEFORE-TRAINING": Injector("A", employed_before_training),
}
