"""The rules package mirrors RULES.md: one module per family, imported in RULES.md's order, which
is the registry's — the order rules are judged in and their flags written in."""

from __future__ import annotations

from projections.anomalies.engine import RULES
from projections.anomalies.rules import FAMILIES


def test_each_rule_lives_in_the_module_of_its_family() -> None:
    for r in RULES:
        family = r.id.split("-")[0].lower()
        assert r.check.__module__ == f"projections.anomalies.rules.{family}", r.id


def test_the_registry_holds_the_families_one_after_another_in_their_import_order() -> None:
    order = [f.__name__.rpartition(".")[2] for f in FAMILIES]
    seen = [r.id.split("-")[0].lower() for r in RULES]
    runs = [family for n, family in enumerate(seen) if n == 0 or seen[n - 1] != family]
    assert runs == order == ["dup", "seq", "std", "elig", "conf", "net", "sod", "time", "fin", "insp"]
