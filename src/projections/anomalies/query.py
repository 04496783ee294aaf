"""Reading flags: the listing (filters, as-of) and one flag with its history and evidence events.

The JSON of a flag is exactly RULES.md's object. *As of* leaf N (DESIGN §5) a flag exists if it
was first raised at or before N; its status, raised/withdrawn seqs, jurisdiction and message are
those of its last history row at or before N, and its evidence the seqs whose latest change at
or before N cites them (evidence follows the proof: a seq may be dropped, and cited again) — no
replay needed, the history tables carry the seqs.

The same queries answer from the database (an ``Engine`` or ``Connection``) or from tables held in
memory (:class:`~projections.uow.MemoryTables`, as ``runner.catchup.project_in_memory`` returns
them): only the fetching of rows differs (:class:`_SqlRows`, :class:`_MemoryRows`); from the rows
on, the mapping to RULES.md's objects is pure functions both share (:func:`select_flags`,
:func:`as_of_rows`, :func:`as_json`, :func:`history_json`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypedDict, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger.domain.policy import GUYUAN, Jurisdictions
from ledger.encoding.canonical import JSONValue
from projections import tables as T
from projections.anomalies import tables as A
from projections.anomalies.engine import RULES, SEVERITIES, STATUSES
from projections.ports import LogSource
from projections.readmodels.queries import last_included, resolve_as_of
from projections.uow import MemoryTables

RULE_ORDER = {r.id: i for i, r in enumerate(RULES)}
CURRENT = "current"  # every status but withdrawn: the default listing (RULES.md)

Target = Engine | Connection | MemoryTables
_T = TypeVar("_T")


class FlagRow(TypedDict):
    """A ``pj_anomalies`` row (what :func:`as_json` reads of it)."""

    id: str
    rule: str
    severity: str
    subject_kind: str
    subject_id: str
    laborer_id: str | None
    jurisdiction: str | None
    evidence: list[int]
    first_seq: int
    raised_seq: int
    withdrawn_seq: int | None
    status: str
    message: str
    message_en: str
    source: str


class ChangeRow(TypedDict):
    """A ``pj_anomaly_history`` row."""

    anomaly_id: str
    seq: int
    n: int
    change: str
    status: str
    raised_seq: int
    withdrawn_seq: int | None
    jurisdiction: str | None
    message: str
    message_en: str
    note: str | None
    actor: str | None


class Subject(TypedDict):
    kind: str
    id: str


class Flag(TypedDict):
    """RULES.md's flag object, keys in its order."""

    id: str
    rule: str
    severity: str
    subject: Subject
    laborer_id: str | None
    jurisdiction: str | None
    evidence: list[int]
    raised_seq: int
    withdrawn_seq: int | None
    status: str
    message: str
    message_en: str
    source: str


class Change(TypedDict):
    seq: int
    change: str
    status: str
    note: str | None
    actor: str | None


class FlagWithHistory(Flag):
    history: list[Change]


class EvidenceEvent(TypedDict):
    """One evidence leaf in human terms (``anomalies show``)."""

    seq: int
    type: str
    actor: str
    actor_name: str | None
    key_id: str
    officer: str | None
    at: str
    recorded_at: str
    business_date: str | None
    jurisdiction: str | None
    body: JSONValue


# --- pure: rows → RULES.md objects --------------------------------------------------------------------
def as_json(row: FlagRow) -> Flag:
    """RULES.md's flag object, keys in its order."""
    return {
        "id": row["id"], "rule": row["rule"], "severity": row["severity"],
        "subject": {"kind": row["subject_kind"], "id": row["subject_id"]}, "laborer_id": row["laborer_id"],
        "jurisdiction": row["jurisdiction"], "evidence": list(row["evidence"]), "raised_seq": row["raised_seq"],
        "withdrawn_seq": row["withdrawn_seq"], "status": row["status"], "message": row["message"],
        "message_en": row["message_en"], "source": row["source"],
    }  # fmt: skip


def history_json(changes: Iterable[ChangeRow]) -> list[Change]:
    return [{"seq": c["seq"], "change": c["change"], "status": c["status"], "note": c["note"],
             "actor": c["actor"]} for c in changes]  # fmt: skip


def statuses(status: str | None) -> set[str]:
    """``current`` (default: all but withdrawn), ``all``, or a comma-separated list of statuses."""
    every: set[str] = set(STATUSES)
    if status in (None, "", CURRENT):
        return every - {"withdrawn"}
    if status == "all":
        return every
    assert status is not None
    wanted = {s.strip() for s in status.split(",") if s.strip()}
    unknown = wanted - every
    if unknown:
        raise ValueError(f"unknown status {sorted(unknown)[0]!r}: use {', '.join(STATUSES)}, all or current")
    return wanted


def select_flags(rows: Iterable[FlagRow], *, wanted: set[str], codes: set[str] | None) -> list[Flag]:
    """The rows of the wanted statuses (and jurisdictions) as RULES.md's objects, most severe first."""
    out = [as_json(r) for r in rows if r["status"] in wanted and (codes is None or r["jurisdiction"] in codes)]
    order: dict[str, int] = {severity: i for i, severity in enumerate(SEVERITIES)}
    out.sort(key=lambda f: (order[f["severity"]], RULE_ORDER.get(f["rule"], 99), f["rule"],
                            f["subject"]["kind"], f["subject"]["id"], f["laborer_id"] or "", f["id"]))  # fmt: skip
    return out


def as_of_rows(flags: Iterable[FlagRow], changes: Iterable[ChangeRow], evidence: Iterable[tuple[str, int]]) -> list[FlagRow]:
    """Each flag as it stood after a leaf: ``changes`` are its history rows up to that leaf in
    ``(seq, n)`` order, ``evidence`` the ``(anomaly id, seq)`` cited by then. A flag without a
    change by then is left out."""
    latest: dict[str, ChangeRow] = {}
    for change in changes:
        latest[change["anomaly_id"]] = change
    added: dict[str, list[int]] = {}
    for anomaly_id, seq in evidence:
        added.setdefault(anomaly_id, []).append(int(seq))
    out: list[FlagRow] = []
    for flag in flags:
        last = latest.get(flag["id"])
        if last is None:
            continue
        row = flag.copy()
        row["status"], row["raised_seq"], row["withdrawn_seq"] = last["status"], last["raised_seq"], last["withdrawn_seq"]
        row["jurisdiction"], row["message"], row["message_en"] = last["jurisdiction"], last["message"], last["message_en"]
        row["evidence"] = sorted(added.get(flag["id"], []))
        out.append(row)
    return out


def cited(changes: Iterable[tuple[str, int, int, bool]]) -> list[tuple[str, int]]:
    """``(anomaly id, seq)`` cited after the evidence ``changes`` ``(anomaly id, seq, changed_seq,
    cited)``: each seq as its latest change left it."""
    latest: dict[tuple[str, int], tuple[int, bool]] = {}
    for anomaly_id, seq, changed_seq, is_cited in changes:
        key = (str(anomaly_id), int(seq))
        held = latest.get(key)
        if held is None or held[0] < changed_seq:
            latest[key] = (int(changed_seq), bool(is_cited))
    return sorted(key for key, (_, is_cited) in latest.items() if is_cited)


# --- where the rows come from ----------------------------------------------------------------------------
class _Rows(Protocol):
    """Rows of the anomaly tables up to leaf ``last`` (None: nothing projected)."""

    last: int | None

    def flags(self, rule: str | None, severity: str | None, anomaly_id: str | None = None) -> list[FlagRow]:
        """Flags first raised at or before ``last``."""
        ...

    def changes(self, ids: list[str]) -> list[ChangeRow]:
        """Their history up to ``last``, by flag, seq and n."""
        ...

    def evidence(self, ids: list[str]) -> list[tuple[str, int]]:
        """``(anomaly id, seq)`` of the evidence cited as of ``last``."""
        ...


class _SqlRows:
    def __init__(self, conn: Connection, as_of: int | None):
        self.conn = conn
        self.present = sa.inspect(conn).has_table(A.anomalies.name)
        self.last = resolve_as_of(conn, as_of) if self.present else None

    def flags(self, rule: str | None, severity: str | None, anomaly_id: str | None = None) -> list[FlagRow]:
        a = A.anomalies
        query = sa.select(a).where(a.c.first_seq <= self.last)
        for column, value in ((a.c.rule, rule), (a.c.severity, severity), (a.c.id, anomaly_id)):
            if value is not None:
                query = query.where(column == value)
        return [cast(FlagRow, dict(r)) for r in self.conn.execute(query).mappings()]

    def flags_in(self, ids: list[str]) -> list[FlagRow]:
        """The flags of these ids first raised at or before ``last``."""
        a = A.anomalies
        query = sa.select(a).where(a.c.id.in_(ids), a.c.first_seq <= self.last)
        return [cast(FlagRow, dict(r)) for r in self.conn.execute(query).mappings()]

    def changes(self, ids: list[str]) -> list[ChangeRow]:
        h = A.history
        out: list[ChangeRow] = []
        for chunk in _chunks(sorted(ids)):
            query = sa.select(h).where(h.c.anomaly_id.in_(chunk), h.c.seq <= self.last)
            out += [cast(ChangeRow, dict(r)) for r in self.conn.execute(query.order_by(h.c.anomaly_id, h.c.seq, h.c.n)).mappings()]
        return out

    def evidence(self, ids: list[str]) -> list[tuple[str, int]]:
        e = A.evidence
        out: list[tuple[str, int, int, bool]] = []
        for chunk in _chunks(sorted(ids)):
            query = sa.select(e.c.anomaly_id, e.c.seq, e.c.changed_seq, e.c.cited).where(
                e.c.anomaly_id.in_(chunk), e.c.changed_seq <= self.last)  # fmt: skip
            out += [(str(a), int(seq), int(changed), bool(c)) for a, seq, changed, c in self.conn.execute(query)]
        return cited(out)


class _MemoryRows:
    def __init__(self, tables: MemoryTables, as_of: int | None):
        self.tables = tables
        self.last = last_included(tables.position, as_of)

    def flags(self, rule: str | None, severity: str | None, anomaly_id: str | None = None) -> list[FlagRow]:
        last = -1 if self.last is None else self.last
        rows = cast(list[FlagRow], self.tables.rows(A.anomalies))
        return [r for r in rows if r["first_seq"] <= last and rule in (None, r["rule"])
                and severity in (None, r["severity"]) and anomaly_id in (None, r["id"])]  # fmt: skip

    def changes(self, ids: list[str]) -> list[ChangeRow]:
        wanted, last = set(ids), -1 if self.last is None else self.last
        rows = cast(list[ChangeRow], self.tables.rows(A.history))
        found = [r for r in rows if r["anomaly_id"] in wanted and r["seq"] <= last]
        return sorted(found, key=lambda r: (r["anomaly_id"], r["seq"], r["n"]))

    def evidence(self, ids: list[str]) -> list[tuple[str, int]]:
        wanted, last = set(ids), -1 if self.last is None else self.last
        return cited((r["anomaly_id"], r["seq"], r["changed_seq"], r["cited"]) for r in self.tables.rows(A.evidence)
                     if r["anomaly_id"] in wanted and r["changed_seq"] <= last)  # fmt: skip


@contextmanager
def _rows(target: Target, as_of: int | None) -> Iterator[_Rows | None]:
    """The rows of ``target`` up to ``as_of``; None when the anomaly tables do not exist yet."""
    if isinstance(target, MemoryTables):
        yield _MemoryRows(target, as_of)
        return
    with _conn(target) as conn:
        rows = _SqlRows(conn, as_of)
        yield rows if rows.present else None


@contextmanager
def _conn(target: Engine | Connection) -> Iterator[Connection]:
    if isinstance(target, Engine):
        with target.connect() as conn:
            yield conn
    else:
        yield target


def _chunks(items: list[_T], size: int = 400) -> Iterable[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the queries ---------------------------------------------------------------------------------------
def list_flags(target: Target, *, rule: str | None = None, severity: str | None = None,
               jurisdiction: str | None = None, status: str | None = None, as_of: int | None = None,
               jurisdictions: Jurisdictions = GUYUAN) -> list[Flag]:  # fmt: skip
    """Flags as RULES.md's objects, most severe first; ``as_of`` = the last leaf included."""
    wanted = statuses(status)
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}: use {', '.join(SEVERITIES)}")
    with _rows(target, as_of) as source:
        if source is None or source.last is None:
            return []
        rows = source.flags(rule, severity)
        if as_of is not None:
            ids = [r["id"] for r in rows]
            rows = as_of_rows(rows, source.changes(ids), source.evidence(ids))
    codes = None if jurisdiction is None else set(jurisdictions.covered(jurisdiction))
    return select_flags(rows, wanted=wanted, codes=codes)


def get_flag(target: Target, anomaly_id: str, *, as_of: int | None = None) -> FlagWithHistory | None:
    """One flag (any status) as RULES.md's object plus its ``history``, or None."""
    with _rows(target, as_of) as source:
        if source is None or source.last is None:
            return None
        rows = source.flags(None, None, anomaly_id)
        if not rows:
            return None
        changes = source.changes([anomaly_id])
        if as_of is not None:
            rows = as_of_rows(rows, changes, source.evidence([anomaly_id]))
    flag = as_json(rows[0])
    return {**flag, "history": history_json(changes)}


def evidence_events(ledger: LogSource, target: Engine | Connection, seqs: Iterable[int]) -> list[EvidenceEvent]:
    """Each evidence leaf in human terms: who signed what, when, with which key, for which officer."""
    wanted = sorted(set(seqs))
    out: list[EvidenceEvent] = []
    with _conn(target) as conn:
        names = {actor: name for actor, name in conn.execute(sa.select(T.actors.c.actor_id, T.actors.c.name))}
        facts = {int(r[0]): (r[1], r[2]) for r in conn.execute(
            sa.select(T.events.c.seq, T.events.c.business_date, T.events.c.jurisdiction)
            .where(T.events.c.seq.in_(wanted)))}  # fmt: skip
    for seq in wanted:
        leaf = ledger.leaf(seq)
        if leaf is None:
            continue
        doc = json.loads(leaf)
        env = doc["envelope"]
        fact = facts.get(seq)
        out.append({
            "seq": seq, "type": env["type"], "actor": env["actor"], "actor_name": names.get(env["actor"]),
            "key_id": env["key_id"], "officer": env.get("officer"), "at": env["at"],
            "recorded_at": doc["recorded_at"], "business_date": None if fact is None else fact[0],
            "jurisdiction": None if fact is None else fact[1], "body": env["body"],
        })  # fmt: skip
    return out


def flags_about(target: Engine | Connection, subjects: Iterable[tuple[str, str]], seqs: Iterable[int], *,
                as_of: int) -> list[Flag]:  # fmt: skip
    """Every flag (any status) as of leaf ``as_of`` whose subject is one of ``subjects`` or whose
    evidence cites one of ``seqs`` as of then (a trace's anomalies, DESIGN §12), most severe first."""
    a, e = A.anomalies, A.evidence
    by_kind: dict[str, set[str]] = {}
    for kind, ident in subjects:
        by_kind.setdefault(kind, set()).add(ident)
    with _rows(target, as_of) as source:
        if source is None or source.last is None:
            return []
        assert isinstance(source, _SqlRows)
        ids: set[str] = set()
        terms = [(a.c.subject_kind == kind) & a.c.subject_id.in_(chunk)
                 for kind, idents in sorted(by_kind.items()) for chunk in _chunks(sorted(idents))]  # fmt: skip
        for start in range(0, len(terms), 20):  # one round trip for a trace's dozen kinds of subject
            ids.update(source.conn.execute(sa.select(a.c.id).where(sa.or_(*terms[start : start + 20]))).scalars())
        wanted = set(seqs)
        for part in _chunks(sorted(wanted)):  # every flag that ever cited one: those citing one then are among them
            query = sa.select(e.c.anomaly_id).where(e.c.seq.in_(part), e.c.changed_seq <= source.last)
            ids.update(source.conn.execute(query).scalars())
        rows = [r for chunk in _chunks(sorted(ids)) for r in source.flags_in(chunk)]
        if source.last != resolve_as_of(source.conn, None):  # the rows are the current state: as of an earlier leaf, replay history
            ids_found = [r["id"] for r in rows]
            rows = as_of_rows(rows, source.changes(ids_found), source.evidence(ids_found))
    rows = [r for r in rows if r["subject_id"] in by_kind.get(r["subject_kind"], ()) or not wanted.isdisjoint(r["evidence"])]
    return select_flags(rows, wanted=set(STATUSES), codes=None)
