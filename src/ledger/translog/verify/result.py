"""What an intact verification covered, and the JSON of a failed one (``verify --json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ledger.encoding.b64 import b64encode
from ledger.encoding.canonical import JSONObject
from ledger.errors import VerificationFailed


@dataclass
class Intact:
    """What an intact verification covered."""

    size: int
    signatures: int = 0
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    latest_root: bytes | None = None
    latest_note: str | None = None
    trusted_size: int | None = None
    cosigners: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    workers: int = 0
    witnesses: list[str] = field(default_factory=list)  # witnesses whose cosignature the latest checkpoint carries
    cosigned_anchors: dict[str, int] = field(default_factory=dict)  # cosigner -> size of its saved checkpoint
    operator_key_changes: list[int] = field(default_factory=list)  # sizes of dual-signed checkpoints
    leaves_compared: int = 0  # leaves compared with the anchor's leaf hashes
    trust: JSONObject = field(default_factory=dict)  # filled by run_verify: see Trust.as_json
    leaf_hashes_file: Path | None = None  # the recorded leaf hashes up to latest_checkpoint, for the next anchor

    @property
    def uncovered(self) -> int:
        """Leaves not yet under a signed checkpoint: only the database vouches for them."""
        return self.size - (self.latest_checkpoint or 0)

    @property
    def events_per_second(self) -> float:
        return self.size / self.elapsed if self.elapsed > 0 else 0.0

    def as_json(self) -> JSONObject:
        return {
            "intact": True,
            "size": self.size,
            "first_bad_seq": None,
            "checkpoint": None,
            "reason": None,
            "code": None,
            "signatures": self.signatures,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "latest_root": None if self.latest_root is None else b64encode(self.latest_root),
            "uncovered": self.uncovered,
            "trusted_size": self.trusted_size,
            "cosigners": self.cosigners,
            "elapsed_s": round(self.elapsed, 3),
            "events_per_s": round(self.events_per_second, 1),
            "workers": self.workers,
            "witnesses": self.witnesses,
            "cosigned_anchors": self.cosigned_anchors,
            "operator_key_changes": self.operator_key_changes,
            "leaves_compared": self.leaves_compared,
            **self.trust,
        }


def failure_json(exc: VerificationFailed, size: int) -> JSONObject:
    return {
        "intact": False,
        "size": size,
        "first_bad_seq": exc.seq,
        "checkpoint": exc.checkpoint,
        "reason": str(exc),
        "code": exc.code,
    }
