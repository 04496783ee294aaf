"""``export log``: the whole log under a checkpoint signed now."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ledger import Progress
from ledger.errors import VerificationFailed
from ledger.translog import merkle
from ledger.translog.export.bundle import (
    ENTRIES,
    Exported,
    prepare,
    standing_checkpoint,
    usable,
    write_common,
)

if TYPE_CHECKING:
    from ledger.service import Session


def export_log(session: Session, directory: str | Path, progress: Progress | None = None) -> Exported:
    """The whole log under a checkpoint signed now; fails if the leaves do not hash to its root."""
    usable(directory)
    note, checkpoint, signed = standing_checkpoint(session)
    path = prepare(directory)
    frontier = merkle.CompactRange()
    expected = 0
    with open(path / ENTRIES, "wb") as out:
        for seq, _, leaf in session.ledger.leaves(0, checkpoint.size):
            if seq != expected:
                raise VerificationFailed(f"seq {expected} is missing from the log (run verify)", seq=expected)
            out.write(leaf + b"\n")
            frontier.append(merkle.leaf_hash(leaf))
            expected += 1
            if progress is not None and expected % 1000 == 0:
                progress(1000)
    if progress is not None:
        progress(expected % 1000)
    if expected != checkpoint.size or frontier.root() != checkpoint.root_hash:
        raise VerificationFailed(
            f"the log does not hash to checkpoint {checkpoint.size}'s root (run verify)", checkpoint=checkpoint.size
        )
    write_common(path, session, note, checkpoint, partial=False, example=(0, 1) if checkpoint.size else None)
    return Exported(path, "log", None, checkpoint.size, checkpoint.root_hash, expected, signed,
                    0 if checkpoint.size else None)  # fmt: skip
