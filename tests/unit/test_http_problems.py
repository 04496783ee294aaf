"""``api.http``'s error handling in process: nothing unexpected leaks its text, the ledger's
operational errors are 503 without the server's words, and every answer is a problem document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.http import Settings, create_app
from ledger.errors import OperationalError
from ledger.service import Session


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    folder = tmp_path_factory.mktemp("http-unit")
    url = f"sqlite:///{folder / 'ledger.db'}"
    session = Session.open(url, folder / "keys")
    session.init()
    session.close()
    app = create_app(Settings(url, str(folder / "keys")))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail /srv/ledger")

    @app.get("/down")
    def down() -> None:
        raise OperationalError("cannot open database postgresql://operator:pw@db/ledger")

    return app


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_an_unexpected_exception_is_a_503_problem_without_its_text(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    got = client.get("/boom")
    assert got.status_code == 503 and got.headers["content-type"].startswith("application/problem+json")
    assert got.json()["type"] == "urn:subsidy-ledger:problem:internal_error"
    assert "secret" not in got.text and "Traceback" not in got.text
    assert any("boom" in r.getMessage() for r in caplog.records)  # logged server side


def test_an_operational_error_is_503_without_the_servers_words(client: TestClient) -> None:
    got = client.get("/down")
    assert got.status_code == 503 and got.json()["type"] == "urn:subsidy-ledger:problem:operational_error"
    assert "pw@" not in got.text and "postgresql" not in got.text


def test_two_apps_share_no_state(app: FastAPI, client: TestClient, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    session = Session.open(url, tmp_path / "keys")
    session.init()
    session.close()
    with TestClient(create_app(Settings(url, str(tmp_path / "keys")))) as other:
        assert other.get("/healthz").json()["size"] == 1
        mine = client.post("/v1/auth/challenge", json={"actor_id": "admin"}).json()["challenge"]
        fake = other.post("/v1/auth/token", json={"actor_id": "admin", "challenge": mine, "signature": "AAAA"})
        assert fake.status_code == 401  # a challenge of one app means nothing to another
