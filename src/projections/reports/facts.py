"""The monthly report's read model (DESIGN §11): one fact row per thing the report counts.

A hook after each event's handler appends what the report will count — a class requested, a
labourer enrolled, each completer of a ``ClassCompleted``, a certificate, a labourer's household
and category as registered or corrected… — with the event's **business date** and the
**jurisdiction** its handler set (DESIGN §2: a class and everything about it → the class's
county, a labourer's registration → the labourer's county, an employment → the employer's).

Facts are append-only and keyed by ``seq``, so a report *as of* leaf N is ``seq <= N`` (DESIGN §5)
and "in the month" a range of the key ``(fact, jurisdiction, date, …)``: a report reads its month's
rows and the cumulative rows it needs, never the log. Money comes from the postings
(``pj_postings``) and flags from the anomaly history, which are already facts keyed by seq.

=====================  =========================================================================
``fact``               what one row is (``key``, ``ref`` as noted)
=====================  =========================================================================
class_requested        ``ClassOpeningRequested``
class_approved         ``ClassOpeningApproved``
class_completed        ``ClassCompleted`` (dated by its ``end_date``)
enrolment              ``TraineeEnrolled`` (class, labourer)
withdrawal             ``TraineeWithdrawn`` (class, labourer)
completer              one labourer listed by a ``ClassCompleted``
certificate            ``CertificateIssued`` (``key`` its type, ``ref`` its number)
certificate_revoked    ``CertificateRevoked`` (``ref`` the number)
appraisal_failed       ``AppraisalFailed``
employment_started     ``EmploymentStarted`` (``institution`` of the class it cites, if any)
employment_proof       ``EmploymentProofSubmitted``
inspection             ``InspectionRecorded`` (``key`` the method, ``ref`` the verdict)
laborer                ``LaborerRegistered`` (household, category; ``key`` registered) or
                       ``LaborerCorrected`` (only what it corrects, the other column null;
                       ``key`` corrected)
=====================  =========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import sqlalchemy as sa

from projections import tables as T
from projections.events import LeafEvent
from projections.runner.registry import hook, register_version
from projections.tables import _key, _table, _text
from projections.uow import Key, UnitOfWork

# Bump when what the hook writes changes: the next catch-up then rebuilds from seq 0.
register_version("projections.reports", "2")  # 2: labourer facts say registered or corrected

facts = _table(
    "pj_report_facts",
    # Keyed (so on SQLite clustered) by kind, jurisdiction and date: a county's facts of a kind in a
    # month, or by a month's end, are one contiguous range read without a lookup per row (the city's,
    # one range per county). (seq, n) makes the key unique.
    _key("fact"),
    _key("jurisdiction"),                        # DESIGN §2, as the event's handler set it ("" if none)
    _key("date"),                                # the business date (EVENTS.md)
    _key("seq", sa.BigInteger),
    _key("n", sa.Integer),                       # several facts of one leaf (the completers) keep their order
    _text("institution"),                        # the class's institution, where a class is involved
    _text("class_id"),
    _text("laborer_id"),
    _text("key"),                                # certificate type, inspection method
    _text("ref"),                                # certificate number, inspection verdict
    _text("household_id"),                       # laborer facts
    _text("category"),
)  # fmt: skip

Row = dict[str, object]


def _institution(uow: UnitOfWork, class_id: object) -> str | None:
    klass = None if not isinstance(class_id, str) else uow.get(T.classes, class_id)
    return None if klass is None else str(klass["institution"])


def _class_fact(fact: str) -> Callable[[UnitOfWork, LeafEvent], Iterator[Row]]:
    def rows(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
        b = ev.body
        yield {"fact": fact, "class_id": b["class_id"], "laborer_id": b.get("laborer_id"),
               "institution": _institution(uow, b["class_id"])}  # fmt: skip

    return rows


def _completed(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
    b = ev.body
    institution = _institution(uow, b["class_id"])
    yield {"fact": "class_completed", "class_id": b["class_id"], "institution": institution}
    for laborer_id in dict.fromkeys(b["completers"]):
        yield {"fact": "completer", "class_id": b["class_id"], "laborer_id": laborer_id, "institution": institution}


def _certificate(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
    b = ev.body
    yield {"fact": "certificate", "class_id": b["class_id"], "laborer_id": b["laborer_id"],
           "institution": _institution(uow, b["class_id"]), "key": b["certificate_type"],
           "ref": b["certificate_no"]}  # fmt: skip


def _revoked(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
    cert = uow.get(T.certificates, ev.body["certificate_no"])
    if cert is not None:
        yield {"fact": "certificate_revoked", "class_id": cert["class_id"], "laborer_id": cert["laborer_id"],
               "institution": _institution(uow, cert["class_id"]), "key": cert["certificate_type"],
               "ref": cert["certificate_no"]}  # fmt: skip


def _employment(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
    b = ev.body
    yield {"fact": "employment_started", "laborer_id": b["laborer_id"], "class_id": b.get("class_id"),
           "institution": _institution(uow, b.get("class_id"))}  # fmt: skip


def _proof(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
    job = uow.get(T.employments, ev.body["employment_id"])
    yield {"fact": "employment_proof", "laborer_id": None if job is None else job["laborer_id"]}


def _inspection(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
    b = ev.body
    yield {"fact": "inspection", "class_id": b.get("class_id"), "key": b["method"], "ref": b["verdict"]}


def _laborer(uow: UnitOfWork, ev: LeafEvent) -> Iterator[Row]:
    b = ev.body
    if ev.type == "LaborerCorrected" and b.get("household_id") is None and b.get("category") is None:
        return
    yield {"fact": "laborer", "laborer_id": b["laborer_id"], "household_id": b.get("household_id"),
           "category": b.get("category"), "key": "registered" if ev.type == "LaborerRegistered" else "corrected"}  # fmt: skip


FACTS: Mapping[str, Callable[[UnitOfWork, LeafEvent], Iterator[Row]]] = {
    "ClassOpeningRequested": _class_fact("class_requested"),
    "ClassOpeningApproved": _class_fact("class_approved"),
    "ClassCompleted": _completed,
    "TraineeEnrolled": _class_fact("enrolment"),
    "TraineeWithdrawn": _class_fact("withdrawal"),
    "CertificateIssued": _certificate,
    "CertificateRevoked": _revoked,
    "AppraisalFailed": _class_fact("appraisal_failed"),
    "EmploymentStarted": _employment,
    "EmploymentProofSubmitted": _proof,
    "InspectionRecorded": _inspection,
    "LaborerRegistered": _laborer,
    "LaborerCorrected": _laborer,
}


def _reads(ev: LeafEvent) -> Iterator[tuple[sa.Table, Key]]:
    if ev.type in FACTS:
        class_id = ev.body.get("class_id")
        if isinstance(class_id, str):
            yield T.classes, (class_id,)


@hook(reads=_reads)
def report_facts(uow: UnitOfWork, seq: int, envelope: Mapping[str, object]) -> None:
    """Append the facts this event gives the monthly report."""
    ev = uow.event
    assert ev is not None, "hooks run with the unit of work's event set"
    make = FACTS.get(ev.type)
    if make is None:
        return
    for n, row in enumerate(make(uow, ev)):
        uow.append(facts, seq=seq, n=n, date=ev.business_date, jurisdiction=ev.jurisdiction or "", **row)
