"""The key registry as it stood at each leaf (DESIGN §6 "Keys"), rebuilt by ``verify`` from the leaves."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledger.domain.envelope import key_id_of
from ledger.encoding.b64 import b64encode
from ledger.translog.verify import KeyNotValidAt, RegistryInvalidAt
from ledger.translog.verify.leaves import Fact
from ledger.translog.verify.registry import Registry

ADMIN = bytes(range(32))
POV = bytes(range(1, 33))
POV2 = bytes(range(2, 34))
B64 = {k: b64encode(k) for k in (ADMIN, POV, POV2)}


def fact(seq: int, type_: str, actor: str, key: bytes, at: str = "2026-11-28T10:00:00+08:00",
         body: dict[str, Any] | None = None) -> Fact:  # fmt: skip
    return Fact(seq, "2026-11-28T02:00:00.000000Z", dt.datetime.fromisoformat(at), type_, actor,
                 key_id_of(key), True, body, b"\0" * 32, None)  # fmt: skip


def registered() -> Registry:
    reg = Registry()
    genesis = fact(0, "ActorRegistered", "admin", ADMIN,
                   body={"actor_id": "admin", "role": "admin", "public_key": B64[ADMIN]})  # fmt: skip
    assert reg.signing_key(genesis) == ADMIN
    reg.apply(genesis)
    pov = fact(1, "ActorRegistered", "admin", ADMIN,
               body={"actor_id": "pov", "role": "poverty_office", "public_key": B64[POV]})  # fmt: skip
    reg.signing_key(pov)
    reg.apply(pov)
    return reg


def test_leaf_zero_must_be_the_self_signed_first_admin() -> None:
    reg = Registry()
    not_admin = fact(0, "ActorRegistered", "pov", POV, body={"actor_id": "pov", "role": "poverty_office",
                                                              "public_key": B64[POV]})  # fmt: skip
    with pytest.raises(KeyNotValidAt):
        reg.signing_key(not_admin)
    other_key = fact(0, "ActorRegistered", "admin", POV, body={"actor_id": "admin", "role": "admin",
                                                                "public_key": B64[ADMIN]})  # fmt: skip
    with pytest.raises(KeyNotValidAt):
        reg.signing_key(other_key)


def test_unknown_actor_or_key_and_disallowed_role_are_named() -> None:
    reg = registered()
    with pytest.raises(KeyNotValidAt, match="not registered"):
        reg.signing_key(fact(2, "IdentityConfirmed", "ghost", POV))
    with pytest.raises(KeyNotValidAt, match="not a key"):
        reg.signing_key(fact(2, "IdentityConfirmed", "pov", POV2))
    with pytest.raises(KeyNotValidAt, match="may not sign"):
        reg.signing_key(fact(2, "PaymentDisbursed", "pov", POV))
    assert reg.signing_key(fact(2, "IdentityConfirmed", "pov", POV)) == POV


def test_a_rotated_key_signs_nothing_after_the_rotation_leaf() -> None:
    reg = registered()
    rotation = fact(5, "KeyRotated", "admin", ADMIN, at="2026-11-28T12:00:00+08:00",
                    body={"actor_id": "pov", "public_key": B64[POV2]})  # fmt: skip
    reg.apply(rotation)
    with pytest.raises(KeyNotValidAt, match="rotated or revoked"):
        reg.signing_key(fact(6, "IdentityConfirmed", "pov", POV, at="2026-11-28T11:00:00+08:00"))
    assert reg.signing_key(fact(6, "IdentityConfirmed", "pov", POV2)) == POV2
    assert reg.key_rows[key_id_of(POV2)] == ("pov", 5)


def test_a_revocation_effective_in_the_past_does_not_reach_back_to_earlier_leaves() -> None:
    reg = registered()
    # Leaf 3 is judged before the revocation at leaf 4 exists in the registry: valid.
    assert reg.signing_key(fact(3, "IdentityConfirmed", "pov", POV, at="2026-11-28T09:00:00+08:00")) == POV
    reg.apply(fact(4, "KeyRevoked", "admin", ADMIN, body={
        "actor_id": "pov", "key_id": key_id_of(POV), "effective_at": "2026-01-01T00:00:00+08:00"}))  # fmt: skip
    with pytest.raises(KeyNotValidAt):
        reg.signing_key(fact(5, "IdentityConfirmed", "pov", POV, at="2025-12-01T00:00:00+08:00"))


def test_registry_leaves_the_ledger_would_refuse_are_named() -> None:
    reg = registered()
    with pytest.raises(RegistryInvalidAt):
        reg.apply(fact(2, "ActorRegistered", "admin", ADMIN,
                       body={"actor_id": "pov", "role": "poverty_office", "public_key": B64[POV2]}))  # fmt: skip
    with pytest.raises(RegistryInvalidAt):
        reg.apply(fact(2, "KeyRevoked", "admin", ADMIN, body={
            "actor_id": "pov", "key_id": key_id_of(POV2), "effective_at": "2026-01-01T00:00:00+08:00"}))  # fmt: skip


def test_an_actor_rotates_its_own_key_only_with_its_current_key() -> None:
    reg = registered()
    own = fact(2, "KeyRotated", "pov", POV, body={"actor_id": "pov", "public_key": B64[POV2]})
    assert reg.signing_key(own) == POV
    reg.apply(own)
    again = fact(3, "KeyRotated", "pov", POV, body={"actor_id": "pov", "public_key": B64[ADMIN]})
    with pytest.raises(KeyNotValidAt):
        reg.signing_key(again)
