"""证据包 (``export evidence``): the leaves a trace of one subject needs (DESIGN §6, §12).

Which leaves is the trace's business (``projections.trace``), which the ledger may not import: the
caller passes ``seqs_under``, the function giving the sorted seqs — the trace's leaves plus every
registry leaf (``ActorRegistered``, ``KeyRotated``, ``KeyRevoked``) on the chain from leaf 0 to
each key that signed them — below the size of the checkpoint the export stands on. This module
writes them with their inclusion proofs, each proof checked before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ledger import Progress
from ledger.encoding.b64 import b64encode
from ledger.errors import VerificationFailed
from ledger.persistence import queries
from ledger.translog import merkle
from ledger.translog.export.bundle import (
    ENTRIES,
    PROOFS,
    Exported,
    prepare,
    standing_checkpoint,
    usable,
    write_common,
)
from ledger.translog.proofs import inclusion_proof

if TYPE_CHECKING:
    from ledger.application import Ledger
    from ledger.service import Session


REGISTRY = frozenset({"ActorRegistered", "KeyRotated", "KeyRevoked"})


def export_evidence(
    session: Session, kind: str, ident: str, directory: str | Path, seqs_under: Callable[[int], list[int]],
    progress: Progress | None = None,
) -> Exported:  # fmt: skip
    """The leaves ``seqs_under(size)`` names, with their inclusion proofs under the standing checkpoint."""
    ledger = session.ledger
    usable(directory)
    note, checkpoint, signed = standing_checkpoint(session)
    seqs = sorted(set(seqs_under(checkpoint.size)))
    if seqs and seqs[-1] >= checkpoint.size:
        raise VerificationFailed(f"leaf {seqs[-1]} is not under checkpoint {checkpoint.size}", seq=seqs[-1])
    path = prepare(directory)
    lines: list[str] = []
    with open(path / ENTRIES, "wb") as out:
        for seq, leaf in _leaves_by_seq(ledger, seqs):
            proof = inclusion_proof(ledger, seq, checkpoint.size)
            try:
                proof.verify(checkpoint.root_hash, leaf)
            except merkle.InclusionProofInvalid as exc:
                raise VerificationFailed(f"leaf {seq} is not in checkpoint {checkpoint.size}: {exc} (run verify)",
                                         seq=seq) from None  # fmt: skip
            out.write(leaf + b"\n")
            if progress is not None:
                progress(1)
            lines.append(f'"{seq}":' + json.dumps([b64encode(p) for p in proof.path], separators=(",", ":")))
    (path / PROOFS).write_text(
        '{"size":' + str(checkpoint.size) + ',"inclusion":{\n' + ",\n".join(lines) + "\n}}\n", encoding="utf-8"
    )
    example = _example(ledger, seqs)
    write_common(path, session, note, checkpoint, partial=True, example=example)
    return Exported(path, kind, ident, checkpoint.size, checkpoint.root_hash, len(seqs), signed,
                    None if example is None else example[0])  # fmt: skip


def _leaves_by_seq(ledger: Ledger, seqs: list[int]) -> Iterator[tuple[int, bytes]]:
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        rows = queries.leaves_by_seq(ledger.sql, chunk)
        if len(rows) != len(chunk):
            missing = sorted(set(chunk) - {r.seq for r in rows})[0]
            raise VerificationFailed(f"leaf {missing} is missing from the log (run verify)", seq=missing)
        yield from rows


def _example(ledger: Ledger, seqs: list[int]) -> tuple[int, int] | None:
    """(seq, line in entries.jsonl) of the first exported leaf that is not a registry leaf."""
    for line, seq in enumerate(seqs, start=1):
        leaf = ledger.leaf(seq) or b""
        if not any(f'"type":"{t}"'.encode() in leaf for t in REGISTRY):
            return seq, line
    return (seqs[0], 1) if seqs else None
