"""Step 6, sequential part: the key registry as it stood at each leaf, rebuilt from the registry
leaves themselves (``ActorRegistered``, ``KeyRotated``, ``KeyRevoked``), so a revocation recorded
later never taints earlier leaves (DESIGN §6, "Keys"); after the pass, the key index
(``ledger_keys``) must be what those leaves say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ledger.domain.aggregates import KeyPeriod
from ledger.domain.envelope import key_id_of
from ledger.domain.policy import SIGNERS
from ledger.encoding.b64 import b64decode_strict
from ledger.errors import VerificationFailed
from ledger.persistence import queries
from ledger.translog.verify.errors import KeyIndexMismatch, KeyNotValidAt, RegistryInvalidAt
from ledger.translog.verify.leaves import Fact

if TYPE_CHECKING:
    from ledger.application import Ledger


@dataclass
class _ActorKeys:
    role: str
    keys: list[KeyPeriod]

    def key(self, key_id: str) -> KeyPeriod | None:
        for period in reversed(self.keys):
            if period.key_id == key_id:
                return period
        return None


class Registry:
    """Actors and their key periods, rebuilt from the registry leaves as the pass goes."""

    def __init__(self) -> None:
        self.actors: dict[str, _ActorKeys] = {}
        self.key_rows: dict[str, tuple[str, int]] = {}  # key_id -> (actor_id, seq): the key index

    def signing_key(self, fact: Fact) -> bytes:
        """The raw key that must have signed this leaf; raise if none was valid there."""
        seq = fact.seq
        if seq == 0:  # DESIGN §6: the genesis ActorRegistered of the first admin, signed by itself
            body = fact.body or {}
            if fact.type != "ActorRegistered" or body.get("role") != "admin" or body.get("actor_id") != fact.actor:
                raise KeyNotValidAt("leaf 0 is not the first admin's ActorRegistered, signed by itself", seq=0)
            raw = b64decode_strict(body["public_key"])
            if key_id_of(raw) != fact.key_id:
                raise KeyNotValidAt("leaf 0 is not signed by the key it registers", seq=0)
            return raw
        actor = self.actors.get(fact.actor)
        if actor is None:
            raise KeyNotValidAt(f"actor {fact.actor!r} was not registered before this leaf", seq=seq)
        period = actor.key(fact.key_id)
        if period is None:
            raise KeyNotValidAt(f"{fact.key_id} was not a key of {fact.actor!r} at this leaf", seq=seq)
        if not period.valid_at(seq, fact.at):
            raise KeyNotValidAt(
                f"{fact.key_id} of {fact.actor!r} was rotated or revoked (leaf {period.until_seq},"
                f" effective {period.until_at}) before this envelope", seq=seq,
            )  # fmt: skip
        allowed = SIGNERS.get(fact.type, frozenset())
        self_rotation = "*self*" in allowed and (fact.body or {}).get("actor_id") == fact.actor
        if actor.role not in allowed and not self_rotation:
            raise KeyNotValidAt(f"role {actor.role} may not sign {fact.type}", seq=seq)
        if fact.type == "KeyRotated" and actor.role != "admin":
            subject = self.actors.get(fact.actor)
            current = [p for p in subject.keys if p.until_seq is None] if subject else []
            if not current or current[0].key_id != fact.key_id:
                raise KeyNotValidAt("an actor rotates its own key only with its current key", seq=seq)
        return period.raw

    def apply(self, fact: Fact) -> None:
        """Mirror of :class:`ledger.domain.aggregates.Actor`'s handlers, leaf by leaf."""
        body = fact.body
        if body is None:
            return
        actor_id = body["actor_id"]
        subject = self.actors.get(actor_id)
        if fact.type == "ActorRegistered":
            if subject is not None:
                raise RegistryInvalidAt(f"actor {actor_id!r} is registered a second time", seq=fact.seq)
            subject = self.actors[actor_id] = _ActorKeys(body["role"], [])
            self._add_key(actor_id, subject, body["public_key"], fact.seq)
            return
        if subject is None:
            raise RegistryInvalidAt(f"{fact.type} names unknown actor {actor_id!r}", seq=fact.seq)
        if fact.type == "KeyRotated":
            for period in subject.keys:
                if period.until_seq is None:
                    period.until_seq, period.until_at = fact.seq, fact.at.isoformat()
            self._add_key(actor_id, subject, body["public_key"], fact.seq)
        else:  # KeyRevoked
            target = subject.key(body["key_id"])
            if target is None:
                raise RegistryInvalidAt(f"{body['key_id']} is not a key of {actor_id!r}", seq=fact.seq)
            if target.until_seq is None:
                target.until_seq, target.until_at = fact.seq, body["effective_at"]

    def _add_key(self, actor_id: str, subject: _ActorKeys, public_key: str, seq: int) -> None:
        key_id = key_id_of(b64decode_strict(public_key))
        subject.keys.append(KeyPeriod(key_id, public_key, seq))
        self.key_rows.setdefault(key_id, (actor_id, seq))

    def public_keys(self, actor_id: str) -> list[bytes]:
        actor = self.actors.get(actor_id)
        return [] if actor is None else [b64decode_strict(p.public_key) for p in actor.keys]


def key_index_mismatch(ledger: Ledger, registry: Registry, stop: int) -> VerificationFailed | None:
    found: dict[str, tuple[str, int]] = {}
    problems: list[KeyIndexMismatch] = []
    for key_id, actor_id, seq in queries.key_index(ledger.sql):
        found[key_id] = (actor_id, seq)
        if seq >= stop:
            continue  # registered while we verified: not part of the verified prefix
        expected = registry.key_rows.get(key_id)
        if expected != (actor_id, seq):
            where = seq if expected is None else expected[1]
            problems.append(KeyIndexMismatch(
                f"key index row {key_id} -> {actor_id} (seq {seq}) is not what the registry leaves say"
                + ("" if expected is None else f" ({expected[0]}, seq {expected[1]})"), seq=where,
            ))  # fmt: skip
    for key_id, (actor_id, seq) in registry.key_rows.items():
        if key_id not in found:
            problems.append(KeyIndexMismatch(f"key index has no row for {key_id} of {actor_id}", seq=seq))
    return min(problems, key=lambda p: p.seq or 0) if problems else None
