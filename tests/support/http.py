"""``serve`` as a user runs it: a real ``python -m api serve`` process, and a client that signs
its own envelopes and sign-in challenges with keys from a keystore folder (never sent)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ledger.domain.envelope import sign_envelope
from ledger.encoding.b64 import b64decode_strict, b64encode
from ledger.encoding.canonical import JSONObject
from ledger.keys.keystore import Keystore

PROBLEM = "application/problem+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(cwd: Path, *args: str, env: dict[str, str] | None = None, options: tuple[str, ...] = ()) -> Iterator[httpx.Client]:
    """``serve`` in ``cwd`` (its ledger.db and keys/, or ``--db`` in ``args``; ``serve``'s own
    ``options``) until the block ends; SIGTERM then, and the server must stop cleanly without a traceback."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api", *args, "serve", *options, "--port", str(port)], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "LEDGER_CHECKPOINT_INTERVAL": "0", **(env or {})},
        )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 120  # two workers on a loaded 2-core machine took over 30 s to start
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        text = stop_server(proc, log)
    assert "Application shutdown complete" in text, text


def stop_server(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> str:
    """SIGTERM, then the server must stop cleanly without a traceback; its log's text.

    uvicorn finishes the requests in flight, runs the shutdown (the last checkpoint), then
    re-raises the signal, as a process ended by it reports.
    """
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert proc.returncode in (0, -signal.SIGTERM), text
    return text


def sign_in(client: httpx.Client, keys: Path, actor_id: str) -> dict[str, str]:
    """The bearer header of ``actor_id``, signed in with its key from the keystore ``keys``."""
    store = Keystore(keys)
    got = client.post("/v1/auth/challenge", json={"actor_id": actor_id})
    assert got.status_code == 200, got.text
    challenge = got.json()["challenge"]
    assert len(b64decode_strict(challenge)) == 32
    message = f"subsidy-ledger/auth/v1\n{store.origin}\n{actor_id}\n{challenge}".encode()
    signature = b64encode(store.actor_key(actor_id).sign(message))
    token = client.post("/v1/auth/token", json={"actor_id": actor_id, "challenge": challenge, "signature": signature})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def envelope(keys: Path, actor: str, event_type: str, body: JSONObject, *, nonce: str,
             at: str = "2019-06-10T10:00:00+08:00") -> JSONObject:  # fmt: skip
    """A signed envelope, signed here with ``actor``'s key (as an office does on its own machine)."""
    unsigned: JSONObject = {"type": event_type, "actor": actor, "at": at, "nonce": nonce, "body": body}
    return sign_envelope(unsigned, Keystore(keys).actor_key(actor))


def assert_problem(response: httpx.Response, status: int, code: str, reason: str | None = None) -> dict[str, object]:
    """An RFC 9457 problem of API.md: its status, type and (for a refused envelope) reason."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    doc: dict[str, object] = response.json()
    assert doc["type"] == f"urn:subsidy-ledger:problem:{code}", doc
    assert doc["status"] == status and isinstance(doc["title"], str) and isinstance(doc["detail"], str), doc
    assert "Traceback" not in response.text
    if reason is not None:
        assert doc["reason"] == reason, doc
    return doc
