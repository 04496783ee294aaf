"""A signed log held in memory: a fake at the projections' port (``projections.ports.LogSource``).

It decides every envelope with the ledger's own :class:`~ledger.domain.decider.Decider`, on the
ledger's own aggregates, and stores the leaves as the ledger would (``leaf_bytes``), so what the
projections read is byte for byte what a database ledger holds — without a database, a Merkle
tree or checkpoints. A :class:`~ledger.service.Session` accepts it in place of a
:class:`~ledger.application.Ledger`, so scenarios sign with real keys from a real keystore.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from ledger.application import FUTURE_TOLERANCE, Item, Outcome, format_recorded_at, leaf_bytes, utc_now
from ledger.domain.aggregates import Actor, LedgerAggregate, subject_uuid
from ledger.domain.decider import Decider
from ledger.domain.envelope import Envelope, key_id_of
from ledger.domain.policy import GUYUAN, Jurisdictions
from ledger.encoding.b64 import b64decode_strict
from ledger.errors import FromTheFuture, NonceReused, Refused

A = TypeVar("A", bound=LedgerAggregate)


class MemoryLog:
    """The ledger's append and reads on lists and dicts; nothing survives the object."""

    def __init__(self, jurisdictions: Jurisdictions = GUYUAN):
        self.jurisdictions = jurisdictions
        self._leaves: list[tuple[int, str, bytes]] = []
        self._aggregates: dict[UUID, LedgerAggregate] = {}
        self._key_owners: dict[str, str] = {}
        self._nonces: dict[tuple[str, str], tuple[int, bytes]] = {}
        self._meta: dict[str, str] = {}

    # --- what the projections read (LogSource) ------------------------------------------------------
    def size(self) -> int:
        return len(self._leaves)

    def leaves(self, start: int = 0, stop: int | None = None, batch: int = 2000) -> Iterator[tuple[int, str, bytes]]:
        yield from self._leaves[start:stop]

    def leaf(self, seq: int) -> bytes | None:
        return self._leaves[seq][2] if 0 <= seq < len(self._leaves) else None

    # --- what a Session uses ------------------------------------------------------------------------
    def lookup(self, cls: type[A], ident: str) -> A:
        uid = subject_uuid(cls.KIND, ident)
        agg = self._aggregates.get(uid)
        if agg is None:
            agg = self._aggregates[uid] = cls.blank(uid, utc_now())
        assert isinstance(agg, cls)
        return agg

    def actor(self, actor_id: str) -> Actor | None:
        agg = self.lookup(Actor, actor_id)
        return agg if agg.exists else None

    def key_owner(self, key_id: str) -> str | None:
        return self._key_owners.get(key_id)

    def meta(self, name: str) -> str | None:
        return self._meta.get(name)

    def set_meta(self, name: str, value: str) -> None:
        self._meta[name] = value

    def sign_checkpoint(self, *_: Any, **__: Any) -> None:
        return None  # no tree, no checkpoint: the projections never read them

    def latest_checkpoint(self) -> None:
        return None

    def close(self) -> None:
        return None

    def append(self, items: Sequence[Item], now: dt.datetime | None = None, *, verified: object = None) -> list[Outcome]:
        """As ``Ledger.append`` decides: the same refusals, duplicates and leaves."""
        decider = Decider(self.lookup, self.key_owner, self.jurisdictions, lambda env, key: env.verify_with(key))
        moment = (now or utc_now()).astimezone(dt.UTC)
        recorded_at = format_recorded_at(moment)
        if self._leaves and self._leaves[-1][1] > recorded_at:
            recorded_at = self._leaves[-1][1]  # non-decreasing along seq (DESIGN §6)
        out: list[Outcome] = []
        for item in items:
            env = item.envelope
            if env is None:
                assert item.error is not None
                out.append(Outcome("refused", None, str(item.error), item.error.code))
                continue
            seq = len(self._leaves)
            try:
                if env.at > moment + FUTURE_TOLERANCE:
                    raise FromTheFuture(f"at {env.raw['at']} is more than five minutes ahead of the server clock")
                earlier = self._nonces.get((env.actor, env.nonce))
                if earlier is not None:
                    if earlier[1] == env.canonical_bytes:
                        out.append(Outcome("duplicate", earlier[0]))
                        continue
                    raise NonceReused(f"nonce {env.nonce!r} already used by {env.actor!r} at seq {earlier[0]}")
                subject = decider.decide(env, seq)
            except Refused as exc:
                out.append(Outcome("refused", None, str(exc), exc.code))
                continue
            subject.record(env, seq, recorded_at)
            self._record(env, seq, recorded_at)
            out.append(Outcome("accepted", seq))
        return out

    def _record(self, env: Envelope, seq: int, recorded_at: str) -> None:
        self._leaves.append((seq, recorded_at, leaf_bytes(seq, recorded_at, env)))
        self._nonces[(env.actor, env.nonce)] = (seq, env.canonical_bytes)
        if env.type in ("ActorRegistered", "KeyRotated"):
            body = env.raw["body"]
            assert isinstance(body, dict)
            self._key_owners[key_id_of(b64decode_strict(str(body["public_key"])))] = str(body["actor_id"])
