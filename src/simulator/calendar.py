"""Business dates of the programme over the State Council's holiday notices (``ledger.domain.holidays``)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ledger.domain.holidays import is_holiday, is_makeup_workday, is_working_day, next_working_day

DAY = dt.timedelta(days=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")  # +08:00, no daylight saving since 1991


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def month_end(y: int, m: int) -> dt.date:
    return dt.date(y + m // 12, m % 12 + 1, 1) - DAY


def next_month(y: int, m: int) -> tuple[int, int]:
    return (y + 1, 1) if m == 12 else (y, m + 1)


def prev_working_day(d: dt.date) -> dt.date:
    while not is_working_day(d):
        d -= DAY
    return d


def office_day(d: dt.date, lo: dt.date | None = None, hi: dt.date | None = None) -> dt.date:
    """The working day nearest after ``d`` (or before, or ``d`` itself) inside ``[lo, hi]``."""
    after = next_working_day(d)
    if hi is None or after <= hi:
        return after
    before = prev_working_day(d)
    return before if lo is None or before >= lo else d


def teaching_day(d: dt.date, programme: str) -> bool:
    """Whether a class of ``programme`` meets on ``d`` (no classes on public holidays)."""
    if is_holiday(d):
        return False
    if programme in ("employment_skill", "special_ability"):
        return d.weekday() != 6 or is_makeup_workday(d)  # Monday–Saturday
    if programme == "driver":
        return d.weekday() in (0, 1, 3, 4, 5)  # five days a week, Wednesday off
    return is_working_day(d)  # two-after students follow the school week
