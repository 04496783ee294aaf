"""A separate importer process for the concurrency test: import FILE into DB, write outcomes.

The start is a barrier on pipes, not on the clock: the process opens its session, says
``ready`` on stdout, and blocks reading stdin until the test, having heard every importer say
ready, writes ``go`` to all of them.
"""

from __future__ import annotations

import json
import sys

from ledger.service import Session


def main(db_url: str, keys: str, source: str, report: str) -> None:
    session = Session.open(db_url, keys)
    try:
        session.ledger.size()  # connected and the schema read: ready to append at once
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            raise SystemExit("the test went away before the start")
        with open(source, encoding="utf-8") as handle:
            outcomes = [(n, o.status, o.seq, o.reason) for n, o in session.import_lines(handle, sign=False, batch=25)]
    finally:
        session.close()
    with open(report, "w", encoding="utf-8") as out:
        json.dump(outcomes, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
