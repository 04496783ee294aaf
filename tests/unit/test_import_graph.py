"""Dependencies point inward (STYLE.md habit 1): ``ledger`` imports no web, projections or api."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
FORBIDDEN = {"ledger": {"projections", "api", "fastapi", "starlette", "typer"}, "projections": {"api", "fastapi"}}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_inner_packages_import_nothing_outward() -> None:
    checked = 0
    for package, forbidden in FORBIDDEN.items():
        for path in (SRC / package).rglob("*.py"):
            bad = imported_roots(path) & forbidden
            assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"
            checked += 1
    assert checked >= 10
