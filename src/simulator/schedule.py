"""When and where classes run: their teaching days and hours, the institution, the site, the
opening request and approval — drawn from the month weights (city) or planned waves (tiny, small)."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from ledger.domain.holidays import next_working_day
from simulator.calendar import DAY, prev_working_day, teaching_day
from simulator.plan import Plan
from simulator.records import TrainingClass
from simulator.world import BLACKOUTS, CITY, CITY_MONTHS, COUNTIES, OCCUPATIONS, Occupation


def days_for(programme: str, start: dt.date, rng: random.Random) -> list[dt.date]:
    """Teaching days: 20–30 calendar days (employment skill, special ability), 6–8 weeks
    (drivers), about two months (two-after students), ending on a teaching day."""
    if programme in ("employment_skill", "special_ability"):
        target = rng.randint(22, 28)
        spans = list(range(target, 19, -1)) + list(range(target + 1, 31))
    elif programme == "driver":
        target = rng.randint(42, 56)
        spans = list(range(target, 30, -1))
    else:
        target = rng.randint(50, 60)
        spans = list(range(target, 35, -1))
    for span in spans:
        last = start + (span - 1) * DAY
        if teaching_day(last, programme):
            break
    return [start + i * DAY for i in range((last - start).days + 1)
            if teaching_day(start + i * DAY, programme)]  # fmt: skip


def hours_for(programme: str, n: int) -> list[tuple[int, int]]:
    """(theory, practical) class-hours of each day: 3+5 at the start, 2+6 in the middle, 1+7 at the end."""
    if programme == "driver":
        return [(5, 3) if i < 4 else (1, 6) for i in range(n)]
    if programme == "two_after_student":
        return [(4, 4) if i < 5 else (2, 6) for i in range(n)]
    return [(3, 5) if i < n * 0.2 else (1, 7) if i >= n * 0.8 else (2, 6) for i in range(n)]


def _start_ok(plan: Plan, start: dt.date, days: list[dt.date]) -> bool:
    if not days or days[0] != start:
        return False
    last = days[-1]
    if any(not (last < lo or start > hi) for lo, hi in BLACKOUTS):
        return False
    return start >= plan.cfg.reg_start + 25 * DAY and last + 118 * DAY <= plan.cfg.end


def _new_class(plan: Plan, county: str, occ: Occupation, inst: str, start: dt.date, size: int,
               employer: str | None, rng: random.Random) -> TrainingClass | None:  # fmt: skip
    days = days_for(occ.programme, start, rng)
    if not _start_ok(plan, start, days):
        return None
    request = prev_working_day(start - rng.randint(14, 30) * DAY)
    approve = next_working_day(request + rng.randint(3, 8) * DAY)
    if approve > start - 3 * DAY:
        approve = prev_working_day(start - 3 * DAY)
    cname = COUNTIES[county].name
    inst_name = next(a.name for a in plan.actors if a.actor_id == inst)
    if occ.programme == "driver":
        site = f"{inst_name}训练场"
    elif rng.random() < 0.6 or occ.programme == "two_after_student":
        site = f"{inst_name}{rng.choice(['实训楼', '实训基地', '培训中心'])}"
    else:
        town, villages, _ = rng.choice(plan.townships[county])
        site = f"{cname}{town}{rng.choice(villages)}{rng.choice(['村委会', '村级活动场所', '扶贫车间'])}"
    cls = TrainingClass(
        cid="",
        county=county,
        inst=inst,
        occ=occ,
        site=site,
        start=start,
        days=days,
        hours=hours_for(occ.programme, len(days)),
        planned_end=days[-1],
        request=request,
        approve=approve,
    )
    cls.capacity = min(50, (size + 4) // 5 * 5 + rng.choice([0, 0, 5]))
    cls.la = rng.random() < plan.cfg.la_share
    cls.employer = employer
    cls.roster = [""] * size  # placeholder: the size, filled in start order
    return cls


def schedule(plan: Plan) -> None:
    """Plan the classes, number them by year and county, and (city) reject or cancel a few."""
    rng = plan.rng
    if plan.cfg.name == "city":
        _schedule_city(plan, rng)
    else:
        _schedule_waves(plan, rng)
    plan.classes.sort(key=lambda c: (c.start, c.county, c.occ.code, c.inst, len(c.roster)))
    per: dict[tuple[int, str], int] = defaultdict(int)
    for cls in plan.classes:
        per[(cls.start.year, cls.county)] += 1
        cls.cid = f"CLS-{cls.start.year}-{cls.county}-{per[(cls.start.year, cls.county)]:04d}"
        plan.by_cid[cls.cid] = cls
    # a few requests rejected and approved classes cancelled (no enrolment)
    if plan.cfg.name == "city":
        for cls in rng.sample(plan.classes, max(1, len(plan.classes) // 60)):
            cls.state = "rejected"
        for cls in rng.sample(
            [c for c in plan.classes if c.state == "normal"], max(1, len(plan.classes) // 80)
        ):
            cls.state = "cancelled"
            who = rng.choice([cls.inst, f"hr-{cls.county}"])
            cls.cancel = (
                next_working_day(cls.approve + 2 * DAY),
                who,
                "报名人数不足，经协商取消开班" if who == cls.inst else "培训场地不符合要求，取消开班",
            )
        for cls in plan.classes:
            if cls.state != "normal":
                cls.roster = []


def _pick_institution(plan: Plan, county: str, occ: Occupation, rng: random.Random) -> str | None:
    local = [a for a, j, occs in plan.institutions if j == county and occ.code in occs]
    city = [a for a, j, occs in plan.institutions if j == CITY and occ.code in occs]
    if local and (not city or rng.random() < 0.8):
        return rng.choice(local)
    return rng.choice(city) if city else None


def _schedule_city(plan: Plan, rng: random.Random) -> None:
    counties = list(plan.cfg.counties)
    cw = [COUNTIES[c].share for c in counties]
    months = list(CITY_MONTHS)
    mw = [CITY_MONTHS[m] for m in months]
    occs = list(OCCUPATIONS.values())
    ow = [o.weight for o in occs]
    target = int(plan.cfg.target * rng.uniform(0.97, 1.03))
    total = 0
    while total < target:
        county = rng.choices(counties, cw)[0]
        occ = rng.choices(occs, ow)[0]
        inst = _pick_institution(plan, county, occ, rng)
        if inst is None:
            continue
        y, m = rng.choices(months, mw)[0]
        start = dt.date(y, m, rng.randint(1, 28))
        if not teaching_day(start, occ.programme) or start.weekday() > 4:
            continue
        lo, hi = plan.cfg.roster
        size = (
            rng.randint(lo, hi)
            if occ.programme == "employment_skill" or occ.programme == "special_ability"
            else rng.randint(28, 40)
        )
        employer = None
        matching = [e for e, s in plan.employers[county] if s == occ.sector]
        if matching and occ.programme != "two_after_student" and rng.random() < plan.cfg.order_share:
            employer = rng.choice(matching)
        cls = _new_class(plan, county, occ, inst, start, size, employer, rng)
        if cls is None:
            continue
        plan.classes.append(cls)
        total += size


def _schedule_waves(plan: Plan, rng: random.Random) -> None:
    county = plan.cfg.counties[0]
    lo, hi = plan.cfg.roster
    for wave_start, rows in plan.cfg.waves:
        for row in rows:
            occ = OCCUPATIONS[row.occupation]
            for _ in range(50):
                start = wave_start + rng.randint(0, 11) * DAY
                if start.weekday() > 4 or not teaching_day(start, occ.programme):
                    continue
                employer = (
                    plan.employers[county][row.order_employer][0] if row.order_employer is not None else None
                )
                cls = _new_class(
                    plan, county, occ, row.institution, start, rng.randint(lo, hi), employer, rng
                )
                if cls is not None:
                    if plan.cfg.name == "tiny":
                        cls.la = True
                    plan.classes.append(cls)
                    break
