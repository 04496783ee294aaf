"""Personal data (DESIGN §7 is exact): fingerprints, commitments, and the encrypted vault.

Names, ID numbers, phones and bank accounts never enter the immutable log. The signing side
replaces them with keyed hashes (so duplicates are still detectable) and a salted commitment
(so a record shown later can be proven to be the one registered), and keeps the record itself
in ``pii_vault``, encrypted with AES-GCM. Erasure deletes the vault row; the log is untouched.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.encoding.canonical import canonical
from ledger.errors import InvalidField, OperationalError

LABORER_PII = ("name", "id_number", "phone", "bank_account")


def _hmac(pepper: bytes, message: str) -> str:
    return hmac.new(pepper, message.encode("utf-8"), hashlib.sha256).hexdigest()


def id_fingerprint(pepper: bytes, id_number: str) -> str:
    """hex(HMAC-SHA256(pepper, "id:" + ID number, upper-cased, spaces removed))."""
    return _hmac(pepper, "id:" + id_number.upper().replace(" ", ""))


def payee_account(pepper: bytes, account: str) -> str:
    """hex(HMAC-SHA256(pepper, "bank:" + account number, digits only))."""
    digits = "".join(ch for ch in account if ch.isdigit())
    if not digits:
        raise InvalidField("pii.bank_account: has no digits")
    return _hmac(pepper, "bank:" + digits)


def commitment_salt(pepper: bytes, laborer_id: str) -> str:
    """hex(HMAC-SHA256(pepper, "salt:" + laborer_id))[:32]: the same intent signs the same."""
    return _hmac(pepper, "salt:" + laborer_id)[:32]


def pii_commitment(record: dict[str, str], salt: str) -> str:
    """hex(SHA-256(JCS({"salt", "name" (NFC), "id_number", "phone", "bank_account"})))."""
    value = {
        "salt": salt,
        "name": unicodedata.normalize("NFC", record["name"]),
        "id_number": record["id_number"],
        "phone": record["phone"],
        "bank_account": record["bank_account"],
    }
    return hashlib.sha256(canonical(value)).hexdigest()


def check_laborer_pii(pii: object) -> dict[str, str]:
    if not isinstance(pii, dict):
        raise InvalidField("pii: must be an object")
    extra = set(pii) - set(LABORER_PII)
    if extra:
        raise InvalidField(f"pii.{sorted(extra)[0]}: not a personal-data field")
    for key in LABORER_PII:
        if key not in pii:
            raise InvalidField(f"pii.{key}: missing")
        if not isinstance(pii[key], str):  # a phone given as 13912345678 is a number, not text
            raise InvalidField(f"pii.{key}: must be a string, not {_json_type(pii[key])}")
        if not pii[key].strip():
            raise InvalidField(f"pii.{key}: empty")
    return {k: pii[k] for k in LABORER_PII}


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    return {dict: "an object", list: "an array", type(None): "null"}.get(type(value), type(value).__name__)


class Vault:
    """AES-GCM records keyed by labourer; the labourer id is bound as associated data."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise OperationalError("vault.key must be 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, laborer_id: str, record: dict[str, str]) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        plaintext = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
        return nonce, self._aead.encrypt(nonce, plaintext, laborer_id.encode())

    def open(self, laborer_id: str, nonce: bytes, ciphertext: bytes) -> dict[str, str]:
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, laborer_id.encode())
        except InvalidTag:
            raise OperationalError(f"vault record of {laborer_id} fails authentication") from None
        record: dict[str, str] = json.loads(plaintext)
        return record
