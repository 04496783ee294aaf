"""``simulate``: plan a world at a scale and seed, then stream its intents.

Planning is eager (classes, labourers, claims: a few MB at city scale) and runs the steps in a
fixed order, the misuse injectors between them by phase; intents are built lazily, entity by
entity, when :meth:`Simulation.intents` is iterated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ledger import Progress
from ledger.encoding.canonical import JSONValue
from simulator import emit
from simulator.actors import register_actors
from simulator.emit import Intent
from simulator.employment import employment
from simulator.finalize import finalize
from simulator.injectors import choose_cases, collateral, run_cases
from simulator.order import ORDERS, migration_order
from simulator.plan import Plan
from simulator.programme import class_details
from simulator.records import ActorSpec, InjectedCase
from simulator.roster import fill_roster
from simulator.schedule import schedule
from simulator.statements import close, plan_statements, truth_of
from simulator.world import SCALES


@dataclass
class Simulation:
    """The simulated world: its actors, its injected truth, and its intents (streamed)."""

    actors: list[ActorSpec]
    truth: list[InjectedCase]
    expected_knock_on: list[InjectedCase]
    scale: str = "small"
    seed: int = 2019
    order: str = "chronological"
    order_seed: int = 2019
    _plan: Plan | None = field(default=None, repr=False, compare=False)
    _progress: Progress | None = field(default=None, repr=False, compare=False)
    _count: int | None = field(default=None, repr=False, compare=False)

    def intents(self) -> Iterator[Intent]:
        """Every intent in import order; deterministic for a seed and order seed; a generator
        (flat memory in chronological order; a migration order holds them all, :mod:`.order`)."""
        assert self._plan is not None
        stream: Iterable[Intent] = emit.stream(self._plan)
        if self.order == "shuffled":
            stream = migration_order(stream, self.order_seed)
        n = 0
        for n, intent in enumerate(stream, start=1):
            yield intent
            if self._progress is not None and n % 1000 == 0:
                self._progress(n)
        if self._progress is not None and n % 1000 != 0:
            self._progress(n)
        self._count = n

    def statements(self) -> Iterator[tuple[str, bytes]]:
        """Every finance bureau's monthly bank statement (DESIGN §10) as ``(file name, bytes)``:
        GBK CSV and XLSX alternating, the same bytes for a seed."""
        assert self._plan is not None
        for st in self._plan.statements:
            yield st.file_name, st.data

    def statement_truth(self) -> list[dict[str, JSONValue]]:
        """Per statement, what reconciling it must find: each status's count, every exception."""
        assert self._plan is not None
        return [truth_of(st) for st in self._plan.statements]

    def count(self) -> int:
        """The number of intents, without merging or holding the stream."""
        if self._count is None:
            assert self._plan is not None
            self._count = emit.count(self._plan)
        return self._count


def simulate(
    scale: str = "small",
    seed: int = 2019,
    misuse_rate: float = 0.03,
    progress: Progress | None = None,
    *,
    order: str = "chronological",
    order_seed: int | None = None,
) -> Simulation:
    """Plan a world for ``scale`` ("tiny", "small", "city") and return its :class:`Simulation`,
    whose intents come in business order (``chronological``) or in a random migration order
    the ledger still accepts (``shuffled``, seeded by ``order_seed``, default ``seed``)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: expected one of {sorted(SCALES)}")
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}: expected one of {list(ORDERS)}")
    if not 0 <= misuse_rate <= 1:
        raise ValueError("misuse_rate must lie between 0 and 1")
    plan = Plan(SCALES[scale], seed, misuse_rate)
    build(plan)
    return Simulation(
        actors=list(plan.actors),
        truth=list(plan.truth),
        expected_knock_on=list(plan.knock_on),
        scale=scale,
        seed=seed,
        order=order,
        order_seed=seed if order_seed is None else order_seed,
        _plan=plan,
        _progress=progress,
    )


def build(plan: Plan) -> None:
    """Every planning step in order; injections of phase A–F where their hosts are ready."""
    register_actors(plan)
    schedule(plan)
    for cls in plan.classes:
        if cls.state == "normal":
            fill_roster(plan, cls)
    cases = choose_cases(plan)
    run_cases(plan, cases, phase="A")
    for cls in plan.classes:
        if cls.state == "normal":
            class_details(plan, cls)
    for fn in plan.after_details:
        fn()
    run_cases(plan, cases, phase="B")
    run_cases(plan, cases, phase="C")
    employment(plan)
    run_cases(plan, cases, phase="D")
    for fn in plan.after_employment:
        fn()
    finalize(plan)
    collateral(plan)
    run_cases(plan, cases, phase="E")
    plan_statements(plan)
    run_cases(plan, cases, phase="F")
    close(plan)
