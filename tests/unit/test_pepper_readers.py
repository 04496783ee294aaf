"""Only the ledger service reads the pepper and the vault key (DESIGN §7).

Once a labourer's county, birth date and gender are in the log, an ID number has ≈ 500
candidates left: whoever holds the pepper reverses an ``id_fingerprint`` in under a second. So
the secrets stay with the code that runs on the operator's keystore and prepares personal data:
``ledger.keys.keystore`` (which creates and reads the files) and ``ledger.service`` (which hands them, as
loaders, to the intent signer and the vault). Exports, verify, projections, the CLI and the
simulator never name them. A new reader must be added here on purpose, with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
SECRET_ATTRIBUTES = {"pepper", "vault_key"}
SECRET_FILES = {"pepper", "vault.key"}
ALLOWED = {
    "ledger/keys/keystore.py",  # creates the files and reads them
    "ledger/service.py",  # the ledger service: signer loaders, payee hashes, the vault for `pii show`
}


def _readers() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }  # fmt: skip
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Attribute) and node.attr in SECRET_ATTRIBUTES:
                name = "." + node.attr
            elif isinstance(node, ast.Constant) and node.value in SECRET_FILES and id(node) not in docstrings:
                name = repr(node.value)
            if name is not None:
                found.setdefault(path.relative_to(SRC).as_posix(), set()).add(name)
    return found


def test_only_the_ledger_service_reads_the_pepper_or_the_vault_key() -> None:
    readers = _readers()
    assert set(readers) <= ALLOWED, {k: v for k, v in readers.items() if k not in ALLOWED}


def test_the_check_sees_the_readers_it_allows() -> None:
    readers = _readers()  # the test would pass vacuously if it found nothing at all
    assert ".pepper" in readers["ledger/service.py"] and "'pepper'" in readers["ledger/keys/keystore.py"]
