"""How a rule becomes a flag: the rule registry, the context a rule reads, and flag bookkeeping.

A rule (``projections.anomalies.rules``, one module per family) is one function ``check(ctx, subject) -> Findings``
declared with :func:`rule` beside its id, severity, subject kind, source and messages, and what it
reads (``reads``: each :class:`Read` — an entity or row whose change can alter its verdict, declared
once with the events that change it — mapped to the rule's subjects that read the changed one). No
rule lists trigger events: after every event the engine re-evaluates each rule that reads what the
event changed, for those subjects only — never a scan of history — and settles the answer against
what that subject supported before:

* a **finding** is ``laborer_id (or None) → (evidence seqs, message details)``;
* a subject may be judged in **parts** (a class day by day, a labourer date by date), so a
  flag holds while any part supports it; the supports live in the subject's own state row;
* a flag that appears is **raised** (``raised_seq`` = this leaf, ``status`` open); its evidence
  follows the proof: it is the union of what the parts supporting it cite now (repeats on the same
  subject add to it; a re-judgement that no longer cites a seq — an approval a rejection overrode,
  a class-day record another superseded — drops it), so it is the same in any arrival order
  (RULES.md); a flag no part supports any more is **withdrawn** (``withdrawn_seq``), keeping the
  evidence it had, and raised again if its condition returns, citing what proves it then;
* ``AnomalyDisposed`` sets the status to the inspector's disposition (also when it names a flag
  not raised yet: it is applied the moment the flag appears).

Every change is a row of ``pj_anomaly_history`` and every seq cited or dropped a row of
``pj_anomaly_evidence`` carrying the leaf that changed it, so ``--as-of`` answers exactly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, NamedTuple, TypedDict, TypeVar, cast

import sqlalchemy as sa

from ledger.encoding.canonical import canonical
from projections import tables as T
from projections.anomalies import config as rules_config
from projections.anomalies import tables as A
from projections.events import LeafEvent
from projections.uow import MISSING, Row, UnitOfWork

Severity = Literal["critical", "high", "medium", "low"]
Status = Literal["open", "withdrawn", "confirmed", "rectified", "false_positive"]
SubjectKind = Literal["laborer", "class", "claim", "payment", "fund", "certificate", "account", "actor", "employment",
                      "reconciliation"]
Change = Literal["raised", "withdrawn", "reraised", "disposed", "message"]  # a row of pj_anomaly_history

SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
SEVERITY_ZH: dict[Severity, str] = {"critical": "严重", "high": "高", "medium": "中", "low": "低"}
STATUSES: tuple[Status, ...] = ("open", "withdrawn", "confirmed", "rectified", "false_positive")
STATUS_ZH: dict[Status, str] = {"open": "待核查", "withdrawn": "已撤销", "confirmed": "核实属实", "rectified": "已整改",
                                "false_positive": "误报"}  # fmt: skip
SUBJECT_KINDS: tuple[SubjectKind, ...] = (
    "laborer", "class", "claim", "payment", "fund", "certificate", "account", "actor", "employment",
    "reconciliation")  # fmt: skip


def anomaly_id(rule_id: str, kind: str, subject_id: str, laborer_id: str | None) -> str:
    """RULES.md: "A-" + the first 40 hex of SHA-256(JCS({"rule", "subject", "laborer_id"}))."""
    doc = {"rule": rule_id, "subject": {"kind": kind, "id": subject_id}, "laborer_id": laborer_id}
    return "A-" + hashlib.sha256(canonical(doc)).hexdigest()[:40]


class Subject(NamedTuple):
    """What a flag is about (RULES.md's fixed subject), and which part of it is being judged."""

    kind: SubjectKind
    id: str
    part: str = ""


Detail = dict[str, str | int | None]  # a message's parameters (JSON scalars)


@dataclass
class Finding:
    evidence: Iterable[int]
    detail: Detail = field(default_factory=dict)
    jurisdiction: str | None = None  # only where the subject's own row cannot say (accounts)


Findings = dict[str | None, Finding]  # laborer_id (None: no labourer) → finding
NONE: Findings = {}  # "nothing wrong here" (never changed: the engine only reads findings)
Check = Callable[["Ctx", Subject], Findings]
Trigger = Callable[["Ctx"], Iterator[Subject]]  # the subjects an event touches
Fanout = Callable[["Ctx", str], Iterable[Subject]]  # the subjects of one rule that read one changed entity


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per read
class Read:
    """Something outside a rule's subject whose change can alter its verdict (a labourer's household,
    the standards in force, a cited certificate): which events change it, and the id of what they
    change. A rule names what it reads (``reads``: read → fan-out to its subjects) and the engine
    re-judges those subjects whenever any of the read's events arrives, whatever the order."""

    name: str  # e.g. "laborer.household"
    en: str  # what it is, for docs/rules.md
    changed: Mapping[str, Callable[[Ctx], Iterable[str]]]  # event type → ids of the entities it changes


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    subject: tuple[SubjectKind, ...]  # the subject kind(s) RULES.md fixes
    source: str
    zh: str  # message templates: str.format over the finding's details
    en: str
    check: Check
    reads: dict[Read, Fanout]  # what it reads → its subjects that read one changed entity

    def triggers(self) -> dict[str, Trigger]:
        """Event type → the subjects to re-judge, derived from the reads: for each read the event
        changes, the subjects of this rule that read what it changed."""
        out: dict[str, list[Trigger]] = {}
        for read, fanout in self.reads.items():
            for event_type, changed in read.changed.items():
                out.setdefault(event_type, []).append(_through(changed, fanout))
        return {t: found[0] if len(found) == 1 else _chain(found) for t, found in out.items()}

    def message(self, detail: Detail) -> tuple[str, str]:
        return self.zh.format(**detail), self.en.format(**detail)


RULES: list[Rule] = []  # every rule, in RULES.md's order (projections.anomalies.rules imports the families in it)


def _through(changed: Callable[[Ctx], Iterable[str]], fanout: Fanout) -> Trigger:
    def trigger(ctx: Ctx) -> Iterator[Subject]:
        for ident in changed(ctx):
            yield from fanout(ctx, ident)

    return trigger


def _chain(triggers: list[Trigger]) -> Trigger:
    def trigger(ctx: Ctx) -> Iterator[Subject]:
        for one in triggers:
            yield from one(ctx)

    return trigger


def rule(rule_id: str, *, severity: Severity, subject: SubjectKind | tuple[SubjectKind, ...], source: str, zh: str,
         en: str, reads: Mapping[Read, Fanout]) -> Callable[[Check], Check]:  # fmt: skip
    """Register ``check`` as the rule ``rule_id`` (STYLE.md habit 7)."""
    kinds = (subject,) if isinstance(subject, str) else subject
    assert severity in SEVERITIES and set(kinds) <= set(SUBJECT_KINDS), rule_id
    assert all(r.id != rule_id for r in RULES), rule_id

    def register(check: Check) -> Check:
        assert reads, rule_id  # a rule that reads nothing is never judged
        RULES.append(Rule(rule_id, severity, kinds, source, zh, en, check, dict(reads)))
        return check

    return register


def by_id() -> dict[str, Rule]:
    return {r.id: r for r in RULES}


# --- the rules' state: one JSON value per "space/key" row of pj_rule_state ---------------------------
V = TypeVar("V")
Record = list[object]  # a positional record as stored (a JSON array): read it through its NamedTuple


@dataclass(frozen=True)
class Space(Generic[V]):
    """One space of ``pj_rule_state`` and the shape ``V`` of its values (:mod:`.state` lists them)."""

    name: str
    empty: Callable[[], V]  # the value of a key nothing was kept under yet

    def at(self, key: str) -> tuple[sa.Table, tuple[str]]:
        """The row's table and primary key (for prefetching)."""
        return A.state, (f"{self.name}/{key}",)


class SubjectState(TypedDict, total=False):
    """What every subject's value holds besides its own indexes: which parts support which flag."""

    sup: dict[str, dict[str, dict[str, Record]]]  # rule → part → labourer ("" for none) → Supported


class Supported(NamedTuple):
    """What one part of a subject supports of one flag (stored as ``[evidence, detail, jurisdiction]``)."""

    evidence: list[int]
    detail: Detail
    jurisdiction: str | None


class Disposition(NamedTuple):
    """An ``AnomalyDisposed`` naming a flag not raised yet (``pending`` space), applied when it is."""

    status: Status
    seq: int
    note: str
    actor: str


SUBJECTS: dict[SubjectKind, Space[SubjectState]] = {kind: Space(kind, SubjectState) for kind in SUBJECT_KINDS}
PENDING = Space[list[Record]]("pending", list)


class Memo(Generic[V]):
    """A read several rules ask of one event (a claim's standing lines): answered once per event."""

    def __init__(self, name: str) -> None:
        self.name = name


# --- what a rule reads ----------------------------------------------------------------------------
class Ctx:
    """One event as the rules see it: its facts, the read models, the rules' state, the clock."""

    def __init__(self, uow: UnitOfWork, ev: LeafEvent):
        self.uow = uow
        self.ev = ev
        self.seq = ev.seq
        self.body = ev.body
        self.cfg = rules_config.CONFIG
        # What this event's state upkeep learnt: the labourers a recorded day lists, and those a day
        # recorded again no longer lists (AttendanceRecorded only).
        self.day_listed: list[str] = []
        self.day_dropped: list[str] = []
        self._memos: dict[str, dict[str, object]] = {}
        self._history_n: dict[str, int] = {}
        # flag id → (its row, seq → whether it was cited before this event): the evidence changes to
        # record, netted over the event (a seq one part drops and another cites is no change)
        self._evidence_was: dict[str, tuple[Row, dict[int, bool]]] = {}
        # The rules' state rows held, read straight (the hot path); all_rows: the unit of work
        # holds every row there is, so a miss is an absent row and nothing needs prefetching.
        self._states, self.all_rows = uow.rows(A.state)
        self._changed = uow.dirty(A.state)

    @property
    def clock(self) -> str | None:
        """DESIGN §3 "now": the log clock after this leaf (the runner keeps it)."""
        return self.uow.log_clock

    # base read models (by primary key)
    def row(self, table: sa.Table, *key: str | int) -> Row | None:
        return self.uow.get(table, *key)

    def klass(self, class_id: str | None) -> Row | None:
        return None if class_id is None else self.uow.get(T.classes, class_id)

    def claim(self, claim_id: str | None) -> Row | None:
        return None if claim_id is None else self.uow.get(T.claims, claim_id)

    def laborer(self, laborer_id: str) -> Row | None:
        return self.uow.get(T.laborers, laborer_id)

    # the rules' own state (pj_rule_state)
    def state(self, space: Space[V], key: str) -> V | None:
        """Read-only: the value, or None. Use :meth:`keep` to change it."""
        k = (f"{space.name}/{key}",)
        row = self._states.get(k, MISSING)  # _state_row inlined, and no cast() call: the hot path
        if row is MISSING:
            row = self._state_row(k)
        return None if row is None else row["value"]

    def read(self, space: Space[V], key: str) -> V:
        """Read-only: the value, or an empty one (changing it changes nothing)."""
        k = (f"{space.name}/{key}",)
        row = self._states.get(k, MISSING)  # _state_row inlined, and no cast() call: the hot path
        if row is MISSING:
            row = self._state_row(k)
        return space.empty() if row is None else row["value"]

    def keep(self, space: Space[V], key: str) -> V:
        """The value, marked changed: mutate it in place (created empty if absent)."""
        k = (f"{space.name}/{key}",)
        row = self._states.get(k, MISSING)
        if row is MISSING:
            row = self._state_row(k)
        if row is None:
            return cast(V, self.uow.add(A.state, key=k[0], value=space.empty())["value"])
        self._changed[k] = row
        return row["value"]  # type: ignore[no-any-return]

    def _state_row(self, k: tuple[str]) -> Row | None:
        row = self._states.get(k, MISSING)
        if row is MISSING:
            return None if self.all_rows else self.uow.get(A.state, *k)
        return row  # type: ignore[no-any-return]

    def remember(self, memo: Memo[V], key: str, compute: Callable[[], V]) -> V:
        """``compute()``, once per event and key."""
        held = self._memos.setdefault(memo.name, {})
        if key in held:
            return cast(V, held[key])
        found = held[key] = compute()
        return found

    # flags
    def flag(self, flag_id: str) -> Row | None:
        return self.uow.get(A.anomalies, flag_id)

    def history(self, flag: Row, change: Change, *, note: str | None = None, actor: str | None = None) -> None:
        n = self._history_n.get(flag["id"], 0)
        self._history_n[flag["id"]] = n + 1
        self.uow.append(
            A.history, anomaly_id=flag["id"], seq=self.seq, n=n, change=change, status=flag["status"],
            raised_seq=flag["raised_seq"], withdrawn_seq=flag["withdrawn_seq"], jurisdiction=flag["jurisdiction"],
            message=flag["message"], message_en=flag["message_en"], note=note, actor=actor,
        )  # fmt: skip


    def cite(self, flag: Row, seq: int, cited: bool) -> None:
        """Add ``seq`` to the flag's evidence (``cited``) or drop it, if that changes it."""
        have: list[int] = flag["evidence"]
        at = bisect_left(have, seq)
        there = at < len(have) and have[at] == seq
        if there == cited:
            return
        self._evidence_was.setdefault(flag["id"], (flag, {}))[1].setdefault(seq, there)
        if cited:
            have.insert(at, seq)
        else:
            del have[at]
        flag["updated_seq"] = self.seq

    def record_evidence(self) -> None:
        """After the event: a row of ``pj_anomaly_evidence`` for each seq cited or dropped by it."""
        for flag_id, (flag, was) in self._evidence_was.items():
            have: list[int] = flag["evidence"]
            for seq in sorted(was):
                at = bisect_left(have, seq)
                cited = at < len(have) and have[at] == seq
                if cited != was[seq]:
                    self.uow.append(A.evidence, anomaly_id=flag_id, seq=seq, changed_seq=self.seq, cited=cited)
        self._evidence_was.clear()


# --- settling a rule's answer for one subject ------------------------------------------------------
def settle(ctx: Ctx, rule_: Rule, subject: Subject, findings: Findings) -> None:
    """Compare what ``subject``'s part supports now with what it supported before; move the flags."""
    kind, ident, part = subject
    supported = ctx.read(SUBJECTS[kind], ident).get("sup", {}).get(rule_.id)
    if not findings and (not supported or part not in supported):
        return  # nothing found, nothing held: most judgements end here
    before: dict[str, Record] = (supported or {}).get(part, {})
    now: dict[str, Record] = {
        ("" if lid is None else lid): [sorted(set(f.evidence)), f.detail, f.jurisdiction]
        for lid, f in findings.items()
    }
    if now == before:
        return
    sup_all = ctx.keep(SUBJECTS[kind], ident).setdefault("sup", {})
    sup = sup_all.setdefault(rule_.id, {})
    if now:
        sup[part] = now
    else:
        sup.pop(part, None)
    if not sup:
        del sup_all[rule_.id]
    for key in sorted(set(before) | set(now)):
        laborer_id = key or None
        parts = sorted(p for p, entries in sup.items() if key in entries)
        if not parts:
            _withdraw(ctx, rule_, subject, laborer_id)
            continue
        held = now.get(key)
        current = Supported([], {}, None) if held is None else Supported._make(held)
        first = Supported._make(sup[parts[0]][key])
        detail = dict(first.detail, n=len(parts))
        was = Supported._make(before[key]).evidence if key in before else []
        proof = _Proof(sup, parts, key, part, was, current.evidence)
        _raise(ctx, rule_, subject, laborer_id, proof, detail, current.jurisdiction or first.jurisdiction)


class _Proof(NamedTuple):
    """What supports one flag of a subject after this judgement: ``parts`` of ``sup`` hold ``key``;
    the judged ``part`` cited ``was`` before and cites ``now``."""

    sup: dict[str, dict[str, Record]]
    parts: list[str]
    key: str
    part: str
    was: list[int]
    now: list[int]

    def union(self) -> set[int]:
        """Every seq the supporting parts cite."""
        return {seq for p in self.parts for seq in cast(list[int], self.sup[p][self.key][0])}

    def elsewhere(self) -> set[int]:
        """The seqs the other supporting parts cite."""
        return {seq for p in self.parts if p != self.part for seq in cast(list[int], self.sup[p][self.key][0])}


def _raise(ctx: Ctx, rule_: Rule, subject: Subject, laborer_id: str | None, proof: _Proof,
           detail: Detail, jurisdiction: str | None) -> None:  # fmt: skip
    flag_id = anomaly_id(rule_.id, subject.kind, subject.id, laborer_id)
    zh, en = rule_.message(detail)
    flag = ctx.uow.edit(A.anomalies, flag_id)
    if flag is None:
        flag = ctx.uow.add(
            A.anomalies, id=flag_id, rule=rule_.id, severity=rule_.severity, subject_kind=subject.kind,
            subject_id=subject.id, laborer_id=laborer_id,
            jurisdiction=jurisdiction or jurisdiction_of(ctx, subject.kind, subject.id), evidence=[],
            first_seq=ctx.seq, raised_seq=ctx.seq, withdrawn_seq=None, active=True, status="open",
            disposed_seq=None, message=zh, message_en=en, source=rule_.source, updated_seq=ctx.seq,
        )  # fmt: skip
        _follow_proof(ctx, flag, proof, whole=True)
        ctx.history(flag, "raised")
        for held in ctx.read(PENDING, flag_id):
            _dispose(ctx, flag, Disposition._make(held))
        return
    _follow_proof(ctx, flag, proof, whole=not flag["active"])
    # a finding that names its jurisdiction (an account's: its first payment's) follows it, in any order
    where = flag["jurisdiction"] if jurisdiction is None else jurisdiction
    if not flag["active"]:
        flag.update(active=True, raised_seq=ctx.seq, withdrawn_seq=None, status="open", message=zh,
                    message_en=en, jurisdiction=where, updated_seq=ctx.seq)  # fmt: skip
        ctx.history(flag, "reraised")
    elif (zh, en, where) != (flag["message"], flag["message_en"], flag["jurisdiction"]):
        flag.update(message=zh, message_en=en, jurisdiction=where, updated_seq=ctx.seq)
        ctx.history(flag, "message")


def _withdraw(ctx: Ctx, rule_: Rule, subject: Subject, laborer_id: str | None) -> None:
    flag = ctx.uow.edit(A.anomalies, anomaly_id(rule_.id, subject.kind, subject.id, laborer_id))
    if flag is None or not flag["active"]:
        return
    flag.update(active=False, withdrawn_seq=ctx.seq, updated_seq=ctx.seq)
    if flag["status"] == "open":
        flag["status"] = "withdrawn"
    ctx.history(flag, "withdrawn")


def _follow_proof(ctx: Ctx, flag: Row, proof: _Proof, *, whole: bool) -> None:
    """Make the flag cite what its supporting parts cite now (RULES.md: evidence the same in any order).

    An active flag already cites the union of its parts before this judgement, so only the judged
    part's change is applied: the seqs it cites now are added, those it no longer cites dropped
    unless another part still cites them (binary search: a long-running flag, such as an overdrawn
    fund paying on, must not cost its whole evidence list at every payment). A flag raised or
    raised again (``whole``) takes the whole union: a withdrawn flag kept its last evidence."""
    if whole:
        wanted = proof.union()
        for seq in [s for s in flag["evidence"] if s not in wanted]:
            ctx.cite(flag, seq, False)
        for seq in sorted(wanted):
            ctx.cite(flag, seq, True)
        return
    now = set(proof.now)
    for seq in now.difference(proof.was):
        ctx.cite(flag, seq, True)
    gone = set(proof.was).difference(now)
    if gone:
        for seq in gone.difference(proof.elsewhere()):
            ctx.cite(flag, seq, False)


def _dispose(ctx: Ctx, flag: Row, disposed: Disposition) -> None:
    flag.update(status=disposed.status, disposed_seq=disposed.seq, updated_seq=ctx.seq)
    ctx.history(flag, "disposed", note=disposed.note, actor=disposed.actor)


def dispose(ctx: Ctx) -> None:
    """``AnomalyDisposed``: the inspector's disposition becomes the flag's status (now or when raised)."""
    b = ctx.body
    disposed = Disposition(b["disposition"], ctx.seq, b["note"], ctx.ev.actor)
    flag = ctx.uow.edit(A.anomalies, b["anomaly_id"])
    if flag is None:
        ctx.keep(PENDING, b["anomaly_id"]).append(list(disposed))
        return
    _dispose(ctx, flag, disposed)


# --- jurisdiction of a flag (DESIGN §2: that of its subject) ---------------------------------------------
def jurisdiction_of(ctx: Ctx, kind: SubjectKind, ident: str) -> str | None:
    if kind == "certificate":
        cert = ctx.row(T.certificates, ident)
        return None if cert is None else _code(ctx.klass(cert["class_id"]))
    if kind == "reconciliation":  # "<actor_id>:<YYYY-MM>": the finance bureau's
        return _code(ctx.row(T.actors, ident.rpartition(":")[0]))
    table = {"laborer": T.laborers, "class": T.classes, "claim": T.claims, "payment": T.payments,
             "fund": T.funds, "actor": T.actors, "employment": T.employments}.get(kind)  # fmt: skip
    return None if table is None else _code(ctx.row(table, ident))


def _code(row: Row | None) -> str | None:
    return None if row is None else row["jurisdiction"]


# --- dates ------------------------------------------------------------------------------------------------
def days_between(earlier: str, later: str) -> int:
    return (dt.date.fromisoformat(later) - dt.date.fromisoformat(earlier)).days


def add_days(date: str, days: int) -> str:
    return (dt.date.fromisoformat(date) + dt.timedelta(days=days)).isoformat()


def shanghai_date(at: str) -> str:
    """The Asia/Shanghai calendar date of an RFC 3339 ``at``."""
    if at.endswith("+08:00"):
        return at[:10]
    moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
    return moment.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()


def months_from(month: str, count: int) -> Iterator[str]:
    """``count`` consecutive months starting at ``month`` (YYYY-MM)."""
    y, m = int(month[:4]), int(month[5:7])
    for _ in range(count):
        yield f"{y:04d}-{m:02d}"
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
