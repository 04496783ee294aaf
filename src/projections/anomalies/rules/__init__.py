"""Every rule of RULES.md, one module per family (mirroring ``tests/integration/test_rules_*.py``):
one function each, its id, severity, subject and source beside it (:func:`.engine.rule`).

A rule answers for one subject (and part) with ``{laborer_id or None: Finding(evidence, details)}``
— the empty answer means "nothing wrong here" and withdraws what the subject raised before.
``on`` names the events that make the rule look again and the subjects each of them touches
(:mod:`..triggers`); the engine calls nothing else, so a rule's cost follows the events that
concern it. What rules read in common is :mod:`..reads`.

Importing this package registers every rule. The families are imported in RULES.md's order,
which is the registry's (:data:`.engine.RULES`) and so the order rules are judged in and every
output is written in: keep it.
"""

# isort: off
from projections.anomalies.rules import dup, seq, std, elig, conf, net, sod, time, fin, insp

# isort: on

FAMILIES = (dup, seq, std, elig, conf, net, sod, time, fin, insp)

__all__ = ["FAMILIES"]
