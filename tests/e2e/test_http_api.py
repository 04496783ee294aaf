"""The HTTP API as clients drive it (API.md): a real ``serve`` process on a ledger the CLI made.

Offices sign their envelopes and sign-in challenges locally with their own keys; the server
answers every error as an RFC 9457 problem with API.md's status, type and ``reason``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.encoding.b64 import b64encode
from ledger.translog.merkle import leaf_hash
from support.cli import cli, make_ledger
from support.http import PROBLEM, assert_problem, envelope, serving, sign_in
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

OTHERS = [INSPECTOR, ("fin-640402", "finance_bureau", "640402", "原州区财政局"),
          ("inst-640402-yz", "institution", "640402", "原州区职业技术学校"),
          ("fin-640425", "finance_bureau", "640425", "彭阳县财政局")]  # fmt: skip
FUND = {"jurisdiction": "640422", "source": "central", "purpose": "training", "year": 2019, "amount_fen": 100000}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the example ledger with the city's inspector, as other modules have it (built once per run, copied),
    # then the other counties' actors
    cwd = make_ledger(tmp_path_factory.mktemp("http"), [*ACTORS, INSPECTOR], example=EXAMPLE)
    for actor_id, role, code, name in OTHERS[1:]:
        added = cli(cwd, "actor", "add", "--id", actor_id, "--role", role, "--jurisdiction", code, "--name", name)
        assert added.returncode == 0, added.stderr
    return cwd


@pytest.fixture(scope="module")
def client(ledger: Path) -> Iterator[httpx.Client]:
    with serving(ledger) as c:
        yield c


def fund(ledger: Path, fund_id: str, nonce: str, actor: str = "fin-640422") -> dict[str, object]:
    return envelope(ledger / "keys", actor, "FundAllocated", {"fund_id": fund_id, **FUND}, nonce=nonce)


def test_healthz_and_the_openapi_document_describe_every_body(client: httpx.Client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["size"] > 90
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    post = spec["paths"]["/v1/events"]["post"]
    assert "sig" in post["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert post["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["status"]
    for name in ("Accepted", "TokenRequest", "TokenResponse", "LeafPage", "LeafWithProof",
                 "InclusionProof", "ConsistencyProof", "Flag", "FlagDetail", "ProblemModel"):  # fmt: skip
        assert name in schemas, name
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method == "post":
                assert op["requestBody"]["content"], path
            for status, answer in op["responses"].items():
                if status != "200" or path != "/v1/checkpoint":
                    assert any(c.get("schema") for c in answer.get("content", {}).values()), (path, method, status)


def test_a_signed_envelope_is_accepted_then_a_duplicate(client: httpx.Client, ledger: Path) -> None:
    env = fund(ledger, "F-HTTP-1", "http-fund-0001")
    first = client.post("/v1/events", json=env)
    assert first.status_code == 201, first.text
    done = first.json()
    assert done["status"] == "accepted" and set(done) == {"status", "seq", "leaf_hash", "recorded_at"}
    again = client.post("/v1/events", json=env)
    assert again.status_code == 200 and again.json() == {"status": "duplicate", "seq": done["seq"]}
    admin = sign_in(client, ledger / "keys", "admin")
    leaf = client.get(f"/v1/events/{done['seq']}", headers=admin).json()
    assert leaf["leaf_hash"] == done["leaf_hash"] == b64encode(leaf_hash(leaf["leaf"].encode()))
    assert json.loads(leaf["leaf"])["envelope"] == env
    assert leaf["proof"] is not None and leaf["proof"]["leaf_index"] == done["seq"]  # checkpoint signed at once here
    checkpoint = client.get("/v1/checkpoint")
    assert checkpoint.status_code == 200 and checkpoint.headers["content-type"].startswith("text/plain")
    assert checkpoint.text.splitlines()[1] == str(leaf["proof"]["tree_size"])


def _other_key(ledger: Path) -> dict[str, object]:
    """Signed by a key the registry does not know, under that key's own id."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.domain.envelope import sign_envelope

    unsigned = {"type": "FundAllocated", "actor": "fin-640422", "at": "2019-06-10T10:00:00+08:00",
                "nonce": "http-fund-otherkey", "body": {"fund_id": "F-HTTP-9", **FUND}}  # fmt: skip
    return sign_envelope(unsigned, Ed25519PrivateKey.generate())


def _tampered(ledger: Path) -> dict[str, object]:
    env = fund(ledger, "F-HTTP-T", "http-fund-tamper")
    env["body"] = {**env["body"], "amount_fen": 999}  # type: ignore[dict-item]
    return env


@pytest.mark.parametrize(
    ("make", "status", "reason"),
    [
        (_tampered, 422, "bad_signature"),
        (lambda d: fund(d, "F-HTTP-2", "http-fund-0001"), 409, "nonce_reused"),  # the nonce of the test above
        (lambda d: envelope(d / "keys", "admin", "ActorRegistered", {
            "actor_id": "fin-640422", "name": "again", "role": "finance_bureau", "jurisdiction": "640422",
            "public_key": b64encode(b"\1" * 32)}, nonce="http-actor-again"), 409, "already_exists"),
        (lambda d: fund(d, "F-HTTP-3", "http-fund-role", actor="inst-640422-zj"), 422, "role_not_allowed"),
        (lambda d: fund(d, "F-HTTP-4", "http-fund-place", actor="fin-640402"), 422, "outside_jurisdiction"),
        (lambda d: {**fund(d, "F-HTTP-5", "http-fund-actor"), "actor": "nobody"}, 422, "unknown_actor"),
        (lambda d: envelope(d / "keys", "fin-640422", "FundMisplaced", {"fund_id": "F-HTTP-7"}, nonce="http-type-0001"),
         422, "unknown_type"),
        (lambda d: envelope(d / "keys", "fin-640422", "FundAllocated", {"fund_id": "F-HTTP-8", **FUND}, nonce="http-future-01",
                            at="2099-01-01T10:00:00+08:00"), 422, "at_in_future"),
        (lambda d: _other_key(d), 422, "unknown_key"),
        (lambda d: {"actor": "fin-640422", "type": "FundAllocated", "at": "2019-06-10T10:00:00+08:00",
                    "body": {"fund_id": "F-HTTP-6", **FUND}}, 422, "invalid_field"),  # unsigned: the server signs nothing
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_refusals_have_their_documented_status_type_and_reason(client: httpx.Client, ledger: Path, make, status: int,
                                                               reason: str) -> None:  # fmt: skip
    if reason == "nonce_reused":
        client.post("/v1/events", json=fund(ledger, "F-HTTP-1", "http-fund-0001"))  # holds the nonce whatever the order
    doc = assert_problem(client.post("/v1/events", json=make(ledger)), status, reason, reason)
    assert "line" not in doc


def test_malformed_bodies_are_400_or_422_problems_never_5xx(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/events", content=b"{not json", headers={"content-type": "application/json"}),
                   400, "invalid_json", "invalid_json")  # fmt: skip
    assert_problem(client.post("/v1/events", content=b"\xff\xfe", headers={"content-type": "application/json"}),
                   400, "invalid_json", "invalid_json")  # fmt: skip
    assert_problem(client.post("/v1/events", content=b"[1, 2]", headers={"content-type": "application/json"}), 400,
                   "invalid_json")  # fmt: skip
    assert_problem(client.post("/v1/events", content=b'{"v": 1.5}', headers={"content-type": "application/json"}),
                   400, "invalid_json")  # floats are not the ledger's JSON (DESIGN §6)  # fmt: skip
    assert_problem(client.post("/v1/events", content=b"x", headers={"content-type": "text/csv"}), 415,
                   "unsupported_media_type")  # fmt: skip
    assert_problem(client.post("/v1/auth/challenge", content=b"{", headers={"content-type": "application/json"}), 400,
                   "invalid_json")  # fmt: skip
    assert_problem(client.post("/v1/auth/challenge", json={"actor_id": 7}), 422, "invalid_request")
    assert_problem(client.post("/v1/auth/challenge", json={"actor_id": "a", "extra": 1}), 422, "invalid_request")
    assert_problem(client.get("/v1/events/-1", headers={"Authorization": "Bearer x"}), 401, "unauthorized")


def test_unknown_routes_and_methods_are_problems(client: httpx.Client) -> None:
    assert_problem(client.get("/v1/nowhere"), 404, "not_found")
    assert_problem(client.get("/nowhere"), 404, "not_found")  # "/" is the pages' dashboard (issue 17)
    assert_problem(client.delete("/v1/events"), 405, "method_not_allowed")


def test_a_batch_keeps_import_json_semantics(client: httpx.Client, ledger: Path) -> None:
    new = fund(ledger, "F-HTTP-B1", "http-batch-0001")
    lines = [json.dumps(new), "", json.dumps(new), "{oops", json.dumps(fund(ledger, "F-HTTP-B2", "http-batch-0002"))]
    got = client.post("/v1/events", content="\n".join(lines).encode(), headers={"content-type": "application/x-ndjson"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/x-ndjson"), got.text
    rows = [json.loads(x) for x in got.text.splitlines()]
    assert [(r["line"], r["status"]) for r in rows] == [(1, "accepted"), (3, "duplicate"), (4, "refused"), (5, "accepted")]
    assert rows[1]["seq"] == rows[0]["seq"] and rows[3]["seq"] == rows[0]["seq"] + 1
    assert rows[2]["reason"] and rows[2]["seq"] is None and rows[0]["reason"] is None


def test_a_batch_over_the_limits_is_413(client: httpx.Client, ledger: Path) -> None:
    line = json.dumps(fund(ledger, "F-HTTP-L", "http-limit-0001"))
    many = "\n".join([line] * 1001).encode()
    assert_problem(client.post("/v1/events", content=many, headers={"content-type": "application/x-ndjson"}), 413,
                   "request_too_large")  # fmt: skip
    huge = b" " * (8 * 1024 * 1024 + 1)
    assert_problem(client.post("/v1/events", content=huge, headers={"content-type": "application/x-ndjson"}), 413,
                   "request_too_large")  # fmt: skip
    assert client.get("/v1/checkpoint").status_code == 200  # and nothing of it was recorded:
    admin = sign_in(client, ledger / "keys", "admin")
    page = client.get("/v1/events", params={"from": 0, "limit": 1000}, headers=admin).json()["items"]
    assert all("http-limit-0001" not in item["leaf"] for item in page)


def test_sign_in_challenges_are_single_use_and_need_the_actors_key(client: httpx.Client, ledger: Path) -> None:
    got = client.post("/v1/auth/challenge", json={"actor_id": "fin-640422"}).json()
    assert set(got) == {"challenge", "expires_at"}
    wrong = b64encode(b"\0" * 64)
    assert_problem(client.post("/v1/auth/token", json={"actor_id": "fin-640422", "challenge": got["challenge"],
                                                       "signature": wrong}), 401, "unauthorized")  # fmt: skip
    from ledger.keys.keystore import Keystore

    store = Keystore(ledger / "keys")
    message = f"subsidy-ledger/auth/v1\n{store.origin}\nfin-640422\n{got['challenge']}".encode()
    signed = b64encode(store.actor_key("fin-640422").sign(message))
    used = client.post("/v1/auth/token", json={"actor_id": "fin-640422", "challenge": got["challenge"], "signature": signed})
    assert_problem(used, 401, "unauthorized")  # the failed attempt used the challenge up
    fresh = client.post("/v1/auth/challenge", json={"actor_id": "fin-640422"}).json()["challenge"]
    other_key = b64encode(store.actor_key("fin-640402").sign(f"subsidy-ledger/auth/v1\n{store.origin}\nfin-640422\n{fresh}".encode()))
    assert_problem(client.post("/v1/auth/token", json={"actor_id": "fin-640422", "challenge": fresh, "signature": other_key}),
                   401, "unauthorized")  # fmt: skip
    token = client.post("/v1/auth/challenge", json={"actor_id": "fin-640422"}).json()["challenge"]
    message = f"subsidy-ledger/auth/v1\n{store.origin}\nfin-640422\n{token}".encode()
    ok = client.post("/v1/auth/token", json={"actor_id": "fin-640422", "challenge": token,
                                             "signature": b64encode(store.actor_key("fin-640422").sign(message))})  # fmt: skip
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert (body["actor_id"], body["role"], body["jurisdiction"]) == ("fin-640422", "finance_bureau", "640422")


def test_reads_need_a_token_and_stay_in_scope(client: httpx.Client, ledger: Path) -> None:
    doc = assert_problem(client.get("/v1/events"), 401, "unauthorized")
    assert "Bearer" in client.get("/v1/events").headers["www-authenticate"] and doc["detail"]
    assert_problem(client.get("/v1/events", headers={"Authorization": "Bearer nonsense.token"}), 401, "unauthorized")
    school = sign_in(client, ledger / "keys", "inst-640422-zj")
    assert_problem(client.get("/v1/events", headers=school), 403, "forbidden")
    admin = sign_in(client, ledger / "keys", "admin")
    items = client.get("/v1/events", params={"limit": 1000}, headers=admin).json()["items"]
    own = next(i["seq"] for i in items if json.loads(i["leaf"])["envelope"]["actor"] == "inst-640422-zj")
    other = next(i["seq"] for i in items if json.loads(i["leaf"])["envelope"]["actor"] == "fin-640422")
    assert client.get(f"/v1/events/{own}", headers=school).status_code == 200
    assert client.get("/v1/proofs/inclusion", params={"seq": own}, headers=school).status_code == 200
    assert_problem(client.get(f"/v1/events/{other}", headers=school), 403, "forbidden")
    assert_problem(client.get("/v1/events/999999", headers=admin), 404, "subject_not_found")


def test_the_log_pages_in_seq_order(client: httpx.Client, ledger: Path) -> None:
    finance = sign_in(client, ledger / "keys", "fin-640402")  # a bureau witnesses the whole log
    first = client.get("/v1/events", params={"from": 0, "limit": 5}, headers=finance).json()
    assert [i["seq"] for i in first["items"]] == [0, 1, 2, 3, 4] and first["next"] == 5
    size = client.get("/healthz").json()["size"]
    last = client.get("/v1/events", params={"from": size - 1}, headers=finance).json()
    assert [i["seq"] for i in last["items"]] == [size - 1] and last["next"] is None
    assert_problem(client.get("/v1/events", params={"limit": 1001}, headers=finance), 422, "invalid_request")
    cons = client.get("/v1/proofs/consistency", params={"first": 3}, headers=finance)
    assert cons.status_code == 200 and cons.json()["first_size"] == 3


def test_a_token_dies_when_its_key_is_rotated(client: httpx.Client, ledger: Path) -> None:
    finance = sign_in(client, ledger / "keys", "fin-640425")
    assert client.get("/v1/events", headers=finance).status_code == 200
    assert cli(ledger, "actor", "rotate", "fin-640425").returncode == 0
    assert_problem(client.get("/v1/events", headers=finance), 401, "unauthorized")
    again = sign_in(client, ledger / "keys", "fin-640425")  # with the new key
    assert client.get("/v1/events", headers=again).status_code == 200


def test_problem_documents_are_problem_json(client: httpx.Client) -> None:
    response = client.get("/v1/anomalies")
    assert response.headers["content-type"].startswith(PROBLEM)


def test_balances_as_the_cli_prints_them(client: httpx.Client, ledger: Path) -> None:
    finance = sign_in(client, ledger / "keys", "fin-640422")
    got = client.get("/v1/balances", headers=finance)
    assert got.status_code == 200, got.text
    doc = got.json()
    assert doc["filters"] == {"jurisdiction": "640422"} and doc["trial_balance"]["debit_fen"] == doc["trial_balance"]["credit_fen"]
    local = cli(ledger, "balances", "--json", "--jurisdiction", "640422", "--as-of", str(doc["as_of"]))
    assert json.loads(local.stdout) == doc
    assert_problem(client.get("/v1/balances", params={"as_of": 10**9}, headers=finance), 422, "as_of_out_of_range")
    one = client.get("/v1/balances", params={"account": "expense:training", "as_of": doc["as_of"]}, headers=finance)
    assert one.status_code == 200, one.text  # the account filter of API.md (422 before issue 13's gaps closed)
    local = cli(ledger, "balances", "--json", "--jurisdiction", "640422", "--account", "expense:training",
                "--as-of", str(doc["as_of"]))  # fmt: skip
    assert json.loads(local.stdout) == one.json()


def test_metrics_count_requests_events_and_refusals_without_tokens(client: httpx.Client, ledger: Path) -> None:
    assert_problem(client.get("/metrics"), 401, "unauthorized")
    headers = sign_in(client, ledger / "keys", "insp-640400")
    client.post("/v1/events", json=fund(ledger, "F-HTTP-M", "http-metrics-0001"))
    client.post("/v1/events", json={**fund(ledger, "F-HTTP-M2", "http-metrics-0002"), "nonce": "http-metrics-0003"})
    got = client.get("/metrics", headers=headers)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/plain")
    text = got.text
    for needle in ('http_requests_total{method="POST",route="/v1/events",status="201"}',
                   'ledger_events_appended_total{type="FundAllocated"}', 'ledger_refusals_total{reason="bad_signature"}',
                   "ledger_log_size ", "ledger_projection_lag ", "http_request_duration_seconds_bucket"):  # fmt: skip
        assert needle in text, needle
    token = headers["Authorization"].split()[1]
    assert token not in text
    assert all(token not in log.read_text() for log in ledger.glob("serve-*.log"))  # tokens are never logged
