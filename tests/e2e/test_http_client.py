"""The CLI as the HTTP API's client (API.md "Client"), with real processes: ``serve`` on a ledger the
CLI made, and the CLI run with ``--server`` from office folders that hold one actor's key each.

An office submits and imports (signing locally), a monitor follows the log (``verify --server``,
downloading only new leaves) and catches a rolled-back server, a witness cosigns
(``checkpoint --cosign --server``); no ``--server`` verb opens a local database.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import cli, make_ledger, one_line_error
from support.http import assert_problem, free_port, serving
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

AT = "2019-06-10T10:00:00+08:00"


def fund_intent(fund_id: str, amount: int = 100000, **extra: object) -> str:
    body = {"fund_id": fund_id, "jurisdiction": "640422", "source": "central", "purpose": "training", "year": 2019,
            "amount_fen": amount, **extra}  # fmt: skip
    return json.dumps({"actor": "fin-640422", "type": "FundAllocated", "at": AT, "body": body}, ensure_ascii=False)


def office(ledger: Path, name: str, *actors: str) -> Path:
    """An organisation's own machine: a folder whose keystore holds only its actors' keys."""
    home = ledger.parent / f"{ledger.name}-{name}"
    for actor in actors:
        (home / "keys" / "actors").mkdir(parents=True, exist_ok=True)
        shutil.copy(ledger / "keys" / "actors" / f"{actor}.pem", home / "keys" / "actors" / f"{actor}.pem")
    return home


def operator_key(ledger: Path) -> str:
    return (ledger / "keys" / "operator.pub").read_text().strip()


def at_server(url: str, home: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """``subsidy-ledger --server URL --keys keys --lang en ARGS`` in ``home``; it never makes a database there."""
    done = cli(home, "--server", url, "--keys", "keys", "--lang", "en", *args, stdin=stdin)
    assert not (home / "ledger.db").exists()
    return done.returncode, done.stdout, done.stderr


def wait_checkpoint(client: httpx.Client, size: int) -> None:
    """The server signs checkpoints in the background: wait until one covers ``size`` leaves."""
    deadline = time.monotonic() + 10
    while int(client.get("/v1/checkpoint").text.split("\n")[1]) < size:
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ledger(tmp_path_factory.mktemp("client"), [*ACTORS, INSPECTOR], example=EXAMPLE)


@pytest.fixture(scope="module")
def server(ledger: Path) -> Iterator[tuple[str, httpx.Client]]:
    with serving(ledger) as client:
        yield str(client.base_url), client


def test_an_office_submits_signing_locally_then_a_duplicate_and_a_refusal(ledger: Path, server: tuple[str, httpx.Client]) -> None:
    url, client = server
    home = office(ledger, "fin", "fin-640422")
    (home / "fund.json").write_text(fund_intent("F-CLIENT-1"))
    status, out, err = at_server(url, home, "submit", "fund.json")
    assert status == 0, err
    assert out.startswith("accepted: seq ")
    seq = int(out.split()[-1])
    status, out, _ = at_server(url, home, "submit", "fund.json")
    assert status == 0 and out.strip() == f"duplicate: already recorded at seq {seq}"
    (home / "bad.json").write_text(fund_intent("F-CLIENT-2", unknown_field=1))
    refused = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "submit", "--json", "bad.json")
    assert one_line_error(refused, 1).startswith("refused: ")
    assert json.loads(refused.stdout)["status"] == "refused"
    leaf = client.get(f"/v1/events/{seq}", headers=_admin(ledger, client)).json()
    assert json.loads(leaf["leaf"])["envelope"]["actor"] == "fin-640422"


def test_import_sign_posts_a_batch_with_import_json_semantics(ledger: Path, server: tuple[str, httpx.Client]) -> None:
    url, _ = server
    home = office(ledger, "fin-import", "fin-640422")
    lines = [fund_intent("F-CLIENT-B1"), "", fund_intent("F-CLIENT-B2", unknown_field=2), fund_intent("F-CLIENT-B1")]
    (home / "batch.jsonl").write_text("\n".join(lines) + "\n")
    status, out, err = at_server(url, home, "import", "--sign", "--json", "batch.jsonl")
    assert status == 1, err
    got = [json.loads(x) for x in out.splitlines()]
    assert [(g["line"], g["status"]) for g in got] == [(1, "accepted"), (3, "refused"), (4, "duplicate")]
    assert got[2]["seq"] == got[0]["seq"] and got[1]["reason"]
    assert "import done: 3 lines, 1 accepted, 1 duplicates, 1 refused" in err


def test_the_monitor_downloads_only_new_leaves(ledger: Path, server: tuple[str, httpx.Client]) -> None:
    url, client = server
    home = office(ledger, "monitor", "fin-640422")
    wait_checkpoint(client, client.get("/healthz").json()["size"])
    status, out, err = at_server(url, home, "verify", "--json", "--operator-key", operator_key(ledger))
    assert status == 0, err
    first = json.loads(out)
    assert first["intact"] and first["previous"] is None and first["downloaded"] == first["size"] > 90
    (home / "fund.json").write_text(fund_intent("F-CLIENT-M1"))
    assert at_server(url, home, "submit", "fund.json")[0] == 0
    wait_checkpoint(client, first["size"] + 1)
    status, out, err = at_server(url, home, "verify")  # the operator key is remembered
    assert status == 0, err
    size = int(client.get("/v1/checkpoint").text.split("\n")[1])
    assert f"consistent with checkpoint {first['size']}" in out
    assert f"{size - first['size']} new leaves downloaded and verified" in out
    assert "TOFU" not in out


def test_a_witness_cosigns_after_a_consistency_proof(ledger: Path, server: tuple[str, httpx.Client]) -> None:
    url, client = server
    home = office(ledger, "witness", INSPECTOR[0])
    wait_checkpoint(client, client.get("/healthz").json()["size"])
    status, out, err = at_server(url, home, "checkpoint", "--cosign", INSPECTOR[0], "--operator-key", operator_key(ledger))
    assert status == 0, err
    assert "cosigned checkpoint" in out and "first cosignature" in out
    note = client.get("/v1/checkpoint").text
    assert f"— {INSPECTOR[0]} " in note
    assert (home / "keys" / "cosigned" / f"{INSPECTOR[0]}.json").is_file()
    before = json.loads((home / "keys" / "cosigned" / f"{INSPECTOR[0]}.json").read_text())["size"]
    fin = office(ledger, "witness-fin", "fin-640422")
    (fin / "fund.json").write_text(fund_intent("F-CLIENT-W1"))
    assert at_server(url, fin, "submit", "fund.json")[0] == 0
    wait_checkpoint(client, before + 1)
    status, out, err = at_server(url, home, "checkpoint", "--cosign", INSPECTOR[0], "--operator-key", operator_key(ledger))
    assert status == 0, err
    assert f"consistent with checkpoint {before} it cosigned before" in out
    status, out, err = at_server(url, home, "checkpoint", "--cosign", INSPECTOR[0])  # nothing new: said so
    assert status == 0 and "had already cosigned checkpoint" in out, err
    assert client.get("/v1/checkpoint").text.count(f"— {INSPECTOR[0]} ") == 1
    # the monitor sees the cosignature, checked against the registry it rebuilt
    monitor = office(ledger, "witness-monitor", "fin-640422")
    status, out, err = at_server(url, monitor, "verify", "--operator-key", operator_key(ledger))
    assert status == 0 and f"cosigned by {INSPECTOR[0]}" in out, err
    # a cosignature by someone who is not a cosigner is refused by the server
    forged = note.replace(f"— {INSPECTOR[0]} ", "— inst-640422-zj ")
    answer = client.post("/v1/checkpoint/cosignatures", content=forged, headers={"Content-Type": "text/plain"})
    assert_problem(answer, 403, "not_a_cosigner")
    assert client.get("/v1/checkpoint").text.count("— inst-640422-zj") == 0


def test_reads_through_the_server(ledger: Path, server: tuple[str, httpx.Client]) -> None:
    url, _ = server
    home = office(ledger, "reader", "fin-640422")
    status, out, err = at_server(url, home, "balances", "--json")
    assert status == 0, err
    assert "trial_balance" in json.loads(out)
    status, out, err = at_server(url, home, "anomalies", "--json", "--status", "all")
    assert status == 0, err
    flags = json.loads(out)
    assert isinstance(flags, list)
    if flags:
        status, out, err = at_server(url, home, "anomalies", "show", "--json", flags[0]["id"])
        assert status == 0 and json.loads(out)["flag"]["id"] == flags[0]["id"], err
    refused = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "anomalies", "show", "A-nothing")
    assert "404" in one_line_error(refused, 1)


def test_an_unreachable_server_is_an_operational_error(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.keys.keystore import Keystore

    Keystore(tmp_path / "keys").save_actor_key("fin-640422", Ed25519PrivateKey.generate())
    done = cli(tmp_path, "--server", f"http://127.0.0.1:{free_port()}", "--keys", "keys", "--lang", "en", "submit", "-",
               stdin=fund_intent("F-NOWHERE"))  # fmt: skip
    line = one_line_error(done, 2)
    assert "unreachable" in line
    assert not (tmp_path / "ledger.db").exists()


def test_the_monitor_reports_a_rolled_back_server(tmp_path: Path) -> None:
    (tmp_path / "op").mkdir()
    ledger = make_ledger(tmp_path / "op", [ACTORS[-1]])
    home = office(ledger, "monitor", "fin-640422")
    key = operator_key(ledger)
    with serving(ledger) as client:
        (home / "f1.json").write_text(fund_intent("F-RB-1"))
        assert at_server(str(client.base_url), home, "submit", "f1.json")[0] == 0
        wait_checkpoint(client, client.get("/healthz").json()["size"])
    shutil.copy(ledger / "ledger.db", tmp_path / "old.db")  # a backup taken now
    with serving(ledger) as client:
        url = str(client.base_url)
        for n in (2, 3):
            (home / f"f{n}.json").write_text(fund_intent(f"F-RB-{n}"))
            assert at_server(url, home, "submit", f"f{n}.json")[0] == 0
        wait_checkpoint(client, client.get("/healthz").json()["size"])
        status, _, err = at_server(url, home, "verify", "--operator-key", key)
        assert status == 0, err
        status, _, err = at_server(url, home, "checkpoint", "--cosign", "fin-640422", "--operator-key", key)
        assert status == 0, err
    with serving(ledger, "--db", f"sqlite:///{tmp_path / 'old.db'}") as client:  # restored from the old copy
        url = str(client.base_url)
        done = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "verify")
        line = one_line_error(done, 1)
        assert "NOT intact" in line and "rollback" in line
        witness = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "checkpoint", "--cosign", "fin-640422")
        assert "rollback" in one_line_error(witness, 1)
        # the rolled-back server grows again, to the same size with other leaves: a fork
        other = office(ledger, "other", "fin-640422")
        remembered = json.loads(next((home / "keys" / "monitor").glob("*.json")).read_text())["size"]
        while (size := client.get("/healthz").json()["size"]) < remembered:
            (other / f"g{size}.json").write_text(fund_intent(f"F-FORK-{size}"))
            assert at_server(url, other, "submit", f"g{size}.json")[0] == 0
        wait_checkpoint(client, remembered)
        done = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "verify")
        line = one_line_error(done, 1)
        assert "NOT intact" in line and "fork" in line


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_submit_monitor_and_witness_on_postgresql(db_url: str, tmp_path: Path) -> None:
    db = ("--db", db_url)
    assert cli(tmp_path, *db, "init").returncode == 0
    for actor_id, role, code, name in (ACTORS[-1], INSPECTOR):
        added = cli(tmp_path, *db, "actor", "add", "--id", actor_id, "--role", role, "--jurisdiction", code, "--name", name)
        assert added.returncode == 0, added.stderr
    fin, witness = office(tmp_path, "fin", "fin-640422"), office(tmp_path, "witness", INSPECTOR[0])
    key = operator_key(tmp_path)
    with serving(tmp_path, *db) as client:
        url = str(client.base_url)
        (fin / "fund.json").write_text(fund_intent("F-PG-1"))
        status, out, err = at_server(url, fin, "submit", "fund.json")
        assert status == 0 and out.startswith("accepted"), err
        wait_checkpoint(client, client.get("/healthz").json()["size"])
        status, out, err = at_server(url, fin, "verify", "--json", "--operator-key", key)
        assert status == 0 and json.loads(out)["downloaded"] == client.get("/healthz").json()["size"], err
        status, out, err = at_server(url, witness, "checkpoint", "--cosign", INSPECTOR[0], "--operator-key", key)
        assert status == 0, err
        assert f"— {INSPECTOR[0]} " in client.get("/v1/checkpoint").text


def _admin(ledger: Path, client: httpx.Client) -> dict[str, str]:
    from support.http import sign_in

    return sign_in(client, ledger / "keys", "admin")


def test_a_verb_without_a_server_path_opens_no_database(tmp_path: Path) -> None:
    done = cli(tmp_path, "--server", "http://127.0.0.1:9", "--lang", "en", "log")
    assert "no --server path" in one_line_error(done, 2)
    assert not (tmp_path / "ledger.db").exists()


def test_the_cosignature_endpoint_refuses_what_it_cannot_check(ledger: Path, server: tuple[str, httpx.Client]) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.translog.note import add_signature, cosign, parse_note

    url, client = server
    text = "text/plain"
    note = client.get("/v1/checkpoint").text
    body = parse_note(note).text

    def post(content: str, kind: str = text) -> httpx.Response:
        return client.post("/v1/checkpoint/cosignatures", content=content.encode(), headers={"Content-Type": kind})

    assert_problem(post("not a note"), 422, "invalid_request")
    assert_problem(post(note, "application/json"), 415, "unsupported_media_type")
    assert_problem(post(note), 422, "invalid_request")  # adds no line
    stranger = add_signature(note, cosign(body, INSPECTOR[0], Ed25519PrivateKey.generate(), 1_700_000_000))
    assert_problem(post(stranger), 422, "bad_signature", "bad_signature")  # not the inspector's registered key
    other = body.replace(body.split("\n")[1], str(int(body.split("\n")[1]) + 1000), 1)
    unknown = add_signature(note.replace(body, other, 1), cosign(other, INSPECTOR[0], Ed25519PrivateKey.generate(), 1))
    assert_problem(post(unknown), 404, "subject_not_found")
    # a monitor in an office keystore, with no operator key given or remembered, says what is missing
    home = office(ledger, "no-key", "fin-640422")
    done = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "verify")
    assert "--operator-key" in one_line_error(done, 2)
