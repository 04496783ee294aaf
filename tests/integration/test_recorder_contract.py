"""The ledger's recorders pass ``eventsourcing``'s own recorder contract (peer contract).

They subclass the library's SQLite and PostgreSQL application recorders to write the public log
in the same transaction; without a ``ledger`` argument they must behave exactly like their
parents, which these inherited test cases prove — the way the library's extension packages
prove theirs.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from ledger.persistence.postgres import LedgerPostgresRecorder
from ledger.persistence.store import LedgerSQLiteRecorder
from support.pg import drop_pg_database, fresh_pg_database

# The library's timed cases: speed is measured by benchmarks/ (bench_ingest.py), never asserted.
NOT_HERE = "a throughput measurement, not a contract: see benchmarks/bench_ingest.py"


def join_readers() -> None:
    """Wait for the library's reader threads before the datastore closes.

    ``test_concurrent_no_conflicts`` sets its two readers' stop flag but does not join them, so
    a reader can still be inside ``select_notifications`` when ``tearDown`` closes the pool — on
    SQLite that is a query on a closed connection, which crashed CI once with a segmentation
    fault. Since Python 3.10 a thread's default name ends with its target's name."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.endswith("(read_continuously)"):
            thread.join(timeout=30)


class TestLedgerSQLiteRecorder(ApplicationRecorderTestCase[LedgerSQLiteRecorder]):
    INITIAL_VERSION = 1

    def setUp(self) -> None:
        super().setUp()
        self._tmp = tempfile.TemporaryDirectory()
        self.datastore = SQLiteDatastore(str(Path(self._tmp.name) / "contract.db"))

    def tearDown(self) -> None:
        join_readers()
        self.datastore.close()
        self._tmp.cleanup()
        super().tearDown()

    def create_recorder(self) -> LedgerSQLiteRecorder:
        recorder = LedgerSQLiteRecorder(self.datastore)
        recorder.create_table()
        return recorder

    def test_concurrent_throughput(self) -> None:
        self.skipTest(NOT_HERE)

    def test_performance(self) -> None:
        self.skipTest(NOT_HERE)


class TestLedgerPostgresRecorder(ApplicationRecorderTestCase[LedgerPostgresRecorder]):
    INITIAL_VERSION = 1

    def setUp(self) -> None:
        super().setUp()
        url, self._dbname = fresh_pg_database()
        self.datastore = PostgresDatastore(
            dbname=self._dbname, host="127.0.0.1", port=5432, user="postgres", password="",
            pool_size=4, max_overflow=4,
        )  # fmt: skip

    def tearDown(self) -> None:
        join_readers()
        self.datastore.close()
        drop_pg_database(self._dbname)
        super().tearDown()

    def create_recorder(self) -> LedgerPostgresRecorder:
        recorder = LedgerPostgresRecorder(self.datastore, events_table_name="ledger_events")
        recorder.create_table()
        return recorder

    def test_concurrent_throughput(self) -> None:
        self.skipTest(NOT_HERE)

    def test_performance(self) -> None:
        self.skipTest(NOT_HERE)
