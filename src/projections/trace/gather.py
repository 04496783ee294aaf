"""Which leaves a trace holds (DESIGN §12), found through the projections' indexes.

Each kind starts from its subject's row and follows the relations §12 lists, one indexed read per
step: ``pj_events`` by subject for a subject's own events, the entity tables for the links
between subjects (a claim's lines and payments, a labourer's classes, a class's certificates…).
Where a relation lives only in a body (which trainees an attendance record names), the
candidate leaves are those of one class, read by seq and kept when they name the labourer.
Only leaves below the checkpoint's size count.

Each leaf gets one ``relation`` (docs/trace.md): ``subject`` for the traced subject's own events,
otherwise the relation its type stands for (:data:`RELATION_OF`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.domain.schema import REGISTRY_TYPES
from ledger.errors import OperationalError, Refused
from projections import tables as T
from projections.anomalies.reads import _standard
from projections.anomalies.state import StandardSet

KINDS = ("payment", "claim", "class", "laborer", "certificate", "fund", "actor")
PAGED = frozenset({"fund", "actor"})  # a summary and the events in pages (DESIGN §12)

# The fixed list of relations (docs/trace.md), and the one each event type stands for.
RELATIONS = ("subject", "registration", "identity", "class", "enrolment", "attendance", "completion",
             "certificate", "appraisal", "employment", "claim", "approval", "payment", "recovery",
             "inspection", "fund", "standard", "personal_data", "registry", "anomaly", "reconciliation")  # fmt: skip
RELATION_OF: dict[str, str] = {
    "LaborerRegistered": "registration", "LaborerCorrected": "registration",
    "IdentityConfirmed": "identity", "IdentityRejected": "identity", "ClaimIdentityVerified": "identity",
    "ClassOpeningRequested": "class", "ClassOpeningApproved": "class", "ClassOpeningRejected": "class",
    "ClassCancelled": "class",
    "TraineeEnrolled": "enrolment", "TraineeWithdrawn": "enrolment",
    "AttendanceRecorded": "attendance",
    "ClassCompleted": "completion", "CompletionReviewed": "completion",
    "CertificateIssued": "certificate", "CertificateRevoked": "certificate",
    "AppraisalFailed": "appraisal",
    "EmploymentStarted": "employment", "PayrollRecorded": "employment", "EmploymentProofSubmitted": "employment",
    "EmploymentEnded": "employment",
    "SubsidyClaimed": "claim", "ClaimWithdrawn": "claim",
    "ClaimApproved": "approval", "ClaimRejected": "approval",
    "PaymentDisbursed": "payment", "PaymentReturned": "payment",
    "FundsRecovered": "recovery",
    "InspectionRecorded": "inspection",
    "FundAllocated": "fund", "FundAdjusted": "fund",
    "SubsidyStandardSet": "standard",
    "PersonalDataAccessed": "personal_data", "PersonalDataErased": "personal_data",
    "ActorRegistered": "registry", "KeyRotated": "registry", "KeyRevoked": "registry",
    "AnomalyDisposed": "anomaly",
    "ReconciliationRecorded": "reconciliation",
}  # fmt: skip

LABORER_OWN = frozenset({"LaborerRegistered", "LaborerCorrected", "IdentityConfirmed", "IdentityRejected"})
CLASS_OWN = frozenset({"ClassOpeningRequested", "ClassOpeningApproved", "ClassOpeningRejected", "ClassCancelled",
                       "ClassCompleted", "CompletionReviewed"})  # fmt: skip
NAMING = frozenset({"TraineeEnrolled", "TraineeWithdrawn", "AttendanceRecorded"})  # class events that name trainees


class SubjectNotFound(Refused):
    """No subject of that kind and id under the checkpoint."""

    code = "subject_not_found"


def not_found(kind: str, ident: str, size: int) -> SubjectNotFound:
    return SubjectNotFound(f"no {kind} {ident!r} under checkpoint {size}",
                           zh=f"检查点（大小 {size}）之下没有{KIND_ZH.get(kind, kind)} {ident}")  # fmt: skip


KIND_ZH = {"payment": "拨付", "claim": "补贴申请", "class": "培训班", "laborer": "劳动力", "certificate": "证书",
           "fund": "专项资金", "actor": "主体"}  # fmt: skip


Bodies = Callable[[Sequence[int]], dict[int, dict[str, Any]]]
"""The envelope bodies of some leaves, by seq (the leaves are read, not the log)."""
Envelopes = Callable[[Sequence[int]], dict[int, dict[str, Any]]]
"""The envelopes of some leaves, by seq (where the signing ``at``, actor and nonce decide a tie)."""


@dataclass
class Gathered:
    """What a trace holds: each seq with its relation."""

    kind: str
    ident: str
    relations: dict[int, str] = field(default_factory=dict)


class Gatherer:
    """One trace's reads: ``conn`` for the indexes, ``bodies`` for the few leaves whose body decides."""

    def __init__(self, conn: Connection, bodies: Bodies, size: int, envelopes: Envelopes | None = None):
        self.conn, self.bodies, self.size, self.envelopes = conn, bodies, size, envelopes
        self.found: dict[int, str] = {}  # seq -> type

    # --- the reads every kind shares -----------------------------------------------------------------------
    def events_of(self, kind: str, idents: str | Collection[str], types: Collection[str] | None = None) -> list[tuple[int, str]]:
        """``(seq, type)`` of some subjects' own events below the size (``pj_events`` by subject)."""
        e = T.events
        wanted = [idents] if isinstance(idents, str) else sorted(idents)
        out: list[tuple[int, str]] = []
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            where = e.c.subject_id == chunk[0] if len(chunk) == 1 else e.c.subject_id.in_(chunk)
            query = sa.select(e.c.seq, e.c.type).where(e.c.subject_kind == kind, where, e.c.seq < self.size)
            if types is not None:
                query = query.where(e.c.type.in_(sorted(types)))
            out += [(int(seq), str(t)) for seq, t in self.conn.execute(query)]
        return out

    def take(self, events: Iterable[tuple[int, str]]) -> None:
        for seq, type_ in events:
            self.found[seq] = type_

    def subject(self, kind: str, idents: str | Collection[str], types: Collection[str] | None = None) -> None:
        """The own events of one subject, or of several (one query)."""
        self.take(self.events_of(kind, idents, types))

    def column(self, table: sa.Table, wanted: str, where: sa.ColumnElement[bool]) -> list[Any]:
        return list(self.conn.execute(sa.select(table.c[wanted]).where(where)).scalars())

    def naming(self, class_id: str, laborers: Collection[str], types: Collection[str] = NAMING) -> None:
        """The class's events of ``types`` whose body names one of ``laborers``."""
        candidates = self.events_of("class", class_id, types)
        bodies = self.bodies([seq for seq, _ in candidates])
        for seq, type_ in candidates:
            if _names_any(bodies[seq], laborers):
                self.found[seq] = type_

    def inspections(self, where: sa.ColumnElement[bool], laborers: Collection[str] | None = None) -> None:
        """Inspections matching ``where``; with ``laborers``, only those naming one of them."""
        i = T.inspections
        query = sa.select(i.c.seq, i.c.present, i.c.absent, i.c.findings).where(where, i.c.seq < self.size)
        for seq, present, absent, findings in self.conn.execute(query):
            named = {*present, *absent, *(f.get("laborer_id") for f in findings)}
            if laborers is None or named & set(laborers):
                self.found[int(seq)] = "InspectionRecorded"

    def _row(self, kind: str, table: sa.Table, key: str, ident: str, seq_column: str) -> Any:
        query = sa.select(table).where(table.c[key] == ident, table.c[seq_column] < self.size)
        row = self.conn.execute(query).mappings().first()
        if row is None:
            raise not_found(kind, ident, self.size)
        return row

    # --- the kinds (DESIGN §12) ----------------------------------------------------------------------------
    def payment(self, payment_id: str) -> None:
        """The payment, its return and recoveries, and everything of its claim."""
        row = self._row("payment", T.payments, "payment_id", payment_id, "seq")
        self.subject("payment", payment_id)
        self.claim(row["claim_id"])

    def claim(self, claim_id: str) -> None:
        c = self._row("claim", T.claims, "claim_id", claim_id, "claimed_seq")
        self.subject("claim", claim_id)
        p, r, lines = T.payments, T.recoveries, T.claim_lines
        paid = self.conn.execute(sa.select(p.c.payment_id, p.c.fund_id).where(p.c.claim_id == claim_id, p.c.seq < self.size)).all()
        self.subject("payment", {payment_id for payment_id, _ in paid})
        funds = {fund_id for _, fund_id in paid}
        self.take((seq, "FundsRecovered") for seq in self.column(r, "seq", (r.c.claim_id == claim_id) & (r.c.seq < self.size)))
        rows = self.conn.execute(sa.select(lines.c.laborer_id, lines.c.certificate_no, lines.c.employment_id)
                                 .where(lines.c.claim_id == claim_id)).all()  # fmt: skip
        laborers = sorted({row.laborer_id for row in rows})
        self.subject("laborer", laborers, LABORER_OWN)
        class_id = c["class_id"]
        if class_id is not None:
            self.subject("class", class_id, CLASS_OWN)
            self.naming(class_id, laborers)
        i = T.inspections
        about = [(i.c.subject_kind == "claim") & (i.c.subject_id == claim_id)]
        if class_id is not None:  # the class's inspections (an employer claim has no class)
            about += [i.c.class_id == class_id, (i.c.subject_kind == "class") & (i.c.subject_id == class_id)]
        self.inspections(sa.or_(*about))
        self._inspections_naming(laborers)
        certificates = sorted({row.certificate_no for row in rows if row.certificate_no})
        self.subject("certificate", certificates)
        self.subject("employment", {row.employment_id for row in rows if row.employment_id})
        m = T.fund_movements
        for fund_id in sorted(funds):
            self.take((seq, "FundAllocated") for seq in self.column(m, "seq", (m.c.fund_id == fund_id) & (m.c.seq < self.size)))
        self._standards(c, certificates)

    def klass(self, class_id: str) -> None:
        """The class's own events, its inspections, its certificates and its claims."""
        self._row("class", T.classes, "class_id", class_id, "requested_seq")
        self.subject("class", class_id)
        i = T.inspections
        self.inspections(sa.or_(i.c.class_id == class_id, (i.c.subject_kind == "class") & (i.c.subject_id == class_id)))
        self.subject("certificate", self.column(T.certificates, "certificate_no", T.certificates.c.class_id == class_id))
        self.subject("claim", self.column(T.claims, "claim_id", T.claims.c.class_id == class_id))

    def laborer(self, laborer_id: str) -> None:
        self._row("laborer", T.laborers, "laborer_id", laborer_id, "registered_seq")
        self.subject("laborer", laborer_id)  # registration, corrections, identity, personal-data reads and erasure
        one = [laborer_id]
        t, cert, lines, emp = T.trainees, T.certificates, T.claim_lines, T.employments
        classes = set(self.column(t, "class_id", t.c.laborer_id == laborer_id))
        for certificate_no, class_id in self.conn.execute(
            sa.select(cert.c.certificate_no, cert.c.class_id).where(cert.c.laborer_id == laborer_id)
        ):
            self.subject("certificate", certificate_no)
            classes.add(class_id)
        for class_id in sorted(classes):
            self.naming(class_id, one, NAMING | {"AppraisalFailed"})
        self._inspections_naming(one, classes)
        claims = sorted(set(self.column(lines, "claim_id", lines.c.laborer_id == laborer_id)))
        self.subject("claim", claims, {"SubsidyClaimed"})
        p = T.payments
        if claims:
            self.subject("payment", self.column(p, "payment_id", p.c.claim_id.in_(claims)))
        self.subject("employment", self.column(emp, "employment_id", emp.c.laborer_id == laborer_id))

    def certificate(self, certificate_no: str) -> None:
        """Its issue and revocation, its class and the claims citing it."""
        row = self._row("certificate", T.certificates, "certificate_no", certificate_no, "seq")
        self.subject("certificate", certificate_no)
        self.subject("class", row["class_id"], CLASS_OWN)
        lines = T.claim_lines
        self.subject("claim", set(self.column(lines, "claim_id", lines.c.certificate_no == certificate_no)))

    # --- helpers -------------------------------------------------------------------------------------------
    def _inspections_naming(self, laborers: Sequence[str], classes: Collection[str] | None = None) -> None:
        """Inspections of these labourers, and those of their classes whose lists or findings name them."""
        i, t = T.inspections, T.trainees
        if not laborers:
            return
        self.inspections((i.c.subject_kind == "laborer") & i.c.subject_id.in_(laborers))
        if classes is None:
            classes = set(self.column(t, "class_id", t.c.laborer_id.in_(laborers)))
        if classes:
            self.inspections(i.c.class_id.in_(sorted(classes)), laborers)

    def _standards(self, claim: Any, certificates: Sequence[str]) -> None:
        """The standard in force for each of the claim's certificate types (RULES.md's "most specific")."""
        s, k, cert = T.standards, T.classes, T.certificates
        table = [StandardSet(**{key: value for key, value in row.items() if value is not None})  # type: ignore[typeddict-item]
                 for row in self.conn.execute(sa.select(s).where(s.c.seq < self.size)).mappings()]  # fmt: skip
        if self.envelopes is not None:  # "then the latest" of equal standards by DESIGN §3's (at, actor, nonce), as the rules
            signed = self.envelopes([std["seq"] for std in table])
            for std in table:
                envelope = signed.get(std["seq"], {})
                if {"at", "actor", "nonce"} <= envelope.keys():
                    std.update(at=envelope["at"], actor=envelope["actor"], nonce=envelope["nonce"])
        klass = None
        if claim["class_id"] is not None:
            klass = self.conn.execute(sa.select(k).where(k.c.class_id == claim["class_id"])).mappings().first()
        on = claim["claimed_date"] if klass is None else (klass["end_date"] or klass["last_attendance"] or klass["planned_end"])
        types: set[str | None] = {None}
        if certificates:
            types = set(self.column(cert, "certificate_type", cert.c.certificate_no.in_(certificates)))
        for certificate_type in sorted(types, key=lambda t: t or ""):
            found = _standard(table, claim["kind"], on, None if klass is None else klass["programme"],
                              None if klass is None else klass["occupation"], certificate_type, False)  # fmt: skip
            if found is not None:
                self.found[found["seq"]] = "SubsidyStandardSet"


def _names_any(body: dict[str, Any], laborers: Collection[str]) -> bool:
    if body.get("laborer_id") in laborers:
        return True
    return any(t["laborer_id"] in laborers for t in body.get("trainees", ()))


def gather(conn: Connection, bodies: Bodies, kind: str, ident: str, size: int,
           envelopes: Envelopes | None = None) -> Gathered:  # fmt: skip
    """The seqs of a trace of ``kind`` ``ident`` below ``size`` (not paged), each with its relation
    (``envelopes``: to break a tie of equal standards as the rules do; without, by seq)."""
    g = Gatherer(conn, bodies, size, envelopes)
    if kind == "payment":
        g.payment(ident)
    elif kind == "claim":
        g.claim(ident)
    elif kind == "class":
        g.klass(ident)
    elif kind == "laborer":
        g.laborer(ident)
    elif kind == "certificate":
        g.certificate(ident)
    elif kind in PAGED:
        return Gathered(kind, ident, paged_relations(kind, list(paged_events(conn, kind, ident, size))))
    else:
        raise OperationalError(f"KIND must be one of {', '.join(KINDS)}")
    own = {seq for seq, _ in g.events_of(kind, ident)}
    return Gathered(kind, ident, {seq: "subject" if seq in own else RELATION_OF[t] for seq, t in sorted(g.found.items())})


def paged_relations(kind: str, events: Sequence[tuple[int, str]]) -> dict[int, str]:
    """A fund's movements and an actor's events are its own (``subject``); a fund's payments are payments."""
    if kind == "actor":
        return {seq: "subject" for seq, _ in events}
    return {seq: "subject" if RELATION_OF[t] == "fund" else RELATION_OF[t] for seq, t in events}


# --- fund and actor: every event, summarised and paged -----------------------------------------------------
def _paged_seqs(kind: str, ident: str, size: int) -> sa.Select[tuple[int]]:
    """The seqs of a fund's or actor's events, as one indexed statement."""
    e, m, p = T.events, T.fund_movements, T.payments
    if kind == "fund":
        own = sa.select(e.c.seq).where(e.c.subject_kind == "fund", e.c.subject_id == ident)
        movements = sa.select(m.c.seq).where(m.c.fund_id == ident)
        payments = sa.select(e.c.seq).where(e.c.subject_kind == "payment",
                                            e.c.subject_id.in_(sa.select(p.c.payment_id).where(p.c.fund_id == ident)))  # fmt: skip
        union = sa.union(own, movements, payments).subquery()
    else:
        signed = sa.select(e.c.seq).where(e.c.actor == ident)
        about = sa.select(e.c.seq).where(e.c.subject_kind == "actor", e.c.subject_id == ident)
        union = sa.union(signed, about).subquery()
    return sa.select(union.c.seq).where(union.c.seq < size)


def subject_exists(conn: Connection, kind: str, ident: str, size: int) -> None:
    table, key, seq = (T.funds, "fund_id", "first_seq") if kind == "fund" else (T.actors, "actor_id", "registered_seq")
    if conn.execute(sa.select(table.c[key]).where(table.c[key] == ident, table.c[seq] < size)).first() is None:
        raise not_found(kind, ident, size)


def paged_events(conn: Connection, kind: str, ident: str, size: int, start: int = 0,
                 limit: int | None = None) -> Iterator[tuple[int, str]]:  # fmt: skip
    """``(seq, type)`` of a fund's or actor's events from seq ``start``, at most ``limit``, in seq order."""
    subject_exists(conn, kind, ident, size)
    seqs = _paged_seqs(kind, ident, size).where(sa.literal_column("seq") >= start).subquery()
    e = T.events
    query = sa.select(e.c.seq, e.c.type).where(e.c.seq.in_(sa.select(seqs.c.seq))).order_by(e.c.seq)
    if limit is not None:
        query = query.limit(limit)
    for seq, type_ in conn.execute(query):
        yield int(seq), str(type_)


def summary(conn: Connection, kind: str, ident: str, size: int) -> dict[str, dict[str, int]]:
    """{event type: {month: count}} of every event of a fund or actor (by business date)."""
    e = T.events
    month = sa.func.substr(e.c.business_date, 1, 7)
    seqs = _paged_seqs(kind, ident, size).subquery()
    query = (sa.select(e.c.type, month, sa.func.count()).where(e.c.seq.in_(sa.select(seqs.c.seq)))
             .group_by(e.c.type, month))  # fmt: skip
    out: dict[str, dict[str, int]] = {}
    for type_, m, n in conn.execute(query):
        out.setdefault(str(type_), {})[str(m)] = int(n)
    return {t: dict(sorted(months.items())) for t, months in sorted(out.items())}


def registry_seqs(conn: Connection, signers: Iterable[str], size: int) -> list[int]:
    """Every registry leaf (``ActorRegistered``, ``KeyRotated``, ``KeyRevoked``) of each signer, and of
    the signers of those, back to leaf 0 (DESIGN §6: what an evidence bundle adds)."""
    e = T.events
    done: set[str] = set()
    todo = set(signers)
    seqs: set[int] = {0} if size > 0 else set()
    while todo:
        batch = sorted(todo - done)
        done.update(batch)
        todo = set()
        query = sa.select(e.c.seq, e.c.actor).where(e.c.subject_kind == "actor", e.c.subject_id.in_(batch),
                                                    e.c.type.in_(sorted(REGISTRY_TYPES)), e.c.seq < size)  # fmt: skip
        for seq, actor in conn.execute(query):
            seqs.add(int(seq))
            if actor not in done:
                todo.add(actor)
    return sorted(seqs)


def body_of(leaf: bytes) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(leaf)["envelope"]["body"]
    return body
