"""The keystore folder (``--keys DIR``, default ``./keys``).

Layout (all created by ``init``; private files are mode 0600):

- ``actors/<actor_id>.pem`` — an actor's current Ed25519 private key (PKCS#8 PEM), for
  one-machine use; in production each organisation keeps its own and only the public key is
  registered (``actor add --public-key``). Rotated keys move to ``actors/retired/``.
- ``operator.pem`` / ``operator.pub`` — the log operator's checkpoint key and its C2SP
  verifier key; ``origin`` — the checkpoint origin line.
- ``pepper`` — the ledger's secret for fingerprints (DESIGN §7); ``vault.key`` — the AES-GCM
  key of the personal-data vault. Both stay with the ledger service — the operator's keystore —
  and are never given to offices: an office keystore holds only ``actors/<id>.pem``. Nothing
  reads them until personal data is handled (:attr:`Keystore.pepper`, :attr:`Keystore.vault_key`).
- ``trusted.json`` and ``trusted.leaves`` — the largest checkpoint ``verify`` has verified and
  the leaf hashes under it (trust anchor, DESIGN §6). Written only by ``verify
  --trust-first-use`` or when it already exists; ``verify --anchor FILE`` keeps them outside
  this keystore instead, which is what protects against the operator itself.
- ``cosigned/<actor_id>.json`` — the last checkpoint that actor cosigned (also an anchor).
- ``operator-retired.pub`` and ``retired/`` — operator keys replaced by a dual-signed
  checkpoint (``checkpoint rotate-operator``).

An office's keystore holds ``actors/<its id>.pem`` alone: it signs intents without personal
data, and leaves checkpoints and fingerprints to the operator (DESIGN §7).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from ledger.encoding.canonical import JSONObject
from ledger.errors import OperationalError


def read_json(path: Path) -> object:
    """The JSON value a state file holds (``cosigned/<actor>.json``, a trust anchor); a file that
    cannot be read or is not JSON is an :class:`OperationalError` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise OperationalError(f"{path} is unreadable") from None


def write_json(path: Path, value: JSONObject) -> None:
    """Write a state file atomically: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def write_private(path: Path, data: bytes) -> None:
    """Write a secret readable by its owner alone (mode 0600), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())


def load_private_pem(data: bytes, what: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise OperationalError(f"{what} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise OperationalError(f"{what} is not an Ed25519 key")
    return key


class Keystore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    # --- existence -------------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        """The operator's keystore (``init`` made it); an office keystore is not one."""
        return (self.root / "operator.pem").exists()

    @property
    def holds_pepper(self) -> bool:
        return (self.root / "pepper").exists()

    def require(self) -> None:
        if not self.initialised:
            raise OperationalError(
                f"no keystore at {self.root}/ (run `subsidy-ledger init` or pass --keys DIR)"
            )

    # --- actor keys ----------------------------------------------------------------------------
    def actor_path(self, actor_id: str) -> Path:
        return self.root / "actors" / f"{actor_id}.pem"

    def has_actor_key(self, actor_id: str) -> bool:
        return self.actor_path(actor_id).exists()

    def actor_key(self, actor_id: str) -> Ed25519PrivateKey:
        path = self.actor_path(actor_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise OperationalError(
                f"no private key for actor {actor_id!r} in {self.root}/actors/"
            ) from None
        return load_private_pem(data, str(path))

    def save_actor_key(self, actor_id: str, key: Ed25519PrivateKey) -> None:
        path = self.actor_path(actor_id)
        if path.exists():
            retired = self.root / "actors" / "retired"
            retired.mkdir(parents=True, exist_ok=True)
            path.rename(retired / f"{actor_id}.{time.time_ns()}.pem")
        write_private(path, private_pem(key))

    # --- operator, pepper, vault ---------------------------------------------------------------
    def create(self, origin: str) -> Ed25519PrivateKey:
        """Create the operator key, pepper and vault key; refuse to overwrite a keystore."""
        if self.initialised or self.holds_pepper:
            raise OperationalError(f"a keystore already exists at {self.root}/")
        operator = Ed25519PrivateKey.generate()
        write_private(self.root / "operator.pem", private_pem(operator))
        (self.root / "origin").write_text(origin + "\n", encoding="utf-8")
        write_private(self.root / "pepper", secrets.token_hex(32).encode())
        write_private(self.root / "vault.key", secrets.token_hex(32).encode())
        from ledger.domain.envelope import public_key_bytes
        from ledger.translog.note import format_verifier_key

        (self.root / "operator.pub").write_text(
            format_verifier_key(origin, public_key_bytes(operator)) + "\n", encoding="utf-8"
        )
        return operator

    @property
    def origin(self) -> str:
        return (self.root / "origin").read_text(encoding="utf-8").strip()

    def operator_key(self) -> Ed25519PrivateKey:
        self.require()
        return load_private_pem((self.root / "operator.pem").read_bytes(), "operator.pem")

    def operator_verifier(self) -> str:
        self.require()
        return (self.root / "operator.pub").read_text(encoding="utf-8").strip()

    def _hex_secret(self, name: str) -> bytes:
        try:
            return bytes.fromhex((self.root / name).read_text().strip())
        except (ValueError, FileNotFoundError):
            raise OperationalError(f"{self.root}/{name} is missing or not hex") from None

    @property
    def pepper(self) -> bytes:
        """The fingerprint secret (DESIGN §7), read when personal data is handled and only then.

        Only the ledger service reads it (``tests/unit/test_pepper_readers.py`` holds the list).
        """
        return self._hex_secret("pepper")

    @property
    def vault_key(self) -> bytes:
        return self._hex_secret("vault.key")

    # --- small JSON state files ------------------------------------------------------------------
    def read_state(self, name: str) -> JSONObject | None:
        path = self.root / name
        if not path.exists():
            return None
        value = read_json(path)
        return value if isinstance(value, dict) else None

    def write_state(self, name: str, value: JSONObject) -> None:
        write_json(self.root / name, value)
