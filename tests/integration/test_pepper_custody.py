"""The pepper stays with the ledger service (DESIGN §7), on SQLite and PostgreSQL.

- An office keystore — its actors' keys alone, no pepper, no vault key, no operator key — signs
  every intent that carries no ``pii``; an intent with ``pii`` signed there is refused in one
  line that sends personal data to the ledger service (``POST /v1/intents/prepare``).
- On the operator's keystore the pepper is read only when an intent carries ``pii``.
- No export (``export log``, ``export evidence``) and no simulation truth file holds the pepper,
  the vault key or any labourer's ID number, phone or bank account.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.services import export_evidence
from ledger.keys.keystore import Keystore
from ledger.keys.signing import parse_line
from ledger.service import Session
from ledger.translog.export import export_log
from ledger.translog.verify import run_verify
from projections.trace.gather import KINDS
from support.scenario import Scenario

PERSON = {"name": "马秀兰", "id_number": "64042219850601242X", "phone": "13995412345",
          "bank_account": "6228480078123456789"}  # fmt: skip
REGISTRATION = {"laborer_id": "L-0042", "household_id": "H-0042", "jurisdiction": "640422", "township": "吉强镇",
                "village": "龙王坝村", "birth_date": "1985-06-01", "gender": "female", "category": "poor",
                "id_fingerprint": "", "pii_commitment": ""}  # fmt: skip


def registration(**over: Any) -> dict[str, Any]:
    return {"actor": "pov-xj", "type": "LaborerRegistered", "at": "2019-03-02T10:00:00+08:00",
            "body": dict(REGISTRATION), "pii": dict(PERSON), **over}  # fmt: skip


def claim_intent(claim_id: str = "CL-1") -> dict[str, Any]:
    return {"actor": "inst-xj", "type": "SubsidyClaimed", "at": "2019-05-10T10:00:00+08:00",
            "body": {"claim_id": claim_id, "kind": "training", "class_id": "CLS-1", "payee_account": "",
                     "lines": [{"laborer_id": "L-0042", "amount_fen": 150000}], "total_fen": 150000},
            "pii": {"bank_account": PERSON["bank_account"]}}  # fmt: skip


@pytest.fixture
def sc(db_url: str, tmp_path: Path) -> Iterator[Scenario]:
    scenario = Scenario.create(db_url, tmp_path)
    scenario.klass("CLS-1")
    yield scenario
    scenario.close()


@pytest.fixture
def office(sc: Scenario, tmp_path: Path) -> Session:
    """The poverty office's and the institution's keystore: their actor keys and nothing else."""
    root = tmp_path / "office"
    (root / "actors").mkdir(parents=True)
    for actor in ("pov-xj", "inst-xj"):
        shutil.copy(sc.session.keys.actor_path(actor), root / "actors" / f"{actor}.pem")
    return Session(sc.ledger, Keystore(root))


@pytest.fixture
def pepper_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read of a keystore's pepper, by keystore folder (the read itself still happens)."""
    reads: list[str] = []
    original = Keystore.pepper

    def counted(self: Keystore) -> bytes:
        reads.append(self.root.name)
        return original.fget(self)  # type: ignore[misc]

    monkeypatch.setattr(Keystore, "pepper", property(counted))
    return reads


# --- an office keystore -------------------------------------------------------------------------------------
def test_office_keystore_signs_intents_without_personal_data(sc: Scenario, office: Session, pepper_reads: list[str]) -> None:
    assert sorted(p.name for p in office.keys.root.rglob("*") if p.is_file()) == ["inst-xj.pem", "pov-xj.pem"]
    sc.laborer("L-0001")
    enrol = {"actor": "inst-xj", "type": "TraineeEnrolled", "at": "2019-04-02T10:00:00+08:00",
             "body": {"class_id": "CLS-1", "laborer_id": "L-0001"}}  # fmt: skip
    confirm = {"actor": "pov-xj", "type": "IdentityConfirmed", "at": "2019-04-02T10:00:00+08:00",
               "body": {"laborer_id": "L-0001", "basis": "户口簿核验"}}  # fmt: skip
    items = [parse_line(json.dumps(x, ensure_ascii=False), office.signer()) for x in (enrol, confirm)]
    assert [i.error for i in items] == [None, None]
    assert [o.status for o in sc.ledger.append(items)] == ["accepted", "accepted"]
    assert pepper_reads == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_intent_with_personal_data_signed_without_the_pepper_is_refused_in_one_line(
    sc: Scenario, office: Session, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.setenv("LEDGER_LANG", lang)
    size = sc.ledger.size()
    for intent in (registration(), claim_intent()):
        item = parse_line(json.dumps(intent, ensure_ascii=False), office.signer())
        assert item.envelope is None and item.error is not None
        assert item.error.code == "personal_data_needs_service"
        message = item.error.zh if lang == "zh" else str(item.error)  # the front end picks the language
        assert message is not None
        assert "\n" not in message and "POST /v1/intents/prepare" in message
        assert ("账本服务" if lang == "zh" else "ledger service") in message
        assert PERSON["id_number"] not in message and PERSON["bank_account"] not in message
        assert sc.ledger.append([item])[0].code == "personal_data_needs_service"
    assert sc.ledger.size() == size


def test_operator_keystore_reads_the_pepper_only_for_personal_data(sc: Scenario, pepper_reads: list[str]) -> None:
    signer = sc.session.signer()
    sc.laborer("L-0001")
    confirm = {"actor": "pov-xj", "type": "IdentityConfirmed", "at": "2019-04-02T10:00:00+08:00",
               "body": {"laborer_id": "L-0001", "basis": "户口簿核验"}}  # fmt: skip
    assert sc.ledger.append([signer.sign(confirm)])[0].status == "accepted"
    assert pepper_reads == []
    assert sc.ledger.append([signer.sign(registration()), signer.sign(claim_intent())])[0].status == "accepted"
    assert pepper_reads == ["keys"]  # once, for the first intent carrying pii


def test_verify_and_exports_never_read_the_pepper(sc: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc.ok("pov-xj", "LaborerRegistered", REGISTRATION, pii=dict(PERSON))

    def refuse(self: Keystore) -> bytes:
        raise AssertionError("the pepper was read")

    monkeypatch.setattr(Keystore, "pepper", property(refuse))
    monkeypatch.setattr(Keystore, "vault_key", property(refuse))
    run_verify(sc.ledger, sc.session.keys, workers=0)
    export_log(sc.session, tmp_path / "log")
    export_evidence(sc.session, "laborer", "L-0042", tmp_path / "evidence")


# --- nothing written out holds a secret or personal data ------------------------------------------------------
def _forbidden(keys: Keystore, people: list[dict[str, str]]) -> dict[str, bytes]:
    forms: dict[str, bytes] = {}
    for name in ("pepper", "vault.key"):
        text = (keys.root / name).read_text().strip()
        raw = bytes.fromhex(text)
        forms |= {f"{name} (hex)": text.encode(), f"{name} (HEX)": text.upper().encode(), f"{name} (raw)": raw,
                  f"{name} (base64)": base64.b64encode(raw).rstrip(b"=")}  # fmt: skip
    for n, person in enumerate(people):
        for field in ("id_number", "phone", "bank_account"):
            value = person[field]
            forms |= {f"{n}.{field}": value.encode(), f"{n}.{field} (lower)": value.lower().encode()}
    return forms


def _assert_nothing_leaks(folders: list[Path], forbidden: dict[str, bytes]) -> int:
    files = [p for folder in folders for p in ([folder] if folder.is_file() else folder.rglob("*")) if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for what, form in forbidden.items():
            assert form not in data, f"{what} found in {path.name}"
    return len(files)


def test_exports_of_a_ledger_with_personal_data_hold_no_secret_and_no_personal_data(sc: Scenario, tmp_path: Path) -> None:
    sc.ok("pov-xj", "LaborerRegistered", REGISTRATION, pii=dict(PERSON))
    sc.fund()
    assert sc.ledger.append([sc.session.signer().sign(claim_intent())])[0].status == "accepted"
    payment = {"actor": "fin-xj", "type": "PaymentDisbursed", "at": "2019-06-03T10:00:00+08:00",
               "body": {"payment_id": "P-1", "claim_id": "CL-1", "fund_id": "F-2019-640422-training",
                        "amount_fen": 150000, "payee_account": "", "bank_reference": "GKZF-P-1",
                        "value_date": "2019-06-03"}, "pii": {"bank_account": PERSON["bank_account"]}}  # fmt: skip
    assert sc.ledger.append([sc.session.signer().sign(payment)])[0].status == "accepted"
    assert sc.session.show_pii("L-0042", "pov-xj", "核实身份") == PERSON  # the vault does hold it
    folders = [export_log(sc.session, tmp_path / "log").directory]
    subjects = {"laborer": "L-0042", "claim": "CL-1", "payment": "P-1", "class": "CLS-1",
                "fund": "F-2019-640422-training", "actor": "fin-xj"}  # fmt: skip
    assert set(subjects) == set(KINDS) - {"certificate"}  # this ledger issues none
    for kind, ident in subjects.items():
        folders.append(export_evidence(sc.session, kind, ident, tmp_path / f"evidence-{kind}").directory)
    forbidden = _forbidden(sc.session.keys, [PERSON]) | {"name": PERSON["name"].encode()}
    # entries.jsonl, checkpoint, operator.pub and VERIFY.md in each folder; proofs.json in evidence
    assert _assert_nothing_leaks(folders, forbidden) == 4 + len(subjects) * 5
    assert b"L-0042" in (tmp_path / "log" / "entries.jsonl").read_bytes()  # the scan reads real leaves


def test_simulation_truth_file_and_its_export_hold_no_secret_and_no_personal_data(sqlite_url: str, tmp_path: Path) -> None:
    from api.services import run_simulation

    session = Session.open(sqlite_url, tmp_path / "keys")
    try:
        session.checkpoint_interval = 0
        session.init()
        truth = tmp_path / "truth.json"
        result = run_simulation(session, "small", 2019, 0.03, truth)
        people = [i["pii"] for i in result["sim"].intents() if i["type"] == "LaborerRegistered" and "pii" in i]
        assert len(people) > 100
        raw = [c for c in result["sim"].truth if c.subject_id.startswith("raw:")]
        assert raw, "the truth must name a raw account for this test to mean anything"
        forbidden = _forbidden(session.keys, people) | {
            f"truth.{n}": c.subject_id.removeprefix("raw:").encode() for n, c in enumerate(raw)
        }
        exported = export_log(session, tmp_path / "log").directory
        _assert_nothing_leaks([truth, exported], forbidden)
        assert session.payee_account(raw[0].subject_id.removeprefix("raw:")) in truth.read_text(encoding="utf-8")
    finally:
        session.close()
