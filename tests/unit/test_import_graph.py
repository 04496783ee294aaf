"""The arrows of ``docs/architecture.md``, enforced on every module of ``src/`` (STYLE.md habit 1).

- ``ledger`` (the signed core) imports nothing of ``projections``, ``api`` or ``simulator``;
- ``projections`` imports only ``ledger``;
- ``simulator`` imports ``ledger`` and ``projections`` (rule ids), never ``api``;
- only ``api`` holds display code: terminal rendering (``rich``, ``typer``), ``api.i18n`` and
  ``api.progress``, and web frameworks;
- no module imports another that imports it back, directly or through others, counting
  imports inside functions and under ``TYPE_CHECKING`` too: a cycle hidden in a function is
  still a cycle in the design;
- a verb pays only for what it uses: ``import api.cli`` (what ``--help`` and every verb load
  before choosing one) loads no database driver, HTTP client or workbook library, the
  services load neither psycopg nor sqlalchemy until a PostgreSQL ledger or a projection needs
  them, the server's pages load no workbook library or HTTP client, and ``api.i18n`` does not
  load the ledger (checked in a fresh interpreter's ``sys.modules``).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = ("ledger", "projections", "simulator", "api")
DISPLAY = {"rich", "typer", "click", "fastapi", "starlette", "jinja2", "uvicorn"}
ALLOWED = {
    "ledger": {"ledger"},
    "projections": {"ledger", "projections"},
    "simulator": {"ledger", "projections", "simulator"},
    "api": {"ledger", "projections", "simulator", "api"},
}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (SRC / package).rglob("*.py"):
            parts = path.relative_to(SRC).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``name`` imports (absolute or relative), with the line, wherever it stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield (candidate if candidate in MODULES else base), node.lineno


def internal(target: str) -> str | None:
    """The ``src`` module a dotted import names (a name inside a module counts as the module)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def test_every_package_imports_only_what_its_arrows_allow() -> None:
    broken = []
    for name, path in MODULES.items():
        root = name.split(".")[0]
        for target, line in imports(name, path):
            top = target.split(".")[0]
            if top in PACKAGES and top not in ALLOWED[root]:
                broken.append(f"{path.relative_to(SRC)}:{line} imports {target}")
            if top in DISPLAY and root != "api":
                broken.append(f"{path.relative_to(SRC)}:{line} imports display code {target}")
            if target in ("api.i18n", "api.progress") and root != "api":
                broken.append(f"{path.relative_to(SRC)}:{line} imports display code {target}")
    assert len(MODULES) >= 60
    assert not broken, "\n".join(broken)


def test_no_module_imports_itself_back() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _ in imports(name, path):
            module = internal(target)
            # A package's __init__ naming its own submodules is how it states its API, not a cycle.
            if module is not None and module != name and not module.startswith(name + "."):
                graph[name].add(module)
    cycles = [sorted(c) for c in strongly_connected(graph) if len(c) > 1]
    assert not cycles, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in cycles)


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred edges)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
    return found


def loaded_by(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def among(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    """The loaded modules that are one of ``names`` or inside one of them."""
    return sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in names))


# What a verb loads only when it runs: database drivers, the HTTP client, workbooks, templates,
# the web server, the ledger application and the services (the domain schema, the recorders).
VERB_ONLY = ("sqlalchemy", "psycopg", "psycopg_pool", "httpx", "openpyxl", "jinja2", "uvicorn")
VERB_ONLY += ("fastapi", "starlette", "projections", "ledger.application", "ledger.service", "api.services")


@pytest.mark.parametrize("module", ["api.cli", "api.cli.root"])
def test_the_command_line_loads_no_verb_dependency_before_a_verb_runs(module: str) -> None:
    loaded = loaded_by(f"import {module}")
    assert {"typer", "api.cli.reconcile", "api.cli.serve"} <= loaded  # every verb registered
    assert among(loaded, VERB_ONLY) == []  # and none of their dependencies loaded


def test_the_services_load_no_driver_until_a_ledger_or_a_projection_needs_it() -> None:
    # What every local verb loads: psycopg comes with a PostgreSQL ledger, sqlalchemy with the projections.
    loaded = loaded_by("import api.services")
    assert among(loaded, ("psycopg", "eventsourcing.postgres", "sqlalchemy", "httpx", "openpyxl")) == []


def test_the_server_starts_without_the_report_workbook_or_the_http_client() -> None:
    # ``serve`` (and each of its workers) imports every page; a workbook is made only when asked for.
    pages = "dashboard, flags, integrity, pages, reconciliation, render, report, session, traces"
    loaded = loaded_by(f"import api.http.app\nfrom api.web import {pages}")
    assert among(loaded, ("openpyxl", "httpx", "api.reports.xlsx", "api.cli.remote")) == []


def test_choosing_a_language_loads_no_ledger() -> None:
    loaded = loaded_by("import api.i18n")
    assert among(loaded, ("ledger.application", "ledger.domain", "eventsourcing", "pydantic")) == []


def test_the_check_sees_what_a_statement_loads() -> None:
    assert "email.mime.text" in among(loaded_by("import email.mime.text"), ("email.mime",))
    assert among({"sqlalchemy.engine", "api.servicesx", "api.services"}, VERB_ONLY) == [
        "api.services", "sqlalchemy.engine"
    ]  # fmt: skip


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]
