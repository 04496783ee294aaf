"""The plan of one simulation: every record it holds, its id counters and its random streams.

The steps that fill a plan live beside it — :mod:`.actors`, :mod:`.schedule`, :mod:`.roster`,
:mod:`.programme`, :mod:`.employment`, :mod:`.finalize`, the misuse :mod:`.injectors` — and
:mod:`.emit` turns the finished plan into intents; :mod:`.simulation` runs them in order.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable, Iterator

from simulator.people import Identities
from simulator.records import (
    ActorSpec,
    BankStatement,
    Certificate,
    Claim,
    Employment,
    Fund,
    Household,
    InjectedCase,
    Laborer,
    TrainingClass,
)
from simulator.world import CERT_ABBR, Scale

Township = tuple[str, list[str], str | None]  # name, villages, the township's actor (None: none)


class Plan:
    def __init__(self, cfg: Scale, seed: int, misuse_rate: float):
        self.cfg = cfg
        self.seed = seed
        self.misuse_rate = misuse_rate if cfg.name != "tiny" else 0.0
        self.rng = random.Random(f"sim:{seed}:{cfg.name}")
        self.actors: list[ActorSpec] = []
        self.truth: list[InjectedCase] = []
        self.knock_on: list[InjectedCase] = []
        self.labs: dict[str, Laborer] = {}
        self.households: list[Household] = []
        self.classes: list[TrainingClass] = []
        self.by_cid: dict[str, TrainingClass] = {}
        self.emps: list[Employment] = []
        self.emp_by_id: dict[str, Employment] = {}
        self.emp_claims: list[Claim] = []
        self.funds: dict[str, Fund] = {}
        self.statements: list[BankStatement] = []  # by actor, then month (simulator.statements)
        self.revocation: tuple[str, dt.datetime, str] | None = None  # actor, effective, reason
        self.people = Identities()
        self.pending: dict[tuple[str, str], list[Laborer]] = defaultdict(list)  # (county, gender) -> pool
        self.graduates: dict[str, list[Laborer]] = defaultdict(list)
        self.after_details: list[Callable[[], None]] = []
        self.after_employment: list[Callable[[], None]] = []
        self.dup_households: list[tuple[Household, Household]] = []  # (original, duplicate)
        self.townships: dict[str, list[Township]] = {}
        self.employers: dict[str, list[tuple[str, str]]] = defaultdict(list)  # county -> (id, sector)
        self.institutions: list[tuple[str, str, frozenset[str]]] = []  # id, jurisdiction, occupations
        self._counters: dict[str, int] = defaultdict(int)

    # ---- ids -------------------------------------------------------------------------------------
    def next(self, key: str) -> int:
        self._counters[key] += 1
        return self._counters[key]

    def cert_no(self, ctype: str, year: int) -> str:
        return f"CERT-{CERT_ABBR[ctype]}-{year}-{self.next('CERT-' + CERT_ABBR[ctype] + str(year)):06d}"

    def certificate(
        self, ctype: str, level: str | None, issuer: str, issued: dt.date, lid: str
    ) -> Certificate:
        """A certificate numbered in its type's series for the year it is issued."""
        return Certificate(self.cert_no(ctype, issued.year), ctype, level, issuer, issued, lid)

    def insp_id(self, year: int) -> str:
        return f"INSP-{year}-{self.next('INSP' + str(year)):06d}"

    def claim_id(self, day: dt.date) -> str:
        return f"C-{day.year}-{self.next('C' + str(day.year)):06d}"

    def recovery_id(self, day: dt.date) -> str:
        return f"R-{day.year}-{self.next('R' + str(day.year)):05d}"

    def fund_id(self, year: int, jur: str, purpose: str) -> str:
        fid = f"F-{year}-{jur}-{purpose}"
        if fid not in self.funds:
            self.funds[fid] = Fund(fid, jur, purpose, year)
        return fid

    # ---- reading the plan ----------------------------------------------------------------------------
    def all_claims(self) -> Iterator[Claim]:
        for cls in self.classes:
            yield from cls.claims
        yield from self.emp_claims

    def cert_of(self, lid: str) -> str | None:
        """The labourer's first certificate (cited by employer claims)."""
        for cid in self.labs[lid].classes:
            cert = self.by_cid[cid].certs.get(lid)
            if cert is not None:
                return cert.no
        return None

    # ---- injected truth ---------------------------------------------------------------------------------
    def case(self, rule: str, kind: str, sid: str, lid: str | None, note: str) -> None:
        self.truth.append(InjectedCase(rule, kind, sid, lid, note))

    def knock(self, rule: str, kind: str, sid: str, lid: str | None, note: str) -> None:
        self.knock_on.append(InjectedCase(rule, kind, sid, lid, note))

    def taint(self, *lids: str) -> None:
        for lid in lids:
            self.labs[lid].tainted = True
