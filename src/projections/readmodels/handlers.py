"""The base read models: one handler per event type, keeping the ``pj_`` tables of tables.py.

Handlers never refuse and never raise on policy: the ledger already refused what it could not
attribute or understand, and everything else happened and must be projected as it happened
(EVENTS.md) — a payment without approval posts, and the payable shows it.

Each handler also sets the event's **jurisdiction** (DESIGN §2: a labourer's events → the
labourer's county; a class and everything about it → the class's; an employer claim and
employment → the employer's; a payment → its fund's), which ``pj_events`` and the postings
carry.

Ordering: a *status* (class, claim, identity) is the latest decision by business date, ``seq``
breaking ties (DESIGN §3: migrated records arrive out of order); other superseding facts (a
second approval, a repeated completion, an attendance day recorded again) take the latest
leaf, as EVENTS.md says of attendance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlalchemy as sa

from ledger.domain.envelope import key_id_of
from ledger.domain.schema import parse_rfc3339
from ledger.encoding.b64 import b64decode_strict
from projections import tables as T
from projections.events import LeafEvent
from projections.readmodels import postings as P
from projections.runner.registry import handles, register_version
from projections.uow import Key, Row, UnitOfWork

Reads = Callable[[LeafEvent], Iterable[tuple[sa.Table, Key]]]

# Bump when a handler's logic changes: the next catch-up then rebuilds every row from seq 0.
register_version("projections.readmodels.handlers", "2")  # 2: reconciliations keep funds, counts, exceptions


# --- what each handler reads (batch prefetch) ---------------------------------------------------
def by(table: sa.Table, *fields: str) -> Reads:
    """The row of ``table`` keyed by these body fields (when they are all present)."""

    def reads(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
        body = ev.body
        if all(body.get(f) is not None for f in fields):
            yield table, tuple(body[f] for f in fields)

    return reads


def signer(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    yield T.actors, (ev.actor,)


def reads(*parts: Reads) -> Reads:
    def all_of(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
        for part in parts:
            yield from part(ev)

    return all_of


def _key_of(public_key: str) -> str:
    return key_id_of(b64decode_strict(public_key))


def _new_key(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    yield T.keys, (_key_of(ev.body["public_key"]),)


def later(date: str, seq: int, than_date: str | None, than_seq: int | None) -> bool:
    """Is (date, seq) at or after the other decision? DESIGN §3: business date, then seq."""
    return than_date is None or (date, seq) >= (than_date, than_seq if than_seq is not None else -1)


def _jurisdiction(uow: UnitOfWork, table: sa.Table, *key: str | int) -> str | None:
    row = uow.get(table, *key)
    return None if row is None else row["jurisdiction"]


# --- postings ----------------------------------------------------------------------------------------
def post(uow: UnitOfWork, ev: LeafEvent, entry: str, entries: list[P.Entry], *,
         fund_id: str | None = None, claim: Row | None = None, payment_id: str | None = None,
         laborer_id: str | None = None) -> None:  # fmt: skip
    """Append balanced postings citing this leaf; keep the claim's payable balance beside them."""
    assert P.is_balanced(entries), entries
    line = ev.posting_lines
    claim_id = None if claim is None else claim["claim_id"]
    for e in entries:
        uow.append(
            T.postings, seq=ev.seq, line=line, account=e.account, kind=e.account.split(":", 1)[0],
            debit_fen=e.debit_fen, credit_fen=e.credit_fen, entry=entry, event_type=ev.type,
            jurisdiction=ev.jurisdiction,
            fund_id=fund_id, institution=None if claim is None else claim["claimant"],
            laborer_id=e.laborer_id or laborer_id, claim_id=claim_id, payment_id=payment_id,
            business_date=ev.business_date, period=ev.period,
        )  # fmt: skip
        line += 1
        if claim is not None and e.account == P.payable(claim_id or ""):
            claim["payable_fen"] += e.debit_fen - e.credit_fen
    ev.posting_lines = line


# --- actors and keys (registry events: they do not move the log clock) ---------------------------------
@handles("ActorRegistered", creates=reads(by(T.actors, "actor_id"), _new_key))
def actor_registered(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = b["jurisdiction"]
    key_id = _key_of(b["public_key"])
    uow.add(T.actors, actor_id=b["actor_id"], role=b["role"], name=b["name"],
            jurisdiction=b["jurisdiction"], uscc=b.get("uscc"), registered_seq=ev.seq, key_id=key_id)  # fmt: skip
    _open_key(uow, key_id, b["actor_id"], ev.seq)


def _open_key(uow: UnitOfWork, key_id: str, actor_id: str, seq: int) -> None:
    if uow.get(T.keys, key_id) is None:
        uow.add(T.keys, key_id=key_id, actor_id=actor_id, from_seq=seq)


@handles("KeyRotated", reads=by(T.actors, "actor_id"), creates=_new_key)
def key_rotated(uow: UnitOfWork, ev: LeafEvent) -> None:
    actor = uow.edit(T.actors, ev.body["actor_id"])
    if actor is None:
        return
    ev.jurisdiction = actor["jurisdiction"]
    if actor["key_id"] is not None:
        old = uow.edit(T.keys, actor["key_id"])
        if old is not None and old["until_seq"] is None:
            old["until_seq"], old["until_at"] = ev.seq, ev.envelope["at"]
    actor["key_id"] = _key_of(ev.body["public_key"])
    actor["rotated_seq"] = ev.seq
    _open_key(uow, actor["key_id"], actor["actor_id"], ev.seq)


@handles("KeyRevoked", reads=reads(by(T.actors, "actor_id"), by(T.keys, "key_id")))
def key_revoked(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    actor = uow.edit(T.actors, b["actor_id"])
    key = uow.edit(T.keys, b["key_id"])
    if actor is not None:
        ev.jurisdiction = actor["jurisdiction"]
        actor["revoked_seq"] = ev.seq
        if actor["key_id"] == b["key_id"]:
            actor["key_id"] = None
    if key is not None:
        if key["until_seq"] is None:
            key["until_seq"], key["until_at"] = ev.seq, b["effective_at"]
        key["revoked_seq"], key["revoked_reason"] = ev.seq, b["reason"]


@handles("SubsidyStandardSet", creates=by(T.standards, "standard_id"))
def standard_set(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    uow.add(T.standards, standard_id=b["standard_id"], kind=b["kind"], programme=b.get("programme"),
            certificate_type=b.get("certificate_type"), occupation=b.get("occupation"),
            amount_fen=b["amount_fen"], per=b["per"], effective_from=b["effective_from"],
            effective_to=b.get("effective_to"), seq=ev.seq)  # fmt: skip


# --- funds -------------------------------------------------------------------------------------------------
@handles("FundAllocated", reads=by(T.funds, "fund_id"))
def fund_allocated(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = b["jurisdiction"]
    poverty_only = b.get("poverty_only")
    poverty_only = True if poverty_only is None else poverty_only  # EVENTS.md: default true
    fund = uow.edit(T.funds, b["fund_id"])
    if fund is None:
        fund = uow.add(T.funds, fund_id=b["fund_id"], jurisdiction=b["jurisdiction"], source=b["source"],
                       purpose=b["purpose"], year=b["year"], poverty_only=poverty_only,
                       first_seq=ev.seq, last_seq=ev.seq)  # fmt: skip
    fund["allocated_fen"] += b["amount_fen"]
    fund["last_seq"] = ev.seq
    uow.append(T.fund_movements, seq=ev.seq, fund_id=b["fund_id"], movement="allocation",
               source=b["source"], year=b["year"], amount_fen=b["amount_fen"],
               poverty_only=poverty_only)  # fmt: skip
    post(uow, ev, "allocation", P.allocation(b["fund_id"], b["source"], b["jurisdiction"], b["amount_fen"]),
         fund_id=b["fund_id"])  # fmt: skip


@handles("FundAdjusted", reads=by(T.funds, "fund_id"))
def fund_adjusted(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    fund = uow.edit(T.funds, b["fund_id"])
    if fund is None:
        return
    ev.jurisdiction = fund["jurisdiction"]
    fund["adjusted_fen"] += b["delta_fen"]
    fund["last_seq"] = ev.seq
    uow.append(T.fund_movements, seq=ev.seq, fund_id=b["fund_id"], movement="adjustment",
               amount_fen=b["delta_fen"], reason=b["reason"])  # fmt: skip
    post(uow, ev, "adjustment", P.adjustment(b["fund_id"], fund["jurisdiction"], b["delta_fen"]),
         fund_id=b["fund_id"])  # fmt: skip


# --- labourers ---------------------------------------------------------------------------------------------
@handles("LaborerRegistered", creates=by(T.laborers, "laborer_id"))
def laborer_registered(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = b["jurisdiction"]
    uow.add(T.laborers, laborer_id=b["laborer_id"], household_id=b["household_id"],
            jurisdiction=b["jurisdiction"], township=b["township"], village=b["village"],
            birth_date=b["birth_date"], gender=b.get("gender"), category=b["category"],
            id_fingerprint=b["id_fingerprint"], pii_commitment=b["pii_commitment"],
            registered_by=ev.actor, registered_seq=ev.seq, identity_status="none", erased=False)  # fmt: skip


CORRECTABLE = ("household_id", "township", "village", "birth_date", "gender", "category", "pii_commitment")


@handles("LaborerCorrected", reads=by(T.laborers, "laborer_id"))
def laborer_corrected(uow: UnitOfWork, ev: LeafEvent) -> None:
    laborer = uow.edit(T.laborers, ev.body["laborer_id"])
    if laborer is None:
        return
    ev.jurisdiction = laborer["jurisdiction"]
    for name in CORRECTABLE:
        if ev.body.get(name) is not None:
            laborer[name] = ev.body[name]
    laborer["corrected_seq"] = ev.seq


def decide_identity(uow: UnitOfWork, ev: LeafEvent, laborer_id: str, decision: str,
                    note: str | None, claim_id: str | None = None) -> None:  # fmt: skip
    """Record an identity decision; the labourer's status is the latest one (DESIGN §3)."""
    uow.append(T.identity_decisions, seq=ev.seq, laborer_id=laborer_id, decision=decision,
               source=ev.type, claim_id=claim_id, business_date=ev.business_date, note=note)  # fmt: skip
    laborer = uow.edit(T.laborers, laborer_id)
    if laborer is not None and later(ev.business_date, ev.seq, laborer["identity_date"], laborer["identity_seq"]):
        laborer["identity_status"] = decision
        laborer["identity_seq"], laborer["identity_date"] = ev.seq, ev.business_date


@handles("IdentityConfirmed", "IdentityRejected", reads=by(T.laborers, "laborer_id"))
def identity_decided(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = _jurisdiction(uow, T.laborers, b["laborer_id"])
    confirmed = ev.type == "IdentityConfirmed"
    decide_identity(uow, ev, b["laborer_id"], "confirmed" if confirmed else "rejected",
                    b["basis"] if confirmed else b["reason"])  # fmt: skip


@handles("PersonalDataAccessed", "PersonalDataErased", reads=by(T.laborers, "laborer_id"))
def personal_data(uow: UnitOfWork, ev: LeafEvent) -> None:
    laborer = uow.get(T.laborers, ev.body["laborer_id"])
    if laborer is None:
        return
    ev.jurisdiction = laborer["jurisdiction"]
    if ev.type == "PersonalDataErased":
        laborer = uow.edit(T.laborers, ev.body["laborer_id"])
        assert laborer is not None
        laborer["erased"], laborer["erased_seq"] = True, ev.seq


# --- classes -------------------------------------------------------------------------------------------------
def _set_status(row: Row, status: str, ev: LeafEvent) -> None:
    if later(ev.business_date, ev.seq, row["status_date"], row["status_seq"]):
        row["status"], row["status_seq"], row["status_date"] = status, ev.seq, ev.business_date


@handles("ClassOpeningRequested", creates=by(T.classes, "class_id"))
def class_requested(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = b["jurisdiction"]
    uow.add(T.classes, class_id=b["class_id"], institution=ev.actor, programme=b["programme"],
            occupation=b["occupation"], in_catalog=b["in_catalog"], jurisdiction=b["jurisdiction"],
            site=b["site"], planned_start=b["planned_start"], planned_end=b["planned_end"],
            capacity=b["capacity"], hours_per_day=b["hours_per_day"],
            practical_percent=b["practical_percent"], subsidy_per_trainee_fen=b["subsidy_per_trainee_fen"],
            requested_seq=ev.seq, status="requested", status_seq=ev.seq, status_date=ev.business_date)  # fmt: skip


def _class(uow: UnitOfWork, ev: LeafEvent) -> Row | None:
    klass = uow.edit(T.classes, ev.body["class_id"])
    if klass is not None:
        ev.jurisdiction = klass["jurisdiction"]
    return klass


@handles("ClassOpeningApproved", "ClassOpeningRejected", "ClassCancelled", reads=by(T.classes, "class_id"))
def class_decided(uow: UnitOfWork, ev: LeafEvent) -> None:
    klass = _class(uow, ev)
    if klass is None:
        return
    if ev.type == "ClassOpeningApproved":
        _set_status(klass, "approved", ev)
        # The earliest approval is when the class was allowed to start (SEQ-BEFORE-APPROVAL).
        if klass["approved_date"] is None or (ev.business_date, ev.seq) < (klass["approved_date"], klass["approved_seq"]):
            klass["approved_seq"], klass["approved_date"], klass["approver"] = ev.seq, ev.business_date, ev.actor
    elif ev.type == "ClassOpeningRejected":
        _set_status(klass, "rejected", ev)
        klass["rejected_seq"] = ev.seq
    else:
        _set_status(klass, "cancelled", ev)
        klass["cancelled_seq"] = ev.seq


def _trainee(uow: UnitOfWork, class_id: str, laborer_id: str) -> Row:
    row = uow.edit(T.trainees, class_id, laborer_id)
    if row is None:
        row = uow.add(T.trainees, class_id=class_id, laborer_id=laborer_id, active=False)
    return row


@handles("TraineeEnrolled", "TraineeWithdrawn",
         reads=reads(by(T.classes, "class_id"), by(T.trainees, "class_id", "laborer_id")))  # fmt: skip
def trainee_changed(uow: UnitOfWork, ev: LeafEvent) -> None:
    klass = _class(uow, ev)
    trainee = _trainee(uow, ev.body["class_id"], ev.body["laborer_id"])
    was_active = trainee["active"]
    if ev.type == "TraineeEnrolled":
        trainee["active"] = True
        trainee["enrolled_seq"], trainee["enrolled_date"] = ev.seq, ev.business_date
        if trainee["first_enrolled_seq"] is None:
            trainee["first_enrolled_seq"] = ev.seq
    else:
        trainee["active"] = False
        trainee["withdrawn_seq"], trainee["withdrawn_date"] = ev.seq, ev.business_date
        trainee["withdrawal_reason"] = ev.body["reason"]
    if klass is not None and was_active != trainee["active"]:
        klass["enrolled"] += 1 if trainee["active"] else -1
        klass["withdrawn"] += 0 if trainee["active"] else 1


def _attendance_reads(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    class_id = ev.body["class_id"]
    yield T.classes, (class_id,)
    yield T.class_days, (class_id, ev.body["date"])
    for line in ev.body["trainees"]:
        yield T.trainees, (class_id, line["laborer_id"])


def _per_laborer(lines: Iterable[Any]) -> dict[str, tuple[int, int]]:
    """(theory, practical) per labourer of one class-day (a repeated line adds up)."""
    out: dict[str, tuple[int, int]] = {}
    for laborer_id, theory, practical in lines:
        t, p = out.get(laborer_id, (0, 0))
        out[laborer_id] = (t + theory, p + practical)
    return out


@handles("AttendanceRecorded", reads=_attendance_reads)
def attendance_recorded(uow: UnitOfWork, ev: LeafEvent) -> None:
    """One record per class-day; a later one for the same day replaces it (EVENTS.md).

    Who attended with which hours is the class-day's list in ``pj_class_days`` (with the seq
    of the record that is current); ``pj_trainees`` keeps each trainee's totals over current
    days. One row per class-day rather than one per trainee and day keeps a rebuild a quarter
    faster (docs/projections.md).
    """
    b = ev.body
    class_id, date, seq = b["class_id"], b["date"], ev.seq
    klass = _class(uow, ev)
    lines = [[t["laborer_id"], t["theory_hours"], t["practical_hours"]] for t in b["trainees"]]
    hours = max((t + p for _, t, p in lines), default=0)
    day = uow.edit(T.class_days, class_id, date)
    if day is not None:
        for laborer_id, (theory, practical) in _per_laborer(day["trainees"]).items():
            trainee = _trainee(uow, class_id, laborer_id)
            trainee["attendance_days"] -= 1
            trainee["theory_hours"] -= theory
            trainee["practical_hours"] -= practical
        day.update(seq=seq, versions=day["versions"] + 1, at=ev.envelope["at"], hours=hours, trainees=lines)
    else:
        uow.add(T.class_days, class_id=class_id, date=date, seq=seq, first_seq=seq, versions=1,
                at=ev.envelope["at"], hours=hours, trainees=lines)  # fmt: skip
        if klass is not None:
            klass["attendance_days"] += 1
            if klass["first_attendance"] is None or date < klass["first_attendance"]:
                klass["first_attendance"] = date
            if klass["last_attendance"] is None or date > klass["last_attendance"]:
                klass["last_attendance"] = date
    # The class's trainees straight from the rows held (the hot path: a class-day lists up to 45 of them).
    held, _complete = uow.rows(T.trainees)
    changed = uow.dirty(T.trainees)
    for laborer_id, (theory, practical) in _per_laborer(lines).items():
        key = (class_id, laborer_id)
        found = held.get(key)
        if found is None:  # not held (or absent): the general path loads or adds it
            trainee = _trainee(uow, class_id, laborer_id)
        else:
            trainee = changed[key] = found
        trainee["attendance_days"] += 1
        trainee["theory_hours"] += theory
        trainee["practical_hours"] += practical


def _completion_reads(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    yield T.classes, (ev.body["class_id"],)
    for laborer_id in ev.body["completers"]:
        yield T.trainees, (ev.body["class_id"], laborer_id)


@handles("ClassCompleted", reads=_completion_reads)
def class_completed(uow: UnitOfWork, ev: LeafEvent) -> None:
    klass = _class(uow, ev)
    if klass is None:
        return
    class_id, completers = ev.body["class_id"], list(ev.body["completers"])
    for laborer_id in set(klass["completers"] or ()) - set(completers):
        _trainee(uow, class_id, laborer_id)["completed_seq"] = None
    for laborer_id in dict.fromkeys(completers):
        _trainee(uow, class_id, laborer_id)["completed_seq"] = ev.seq
    klass["completed_seq"], klass["end_date"], klass["completers"] = ev.seq, ev.body["end_date"], completers
    _set_status(klass, "completed", ev)


@handles("CompletionReviewed", reads=by(T.classes, "class_id"))
def completion_reviewed(uow: UnitOfWork, ev: LeafEvent) -> None:
    klass = _class(uow, ev)
    if klass is None:
        return
    klass["review_seq"], klass["review_approved"] = ev.seq, ev.body["approved"]
    klass["review_note"], klass["reviewer"] = ev.body["note"], ev.actor


# --- inspections ------------------------------------------------------------------------------------------------
SUBJECT_TABLES = {"class": T.classes, "laborer": T.laborers, "claim": T.claims, "employer": T.actors}


def _inspection_reads(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    yield SUBJECT_TABLES[ev.body["subject_kind"]], (ev.body["subject_id"],)


@handles("InspectionRecorded", reads=_inspection_reads, creates=by(T.inspections, "inspection_id"))
def inspection_recorded(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = _jurisdiction(uow, SUBJECT_TABLES[b["subject_kind"]], b["subject_id"])
    class_id = b.get("class_id") or (b["subject_id"] if b["subject_kind"] == "class" else None)
    uow.add(T.inspections, inspection_id=b["inspection_id"], seq=ev.seq, actor=ev.actor, method=b["method"],
            subject_kind=b["subject_kind"], subject_id=b["subject_id"], class_id=class_id, date=b["date"],
            at=ev.envelope["at"], verdict=b["verdict"], present=b["present"], absent=b["absent"],
            checklist=b["checklist"], findings=b["findings"])  # fmt: skip


# --- certificates and appraisal ------------------------------------------------------------------------------------
@handles("CertificateIssued", reads=by(T.classes, "class_id"), creates=by(T.certificates, "certificate_no"))
def certificate_issued(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = _jurisdiction(uow, T.classes, b["class_id"])
    uow.add(T.certificates, certificate_no=b["certificate_no"], certificate_type=b["certificate_type"],
            level=b.get("level"), laborer_id=b["laborer_id"], class_id=b["class_id"],
            occupation=b["occupation"], issued_on=b["issued_on"], issuer=ev.actor, seq=ev.seq)  # fmt: skip


@handles("CertificateRevoked", reads=by(T.certificates, "certificate_no"))
def certificate_revoked(uow: UnitOfWork, ev: LeafEvent) -> None:
    cert = uow.edit(T.certificates, ev.body["certificate_no"])
    if cert is None:
        return
    ev.jurisdiction = _jurisdiction(uow, T.classes, cert["class_id"])
    cert["revoked_seq"], cert["revoked_reason"] = ev.seq, ev.body["reason"]


@handles("AppraisalFailed", reads=by(T.classes, "class_id"))
def appraisal_failed(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = _jurisdiction(uow, T.classes, b["class_id"])
    uow.append(T.appraisal_failures, seq=ev.seq, laborer_id=b["laborer_id"], class_id=b["class_id"],
               occupation=b["occupation"], date=b["date"], actor=ev.actor)  # fmt: skip


# --- employment --------------------------------------------------------------------------------------------------------
@handles("EmploymentStarted", reads=signer, creates=by(T.employments, "employment_id"))
def employment_started(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    ev.jurisdiction = _jurisdiction(uow, T.actors, ev.actor)
    uow.add(T.employments, employment_id=b["employment_id"], employer=ev.actor, jurisdiction=ev.jurisdiction,
            laborer_id=b["laborer_id"], position=b["position"], start_date=b["start_date"],
            class_id=b.get("class_id"), seq=ev.seq)  # fmt: skip


def _employment(uow: UnitOfWork, ev: LeafEvent) -> Row | None:
    job = uow.edit(T.employments, ev.body["employment_id"])
    if job is not None:
        ev.jurisdiction = job["jurisdiction"]
    return job


@handles("PayrollRecorded", reads=reads(by(T.employments, "employment_id"), by(T.payroll, "employment_id", "month")))
def payroll_recorded(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    job = _employment(uow, ev)
    month = uow.edit(T.payroll, b["employment_id"], b["month"])
    if month is None:
        uow.add(T.payroll, employment_id=b["employment_id"], month=b["month"], wage_fen=b["wage_fen"],
                seq=ev.seq, at=ev.envelope["at"], first_seq=ev.seq, records=1)  # fmt: skip
        if job is not None:
            job["payroll_months"] += 1
            job["wages_fen"] += b["wage_fen"]
        return
    if job is not None:
        job["wages_fen"] += b["wage_fen"] - month["wage_fen"]
    month.update(wage_fen=b["wage_fen"], seq=ev.seq, at=ev.envelope["at"], records=month["records"] + 1)


@handles("EmploymentProofSubmitted", "EmploymentEnded", reads=by(T.employments, "employment_id"))
def employment_changed(uow: UnitOfWork, ev: LeafEvent) -> None:
    job = _employment(uow, ev)
    if job is None:
        return
    if ev.type == "EmploymentProofSubmitted":
        job["proof_seq"], job["proof_months"] = ev.seq, ev.body["months"]
    else:
        job["end_seq"], job["end_date"] = ev.seq, ev.body["end_date"]


# --- claims ------------------------------------------------------------------------------------------------------------
@handles("SubsidyClaimed", reads=reads(by(T.classes, "class_id"), signer), creates=by(T.claims, "claim_id"))
def subsidy_claimed(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    if b["kind"] == "employer":
        ev.jurisdiction = _jurisdiction(uow, T.actors, ev.actor)
    else:
        ev.jurisdiction = _jurisdiction(uow, T.classes, b["class_id"])
    lines = b["lines"]
    uow.add(T.claims, claim_id=b["claim_id"], kind=b["kind"], class_id=b.get("class_id"), claimant=ev.actor,
            jurisdiction=ev.jurisdiction, payee_account=b["payee_account"], claimed_fen=b["total_fen"],
            line_count=len(lines), sole_laborer_id=lines[0]["laborer_id"] if len(lines) == 1 else None,
            claimed_seq=ev.seq, claimed_date=ev.business_date, status="claimed", status_seq=ev.seq,
            status_date=ev.business_date)  # fmt: skip
    for n, line in enumerate(lines):
        uow.append(T.claim_lines, claim_id=b["claim_id"], line=n, laborer_id=line["laborer_id"],
                   amount_fen=line["amount_fen"], certificate_no=line.get("certificate_no"),
                   employment_id=line.get("employment_id"), seq=ev.seq)  # fmt: skip


def _claim(uow: UnitOfWork, ev: LeafEvent, claim_id: str) -> Row | None:
    claim = uow.edit(T.claims, claim_id)
    if claim is not None:
        ev.jurisdiction = claim["jurisdiction"]
    return claim


def recognise(uow: UnitOfWork, ev: LeafEvent, claim: Row) -> None:
    """Make the payable carry the claim's standing approval: reverse the old, post the new."""
    standing = claim["approved_lines"] if claim["status"] == "approved" else []
    standing = standing or []
    carried = claim["recognized_lines"] or []
    if standing == carried:
        return
    claim_id, kind, code = claim["claim_id"], claim["kind"], claim["jurisdiction"]
    if carried:
        post(uow, ev, "approval_reversal", P.approval_reversal(claim_id, kind, code, carried), claim=claim)
    if standing:
        post(uow, ev, "approval", P.approval(claim_id, kind, code, standing), claim=claim)
    claim["recognized_lines"] = [list(line) for line in standing]
    claim["recognized_fen"] = sum(amount for _, amount in standing)


@handles("ClaimApproved", "ClaimRejected", "ClaimWithdrawn", reads=by(T.claims, "claim_id"))
def claim_decided(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    claim = _claim(uow, ev, b["claim_id"])
    if claim is None:
        return
    if ev.type == "ClaimApproved":
        lines = [[line["laborer_id"], line["amount_fen"]] for line in b["lines"]]
        if claim["approved_seq"] is not None:
            uow.retire(T.approval_lines, {"seq": claim["approved_seq"]}, replaced_seq=ev.seq)
        for n, (laborer_id, amount) in enumerate(lines):
            uow.append(T.approval_lines, seq=ev.seq, line=n, claim_id=b["claim_id"], laborer_id=laborer_id,
                       amount_fen=amount)  # fmt: skip
        claim.update(approved_seq=ev.seq, approved_date=ev.business_date, approver=ev.actor,
                     approved_fen=b["total_fen"], approved_lines=lines)  # fmt: skip
        _set_status(claim, "approved", ev)
    elif ev.type == "ClaimRejected":
        claim["rejected_seq"], claim["rejection_reason"] = ev.seq, b["reason"]
        _set_status(claim, "rejected", ev)
    else:
        claim["withdrawn_seq"], claim["withdrawal_reason"] = ev.seq, b["reason"]
        _set_status(claim, "withdrawn", ev)
    recognise(uow, ev, claim)


@handles("ClaimIdentityVerified",
         reads=reads(by(T.claims, "claim_id"),
                     lambda ev: [(T.laborers, (lid,)) for lid in ev.body["rejected_laborers"]]))  # fmt: skip
def claim_identity_verified(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    claim = _claim(uow, ev, b["claim_id"])
    if claim is not None:
        claim["identity_seq"], claim["rejected_laborers"] = ev.seq, b["rejected_laborers"]
    for laborer_id in dict.fromkeys(b["rejected_laborers"]):
        decide_identity(uow, ev, laborer_id, "rejected", None, claim_id=b["claim_id"])


# --- money --------------------------------------------------------------------------------------------------------------
@handles("PaymentDisbursed", reads=reads(by(T.claims, "claim_id"), by(T.funds, "fund_id")),
         creates=by(T.payments, "payment_id"))  # fmt: skip
def payment_disbursed(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    fund = uow.edit(T.funds, b["fund_id"])
    claim = uow.edit(T.claims, b["claim_id"])
    ev.jurisdiction = None if fund is None else fund["jurisdiction"]
    uow.add(T.payments, payment_id=b["payment_id"], claim_id=b["claim_id"], fund_id=b["fund_id"],
            amount_fen=b["amount_fen"], payee_account=b["payee_account"], bank_reference=b["bank_reference"],
            value_date=b["value_date"], seq=ev.seq, actor=ev.actor, jurisdiction=ev.jurisdiction)  # fmt: skip
    if fund is not None:
        fund["paid_fen"] += b["amount_fen"]
        fund["last_seq"] = ev.seq
    if claim is not None:
        claim["paid_fen"] += b["amount_fen"]
        claim["payments"] += 1
        claim["last_payment_seq"] = ev.seq
    sole = None if claim is None else claim["sole_laborer_id"]
    post(uow, ev, "payment", P.payment(b["claim_id"], b["fund_id"], b["amount_fen"], sole),
         fund_id=b["fund_id"], claim=claim, payment_id=b["payment_id"])  # fmt: skip


@handles("PaymentReturned", reads=by(T.payments, "payment_id"))
def payment_returned(uow: UnitOfWork, ev: LeafEvent) -> None:
    """The whole payment came back (EVENTS.md); a second return of it changes nothing."""
    payment = uow.edit(T.payments, ev.body["payment_id"])
    if payment is None:
        return
    ev.jurisdiction = payment["jurisdiction"]
    if payment["returned_seq"] is not None:
        return
    payment["returned_seq"], payment["return_reason"] = ev.seq, ev.body["reason"]
    amount, fund_id, claim_id = payment["amount_fen"], payment["fund_id"], payment["claim_id"]
    fund = uow.edit(T.funds, fund_id)
    claim = uow.edit(T.claims, claim_id)
    if fund is not None:
        fund["returned_fen"] += amount
        fund["last_seq"] = ev.seq
    if claim is not None:
        claim["returned_fen"] += amount
    sole = None if claim is None else claim["sole_laborer_id"]
    post(uow, ev, "return", P.payment_return(claim_id, fund_id, amount, sole),
         fund_id=fund_id, claim=claim, payment_id=payment["payment_id"])  # fmt: skip


@handles("FundsRecovered", reads=by(T.claims, "claim_id"), creates=by(T.recoveries, "recovery_id"))
def funds_recovered(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    claim = _claim(uow, ev, b["claim_id"])
    uow.add(T.recoveries, recovery_id=b["recovery_id"], claim_id=b["claim_id"], amount_fen=b["amount_fen"],
            reason=b["reason"], anomaly_id=b.get("anomaly_id"), seq=ev.seq, business_date=ev.business_date)  # fmt: skip
    if claim is None:
        return
    claim["recovered_fen"] += b["amount_fen"]
    entries = P.recovery(b["claim_id"], claim["kind"], claim["jurisdiction"], b["amount_fen"],
                         overpaid=claim["payable_fen"], laborer_id=claim["sole_laborer_id"])  # fmt: skip
    post(uow, ev, "recovery", entries, claim=claim)


def _bureau_month(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    yield T.latest_reconciliations, (ev.actor, ev.body["period"])


@handles("ReconciliationRecorded", reads=reads(signer, _bureau_month),
         creates=by(T.reconciliations, "reconciliation_id"))  # fmt: skip
def reconciliation_recorded(uow: UnitOfWork, ev: LeafEvent) -> None:
    """Each reconciliation with its exceptions, and the latest (by ``at``, then seq) per bureau and month."""
    b = ev.body
    ev.jurisdiction = _jurisdiction(uow, T.actors, ev.actor)
    at = ev.envelope["at"]
    funds = None if b.get("funds") is None else sorted(b["funds"])
    uow.add(T.reconciliations, reconciliation_id=b["reconciliation_id"], period=b["period"],
            statement_sha256=b["statement_sha256"], matched=b["matched"],
            unmatched_ledger=b["unmatched_ledger"], unmatched_bank=b["unmatched_bank"],
            mismatched=b["mismatched"], funds=funds, counts=b.get("counts"),
            exceptions_total=b.get("exceptions_total"), seq=ev.seq, actor=ev.actor, at=at,
            jurisdiction=ev.jurisdiction)  # fmt: skip
    for n, e in enumerate(b.get("exceptions") or ()):
        uow.append(T.reconciliation_exceptions, seq=ev.seq, n=n, reconciliation_id=b["reconciliation_id"],
                   status=e["status"], payment_id=e.get("payment_id"), bank_reference=e.get("bank_reference"),
                   amount_fen=e["amount_fen"], value_date=e["value_date"])  # fmt: skip
    latest = uow.edit(T.latest_reconciliations, ev.actor, b["period"])
    if latest is None:
        uow.add(T.latest_reconciliations, actor=ev.actor, period=b["period"], reconciliation_id=b["reconciliation_id"],
                at=at, seq=ev.seq)  # fmt: skip
    elif (parse_rfc3339(at), ev.seq) > (parse_rfc3339(latest["at"]), latest["seq"]):
        latest.update(reconciliation_id=b["reconciliation_id"], at=at, seq=ev.seq)


@handles("AnomalyDisposed")
def anomaly_disposed(uow: UnitOfWork, ev: LeafEvent) -> None:
    b = ev.body
    uow.append(T.dispositions, seq=ev.seq, anomaly_id=b["anomaly_id"], disposition=b["disposition"],
               note=b["note"], actor=ev.actor)  # fmt: skip
