"""Personal data through a real ``serve`` (API.md, DESIGN §7): prepared intents and the one-time read.

An office's keystore holds its actors' keys and nothing else — no pepper, no vault key. Its
intents with ``pii`` are prepared by the service (``POST /v1/intents/prepare``), signed at the
office, posted; the service keeps the sealed record pending until that envelope is accepted.
A reader records its access first, then reads once against that leaf.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time
from pathlib import Path

import httpx

from ledger.encoding.canonical import JSONObject
from ledger.keys.keystore import Keystore
from ledger.keys.signing import IntentSigner
from ledger.service import now_at
from support.cli import cli, make_ledger, one_line_error
from support.http import assert_problem, envelope, serving, sign_in
from support.pg import pg_database
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

TOWNSHIP, POVERTY, INSTITUTION = "tw-640422-jq", "pov-640422", "inst-640422-zj"
OTHER_TOWNSHIP = ("tw-640422-xt", "township", "640422", "西吉县兴隆镇人民政府")
OTHER_COUNTY = ("pov-640402", "poverty_office", "640402", "原州区扶贫开发办公室")
PERSON = {"name": "马秀兰", "id_number": "640422198506010026", "phone": "13995400137", "bank_account": "6228480078123456001"}


def office(cwd: Path) -> Path:
    """A keystore of the offices' own keys only (the service's pepper and vault key stay behind)."""
    folder = cwd / "office"
    (folder / "actors").mkdir(parents=True)
    for pem in (cwd / "keys" / "actors").glob("*.pem"):
        shutil.copy(pem, folder / "actors" / pem.name)
    return folder


def registration(laborer_id: str, actor: str = TOWNSHIP, pii: dict[str, str] = PERSON) -> JSONObject:
    return {"actor": actor, "type": "LaborerRegistered", "at": "2019-03-04T10:00:00+08:00", "pii": dict(pii),
            "body": {"laborer_id": laborer_id, "household_id": "H-640422-09001", "jurisdiction": "640422", "township": "吉强镇",
                     "village": "北门村", "birth_date": "1985-06-01", "gender": "female", "category": "poor"}}  # fmt: skip


def pepper_hash(cwd: Path, message: str) -> str:
    pepper = bytes.fromhex((cwd / "keys" / "pepper").read_text().strip())
    return hmac.new(pepper, message.encode(), hashlib.sha256).hexdigest()


def access(client: httpx.Client, keys: Path, actor: str, laborer_id: str, nonce: str) -> int:
    """``actor`` records its read of ``laborer_id`` (signed at its office); the leaf's seq."""
    env = envelope(keys, actor, "PersonalDataAccessed", {"laborer_id": laborer_id, "purpose": "核实身份"}, nonce=nonce,
                   at=now_at())  # fmt: skip
    got = client.post("/v1/events", json=env)
    assert got.status_code == 201, got.text
    seq: int = got.json()["seq"]
    return seq


def scraped(client: httpx.Client, headers: dict[str, str], *lines: str) -> bool:
    """Whether a scrape of /metrics shows ``lines`` within 10 s: a scrape that meets the SQLite
    writer's lock leaves the prepared-intent gauges out (and logs why), as a missed scrape would."""
    deadline = time.monotonic() + 10
    while True:
        text = client.get("/metrics", headers=headers).text
        if all(line in text for line in lines) or time.monotonic() > deadline:
            return all(line in text for line in lines)
        time.sleep(0.2)


def test_offices_register_with_personal_data_and_read_it_once(db_url: str, tmp_path: Path) -> None:
    db = ("--db", db_url)
    make_ledger(tmp_path, [*ACTORS, INSPECTOR, OTHER_TOWNSHIP, OTHER_COUNTY], env={"LEDGER_DB": db_url})
    keys, desk = tmp_path / "keys", office(tmp_path)
    with serving(tmp_path, *db) as client:
        server = ("--server", str(client.base_url), "--keys", str(desk))
        # the example class from the offices: 14 intents with pii prepared by the service, all signed at the office
        imported = cli(tmp_path, *server, "import", "--sign", "--json", str(EXAMPLE))
        assert imported.returncode == 0, imported.stderr
        outcomes = [json.loads(x) for x in imported.stdout.splitlines()]
        assert len(outcomes) == 82 and {o["status"] for o in outcomes} == {"accepted"}
        shown = cli(tmp_path, *server, "pii", "show", "L-640422-000001", "--as", TOWNSHIP, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == dict(sorted(PERSON.items()))
        town = sign_in(client, keys, TOWNSHIP)
        leaf = client.get(f"/v1/events/{outcomes[2]['seq']}", headers=sign_in(client, keys, "admin")).json()["leaf"]
        body = json.loads(leaf)["envelope"]["body"]
        assert body["id_fingerprint"] == pepper_hash(tmp_path, "id:" + PERSON["id_number"])
        assert len(body["pii_commitment"]) == 64 and "pii" not in json.loads(leaf)["envelope"]

        # one read per recorded access, by the one who recorded it, within 300 s
        seq = access(client, desk, TOWNSHIP, "L-640422-000002", "pii-read-0001")
        read = client.get("/v1/laborers/L-640422-000002/pii", params={"access_seq": seq}, headers=town)
        assert read.status_code == 200 and read.headers["cache-control"] == "no-store"
        assert read.json()["name"] == "李建军" and read.json()["access_seq"] == seq
        assert_problem(client.get("/v1/laborers/L-640422-000002/pii", params={"access_seq": seq}, headers=town), 403, "forbidden")
        inspector = sign_in(client, keys, INSPECTOR[0])
        assert_problem(client.get("/v1/laborers/L-640422-000002/pii", params={"access_seq": seq}, headers=inspector),
                       403, "forbidden")  # signed by the township, not the inspector  # fmt: skip
        theirs = access(client, desk, INSPECTOR[0], "L-640422-000002", "pii-read-0002")
        assert_problem(client.get("/v1/laborers/L-640422-000003/pii", params={"access_seq": theirs}, headers=inspector),
                       403, "forbidden")  # the access names another labourer  # fmt: skip
        assert client.get("/v1/laborers/L-640422-000002/pii", params={"access_seq": theirs}, headers=inspector).status_code == 200
        institution = sign_in(client, keys, INSTITUTION)
        assert_problem(client.get("/v1/laborers/L-640422-000002/pii", params={"access_seq": seq}, headers=institution),
                       403, "forbidden")  # fmt: skip
        other_county = sign_in(client, keys, OTHER_COUNTY[0])
        assert_problem(client.get("/v1/laborers/L-640422-000002/pii", params={"access_seq": seq}, headers=other_county),
                       403, "forbidden")  # fmt: skip
        assert_problem(client.get("/v1/laborers/L-NOBODY/pii", params={"access_seq": seq}, headers=town), 404, "subject_not_found")

        # a registration in flight is the preparer's alone; a registered labourer is nobody's to prepare
        prepared = client.post("/v1/intents/prepare", json=registration("L-HTTP-000001"), headers=town)
        assert prepared.status_code == 200, prepared.text
        intent = prepared.json()["intent"]
        assert "pii" not in intent and intent["nonce"] and PERSON["id_number"] not in prepared.text
        assert (keys / "pepper").read_text().strip() not in prepared.text
        other = sign_in(client, keys, OTHER_TOWNSHIP[0])
        assert_problem(client.post("/v1/intents/prepare", json=registration("L-HTTP-000001", OTHER_TOWNSHIP[0]), headers=other),
                       409, "already_exists", "already_exists")  # fmt: skip
        assert_problem(client.post("/v1/intents/prepare", json=registration("L-640422-000001"), headers=town),
                       409, "already_exists", "already_exists")  # fmt: skip
        assert scraped(client, town, "ledger_prepared_intents_pending 1.0", "ledger_prepared_intents_unused 0.0")
        signed = IntentSigner(Keystore(desk).actor_key).sign(intent)
        assert signed.envelope is not None
        assert client.post("/v1/events", content=signed.envelope.canonical_bytes, headers={"Content-Type": "application/json"}).status_code == 201
        assert scraped(client, town, "ledger_prepared_intents_pending 0.0")
        shown = cli(tmp_path, *server, "pii", "show", "L-HTTP-000001", "--as", POVERTY, "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["id_number"] == PERSON["id_number"]

        # an envelope whose body is not what the service filled takes no record along
        tampered = client.post("/v1/intents/prepare", json=registration("L-HTTP-000002"), headers=town).json()["intent"]
        tampered["body"]["pii_commitment"] = "0" * 64
        signed = IntentSigner(Keystore(desk).actor_key).sign(tampered)
        assert signed.envelope is not None
        assert client.post("/v1/events", content=signed.envelope.canonical_bytes, headers={"Content-Type": "application/json"}).status_code == 201
        missing = cli(tmp_path, *server, "pii", "show", "L-HTTP-000002", "--as", POVERTY)
        assert "no personal data" in one_line_error(missing, 1)

        erased = cli(tmp_path, *server, "pii", "erase", "L-HTTP-000001", "--as", POVERTY, "--reason", "本人申请删除")
        assert erased.returncode == 0, erased.stderr
        assert "no personal data" in one_line_error(cli(tmp_path, *server, "pii", "show", "L-HTTP-000001", "--as", POVERTY), 1)
    assert cli(tmp_path, *db, "verify").returncode == 0


def test_prepare_refuses_what_it_must_and_counts_a_daily_quota(tmp_path: Path) -> None:
    make_ledger(tmp_path, ACTORS)
    keys = tmp_path / "keys"
    with serving(tmp_path, env={"LEDGER_PREPARE_QUOTA": "3"}) as client:
        town = sign_in(client, keys, TOWNSHIP)
        assert_problem(client.post("/v1/intents/prepare", json=registration("L-Q-1")), 401, "unauthorized")
        assert_problem(client.post("/v1/intents/prepare", json=registration("L-Q-1", POVERTY), headers=town), 403, "forbidden")
        institution = sign_in(client, keys, INSTITUTION)
        assert_problem(client.post("/v1/intents/prepare", json=registration("L-Q-1", INSTITUTION), headers=institution),
                       403, "forbidden")  # an institution does not register labourers  # fmt: skip
        no_pii = {k: v for k, v in registration("L-Q-1").items() if k != "pii"}
        assert_problem(client.post("/v1/intents/prepare", json=no_pii, headers=town), 422, "invalid_request")
        bad = registration("L-Q-1", pii={k: v for k, v in PERSON.items() if k != "name"})
        assert_problem(client.post("/v1/intents/prepare", json=bad, headers=town), 422, "invalid_field")
        assert_problem(client.post("/v1/intents/prepare", content=b"{\"actor\": 1.5}", headers={**town, "Content-Type": "application/json"}),
                       400, "invalid_json")  # strict JSON, as anywhere signed (DESIGN §6)  # fmt: skip
        assert_problem(client.post("/v1/intents/prepare", content=b"[]", headers={**town, "Content-Type": "application/json"}),
                       422, "invalid_request")  # fmt: skip
        assert_problem(client.post("/v1/intents/prepare", content=b"not json", headers={**town, "Content-Type": "application/json"}),
                       400, "invalid_json")  # fmt: skip
        claim = {"actor": INSTITUTION, "type": "SubsidyClaimed", "at": "2019-06-10T10:00:00+08:00", "pii": {"bank_account": "6228 4800 7812 3456 001"},
                 "body": {"claim_id": "C-Q-1", "kind": "training", "class_id": "K-1", "lines": [{"laborer_id": "L-1", "amount_fen": 100}],
                          "total_fen": 100}}  # fmt: skip
        filled = client.post("/v1/intents/prepare", json=claim, headers=institution)
        assert filled.status_code == 200, filled.text
        assert filled.json()["intent"]["body"]["payee_account"] == pepper_hash(tmp_path, "bank:6228480078123456001")
        for n in (1, 2, 3):
            assert client.post("/v1/intents/prepare", json=registration(f"L-Q-{n}"), headers=town).status_code == 200
        assert client.post("/v1/intents/prepare", json=registration("L-Q-2"), headers=town).status_code == 200  # again: counted once
        over = client.post("/v1/intents/prepare", json=registration("L-Q-4"), headers=town)
        assert_problem(over, 429, "too_many_requests")
        assert 0 < int(over.headers["retry-after"]) <= 86_401
        assert client.post("/v1/intents/prepare", json={**claim, "body": {**claim["body"], "claim_id": "C-Q-2"}},
                           headers=institution).status_code == 200  # another actor's quota  # fmt: skip


def test_two_workers_share_what_is_prepared_and_read(tmp_path: Path) -> None:
    """``serve --workers 2`` on PostgreSQL: each request on a new connection, so prepares, envelopes
    and reads land on either worker; the pending records and used accesses are the database's."""
    with pg_database() as url:
        db = ("--db", url)
        make_ledger(tmp_path, ACTORS, env={"LEDGER_DB": url})
        keys, desk = tmp_path / "keys", office(tmp_path)
        with serving(tmp_path, *db, options=("--workers", "2")) as first:
            base = str(first.base_url)

            def fresh() -> httpx.Client:
                return httpx.Client(base_url=base, timeout=30)

            for n in range(6):
                with fresh() as c:
                    intent = c.post("/v1/intents/prepare", json=registration(f"L-W-{n}"), headers=sign_in(c, keys, TOWNSHIP)).json()["intent"]
                signed = IntentSigner(Keystore(desk).actor_key).sign(intent)
                assert signed.envelope is not None
                with fresh() as c:
                    posted = c.post("/v1/events", content=signed.envelope.canonical_bytes, headers={"Content-Type": "application/json"})
                    assert posted.status_code == 201, posted.text
                with fresh() as c:
                    seq = access(c, desk, POVERTY, f"L-W-{n}", f"pii-w-{n:04d}")
                with fresh() as c:
                    got = c.get(f"/v1/laborers/L-W-{n}/pii", params={"access_seq": seq}, headers=sign_in(c, keys, POVERTY))
                    assert got.status_code == 200 and got.json()["id_number"] == PERSON["id_number"], got.text
                for _ in range(2):  # whichever worker answers, the access is used up
                    with fresh() as c:
                        again = c.get(f"/v1/laborers/L-W-{n}/pii", params={"access_seq": seq}, headers=sign_in(c, keys, POVERTY))
                        assert_problem(again, 403, "forbidden")

