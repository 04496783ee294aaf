"""The reference data of Guyuan's programme, read from ``data/*.toml``: places, occupations,
subsidy standards, organisations, and the scales a simulation runs at.

Everything here is immutable and loaded once, at import; the data files say where the numbers
come from.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


def load(name: str) -> dict[str, Any]:
    """One file of ``data/`` (installed as package data)."""
    return tomllib.loads((resources.files("simulator") / "data" / name).read_text(encoding="utf-8"))


# ---- places ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class County:
    code: str
    name: str
    share: float  # of the city's trainees
    townships: tuple[str, ...]  # 乡镇, real names


_PLACES = load("places.toml")
CITY: str = _PLACES["city"]
TOWNSHIP_ACTORS: int = _PLACES["township_actors"]
COUNTIES: dict[str, County] = {
    c["code"]: County(c["code"], c["name"], c["share"], tuple(c["townships"])) for c in _PLACES["counties"]
}
VILLAGE_STEMS: tuple[str, ...] = tuple(_PLACES["village_stems"].split())


# ---- occupations and subsidy standards -----------------------------------------------------------
@dataclass(frozen=True)
class Occupation:
    """An occupation the policy names, with its programme and certificate."""

    code: str
    name: str
    programme: str
    in_catalog: bool
    cert_type: str
    level: str | None
    female: float
    sector: str
    position: str
    weight: float
    min_age: int
    max_age: int
    mode_age: int


OCCUPATIONS: dict[str, Occupation] = {
    o["code"]: Occupation(o["code"], o["name"], o["programme"], o["in_catalog"], o["certificate"],
                          o.get("level"), o["female"], o["sector"], o["position"], o["weight"], *o["ages"])
    for o in load("occupations.toml")["occupations"]
}  # fmt: skip

CERT_ABBR = {"vocational_qualification": "VQ", "special_ability": "SA", "training_completion": "TC",
             "driving_licence": "DL"}  # fmt: skip


@dataclass(frozen=True)
class Standard:
    """A ``SubsidyStandardSet``: the amount per trainee (or day) of one kind of subsidy."""

    standard_id: str
    kind: str
    programme: str | None
    certificate_type: str | None
    occupation: str | None
    amount_fen: int
    per: str


_STANDARDS = load("standards.toml")
STANDARDS_FROM: dt.date = _STANDARDS["effective_from"]
STANDARDS: tuple[Standard, ...] = tuple(
    Standard(s["standard_id"], s["kind"], s.get("programme"), s.get("certificate_type"), s.get("occupation"),
             s["amount_fen"], s["per"])
    for s in _STANDARDS["standards"]
)  # fmt: skip
APPRAISAL_FEN: dict[str, int] = {
    s.certificate_type or "": s.amount_fen for s in STANDARDS if s.kind == "appraisal"
}
EMPLOYER_FEN: int = next(s.amount_fen for s in STANDARDS if s.kind == "employer")
LA_PER_DAY_FEN: int = next(s.amount_fen for s in STANDARDS if s.kind == "living_allowance")


@cache
def training_fen(occ: Occupation, cert_type: str) -> int:
    """The training standard in force for a line: the most specific match wins (occupation, then
    certificate type, then programme), as the rules pick it."""
    matches = [s for s in STANDARDS if s.kind == "training"
               and s.programme in (None, occ.programme)
               and s.certificate_type in (None, cert_type)
               and s.occupation in (None, occ.name)]  # fmt: skip
    best = max(matches, key=lambda s: (s.occupation is not None, s.certificate_type is not None,
                                       s.programme is not None))  # fmt: skip
    return best.amount_fen


# ---- organisations ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Office:
    """A government office: ``actor_id`` is a prefix (``hr``) for the offices every county has."""

    actor_id: str
    role: str
    name: str
    uscc_kind: str = "11"
    uscc_seed: str | None = None  # the id its code is drawn from, when not its own


@dataclass(frozen=True)
class Institution:
    actor_id: str
    name: str
    jurisdiction: str
    uscc_kind: str
    teaches: frozenset[str]  # occupation codes


@dataclass(frozen=True)
class Employer:
    name: str
    sector: str
    uscc_kind: str


_ORGS = load("organisations.toml")
COUNTY_OFFICES: tuple[Office, ...] = tuple(
    Office(o["prefix"], o["role"], o["name"]) for o in _ORGS["county_offices"]
)
CITY_OFFICES: tuple[Office, ...] = tuple(
    Office(o["actor_id"], o["role"], o["name"], o["uscc"], o.get("uscc_seed")) for o in _ORGS["city_offices"]
)
INSTITUTIONS: tuple[Institution, ...] = tuple(
    Institution(i["actor_id"], i["name"], i["jurisdiction"], i["uscc"], frozenset(i["teaches"]))
    for i in _ORGS["institutions"]
)
EMPLOYERS: dict[str, tuple[Employer, ...]] = {
    county: tuple(Employer(*row) for row in rows) for county, rows in _ORGS["employers"].items()
}
WAGE_YUAN: dict[str, tuple[int, int]] = {sector: (lo, hi) for sector, (lo, hi) in _ORGS["wages"].items()}


# ---- scales and the calendar of class starts ---------------------------------------------------------
@dataclass(frozen=True)
class WaveClass:
    occupation: str
    institution: str
    order_employer: int | None  # index among the county's employers: order training (订单培训)


@dataclass(frozen=True)
class Scale:
    name: str
    counties: tuple[str, ...]
    reg_start: dt.date
    end: dt.date  # nothing (business date or ``at``) after this day
    last_payroll: tuple[int, int]
    target: int  # trainee-times
    roster: tuple[int, int]
    stale_before: dt.date  # an injected stale claim is approved before this day
    la_share: float
    order_share: float
    hire_share: float
    waves: tuple[tuple[dt.date, tuple[WaveClass, ...]], ...]  # classes planned by hand (tiny, small)


_SCALES = load("scales.toml")
SCALES: dict[str, Scale] = {
    name: Scale(name, tuple(s["counties"]), s["registration_start"], s["end"], tuple(s["last_payroll"]),
                s["target"], tuple(s["roster"]), s["stale_before"], s["living_allowance_share"],
                s["order_share"], s["hire_share"],
                tuple((w["start"], tuple(WaveClass(c["occupation"], c["institution"], c.get("order_employer"))
                                         for c in w["classes"])) for w in s["waves"]))
    for name, s in _SCALES["scales"].items()
}  # fmt: skip
CITY_MONTHS: dict[tuple[int, int], int] = {
    (y["year"], y.get("first_month", 1) + i): w
    for y in _SCALES["city_months"]
    for i, w in enumerate(y["weights"])
}
BLACKOUTS: tuple[tuple[dt.date, dt.date], ...] = tuple((b["first"], b["last"]) for b in _SCALES["blackouts"])
