"""The request and response bodies of API.md, typed so ``/openapi.json`` describes every one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, NotRequired, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from projections.trace import query as trace_document


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ChallengeRequest(Strict):
    actor_id: str = Field(min_length=1, max_length=128)


class ChallengeResponse(BaseModel):
    challenge: str = Field(description="base64 of 32 random bytes; single use")
    expires_at: str = Field(description="UTC RFC 3339")


class TokenRequest(Strict):
    actor_id: str = Field(min_length=1, max_length=128)
    challenge: str = Field(min_length=1, max_length=128)
    signature: str = Field(
        min_length=1, max_length=128,
        description="base64 Ed25519 over 'subsidy-ledger/auth/v1\\n<origin>\\n<actor_id>\\n<challenge>'",
    )  # fmt: skip


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    actor_id: str
    role: str
    jurisdiction: str


class Envelope(BaseModel):
    """DESIGN §6's envelope, as posted (the ledger parses it strictly; this describes it)."""

    v: Literal[1]
    type: str
    actor: str
    key_id: str
    at: str
    nonce: str
    officer: str | None = None
    body: dict[str, object] = Field(description="the EVENTS.md body of ``type``")
    sig: str


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    seq: int
    leaf_hash: str = Field(description="base64 RFC 6962 leaf hash")
    recorded_at: str


class Duplicate(BaseModel):
    status: Literal["duplicate"] = "duplicate"
    seq: int


class LineOutcome(BaseModel):
    """One line of a batch's ``application/x-ndjson`` answer: ``import --json``'s object."""

    line: int
    status: Literal["accepted", "duplicate", "refused"]
    seq: int | None
    reason: str | None


class Leaf(BaseModel):
    seq: int
    leaf: str = Field(description="the leaf's exact JCS text")
    leaf_hash: str = Field(description="base64 RFC 6962 leaf hash")


class LeafPage(BaseModel):
    items: list[Leaf]
    next: int | None = Field(description="the ``from`` of the next page; null at the end of the log")


class InclusionProof(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    inclusion_path: list[str]


class ConsistencyProof(BaseModel):
    first_size: int
    second_size: int
    consistency_path: list[str]


class LeafWithProof(Leaf):
    proof: InclusionProof | None = Field(
        description="inclusion at the latest checkpoint; null while no checkpoint covers the leaf yet"
    )


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    size: int = Field(description="leaves in the log")


class Subject(BaseModel):
    kind: str
    id: str


class Flag(BaseModel):
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


class Change(BaseModel):
    seq: int
    change: str
    status: str
    note: str | None
    actor: str | None


class EvidenceEvent(BaseModel):
    """One evidence leaf in an inspector's terms: who signed what, when, with which key."""

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
    body: dict[str, object] = Field(description="the envelope's EVENTS.md body")


class FlagDetail(BaseModel):
    """``anomalies show --json``: the flag, its history, its evidence leaves and their signers."""

    flag: Flag
    history: list[Change]
    evidence: list[EvidenceEvent]


class Account(BaseModel):
    account: str
    debit_fen: int
    credit_fen: int
    balance_fen: int


class Totals(BaseModel):
    debit_fen: int
    credit_fen: int
    balance_fen: int


class TrialBalance(BaseModel):
    total_fen: int
    debit_fen: int
    credit_fen: int


class Balances(BaseModel):
    """The ``balances --json`` document (in fen)."""

    as_of: int | None
    filters: dict[str, str]
    accounts: list[Account]
    totals: Totals
    summary: dict[str, int | None]
    trial_balance: TrialBalance


class Intent(BaseModel):
    """An unsigned intent (DESIGN §9): what an office signs with its own key."""

    actor: str
    type: str
    at: str
    nonce: str | None = Field(None, description="filled by the service when absent: sign it as it is")
    officer: str | None = None
    body: dict[str, object] = Field(description="the EVENTS.md body of ``type``")


class IntentWithPii(Intent):
    """``POST /v1/intents/prepare``: an intent with its personal data, for the service to fill."""

    pii: dict[str, str] = Field(
        description="LaborerRegistered, LaborerCorrected: name, id_number, phone, bank_account;"
        " SubsidyClaimed, PaymentDisbursed: bank_account"
    )


class PreparedIntent(BaseModel):
    """The intent to sign: ``pii`` gone, ``id_fingerprint`` and ``pii_commitment`` or ``payee_account``
    filled, the nonce set; a labourer's sealed record waits for the envelope until ``expires_at``."""

    intent: Intent
    expires_at: str = Field(description="UTC RFC 3339: sign and post the envelope before then")


class PersonalData(BaseModel):
    """A labourer's personal data (DESIGN §7), read against a ``PersonalDataAccessed`` leaf."""

    laborer_id: str
    name: str
    id_number: str
    phone: str
    bank_account: str
    access_seq: int = Field(description="the PersonalDataAccessed leaf this read was recorded as")


# --- trace (DESIGN §12) ---------------------------------------------------------------------------------
def model_of(shape: type, descriptions: Mapping[str, str]) -> type[BaseModel]:
    """The response model of a projection's ``TypedDict`` ``shape``: its name, its keys in its order
    with its types, a ``NotRequired`` key optional (absent, read as null), and ``descriptions`` for
    ``/openapi.json`` — so the shape is declared once, where the document is made."""
    fields: dict[str, Any] = {}
    for name, hint in get_type_hints(shape, include_extras=True).items():
        description = descriptions.get(name)
        if get_origin(hint) is NotRequired:  # not __optional_keys__: Python 3.11 misses postponed ones
            fields[name] = (get_args(hint)[0] | None, Field(None, description=description))
        else:
            fields[name] = (hint, Field(description=description))
    return create_model(shape.__name__, **fields)


if TYPE_CHECKING:
    TraceEvent = BaseModel
else:
    TraceEvent = model_of(trace_document.TraceEvent, {
        "officer": "absent when the envelope names no officer",
        "relation": "how the event relates to the subject (docs/trace.md)",
        "signature_ok": "the signature re-verified now",
        "included": "an inclusion proof against the checkpoint holds",
    })  # fmt: skip


class PiiRead(BaseModel):
    seq: int
    actor: str
    at: str
    purpose: str


class TraceCheckpoint(BaseModel):
    size: int
    root: str = Field(description="base64 Merkle root")


class Trace(BaseModel):
    """The ``trace --json`` document (DESIGN §12), served as its JCS bytes and a line feed."""

    kind: Literal["payment", "claim", "class", "laborer", "certificate", "fund", "actor"]
    id: str
    as_of: int
    checkpoint: TraceCheckpoint
    events: list[TraceEvent] = Field(description="business date, then at, then seq; one per seq")
    anomalies: list[Flag] = Field(description="every flag, any status, whose subject or evidence is in the set")
    pii_reads: list[PiiRead]
    summary: dict[str, dict[str, int]] | None = Field(None, description="fund and actor: {event type: {month: count}}")
    next: int | None = Field(None, description="fund and actor: the ``from`` of the next page; null on the last")


# --- the monthly report (DESIGN §11) ------------------------------------------------------------------------
class ReportCheckpoint(BaseModel):
    size: int
    root: str
    note: str = Field(description="the operator-signed note, without cosignatures")
    signed_at: str | None = None


class Target(BaseModel):
    min: int
    max: int


class Cumulative(BaseModel):
    trainee_times: int
    target: Target | None
    households_registered: int
    households_with_certificate: int


class ReportFund(BaseModel):
    fund_id: str
    jurisdiction: str | None
    purpose: str | None
    source: str | None
    year: int | None
    allocated_fen: int
    adjusted_fen: int
    paid_fen: int
    returned_fen: int
    recovered_fen: int
    balance_fen: int


class ReportAnomalies(BaseModel):
    raised: int
    withdrawn: int
    disposed: int
    open_at_month_end: int
    by_family: dict[str, int]
    by_severity: dict[str, int]


class ReportInstitution(BaseModel):
    actor_id: str
    name: str | None
    trainees: int
    completers: int
    certified: int
    employed: int
    open_anomalies: int
    anomalies_per_100_trainees: str = Field(description="two decimals, as text (no floats in this JSON)")


LateValue = int | str | dict[str, int | str | None] | None  # a figure, or a whole fund or institution


class LateChange(BaseModel):
    path: str = Field(description="RFC 6901 pointer into the report; list items named by their id")
    as_issued: LateValue
    as_known_now: LateValue


class Late(BaseModel):
    compare_with: int
    changes: list[LateChange]
    seqs: list[int]


class MonthlyReport(BaseModel):
    """``report monthly --format json`` (DESIGN §11), served as its JCS bytes and a line feed."""

    report: Literal["monthly"]
    month: str
    jurisdiction: str
    as_of: int
    checkpoint: ReportCheckpoint
    activity: dict[str, int | dict[str, int]]
    cumulative: Cumulative
    funds: list[ReportFund]
    money_month: dict[str, int]
    inspections: dict[str, dict[str, int]]
    anomalies: ReportAnomalies
    institutions: list[ReportInstitution]
    late: Late | None


# --- reconciliation (DESIGN §10) ----------------------------------------------------------------------------
class ReconciliationLine(BaseModel):
    line: int = Field(description="the statement file's own line (an XLSX row number)")
    status: str
    method: str | None = None
    payment_id: str | None = None
    claim_id: str | None = None
    bank_reference: str | None = None
    amount_fen: int
    ledger_amount_fen: int | None = None
    value_date: str
    account_tail: str | None = Field(None, description="the account's last four digits, never more")
    candidates: list[str] | None = None


class UnmatchedPayment(BaseModel):
    payment_id: str
    claim_id: str
    bank_reference: str
    amount_fen: int
    value_date: str


class Reconciliation(BaseModel):
    """The ``reconcile --json`` document (DESIGN §10), served as its JCS bytes and a line feed."""

    reconciliation_id: str
    actor: str
    period: str
    funds: list[str] | None
    date_window: int
    as_of: int | None
    statement_sha256: str
    summary: dict[str, int] = Field(description="every status and skipped, zeros included")
    lines: list[ReconciliationLine]
    unmatched_payments: list[UnmatchedPayment]
