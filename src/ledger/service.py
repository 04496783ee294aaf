"""Operations a user runs, on an open ledger and keystore (used by the CLI and the tests).

Each operation signs what it records with the right actor's key and returns plain data; the CLI
only formats it. Keeping this out of ``cli.py`` lets tests drive the real paths without a shell.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeAlias

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ledger import Progress, bulk_collections
from ledger.application import Item, Ledger, Outcome, iter_chunks, utc_now
from ledger.domain.aggregates import Laborer
from ledger.domain.envelope import Envelope, public_key_bytes, sign_envelope
from ledger.encoding.b64 import Base64Invalid, b64decode_strict, b64encode
from ledger.encoding.canonical import JSONObject
from ledger.errors import (
    AlreadyErased,
    ImportStopped,
    InvalidField,
    OperationalError,
    PersonalDataNeedsService,
    Refused,
)
from ledger.keys.keystore import Keystore
from ledger.keys.signing import IntentSigner, parse_line
from ledger.keys.vault import Vault

_Pending: TypeAlias = tuple[list[tuple[int, str]], list[Item], list[Future[list[bytes]]]]
# (numbered lines, their parsed items, their signature checks under way)


class ActorSpec(Protocol):
    """An organisation a simulation needs registered."""

    @property
    def actor_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def jurisdiction(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def uscc(self) -> str | None: ...


class Simulation(Protocol):
    """What :meth:`Session.run_simulation` reads of a simulation: its actors and its intents."""

    @property
    def actors(self) -> Sequence[ActorSpec]: ...
    def intents(self) -> Iterable[Mapping[str, object]]: ...


DEFAULT_ORIGIN = "guyuan.subsidy-ledger"
DEFAULT_ADMIN_NAME = "固原市人力资源和社会保障局"


def now_at() -> str:
    """An envelope ``at`` for now, in Asia/Shanghai (business time zone)."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    return utc_now().astimezone(shanghai).isoformat(timespec="seconds")


@dataclass
class Session:
    """An open ledger with its keystore: what every command works on."""

    ledger: Ledger
    keys: Keystore
    checkpoint_interval: float = 1.0

    @classmethod
    def open(cls, db_url: str, keys_dir: str | Path) -> Session:
        return cls(Ledger.open(db_url), Keystore(keys_dir))

    def close(self) -> None:
        self.ledger.close()

    @property
    def admin_id(self) -> str:
        return self.ledger.meta("admin_id") or "admin"

    def signer(self) -> IntentSigner:
        """Signs intents with this keystore's actor keys. The pepper and vault key are handed over
        as loaders, read on the first intent carrying ``pii``, and only where this keystore is the
        ledger service's (it holds the pepper, DESIGN §7); an office's keystore gets neither."""
        if not self.keys.holds_pepper:
            return IntentSigner(self.keys.actor_key)
        keys = self.keys
        return IntentSigner(keys.actor_key, lambda: keys.pepper, lambda: keys.vault_key)

    def record(self, actor: str, event_type: str, body: JSONObject, *, at: str | None = None) -> Outcome:
        """Sign ``body`` as ``actor`` now and append it; a refusal is raised."""
        unsigned = {
            "type": event_type,
            "actor": actor,
            "at": at or now_at(),
            "nonce": "op-" + secrets.token_hex(12),
            "body": body,
        }
        envelope = Envelope.from_dict(sign_envelope(unsigned, self.keys.actor_key(actor)))
        outcome = self.ledger.append([Item(envelope)])[0]
        if outcome.status == "refused":
            raise _refusal(outcome)
        self.checkpoint_after_write(min_interval=self.checkpoint_interval)
        return outcome

    def checkpoint(self, *, min_interval: float = 0.0) -> str | None:
        return self.ledger.sign_checkpoint(
            self.keys.origin, self.keys.operator_key(), min_interval=min_interval
        )

    def checkpoint_after_write(self, *, min_interval: float = 0.0) -> str | None:
        """The checkpoint a write ends with — signed only where this keystore is the operator's.

        An office's keystore (its own actor key, no operator key) appends and leaves the
        checkpoint to the operator, whose next writing command signs it (:meth:`sign_missing_checkpoint`).
        """
        if not self.keys.initialised:
            return None
        return self.checkpoint(min_interval=min_interval)

    def sign_missing_checkpoint(self) -> int | None:
        """Sign a checkpoint over leaves a stopped command left uncovered; the size signed, or None.

        A command killed between its append and its checkpoint leaves accepted leaves that no
        checkpoint covers. The next writing command signs them first (only where this keystore is
        the operator's), so a witness or monitor never waits on a crash.
        """
        if not self.keys.initialised:
            return None
        size = self.ledger.size()
        latest = self.ledger.latest_checkpoint()
        if size == 0 or latest is not None and latest.size >= size:
            return None
        self.checkpoint()
        return size

    # --- init and actors -----------------------------------------------------------------------
    def init(self, admin_id: str = "admin", origin: str = DEFAULT_ORIGIN,
             admin_name: str = DEFAULT_ADMIN_NAME, jurisdiction: str = "640400") -> int:  # fmt: skip
        if self.ledger.size() > 0:
            raise OperationalError("this ledger already has a genesis leaf; refusing to init again")
        self.keys.create(origin)
        admin_key = Ed25519PrivateKey.generate()
        self.keys.save_actor_key(admin_id, admin_key)
        body = {
            "actor_id": admin_id,
            "name": admin_name,
            "role": "admin",
            "jurisdiction": jurisdiction,
            "public_key": b64encode(public_key_bytes(admin_key)),
        }
        self.record(admin_id, "ActorRegistered", body)
        self.ledger.set_meta("admin_id", admin_id)
        self.ledger.set_meta("origin", origin)
        self.checkpoint()
        return 0

    def add_actor(self, actor_id: str, role: str, jurisdiction: str, name: str,
                  public_key: bytes | None = None, uscc: str | None = None) -> Outcome:  # fmt: skip
        key: Ed25519PrivateKey | None = None
        if public_key is None:
            key = Ed25519PrivateKey.generate()
            public_key = public_key_bytes(key)
        body: JSONObject = {
            "actor_id": actor_id, "name": name, "role": role,
            "jurisdiction": jurisdiction, "public_key": b64encode(public_key),
        }  # fmt: skip
        if uscc:
            body["uscc"] = uscc
        outcome = self.record(self.admin_id, "ActorRegistered", body)
        if key is not None:
            self.keys.save_actor_key(actor_id, key)
        return outcome

    def rotate_actor(self, actor_id: str, public_key: bytes | None = None, by_self: bool = False) -> Outcome:
        key: Ed25519PrivateKey | None = None
        if public_key is None:
            key = Ed25519PrivateKey.generate()
            public_key = public_key_bytes(key)
        signer = actor_id if by_self else self.admin_id
        outcome = self.record(
            signer, "KeyRotated", {"actor_id": actor_id, "public_key": b64encode(public_key)}
        )
        if key is not None:
            self.keys.save_actor_key(actor_id, key)
        return outcome

    def revoke_actor(self, actor_id: str, reason: str, effective_at: str | None = None,
                     key_id: str | None = None) -> Outcome:  # fmt: skip
        actor = self.ledger.actor(actor_id)
        if actor is None:
            raise OperationalError(f"unknown actor {actor_id!r}")
        key_id = key_id or actor.current_key_id
        if key_id is None:
            raise OperationalError(f"actor {actor_id!r} has no active key")
        body = {"actor_id": actor_id, "key_id": key_id, "reason": reason,
                "effective_at": effective_at or now_at()}  # fmt: skip
        return self.record(self.admin_id, "KeyRevoked", body)

    # --- import ------------------------------------------------------------------------------------
    def import_lines(
        self,
        lines: Iterable[str],
        *,
        sign: bool,
        batch: int = 500,
        progress: Progress | None = None,
    ) -> Iterator[tuple[int, Outcome]]:
        """Yield ``(line number, outcome)`` for every non-blank line, streaming in batches.

        If a line cannot be handled at all (an operational or internal error, not a refusal),
        every line before it is still appended and yielded, a checkpoint is signed over what was
        appended, and :class:`ImportStopped` names the line (issue 12: such an error once left a
        batch of valid lines unreported and the log without a checkpoint).
        """
        with bulk_collections():
            yield from self._import_batches(lines, signer=self.signer() if sign else None, batch=batch,
                                            progress=progress)  # fmt: skip

    def _import_batches(
        self, lines: Iterable[str], *, signer: IntentSigner | None, batch: int, progress: Progress | None
    ) -> Iterator[tuple[int, Outcome]]:
        numbered = ((n, text) for n, text in enumerate(lines, start=1) if text.strip())
        pending: _Pending | None = None
        failed = True
        try:
            for chunk in iter_chunks(numbered, batch):
                # Parse this batch and start its signature checks on the other cores, then append
                # the previous batch: the maths overlaps the single-threaded work.
                items: list[Item] = []
                for n, text in chunk:
                    try:
                        items.append(self.parse(text, signer))
                    except Exception as exc:
                        if pending is not None:
                            yield from self._append_pending(pending, progress)
                            pending = None
                        if items:
                            before = chunk[: len(items)]
                            yield from self._append_pending((before, items, self.ledger.verify_async(items)), progress)
                        raise ImportStopped(n, exc) from exc
                started = (chunk, items, self.ledger.verify_async(items))
                if pending is not None:
                    yield from self._append_pending(pending, progress)
                pending = started
            if pending is not None:
                yield from self._append_pending(pending, progress)
            failed = False
        finally:
            # Sign over whatever was appended, even when stopped; a checkpoint that cannot be
            # signed then must not hide the error that stopped the import.
            try:
                self.checkpoint_after_write()
            except Exception:
                if not failed:
                    raise

    def _append_pending(
        self, pending: _Pending, progress: Progress | None
    ) -> Iterator[tuple[int, Outcome]]:
        chunk, items, verified = pending
        outcomes = self.ledger.append(items, verified=verified)
        for (n, _), outcome in zip(chunk, outcomes, strict=True):
            yield n, outcome
        if progress is not None:
            progress(len(chunk))

    def parse(self, text: str, signer: IntentSigner | None) -> Item:
        """One input line as the item to append (the service attaches prepared personal data here)."""
        return parse_line(text, signer)

    def submit(self, text: str) -> Outcome:
        signer = self.signer() if self.keys.root.is_dir() else None
        item = self.parse(text, signer)
        outcome = self.ledger.append([item])[0]
        if outcome.status == "accepted":
            self.checkpoint_after_write(min_interval=self.checkpoint_interval)
        return outcome

    # --- simulation ---------------------------------------------------------------------------------
    def run_simulation(self, sim: Simulation, *, batch: int = 1000,
                       progress: Progress | None = None) -> dict[str, int]:  # fmt: skip
        """Register the simulation's actors (those not yet registered), sign and import its intents.

        The simulator cannot know keys or bank-account hashes: a ``KeyRevoked`` intent names the
        actor in ``key_of`` and gets that actor's current key id here, just before signing.
        """
        for spec in sim.actors:
            if self.ledger.actor(spec.actor_id) is None:
                self.add_actor(spec.actor_id, spec.role, spec.jurisdiction, spec.name, None, spec.uscc)
        signer = self.signer()
        counts = {"accepted": 0, "duplicate": 0, "refused": 0}
        refusals: list[str] = []

        def items() -> Iterator[Item]:
            for raw in sim.intents():
                intent: JSONObject = dict(raw)  # shallow: the simulator's intent stays as it was
                if "key_of" in intent:
                    actor = self.ledger.actor(intent.pop("key_of"))
                    body = dict(intent["body"])
                    body["key_id"] = actor.current_key_id if actor else ""
                    intent["body"] = body
                try:
                    yield signer.sign(intent)
                except Refused as exc:
                    yield Item(error=exc)

        for chunk in iter_chunks(items(), batch):
            for outcome in self.ledger.append(chunk):
                counts[outcome.status] += 1
                if outcome.status == "refused" and len(refusals) < 5:
                    refusals.append(outcome.reason or "")
            if progress is not None:
                progress(len(chunk))
        self.checkpoint()
        counts["refusal_examples"] = refusals  # type: ignore[assignment]
        return counts

    # --- personal data --------------------------------------------------------------------------------
    def show_pii(self, laborer_id: str, as_actor: str, purpose: str) -> dict[str, str]:
        """Record the read (signed by ``as_actor``) first, then decrypt (DESIGN §7)."""
        self.record(as_actor, "PersonalDataAccessed", {"laborer_id": laborer_id, "purpose": purpose})
        return self.personal_data(laborer_id)

    def personal_data(self, laborer_id: str) -> dict[str, str]:
        """The vault record of ``laborer_id``, decrypted. Only after the read is in the log: the
        caller recorded (or checked) its ``PersonalDataAccessed`` first (DESIGN §7)."""
        row = self.ledger.vault_record(laborer_id)
        if row is None:
            laborer = self.ledger.lookup(Laborer, laborer_id)
            if laborer.erased:
                raise OperationalError(f"no personal data held for {laborer_id}: erased at seq {laborer.erased_seq}")
            # The log cannot say whether this registration sealed a record (it was signed with or
            # without pii), so say both possibilities rather than call a deletion an erasure.
            raise OperationalError(
                f"no personal data held for {laborer_id}, and the log holds no erasure of it: it was"
                " registered without personal data, or its record was deleted outside the ledger"
            )
        return Vault(self.keys.vault_key).open(laborer_id, row[1], row[2])

    def payee_account(self, account: str) -> str:
        """The ``payee_account`` of a raw account number (DESIGN §7), on the service's side."""
        from ledger.keys.vault import payee_account

        return payee_account(self.keys.pepper, account)

    def payee_fingerprints(self) -> Callable[[str], str | None]:
        """The ``payee_account`` of each account number of a bank statement, the pepper read once
        (DESIGN §10: statement accounts are fingerprinted where the pepper is held); None for one
        with no digits, which no payment can have been made to."""
        from ledger.keys.vault import payee_account

        if not self.keys.holds_pepper:
            raise PersonalDataNeedsService(
                "a statement's accounts are fingerprinted with the pepper, which only the ledger service"
                " holds (DESIGN §7): reconcile on the operator's machine",
                zh="对账单的账号须用只有账本服务持有的密钥（pepper）计算指纹（DESIGN §7）：请在运营方的机器上对账",
            )
        pepper = self.keys.pepper

        def fingerprint(account: str) -> str | None:
            try:
                return payee_account(pepper, account)
            except InvalidField:
                return None

        return fingerprint

    def erase_pii(self, laborer_id: str, as_actor: str, reason: str) -> Outcome:
        self.ledger.head()  # another writer may have erased it: drop stale aggregates first
        laborer = self.ledger.lookup(Laborer, laborer_id)
        if laborer.exists and laborer.erased and self.ledger.vault_record(laborer_id) is None:
            raise AlreadyErased(laborer_id, laborer.erased_seq)
        # The vault record goes in the transaction that records the erasure (Ledger.append).
        return self.record(as_actor, "PersonalDataErased", {"laborer_id": laborer_id, "reason": reason})


def _refusal(outcome: Outcome) -> Refused:
    error = Refused(outcome.reason or "refused", zh=outcome.reason_zh)
    error.code = outcome.code or "refused"
    return error


def read_public_key(path: str | Path) -> bytes:
    """A public key file: PEM SubjectPublicKeyInfo, or the base64 of the raw 32 bytes."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise OperationalError(f"cannot read {path}: {exc.strerror}") from None
    if b"BEGIN PUBLIC KEY" in data:
        try:
            key = load_pem_public_key(data)
        except ValueError:
            raise OperationalError(f"{path} is not a PEM public key") from None
        if not isinstance(key, Ed25519PublicKey):
            raise OperationalError(f"{path} is not an Ed25519 public key")
        return public_key_bytes(key)
    try:
        raw = b64decode_strict(data.decode("ascii").strip())
    except (Base64Invalid, UnicodeDecodeError):
        raise OperationalError(f"{path} is neither a PEM public key nor base64") from None
    if len(raw) != 32:
        raise OperationalError(f"{path} does not hold a 32-byte Ed25519 key")
    return raw

