"""Prepared intents (API.md ``POST /v1/intents/prepare``, DESIGN §7): personal data waiting for its envelope.

The service fills an office's intent — ``id_fingerprint`` and ``pii_commitment``, or
``payee_account`` — and keeps the sealed vault record here, *pending*, until the envelope the
office signs from it is accepted: the write path finds the row by the envelope's actor and nonce
(the prepared intent carries its nonce), checks that the body holds exactly what was filled, and
appends the vault record with the envelope, in its transaction (:meth:`PreparedIntents.attach`).
A pending row expires after 24 h, its sealed record erased then; a pending ``laborer_id`` is
refused to every other actor; each actor has a daily quota (Asia/Shanghai days).

Rows live in ``api_prepared_intents`` in the ledger's database, so every worker sees them. A row
is *settled* once a leaf with its actor and nonce is in the log; ``/metrics`` counts the pending
ones and those that expired without ever becoming an envelope (:meth:`PreparedIntents.settle`).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ledger.encoding.canonical import JSONObject
from ledger.persistence import queries

if TYPE_CHECKING:
    from ledger.application import Item, Ledger

FILLED: dict[str, tuple[str, ...]] = {
    "LaborerRegistered": ("id_fingerprint", "pii_commitment"),
    "LaborerCorrected": ("id_fingerprint", "pii_commitment"),
    "SubsidyClaimed": ("payee_account",),
    "PaymentDisbursed": ("payee_account",),
}
"""The intent types the service prepares, and the body fields it fills for each."""
SEALED = ("LaborerRegistered", "LaborerCorrected")  # the types whose personal data goes to the vault

TTL = 24 * 3600  # seconds a prepared vault record waits for its envelope
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def today(now: float) -> str:
    """The quota's day: the date in Asia/Shanghai."""
    return dt.datetime.fromtimestamp(now, SHANGHAI).date().isoformat()


def seconds_to_midnight(now: float) -> int:
    """Until the quota starts again (Asia/Shanghai midnight)."""
    moment = dt.datetime.fromtimestamp(now, SHANGHAI)
    midnight = dt.datetime.combine(moment.date() + dt.timedelta(days=1), dt.time(), SHANGHAI)
    return max(int((midnight - moment).total_seconds()) + 1, 1)


@dataclass(frozen=True)
class Prepared:
    """One prepared intent: who will sign it, under which nonce, what was filled and sealed."""

    actor_id: str
    nonce: str
    type: str
    laborer_id: str | None
    filled: dict[str, str]
    expires_at: float
    sealed: tuple[bytes, bytes] | None  # (AES-GCM nonce, ciphertext) of the vault record


class QuotaExceeded(Exception):
    """The actor prepared its daily quota already."""


class PreparedIntents:
    """The pending rows, in the ledger's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, quota: int, ttl: int = TTL):
        self.engine, self.quota, self.ttl = engine, quota, ttl
        meta = sa.MetaData()
        self.table = sa.Table(
            "api_prepared_intents", meta,
            sa.Column("actor_id", sa.Text, primary_key=True),
            sa.Column("nonce", sa.Text, primary_key=True),
            sa.Column("type", sa.Text, nullable=False),
            sa.Column("laborer_id", sa.Text, nullable=True, index=True),
            sa.Column("filled", sa.Text, nullable=False),
            sa.Column("day", sa.Text, nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False),
            sa.Column("vault_nonce", sa.LargeBinary, nullable=True),
            sa.Column("ciphertext", sa.LargeBinary, nullable=True),
            sa.Column("used_seq", sa.BigInteger, nullable=True),
            sa.Index("api_prepared_intents_day", "actor_id", "day"),
        )  # fmt: skip
        try:
            meta.create_all(engine, checkfirst=True)
        except DBAPIError:  # another worker created it at the same moment
            meta.create_all(engine, checkfirst=True)

    def put(self, prepared: Prepared, now: float) -> None:
        """Keep ``prepared`` (again, if this actor prepared the same intent before: that counts
        once); :class:`QuotaExceeded` when the actor has used its day's quota."""
        t, day = self.table, today(now)
        key = (t.c.actor_id == prepared.actor_id) & (t.c.nonce == prepared.nonce)
        with self.engine.begin() as conn:
            again = conn.execute(sa.select(t.c.day).where(key)).first()
            if again is None or again[0] != day:
                used = conn.execute(sa.select(sa.func.count()).select_from(t)
                                    .where((t.c.actor_id == prepared.actor_id) & (t.c.day == day))).scalar_one()  # fmt: skip
                if used >= self.quota:
                    raise QuotaExceeded(prepared.actor_id)
            conn.execute(t.delete().where(key))
            nonce, ciphertext = prepared.sealed if prepared.sealed is not None else (None, None)
            conn.execute(t.insert().values(
                actor_id=prepared.actor_id, nonce=prepared.nonce, type=prepared.type, laborer_id=prepared.laborer_id,
                filled=json.dumps(prepared.filled, sort_keys=True), day=day, expires_at=prepared.expires_at,
                vault_nonce=nonce, ciphertext=ciphertext,
            ))  # fmt: skip

    def pending_by_other(self, laborer_id: str, actor_id: str, now: float) -> str | None:
        """Another actor whose prepared intent for ``laborer_id`` is still pending, if any."""
        t = self.table
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.actor_id).where(
                (t.c.laborer_id == laborer_id) & (t.c.actor_id != actor_id) & (t.c.expires_at > now)
                & t.c.used_seq.is_(None)).limit(1)).first()  # fmt: skip
        return None if row is None else str(row[0])

    def attach(self, item: Item, now: float | None = None) -> None:
        """Give ``item`` the vault record prepared for it: an envelope of a prepared type whose actor
        and nonce name a pending row, and whose body holds exactly what the service filled."""
        env = item.envelope
        if env is None or item.vault is not None or env.type not in SEALED:
            return
        t, moment = self.table, time.time() if now is None else now
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.type, t.c.laborer_id, t.c.filled, t.c.vault_nonce, t.c.ciphertext).where(
                (t.c.actor_id == env.actor) & (t.c.nonce == env.nonce) & (t.c.expires_at > moment)
                & t.c.used_seq.is_(None))).first()  # fmt: skip
        if row is None or row[0] != env.type or row[3] is None:
            return
        body = env.raw["body"]
        if not isinstance(body, dict) or body.get("laborer_id") != row[1]:
            return
        if any(body.get(k) != v for k, v in json.loads(row[2]).items()):
            return
        item.vault = (str(row[1]), bytes(row[3]), bytes(row[4]))

    def settle(self, ledger: Ledger, now: float) -> tuple[int, int]:
        """Mark the rows whose envelope is in the log, erase the sealed records of expired rows;
        ``(pending, expired without an envelope)``."""
        t = self.table
        with self.engine.begin() as conn:
            open_rows = conn.execute(sa.select(t.c.actor_id, t.c.nonce).where(t.c.used_seq.is_(None))).all()
            by_actor: dict[str, list[str]] = {}
            for actor, nonce in open_rows:
                by_actor.setdefault(str(actor), []).append(str(nonce))
            for actor, nonces in by_actor.items():
                for start in range(0, len(nonces), 500):
                    for found in queries.leaves_by_nonce(ledger.sql, actor, nonces[start : start + 500]):
                        conn.execute(t.update().where((t.c.actor_id == actor) & (t.c.nonce == found.nonce))
                                     .values(used_seq=found.seq, vault_nonce=None, ciphertext=None))  # fmt: skip
            conn.execute(t.update().where((t.c.expires_at <= now) & t.c.ciphertext.is_not(None))
                         .values(vault_nonce=None, ciphertext=None))  # fmt: skip
            unsettled = t.c.used_seq.is_(None)
            pending = conn.execute(sa.select(sa.func.count()).select_from(t).where(unsettled & (t.c.expires_at > now))).scalar_one()
            unused = conn.execute(sa.select(sa.func.count()).select_from(t).where(unsettled & (t.c.expires_at <= now))).scalar_one()
        return int(pending), int(unused)


def prepared_from(unsigned: JSONObject, sealed: tuple[str, bytes, bytes] | None, now: float, ttl: int = TTL) -> Prepared:
    """The row of an intent the service has just filled (``IntentSigner.prepare``)."""
    body = unsigned["body"]
    assert isinstance(body, dict)
    event_type = str(unsigned["type"])
    laborer = body.get("laborer_id") if event_type.startswith("Laborer") else None
    filled = {k: str(body[k]) for k in FILLED[event_type] if k in body}
    return Prepared(str(unsigned["actor"]), str(unsigned["nonce"]), event_type, laborer if isinstance(laborer, str) else None,
                    filled, now + ttl, None if sealed is None else (sealed[1], sealed[2]))  # fmt: skip


class UsedAccesses:
    """The ``PersonalDataAccessed`` leaves a personal-data read has used (each at most once, in every worker)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        meta = sa.MetaData()
        self.table = sa.Table(
            "api_pii_reads", meta,
            sa.Column("access_seq", sa.BigInteger, primary_key=True, autoincrement=False),
            sa.Column("read_at", sa.Float, nullable=False),
        )  # fmt: skip
        try:
            meta.create_all(engine, checkfirst=True)
        except DBAPIError:  # another worker created it at the same moment
            meta.create_all(engine, checkfirst=True)

    def use(self, access_seq: int, now: float) -> bool:
        """Whether ``access_seq`` was unused; it is used from now on either way."""
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(access_seq=access_seq, read_at=now))
        except sa.exc.IntegrityError:
            return False
        return True
