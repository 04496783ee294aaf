"""A separate importer process for the concurrency test: import FILE into DB, write outcomes."""

from __future__ import annotations

import json
import sys

from ledger.service import Session


def main(db_url: str, keys: str, source: str, report: str, start_at: str) -> None:
    import time

    while time.time() < float(start_at):  # all processes start appending together
        time.sleep(0.001)
    session = Session.open(db_url, keys)
    try:
        with open(source, encoding="utf-8") as handle:
            outcomes = [(n, o.status, o.seq, o.reason) for n, o in session.import_lines(handle, sign=False, batch=25)]
    finally:
        session.close()
    with open(report, "w", encoding="utf-8") as out:
        json.dump(outcomes, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
