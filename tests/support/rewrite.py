"""The strongest insider of the trust-anchor tests: an operator who holds every key in its keystore.

It rewrites one leaf with a validly re-signed envelope, fixes the leaf hash, the domain event and
the Merkle tree, re-signs every later checkpoint with the operator key (dropping cosignatures it
cannot forge), and can also "fix" the keystore's own ``trusted.json`` and its leaf hashes. Direct
SQL through the ledger's own connection, as in ``tests/integration/test_attacks.py``.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from ledger.domain.envelope import sign_envelope
from ledger.encoding.b64 import b64encode
from ledger.encoding.canonical import canonical
from ledger.translog import merkle
from ledger.translog.note import Checkpoint, sign_note
from support.scenario import Scenario


def seq_of(sc: Scenario, type_: str, needle: str = "") -> int:
    for seq, _, leaf in sc.ledger.leaves():
        if f'"type":"{type_}"'.encode() in leaf and needle.encode() in leaf:
            return seq
    raise AssertionError(f"no {type_} {needle}")


def rebuild_tree(sc: Scenario) -> None:
    hashes = [bytes(r[0]) for r in sc.ledger.sql.all("SELECT leaf_hash FROM ledger_leaves ORDER BY seq")]
    nodes = merkle.CompactRange().extend(hashes)
    with sc.ledger.sql.cursor(commit=True) as cur:
        cur.execute("DELETE FROM ledger_tree")
        cur.executemany("INSERT INTO ledger_tree VALUES (?, ?, ?)", nodes)


def _set_event_envelope(sc: Scenario, seq: int, envelope: dict[str, Any]) -> None:
    oid_hex, version = sc.ledger.sql.one(
        "SELECT originator_id, originator_version FROM ledger_leaves WHERE seq = ?", (seq,)
    )  # type: ignore[misc]
    oid: Any = UUID(str(oid_hex)) if sc.ledger.sql.postgres else oid_hex
    table = sc.ledger.recorder.events_table_name
    (state,) = sc.ledger.sql.one(f"SELECT state FROM {table} WHERE originator_id = ? AND originator_version = ?",
                                 (oid, version))  # type: ignore[misc]  # fmt: skip
    decoded = json.loads(bytes(state))
    decoded["envelope"] = envelope
    sc.ledger.sql.execute(
        f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
        (json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode(), oid, version),
    )


def rewrite_leaf(sc: Scenario, seq: int, old: bytes, new: bytes) -> None:
    """Replace bytes ``old`` by ``new`` in leaf ``seq``'s body, re-signed by the same actor's key."""
    recorded_at, leaf = sc.ledger.sql.one("SELECT recorded_at, leaf FROM ledger_leaves WHERE seq = ?", (seq,))  # type: ignore[misc]
    envelope = json.loads(bytes(leaf))["envelope"]
    body = json.loads(json.dumps(envelope["body"]).encode().replace(old, new))
    assert body != envelope["body"], "nothing to rewrite"
    unsigned = {k: v for k, v in envelope.items() if k not in ("v", "key_id", "sig")}
    resigned = sign_envelope({**unsigned, "body": body}, sc.session.keys.actor_key(envelope["actor"]))
    forged = canonical({"seq": seq, "recorded_at": recorded_at, "envelope": resigned})
    sc.ledger.sql.execute("UPDATE ledger_leaves SET leaf = ?, leaf_hash = ? WHERE seq = ?",
                          (forged, merkle.leaf_hash(forged), seq))  # fmt: skip
    _set_event_envelope(sc, seq, resigned)
    rebuild_tree(sc)
    resign_checkpoints(sc, after=seq)


def resign_checkpoints(sc: Scenario, after: int) -> None:
    """Every checkpoint covering leaf ``after`` signed again by the operator over the new tree."""
    origin, key = sc.session.keys.origin, sc.session.keys.operator_key()
    for c in sc.ledger.checkpoints():
        if c.size <= after:
            continue
        root = sc.ledger.root(c.size)
        note = sign_note(Checkpoint(origin, c.size, root).body(), origin, key)
        sc.ledger.sql.execute("UPDATE ledger_checkpoints SET note = ?, root_hash = ? WHERE size = ? AND signed_at = ?",
                              (note, root, c.size, c.signed_at))  # fmt: skip


def edit_trusted_json(sc: Scenario) -> None:
    """The operator also "fixes" the anchor in its own keystore (and the leaf hashes beside it)."""
    keys = sc.session.keys.root
    state = json.loads((keys / "trusted.json").read_text())
    size = state["size"]
    state["root"] = b64encode(sc.ledger.root(size))
    state.pop("checkpoint", None)
    (keys / "trusted.json").write_text(json.dumps(state))
    hashes = [bytes(r[0]) for r in sc.ledger.sql.all("SELECT leaf_hash FROM ledger_leaves WHERE seq < ? ORDER BY seq", (size,))]
    (keys / "trusted.leaves").write_bytes(b"".join(hashes))


def truncate(sc: Scenario, k: int) -> None:
    """Cut the log back to ``k`` leaves with everything that would betray it (events, keys, checkpoints, tree)."""
    table = sc.ledger.recorder.events_table_name
    versions = sc.ledger.sql.all("SELECT originator_id, originator_version FROM ledger_leaves WHERE seq >= ?", (k,))
    with sc.ledger.sql.cursor(commit=True) as cur:
        for oid, version in versions:
            cur.execute(f"DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?",
                        (UUID(str(oid)) if sc.ledger.sql.postgres else oid, version))  # fmt: skip
        cur.execute("DELETE FROM ledger_leaves WHERE seq >= ?", (k,))
        cur.execute("DELETE FROM ledger_keys WHERE seq >= ?", (k,))
        cur.execute("DELETE FROM ledger_checkpoints WHERE size > ?", (k,))
    rebuild_tree(sc)
