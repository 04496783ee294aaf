"""Sign-in across the workers of one ledger: two applications on the same database and keystore
stand for two ``serve`` worker processes. A token either one issued is good on both; on
PostgreSQL a challenge issued by one is redeemed by the other, once."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.http import Settings, create_app
from ledger.encoding.b64 import b64encode
from ledger.keys.keystore import Keystore
from ledger.service import Session


def _signed(keys: Path, challenge: str) -> dict[str, str]:
    store = Keystore(keys)
    message = f"subsidy-ledger/auth/v1\n{store.origin}\nadmin\n{challenge}".encode()
    return {"actor_id": "admin", "challenge": challenge, "signature": b64encode(store.actor_key("admin").sign(message))}


def test_tokens_and_challenges_cross_workers(db_url: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    session = Session.open(db_url, keys)
    session.init()
    session.close()
    settings = Settings(db_url, str(keys))
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        shared = db_url.startswith("postgresql")
        challenge = one.post("/v1/auth/challenge", json={"actor_id": "admin"}).json()["challenge"]
        redeemer = two if shared else one
        token = redeemer.post("/v1/auth/token", json=_signed(keys, challenge))
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert one.get("/v1/events", headers=headers).status_code == 200
        assert two.get("/v1/events", headers=headers).status_code == 200
        again = one.post("/v1/auth/token", json=_signed(keys, challenge))
        assert again.status_code == 401  # single use, whichever worker redeemed it
