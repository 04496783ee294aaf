"""What one application instance holds: its settings, one open session, the sign-in state.

Built by :func:`api.http.app.create_app` and kept on ``app.state``; nothing lives at module level.
The ledger's session caches aggregates and the log head, so the routes that touch it take
:attr:`Server.lock` (one writer per process, as the CLI; PostgreSQL workers still append
concurrently through the ledger's optimistic append).

Sign-in state is shared by every worker of one ledger: the token secret is derived from the
operator key in the keystore (each worker derives the same one; an operator key change ends every
token), and on PostgreSQL the open challenges are rows of ``api_auth_challenges`` in the ledger's
database, each used up by one atomic delete whichever worker redeems it. SQLite has one worker;
its challenges stay in the process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi import Request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from api.http.metrics import Metrics
from api.http.prepared import PreparedIntents, UsedAccesses
from api.http.settings import Settings
from ledger.encoding.b64 import b64encode
from ledger.service import Session

TOKEN_SECRET_LABEL = b"subsidy-ledger/token-secret/v1\n"


class Challenges(Protocol):
    """Issued sign-in challenges: single use, valid ``ttl`` seconds (API.md)."""

    def issue(self, actor_id: str, now: float) -> tuple[str, float]: ...

    def take(self, challenge: str, actor_id: str, now: float) -> bool:
        """Whether ``challenge`` was issued to ``actor_id`` and is still valid; it is used up either way."""
        ...


def _new_challenge() -> str:
    return b64encode(secrets.token_bytes(32))


@dataclass
class MemoryChallenges:
    """Challenges kept in this process (SQLite: one worker)."""

    ttl: int
    _open: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, actor_id: str, now: float) -> tuple[str, float]:
        challenge, expires = _new_challenge(), now + self.ttl
        with self._lock:
            for old in [c for c, (_, exp) in self._open.items() if exp <= now]:
                del self._open[old]
            self._open[challenge] = (actor_id, expires)
        return challenge, expires

    def take(self, challenge: str, actor_id: str, now: float) -> bool:
        with self._lock:
            found = self._open.pop(challenge, None)
        return found is not None and found[0] == actor_id and found[1] > now


class SharedChallenges:
    """Challenges as rows in the ledger's PostgreSQL database, seen by every worker."""

    def __init__(self, engine: Engine, ttl: int):
        self.engine, self.ttl = engine, ttl
        meta = sa.MetaData()
        self.table = sa.Table(
            "api_auth_challenges", meta,
            sa.Column("challenge", sa.String(64), primary_key=True),
            sa.Column("actor_id", sa.Text, nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False),
        )  # fmt: skip
        try:
            meta.create_all(engine, checkfirst=True)
        except DBAPIError:  # another worker created it at the same moment
            meta.create_all(engine, checkfirst=True)

    def issue(self, actor_id: str, now: float) -> tuple[str, float]:
        challenge, expires = _new_challenge(), now + self.ttl
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.expires_at <= now))
            conn.execute(t.insert().values(challenge=challenge, actor_id=actor_id, expires_at=expires))
        return challenge, expires

    def take(self, challenge: str, actor_id: str, now: float) -> bool:
        t = self.table
        with self.engine.begin() as conn:
            row = conn.execute(
                t.delete().where(t.c.challenge == challenge).returning(t.c.actor_id, t.c.expires_at)
            ).first()  # fmt: skip
        return row is not None and row[0] == actor_id and float(row[1]) > now


def token_secret_for(session: Session) -> bytes:
    """The HMAC key of this ledger's tokens: derived from the operator key, so every worker has it;
    random (tokens of this process only) where the keystore holds no operator key."""
    if not session.keys.initialised:
        return secrets.token_bytes(32)
    raw = session.keys.operator_key().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return hmac.new(raw, TOKEN_SECRET_LABEL + session.keys.origin.encode(), hashlib.sha256).digest()


def challenges_for(settings: Settings, session: Session) -> Challenges:
    if settings.db_url.startswith("postgresql"):
        from projections.db import engine_for

        return SharedChallenges(engine_for(session.ledger), settings.challenge_ttl)
    return MemoryChallenges(settings.challenge_ttl)


@dataclass
class Server:
    settings: Settings
    session: Session
    origin: str
    metrics: Metrics
    token_secret: bytes = field(init=False)
    lock: threading.Lock = field(default_factory=threading.Lock)
    challenges: Challenges = field(init=False)
    prepared: PreparedIntents = field(init=False)
    accesses: UsedAccesses = field(init=False)

    def __post_init__(self) -> None:
        from projections.db import engine_for

        self.token_secret = token_secret_for(self.session)
        self.challenges = challenges_for(self.settings, self.session)
        self.prepared = PreparedIntents(engine_for(self.session.ledger), self.settings.prepare_quota)
        self.accesses = UsedAccesses(engine_for(self.session.ledger))


async def server(request: Request) -> Server:
    """The dependency every route takes: this application's :class:`Server`. A coroutine, so
    FastAPI answers it on the event loop: a plain function would cost every request a hop to
    the thread pool and back (a tenth of a single submit's server time in issue 13's profile)."""
    found = request.app.state.server
    assert isinstance(found, Server)
    return found
