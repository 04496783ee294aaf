"""The PostgreSQL recorder: the library's, extended to write the public log in the same transaction.

Beside :mod:`ledger.persistence.store` (which holds what both backends share) so that a ledger
on SQLite never loads psycopg: ``DatabaseURL.eventsourcing_env`` names this class by its topic,
and the library imports this module only for a ``postgresql://`` ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.rows import DictRow
from psycopg.sql import SQL as PgSQL
from psycopg.sql import Composed

from ledger.persistence.store import LEDGER_TABLES, Append, _insert_ledger


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        statements: list[Composed | PgSQL] = self.sql_create_statements  # type: ignore[assignment]  # psycopg runs either
        statements.extend(PgSQL(t.format(blob="BYTEA")) for t in LEDGER_TABLES)

    def create_table(self) -> None:
        """Create tables under an advisory lock: concurrent first opens must not race on DDL."""
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(640400201812)")
            try:
                super().create_table()
            finally:
                conn.execute("SELECT pg_advisory_unlock(640400201812)")

    def _insert_events(
        self,
        curs: psycopg.Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        ledger: Append | None = None,
        **kw: object,
    ) -> None:
        # No prepared statements on a connection that appends: after an optimistic append loses
        # its race inside a pipeline, psycopg 3.3 counts a statement as prepared that the aborted
        # pipeline never prepared, and the connection's next append fails with "prepared
        # statement _pg3_N does not exist".
        curs.connection.prepare_threshold = None
        if ledger is not None:
            _insert_ledger(curs, ledger, "%s")
        super()._insert_events(curs, stored_events, **kw)
