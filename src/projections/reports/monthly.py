"""The monthly accountability report's figures (DESIGN §11), counted from the read models.

A report is computed *as of* a checkpoint (``as_of`` = its size − 1) for a month and a
jurisdiction, which covers the codes below it. Every figure is a query on facts keyed by ``seq``
(``WHERE seq <= as_of``): the report facts of :mod:`.facts`, the postings, the claims, funds and
recoveries as first recorded, and the anomaly history. Nothing replays the log, so a report of
a month two years back costs what this month's does, and the same checkpoint gives the same
figures on any backend, after any rebuild. docs/reports.md defines each figure in Chinese and
English; the JSON is DESIGN §11's, written as JCS bytes plus LF by the front end.

Conventions. "In the month" is a business date (EVENTS.md) within it; "by the month's end" one
on or before its last day. Distinct labourer–class pairs are counted where a labourer can
appear twice (enrolled again, completed twice). Money is integer fen.
"""

from __future__ import annotations

import calendar
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.domain.policy import Jurisdictions
from ledger.encoding.b64 import b64encode
from ledger.errors import OperationalError, Refused
from ledger.persistence.store import StoredCheckpoint
from ledger.translog.note import parse_note
from projections import tables as T
from projections.anomalies import tables as A
from projections.anomalies.engine import RULES, SEVERITIES
from projections.readmodels.queries import as_int
from projections.reports.facts import facts as F

Doc = dict[str, Any]

CERTIFICATE_TYPES = ("driving_licence", "special_ability", "training_completion", "vocational_qualification")
INSPECTION_METHODS = ("phone_visit", "questionnaire", "site_visit", "spot_check")
VERDICTS = ("pass", "fail")
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(r.id.split("-", 1)[0] for r in RULES))
UNRESOLVED = ("open", "confirmed")  # a finding still standing: not cured, rectified or judged false
REGISTERED = ("poor", "eco_migrant")  # 建档立卡 categories that make a household count


@dataclass(frozen=True)
class Target:
    """A trainee-times target (培训人次目标): the range the policy sets."""

    min: int
    max: int

    def as_json(self) -> dict[str, int]:
        return {"min": self.min, "max": self.max}


# The policy's target for the city (实施意见, 2018-12-17): 33,970–42,465 trainee-times.
CITY_TARGET = Target(33_970, 42_465)
TARGETS_FILE = "report-targets.toml"  # beside the keystore's keys (docs/reports.md)


class TargetsInvalid(OperationalError):
    """The targets file is not TOML of ``[CODE] min = N max = N`` tables."""


def parse_targets(text: str, jurisdictions: Jurisdictions) -> dict[str, Target]:
    """The targets file's tables: jurisdiction code → target; the city keeps the policy's target
    unless the file sets another, other jurisdictions have none unless set."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetsInvalid(f"{TARGETS_FILE}: {exc}", zh=f"{TARGETS_FILE}：{exc}") from None
    root = [code for code, parent in jurisdictions.parents.items() if parent is None]
    out = {code: CITY_TARGET for code in root}
    for code, table in data.items():
        bounds = table if isinstance(table, dict) else {}
        low, high = bounds.get("min"), bounds.get("max")
        if (code not in jurisdictions or set(bounds) != {"min", "max"} or not isinstance(low, int)
                or not isinstance(high, int) or isinstance(low, bool) or isinstance(high, bool) or not 0 <= low <= high):  # fmt: skip
            raise TargetsInvalid(
                f"{TARGETS_FILE}: [{code}] must be a known jurisdiction with integers min <= max",
                zh=f"{TARGETS_FILE}：[{code}] 应为已知属地代码，且 min <= max 均为整数",
            )
        out[code] = Target(low, high)
    return out


class CheckpointNotFound(Refused):
    """A report is issued at a checkpoint; no signed checkpoint has the size asked for."""

    code = "checkpoint_not_found"


# The years a report may be asked for, as the years a fund may be allocated for (EVENTS.md): the
# chart's months run from the programme's first to the report's, so year 9999 would be 96,000 of them.
FIRST_YEAR, LAST_YEAR = 2000, 2100


class ReportInvalid(Refused):
    """The month or jurisdiction of a report request is not one the ledger knows."""

    code = "report_invalid"


# --- the request ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Month:
    """``YYYY-MM`` and its first and last day."""

    name: str
    first: str
    last: str

    @classmethod
    def parse(cls, text: str) -> Month:
        year, sep, month = text.partition("-")
        if not (sep and len(year) == 4 and len(month) == 2 and year.isdigit() and month.isdigit()
                and 1 <= int(month) <= 12 and FIRST_YEAR <= int(year) <= LAST_YEAR):  # fmt: skip
            raise ReportInvalid(f"--month must be YYYY-MM between {FIRST_YEAR}-01 and {LAST_YEAR}-12, not {text!r}",
                                zh=f"--month 应为 {FIRST_YEAR}-01 至 {LAST_YEAR}-12 之间的 YYYY-MM，而不是 {text!r}")  # fmt: skip
        days = calendar.monthrange(int(year), int(month))[1]
        return cls(text, f"{text}-01", f"{text}-{days:02d}")


def pick_checkpoint(stored: Sequence[StoredCheckpoint], size: int | None) -> StoredCheckpoint:
    """The checkpoint of ``size`` (default: the latest); its first signing when it was dual-signed.

    Any other size is refused with the nearest sizes signed (DESIGN §11)."""
    if not stored:
        raise CheckpointNotFound("no checkpoint has been signed yet (run `checkpoint`)",
                                 zh="尚未签署任何检查点（先运行 `checkpoint`）")  # fmt: skip
    ordered = sorted(stored, key=lambda c: (c.size, c.signed_at))
    if size is None:
        size = ordered[-1].size
    for checkpoint in ordered:
        if checkpoint.size == size:
            return checkpoint
    below = [c.size for c in ordered if c.size < size]
    above = [c.size for c in ordered if c.size > size]
    near = [str(s) for s in ([below[-1]] if below else []) + ([above[0]] if above else [])]
    raise CheckpointNotFound(
        f"no checkpoint of size {size}; the nearest are {' and '.join(near)}",
        zh=f"没有大小为 {size} 的检查点；最接近的是 {' 和 '.join(near)}",
    )


def operator_note(note: str) -> str:
    """The signed note without cosignatures (DESIGN §11): the text and the operator's lines.

    An operator signature is an Ed25519 signed-note signature (64 bytes after the key id); a
    ``tlog-cosignature/v1`` line carries an 8-byte timestamp before its signature (72 bytes)."""
    parsed = parse_note(note)
    lines = [line.format() for line in parsed.signatures if len(line.signature) == 64]
    return parsed.text + "\n" + "".join(line + "\n" for line in lines)


def checkpoint_json(checkpoint: StoredCheckpoint) -> Doc:
    return {"size": checkpoint.size, "root": b64encode(checkpoint.root), "note": operator_note(checkpoint.note),
            "signed_at": checkpoint.signed_at}  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """One report's window: the leaves (0..as_of), the month and the jurisdictions covered."""

    as_of: int
    month: Month
    codes: tuple[str, ...]

    def facts(self, *names: str, since: str | None = None) -> sa.Select[Any]:
        """Report facts of these kinds in the jurisdiction, dated ``since``..the month's end."""
        query = sa.select(F).where(F.c.fact.in_(names), F.c.date <= self.month.last, F.c.seq <= self.as_of,
                                   F.c.jurisdiction.in_(self.codes))  # fmt: skip
        return query if since is None else query.where(F.c.date >= since)

    def valid_certificates(self) -> sa.Select[Any]:
        """Certificate facts (any jurisdiction) issued by the month's end and not revoked by then."""
        revoked = sa.select(F.c.ref).where(F.c.fact == "certificate_revoked", F.c.date <= self.month.last,
                                           F.c.seq <= self.as_of)  # fmt: skip
        return sa.select(F).where(F.c.fact == "certificate", F.c.date <= self.month.last, F.c.seq <= self.as_of,
                                  F.c.ref.not_in(revoked))  # fmt: skip


def pairs(query: sa.Select[Any], *by: str) -> sa.Select[Any]:
    """How many distinct (``by``…, class, labourer) pairs ``query``'s facts hold, grouped by ``by``."""
    sub = query.with_only_columns(*(F.c[b] for b in by), F.c.class_id, F.c.laborer_id).distinct().subquery()
    return sa.select(*(sub.c[b] for b in by), sa.func.count()).select_from(sub).group_by(*(sub.c[b] for b in by))


# --- the document ------------------------------------------------------------------------------------------
def monthly_report(conn: Connection, *, month: str, jurisdiction: str, checkpoint: StoredCheckpoint,
                   jurisdictions: Jurisdictions, target: Target | None,
                   compare_with: StoredCheckpoint | None = None) -> Doc:  # fmt: skip
    """DESIGN §11's JSON document of ``month`` for ``jurisdiction`` as of ``checkpoint``."""
    scope = _scope(month, jurisdiction, checkpoint, jurisdictions)
    doc = {"report": "monthly", "month": scope.month.name, "jurisdiction": jurisdiction, "as_of": scope.as_of,
           "checkpoint": checkpoint_json(checkpoint), **figures(conn, scope, target), "late": None}  # fmt: skip
    if compare_with is not None:
        if compare_with.size <= checkpoint.size:
            raise ReportInvalid(
                f"--compare-with {compare_with.size} must be a later checkpoint than {checkpoint.size}",
                zh=f"--compare-with {compare_with.size} 应是晚于 {checkpoint.size} 的检查点",
            )
        later = _scope(month, jurisdiction, compare_with, jurisdictions)
        doc["late"] = late(conn, scope, later, doc, figures(conn, later, target), compare_with.size)
    return doc


def _scope(month: str, jurisdiction: str, checkpoint: StoredCheckpoint, jurisdictions: Jurisdictions) -> Scope:
    if jurisdiction not in jurisdictions:
        raise ReportInvalid(f"unknown jurisdiction {jurisdiction!r}", zh=f"未知的属地代码 {jurisdiction!r}")
    return Scope(checkpoint.size - 1, Month.parse(month), tuple(jurisdictions.covered(jurisdiction)))


def figures(conn: Connection, scope: Scope, target: Target | None) -> Doc:
    """Every figure of DESIGN §11 but the header and ``late``."""
    flags = _flags_at_month_end(conn, scope)
    return {
        "activity": activity(conn, scope),
        "cumulative": cumulative(conn, scope, target),
        "funds": funds(conn, scope),
        "money_month": money_month(conn, scope),
        "inspections": inspections(conn, scope),
        "anomalies": anomalies(conn, scope, flags),
        "institutions": institutions(conn, scope, flags),
    }


def activity(conn: Connection, scope: Scope) -> Doc:
    """Events of the month by kind; completers as distinct labourer–class pairs listed."""
    counted = ("class_requested", "class_approved", "class_completed", "enrolment", "withdrawal",
               "appraisal_failed", "employment_started", "employment_proof")  # fmt: skip
    month = scope.facts(*counted, since=scope.month.first).subquery()
    counts = {k: int(n) for k, n in conn.execute(sa.select(month.c.fact, sa.func.count()).group_by(month.c.fact))}
    completers = conn.execute(pairs(scope.facts("completer", since=scope.month.first))).scalar() or 0
    issued = scope.facts("certificate", since=scope.month.first).subquery()
    certs = dict.fromkeys(CERTIFICATE_TYPES, 0)
    certs.update((k, int(n)) for k, n in conn.execute(sa.select(issued.c.key, sa.func.count()).group_by(issued.c.key)))
    return {
        "classes_requested": counts.get("class_requested", 0), "classes_approved": counts.get("class_approved", 0),
        "classes_completed": counts.get("class_completed", 0), "enrolments": counts.get("enrolment", 0),
        "withdrawals": counts.get("withdrawal", 0), "completers": int(completers), "certificates": certs,
        "appraisals_failed": counts.get("appraisal_failed", 0),
        "employments_started": counts.get("employment_started", 0),
        "employment_proofs": counts.get("employment_proof", 0),
    }  # fmt: skip


def cumulative(conn: Connection, scope: Scope, target: Target | None) -> Doc:
    """Trainee-times, and households registered and with a certificate, by the month's end."""
    trainee_times = conn.execute(pairs(scope.facts("completer"))).scalar() or 0
    registered, certified = _households(conn, scope)
    return {"trainee_times": int(trainee_times), "target": None if target is None else target.as_json(),
            "households_registered": registered, "households_with_certificate": certified}  # fmt: skip


def _members(conn: Connection, scope: Scope) -> sa.Subquery:
    """Each labourer registered in the jurisdiction with the household and category it was
    registered with or last corrected to by the month's end (the latest by business date, then
    seq: DESIGN §3). Most labourers are never corrected: their registration is their state, and
    only the few corrected ones (read first, so no planner can join them row by row) go through a
    window."""
    corrected = sorted({lid for (lid,) in conn.execute(
        scope.facts("laborer").where(F.c.key == "corrected").with_only_columns(F.c.laborer_id))})  # fmt: skip
    as_registered = (scope.facts("laborer").where(F.c.key == "registered")
                     .with_only_columns(F.c.laborer_id, F.c.household_id, F.c.category))  # fmt: skip
    if not corrected:
        return as_registered.subquery("members")

    def latest(column: sa.Column[str]) -> sa.Label[str]:
        order = (column.is_(None), F.c.date.desc(), F.c.seq.desc())  # a correction names only what it changes
        return sa.func.first_value(column).over(partition_by=F.c.laborer_id, order_by=order).label(column.name)

    as_corrected = (scope.facts("laborer").where(F.c.laborer_id.in_(corrected))
                    .with_only_columns(F.c.laborer_id, latest(F.c.household_id), latest(F.c.category)).distinct())  # fmt: skip
    return sa.union_all(as_registered.where(F.c.laborer_id.not_in(corrected)), as_corrected).subquery("members")


def _any(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """1 when ``condition`` holds for a row of the group, else 0."""
    return sa.func.max(sa.case((condition, 1), else_=0))


def _households(conn: Connection, scope: Scope) -> tuple[int, int]:
    """Households (after corrections) with a poor or eco-migrant member registered in the
    jurisdiction; and those of them with a member holding a valid certificate of any type."""
    members = _members(conn, scope)
    holders = scope.valid_certificates().with_only_columns(F.c.laborer_id)
    households = (sa.select(_any(members.c.laborer_id.in_(holders)).label("certified"))
                  .group_by(members.c.household_id)
                  .having(_any(members.c.category.in_(REGISTERED)) == 1).subquery())  # fmt: skip
    registered, certified = conn.execute(sa.select(sa.func.count(), sa.func.sum(households.c.certified))).one()
    return int(registered or 0), int(certified or 0)


def funds(conn: Connection, scope: Scope) -> list[Doc]:
    """Each fund of the jurisdiction, cumulative to the month's end: its allocations and
    adjustments, the payments made from it and returned. The balance is the fund account's (as
    ``balances`` posts it); recovered money is held apart, since FundsRecovered names no fund."""
    f, mv, pay, e = T.funds, T.fund_movements, T.payments, T.events
    meta = {r.fund_id: r for r in conn.execute(
        sa.select(f).where(f.c.jurisdiction.in_(scope.codes), f.c.first_seq <= scope.as_of))}  # fmt: skip
    if not meta:
        return []
    ids = sorted(meta)
    moved: dict[tuple[str, str], int] = defaultdict(int)
    for fund_id, movement, amount in conn.execute(
            sa.select(mv.c.fund_id, mv.c.movement, sa.func.sum(mv.c.amount_fen))
            .join_from(mv, e, e.c.seq == mv.c.seq)
            .where(mv.c.fund_id.in_(ids), mv.c.seq <= scope.as_of, e.c.business_date <= scope.month.last)
            .group_by(mv.c.fund_id, mv.c.movement)):  # fmt: skip
        moved[(fund_id, movement)] = as_int(amount)
    paid = {k: as_int(v) for k, v in conn.execute(
        sa.select(pay.c.fund_id, sa.func.sum(pay.c.amount_fen))
        .where(pay.c.fund_id.in_(ids), pay.c.seq <= scope.as_of, pay.c.value_date <= scope.month.last)
        .group_by(pay.c.fund_id))}  # fmt: skip
    returned = {k: as_int(v) for k, v in conn.execute(
        sa.select(pay.c.fund_id, sa.func.sum(pay.c.amount_fen))
        .join_from(pay, e, e.c.seq == pay.c.returned_seq)
        .where(pay.c.fund_id.in_(ids), pay.c.returned_seq <= scope.as_of, e.c.business_date <= scope.month.last)
        .group_by(pay.c.fund_id))}  # fmt: skip
    recovered = _recovered_by_fund(conn, scope)
    out: list[Doc] = []
    for fund_id in ids:
        row = meta[fund_id]
        allocated, adjusted = moved[(fund_id, "allocation")], moved[(fund_id, "adjustment")]
        if not allocated and not adjusted and fund_id not in paid and fund_id not in returned:
            continue  # nothing dated by the month's end
        out.append({"fund_id": fund_id, "jurisdiction": row.jurisdiction, "source": row.source, "purpose": row.purpose,
                    "year": row.year, "allocated_fen": allocated, "adjusted_fen": adjusted,
                    "paid_fen": paid.get(fund_id, 0), "returned_fen": returned.get(fund_id, 0),
                    "recovered_fen": recovered.get(fund_id, 0),
                    "balance_fen": allocated + adjusted - paid.get(fund_id, 0) + returned.get(fund_id, 0)})  # fmt: skip
    return out


def _recovered_by_fund(conn: Connection, scope: Scope) -> dict[str, int]:
    """Recoveries by the month's end, each counted for the fund of its claim's first payment."""
    r, pay = T.recoveries, T.payments
    recovered: dict[str, int] = defaultdict(int)
    for claim_id, amount in conn.execute(sa.select(r.c.claim_id, r.c.amount_fen)
                                         .where(r.c.seq <= scope.as_of, r.c.business_date <= scope.month.last)):  # fmt: skip
        recovered[claim_id] += int(amount)
    first: dict[str, str] = {}
    for chunk in _chunks(sorted(recovered)):
        rows = conn.execute(sa.select(pay.c.claim_id, pay.c.fund_id)
                            .where(pay.c.claim_id.in_(chunk), pay.c.seq <= scope.as_of).order_by(pay.c.seq))  # fmt: skip
        for claim_id, fund_id in rows:
            first.setdefault(claim_id, fund_id)
    out: dict[str, int] = defaultdict(int)
    for claim_id, amount in recovered.items():
        if claim_id in first:
            out[first[claim_id]] += amount
    return out


def money_month(conn: Connection, scope: Scope) -> Doc:
    """Money of the month by the claim's jurisdiction, whatever fund paid it (DESIGN §11)."""
    c, p = T.claims, T.postings
    claimed = conn.execute(
        sa.select(sa.func.sum(c.c.claimed_fen))
        .where(c.c.claimed_date >= scope.month.first, c.c.claimed_date <= scope.month.last,
               c.c.claimed_seq <= scope.as_of, c.c.jurisdiction.in_(scope.codes))).scalar()  # fmt: skip
    sums = conn.execute(
        sa.select(p.c.entry, p.c.kind, sa.func.sum(p.c.debit_fen), sa.func.sum(p.c.credit_fen))
        .select_from(p.join(c, c.c.claim_id == p.c.claim_id))
        .where(p.c.period == scope.month.name, p.c.seq <= scope.as_of, c.c.jurisdiction.in_(scope.codes),
               p.c.kind.in_(("expense", "fund", "recovered")))
        .group_by(p.c.entry, p.c.kind))  # fmt: skip
    side = {(entry, kind): (as_int(d), as_int(cr)) for entry, kind, d, cr in sums}
    zero = (0, 0)
    return {
        "claimed_fen": as_int(claimed),
        "approved_fen": side.get(("approval", "expense"), zero)[0] - side.get(("approval_reversal", "expense"), zero)[1],
        "paid_fen": side.get(("payment", "fund"), zero)[1],
        "returned_fen": side.get(("return", "fund"), zero)[0],
        "recovered_fen": side.get(("recovery", "recovered"), zero)[0],
    }  # fmt: skip


def inspections(conn: Connection, scope: Scope) -> Doc:
    out = {method: dict.fromkeys(VERDICTS, 0) for method in INSPECTION_METHODS}
    month = scope.facts("inspection", since=scope.month.first).subquery()
    for method, verdict, n in conn.execute(sa.select(month.c.key, month.c.ref, sa.func.count())
                                           .group_by(month.c.key, month.c.ref)):  # fmt: skip
        out.setdefault(method, dict.fromkeys(VERDICTS, 0))[verdict] = int(n)
    return out


# --- flags ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlagAtMonthEnd:
    id: str
    rule: str
    severity: str
    subject_kind: str
    subject_id: str
    status: str  # after the last change dated by the month's end
    changes: tuple[str, ...]  # the kinds of change dated in the month


def _flags_at_month_end(conn: Connection, scope: Scope) -> list[FlagAtMonthEnd]:
    """Flags of the jurisdiction as they stood at the month's end (their history rows up to
    ``as_of`` whose leaf is dated by then), with the changes dated in the month."""
    h, a, e = A.history, A.anomalies, T.events
    if not sa.inspect(conn).has_table(h.name):
        return []
    query = (sa.select(h.c.anomaly_id, h.c.change, h.c.status, h.c.jurisdiction, e.c.business_date,
                       a.c.rule, a.c.severity, a.c.subject_kind, a.c.subject_id)
             .select_from(h.join(e, e.c.seq == h.c.seq).join(a, a.c.id == h.c.anomaly_id))
             .where(h.c.seq <= scope.as_of, e.c.business_date <= scope.month.last)
             .order_by(h.c.anomaly_id, h.c.seq, h.c.n))  # fmt: skip
    last: dict[str, Any] = {}
    changes: dict[str, list[str]] = defaultdict(list)
    for row in conn.execute(query):
        last[row.anomaly_id] = row
        if row.business_date >= scope.month.first:
            changes[row.anomaly_id].append(row.change)
    codes = set(scope.codes)
    return [FlagAtMonthEnd(i, r.rule, r.severity, r.subject_kind, r.subject_id, r.status, tuple(changes[i]))
            for i, r in sorted(last.items()) if r.jurisdiction in codes]  # fmt: skip


def anomalies(conn: Connection, scope: Scope, flags: Sequence[FlagAtMonthEnd]) -> Doc:
    """Flags raised, withdrawn and disposed in the month; those standing at its end by family
    (the rule id's prefix) and severity."""
    standing = [f for f in flags if f.status in UNRESOLVED]
    by_family: dict[str, int] = dict.fromkeys(FAMILIES, 0)
    by_severity: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for f in standing:
        by_family[f.rule.split("-", 1)[0]] += 1
        by_severity[f.severity] += 1

    def count(*kinds: str) -> int:
        return sum(1 for f in flags if any(c in kinds for c in f.changes))

    return {"raised": count("raised", "reraised"), "withdrawn": count("withdrawn"), "disposed": count("disposed"),
            "open_at_month_end": len(standing), "by_family": by_family, "by_severity": by_severity}  # fmt: skip


def _responsible(conn: Connection, flags: Sequence[FlagAtMonthEnd]) -> dict[str, str]:
    """Flag id → the organisation whose subject it is (谁使用、谁负责): a class's institution, a
    claim's claimant (a payment's through its claim), a certificate's class's institution, an actor."""
    ids: dict[str, set[str]] = defaultdict(set)
    for f in flags:
        ids[f.subject_kind].add(f.subject_id)
    owner: dict[tuple[str, str], str] = {("actor", i): i for i in ids["actor"]}
    for kind, table, key, column in (("class", T.classes, "class_id", "institution"),
                                     ("claim", T.claims, "claim_id", "claimant")):  # fmt: skip
        for chunk in _chunks(sorted(ids[kind])):
            rows = conn.execute(sa.select(table.c[key], table.c[column]).where(table.c[key].in_(chunk)))
            owner.update(((kind, k), v) for k, v in rows)
    pay, claims = T.payments, T.claims
    for chunk in _chunks(sorted(ids["payment"])):
        rows = conn.execute(sa.select(pay.c.payment_id, claims.c.claimant)
                            .select_from(pay.join(claims, claims.c.claim_id == pay.c.claim_id))
                            .where(pay.c.payment_id.in_(chunk)))  # fmt: skip
        owner.update((("payment", k), v) for k, v in rows)
    cert, cls = T.certificates, T.classes
    for chunk in _chunks(sorted(ids["certificate"])):
        rows = conn.execute(sa.select(cert.c.certificate_no, cls.c.institution)
                            .select_from(cert.join(cls, cls.c.class_id == cert.c.class_id))
                            .where(cert.c.certificate_no.in_(chunk)))  # fmt: skip
        owner.update((("certificate", k), v) for k, v in rows)
    return {f.id: owner[(f.subject_kind, f.subject_id)] for f in flags if (f.subject_kind, f.subject_id) in owner}


def institutions(conn: Connection, scope: Scope, flags: Sequence[FlagAtMonthEnd]) -> list[Doc]:
    """Each training institution with a class in the jurisdiction (or a finding standing against
    it there), cumulative to the month's end."""

    def by_institution(query: sa.Select[Any]) -> dict[str, int]:
        return {k: int(n) for k, n in conn.execute(query) if k is not None}

    trainees = by_institution(pairs(scope.facts("enrolment"), "institution"))
    completers = by_institution(pairs(scope.facts("completer"), "institution"))
    certified = by_institution(pairs(scope.valid_certificates().where(F.c.jurisdiction.in_(scope.codes)), "institution"))
    classes = sa.select(T.classes.c.class_id).where(T.classes.c.jurisdiction.in_(scope.codes))
    jobs = (sa.select(F.c.institution, F.c.laborer_id).distinct()
            .where(F.c.fact == "employment_started", F.c.date <= scope.month.last, F.c.seq <= scope.as_of,
                   F.c.class_id.in_(classes)).subquery())  # fmt: skip
    employed = by_institution(sa.select(jobs.c.institution, sa.func.count()).group_by(jobs.c.institution))
    requested = scope.facts("class_requested").with_only_columns(F.c.institution).distinct()
    seen = {k for (k,) in conn.execute(requested) if k is not None}
    open_by: dict[str, int] = defaultdict(int)
    for owner in _responsible(conn, [f for f in flags if f.status in UNRESOLVED]).values():
        open_by[owner] += 1
    actors = T.actors
    named = {r.actor_id: r.name for r in conn.execute(
        sa.select(actors.c.actor_id, actors.c.name)
        .where(actors.c.actor_id.in_(sorted(seen | set(open_by))), actors.c.role == "institution",
               actors.c.registered_seq <= scope.as_of))}  # fmt: skip
    out: list[Doc] = []
    for actor_id in sorted(named):
        n = trainees.get(actor_id, 0)
        out.append({"actor_id": actor_id, "name": named[actor_id], "trainees": n,
                    "completers": completers.get(actor_id, 0), "certified": certified.get(actor_id, 0),
                    "employed": employed.get(actor_id, 0), "open_anomalies": open_by[actor_id],
                    "anomalies_per_100_trainees": per_100(open_by[actor_id], n)})  # fmt: skip
    return out


def per_100(count: int, trainees: int) -> str | None:
    """``count`` per 100 trainees as a string with two decimals (half up); None without trainees."""
    if trainees == 0:
        return None
    return str((Decimal(count * 100) / Decimal(trainees)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


# --- as issued / as known now ---------------------------------------------------------------------------------
def late(conn: Connection, issued: Scope, now: Scope, before: Mapping[str, Any], after: Mapping[str, Any],
         compare_with: int) -> Doc:  # fmt: skip
    """What the leaves after the issuing checkpoint changed in the month's figures (DESIGN §11)."""
    keys = ("activity", "cumulative", "funds", "money_month", "inspections", "anomalies", "institutions")
    changes: list[Doc] = []
    for key in keys:
        _diff(f"/{key}", before[key], after[key], changes)
    e = T.events
    seqs = [int(s) for (s,) in conn.execute(
        sa.select(e.c.seq).where(e.c.seq > issued.as_of, e.c.seq <= now.as_of,
                                 e.c.business_date >= issued.month.first, e.c.business_date <= issued.month.last,
                                 e.c.jurisdiction.in_(issued.codes)).order_by(e.c.seq))]  # fmt: skip
    return {"compare_with": compare_with, "changes": changes, "seqs": seqs}


_IDS = {"/funds": "fund_id", "/institutions": "actor_id"}


def _diff(path: str, old: Any, new: Any, out: list[Doc]) -> None:
    """JSON Pointer paths (RFC 6901) whose values differ; list items are named by their id."""
    if isinstance(old, list) and isinstance(new, list) and path in _IDS:
        old, new = ({item[_IDS[path]]: item for item in side} for side in (old, new))
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(old.keys() | new.keys()):
            _diff(f"{path}/{_escape(k)}", old.get(k), new.get(k), out)
    elif old != new:
        out.append({"path": path, "as_issued": old, "as_known_now": new})


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# --- the chart ------------------------------------------------------------------------------------------------
def monthly_series(conn: Connection, *, month: str, jurisdiction: str, checkpoint: StoredCheckpoint,
                   jurisdictions: Jurisdictions) -> list[Doc]:  # fmt: skip
    """The months from the programme's first (its first class requested in the jurisdiction) to
    ``month``: cumulative trainee-times at each month's end and the completers listed in it."""
    scope = _scope(month, jurisdiction, checkpoint, jurisdictions)
    completed = scope.facts("completer")
    listed = completed.with_only_columns(sa.func.substr(F.c.date, 1, 7).label("month"), F.c.class_id,
                                         F.c.laborer_id).distinct().subquery()  # fmt: skip
    in_month = {m: int(n) for m, n in conn.execute(sa.select(listed.c.month, sa.func.count()).group_by(listed.c.month))}
    firsts = (completed.with_only_columns(sa.func.min(sa.func.substr(F.c.date, 1, 7)).label("month"))
              .group_by(F.c.class_id, F.c.laborer_id).subquery())  # fmt: skip
    new = {m: int(n) for m, n in conn.execute(sa.select(firsts.c.month, sa.func.count()).group_by(firsts.c.month))}
    start = conn.execute(sa.select(sa.func.min(F.c.date)).where(
        F.c.fact == "class_requested", F.c.seq <= scope.as_of, F.c.jurisdiction.in_(scope.codes))).scalar()  # fmt: skip
    months = _months(min(filter(None, [start and start[:7], *in_month, scope.month.name])), scope.month.name)
    out: list[Doc] = []
    total = 0
    for m in months:
        total += new.get(m, 0)
        out.append({"month": m, "trainee_times": total, "completers": in_month.get(m, 0)})
    return out


def _months(first: str, last: str) -> list[str]:
    year, month = int(first[:4]), int(first[5:7])
    out: list[str] = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _chunks(items: list[str], size: int = 400) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
