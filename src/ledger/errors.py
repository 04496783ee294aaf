"""Every error the ledger raises, in one tree.

Verification raises, never returns a bool (STYLE.md habit 3). Each class carries a stable
machine-readable ``code`` so the CLI, the import report and (later) the HTTP API's
problem+json mapping can name the failure without parsing messages.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises; ``code`` is a stable machine-readable name.

    ``str(error)`` is the English message. The ledger chooses no language: where a message has a
    Chinese text, the raiser gives it as ``zh`` and the front end (``api.i18n``) picks one.
    """

    code = "ledger_error"

    def __init__(self, *args: object, zh: str | None = None) -> None:
        super().__init__(*args)
        self.zh = zh


class OperationalError(LedgerError):
    """The ledger could not do its work: unreadable file, unreachable database, bad keystore."""

    code = "operational_error"


class Refused(LedgerError):
    """An envelope the ledger will not record (EVENTS.md, "Refused"). Nothing was written."""

    code = "refused"


# --- malformed input -------------------------------------------------------------------
class Malformed(Refused):
    """Not the JSON of DESIGN §6, or not the fields EVENTS.md defines."""

    code = "malformed"


class InvalidJSON(Malformed):
    code = "invalid_json"


class UnknownEventType(Malformed):
    code = "unknown_type"


class InvalidField(Malformed):
    """A missing, extra or mistyped field, a bad id, negative money or hours."""

    code = "invalid_field"


class TotalMismatch(Malformed):
    """``total_fen`` is not the sum of the lines."""

    code = "total_mismatch"


class TooManyLines(Malformed):
    """A living-allowance claim with more than one line (each labourer is paid individually)."""

    code = "living_allowance_lines"


# --- attribution -----------------------------------------------------------------------
class SignatureInvalid(Refused):
    code = "bad_signature"


class UnknownActor(Refused):
    code = "unknown_actor"


class UnknownKey(Refused):
    code = "unknown_key"


class KeyNotActors(Refused):
    """``key_id`` names a key registered to another actor."""

    code = "key_not_actors"


class KeyNotValid(Refused):
    """The key was rotated or revoked before this envelope's ``at`` or log position."""

    code = "key_not_valid"


class RoleNotAllowed(Refused):
    code = "role_not_allowed"


class OutsideJurisdiction(Refused):
    code = "outside_jurisdiction"


class GenesisInvalid(Refused):
    """Leaf 0 must be the first admin's ``ActorRegistered``, signed by itself."""

    code = "genesis_invalid"


# --- replay ------------------------------------------------------------------------------
class NonceReused(Refused):
    """The actor already used this nonce for a different envelope."""

    code = "nonce_reused"


# --- references --------------------------------------------------------------------------
class UnknownReference(Refused):
    """A reference to a labourer, class, claim, fund, payment or employment that does not exist."""

    code = "unknown_reference"


class AlreadyExists(Refused):
    """An id that would create something that already exists."""

    code = "already_exists"


class FromTheFuture(Refused):
    """``at`` more than five minutes ahead of the server's wall clock."""

    code = "at_in_future"


class EnvelopeTooLarge(Malformed):
    """An envelope whose canonical JSON exceeds 60 KiB: its leaf would not fit a C2SP entry bundle."""

    code = "envelope_too_large"


class DateOutOfRange(Malformed):
    """A date, month or timestamp after 2099-12-31: not a date of this programme's world."""

    code = "date_out_of_range"


# --- personal data (DESIGN §7) -----------------------------------------------------------------
class PersonalDataInText(Refused):
    """An ID, mobile or card number written where no personal data belongs (EVENTS.md).

    The message names the field and the kind of number, never the number itself.
    """

    code = "personal_data_in_text"


class PersonalDataNeedsService(Refused):
    """An intent carries ``pii`` but this keystore holds no pepper: only the ledger service may
    fill fingerprints (DESIGN §7, ``POST /v1/intents/prepare``)."""

    code = "personal_data_needs_service"


class AlreadyErased(Refused):
    """``pii erase`` of a labourer whose personal data an earlier ``PersonalDataErased`` removed:
    reported, not recorded a second time."""

    code = "already_erased"

    def __init__(self, laborer_id: str, seq: int | None):
        self.laborer_id, self.seq = laborer_id, seq
        super().__init__(f"personal data of {laborer_id} was already erased (seq {seq})")


# --- import -----------------------------------------------------------------------------------
class ImportStopped(OperationalError):
    """A line could not be handled at all (not a refusal): the import stopped at it.

    Every line before it was appended and reported, and a checkpoint signed over them.
    ``line`` is its number; ``__cause__`` the error itself.
    """

    code = "import_stopped"

    def __init__(self, line: int, cause: BaseException):
        self.line = line
        self.internal = not isinstance(cause, LedgerError)
        detail = f"{type(cause).__name__}: {cause}" if self.internal else str(cause)
        super().__init__(f"line {line}: {detail.splitlines()[0] if detail else type(cause).__name__}")


# --- the tamper-evident log ----------------------------------------------------------------
class VerificationFailed(LedgerError):
    """The ledger is not intact; ``seq`` (or ``checkpoint``) names the first bad place."""

    code = "verification_failed"

    def __init__(self, message: str, *, seq: int | None = None, checkpoint: int | None = None):
        super().__init__(message)
        self.seq = seq
        self.checkpoint = checkpoint


class ConcurrentAppend(LedgerError):
    """Another writer appended first; the append is retried against the new head."""

    code = "concurrent_append"
