"""Every rule test here runs in memory: a fresh scenario per test, no database."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.rules_builder import RuleScenario


@pytest.fixture
def sc(tmp_path: Path) -> RuleScenario:
    return RuleScenario.in_memory(tmp_path)
