"""A request that names one checkpoint reads that checkpoint, never every checkpoint (DESIGN §8:
nothing serving one request reads the whole log; the operator signs one a second while writes
arrive, so the checkpoint table grows with the log). ``GET /v1/checkpoint?size=N``, a witness's
cosignature, a trace and a monthly report at a checkpoint are answered with the table's full read
made to fail; each still finds the checkpoint asked for, and names the nearest ones for a size
never signed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.http import Settings, create_app
from ledger.keys.keystore import Keystore
from ledger.persistence import queries
from ledger.persistence.store import SQL, StoredCheckpoint
from ledger.service import Session
from ledger.translog.note import add_signature, cosign, parse_note
from support.cli import make_ledger
from support.http import sign_in
from support.xiji import ACTORS, EXAMPLE, INSPECTOR


def _no_full_read(sql: SQL) -> list[StoredCheckpoint]:
    raise AssertionError("a request read every checkpoint")


def test_one_checkpoint_is_looked_up_not_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_ledger(tmp_path, [*ACTORS, INSPECTOR], example=EXAMPLE)  # each actor add and the import sign one
    keys = tmp_path / "keys"
    session = Session.open(f"sqlite:///{tmp_path / 'ledger.db'}", keys)
    try:
        sizes = sorted({c.size for c in session.ledger.checkpoints()})
    finally:
        session.close()
    assert len(sizes) >= 5
    older = sizes[-2]
    gap = next(n for n in range(sizes[0], sizes[-1]) if n not in sizes)
    monkeypatch.setattr(queries, "all_checkpoints", _no_full_read)
    with TestClient(create_app(Settings(f"sqlite:///{tmp_path / 'ledger.db'}", str(keys)))) as client:
        note = client.get("/v1/checkpoint", params={"size": older})
        assert note.status_code == 200 and note.text.split("\n")[1] == str(older), note.text
        missing = client.get("/v1/checkpoint", params={"size": gap})
        assert missing.status_code == 404 and f"size {gap}" in missing.json()["detail"]

        line = cosign(parse_note(note.text).text, "fin-640422", Keystore(keys).actor_key("fin-640422"), int(time.time()))
        attached = client.post("/v1/checkpoint/cosignatures", content=add_signature(note.text, line).encode(),
                               headers={"Content-Type": "text/plain"})  # fmt: skip
        assert attached.status_code == 201 and "— fin-640422 " in attached.text, attached.text

        inspector = sign_in(client, keys, INSPECTOR[0])
        traced = client.get("/v1/trace/class/CLS-2019-640422-0001", params={"checkpoint": sizes[-1]}, headers=inspector)
        assert traced.status_code == 200 and traced.json()["checkpoint"]["size"] == sizes[-1], traced.text
        report = client.get("/v1/reports/monthly", params={"month": "2019-06", "as_of": sizes[-1] - 1}, headers=inspector)
        assert report.status_code == 200 and report.json()["checkpoint"]["size"] == sizes[-1], report.text
        unsigned = client.get("/v1/reports/monthly", params={"month": "2019-06", "as_of": gap - 1}, headers=inspector)
        assert unsigned.status_code == 404, unsigned.text
        below, above = max(s for s in sizes if s < gap), min(s for s in sizes if s > gap)
        assert f"{below} and {above}" in unsigned.json()["detail"], unsigned.text
