"""Step 7: every stored Merkle node equals the one recomputed from the leaf hashes (RFC 9162 §2.1.1),
and none lies beyond the log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.errors import VerificationFailed
from ledger.persistence import queries
from ledger.translog import merkle
from ledger.translog.verify.errors import TreeMismatch

if TYPE_CHECKING:
    from ledger.application import Ledger


def nodes_completed(ledger: Ledger, first: int, last: int) -> dict[tuple[int, int], bytes]:
    """Stored nodes above level 0 that become complete at leaves ``first..last``."""
    wanted: list[tuple[int, int, int]] = []
    level = 1
    while (1 << level) <= last + 1:
        lo = ((first + (1 << level)) >> level) - 1
        hi = ((last + 1) >> level) - 1
        if lo <= hi:
            wanted.append((level, lo, hi))
        level += 1
    return queries.tree_nodes_in(ledger.sql, wanted)


def check_nodes(
    frontier: merkle.CompactRange, leaf_hash: bytes, stored_nodes: dict[tuple[int, int], bytes], seq: int
) -> None:
    """Append leaf ``seq`` to ``frontier``: every node it completes is stored, and equal (level 0
    was compared with the leaf hash by the per-leaf check)."""
    for level, idx, node in frontier.append(leaf_hash)[1:]:
        stored = stored_nodes.get((level, idx))
        if stored is None:
            raise TreeMismatch(f"stored Merkle node ({level}, {idx}) is missing", seq=seq)
        if stored != node:
            raise TreeMismatch(f"stored Merkle node ({level}, {idx}) differs from the recomputed one", seq=seq)


def nodes_beyond(ledger: Ledger) -> VerificationFailed | None:
    """A Merkle node beyond the log (a truncation that forgot the tree), if any."""
    # One statement, so nodes and leaves appended meanwhile are seen together.
    for level, max_idx, max_seq in queries.tree_levels(ledger.sql):
        size = 0 if max_seq is None else max_seq + 1
        if max_idx > (size >> level) - 1:
            return TreeMismatch(
                f"stored Merkle node ({level}, {max_idx}) covers leaves beyond the log ({size})",
                seq=min(size, max_idx << level),
            )
    return None
