"""Every rule test here runs in memory: real keys and signatures, the ledger's own decider, the
projections through the in-memory unit of work — no database, milliseconds a test.
``tests/integration/test_rules_end_to_end.py`` runs a chosen test of each family from these
modules again on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.rules_builder import RuleScenario


@pytest.fixture
def sc(tmp_path: Path) -> RuleScenario:
    return RuleScenario.in_memory(tmp_path)
