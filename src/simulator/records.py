"""What a simulation plans before it emits a single intent: the public results (actors, injected
cases) and the plan's own records — households, labourers, classes, claims, payments, funds.

The records are mutable on purpose: misuse injectors rewrite a planned class or claim in place
(a course squeezed, a line inflated) before the plan is turned into intents.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ledger.encoding.canonical import JSONValue
from simulator.world import Occupation


# ---- public results -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ActorSpec:
    """An organisation to register (``actor add``); the genesis ``admin`` is not listed."""

    actor_id: str
    role: str
    jurisdiction: str
    name: str
    uscc: str | None = None


@dataclass(frozen=True)
class InjectedCase:
    """One injected finding: the flag RULES.md should raise (rule, subject, labourer)."""

    rule: str
    subject_kind: str
    subject_id: str
    laborer_id: str | None
    note: str


# ---- the plan's records ---------------------------------------------------------------------------
PersonalDataAccess = tuple[dt.date, str, str, str]  # date, actor, laborer id, purpose


@dataclass(eq=False)
class Laborer:
    lid: str
    hh: Household
    birth: dt.date
    gender: str
    category: str
    name: str
    id_number: str
    phone: str
    account: str
    classes: list[str] = field(default_factory=list)
    occupations: set[str] = field(default_factory=set)
    last_day: dt.date | None = None
    confirm: bool = True
    rejected: bool = False
    tainted: bool = False  # used by an injection: no other injection or hire touches it
    employed: bool = False
    correction: tuple[dt.date, str] | None = None  # date, corrected village


@dataclass(eq=False)
class Household:
    hid: str
    county: str
    township: str
    village: str
    registrar: str
    category: str
    members: list[Laborer] = field(default_factory=list)
    first_use: dt.date | None = None
    reg: dt.date | None = None
    confirm: dt.date | None = None


@dataclass(eq=False)
class Certificate:
    no: str
    ctype: str
    level: str | None
    issuer: str
    issued_on: dt.date
    lid: str


@dataclass(eq=False)
class Inspection:
    iid: str
    method: str
    actor: str
    date: dt.date
    subject_kind: str
    subject_id: str
    class_id: str | None
    checklist: dict[str, bool] | None
    findings: list[dict[str, str]]
    verdict: str
    day_index: int | None = None  # attendance day it observes (site visits, spot checks)
    missing: frozenset[str] = frozenset()  # present in attendance, in neither list
    marked_absent: frozenset[str] = frozenset()  # present in attendance, listed absent


@dataclass(eq=False)
class ClaimLine:
    lid: str
    amount: int | None  # None: a living allowance, computed from the days attended
    cert: str | None = None
    emp: str | None = None


@dataclass(eq=False)
class Payment:
    pid: str
    fund: str
    value: dt.date
    bank_ref: str
    amount: int | None = None  # None: the approved total (or the claimed one, unapproved)
    delta: int = 0
    account: str | None = None  # None: the claim's account
    returned: tuple[dt.date, str] | None = None


@dataclass(frozen=True)
class Recovery:
    rid: str
    date: dt.date
    amount: int  # -1: the whole last payment (a duplicate)
    reason: str
    anomaly_id: str | None


@dataclass(eq=False)
class Claim:
    cid: str
    kind: str
    claimant: str
    class_id: str | None
    jur: str
    lines: list[ClaimLine]
    account: str
    date: dt.date
    verify: dt.date | None = None
    verify_rejected: list[str] = field(default_factory=list)
    approve: dt.date | None = None
    approve_override: dict[str, int] = field(default_factory=dict)
    reject: tuple[dt.date, str] | None = None
    payments: list[Payment] = field(default_factory=list)
    recoveries: list[Recovery] = field(default_factory=list)
    disposals: list[tuple[dt.date, str, str]] = field(default_factory=list)  # date, anomaly id, disposition
    pdas: list[PersonalDataAccess] = field(default_factory=list)
    slot: str | None = None  # the injection that took this claim

    def total(self) -> int:
        return sum(line.amount or 0 for line in self.lines)

    def approved_lines(self) -> list[tuple[str, int]]:
        return [(ln.lid, self.approve_override.get(ln.lid, ln.amount or 0)) for ln in self.lines]


@dataclass(eq=False)
class TrainingClass:
    cid: str
    county: str
    inst: str
    occ: Occupation
    site: str
    start: dt.date
    days: list[dt.date]
    hours: list[tuple[int, int]]  # theory, practical per day
    planned_end: dt.date
    request: dt.date
    approve: dt.date
    capacity: int = 50
    la: bool = False
    employer: str | None = None
    state: str = "normal"  # normal / rejected / cancelled
    cancel: tuple[dt.date, str, str] | None = None
    roster: list[str] = field(default_factory=list)
    enrol: dict[str, dt.date] = field(default_factory=dict)
    protected: set[str] = field(default_factory=set)
    ghosts: set[str] = field(default_factory=set)
    withdrawn: dict[str, dt.date] = field(default_factory=dict)
    keep_after_withdrawal: set[str] = field(default_factory=set)
    absences: dict[int, set[str]] = field(default_factory=dict)
    attendance_delay: dict[int, int] = field(default_factory=dict)
    completers: list[str] = field(default_factory=list)
    certs: dict[str, Certificate] = field(default_factory=dict)
    extra_certs: list[Certificate] = field(default_factory=list)
    failures: dict[str, tuple[dt.date, str]] = field(default_factory=dict)  # lid -> (date, signer)
    review: dt.date | None = None
    inspections: list[Inspection] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    pdas: list[PersonalDataAccess] = field(default_factory=list)
    pre_employed: dict[str, dt.date] = field(default_factory=dict)
    slot: str | None = None  # the injection that took this class
    claim_slot: str | None = None  # the injection that took its claims
    no_visits: bool = False

    @property
    def end(self) -> dt.date:
        return self.days[-1]

    @property
    def programme(self) -> str:
        return self.occ.programme

    def present(self, i: int) -> list[str]:
        day = self.days[i]
        absent = self.absences.get(i, ())
        return [
            lid for lid in self.roster
            if lid not in self.ghosts and lid not in absent
            and not (lid in self.withdrawn and day >= self.withdrawn[lid]
                     and lid not in self.keep_after_withdrawal)
        ]  # fmt: skip

    def training_claim(self) -> Claim | None:
        """The live training claim (the last one filed and not rejected)."""
        live = [c for c in self.claims if c.kind == "training" and c.reject is None and c.slot != "split"]
        return live[0] if live else None


@dataclass(eq=False)
class Employment:
    eid: str
    employer: str
    county: str
    lid: str
    position: str
    start: dt.date
    class_id: str | None
    payroll: list[tuple[int, int, int]]  # year, month, wage_fen
    proof: dt.date | None = None
    proof_months: list[str] = field(default_factory=list)
    ended: dt.date | None = None
    claimed: bool = False


@dataclass(eq=False)
class Fund:
    fid: str
    jur: str
    purpose: str
    year: int
    need: int = 0
    allocations: list[tuple[dt.date, str, str, int]] = field(
        default_factory=list
    )  # date, signer, source, fen
    adjustments: list[tuple[dt.date, str, int, str]] = field(
        default_factory=list
    )  # date, signer, fen, reason
    overdrawn: bool = False


@dataclass(eq=False)
class BankLine:
    """One row of a bank statement, with the status DESIGN §10's matching must give it — written
    by construction as the statement is made and its exceptions injected, never by matching."""

    date: dt.date
    reference: str | None
    account: str | None  # the digits as the bank prints them (None: interest)
    name: str  # the counterparty as the bank prints it (masked for a person)
    debit_fen: int
    credit_fen: int
    memo: str
    status: str  # a ReconStatus
    payment: Payment | None = None  # the payment it is matched with, mismatches or returns
    claim_id: str | None = None  # that payment's claim


@dataclass(eq=False)
class BankStatement:
    """A finance bureau's special-fund account for one month, as its bank exports it, and the
    ``ReconciliationRecorded`` the bureau signs after matching it."""

    actor: str
    period: str  # YYYY-MM
    recorded: dt.date  # the day the bureau records its reconciliation
    lines: list[BankLine]
    missing: list[tuple[Payment, str]] = field(default_factory=list)  # (payment, claim): never at the bank
    form: str = "csv"  # csv (GBK) | xlsx
    data: bytes = b""  # the file, once written (simulator.statements.close)
    body: dict[str, JSONValue] | None = None  # the ReconciliationRecorded body, once written

    @property
    def file_name(self) -> str:
        return f"{self.actor}_{self.period}.{self.form}"
