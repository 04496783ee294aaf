"""Small reads every projection query shares: which leaf "as of" means, and the log clock there."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger.errors import LedgerError
from projections import tables as T
from projections.runner.catchup import position


class AsOfOutOfRange(LedgerError):
    """``--as-of`` names a leaf the projections have not reached (or that does not exist)."""

    code = "as_of_out_of_range"


def resolve_as_of(conn: Connection, as_of: int | None) -> int | None:
    """The last leaf included: ``as_of`` itself, or the last projected leaf (None: nothing yet).

    DESIGN §5: ``--as-of SEQ`` includes leaves 0..SEQ; a checkpoint of size N is ``--as-of N-1``.
    """
    return last_included(position(conn), as_of)


def last_included(projected: int, as_of: int | None) -> int | None:
    """:func:`resolve_as_of` once the position is known (``projected`` leaves 0..projected - 1)."""
    if as_of is None:
        return projected - 1 if projected > 0 else None
    if as_of < 0 or as_of >= projected:
        last = "nothing yet" if projected == 0 else f"0..{projected - 1}"
        raise AsOfOutOfRange(f"--as-of {as_of} is outside the projected log ({last})")
    return as_of


def log_clock(conn: Connection, as_of: int | None = None) -> str | None:
    """DESIGN §3 "now" after leaf ``as_of`` (default: the last projected): an ISO date or None."""
    seq = resolve_as_of(conn, as_of)
    if seq is None:
        return None
    row = conn.execute(sa.select(T.events.c.log_clock).where(T.events.c.seq == seq)).first()
    return None if row is None else row[0]


def as_int(value: object) -> int:
    """SUM() of BIGINT is NUMERIC on PostgreSQL: money comes back as an exact int, never float."""
    return 0 if value is None else int(value)  # type: ignore[call-overload]
