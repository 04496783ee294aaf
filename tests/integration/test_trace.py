"""``trace`` (DESIGN §12) on a real ledger, SQLite and PostgreSQL: the example 西吉县 class, paid,
with the rest of a payment's chain added (a correction, a second class whose labourers must stay
out, a returned payment paid again, a recovery, a revoked certificate, a fund adjustment, a read
of personal data). Completeness per §12, the evidence bundle's seqs equal to the trace's plus the
signers' registry leaves, a tampered leaf caught at its own event, and fund/actor paging.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api import services
from ledger.encoding.canonical import canonical_str
from ledger.service import Session
from projections.trace.gather import RELATIONS
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

PAYMENT, CLAIM, CLASS, FUND = "P-2019-640422-0001", "C-2019-640422-0001", "CLS-2019-640422-0001", "F-2019-640422-training"
AT = "2019-{md}T10:00:00+08:00"


def more_of_the_chain() -> list[dict[str, Any]]:
    """What the example lacks of a payment's chain, and a second class that must stay out of it."""
    out: list[dict[str, Any]] = [
        {"actor": "pov-640422", "type": "LaborerCorrected", "at": AT.format(md="03-10"),
         "body": {"laborer_id": "L-640422-000003", "reason": "村名更正", "village": "北门村"}},
        {"actor": "fin-640422", "type": "FundAdjusted", "at": AT.format(md="03-01"),
         "body": {"fund_id": FUND, "delta_fen": -100000, "reason": "调减"}},
        {"actor": "fin-640422", "type": "PaymentReturned", "at": AT.format(md="06-10"),
         "body": {"payment_id": PAYMENT, "reason": "账户冻结"}},
        {"actor": "fin-640422", "type": "PaymentDisbursed", "at": AT.format(md="06-20"),
         "body": {"payment_id": "P-2019-640422-0002", "claim_id": CLAIM, "fund_id": FUND, "amount_fen": 1440000,
                  "payee_account": "cd" * 32, "bank_reference": "XJNSH20190620000001", "value_date": "2019-06-20"}},
        {"actor": "fin-640422", "type": "FundsRecovered", "at": AT.format(md="07-01"),
         "body": {"recovery_id": "R-2019-640422-0001", "claim_id": CLAIM, "amount_fen": 120000, "reason": "冒领追回"}},
        {"actor": "apc-640400", "type": "CertificateRevoked", "at": AT.format(md="07-02"),
         "body": {"certificate_no": "ZXNL-2019-6404-00012", "reason": "鉴定作假"}},
        {"actor": "inst-640422-zj", "type": "ClassOpeningRequested", "at": AT.format(md="05-01"),
         "body": {"class_id": "CLS-2019-640422-0002", "programme": "employment_skill", "occupation": "电工",
                  "in_catalog": True, "jurisdiction": "640422", "site": "西吉县职业技术学校", "planned_start": "2019-06-03",
                  "planned_end": "2019-06-28", "capacity": 40, "hours_per_day": 8, "practical_percent": 70,
                  "subsidy_per_trainee_fen": 150000}},
        {"actor": "tw-640422-jq", "type": "LaborerRegistered", "at": AT.format(md="05-02"),
         "body": {"laborer_id": "L-640422-000099", "household_id": "H-640422-00099", "jurisdiction": "640422",
                  "township": "吉强镇", "village": "北门村", "birth_date": "1990-01-01", "gender": "male",
                  "category": "poor", "id_fingerprint": "", "pii_commitment": ""},
         "pii": {"name": "马强", "id_number": "640422199001010017", "phone": "13995400199",
                 "bank_account": "6228480078123456099"}},
        {"actor": "inst-640422-zj", "type": "TraineeEnrolled", "at": AT.format(md="06-01"),
         "body": {"class_id": "CLS-2019-640422-0002", "laborer_id": "L-640422-000099"}},
        {"actor": "inst-640422-zj", "type": "AttendanceRecorded", "at": AT.format(md="06-03"),
         "body": {"class_id": "CLS-2019-640422-0002", "date": "2019-06-03",
                  "trainees": [{"laborer_id": "L-640422-000099", "theory_hours": 2, "practical_hours": 6}]}},
    ]  # fmt: skip
    return out


@pytest.fixture
def session(db_url: str, tmp_path: Path) -> Iterator[Session]:
    s = Session.open(db_url, tmp_path / "keys")
    try:
        s.checkpoint_interval = 0
        s.init()
        for actor_id, role, code, name in [*ACTORS, INSPECTOR]:
            s.add_actor(actor_id, role, code, name)
        lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
        lines += [json.dumps(i, ensure_ascii=False) for i in more_of_the_chain()]
        outcomes = [o for _, o in s.import_lines(lines, sign=True)]
        assert {o.status for o in outcomes} == {"accepted"}, [o.reason for o in outcomes if o.status != "accepted"]
        s.show_pii("L-640422-000004", "insp-640400", "核查补贴发放")
        s.checkpoint()
        yield s
    finally:
        s.close()


def by_type(doc: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for e in doc["events"]:
        out.setdefault(e["type"], []).append(e)
    return out


def test_a_payments_trace_holds_every_event_of_its_chain_and_nothing_of_another_class(session: Session) -> None:
    doc, labels = services.trace(session, "payment", PAYMENT)
    types = by_type(doc)
    # DESIGN §12 "payment" and "claim", for this chain
    for needed in ("PaymentDisbursed", "PaymentReturned", "FundsRecovered", "SubsidyClaimed", "ClaimIdentityVerified",
                   "ClaimApproved", "LaborerRegistered", "LaborerCorrected", "IdentityConfirmed", "TraineeEnrolled",
                   "AttendanceRecorded", "ClassCompleted", "CompletionReviewed", "CertificateIssued",
                   "CertificateRevoked", "ClassOpeningRequested", "ClassOpeningApproved", "InspectionRecorded",
                   "FundAllocated", "FundAdjusted", "SubsidyStandardSet"):  # fmt: skip
        assert needed in types, needed
    assert len(types["LaborerRegistered"]) == len(types["IdentityConfirmed"]) == len(types["TraineeEnrolled"]) == 12
    assert len(types["AttendanceRecorded"]) == 22 and len(types["CertificateIssued"]) == 12
    assert len(types["PaymentDisbursed"]) == 2  # the payment and its claim's re-payment
    assert len(types["InspectionRecorded"]) == 2  # the class's site visit, the phone visit naming a labourer
    # nothing of the other class, its labourer or the personal-data read (not part of a claim's chain)
    assert "PersonalDataAccessed" not in types
    assert all("CLS-2019-640422-0002" not in label and "000099" not in label for label in labels.values())
    # one entry per seq, in business-date, at, seq order, each with a relation from the fixed list
    seqs = [e["seq"] for e in doc["events"]]
    assert len(seqs) == len(set(seqs))
    order = [(e["business_date"], e["at"][:19], e["seq"]) for e in doc["events"]]
    assert order == sorted(order)
    assert {e["relation"] for e in doc["events"]} <= set(RELATIONS)
    assert {e["seq"] for e in doc["events"] if e["relation"] == "subject"} == {
        seq for seq, label in labels.items() if label == PAYMENT} == {e["seq"] for e in types["PaymentReturned"]} | {
        types["PaymentDisbursed"][0]["seq"]}
    assert all(e["signature_ok"] and e["included"] for e in doc["events"])
    assert {e["role"] for e in types["ClaimApproved"]} == {"hr_bureau"}
    assert types["ClaimApproved"][0]["actor_name"] == "西吉县人力资源和社会保障局"
    assert doc["checkpoint"]["size"] == session.ledger.size() and doc["as_of"] == doc["checkpoint"]["size"] - 1
    assert doc["pii_reads"] == [] and "summary" not in doc
    # flags: every flag (any status) citing a traced leaf, and only flags citing one or about a traced subject
    every, _ = services.anomalies(session, status="all")
    citing = {f["id"] for f in every if set(f["evidence"]) & set(seqs)}
    subjects = {label.split(" ")[0] for label in labels.values()}
    shown = {f["id"] for f in doc["anomalies"]}
    assert citing and citing <= shown
    assert all(f["id"] in citing or f["subject"]["id"] in subjects for f in doc["anomalies"])
    canonical_str(doc)  # JCS-encodable: integers, strings, booleans, null only


def test_the_evidence_bundle_holds_exactly_the_trace_and_its_signers_registry_leaves(session: Session, tmp_path: Path) -> None:
    for kind, ident in (("payment", PAYMENT), ("claim", CLAIM), ("class", CLASS), ("laborer", "L-640422-000004"),
                        ("certificate", "ZXNL-2019-6404-00012"), ("fund", FUND), ("actor", "hr-640422")):  # fmt: skip
        doc, _ = services.trace(session, kind, ident, limit=10_000)
        out = services.export_evidence(session, kind, ident, tmp_path / kind)
        exported = [json.loads(line) for line in (tmp_path / kind / "entries.jsonl").read_text(encoding="utf-8").splitlines()]
        traced = {e["seq"] for e in doc["events"]}
        extra = [leaf for leaf in exported if leaf["seq"] not in traced]
        assert traced <= {leaf["seq"] for leaf in exported}, kind
        assert {leaf["envelope"]["type"] for leaf in extra} <= {"ActorRegistered", "KeyRotated", "KeyRevoked"}, kind
        signers = {e["actor"] for e in doc["events"]}
        registered = {leaf["envelope"]["body"]["actor_id"] for leaf in exported if leaf["envelope"]["type"] == "ActorRegistered"}
        assert signers <= registered and exported[0]["seq"] == 0, kind
        assert out.leaves == len(exported) and out.size == doc["checkpoint"]["size"], kind


def test_a_labourers_trace_lists_who_read_their_personal_data(session: Session) -> None:
    doc, _ = services.trace(session, "laborer", "L-640422-000004")
    types = by_type(doc)
    assert [r["actor"] for r in doc["pii_reads"]] == ["insp-640400"] and doc["pii_reads"][0]["purpose"] == "核查补贴发放"
    assert doc["pii_reads"][0]["seq"] == types["PersonalDataAccessed"][0]["seq"]
    assert len(types["AttendanceRecorded"]) == 22 and len(types["TraineeEnrolled"]) == 1
    assert len(types["InspectionRecorded"]) == 2 and len(types["SubsidyClaimed"]) == 1
    assert len(types["PaymentDisbursed"]) == 2 and len(types["CertificateIssued"]) == 1


def test_a_tampered_leaf_fails_at_its_own_event(session: Session) -> None:
    doc, _ = services.trace(session, "payment", PAYMENT)
    target = by_type(doc)["AttendanceRecorded"][3]["seq"]
    (leaf,) = session.ledger.sql.one("SELECT leaf FROM ledger_leaves WHERE seq = ?", (target,))  # type: ignore[misc]
    forged = bytes(leaf).replace(b'"theory_hours":2', b'"theory_hours":3', 1)
    assert forged != bytes(leaf)
    session.ledger.sql.execute("UPDATE ledger_leaves SET leaf = ? WHERE seq = ?", (forged, target))
    after, _ = services.trace(session, "payment", PAYMENT)
    bad = {e["seq"]: (e["signature_ok"], e["included"]) for e in after["events"] if not (e["signature_ok"] and e["included"])}
    assert bad == {target: (False, False)}


def test_fund_and_actor_traces_are_summarised_and_paged(session: Session) -> None:
    for kind, ident in (("fund", FUND), ("actor", "fin-640422")):
        whole, _ = services.trace(session, kind, ident)
        assert whole["next"] is None
        total = sum(n for months in whole["summary"].values() for n in months.values())
        assert total == len(whole["events"]) >= 4
        seen, start = [], 0
        while True:
            page, _ = services.trace(session, kind, ident, start=start, limit=3)
            assert len(page["events"]) <= 3 and page["summary"] == whole["summary"]
            seen += [e["seq"] for e in page["events"]]
            if page["next"] is None:
                break
            start = page["next"]
        assert seen == [e["seq"] for e in whole["events"]] == sorted(seen)
    fund, _ = services.trace(session, "fund", FUND)
    assert fund["summary"]["PaymentDisbursed"] == {"2019-06": 2} and "FundAdjusted" in fund["summary"]


def test_unknown_subjects_and_checkpoints_are_refused(session: Session) -> None:
    from ledger.errors import LedgerError

    for kind, ident in (("payment", "P-NOPE"), ("fund", "F-NOPE"), ("actor", "nobody"), ("certificate", "X")):
        with pytest.raises(LedgerError) as raised:
            services.trace(session, kind, ident)
        assert raised.value.code == "subject_not_found"
    with pytest.raises(LedgerError) as raised:
        services.trace(session, "payment", PAYMENT, checkpoint=100_000)
    assert raised.value.code == "proof_request_invalid"
    # under the checkpoint signed before the personal-data read, that read is not there
    sizes = sorted({c.size for c in session.ledger.checkpoints()})
    current, _ = services.trace(session, "laborer", "L-640422-000004")
    earlier, _ = services.trace(session, "laborer", "L-640422-000004", checkpoint=sizes[-2])
    assert current["pii_reads"] and not earlier["pii_reads"]
    assert earlier["checkpoint"]["size"] == sizes[-2] and all(e["seq"] < sizes[-2] for e in earlier["events"])


def test_signatures_are_judged_by_the_key_registry_at_each_leaf(session: Session) -> None:
    """Before and after a rotation each leaf verifies with the key it names; a forged leaf signed with the
    rotated-out key after the rotation does not."""
    from ledger.domain.envelope import sign_envelope
    from ledger.encoding.canonical import canonical

    old_key = session.keys.actor_key("fin-640422")
    assert session.rotate_actor("fin-640422").status == "accepted"
    adjusted = session.record("fin-640422", "FundAdjusted", {"fund_id": FUND, "delta_fen": 5000, "reason": "调增"})
    assert adjusted.status == "accepted" and adjusted.seq is not None
    session.checkpoint()
    doc, _ = services.trace(session, "fund", FUND)
    assert all(e["signature_ok"] and e["included"] for e in doc["events"])
    assert len({e["key_id"] for e in doc["events"] if e["actor"] == "fin-640422"}) == 2
    # the same leaf re-signed with the old key, which was rotated out before it: not ok
    (leaf,) = session.ledger.sql.one("SELECT leaf FROM ledger_leaves WHERE seq = ?", (adjusted.seq,))  # type: ignore[misc]
    stored = json.loads(bytes(leaf))
    envelope = stored["envelope"]
    unsigned = {k: v for k, v in envelope.items() if k not in ("v", "key_id", "sig")}
    stored["envelope"] = sign_envelope(unsigned, old_key)
    session.ledger.sql.execute("UPDATE ledger_leaves SET leaf = ? WHERE seq = ?", (canonical(stored), adjusted.seq))
    after, _ = services.trace(session, "fund", FUND)
    bad = {e["seq"]: (e["signature_ok"], e["included"]) for e in after["events"] if not (e["signature_ok"] and e["included"])}
    assert bad == {adjusted.seq: (False, False)}
