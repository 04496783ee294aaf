"""证据包 (``export evidence``): the leaves a trace of one payment, claim, class or labourer needs.

The bundle holds those leaves (see :class:`_Trace`) plus every registry leaf (``ActorRegistered``,
``KeyRotated``, ``KeyRevoked``) of each actor that signed one of them, recursively back to
leaf 0, so each signature can be checked against the key registered for it. Subjects are
found through the domain events' aggregate index (one indexed read per subject) and one
streaming pass over the log for events that refer to them from elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ledger import Progress
from ledger.domain.aggregates import AGGREGATES, LedgerEvent, subject_uuid
from ledger.encoding.b64 import b64encode
from ledger.encoding.canonical import JSONObject
from ledger.errors import OperationalError, Refused, VerificationFailed
from ledger.persistence import queries
from ledger.translog import merkle
from ledger.translog.export.bundle import (
    ENTRIES,
    PROOFS,
    Exported,
    prepare,
    standing_checkpoint,
    usable,
    write_common,
)
from ledger.translog.proofs import inclusion_proof

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.service import Session


KINDS = ("payment", "claim", "class", "laborer")


_TYPES = {agg.KIND: frozenset(agg.EVENTS) for agg in AGGREGATES}


LABORER_TRACE = frozenset({"LaborerRegistered", "LaborerCorrected", "IdentityConfirmed", "IdentityRejected",
                           "PersonalDataErased"})  # fmt: skip


REGISTRY = frozenset({"ActorRegistered", "KeyRotated", "KeyRevoked"})


class SubjectNotFound(Refused):
    """No payment, claim, class or labourer with that id under the exported checkpoint."""

    code = "subject_not_found"


def export_evidence(
    session: Session, kind: str, ident: str, directory: str | Path,
    progress: Progress | None = None,
) -> Exported:  # fmt: skip
    """The leaves a trace of ``kind`` ``ident`` needs, with their inclusion proofs."""
    if kind not in KINDS:
        raise OperationalError(f"KIND must be one of {', '.join(KINDS)}")
    ledger = session.ledger
    usable(directory)
    note, checkpoint, signed = standing_checkpoint(session)
    seqs = evidence_seqs(ledger, kind, ident, checkpoint.size, progress)
    path = prepare(directory)
    lines: list[str] = []
    with open(path / ENTRIES, "wb") as out:
        for seq, leaf in _leaves_by_seq(ledger, seqs):
            proof = inclusion_proof(ledger, seq, checkpoint.size)
            try:
                proof.verify(checkpoint.root_hash, leaf)
            except merkle.InclusionProofInvalid as exc:
                raise VerificationFailed(f"leaf {seq} is not in checkpoint {checkpoint.size}: {exc} (run verify)",
                                         seq=seq) from None  # fmt: skip
            out.write(leaf + b"\n")
            lines.append(f'"{seq}":' + json.dumps([b64encode(p) for p in proof.path], separators=(",", ":")))
    (path / PROOFS).write_text(
        '{"size":' + str(checkpoint.size) + ',"inclusion":{\n' + ",\n".join(lines) + "\n}}\n", encoding="utf-8"
    )
    example = _example(ledger, seqs)
    write_common(path, session, note, checkpoint, partial=True, example=example)
    return Exported(path, kind, ident, checkpoint.size, checkpoint.root_hash, len(seqs), signed,
                    None if example is None else example[0])  # fmt: skip


def _leaves_by_seq(ledger: Ledger, seqs: list[int]) -> Iterator[tuple[int, bytes]]:
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        rows = queries.leaves_by_seq(ledger.sql, chunk)
        if len(rows) != len(chunk):
            missing = sorted(set(chunk) - {r.seq for r in rows})[0]
            raise VerificationFailed(f"leaf {missing} is missing from the log (run verify)", seq=missing)
        yield from rows


def _example(ledger: Ledger, seqs: list[int]) -> tuple[int, int] | None:
    """(seq, line in entries.jsonl) of the first exported leaf that is not a registry leaf."""
    for line, seq in enumerate(seqs, start=1):
        leaf = ledger.leaf(seq) or b""
        if not any(f'"type":"{t}"'.encode() in leaf for t in REGISTRY):
            return seq, line
    return (seqs[0], 1) if seqs else None


@dataclass
class _Trace:
    """The subjects a trace follows, and the leaves found so far.

    payment → its claim(s); a claim → its class, its lines' labourers, certificates and
    employments, its payments (and their funds and returns), recoveries and inspections;
    class → its events, enrolled labourers, certificates, claims for it (and their payments);
    labourer → every event naming the labourer anywhere in the body.
    """

    ledger: Ledger
    size: int
    seqs: dict[int, str] = field(default_factory=dict)  # seq -> signing actor
    claims: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    laborers: set[str] = field(default_factory=set)
    certificates: set[str] = field(default_factory=set)
    employments: set[str] = field(default_factory=set)
    funds: set[str] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)

    def include(self, seq: int, env: JSONObject) -> None:
        if seq < self.size:
            self.seqs[seq] = env["actor"]

    def aggregate(self, kind: str, ident: str, types: frozenset[str] | None = None) -> list[JSONObject]:
        """One subject's events, through the domain events' index (no scan)."""
        out = []
        for event in self.ledger.repository.event_store.get(subject_uuid(kind, ident)):
            stored = cast(LedgerEvent, event)
            env, seq = stored.envelope, stored.seq
            if seq < self.size and (types is None or env["type"] in types):
                self.include(seq, env)
                out.append(env)
        return out

    def claim_subjects(self, env: JSONObject) -> None:
        body = env["body"]
        if env["type"] == "SubsidyClaimed":
            if body.get("class_id"):
                self.classes.add(body["class_id"])
            for line in body["lines"]:
                self.laborers.add(line["laborer_id"])
                if line.get("certificate_no"):
                    self.certificates.add(line["certificate_no"])
                if line.get("employment_id"):
                    self.employments.add(line["employment_id"])
        elif env["type"] == "ClaimApproved":
            self.laborers.update(line["laborer_id"] for line in body["lines"])
        elif env["type"] == "ClaimIdentityVerified":
            self.laborers.update(body["rejected_laborers"])

    def class_subjects(self, env: JSONObject) -> None:
        body = env["body"]
        if "laborer_id" in body:
            self.laborers.add(body["laborer_id"])
        for trainee in body.get("trainees", []):
            self.laborers.add(trainee["laborer_id"])
        self.laborers.update(body.get("completers", []))

    def money(self, seq: int, env: JSONObject) -> None:
        """Events elsewhere in the log that refer to the traced claims (payments come after claims)."""
        t, body = env["type"], env["body"]
        if t in ("PaymentDisbursed", "FundsRecovered"):
            hit = body["claim_id"] in self.claims
            if hit and t == "PaymentDisbursed":
                self.payments.add(body["payment_id"])
                self.funds.add(body["fund_id"])
        elif t == "PaymentReturned":
            hit = body["payment_id"] in self.payments
        elif t in _TYPES["claim"]:
            hit = body["claim_id"] in self.claims
        elif t == "InspectionRecorded":
            hit = (
                (body["subject_kind"] == "claim" and body["subject_id"] in self.claims)
                or (body["subject_kind"] == "class" and body["subject_id"] in self.classes)
                or body.get("class_id") in self.classes
            )
        else:
            hit = False
        if hit:
            self.include(seq, env)

    def finish(self, kinds: Iterable[str] = ("class", "laborer", "certificate", "employment", "fund", "payment")) -> None:
        """Subjects' own events through the index (some precede the events that named them)."""
        for kind in kinds:
            ids = {"class": self.classes, "laborer": self.laborers, "certificate": self.certificates,
                   "employment": self.employments, "fund": self.funds, "payment": self.payments}[kind]  # fmt: skip
            for ident in sorted(ids):
                self.aggregate(kind, ident, LABORER_TRACE if kind == "laborer" else None)

    def registry(self) -> None:
        """Every registry leaf of each signer, recursively (their signers too), back to leaf 0."""
        done: set[str] = set()
        todo = set(self.seqs.values())
        while todo:
            actor = todo.pop()
            done.add(actor)
            for env in self.aggregate("actor", actor):
                if env["actor"] not in done:
                    todo.add(env["actor"])
        if self.size > 0 and 0 not in self.seqs:
            leaf = self.ledger.leaf(0)
            if leaf is not None:
                self.include(0, json.loads(leaf)["envelope"])


def _scan(ledger: Ledger, size: int, types: frozenset[str] | None = None,
          needle: bytes | None = None) -> Iterator[tuple[int, JSONObject]]:  # fmt: skip
    """Stream ``(seq, envelope)`` of leaves < size, optionally only some types or containing ``needle``."""
    wanted = sorted(types) if types else []
    seq = 0
    while seq < size:
        rows = queries.leaves_between(ledger.sql, seq, size, wanted, limit=2000)
        if not rows:
            return
        for row_seq, leaf in rows:
            if needle is None or needle in leaf:
                yield row_seq, json.loads(leaf)["envelope"]
        seq = rows[-1].seq + 1


def _names(value: object, ident: str) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if item == ident:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


_MONEY_TYPES = frozenset({"PaymentDisbursed", "FundsRecovered", "PaymentReturned", "InspectionRecorded"}) | _TYPES["claim"]


_CLASS_REFERRERS = frozenset({"CertificateIssued", "CertificateRevoked", "SubsidyClaimed", "EmploymentStarted",
                              "InspectionRecorded"})  # fmt: skip


def evidence_seqs(ledger: Ledger, kind: str, ident: str, size: int,
                  progress: Progress | None = None) -> list[int]:  # fmt: skip
    """The sorted seqs (all < ``size``) of an evidence bundle for ``kind`` ``ident``."""
    trace = _Trace(ledger, size)
    if kind in ("payment", "claim"):
        own = trace.aggregate(kind, ident)
        if not own:
            raise SubjectNotFound(f"no {kind} {ident!r} under checkpoint {size}")
        if kind == "payment":
            for env in own:
                if env["type"] == "PaymentDisbursed":
                    trace.claims.add(env["body"]["claim_id"])
                    trace.funds.add(env["body"]["fund_id"])
            trace.payments.add(ident)
        else:
            trace.claims.add(ident)
        for claim in sorted(trace.claims):
            for env in trace.aggregate("claim", claim):
                trace.claim_subjects(env)
        for seq, env in _scan(ledger, size, _MONEY_TYPES):
            trace.money(seq, env)
        trace.finish()
    elif kind == "class":
        own = trace.aggregate("class", ident)
        if not own:
            raise SubjectNotFound(f"no class {ident!r} under checkpoint {size}")
        trace.classes.add(ident)
        for env in own:
            trace.class_subjects(env)
        for seq, env in _scan(ledger, size, _CLASS_REFERRERS | _MONEY_TYPES):
            body = env["body"]
            if env["type"] in _CLASS_REFERRERS and body.get("class_id") == ident:
                trace.include(seq, env)
                if env["type"] == "CertificateIssued":
                    trace.certificates.add(body["certificate_no"])
                elif env["type"] == "SubsidyClaimed":
                    trace.claims.add(body["claim_id"])
                    trace.claim_subjects({**env, "body": {k: v for k, v in body.items() if k != "class_id"}})
            elif env["type"] == "CertificateRevoked" and body["certificate_no"] in trace.certificates:
                trace.include(seq, env)
            else:
                trace.money(seq, env)
        trace.finish(("laborer", "certificate", "payment"))
    elif kind == "laborer":
        if not trace.aggregate("laborer", ident):
            raise SubjectNotFound(f"no labourer {ident!r} under checkpoint {size}")
        needle = json.dumps(ident, ensure_ascii=False).encode()
        for seq, env in _scan(ledger, size, None, needle):
            if _names(env["body"], ident):
                trace.include(seq, env)
    else:
        raise OperationalError(f"KIND must be one of {', '.join(KINDS)}")
    trace.registry()
    if progress is not None:
        progress(size)
    return sorted(trace.seqs)
