"""What one HTTP application serves: the ledger, the keystore and the limits (no module-level state).

``serve`` builds a :class:`Settings` from its options; uvicorn's worker processes rebuild it from
the environment (:meth:`Settings.from_env`), since a factory given by import string takes no
arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

ENV_DB, ENV_KEYS, ENV_PUBLIC_LOG, ENV_DEMO = "LEDGER_DB", "LEDGER_KEYS", "LEDGER_PUBLIC_LOG", "LEDGER_DEMO"
ENV_FOLLOW = "LEDGER_FOLLOW"


@dataclass(frozen=True)
class Settings:
    """``db_url`` and ``keys_dir`` as the CLI's ``--db`` and ``--keys``; ``origin`` the name signed into
    every sign-in message (API.md "Authentication"), by default the keystore's origin."""

    db_url: str
    keys_dir: str
    origin: str | None = None
    token_ttl: int = 900  # seconds (API.md: "expires_in": 900)
    challenge_ttl: int = 120  # seconds
    max_batch_lines: int = 1000
    max_body_bytes: int = 8 * 1024 * 1024
    checkpoint_interval: float = 1.0  # the operator signs at most once a second while writes arrive
    public_log: bool = False  # /tlog/ readable by anyone (serve --public-log), else by the log readers
    prepare_quota: int = 2000  # prepared intents per actor and day (POST /v1/intents/prepare)
    demo: bool = False  # serve --demo: one-click sign-in with the keystore's keys (a demo ledger, loopback only)
    follow: bool = True  # project and sign here; false in serve's workers, whose supervisor follows (api.http.background)

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            db_url=os.environ.get(ENV_DB, "sqlite:///ledger.db"),
            keys_dir=os.environ.get(ENV_KEYS, "./keys"),
            origin=os.environ.get("LEDGER_ORIGIN") or None,
            checkpoint_interval=float(os.environ.get("LEDGER_CHECKPOINT_INTERVAL", "1")),
            public_log=os.environ.get(ENV_PUBLIC_LOG) == "1",
            prepare_quota=int(os.environ.get("LEDGER_PREPARE_QUOTA", "2000")),
            demo=os.environ.get(ENV_DEMO) == "1",
            follow=os.environ.get(ENV_FOLLOW) != "0",
        )
