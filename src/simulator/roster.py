"""Who trains: households registered by their township or poverty office, their members, and the
rosters of classes — new trainees, relatives waiting in a pool, graduates coming back."""

from __future__ import annotations

import datetime as dt

from ledger.domain.dates import age_at
from simulator import people
from simulator.calendar import DAY, office_day
from simulator.plan import Plan
from simulator.records import Household, Laborer, TrainingClass


def person(plan: Plan, hh: Household, age: int, gender: str, category: str, ref: dt.date) -> Laborer:
    """A new member of ``hh``, ``age`` on ``ref``."""
    rng = plan.rng
    birth = people.birth_for(age, ref, rng)
    n = plan.next("L-" + hh.county)
    lab = Laborer(
        lid=f"L-{hh.county}-{n:06d}",
        hh=hh,
        birth=birth,
        gender=gender,
        category=category,
        name=people.name(gender, rng),
        id_number=plan.people.id_number(hh.county, birth, gender, rng),
        phone=plan.people.phone(rng),
        account=plan.people.card(rng),
    )
    hh.members.append(lab)
    plan.labs[lab.lid] = lab
    return lab


def household(plan: Plan, county: str, category: str | None = None) -> Household:
    """A new household of a village of ``county``: 2 % non-poor, 18 % eco-migrants, else poor."""
    rng = plan.rng
    town, villages, actor = rng.choice(plan.townships[county])
    registrar = actor if actor is not None and rng.random() < 0.7 else f"pov-{county}"
    if category is None:
        r = rng.random()
        category = "non_poor" if r < 0.02 else "eco_migrant" if r < 0.20 else "poor"
    n = plan.next("H-" + county)
    hh = Household(
        hid=f"H-{county}-{n:06d}",
        county=county,
        township=town,
        village=rng.choice(villages),
        registrar=registrar,
        category=category,
    )
    plan.households.append(hh)
    return hh


def new_trainee(plan: Plan, cls: TrainingClass, gender: str, age: int | None = None,
                category: str | None = None) -> Laborer:  # fmt: skip
    """A new household whose member ``gender`` trains in ``cls``; relatives go to the pool."""
    rng = plan.rng
    occ = cls.occ
    teen = occ.programme == "two_after_student"
    hh = household(plan, cls.county, "poor" if teen and category is None else category)
    if age is None:
        age = int(rng.triangular(occ.min_age, occ.max_age + 0.999, occ.mode_age))
    cat = "two_after_student" if teen else hh.category
    trainee = person(plan, hh, age, gender, cat, cls.start)
    other = "female" if gender == "male" else "male"
    if teen:
        _pool(
            plan,
            person(plan, hh, rng.randint(38, 55), rng.choice(["male", "female"]), hh.category, cls.start),
        )
    else:
        if rng.random() < 0.45 and 22 <= age <= 58:
            _pool(
                plan,
                person(plan, hh, max(20, min(58, age + rng.randint(-5, 5))), other, hh.category, cls.start),
            )
        if rng.random() < 0.2 and age >= 38:
            kid_age = rng.randint(16, 24)
            kid_cat = (
                "two_after_student"
                if kid_age <= 20 and rng.random() < 0.6 and hh.category != "non_poor"
                else hh.category
            )
            _pool(plan, person(plan, hh, kid_age, rng.choice(["male", "female"]), kid_cat, cls.start))
    return trainee


def _pool(plan: Plan, lab: Laborer) -> None:
    plan.pending[(lab.hh.county, lab.gender)].append(lab)


def eligible(lab: Laborer, cls: TrainingClass) -> bool:
    """Whether ``lab`` may join ``cls``: the occupation's ages, never trained in it, untouched."""
    occ = cls.occ
    age = age_at(lab.birth, cls.start)
    if not occ.min_age <= age <= occ.max_age or lab.tainted or lab.rejected:
        return False
    if occ.programme == "two_after_student" and lab.category != "two_after_student":
        return False
    return occ.name not in lab.occupations and lab.lid not in cls.enrol


def _from_pool(plan: Plan, cls: TrainingClass, gender: str) -> Laborer | None:
    pool = plan.pending[(cls.county, gender)]
    for i in range(min(8, len(pool))):
        lab = pool[i]
        if eligible(lab, cls):
            pool.pop(i)
            return lab
    return None


def _graduate(plan: Plan, cls: TrainingClass, gender: str) -> Laborer | None:
    pool = plan.graduates[cls.county]
    rng = plan.rng
    for _ in range(min(12, len(pool))):
        i = rng.randrange(len(pool))
        lab = pool[i]
        if len(lab.classes) >= 2 or lab.tainted:
            pool[i] = pool[-1]
            pool.pop()
            if not pool:
                return None
            continue
        if (
            lab.gender == gender
            and lab.last_day is not None
            and lab.last_day + 14 * DAY < cls.start
            and eligible(lab, cls)
        ):
            pool[i] = pool[-1]
            pool.pop()
            return lab
    return None


def enrol(plan: Plan, cls: TrainingClass, lab: Laborer, when: dt.date | None = None) -> None:
    """Enrol ``lab`` in ``cls`` on ``when`` (default: an office day between approval and start)."""
    rng = plan.rng
    if when is None:
        lo = cls.approve + DAY
        hi = cls.start - DAY
        when = office_day(lo + rng.randint(0, max(0, (hi - lo).days)) * DAY, lo, hi)
    cls.roster.append(lab.lid)
    cls.enrol[lab.lid] = when
    lab.classes.append(cls.cid)
    lab.occupations.add(cls.occ.name)
    lab.last_day = cls.end if lab.last_day is None else max(lab.last_day, cls.end)
    hh = lab.hh
    hh.first_use = when if hh.first_use is None else min(hh.first_use, when)


def fill_roster(plan: Plan, cls: TrainingClass) -> None:
    """Fill the planned size of ``cls``: graduates (12 % city, 5 % else), the pool, new households."""
    rng = plan.rng
    size = len(cls.roster)
    cls.roster = []
    reuse = 0.12 if plan.cfg.name == "city" else 0.05
    for _ in range(size):
        gender = "female" if rng.random() < cls.occ.female else "male"
        lab = None
        if rng.random() < reuse and cls.occ.programme != "two_after_student":
            lab = _graduate(plan, cls, gender)
        if lab is None:
            lab = _from_pool(plan, cls, gender)
        if lab is None:
            lab = new_trainee(plan, cls, gender)
        enrol(plan, cls, lab)
    plan.graduates[cls.county].extend(plan.labs[lid] for lid in cls.roster)
