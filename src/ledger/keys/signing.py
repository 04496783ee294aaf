"""From an input line to an :class:`~ledger.application.Item`: parse, or sign an intent.

An unsigned intent ``{"actor", "type", "at", "body", "nonce"?, "officer"?, "pii"?}`` is signed
with the actor's key from the keystore (DESIGN §9). Personal data in ``pii`` is replaced by its
fingerprint, commitment or payee hash and sealed for the vault (DESIGN §7); it never reaches
the signed envelope. Only that step needs the pepper, and only the ledger service holds it: the
signer asks for it when an intent carries ``pii`` and not before, so an office keystore (its
actors' keys alone) signs every other intent, and an intent with ``pii`` signed there is
refused with a pointer to the service's ``POST /v1/intents/prepare``. Without a nonce the
intent gets hex(SHA-256(JCS(intent without pii)))[:32], so importing the same file twice records
nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.application import Item
from ledger.domain.envelope import INTENT_KEYS, Envelope, sign_envelope
from ledger.encoding.canonical import JSONObject, canonical, check_value, loads_strict
from ledger.errors import (
    InvalidField,
    InvalidJSON,
    LedgerError,
    OperationalError,
    PersonalDataNeedsService,
    Refused,
    UnknownKey,
)
from ledger.keys import vault as p

KeyLoader = Callable[[str], Ed25519PrivateKey]
SecretLoader = Callable[[], bytes]


def intent_nonce(intent: JSONObject) -> str:
    return hashlib.sha256(canonical({k: v for k, v in intent.items() if k != "pii"})).hexdigest()[:32]


class IntentSigner:
    """Signs intents for actors whose keys this keystore holds.

    ``pepper`` and ``vault_key`` load the ledger service's secrets (DESIGN §7); they are called
    the first time an intent carries ``pii``, never otherwise. Without them (an office's
    keystore) such an intent is refused: :class:`PersonalDataNeedsService`.
    """

    def __init__(self, key_loader: KeyLoader, pepper: SecretLoader | None = None,
                 vault_key: SecretLoader | None = None):  # fmt: skip
        self.key_loader = key_loader
        self._pepper_loader = pepper
        self._vault_key_loader = vault_key
        self._secrets: tuple[bytes, p.Vault | None] | None = None
        self._keys: dict[str, Ed25519PrivateKey] = {}

    def _service_secrets(self) -> tuple[bytes, p.Vault | None]:
        """The pepper and the vault, read once, on the first intent that carries ``pii``."""
        if self._secrets is None:
            if self._pepper_loader is None:
                raise _needs_service()
            pepper = self._pepper_loader()
            vault = p.Vault(self._vault_key_loader()) if self._vault_key_loader is not None else None
            self._secrets = (pepper, vault)
        return self._secrets

    def _key(self, actor: str) -> Ed25519PrivateKey:
        if actor not in self._keys:
            try:
                self._keys[actor] = self.key_loader(actor)
            except OperationalError as exc:
                raise UnknownKey(f"cannot sign for {actor!r}: {exc}") from None
        return self._keys[actor]

    def sign(self, intent: JSONObject) -> Item:
        unsigned, vault = self.prepare(intent)
        envelope = sign_envelope(unsigned, self._key(str(intent["actor"])))
        return Item(Envelope.from_dict(envelope), vault=vault)

    def prepare(self, intent: JSONObject) -> tuple[JSONObject, tuple[str, bytes, bytes] | None]:
        """The intent as it is to be signed — ``pii`` replaced by its fingerprint, commitment or
        payee hash, the nonce derived if it had none — and the sealed vault record, if any. The
        service does this alone for an office (``POST /v1/intents/prepare``), which then signs."""
        extra = set(intent) - INTENT_KEYS
        if extra:
            raise InvalidField(f"{sorted(extra)[0]}: not an intent field")
        for key in ("actor", "type", "at", "body"):
            if key not in intent:
                raise InvalidField(f"{key}: missing")
        check_value(intent)
        body = intent["body"]
        if not isinstance(body, dict):
            raise InvalidField("body: must be a JSON object")
        if not isinstance(intent["actor"], str):
            raise InvalidField("actor: must be a string")
        body = dict(body)
        vault: tuple[str, bytes, bytes] | None = None
        if "pii" in intent:
            body, vault = self._personal_data(intent["type"], body, intent["pii"], intent["actor"])
        unsigned = {k: v for k, v in intent.items() if k not in ("pii", "body")}
        unsigned["body"] = body
        if "nonce" not in unsigned:
            unsigned["nonce"] = intent_nonce(intent)
        return unsigned, vault

    def _personal_data(
        self, event_type: str, body: JSONObject, pii: object, actor: str
    ) -> tuple[JSONObject, tuple[str, bytes, bytes] | None]:
        if event_type in ("LaborerRegistered", "LaborerCorrected"):  # a correction may carry the whole record anew
            record = p.check_laborer_pii(pii)
            laborer_id = body.get("laborer_id")
            if not isinstance(laborer_id, str):
                raise InvalidField("body.laborer_id: missing")
            pepper, vault = self._service_secrets()
            body["id_fingerprint"] = p.id_fingerprint(pepper, record["id_number"])
            body["pii_commitment"] = p.pii_commitment(record, p.commitment_salt(pepper, laborer_id))
            sealed = None
            if vault is not None:
                nonce, ciphertext = vault.seal(laborer_id, record)
                sealed = (laborer_id, nonce, ciphertext)
            return body, sealed
        if event_type in ("SubsidyClaimed", "PaymentDisbursed"):
            if not isinstance(pii, dict) or set(pii) != {"bank_account"} or not isinstance(
                pii["bank_account"], str
            ):
                raise InvalidField("pii: must be {\"bank_account\": \"…\"} on " + event_type)
            pepper, _ = self._service_secrets()
            body["payee_account"] = p.payee_account(pepper, pii["bank_account"])
            return body, None
        raise InvalidField(f"pii: not accepted on {event_type}")


def _needs_service() -> PersonalDataNeedsService:
    """One line: personal data is prepared by the ledger service, which alone holds the pepper."""
    return PersonalDataNeedsService(
        "personal data must be prepared by the ledger service (POST /v1/intents/prepare):"
        " this keystore holds no pepper to compute fingerprints (personal_data_needs_service)",
        zh="个人信息须由账本服务准备（POST /v1/intents/prepare）：本密钥库不持有 pepper，不能计算指纹"
        "（personal_data_needs_service）",
    )


def parse_line(text: str, signer: IntentSigner | None) -> Item:
    """One JSON line → an Item; a refusal is carried in the Item, never raised."""
    try:
        obj = loads_strict(text)
        if not isinstance(obj, dict):
            raise InvalidJSON("a line must be a JSON object")
        if "sig" in obj:
            return Item(Envelope.from_dict(obj, parsed=True))
        if signer is None:
            raise InvalidField("sig: missing (an unsigned intent needs --sign)")
        return signer.sign(obj)
    except Refused as exc:
        return Item(error=exc)
    except LedgerError:
        raise
