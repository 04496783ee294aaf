"""What every export folder holds, and the checkpoint it stands on (DESIGN §6 "Exports")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import OperationalError
from ledger.translog.export.verify_md import verify_md
from ledger.translog.note import Checkpoint
from ledger.translog.verify import load_operator_verifiers, verify_checkpoint_note

if TYPE_CHECKING:
    from ledger.service import Session


ENTRIES, CHECKPOINT, OPERATOR, PROOFS, VERIFY = "entries.jsonl", "checkpoint", "operator.pub", "proofs.json", "VERIFY.md"


@dataclass(frozen=True)
class Exported:
    directory: Path
    kind: str  # "log" or one of KINDS
    subject: str | None
    size: int  # the checkpoint's tree size
    root: bytes
    leaves: int  # how many leaves entries.jsonl holds
    signed: bool  # a fresh checkpoint was signed for this export
    example_seq: int | None = None


def standing_checkpoint(session: Session) -> tuple[str, Checkpoint, bool]:
    """Sign a checkpoint over every leaf (operator keystore), else take the latest stored one."""
    signed = (session.keys.root / "operator.pem").exists()
    note = session.checkpoint() if signed else None
    if note is None:
        latest = session.ledger.latest_checkpoint()
        if latest is None:
            raise OperationalError("no checkpoint to export under, and no operator key here to sign one")
        note = latest.note
    checkpoint = verify_checkpoint_note(note, load_operator_verifiers(session.keys))
    return note, checkpoint, signed


def usable(directory: str | Path) -> Path:
    path = Path(directory)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise OperationalError(f"{path} exists and is not an empty folder")
    return path


def prepare(directory: str | Path) -> Path:
    path = usable(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OperationalError(f"cannot create {path}: {exc.strerror}") from None
    return path


def _operator_pub(session: Session) -> str:
    return (session.keys.root / "operator.pub").read_text(encoding="utf-8").strip() + "\n"


def write_common(path: Path, session: Session, note: str, checkpoint: Checkpoint, *, partial: bool,
                  example: tuple[int, int] | None) -> None:  # fmt: skip
    (path / CHECKPOINT).write_text(note, encoding="utf-8")
    operator = _operator_pub(session)
    (path / OPERATOR).write_text(operator, encoding="utf-8")
    (path / VERIFY).write_text(
        verify_md(checkpoint, operator.strip(), partial=partial, example=example), encoding="utf-8"
    )
