"""China's official public holidays and make-up working days (调休), 2018–2021, as data.

The State Council's General Office publishes each year's arrangement (国务院办公厅关于××年部分节假日
安排的通知); rule ``TIME-WEEKEND-PAYMENT`` (RULES.md) and the simulator judge a bank value date by
this table: a date is a working day when it is Monday–Friday and not a public holiday, or when it
is an official make-up working day (a Saturday or Sunday on which offices work).

Sources, one notice per year (with the amendments that followed):

- 2018: 国办发明电〔2017〕12号 (gov.cn/zhengce/content/2017-11/30/content_5243579.htm)
- 2019: 国办发明电〔2018〕15号, amended for Labour Day by 国办发明电〔2019〕2号 (2019-03-22:
  May 1–4 off, April 28 and May 5 worked)
- 2020: 国办发明电〔2019〕16号, and 国办发明电〔2020〕1号 (2020-01-27) extending the Spring
  Festival to February 2 because of COVID-19, so February 1 stopped being a make-up day
- 2021: 国办发明电〔2020〕27号

Only these years are covered. Outside them :func:`covers` is false and the functions fall back to
plain weekends, which is what a rule that "cannot find a holiday" must not rely on: callers that
need certainty ask :func:`covers` first.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "COVERED_YEARS",
    "HOLIDAYS",
    "MAKEUP_WORKDAYS",
    "covers",
    "holiday_name",
    "is_holiday",
    "is_holiday_or_weekend",
    "is_makeup_workday",
    "is_working_day",
    "next_working_day",
]


def _span(first: str, last: str, name: str) -> dict[dt.date, str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return {start + dt.timedelta(days=i): name for i in range((end - start).days + 1)}


# Rest days exactly as the notices list them ("X月X日至X日放假调休"), so a weekend that is part of
# a holiday block carries the holiday's name.
_REST: list[tuple[str, str, str]] = [
    # 2018
    ("2017-12-30", "2018-01-01", "元旦"),
    ("2018-02-15", "2018-02-21", "春节"),
    ("2018-04-05", "2018-04-07", "清明节"),
    ("2018-04-29", "2018-05-01", "劳动节"),
    ("2018-06-16", "2018-06-18", "端午节"),
    ("2018-09-22", "2018-09-24", "中秋节"),
    ("2018-10-01", "2018-10-07", "国庆节"),
    # 2019
    ("2018-12-30", "2019-01-01", "元旦"),
    ("2019-02-04", "2019-02-10", "春节"),
    ("2019-04-05", "2019-04-07", "清明节"),
    ("2019-05-01", "2019-05-04", "劳动节"),
    ("2019-06-07", "2019-06-09", "端午节"),
    ("2019-09-13", "2019-09-15", "中秋节"),
    ("2019-10-01", "2019-10-07", "国庆节"),
    # 2020
    ("2020-01-01", "2020-01-01", "元旦"),
    ("2020-01-24", "2020-02-02", "春节"),  # extended to Feb 2 (国办发明电〔2020〕1号)
    ("2020-04-04", "2020-04-06", "清明节"),
    ("2020-05-01", "2020-05-05", "劳动节"),
    ("2020-06-25", "2020-06-27", "端午节"),
    ("2020-10-01", "2020-10-08", "国庆节、中秋节"),
    # 2021
    ("2021-01-01", "2021-01-03", "元旦"),
    ("2021-02-11", "2021-02-17", "春节"),
    ("2021-04-03", "2021-04-05", "清明节"),
    ("2021-05-01", "2021-05-05", "劳动节"),
    ("2021-06-12", "2021-06-14", "端午节"),
    ("2021-09-19", "2021-09-21", "中秋节"),
    ("2021-10-01", "2021-10-07", "国庆节"),
]

HOLIDAYS: dict[dt.date, str] = {}
for _first, _last, _name in _REST:
    HOLIDAYS.update(_span(_first, _last, _name))

# Make-up working days (调休上班): weekend days on which offices and banks work.
MAKEUP_WORKDAYS: dict[dt.date, str] = {
    dt.date.fromisoformat(day): name
    for day, name in [
        ("2018-02-11", "春节"),
        ("2018-02-24", "春节"),
        ("2018-04-08", "清明节"),
        ("2018-04-28", "劳动节"),
        ("2018-09-29", "国庆节"),
        ("2018-09-30", "国庆节"),
        ("2018-12-29", "元旦"),
        ("2019-02-02", "春节"),
        ("2019-02-03", "春节"),
        ("2019-04-28", "劳动节"),
        ("2019-05-05", "劳动节"),
        ("2019-09-29", "国庆节"),
        ("2019-10-12", "国庆节"),
        ("2020-01-19", "春节"),  # 2020-02-01 was cancelled as a make-up day by the extension
        ("2020-04-26", "劳动节"),
        ("2020-05-09", "劳动节"),
        ("2020-06-28", "端午节"),
        ("2020-09-27", "国庆节、中秋节"),
        ("2020-10-10", "国庆节、中秋节"),
        ("2021-02-07", "春节"),
        ("2021-02-20", "春节"),
        ("2021-04-25", "劳动节"),
        ("2021-05-08", "劳动节"),
        ("2021-09-18", "中秋节"),
        ("2021-09-26", "国庆节"),
        ("2021-10-09", "国庆节"),
    ]
}

COVERED_YEARS: frozenset[int] = frozenset({2018, 2019, 2020, 2021})


def covers(day: dt.date) -> bool:
    """Whether the table knows ``day``'s year (rules that need a holiday raise nothing outside)."""
    return day.year in COVERED_YEARS


def is_holiday(day: dt.date) -> bool:
    """A public holiday rest day (including weekends inside a holiday block)."""
    return day in HOLIDAYS


def is_makeup_workday(day: dt.date) -> bool:
    """An official make-up working day (调休上班), always a Saturday or Sunday."""
    return day in MAKEUP_WORKDAYS


def holiday_name(day: dt.date) -> str | None:
    """The holiday's Chinese name, or None for an ordinary day."""
    return HOLIDAYS.get(day)


def is_working_day(day: dt.date) -> bool:
    """Monday–Friday and not a holiday, or an official make-up working day."""
    if day in MAKEUP_WORKDAYS:
        return True
    if day in HOLIDAYS:
        return False
    return day.weekday() < 5


def is_holiday_or_weekend(day: dt.date) -> bool:
    """The complement of :func:`is_working_day`: what ``TIME-WEEKEND-PAYMENT`` looks for."""
    return not is_working_day(day)


def next_working_day(day: dt.date) -> dt.date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day
