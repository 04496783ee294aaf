"""Check that the rows the runner keeps between batches (``uow.RowCache``) are the stored rows.

A handler or rule that changed a row it only read (``get`` instead of ``edit``) changes the kept
copy and not the table; with rows kept between batches, later batches would project from a row
the database does not have. :func:`compare_kept_rows_at_every_commit` makes every commit of a
catch-up compare each kept row with the row the database holds under its key (and a complete
cache's absent rows with absent ones).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from ledger.encoding.canonical import canonical_str
from projections.uow import RowCache, shape


def comparable(row: dict[str, Any]) -> Any:
    """A row as JSON would give it back (tuples become lists)."""
    return json.loads(canonical_str(row))


def compare_kept_rows_at_every_commit(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> list[int]:
    """Patch ``RowCache.committed``; returns the list of positions checked (filled as it runs)."""
    checked: list[int] = []
    real_committed = RowCache.committed

    def compare(cache: RowCache, position: int) -> None:
        real_committed(cache, position)
        assert cache.complete  # a rebuild holds every row: absent here means absent there
        with engine.connect() as conn:
            for table, rows in cache.rows.items():
                sh = shape(table)
                columns = ", ".join(f'"{n}"' for n in sh.names)  # raw values, as the runner reads them
                raw = conn.exec_driver_sql(f'SELECT {columns} FROM "{table.name}"')
                stored = {sh.key(row): comparable(row) for row in (sh.from_db(tuple(r)) for r in raw)}
                held = {key: comparable(row) for key, row in rows.items() if row is not None}
                assert held == stored, table.name
        checked.append(position)

    monkeypatch.setattr(RowCache, "committed", compare)
    return checked
