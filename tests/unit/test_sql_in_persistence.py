"""Every SQL statement of the ledger lives in ``ledger/persistence/`` (docs/architecture.md).

The rest of the ledger calls named functions (``queries.leaves_by_seq``, ``queries.checkpoint_root``,
…); it holds no statement text. Scanned: every string constant of every module of ``src/ledger``
outside ``persistence/``, the literal pieces of f-strings included. A docstring may name a table
(``ledger_keys``); it may not hold a statement.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

LEDGER = Path(__file__).resolve().parents[2] / "src" / "ledger"
PERSISTENCE = LEDGER / "persistence"

# A statement naming one of the ledger's tables, or any statement at all (the library's events
# table is named at run time: ``FROM {events}``).
ON_LEDGER_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:ledger_\w+|pii_vault|stored_events)\b", re.I)
STATEMENT = re.compile(r"^\s*(?:SELECT\s.+\sFROM\b|INSERT\s+INTO\b|UPDATE\s+\S+\s+SET\b|DELETE\s+FROM\b)", re.S)


def strings(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def statements(path: Path) -> list[str]:
    return [
        f"{path.relative_to(LEDGER.parent)}:{line}: {text.strip()[:80]!r}"
        for line, text in strings(path)
        if ON_LEDGER_TABLE.search(text) or STATEMENT.search(text)
    ]


def test_no_sql_outside_persistence() -> None:
    found = [
        hit
        for path in sorted(LEDGER.rglob("*.py"))
        if PERSISTENCE not in path.parents
        for hit in statements(path)
    ]
    assert found == [], "SQL outside ledger/persistence/ (move it into a named function there):\n" + "\n".join(found)


def test_the_scan_sees_statements() -> None:
    """The scan finds what it looks for: persistence holds the statements, f-strings included."""
    found = statements(PERSISTENCE / "queries.py")
    assert any("ledger_leaves" in hit for hit in found)
    assert any("ledger_checkpoints" in hit and "UPDATE" in hit for hit in found)
    assert any("topic, state FROM" in hit for hit in found)  # the piece of f"... FROM {sql.events_table}"
