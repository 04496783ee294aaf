"""What one application instance holds: its settings, one open session, the sign-in state.

Built by :func:`api.http.app.create_app` and kept on ``app.state``; nothing lives at module level.
The ledger's session caches aggregates and the log head, so the routes that touch it take
:attr:`Server.lock` (one writer per process, as the CLI; PostgreSQL workers still append
concurrently through the ledger's optimistic append).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from fastapi import Request

from api.http.metrics import Metrics
from api.http.settings import Settings
from ledger.service import Session


@dataclass
class Challenges:
    """Issued sign-in challenges: single use, valid ``ttl`` seconds (API.md). Kept in this process."""

    ttl: int
    _open: dict[str, tuple[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, actor_id: str, now: float) -> tuple[str, float]:
        from ledger.encoding.b64 import b64encode

        challenge = b64encode(secrets.token_bytes(32))
        expires = now + self.ttl
        with self._lock:
            for old in [c for c, (_, exp) in self._open.items() if exp <= now]:
                del self._open[old]
            self._open[challenge] = (actor_id, expires)
        return challenge, expires

    def take(self, challenge: str, actor_id: str, now: float) -> bool:
        """Whether ``challenge`` was issued to ``actor_id`` and is still valid; it is used up either way."""
        with self._lock:
            found = self._open.pop(challenge, None)
        return found is not None and found[0] == actor_id and found[1] > now


@dataclass
class Server:
    settings: Settings
    session: Session
    origin: str
    metrics: Metrics
    token_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    lock: threading.Lock = field(default_factory=threading.Lock)
    challenges: Challenges = field(init=False)

    def __post_init__(self) -> None:
        self.challenges = Challenges(self.settings.challenge_ttl)


def server(request: Request) -> Server:
    """The dependency every route takes: this application's :class:`Server`."""
    found = request.app.state.server
    assert isinstance(found, Server)
    return found
