"""The authorization matrix (issue 13): every read endpoint built so far × every role × own county /
other county / city level, over HTTP against a real ``serve``.

The expected answers come from API.md's scope table as written, encoded here on its own — not
from ``api.http.auth`` — so a change of the implementation cannot move the expectation with it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.cli import cli, make_ledger
from support.http import serving, sign_in
from support.xiji import ACTORS, EXAMPLE, INSPECTOR

# API.md "Scopes", row by row.
EVERYTHING = {"admin", "inspector"}  # "everything"; "a county-level inspector reads its county"
REGIONAL = {"finance_bureau", "hr_bureau", "poverty_office"}  # "theirs or below it; the log and proofs in full"
OWN = {"institution", "appraisal_center", "traffic_authority", "employer", "township"}  # "the events they signed,
# with proofs; anomalies … of the classes, claims, certificates and employments that are theirs"
CITY = "640400"  # DESIGN §2: the city over its five counties

READERS = [
    ("admin", "admin", CITY),
    ("insp-640400", "inspector", CITY),
    ("insp-640422", "inspector", "640422"),
    ("insp-640402", "inspector", "640402"),
    ("fin-640422", "finance_bureau", "640422"),
    ("fin-640402", "finance_bureau", "640402"),
    ("hr-640400", "hr_bureau", CITY),
    ("pov-640422", "poverty_office", "640422"),
    ("inst-640422-zj", "institution", "640422"),
    ("inst-640402-yz", "institution", "640402"),
    ("tw-640422-jq", "township", "640422"),
    ("apc-640400", "appraisal_center", CITY),
]
SECOND_PAYMENT = {
    "actor": "fin-640422", "type": "PaymentDisbursed", "at": "2019-06-08T10:00:00+08:00",
    "body": {"payment_id": "P-2019-640422-0002", "claim_id": "C-2019-640422-0001", "fund_id": "F-2019-640422-training",
             "amount_fen": 1440000, "payee_account": "", "bank_reference": "XJNSH20190608000201",
             "value_date": "2019-06-08"},
    "pii": {"bank_account": "1551 0101 0400 0012 345"},
}  # fmt: skip  (as tests/e2e/test_cli_anomalies.py: raises flags on the claim and on the payment)


def covered(reader: str, subject: str) -> bool:
    """A reader's jurisdiction covers a subject's: the same county, or the city over it."""
    return reader in (subject, CITY)


def expect_log(role: str) -> int:
    return 200 if role in EVERYTHING | REGIONAL else 403


def expect_signed(actor: str, role: str, signer: str) -> int:
    if role in EVERYTHING | REGIONAL:
        return 200  # the log in full
    return 200 if actor == signer else 403


def expect_subject(actor: str, role: str, place: str, owner: str, jurisdiction: str) -> int:
    if role == "admin":
        return 200
    if role in {"inspector"} | REGIONAL:
        return 200 if covered(place, jurisdiction) else 403
    return 200 if actor == owner else 403


def expect_listing(role: str, place: str, jurisdiction: str) -> int:
    if role == "admin" or role in OWN:  # OWN: the listing narrowed to their own subjects
        return 200
    return 200 if covered(place, jurisdiction) else 403


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("http-scopes")
    extra = [INSPECTOR, ("insp-640422", "inspector", "640422", "西吉县纪委监委"),
             ("insp-640402", "inspector", "640402", "原州区纪委监委"), ("fin-640402", "finance_bureau", "640402", "原州区财政局"),
             ("hr-640400", "hr_bureau", CITY, "固原市人力资源和社会保障局"),
             ("inst-640402-yz", "institution", "640402", "原州区职业技术学校")]  # fmt: skip
    make_ledger(cwd, [*ACTORS, *extra], example=EXAMPLE)
    assert cli(cwd, "import", "--sign", "-", stdin=json.dumps(SECOND_PAYMENT, ensure_ascii=False)).returncode == 0
    return cwd


@pytest.fixture(scope="module")
def client(ledger: Path) -> Iterator[httpx.Client]:
    with serving(ledger) as c:
        yield c


@pytest.fixture(scope="module")
def tokens(client: httpx.Client, ledger: Path) -> dict[str, dict[str, str]]:
    return {actor: sign_in(client, ledger / "keys", actor) for actor, _, _ in READERS}


@pytest.fixture(scope="module")
def facts(client: httpx.Client, tokens: dict[str, dict[str, str]]) -> dict[str, object]:
    """A leaf the institution signed, and the claim flag (the institution's claim, in 640422)."""
    admin = tokens["admin"]
    items = client.get("/v1/events", params={"limit": 1000}, headers=admin).json()["items"]
    signed = next(i["seq"] for i in items if json.loads(i["leaf"])["envelope"]["actor"] == "inst-640422-zj")
    flags = client.get("/v1/anomalies", headers=admin).json()
    claim = next(f for f in flags if f["subject"]["kind"] == "claim")
    assert claim["jurisdiction"] == "640422" and claim["subject"]["id"] == "C-2019-640422-0001"
    return {"signed": signed, "flag": claim["id"]}


@pytest.mark.parametrize(("actor", "role", "place"), READERS, ids=[r[0] for r in READERS])
def test_the_log_and_consistency_proofs(client: httpx.Client, tokens: dict[str, dict[str, str]], actor: str, role: str,
                                        place: str) -> None:  # fmt: skip
    headers = tokens[actor]
    assert client.get("/v1/events", headers=headers).status_code == expect_log(role)
    assert client.get("/v1/proofs/consistency", params={"first": 1}, headers=headers).status_code == expect_log(role)


@pytest.mark.parametrize(("actor", "role", "place"), READERS, ids=[r[0] for r in READERS])
def test_an_event_and_its_inclusion_proof(client: httpx.Client, tokens: dict[str, dict[str, str]], facts: dict[str, object],
                                          actor: str, role: str, place: str) -> None:  # fmt: skip
    headers, seq = tokens[actor], facts["signed"]
    want = expect_signed(actor, role, "inst-640422-zj")
    assert client.get(f"/v1/events/{seq}", headers=headers).status_code == want
    assert client.get("/v1/proofs/inclusion", params={"seq": seq}, headers=headers).status_code == want
    assert client.get("/v1/events/99999999", headers=headers).status_code == 404  # unknown subject: 404 for all


@pytest.mark.parametrize(("actor", "role", "place"), READERS, ids=[r[0] for r in READERS])
def test_one_flag(client: httpx.Client, tokens: dict[str, dict[str, str]], facts: dict[str, object], actor: str, role: str,
                  place: str) -> None:  # fmt: skip
    headers = tokens[actor]
    got = client.get(f"/v1/anomalies/{facts['flag']}", headers=headers)
    assert got.status_code == expect_subject(actor, role, place, "inst-640422-zj", "640422"), got.text
    if got.status_code == 200:
        assert got.json()["flag"]["id"] == facts["flag"] and got.json()["evidence"]
    assert client.get("/v1/anomalies/A-unknown", headers=headers).status_code == 404


@pytest.mark.parametrize(("actor", "role", "place"), READERS, ids=[r[0] for r in READERS])
@pytest.mark.parametrize("jurisdiction", ["640422", "640402", CITY])
def test_flag_listings(client: httpx.Client, tokens: dict[str, dict[str, str]], facts: dict[str, object], actor: str,
                       role: str, place: str, jurisdiction: str) -> None:  # fmt: skip
    got = client.get("/v1/anomalies", params={"jurisdiction": jurisdiction}, headers=tokens[actor])
    assert got.status_code == expect_listing(role, place, jurisdiction), got.text
    if got.status_code == 200:
        ids = {f["id"] for f in got.json()}
        if jurisdiction != "640402":  # every flag of this ledger is in 640422
            sees = expect_subject(actor, role, place, "inst-640422-zj", "640422") == 200
            assert (facts["flag"] in ids) == sees
        for flag in got.json():  # nothing outside the token's scope slips into a listing
            assert role not in REGIONAL | {"inspector"} or covered(place, flag["jurisdiction"])


@pytest.mark.parametrize(("actor", "role", "place"), READERS, ids=[r[0] for r in READERS])
@pytest.mark.parametrize("jurisdiction", ["640422", "640402", CITY, None])
def test_balances(client: httpx.Client, tokens: dict[str, dict[str, str]], actor: str, role: str, place: str,
                  jurisdiction: str | None) -> None:  # fmt: skip
    params = {} if jurisdiction is None else {"jurisdiction": jurisdiction}
    got = client.get("/v1/balances", params=params, headers=tokens[actor])
    want = 200 if jurisdiction is None else expect_listing(role, place, jurisdiction)
    assert got.status_code == want, got.text
    if want != 200:
        return
    filters = got.json()["filters"]
    if role in OWN:  # "balances of the … claims … that are theirs"
        assert filters.get("institution") == actor
    elif jurisdiction is None:  # unnarrowed only for readers of everything
        assert filters.get("jurisdiction") == (None if role == "admin" or place == CITY else place)


@pytest.mark.parametrize(("actor", "role", "place"), READERS, ids=[r[0] for r in READERS])
def test_the_static_log(client: httpx.Client, tokens: dict[str, dict[str, str]], actor: str, role: str, place: str) -> None:
    """``/tlog/`` is "the log" of the table: its readers only (``serve --public-log`` aside)."""
    assert client.get("/tlog/checkpoint", headers=tokens[actor]).status_code == expect_log(role)


@pytest.mark.parametrize(("actor", "role", "place"), READERS, ids=[r[0] for r in READERS])
def test_evidence_of_a_claim(client: httpx.Client, tokens: dict[str, dict[str, str]], actor: str, role: str, place: str) -> None:
    """A claim's evidence as its trace: the institution's claim, in 640422."""
    got = client.get("/v1/evidence/claim/C-2019-640422-0001", headers=tokens[actor])
    assert got.status_code == expect_subject(actor, role, place, "inst-640422-zj", "640422"), got.text
    assert client.get("/v1/evidence/claim/C-unknown", headers=tokens[actor]).status_code == 404
