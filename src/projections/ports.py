"""What the projections need from the outside world, as protocols (cosmicpython's ports).

The runner reads the signed log and nothing else of the ledger: its size and its leaves in seq
order, one leaf for evidence, and the configured jurisdictions. :class:`ledger.application.Ledger`
satisfies :class:`LogSource` structurally — ``ledger`` never imports this package (STYLE.md
habit 1) — and a test's in-memory log can stand in for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

from ledger.domain.policy import Jurisdictions

if TYPE_CHECKING:
    from ledger.application import Ledger


class LogSource(Protocol):
    """The signed log as the projections read it (pulled, never pushed: LIMITS.md)."""

    jurisdictions: Jurisdictions

    def size(self) -> int:
        """The number of leaves (the next seq)."""
        ...

    def leaves(self, start: int = 0, stop: int | None = None, batch: int = 2000) -> Iterator[tuple[int, str, bytes]]:
        """``(seq, recorded_at, leaf bytes)`` from ``start`` to ``stop`` (exclusive), in seq order."""
        ...

    def leaf(self, seq: int) -> bytes | None:
        """One leaf's bytes, or None beyond the log."""
        ...


if TYPE_CHECKING:  # mypy proves the ledger's application is a LogSource, without a runtime import

    def _ledger_is_a_log_source(ledger: Ledger) -> LogSource:
        return ledger
