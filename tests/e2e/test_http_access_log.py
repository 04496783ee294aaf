"""Access logs of a real ``serve`` (issue 13): one JSON line per request, and never a token, a sign-in
challenge or signature, or personal data — the log of the whole run is searched for each of them."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.encoding.b64 import b64encode
from ledger.keys.keystore import Keystore
from ledger.service import now_at
from support.cli import cli, make_ledger
from support.http import envelope, serving
from support.xiji import ACTORS, EXAMPLE

TOWNSHIP = "tw-640422-jq"
PERSON = (
    "马秀兰",
    "640422198506010026",
    "13995400137",
    "6228480078123456001",
)  # the example's first labourer


def test_one_json_line_per_request_without_secrets_or_personal_data(db_url: str, tmp_path: Path) -> None:
    make_ledger(tmp_path, ACTORS, env={"LEDGER_DB": db_url})
    keys = tmp_path / "keys"
    with serving(tmp_path, "--db", db_url) as client:
        assert (
            cli(tmp_path, "--server", str(client.base_url), "import", "--sign", str(EXAMPLE)).returncode == 0
        )
        challenge = client.post("/v1/auth/challenge", json={"actor_id": TOWNSHIP}).json()["challenge"]
        message = f"subsidy-ledger/auth/v1\n{Keystore(keys).origin}\n{TOWNSHIP}\n{challenge}".encode()
        signature = b64encode(Keystore(keys).actor_key(TOWNSHIP).sign(message))
        token = client.post(
            "/v1/auth/token", json={"actor_id": TOWNSHIP, "challenge": challenge, "signature": signature}
        )
        token_text = token.json()["access_token"]
        bearer = {"Authorization": f"Bearer {token_text}", "X-Request-ID": "office-42"}
        accessed = envelope(keys, TOWNSHIP, "PersonalDataAccessed", {"laborer_id": "L-640422-000001", "purpose": "核实身份"},
                            nonce="log-pii-0001", at=now_at())  # fmt: skip
        seq = client.post("/v1/events", json=accessed).json()["seq"]
        read = client.get("/v1/laborers/L-640422-000001/pii", params={"access_seq": seq}, headers=bearer)
        assert read.status_code == 200 and read.json()["name"] == PERSON[0]
        assert read.headers["x-request-id"] == "office-42"
        assert (
            client.get("/v1/anomalies", params={"jurisdiction": "640422"}, headers=bearer).status_code == 200
        )
        assert client.get("/v1/anomalies", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        given = client.get(
            "/v1/no/such/path?token=" + token_text, headers={"X-Request-ID": "bad id with spaces"}
        )
        assert given.status_code == 404 and given.headers["x-request-id"] != "bad id with spaces"
    text = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    lines = [json.loads(x) for x in text.splitlines() if x.startswith("{")]
    decoded = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)  # ASCII lines: unescaped too
    for secret in (token_text, token_text.split(".")[-1], challenge, signature, *PERSON):
        assert secret not in text and secret not in decoded
    assert all(
        set(x) == {"ts", "request_id", "method", "path", "status", "duration_ms", "actor"} for x in lines
    )
    assert all(x["duration_ms"] >= 0 and x["path"].startswith("/") and "?" not in x["path"] for x in lines)
    pii = [x for x in lines if x["request_id"] == "office-42" and x["path"].endswith("/pii")]
    assert [(x["method"], x["path"], x["status"], x["actor"]) for x in pii] == [
        ("GET", "/v1/laborers/L-640422-000001/pii", 200, TOWNSHIP)
    ]
    assert {(x["path"], x["status"], x["actor"]) for x in lines if x["path"] in ("/v1/anomalies", "/v1/no/such/path")} == {
        ("/v1/anomalies", 200, TOWNSHIP), ("/v1/anomalies", 401, None), ("/v1/no/such/path", 404, None)}  # fmt: skip
    imported = [x for x in lines if x["method"] == "POST" and x["path"] == "/v1/events"]
    assert len(imported) >= 2 and len({x["request_id"] for x in lines}) == len(lines) - 1  # office-42 twice
    assert not any(
        '"GET /' in x for x in text.splitlines()
    )  # uvicorn's own access lines (with query strings) are off
