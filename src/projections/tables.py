"""The read-model tables (all prefixed ``pj_``): derived only from the log, rebuildable at will.

Every row carries the ``seq`` of the leaf (or leaves) that produced it, so an anomaly, a trace
or an auditor can cite the evidence. Three shapes recur, and they decide what supports *as of*
(DESIGN §5; docs/projections.md has the table):

* **facts** — append-only rows keyed by ``seq`` (postings, events, fund movements, claim and
  approval lines…). ``WHERE seq <= N`` is their state as of ``N``; a fact that a later leaf
  supersedes (an approval superseded by a later one) names that leaf in ``replaced_seq``, so
  "current as of N" is ``seq <= N AND (replaced_seq IS NULL OR replaced_seq > N)``.
* **entities** — one row per subject (labourer, class, claim…), the current state, with the
  seqs of the events that set each part. Rows created after N are excluded by their creating
  seq; for the full state as of N, :func:`projections.runner.catchup.snapshot` replays 0..N into a
  scratch database.
* **pj_position** — the runner's position (next seq) and the log clock, written in the same
  transaction as the rows (exactly-once).

Dates are ISO strings (``YYYY-MM-DD``), months ``YYYY-MM``, money integer fen, lists canonical
JSON text: a rebuild writes byte-identical values on SQLite and PostgreSQL alike.

Other projection modules (the anomaly rules) add their tables to :data:`metadata`, so a rebuild
drops and recreates them with the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as _sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.schema import SchemaItem
from sqlalchemy.types import TypeDecorator

from ledger.encoding.canonical import JSONValue, canonical_str, loads_trusted

PREFIX = "pj_"

metadata = sa.MetaData()


def _table(name: str, *parts: SchemaItem) -> sa.Table:
    """A ``pj_`` table; on SQLite clustered by its primary key (one B-tree less per insert)."""
    return sa.Table(name, metadata, *parts, sqlite_with_rowid=False)


class CanonicalJSON(TypeDecorator[JSONValue]):
    """A JSON value stored as RFC 8785 text: the same bytes on every backend and every rebuild."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: JSONValue | None, dialect: Dialect) -> str | None:
        return None if value is None else canonical_str(value)

    def process_result_value(self, value: str | bytes | None, dialect: Dialect) -> JSONValue | None:
        return None if value is None else loads_trusted(value)


def _text(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=nullable)


def _int(name: str, *, nullable: bool = True, default: int | None = None) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=nullable, default=default)


def _fen(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, default=0)


def _bool(name: str, *, nullable: bool = True) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean, nullable=nullable)


def _json(name: str, *, nullable: bool = True) -> sa.Column[JSONValue]:
    return sa.Column(name, CanonicalJSON, nullable=nullable)


def _key(name: str, kind: type[sa.Text | sa.BigInteger | sa.Integer] = sa.Text) -> sa.Column[str | int]:
    return sa.Column(name, kind, primary_key=True, autoincrement=False)


# --- the runner's own state ------------------------------------------------------------------
position = _table(
    "pj_position",
    _key("name"),
    _int("next_seq", nullable=False),           # the first leaf not yet projected
    _text("log_clock"),                          # DESIGN §3 "now" after next_seq - 1
    _text("schema", nullable=False),             # fingerprint: a change forces a rebuild
)  # fmt: skip

# --- every leaf: the index a trace, a report or a rule starts from ----------------------------
events = _table(
    "pj_events",
    _key("seq", sa.BigInteger),
    _text("type", nullable=False),
    _text("actor", nullable=False),
    _text("officer"),
    _text("at", nullable=False),
    _text("recorded_at", nullable=False),
    _text("business_date", nullable=False),      # EVENTS.md "business date"
    _text("jurisdiction"),                       # DESIGN §2 jurisdiction of the event
    _text("subject_kind", nullable=False),
    _text("subject_id", nullable=False),
    _text("log_clock"),                          # the log clock after this leaf (as-of "now")
    sa.Index("pj_events_subject", "subject_kind", "subject_id"),
)  # fmt: skip

# --- actors, keys, standards --------------------------------------------------------------------
actors = _table(
    "pj_actors",
    _key("actor_id"),
    _text("role", nullable=False),
    _text("name", nullable=False),
    _text("jurisdiction", nullable=False),
    _text("uscc"),
    _int("registered_seq", nullable=False),
    _text("key_id"),                             # the current key (None once revoked)
    _int("rotated_seq"),
    _int("revoked_seq"),
)  # fmt: skip

keys = _table(
    "pj_keys",
    _key("key_id"),
    _text("actor_id", nullable=False),
    _int("from_seq", nullable=False),
    _int("until_seq"),                           # the leaf that rotated or revoked it
    _text("until_at"),                           # the rotation's at, or the revocation's effective_at
    _int("revoked_seq"),
    _text("revoked_reason"),
)  # fmt: skip

standards = _table(
    "pj_standards",
    _key("standard_id"),
    _text("kind", nullable=False),
    _text("programme"),
    _text("certificate_type"),
    _text("occupation"),
    _fen("amount_fen"),
    _text("per", nullable=False),
    _text("effective_from", nullable=False),
    _text("effective_to"),
    _int("seq", nullable=False),
)  # fmt: skip

# --- funds ------------------------------------------------------------------------------------------
funds = _table(
    "pj_funds",
    _key("fund_id"),
    _text("jurisdiction", nullable=False),
    _text("source", nullable=False),             # of the first allocation
    _text("purpose", nullable=False),
    _int("year", nullable=False),
    _bool("poverty_only", nullable=False),
    _fen("allocated_fen"),
    _fen("adjusted_fen"),                        # signed sum of FundAdjusted
    _fen("paid_fen"),
    _fen("returned_fen"),
    _int("first_seq", nullable=False),
    _int("last_seq", nullable=False),
)  # fmt: skip

fund_movements = _table(
    "pj_fund_movements",
    _key("seq", sa.BigInteger),
    _text("fund_id", nullable=False),
    _text("movement", nullable=False),           # allocation | adjustment
    _text("source"),
    _int("year"),
    _fen("amount_fen"),                          # signed for adjustments
    _text("reason"),
    _bool("poverty_only"),
    sa.Index("pj_fund_movements_fund", "fund_id"),
)  # fmt: skip

# --- labourers ----------------------------------------------------------------------------------------
laborers = _table(
    "pj_laborers",
    _key("laborer_id"),
    _text("household_id", nullable=False),
    _text("jurisdiction", nullable=False),
    _text("township", nullable=False),
    _text("village", nullable=False),
    _text("birth_date", nullable=False),
    _text("gender"),
    _text("category", nullable=False),
    _text("id_fingerprint", nullable=False),
    _text("pii_commitment", nullable=False),
    _text("registered_by", nullable=False),
    _int("registered_seq", nullable=False),
    _int("corrected_seq"),
    _text("identity_status", nullable=False),    # none | confirmed | rejected (the latest decision)
    _int("identity_seq"),                        # the deciding leaf
    _text("identity_date"),
    _bool("erased", nullable=False),
    _int("erased_seq"),
    sa.Index("pj_laborers_fingerprint", "id_fingerprint"),
    sa.Index("pj_laborers_household", "household_id"),
)  # fmt: skip

identity_decisions = _table(
    "pj_identity_decisions",
    _key("seq", sa.BigInteger),
    _key("laborer_id"),
    _text("decision", nullable=False),           # confirmed | rejected
    _text("source", nullable=False),             # IdentityConfirmed | IdentityRejected | ClaimIdentityVerified
    _text("claim_id"),
    _text("business_date", nullable=False),
    _text("note"),
)  # fmt: skip

# --- classes ----------------------------------------------------------------------------------------------
classes = _table(
    "pj_classes",
    _key("class_id"),
    _text("institution", nullable=False),
    _text("programme", nullable=False),
    _text("occupation", nullable=False),
    _bool("in_catalog", nullable=False),
    _text("jurisdiction", nullable=False),
    _text("site", nullable=False),
    _text("planned_start", nullable=False),
    _text("planned_end", nullable=False),
    _int("capacity", nullable=False),
    _int("hours_per_day", nullable=False),
    _int("practical_percent", nullable=False),
    _fen("subsidy_per_trainee_fen"),
    _int("requested_seq", nullable=False),
    _text("status", nullable=False),             # requested | approved | rejected | cancelled | completed
    _int("status_seq", nullable=False),
    _text("status_date", nullable=False),
    _int("approved_seq"),
    _text("approved_date"),
    _text("approver"),
    _int("rejected_seq"),
    _int("cancelled_seq"),
    _int("enrolled", nullable=False, default=0),      # enrolled and not withdrawn
    _int("withdrawn", nullable=False, default=0),
    _int("attendance_days", nullable=False, default=0),
    _text("first_attendance"),
    _text("last_attendance"),
    _int("completed_seq"),
    _text("end_date"),
    _json("completers"),
    _int("review_seq"),
    _bool("review_approved"),
    _text("review_note"),
    _text("reviewer"),
    sa.Index("pj_classes_institution", "institution"),
)  # fmt: skip

trainees = _table(
    "pj_trainees",
    _key("class_id"),
    _key("laborer_id"),
    _int("first_enrolled_seq"),
    _int("enrolled_seq"),                        # the latest enrolment
    _text("enrolled_date"),
    _int("withdrawn_seq"),                       # the latest withdrawal
    _text("withdrawn_date"),
    _text("withdrawal_reason"),
    _bool("active", nullable=False),             # enrolled after its latest withdrawal
    _int("attendance_days", nullable=False, default=0),   # over current class-days
    _int("theory_hours", nullable=False, default=0),
    _int("practical_hours", nullable=False, default=0),
    _int("completed_seq"),                       # among the completers of the latest completion
    sa.Index("pj_trainees_laborer", "laborer_id"),
)  # fmt: skip

class_days = _table(
    "pj_class_days",
    _key("class_id"),
    _key("date"),
    _int("seq", nullable=False),                 # the AttendanceRecorded that is current
    _int("first_seq", nullable=False),
    _int("versions", nullable=False),
    _text("at", nullable=False),                 # when the current record was signed
    _int("hours", nullable=False),               # RULES.md: most theory + practical of any trainee
    _json("trainees", nullable=False),           # [[laborer_id, theory, practical], …] as recorded
)  # fmt: skip

inspections = _table(
    "pj_inspections",
    _key("inspection_id"),
    _int("seq", nullable=False),
    _text("actor", nullable=False),
    _text("method", nullable=False),
    _text("subject_kind", nullable=False),
    _text("subject_id", nullable=False),
    _text("class_id"),
    _text("date", nullable=False),
    _text("at", nullable=False),
    _text("verdict", nullable=False),
    _json("present", nullable=False),
    _json("absent", nullable=False),
    _json("checklist"),
    _json("findings", nullable=False),
    sa.Index("pj_inspections_class", "class_id"),
    sa.Index("pj_inspections_subject", "subject_kind", "subject_id"),
)  # fmt: skip

# --- certificates, appraisal, employment -----------------------------------------------------------------
certificates = _table(
    "pj_certificates",
    _key("certificate_no"),
    _text("certificate_type", nullable=False),
    _text("level"),
    _text("laborer_id", nullable=False),
    _text("class_id", nullable=False),
    _text("occupation", nullable=False),
    _text("issued_on", nullable=False),
    _text("issuer", nullable=False),
    _int("seq", nullable=False),
    _int("revoked_seq"),
    _text("revoked_reason"),
    sa.Index("pj_certificates_laborer", "laborer_id", "class_id"),
)  # fmt: skip

appraisal_failures = _table(
    "pj_appraisal_failures",
    _key("seq", sa.BigInteger),
    _text("laborer_id", nullable=False),
    _text("class_id", nullable=False),
    _text("occupation", nullable=False),
    _text("date", nullable=False),
    _text("actor", nullable=False),
)  # fmt: skip

employments = _table(
    "pj_employments",
    _key("employment_id"),
    _text("employer", nullable=False),
    _text("jurisdiction"),
    _text("laborer_id", nullable=False),
    _text("position", nullable=False),
    _text("start_date", nullable=False),
    _text("class_id"),
    _int("seq", nullable=False),
    _int("payroll_months", nullable=False, default=0),
    _fen("wages_fen"),
    _int("proof_seq"),
    _json("proof_months"),
    _text("end_date"),
    _int("end_seq"),
    sa.Index("pj_employments_laborer", "laborer_id"),
)  # fmt: skip

payroll = _table(
    "pj_payroll",
    _key("employment_id"),
    _key("month"),
    _fen("wage_fen"),                            # of the latest record for the month
    _int("seq", nullable=False),
    _text("at", nullable=False),
    _int("first_seq", nullable=False),
    _int("records", nullable=False),
)  # fmt: skip

# --- claims and money -------------------------------------------------------------------------------------
claims = _table(
    "pj_claims",
    _key("claim_id"),
    _text("kind", nullable=False),
    _text("class_id"),
    _text("claimant", nullable=False),
    _text("jurisdiction"),
    _text("payee_account", nullable=False),
    _fen("claimed_fen"),
    _int("line_count", nullable=False),
    _text("sole_laborer_id"),                    # the labourer of a one-line claim (living allowance)
    _int("claimed_seq", nullable=False),
    _text("claimed_date", nullable=False),
    _text("status", nullable=False),             # claimed | approved | rejected | withdrawn
    _int("status_seq", nullable=False),
    _text("status_date", nullable=False),
    _int("identity_seq"),
    _json("rejected_laborers"),
    _int("approved_seq"),                        # the latest approval (its lines below)
    _text("approved_date"),
    _text("approver"),
    _fen("approved_fen"),
    _json("approved_lines"),                     # [[laborer_id, amount_fen], …]
    _json("recognized_lines"),                   # the approval the payable account carries now
    _fen("recognized_fen"),
    sa.Column("payable_fen", sa.BigInteger, nullable=False, default=0),  # debit − credit of payable:C
    _int("rejected_seq"),
    _text("rejection_reason"),
    _int("withdrawn_seq"),
    _text("withdrawal_reason"),
    _fen("paid_fen"),
    _fen("returned_fen"),
    _fen("recovered_fen"),
    _int("payments", nullable=False, default=0),
    _int("last_payment_seq"),
    sa.Index("pj_claims_class", "class_id"),
    sa.Index("pj_claims_claimant", "claimant"),
)  # fmt: skip

claim_lines = _table(
    "pj_claim_lines",
    _key("claim_id"),
    _key("line", sa.Integer),
    _text("laborer_id", nullable=False),
    _fen("amount_fen"),
    _text("certificate_no"),
    _text("employment_id"),
    _int("seq", nullable=False),
    sa.Index("pj_claim_lines_laborer", "laborer_id"),
    sa.Index("pj_claim_lines_certificate", "certificate_no"),
)  # fmt: skip

approval_lines = _table(
    "pj_approval_lines",
    _key("seq", sa.BigInteger),
    _key("line", sa.Integer),
    _text("claim_id", nullable=False),
    _text("laborer_id", nullable=False),
    _fen("amount_fen"),
    _int("replaced_seq"),                        # the later approval of the same claim
    sa.Index("pj_approval_lines_claim", "claim_id"),
)  # fmt: skip

payments = _table(
    "pj_payments",
    _key("payment_id"),
    _text("claim_id", nullable=False),
    _text("fund_id", nullable=False),
    _fen("amount_fen"),
    _text("payee_account", nullable=False),
    _text("bank_reference", nullable=False),
    _text("value_date", nullable=False),
    _int("seq", nullable=False),
    _text("actor", nullable=False),
    _text("jurisdiction"),
    _int("returned_seq"),
    _text("return_reason"),
    sa.Index("pj_payments_claim", "claim_id"),
    sa.Index("pj_payments_fund", "fund_id"),
    sa.Index("pj_payments_actor_date", "actor", "value_date"),  # reconcile: a bureau's payments of a month
    sa.Index("pj_payments_actor_reference", "actor", "bank_reference"),  # reconcile: a reference in a memo
)  # fmt: skip

recoveries = _table(
    "pj_recoveries",
    _key("recovery_id"),
    _text("claim_id", nullable=False),
    _fen("amount_fen"),
    _text("reason", nullable=False),
    _text("anomaly_id"),
    _int("seq", nullable=False),
    _text("business_date", nullable=False),
    sa.Index("pj_recoveries_claim", "claim_id"),
)  # fmt: skip

reconciliations = _table(
    "pj_reconciliations",
    _key("reconciliation_id"),
    _text("period", nullable=False),
    _text("statement_sha256", nullable=False),
    _int("matched", nullable=False),
    _int("unmatched_ledger", nullable=False),
    _int("unmatched_bank", nullable=False),
    _int("mismatched", nullable=False),
    _json("funds"),                              # [fund_id, …] the statement's account pays from; null: all
    _json("counts"),                             # {status: n} (DESIGN §10), when recorded
    _int("exceptions_total"),                    # every exception, of which pj_reconciliation_exceptions holds ≤ 400
    _int("seq", nullable=False),
    _text("actor", nullable=False),
    _text("at", nullable=False),                 # the envelope's: "latest" is by at (RULES.md)
    _text("jurisdiction"),
    sa.Index("pj_reconciliations_actor", "actor", "period"),
)  # fmt: skip

reconciliation_exceptions = _table(
    "pj_reconciliation_exceptions",
    _key("seq", sa.BigInteger),
    _key("n", sa.Integer),                       # its place in the event's list (most serious first)
    _text("reconciliation_id", nullable=False),
    _text("status", nullable=False),
    _text("payment_id"),
    _text("bank_reference"),
    _fen("amount_fen"),
    _text("value_date", nullable=False),
    sa.Index("pj_reconciliation_exceptions_id", "reconciliation_id"),
    sa.Index("pj_reconciliation_exceptions_payment", "payment_id"),
)  # fmt: skip

latest_reconciliations = _table(
    "pj_latest_reconciliations",                 # the latest (by at, then seq) per finance bureau and month
    _key("actor"),
    _key("period"),
    _text("reconciliation_id", nullable=False),
    _text("at", nullable=False),
    _int("seq", nullable=False),
)  # fmt: skip

dispositions = _table(
    "pj_dispositions",
    _key("seq", sa.BigInteger),
    _text("anomaly_id", nullable=False),
    _text("disposition", nullable=False),
    _text("note", nullable=False),
    _text("actor", nullable=False),
    sa.Index("pj_dispositions_anomaly", "anomaly_id"),
)  # fmt: skip

# --- double entry (DESIGN §5): append-only, each posting cites its seq ----------------------------------------
postings = _table(
    "pj_postings",
    _key("seq", sa.BigInteger),
    _key("line", sa.Integer),
    _text("account", nullable=False),
    _text("kind", nullable=False),               # the account's kind: fund | source | expense | payable | recovered
    _fen("debit_fen"),
    _fen("credit_fen"),
    _text("entry", nullable=False),              # allocation | adjustment | approval | approval_reversal | payment | return | recovery
    _text("event_type", nullable=False),
    _text("jurisdiction"),
    _text("fund_id"),
    _text("institution"),                        # the claimant actor
    _text("laborer_id"),
    _text("claim_id"),
    _text("payment_id"),
    _text("business_date", nullable=False),
    _text("period", nullable=False),             # YYYY-MM of the business date
    sa.Index("pj_postings_claim", "claim_id"),
    sa.Index("pj_postings_institution", "institution"),
    sa.Index("pj_postings_fund", "fund_id"),
    sa.Index("pj_postings_laborer", "laborer_id"),
)  # fmt: skip


# --- helpers -------------------------------------------------------------------------------------------------
def fingerprint(extra: dict[str, str] | None = None, tables: Iterable[sa.Table] | None = None) -> str:
    """Hash of the tables' shape (every table's by default) and of plugins' versions: a change
    means the rows must be rebuilt."""
    parts: list[object] = []
    for table in sorted(metadata.tables.values() if tables is None else tables, key=lambda t: t.name):
        cols = [[c.name, str(c.type.compile(dialect=_DIALECT)), bool(c.nullable), bool(c.primary_key)]
                for c in table.columns]  # fmt: skip
        idx = sorted([i.name or "", [c.name for c in i.columns]] for i in table.indexes)
        parts.append([table.name, cols, idx])
    parts.append(sorted((extra or {}).items()))
    return hashlib.sha256(canonical_str(parts).encode()).hexdigest()[:32]


_DIALECT = _sqlite.dialect()


def primary_key(table: sa.Table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def dump(conn: Connection) -> dict[str, list[dict[str, object]]]:
    """Every projection row in a canonical order: what "rebuild gives the same rows" compares."""
    out: dict[str, list[dict[str, object]]] = {}
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        order = [table.c[name] for name in primary_key(table)]
        rows = conn.execute(sa.select(table).order_by(*order)).mappings()
        out[table.name] = [dict(row) for row in rows]
    return out
