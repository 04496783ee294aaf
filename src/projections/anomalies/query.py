"""Reading flags: the listing (filters, as-of) and one flag with its history and evidence events.

The JSON of a flag is exactly RULES.md's object. *As of* leaf N (DESIGN §5) a flag exists if it
was first raised at or before N; its status, raised/withdrawn seqs, jurisdiction and message are
those of its last history row at or before N, and its evidence the seqs added at or before N —
no replay needed, the history tables carry the seqs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ledger.domain.policy import GUYUAN, Jurisdictions
from projections import tables as T
from projections.anomalies import tables as A
from projections.anomalies.engine import RULES, SEVERITIES, STATUSES
from projections.readmodels.queries import resolve_as_of

RULE_ORDER = {r.id: i for i, r in enumerate(RULES)}
CURRENT = "current"  # every status but withdrawn: the default listing (RULES.md)


@contextmanager
def _conn(target: Engine | Connection) -> Any:
    if isinstance(target, Engine):
        with target.connect() as conn:
            yield conn
    else:
        yield target


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    """RULES.md's flag object, keys in its order."""
    return {
        "id": row["id"], "rule": row["rule"], "severity": row["severity"],
        "subject": {"kind": row["subject_kind"], "id": row["subject_id"]}, "laborer_id": row["laborer_id"],
        "jurisdiction": row["jurisdiction"], "evidence": list(row["evidence"]), "raised_seq": row["raised_seq"],
        "withdrawn_seq": row["withdrawn_seq"], "status": row["status"], "message": row["message"],
        "message_en": row["message_en"], "source": row["source"],
    }  # fmt: skip


def statuses(status: str | None) -> set[str]:
    """``current`` (default: all but withdrawn), ``all``, or a comma-separated list of statuses."""
    if status in (None, "", CURRENT):
        return set(STATUSES) - {"withdrawn"}
    if status == "all":
        return set(STATUSES)
    wanted = {s.strip() for s in status.split(",") if s.strip()}
    unknown = wanted - set(STATUSES)
    if unknown:
        raise ValueError(f"unknown status {sorted(unknown)[0]!r}: use {', '.join(STATUSES)}, all or current")
    return wanted


def list_flags(target: Engine | Connection, *, rule: str | None = None, severity: str | None = None,
               jurisdiction: str | None = None, status: str | None = None, as_of: int | None = None,
               jurisdictions: Jurisdictions = GUYUAN) -> list[dict[str, Any]]:  # fmt: skip
    """Flags as RULES.md's objects, most severe first; ``as_of`` = the last leaf included."""
    wanted = statuses(status)
    if severity is not None and severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}: use {', '.join(SEVERITIES)}")
    with _conn(target) as conn:
        if not sa.inspect(conn).has_table(A.anomalies.name):
            return []
        last = resolve_as_of(conn, as_of)
        if last is None:
            return []
        a = A.anomalies
        query = sa.select(a).where(a.c.first_seq <= last)
        if rule is not None:
            query = query.where(a.c.rule == rule)
        if severity is not None:
            query = query.where(a.c.severity == severity)
        rows = [dict(r) for r in conn.execute(query).mappings()]
        if as_of is not None:
            rows = _as_of(conn, rows, last)
    codes = None if jurisdiction is None else set(_covered(jurisdiction, jurisdictions))
    out = [as_json(r) for r in rows if r["status"] in wanted and (codes is None or r["jurisdiction"] in codes)]
    out.sort(key=lambda f: (SEVERITIES.index(f["severity"]), RULE_ORDER.get(f["rule"], 99), f["rule"],
                            f["subject"]["kind"], f["subject"]["id"], f["laborer_id"] or "", f["id"]))  # fmt: skip
    return out


def _covered(code: str, jurisdictions: Jurisdictions) -> list[str]:
    return [code, *(c for c in jurisdictions.names if c != code and jurisdictions.covers(code, c))]


def _chunks(items: list[str], size: int = 400) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _as_of(conn: Connection, rows: list[dict[str, Any]], last: int) -> list[dict[str, Any]]:
    """Each flag as it stood after leaf ``last``: its last change and the evidence added by then."""
    by_id = {r["id"]: r for r in rows}
    h, e = A.history, A.evidence
    latest: dict[str, dict[str, Any]] = {}
    evidence: dict[str, list[int]] = {i: [] for i in by_id}
    for ids in _chunks(sorted(by_id)):
        for changed in conn.execute(
            sa.select(h).where(h.c.anomaly_id.in_(ids), h.c.seq <= last).order_by(h.c.anomaly_id, h.c.seq, h.c.n)
        ).mappings():  # fmt: skip
            latest[changed["anomaly_id"]] = dict(changed)
        for anomaly_id, seq in conn.execute(
            sa.select(e.c.anomaly_id, e.c.seq).where(e.c.anomaly_id.in_(ids), e.c.added_seq <= last)
        ):  # fmt: skip
            evidence[anomaly_id].append(int(seq))
    out = []
    for anomaly_id, flag in by_id.items():
        change = latest.get(anomaly_id)
        if change is None:
            continue
        out.append(dict(flag, status=change["status"], raised_seq=change["raised_seq"],
                        withdrawn_seq=change["withdrawn_seq"], jurisdiction=change["jurisdiction"],
                        message=change["message"], message_en=change["message_en"],
                        evidence=sorted(evidence[anomaly_id])))  # fmt: skip
    return out


def get_flag(target: Engine | Connection, anomaly_id: str, *, as_of: int | None = None) -> dict[str, Any] | None:
    """One flag (any status) as RULES.md's object plus its ``history``, or None."""
    with _conn(target) as conn:
        if not sa.inspect(conn).has_table(A.anomalies.name):
            return None
        last = resolve_as_of(conn, as_of)
        row = conn.execute(sa.select(A.anomalies).where(A.anomalies.c.id == anomaly_id)).mappings().first()
        if row is None or last is None or row["first_seq"] > last:
            return None
        rows = [dict(row)]
        if as_of is not None:
            rows = _as_of(conn, rows, last)
        h = A.history
        changes = conn.execute(
            sa.select(h).where(h.c.anomaly_id == anomaly_id, h.c.seq <= last).order_by(h.c.seq, h.c.n)
        ).mappings()  # fmt: skip
        history = [{"seq": c["seq"], "change": c["change"], "status": c["status"], "note": c["note"],
                    "actor": c["actor"]} for c in changes]  # fmt: skip
    return dict(as_json(rows[0]), history=history)


def evidence_events(ledger: Any, target: Engine | Connection, seqs: Iterable[int]) -> list[dict[str, Any]]:
    """Each evidence leaf in human terms: who signed what, when, with which key, for which officer."""
    seqs = sorted(set(seqs))
    out = []
    with _conn(target) as conn:
        names = dict(conn.execute(sa.select(T.actors.c.actor_id, T.actors.c.name)).all())
        facts = {int(r[0]): r for r in conn.execute(
            sa.select(T.events.c.seq, T.events.c.business_date, T.events.c.jurisdiction)
            .where(T.events.c.seq.in_(seqs)))}  # fmt: skip
    for seq in seqs:
        leaf = ledger.leaf(seq)
        if leaf is None:
            continue
        doc = json.loads(leaf)
        env = doc["envelope"]
        fact = facts.get(seq)
        out.append({
            "seq": seq, "type": env["type"], "actor": env["actor"], "actor_name": names.get(env["actor"]),
            "key_id": env["key_id"], "officer": env.get("officer"), "at": env["at"],
            "recorded_at": doc["recorded_at"], "business_date": None if fact is None else fact[1],
            "jurisdiction": None if fact is None else fact[2], "body": env["body"],
        })  # fmt: skip
    return out
