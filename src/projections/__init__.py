"""Read models derived only from the log (DESIGN §5): rebuildable, exactly-once, as-of.

``projections.runner.catchup.catch_up(ledger)`` brings every ``pj_`` table up to the log's head;
``rebuild`` replays from seq 0; ``projections.readmodels.balances.balances`` answers from the double-entry
postings. docs/projections.md describes the tables, the chart of accounts and what supports
as-of. ``ledger`` never imports this package (STYLE.md habit 1).
"""
