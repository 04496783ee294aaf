"""``verify --server`` (the monitor) checks each new leaf as the local ``verify`` does, not only the
Merkle root: a dishonest operator who rebuilds the tree and re-signs its checkpoints over a leaf
with a bad signature, a back-dated ``recorded_at``, an ``at`` from the future or a body EVENTS.md
refuses is caught, loudly, naming that leaf's seq; the monitor's state does not move past it.

The operator here holds every key (the tamper helpers of ``support.rewrite``); the server is a real
``serve`` process, the monitor an office folder with one finance bureau's key.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger.domain.envelope import sign_envelope
from ledger.encoding.canonical import canonical
from ledger.service import Session
from ledger.translog import merkle
from support.cli import cli, make_ledger
from support.http import serving
from support.rewrite import rebuild_tree, resign_checkpoints
from support.scenario import Scenario
from support.xiji import ACTORS

FIN = ACTORS[-1]  # fin-640422


def _fund(fund_id: str) -> str:
    body = {"fund_id": fund_id, "jurisdiction": "640422", "source": "central", "purpose": "training", "year": 2019,
            "amount_fen": 100000}  # fmt: skip
    return json.dumps({"actor": FIN[0], "type": "FundAllocated", "at": "2019-06-10T10:00:00+08:00", "body": body})


def _bad_signature(leaf: dict[str, Any], keys: Any) -> None:
    leaf["envelope"]["body"]["amount_fen"] = 9_900_000  # not signed again


def _back_dated(leaf: dict[str, Any], keys: Any) -> None:
    leaf["recorded_at"] = "2019-06-10T02:00:00.000000Z"  # before every leaf this ledger recorded


def _from_the_future(leaf: dict[str, Any], keys: Any) -> None:
    envelope = leaf["envelope"]
    unsigned = {k: v for k, v in envelope.items() if k not in ("v", "key_id", "sig")}
    leaf["envelope"] = sign_envelope({**unsigned, "at": "2099-01-01T00:00:00+08:00"}, keys.actor_key(envelope["actor"]))


def _refused_body(leaf: dict[str, Any], keys: Any) -> None:
    envelope = leaf["envelope"]
    unsigned = {k: v for k, v in envelope.items() if k not in ("v", "key_id", "sig")}
    body = {**envelope["body"], "amount_fen": -5}  # EVENTS.md: money is a non-negative integer of fen
    leaf["envelope"] = sign_envelope({**unsigned, "body": body}, keys.actor_key(envelope["actor"]))


def _tamper(ledger: Path, seq: int, edit: Callable[[dict[str, Any], Any], None]) -> None:
    """Rewrite leaf ``seq`` in the server's database, rebuild the tree, re-sign every later checkpoint."""
    sc = Scenario(Session.open(f"sqlite:///{ledger / 'ledger.db'}", ledger / "keys"))
    try:
        (leaf,) = sc.ledger.sql.one("SELECT leaf FROM ledger_leaves WHERE seq = ?", (seq,))  # type: ignore[misc]
        obj = json.loads(bytes(leaf))
        edit(obj, sc.session.keys)
        forged = canonical(obj)
        sc.ledger.sql.execute("UPDATE ledger_leaves SET leaf = ?, leaf_hash = ?, recorded_at = ? WHERE seq = ?",
                              (forged, merkle.leaf_hash(forged), obj["recorded_at"], seq))  # fmt: skip
        rebuild_tree(sc)
        resign_checkpoints(sc, after=seq)
    finally:
        sc.close()


@pytest.mark.parametrize(("edit", "code", "words"), [
    (_bad_signature, "signature_invalid", "signature does not verify"),
    (_back_dated, "leaf_tampered", "earlier than the leaf before it"),
    (_from_the_future, "leaf_tampered", "five minutes before the envelope's at"),
    (_refused_body, "leaf_tampered", "not a ledger leaf"),
])  # fmt: skip
def test_the_monitor_rechecks_each_new_leaf(tmp_path: Path, edit: Callable[[dict[str, Any], Any], None], code: str,
                                            words: str) -> None:  # fmt: skip
    (tmp_path / "op").mkdir()
    ledger = make_ledger(tmp_path / "op", [FIN])
    home = tmp_path / "monitor"
    (home / "keys" / "actors").mkdir(parents=True)
    shutil.copy(ledger / "keys" / "actors" / f"{FIN[0]}.pem", home / "keys" / "actors")
    key = (ledger / "keys" / "operator.pub").read_text().strip()

    def monitor(url: str, *args: str) -> tuple[int, str, str]:
        done = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "verify", "--operator-key", key, *args)
        return done.returncode, done.stdout, done.stderr

    with serving(ledger) as client:
        url = str(client.base_url)
        status, _, err = monitor(url)
        assert status == 0, err
        seen = int(client.get("/v1/checkpoint").text.split("\n")[1])
        for n in (1, 2):
            done = cli(home, "--server", url, "--keys", "keys", "--lang", "en", "submit", "-", stdin=_fund(f"F-MON-{n}"))
            assert done.returncode == 0, done.stderr
    _tamper(ledger, seen, edit)  # the first leaf the monitor has not seen yet
    with serving(ledger) as client:
        status, out, err = monitor(str(client.base_url), "--json")
    assert status == 1, (out, err)
    doc = json.loads(out)
    assert doc["intact"] is False and doc["seq"] == seen and doc["code"] == code, doc
    assert words in doc["reason"] and f"seq {seen}" in err, err
    state = json.loads(next((home / "keys" / "monitor").glob("*.json")).read_text())
    assert state["size"] == seen  # nothing past the bad leaf is remembered as verified
