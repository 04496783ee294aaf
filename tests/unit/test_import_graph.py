"""The arrows of ``docs/architecture.md``, enforced on every module of ``src/`` (STYLE.md habit 1).

- ``ledger`` (the signed core) imports nothing of ``projections``, ``api`` or ``simulator``;
- ``projections`` imports only ``ledger``;
- ``simulator`` imports ``ledger`` and ``projections`` (rule ids), never ``api``;
- only ``api`` holds display code: terminal rendering (``rich``, ``typer``), ``api.i18n`` and
  ``api.progress``, and web frameworks;
- no module imports another that imports it back, directly or through others, counting
  imports inside functions and under ``TYPE_CHECKING`` too: a cycle hidden in a function is
  still a cycle in the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

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


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]
