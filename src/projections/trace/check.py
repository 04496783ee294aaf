"""Each traced leaf checked now (DESIGN §12): its signature, and its inclusion under a checkpoint.

* ``signature_ok``: the Ed25519 signature over the JCS of the envelope without ``sig`` (DESIGN §6),
  with the key its ``key_id`` names, as the key registry stood at that leaf — the registry rebuilt
  from the signers' own registry leaves (:class:`ledger.translog.verify.registry.Registry`, the
  one ``verify`` uses), so a key rotated or revoked before the leaf does not pass.
* ``included``: the RFC 9162 inclusion proof of the stored leaf bytes against the checkpoint's
  root. The paths share their upper nodes: all are fetched together and each range folded once.

A leaf that is not JSON any more, or whose key is unknown, is simply not ok: the trace reports,
``verify`` says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.encoding.b64 import b64decode_strict
from ledger.encoding.canonical import canonical, loads_trusted
from ledger.errors import LedgerError
from ledger.persistence import queries
from ledger.translog import merkle
from ledger.translog.verify.leaves import Fact, ed25519_ok
from ledger.translog.verify.registry import Registry

if TYPE_CHECKING:
    from ledger.application import Ledger

_ZERO = bytes(merkle.HASH_SIZE)


class Leaves:
    """Leaf bytes by seq, read once per trace in chunks (the gatherer and the checks share them)."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.raw: dict[int, bytes] = {}
        self._parsed: dict[int, dict[str, Any] | None] = {}

    def load(self, seqs: Iterable[int]) -> None:
        missing = sorted(set(seqs) - self.raw.keys())
        for start in range(0, len(missing), 500):
            for seq, leaf in queries.leaves_by_seq(self.ledger.sql, missing[start : start + 500]):
                self.raw[int(seq)] = bytes(leaf)

    def bodies(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        self.load(seqs)
        out: dict[int, dict[str, Any]] = {}
        for seq in seqs:
            envelope = self.envelope(seq)
            out[seq] = {} if envelope is None else envelope.get("body", {})
        return out

    def envelopes(self, seqs: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The envelopes of these leaves (a leaf that is not JSON any more: absent)."""
        self.load(seqs)
        return {seq: envelope for seq in seqs if (envelope := self.envelope(seq)) is not None}

    def envelope(self, seq: int) -> dict[str, Any] | None:
        if seq not in self._parsed:
            self._parsed[seq] = _envelope(self.raw.get(seq))
        return self._parsed[seq]


def _envelope(leaf: bytes | None) -> dict[str, Any] | None:
    if leaf is None:
        return None
    try:
        envelope = loads_trusted(leaf)["envelope"]
    except (ValueError, KeyError, TypeError):
        return None
    return envelope if isinstance(envelope, dict) else None


@dataclass(frozen=True)
class Checked:
    key_id: str | None
    signature_ok: bool
    included: bool


def check(leaves: Leaves, seqs: Sequence[int], registry: Sequence[int], size: int, root: bytes) -> dict[int, Checked]:
    """``seqs`` checked, in seq order with the ``registry`` leaves that rebuild their signers' keys."""
    leaves.load([*seqs, *registry])
    wanted, keys = set(seqs), Registry()
    out: dict[int, Checked] = {}
    for seq in sorted(wanted | set(registry)):
        envelope = leaves.envelope(seq)
        fact = _fact(seq, envelope)
        ok = fact is not None and envelope is not None and _signature_ok(keys, fact, envelope)
        if ok and fact is not None and fact.type in ("ActorRegistered", "KeyRotated", "KeyRevoked"):
            with suppress(LedgerError):  # an impossible registry leaf: what it would register signs nothing
                keys.apply(fact)  # only a registry leaf whose own signature holds changes the keys
        if seq in wanted:
            key_id = None if envelope is None else envelope.get("key_id")
            out[seq] = Checked(key_id if isinstance(key_id, str) else None, ok, False)
    included = _included(leaves, sorted(wanted), size, root)
    return {seq: Checked(c.key_id, c.signature_ok, seq in included) for seq, c in out.items()}


def _fact(seq: int, envelope: dict[str, Any] | None) -> Fact | None:
    """What the registry needs of a leaf (its body only for registry leaves), or None if unreadable."""
    if envelope is None:
        return None
    try:
        at = dt.datetime.fromisoformat(str(envelope["at"]).replace("Z", "+00:00"))
        type_ = str(envelope["type"])
        body = envelope["body"] if type_ in ("ActorRegistered", "KeyRotated", "KeyRevoked") else None
        return Fact(seq, "", at, type_, str(envelope["actor"]), str(envelope["key_id"]), None, body, _ZERO, None)
    except (KeyError, ValueError, TypeError):
        return None


def _signature_ok(keys: Registry, fact: Fact, envelope: dict[str, Any]) -> bool:
    try:
        public_key = keys.signing_key(fact)
        signature = b64decode_strict(envelope["sig"])
        signed = canonical({k: v for k, v in envelope.items() if k != "sig"})
    except (LedgerError, KeyError, TypeError, ValueError):
        return False
    return ed25519_ok(public_key, signature, signed)


def _included(leaves: Leaves, seqs: Sequence[int], size: int, root: bytes) -> set[int]:
    """The seqs whose stored leaf is proved in the tree of ``size`` leaves with ``root``."""
    wanted = [s for s in seqs if s < size and s in leaves.raw]
    try:
        paths = merkle.inclusion_proofs(wanted, size, lambda keys: _nodes(leaves.ledger, keys))
    except KeyError:  # a node is missing: prove leaf by leaf, so only the paths that need it fail
        paths = {}
        for seq in wanted:
            with suppress(KeyError):
                paths[seq] = merkle.inclusion_proof(seq, size, lambda keys: _nodes(leaves.ledger, keys))
    out: set[int] = set()
    for seq, path in paths.items():
        with suppress(LedgerError):
            merkle.verify_inclusion(merkle.leaf_hash(leaves.raw[seq]), seq, size, path, root)
            out.add(seq)
    return out


def _nodes(ledger: Ledger, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes among ``keys``, 400 to a query (a missing one is simply absent)."""
    found: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(keys), 400):
        found |= queries.tree_nodes(ledger.sql, keys[start : start + 400])
    return found
