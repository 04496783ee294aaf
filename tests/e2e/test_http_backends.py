"""``serve`` on each backend (SQLite and PostgreSQL): sign in, submit, duplicate, refuse, read back."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ledger.encoding.b64 import b64encode
from ledger.translog.merkle import leaf_hash
from support.cli import cli, one_line_error
from support.http import assert_problem, envelope, serving, sign_in

FUND = {"fund_id": "F-2019-640422-http", "jurisdiction": "640422", "source": "central", "purpose": "training",
        "year": 2019, "amount_fen": 100000}  # fmt: skip


def test_serve_writes_and_reads_on_each_backend(db_url: str, tmp_path: Path) -> None:
    db = ("--db", db_url)
    assert cli(tmp_path, *db, "init").returncode == 0
    added = cli(tmp_path, *db, "actor", "add", "--id", "fin-640422", "--role", "finance_bureau", "--jurisdiction", "640422",
                "--name", "西吉县财政局")  # fmt: skip
    assert added.returncode == 0, added.stderr
    keys = tmp_path / "keys"
    with serving(tmp_path, *db) as client:
        env = envelope(keys, "fin-640422", "FundAllocated", FUND, nonce="http-backend-0001")
        accepted = client.post("/v1/events", json=env)
        assert accepted.status_code == 201, accepted.text
        seq = accepted.json()["seq"]
        assert client.post("/v1/events", json=env).json() == {"status": "duplicate", "seq": seq}
        wrong = {**env, "nonce": "http-backend-0002", "body": {**FUND, "amount_fen": 1}}
        assert_problem(client.post("/v1/events", json=wrong), 422, "bad_signature", "bad_signature")
        reader = sign_in(client, keys, "fin-640422")
        leaf = client.get(f"/v1/events/{seq}", headers=reader).json()
        assert json.loads(leaf["leaf"])["envelope"] == env
        assert leaf["leaf_hash"] == accepted.json()["leaf_hash"] == b64encode(leaf_hash(leaf["leaf"].encode()))
        assert accepted.json()["recorded_at"] == json.loads(leaf["leaf"])["recorded_at"]
    log = cli(tmp_path, *db, "log", "--json")
    assert log.returncode == 0 and log.stdout.count("http-backend-0001") == 1
    assert cli(tmp_path, *db, "verify").returncode == 0


def test_serve_signs_checkpoints_at_most_once_a_second_and_covers_every_write(tmp_path: Path) -> None:
    assert cli(tmp_path, "init").returncode == 0
    assert cli(tmp_path, "actor", "add", "--id", "fin-640422", "--role", "finance_bureau", "--jurisdiction", "640422",
               "--name", "西吉县财政局").returncode == 0  # fmt: skip
    keys = tmp_path / "keys"
    with serving(tmp_path, env={"LEDGER_CHECKPOINT_INTERVAL": "1"}) as client:
        for n in range(3):
            body = {**FUND, "fund_id": f"F-HTTP-CP-{n}"}
            assert client.post("/v1/events", json=envelope(keys, "fin-640422", "FundAllocated", body,
                                                            nonce=f"http-cp-{n:04d}")).status_code == 201  # fmt: skip
        size = client.get("/healthz").json()["size"]
        deadline = time.monotonic() + 10
        while int(client.get("/v1/checkpoint").text.splitlines()[1]) < size:
            assert time.monotonic() < deadline, "no checkpoint covered the last writes"
            time.sleep(0.2)
    notes = cli(tmp_path, "verify")
    assert notes.returncode == 0, notes.stderr


def test_serve_refuses_what_it_cannot_do_in_one_line(tmp_path: Path) -> None:
    assert one_line_error(cli(tmp_path, "serve"), 2)  # no ledger here: never creates one
    assert not (tmp_path / "ledger.db").exists()
    assert cli(tmp_path, "init").returncode == 0
    assert "--workers" in one_line_error(cli(tmp_path, "serve", "--workers", "2"), 2)


def test_concurrent_submits_are_each_answered_with_their_own_leaf(db_url: str, tmp_path: Path) -> None:
    """Submits arriving together are appended as one group and answered from its outcomes, not by
    reading the log back: each 201 names the seq, leaf hash and recording time of its own leaf."""
    db = ("--db", db_url)
    assert cli(tmp_path, *db, "init").returncode == 0
    for county in ("640422", "640423"):
        assert cli(tmp_path, *db, "actor", "add", "--id", f"fin-{county}", "--role", "finance_bureau", "--jurisdiction",
                   county, "--name", f"财政局 {county}").returncode == 0  # fmt: skip
    keys = tmp_path / "keys"
    envelopes = [envelope(keys, f"fin-{county}", "FundAllocated", {**FUND, "jurisdiction": county, "fund_id": f"F-HTTP-G-{n}"},
                          nonce=f"http-group-{n:04d}") for n in range(24) for county in [("640422", "640423")[n % 2]]]  # fmt: skip
    with serving(tmp_path, *db) as client, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda env: client.post("/v1/events", json=env), envelopes))
        assert [a.status_code for a in answers] == [201] * len(envelopes), [a.text for a in answers if a.status_code != 201]
        reader = sign_in(client, keys, "admin")
        for env, answer in zip(envelopes, answers, strict=True):
            done = answer.json()
            leaf = client.get(f"/v1/events/{done['seq']}", headers=reader).json()
            assert json.loads(leaf["leaf"])["envelope"] == env
            assert done["leaf_hash"] == leaf["leaf_hash"] == b64encode(leaf_hash(leaf["leaf"].encode()))
            assert done["recorded_at"] == json.loads(leaf["leaf"])["recorded_at"]
        assert sorted(a.json()["seq"] for a in answers) == list(range(min(a.json()["seq"] for a in answers),
                                                                       min(a.json()["seq"] for a in answers) + len(answers)))  # fmt: skip
