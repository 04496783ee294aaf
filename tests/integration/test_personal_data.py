"""Personal data never reaches the database in clear, signing is deterministic, erasure is safe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.encoding.canonical import canonical
from ledger.keys import vault as pii
from support.scenario import Scenario

PERSON = {"name": "马秀兰", "id_number": "64042219850601242X", "phone": "13995412345",
          "bank_account": "6228480078123456789"}  # fmt: skip
BODY = {"laborer_id": "L-0042", "household_id": "H-0042", "jurisdiction": "640422", "township": "吉强镇",
        "village": "龙王坝村", "birth_date": "1985-06-01", "gender": "female", "category": "poor",
        "id_fingerprint": "", "pii_commitment": ""}  # fmt: skip


def _intent(**over: object) -> dict:
    return {"actor": "pov-xj", "type": "LaborerRegistered", "at": "2019-03-02T10:00:00+08:00",
            "body": dict(BODY), "pii": dict(PERSON), **over}  # fmt: skip


@pytest.fixture
def sc(db_url: str, tmp_path: Path):
    scenario = Scenario.create(db_url, tmp_path)
    yield scenario
    scenario.close()


def _database_bytes(sc: Scenario, db_url: str) -> bytes:
    """Every byte the database holds: the SQLite files, or every PostgreSQL row as text."""
    if db_url.startswith("sqlite:///"):
        path = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    chunks = []
    tables = sc.ledger.sql.all(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    for (table,) in tables:
        for (row,) in sc.ledger.sql.all(f'SELECT t::text FROM "{table}" t'):
            chunks.append(row.encode())
    return b"\n".join(chunks)


def test_no_plaintext_personal_data_anywhere_in_the_database(sc: Scenario, db_url: str) -> None:
    item = sc.session.signer().sign(_intent())
    assert sc.ledger.append([item])[0].status == "accepted"
    claim = {"actor": "inst-xj", "type": "SubsidyClaimed", "at": "2019-05-10T10:00:00+08:00",
             "body": {"claim_id": "C-1", "kind": "employer", "lines": [], "payee_account": "",
                      "total_fen": 0}, "pii": {"bank_account": PERSON["bank_account"]}}  # fmt: skip
    sc.session.signer().sign(claim)  # the claim's account too is only ever hashed
    sc.session.checkpoint()
    blob = _database_bytes(sc, db_url)
    assert b"L-0042" in blob  # the scan does see the data
    for value in PERSON.values():
        for form in (value.encode(), value.encode().hex().encode(), value.encode("utf-16-le")):
            assert form not in blob, f"{value!r} found in the database"
    stored = json.loads(sc.ledger.leaf(item_seq(sc, "L-0042")))["envelope"]["body"]
    pepper = sc.session.keys.pepper
    assert stored["id_fingerprint"] == pii.id_fingerprint(pepper, PERSON["id_number"].lower())
    salt = pii.commitment_salt(pepper, "L-0042")
    assert stored["pii_commitment"] == pii.pii_commitment(PERSON, salt)


def item_seq(sc: Scenario, laborer_id: str) -> int:
    for seq, _, leaf in sc.ledger.leaves():
        if json.loads(leaf)["envelope"]["body"].get("laborer_id") == laborer_id:
            return seq
    raise AssertionError(laborer_id)


def test_signing_the_same_intent_twice_gives_the_same_envelope(sc: Scenario) -> None:
    first = sc.session.signer().sign(_intent())
    second = sc.session.signer().sign(_intent())
    assert first.envelope is not None and second.envelope is not None
    assert first.envelope.canonical_bytes == second.envelope.canonical_bytes
    nonce = first.envelope.nonce
    without_pii = {k: v for k, v in _intent().items() if k != "pii"}
    assert nonce == __import__("hashlib").sha256(canonical(without_pii)).hexdigest()[:32]
    assert sc.ledger.append([first])[0].status == "accepted"
    assert sc.ledger.append([second])[0].status == "duplicate"


def test_show_records_the_read_before_showing_and_township_reads_only_its_own(sc: Scenario) -> None:
    sc.ledger.append([sc.session.signer().sign(_intent(actor="tw-jq"))])
    size = sc.ledger.size()
    record = sc.session.show_pii("L-0042", "tw-jq", "核对银行账号")
    assert record == PERSON
    last = json.loads(sc.ledger.leaf(size))["envelope"]
    assert (last["type"], last["actor"], last["body"]["laborer_id"]) == ("PersonalDataAccessed", "tw-jq", "L-0042")
    sc.laborer("L-0043", by="tw-jq")
    with pytest.raises(Exception, match="role"):
        sc.session.show_pii("L-0042", "hr-xj", "x")  # hr bureau may not read
    assert sc.ledger.size() == size + 2


def test_erasure_leaves_every_earlier_leaf_and_root_unchanged(sc: Scenario) -> None:
    sc.ledger.append([sc.session.signer().sign(_intent())])
    sc.laborer("L-0050")
    size = sc.ledger.size()
    before = [leaf for _, _, leaf in sc.ledger.leaves()]
    root_before = sc.ledger.root(size)
    sc.session.erase_pii("L-0042", "pov-xj", "本人申请")
    after = [leaf for _, _, leaf in sc.ledger.leaves(0, size)]
    assert after == before
    assert sc.ledger.root(size) == root_before
    assert sc.ledger.vault_record("L-0042") is None
    with pytest.raises(Exception, match="no personal data"):
        sc.session.show_pii("L-0042", "pov-xj", "核实")


def test_erasure_that_arrives_by_import_deletes_the_vault_record_in_its_own_transaction(sc: Scenario) -> None:
    # Found by the state machine: only `pii erase` deleted the record, so a PersonalDataErased
    # signed at the poverty office's own desk and imported left the data readable.
    sc.ledger.append([sc.session.signer().sign(_intent())])
    assert sc.ledger.vault_record("L-0042") is not None
    erased = sc.envelope("pov-xj", "PersonalDataErased", {"laborer_id": "L-0042", "reason": "本人申请删除"})
    outcomes = list(sc.session.import_lines([json.dumps(erased, ensure_ascii=False)], sign=False))
    assert [o.status for _, o in outcomes] == ["accepted"]
    assert sc.ledger.vault_record("L-0042") is None
    with pytest.raises(Exception, match="no personal data"):
        sc.session.show_pii("L-0042", "pov-xj", "核实")


def test_registration_and_erasure_in_one_batch_leave_no_record(sc: Scenario) -> None:
    registered = sc.session.signer().sign(_intent())
    erased = sc.session.signer().sign({"actor": "pov-xj", "type": "PersonalDataErased", "at": "2019-03-03T10:00:00+08:00",
                                       "body": {"laborer_id": "L-0042", "reason": "登记有误"}})  # fmt: skip
    assert [o.status for o in sc.ledger.append([registered, erased])] == ["accepted", "accepted"]
    assert sc.ledger.vault_record("L-0042") is None


def test_vault_row_deleted_with_sql_is_not_called_an_erasure(sc: Scenario) -> None:
    # The red team's unlogged erasure: the log cannot tell which registrations sealed a record,
    # but `pii show` must not pass a deletion off as an erasure.
    sc.ledger.append([sc.session.signer().sign(_intent())])
    sc.ledger.sql.execute("DELETE FROM pii_vault WHERE subject_id = ?", ("L-0042",))
    with pytest.raises(Exception, match="the log holds no erasure of it"):
        sc.session.show_pii("L-0042", "pov-xj", "核实")
    sc.session.erase_pii("L-0042", "pov-xj", "本人申请")
    with pytest.raises(Exception, match=r"erased at seq \d+"):
        sc.session.show_pii("L-0042", "pov-xj", "核实")
