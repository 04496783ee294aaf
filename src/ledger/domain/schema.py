"""The event catalogue of EVENTS.md as typed, frozen bodies (a contract: never rename).

Each event type is a pydantic model in strict mode with ``extra="forbid"``: a missing, extra or
mistyped field is refused at the boundary, so code past :func:`parse_body` trusts its input.
Strict mode keeps JSON's types exact (``true`` is not ``1``, ``"80000"`` is not a number).
Cross-field rules that EVENTS.md lists as refusals (``total_fen`` = Σ lines, one line on a
living-allowance claim, ``employment_id`` on employer lines) live in the models' validators, and
so does the last date a body may carry (``date_out_of_range``). Personal data written into a
free-text field (``personal_data_in_text``) is screened by :func:`screen_personal_data`, which
names the fields of each type it reads (EVENTS.md "What is refused").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterable
from typing import Annotated, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from ledger.domain import pii_text
from ledger.domain.policy import CertificateType, Kind, Role
from ledger.encoding.canonical import JSONObject
from ledger.errors import (
    DateOutOfRange,
    InvalidField,
    PersonalDataInText,
    TooManyLines,
    TotalMismatch,
    UnknownEventType,
)

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
MAX_FEN = 2**53 - 1

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
)


# The last day a date may name (EVENTS.md, reason date_out_of_range): a business date is a
# date of this programme's world; a year-9999 event once stopped every projection (issue 12).
# Read at each check, so a test can stand in for a ledger written before the refusal existed.
MAX_DATE = "2099-12-31"


def _out_of_range(value: str) -> DateOutOfRange:
    # The code is in the text too: ``import --json`` reports a refusal's message.
    return DateOutOfRange(
        f"{value} is after {MAX_DATE} (date_out_of_range)",
        zh=f"{value} 晚于 {MAX_DATE}（date_out_of_range：日期超出本项目的时间范围）",
    )


def prefixed(prefix: str, error: DateOutOfRange) -> DateOutOfRange:
    """``error`` with the field it concerns in front of both its texts."""
    return DateOutOfRange(f"{prefix}{error}", zh=None if error.zh is None else f"{prefix}{error.zh}")


def _recorded(info: ValidationInfo) -> bool:
    """A leaf already in the log (``verify``) is judged by the format, not by ingest's range."""
    return bool(info.context and info.context.get("recorded"))


def _date(value: str, info: ValidationInfo) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date YYYY-MM-DD")
    dt.date.fromisoformat(value)
    if value > MAX_DATE and not _recorded(info):  # ISO dates order as strings
        raise _CrossField(_out_of_range(value))
    return value


def _month(value: str, info: ValidationInfo) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value) or value < "0001":
        raise ValueError("must be a month YYYY-MM")
    if value > MAX_DATE[:7] and not _recorded(info):
        raise _CrossField(_out_of_range(value))
    return value


def parse_rfc3339(value: str) -> dt.datetime:
    """RFC 3339 as DESIGN §6 allows it; always timezone-aware."""
    if not _RFC3339.fullmatch(value):
        raise ValueError("must be RFC 3339 YYYY-MM-DDTHH:MM:SS[.ffffff]±HH:MM or Z")
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def check_timestamp_in_range(value: str, parsed: dt.datetime) -> None:
    """Refuse a timestamp whose date — as written, or in Asia/Shanghai (the business date of an
    event without a date of its own, EVENTS.md) — is after :data:`MAX_DATE`."""
    if value[:10] > MAX_DATE:
        raise _out_of_range(value)
    if "0001" < value[:4] < MAX_DATE[:4]:  # an offset moves the date two days at most: still in range
        return
    try:
        shanghai = parsed.astimezone(SHANGHAI).date().isoformat()
    except OverflowError:  # 9999-12-31T23:00:00-05:00 and 0001-01-01T00:00:00+14:00 have no Shanghai date
        if value[:4] == "0001":  # fuzzing (issue 12): its business date stopped every projection
            raise DateOutOfRange(
                f"{value} has no date in Asia/Shanghai (date_out_of_range)",
                zh=f"{value} 在北京时间没有日期（date_out_of_range：日期超出本项目的时间范围）",
            ) from None
        raise _out_of_range(value) from None
    if shanghai > MAX_DATE:
        raise _out_of_range(value)


def _rfc3339(value: str, info: ValidationInfo) -> str:
    parsed = parse_rfc3339(value)
    if _recorded(info):
        return value
    try:
        check_timestamp_in_range(value, parsed)
    except DateOutOfRange as exc:
        raise _CrossField(exc) from None
    return value


Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Date = Annotated[str, AfterValidator(_date)]
Month = Annotated[str, AfterValidator(_month)]
Timestamp = Annotated[str, AfterValidator(_rfc3339)]
Fen = Annotated[int, Field(ge=0, le=MAX_FEN)]
SignedFen = Annotated[int, Field(ge=-MAX_FEN, le=MAX_FEN)]
Hours = Annotated[int, Field(ge=0, le=24)]
Count = Annotated[int, Field(ge=0, le=MAX_FEN)]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Base64Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
Programme = Literal["special_ability", "employment_skill", "driver", "two_after_student"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- registry and standards ----------------------------------------------------------------
class ActorRegistered(Body):
    actor_id: Id
    name: Name
    role: Role
    jurisdiction: Jurisdiction
    public_key: Base64Key
    uscc: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")] | None = None


class KeyRotated(Body):
    actor_id: Id
    public_key: Base64Key


class KeyRevoked(Body):
    actor_id: Id
    key_id: Annotated[str, StringConstraints(pattern=r"^ed25519:[0-9a-f]{32}$")]
    reason: Text
    effective_at: Timestamp


class SubsidyStandardSet(Body):
    standard_id: Id
    kind: Kind
    programme: Programme | None = None
    certificate_type: CertificateType | None = None
    occupation: Name | None = None
    amount_fen: Fen
    per: Literal["trainee", "day"]
    effective_from: Date
    effective_to: Date | None = None


# --- funds -------------------------------------------------------------------------------------
class FundAllocated(Body):
    fund_id: Id
    jurisdiction: Jurisdiction
    source: Literal["central", "region", "city", "county"]
    purpose: Kind
    year: Annotated[int, Field(ge=2000, le=2100)]
    amount_fen: Fen
    poverty_only: bool | None = None


class FundAdjusted(Body):
    fund_id: Id
    delta_fen: SignedFen
    reason: Text


# --- labourers ---------------------------------------------------------------------------------
Category = Literal["poor", "eco_migrant", "two_after_student", "non_poor"]
Gender = Literal["male", "female"]


class LaborerRegistered(Body):
    laborer_id: Id
    household_id: Id
    jurisdiction: Jurisdiction
    township: Name
    village: Name
    birth_date: Date
    gender: Gender | None = None
    category: Category
    id_fingerprint: Hex64
    pii_commitment: Hex64


class LaborerCorrected(Body):
    laborer_id: Id
    reason: Text
    household_id: Id | None = None
    township: Name | None = None
    village: Name | None = None
    birth_date: Date | None = None
    gender: Gender | None = None
    category: Category | None = None
    pii_commitment: Hex64 | None = None


class IdentityConfirmed(Body):
    laborer_id: Id
    basis: Text


class IdentityRejected(Body):
    laborer_id: Id
    reason: Text


# --- classes -----------------------------------------------------------------------------------
class ClassOpeningRequested(Body):
    class_id: Id
    programme: Programme
    occupation: Name
    in_catalog: bool
    jurisdiction: Jurisdiction
    site: Name
    planned_start: Date
    planned_end: Date
    capacity: Annotated[int, Field(ge=0, le=100000)]
    hours_per_day: Hours
    practical_percent: Annotated[int, Field(ge=0, le=100)]
    subsidy_per_trainee_fen: Fen


class ClassOpeningApproved(Body):
    class_id: Id


class ClassOpeningRejected(Body):
    class_id: Id
    reason: Text


class ClassCancelled(Body):
    class_id: Id
    reason: Text


class TraineeEnrolled(Body):
    class_id: Id
    laborer_id: Id


class TraineeWithdrawn(Body):
    class_id: Id
    laborer_id: Id
    reason: Text


class AttendanceLine(Body):
    laborer_id: Id
    theory_hours: Hours
    practical_hours: Hours


class AttendanceRecorded(Body):
    class_id: Id
    date: Date
    trainees: list[AttendanceLine]


class ClassCompleted(Body):
    class_id: Id
    end_date: Date
    completers: list[Id]


class CompletionReviewed(Body):
    class_id: Id
    approved: bool
    note: Annotated[str, StringConstraints(max_length=2000)]


class Checklist(Body):
    plan: bool
    teachers: bool
    facilities: bool
    practical: bool
    textbooks: bool
    attendance: bool


class Finding(Body):
    laborer_id: Id | None = None
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    note: Annotated[str, StringConstraints(max_length=2000)]


class InspectionRecorded(Body):
    inspection_id: Id
    method: Literal["site_visit", "spot_check", "questionnaire", "phone_visit"]
    subject_kind: Literal["class", "laborer", "claim", "employer"]
    subject_id: Id
    date: Date
    class_id: Id | None = None
    present: list[Id]
    absent: list[Id]
    checklist: Checklist | None
    findings: list[Finding]
    verdict: Literal["pass", "fail"]


# --- certificates and appraisal --------------------------------------------------------------
class CertificateIssued(Body):
    certificate_no: Id
    certificate_type: CertificateType
    level: Name | None = None
    laborer_id: Id
    class_id: Id
    occupation: Name
    issued_on: Date


class CertificateRevoked(Body):
    certificate_no: Id
    reason: Text


class AppraisalFailed(Body):
    laborer_id: Id
    class_id: Id
    occupation: Name
    date: Date


# --- employment --------------------------------------------------------------------------------
class EmploymentStarted(Body):
    employment_id: Id
    laborer_id: Id
    position: Name
    start_date: Date
    class_id: Id | None = None


class PayrollRecorded(Body):
    employment_id: Id
    month: Month
    wage_fen: Fen


class EmploymentProofSubmitted(Body):
    employment_id: Id
    months: list[Month]


class EmploymentEnded(Body):
    employment_id: Id
    end_date: Date


# --- claims and money ----------------------------------------------------------------------------
class ClaimLine(Body):
    laborer_id: Id
    amount_fen: Fen
    certificate_no: Id | None = None
    employment_id: Id | None = None


class SubsidyClaimed(Body):
    claim_id: Id
    kind: Kind
    class_id: Id | None = None
    lines: list[ClaimLine]
    payee_account: Hex64
    total_fen: Fen

    @model_validator(mode="after")
    def _lines_add_up(self) -> SubsidyClaimed:
        if self.kind != "employer" and self.class_id is None:
            raise ValueError("class_id is required except for employer claims")
        if self.kind == "employer" and any(line.employment_id is None for line in self.lines):
            raise ValueError("employment_id is required on employer lines")
        if self.kind == "living_allowance" and len(self.lines) != 1:
            raise _CrossField(TooManyLines("a living-allowance claim has exactly one line"))
        _check_total(self.total_fen, (line.amount_fen for line in self.lines))
        return self


def _check_total(total_fen: int, amounts: Iterable[int]) -> None:
    """EVENTS.md: a claim's or an approval's ``total_fen`` is the sum of its lines' ``amount_fen``."""
    total = sum(amounts)
    if total != total_fen:
        raise _CrossField(TotalMismatch(f"total_fen {total_fen} is not the sum of the lines {total}"))


class ClaimWithdrawn(Body):
    claim_id: Id
    reason: Text


class ClaimIdentityVerified(Body):
    claim_id: Id
    rejected_laborers: list[Id]


class ApprovedLine(Body):
    laborer_id: Id
    amount_fen: Fen


class ClaimApproved(Body):
    claim_id: Id
    lines: list[ApprovedLine]
    total_fen: Fen

    @model_validator(mode="after")
    def _lines_add_up(self) -> ClaimApproved:
        _check_total(self.total_fen, (line.amount_fen for line in self.lines))
        return self


class ClaimRejected(Body):
    claim_id: Id
    reason: Text


class PaymentDisbursed(Body):
    payment_id: Id
    claim_id: Id
    fund_id: Id
    amount_fen: Fen
    payee_account: Hex64
    bank_reference: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    value_date: Date


class PaymentReturned(Body):
    payment_id: Id
    reason: Text


class FundsRecovered(Body):
    recovery_id: Id
    claim_id: Id
    amount_fen: Fen
    reason: Text
    anomaly_id: Annotated[str, StringConstraints(pattern=r"^A-[0-9a-f]{40}$")] | None = None


# DESIGN.md §10: every status a statement line or a ledger payment can end in.
ReconStatus = Literal[
    "matched", "amount_mismatch", "payee_mismatch", "date_mismatch", "duplicate_bank", "ambiguous",
    "unmatched_bank", "return_matched", "return_not_recorded", "credit_other", "unmatched_ledger", "skipped",
]


class ReconException(Body):
    status: ReconStatus
    payment_id: Id | None = None
    bank_reference: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    amount_fen: Fen
    value_date: Date


class ReconciliationRecorded(Body):
    reconciliation_id: Id
    period: Month
    statement_sha256: Hex64
    matched: Count
    unmatched_ledger: Count
    unmatched_bank: Count
    mismatched: Count
    funds: list[Id] | None = None
    counts: dict[ReconStatus, Count] | None = None
    exceptions: list[ReconException] | None = Field(default=None, max_length=400)
    exceptions_total: Count | None = None


class AnomalyDisposed(Body):
    anomaly_id: Annotated[str, StringConstraints(pattern=r"^A-[0-9a-f]{40}$")]
    disposition: Literal["confirmed", "rectified", "false_positive"]
    note: Text


class PersonalDataAccessed(Body):
    laborer_id: Id
    purpose: Text


class PersonalDataErased(Body):
    laborer_id: Id
    reason: Text


BODIES: dict[str, type[Body]] = {
    cls.__name__: cls
    for cls in (
        ActorRegistered,
        KeyRotated,
        KeyRevoked,
        SubsidyStandardSet,
        FundAllocated,
        FundAdjusted,
        LaborerRegistered,
        LaborerCorrected,
        IdentityConfirmed,
        IdentityRejected,
        ClassOpeningRequested,
        ClassOpeningApproved,
        ClassOpeningRejected,
        ClassCancelled,
        TraineeEnrolled,
        TraineeWithdrawn,
        AttendanceRecorded,
        ClassCompleted,
        CompletionReviewed,
        InspectionRecorded,
        CertificateIssued,
        CertificateRevoked,
        AppraisalFailed,
        EmploymentStarted,
        PayrollRecorded,
        EmploymentProofSubmitted,
        EmploymentEnded,
        SubsidyClaimed,
        ClaimWithdrawn,
        ClaimIdentityVerified,
        ClaimApproved,
        ClaimRejected,
        PaymentDisbursed,
        PaymentReturned,
        FundsRecovered,
        ReconciliationRecorded,
        AnomalyDisposed,
        PersonalDataAccessed,
        PersonalDataErased,
    )
}

REGISTRY_TYPES = frozenset({"ActorRegistered", "KeyRotated", "KeyRevoked"})

# --- personal data in text (EVENTS.md "What is refused", reason personal_data_in_text) --------
# Free text is judged for ID, mobile and card numbers; a certificate_no or bank_reference for ID
# numbers only (a driving licence's number *is* its holder's ID number). Other ids, codes,
# hashes and fingerprints are not judged.
FREE_TEXT_FIELDS = frozenset(
    {"name", "site", "township", "village", "occupation", "position", "basis", "note", "reason", "purpose"}
)
ID_NUMBER_FIELDS = frozenset({"certificate_no", "bank_reference"})

# (field, field of each object in it or None, free text?) — derived once from the models, so a
# field added to EVENTS.md under one of these names is screened without another list to edit.
TextPath = tuple[str, str | None, bool]


def _list_item_model(annotation: object) -> type[Body] | None:
    for arg in (annotation, *get_args(annotation)):
        if get_origin(arg) is list:
            (item,) = get_args(arg)
            if isinstance(item, type) and issubclass(item, Body):
                return item
    return None


def _text_paths(model: type[Body]) -> tuple[TextPath, ...]:
    paths: list[TextPath] = []
    for name, field in model.model_fields.items():
        if name in FREE_TEXT_FIELDS or name in ID_NUMBER_FIELDS:
            paths.append((name, None, name in FREE_TEXT_FIELDS))
            continue
        item = _list_item_model(field.annotation)
        for sub in () if item is None else item.model_fields:
            if sub in FREE_TEXT_FIELDS or sub in ID_NUMBER_FIELDS:
                paths.append((name, sub, sub in FREE_TEXT_FIELDS))
    return tuple(paths)


TEXT_PATHS: dict[str, tuple[TextPath, ...]] = {name: _text_paths(cls) for name, cls in BODIES.items()}
_KIND_NAMES = {
    "id_number": ("身份证号", "an ID number"),
    "mobile": ("手机号", "a mobile number"),
    "card": ("银行卡号", "a card number"),
}


def _personal_data_refusal(where: str, kind: pii_text.Kind) -> PersonalDataInText:
    zh, en = _KIND_NAMES[kind]
    return PersonalDataInText(
        f"body.{where}: holds what looks like {en} (personal_data_in_text: personal data never"
        " enters the immutable log; send it in the intent's pii for the ledger service)",
        zh=f"body.{where}：疑似{zh}（personal_data_in_text：个人信息不得写入不可更改的日志，"
        "请放入意图的 pii 由账本服务处理）",
    )


def screen_personal_data(event_type: str, body: JSONObject) -> None:
    """Refuse a body (already parsed by :func:`parse_body`) that writes personal data in text.

    The message names the field and the kind of number, never the number itself.
    """
    for field, sub, free_text in TEXT_PATHS.get(event_type, ()):
        value = body.get(field)
        if sub is None:
            if isinstance(value, str) and (kind := pii_text.find(value, free_text=free_text)):
                raise _personal_data_refusal(field, kind)
            continue
        for i, item in enumerate(value or ()):
            text = item.get(sub) if isinstance(item, dict) else None
            if isinstance(text, str) and (kind := pii_text.find(text, free_text=free_text)):
                raise _personal_data_refusal(f"{field}.{i}.{sub}", kind)


class _CrossField(ValueError):
    """Carries a specific refusal out of a pydantic validator."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def _describe(exc: ValidationError) -> InvalidField | Exception:
    err = exc.errors(include_url=False)[0]
    ctx = err.get("ctx") or {}
    original = ctx.get("error")
    where = ".".join(str(p) for p in err["loc"]) or "body"
    if isinstance(original, _CrossField):
        if isinstance(original.error, DateOutOfRange):  # a field's check: say which field
            return prefixed(f"body.{where}: ", original.error)
        return original.error
    kind = err["type"]
    if kind == "missing":
        return InvalidField(f"body.{where}: missing")
    if kind == "extra_forbidden":
        return InvalidField(f"body.{where}: not a field of this event type")
    if kind == "greater_than_equal" and ("_fen" in where or "hours" in where):
        return InvalidField(f"body.{where}: must not be negative")
    msg = err["msg"].removeprefix("Value error, ")
    return InvalidField(f"body.{where}: {msg}")


def parse_body(event_type: str, body: object, *, recorded: bool = False) -> Body:
    """Validate ``body`` as EVENTS.md defines ``event_type``; raise a specific refusal.

    ``recorded``: a leaf already in the log, judged by its format alone — a date after
    :data:`MAX_DATE` recorded before that refusal existed is not a malformed leaf.
    """
    try:
        model = BODIES[event_type]
    except (KeyError, TypeError):
        raise UnknownEventType(f"unknown event type {event_type!r}") from None
    if not isinstance(body, dict):
        raise InvalidField("body: must be a JSON object")
    try:
        return model.model_validate(body, context={"recorded": True} if recorded else None)
    except ValidationError as exc:
        raise _describe(exc) from None


def business_date(event_type: str, body: Body, at: dt.datetime) -> dt.date:
    """The business date of an event (EVENTS.md): what "before"/"after" rules compare."""
    for field in ("date", "end_date", "issued_on", "start_date", "value_date"):
        value = getattr(body, field, None)
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
    if event_type == "PayrollRecorded":
        year, month = map(int, body.month.split("-"))  # type: ignore[attr-defined]
        return dt.date(year, month, calendar.monthrange(year, month)[1])  # no "next month" of 9999-12
    return at.astimezone(SHANGHAI).date()
