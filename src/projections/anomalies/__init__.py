"""Anomaly detection (issue #5): every rule of RULES.md, kept incrementally in the projections.

Plugged in through :data:`projections.runner.registry.PLUGINS`: importing this package registers its
tables on the projections' metadata (so ``rebuild`` drops and recreates them) and one hook that
runs after every event, inside the same unit of work and transaction as the base read models:

1. the rules' indexes are brought up to date (:mod:`.state`);
2. each rule the event concerns is evaluated for the subjects the event touches, and its answer
   settled into flags (:mod:`.engine`; the rules, one module per family: :mod:`.rules`, reading
   through :mod:`.reads` and triggered by :mod:`.triggers`);
3. claims whose 90 days ran out as the log clock moved are judged (``TIME-STALE-CLAIM``);
4. an ``AnomalyDisposed`` sets the flag's status.

Reading flags — listing, as-of, one flag with its evidence — is :mod:`.query`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from time import perf_counter

import sqlalchemy as sa

from projections import tables as T
from projections.anomalies import config as rules_config
from projections.anomalies import rules as _rules  # noqa: F401  (registers every rule)
from projections.anomalies import state as _state
from projections.anomalies import tables as A  # (importing adds the tables to the metadata)
from projections.anomalies.engine import RULES, Ctx, Rule, Subject, Trigger, dispose, settle
from projections.runner.registry import hook, register_version
from projections.uow import Key, UnitOfWork

TABLES = (A.anomalies, A.evidence, A.history, A.state)  # written by the rules alone: `rebuild --anomalies`

# Bump when a rule's logic changes; the thresholds' fingerprint is part of the version too. A change
# of either makes the next catch-up recompute TABLES alone (runner.rebuild_only), not every table.
# 4: rules re-judged on what they read (issue 16); FIN-SPLIT-CLAIM by the certificates the lines cite
# 5: evidence the same in any arrival order (issue 16): STD-DURATION and CONF-EMPLOYED-BEFORE-TRAINING cite
# every class-day, FIN-FUND-MISMATCH every allocation of the fund, INSP-* re-judged on claim decisions
# 6: CONF-AFTER-WITHDRAWAL breaks a same-day tie of attendance and withdrawal by (at, actor, nonce), not seq
# 7: INSP-FAILED-PAID's latest inspection of one date likewise
# 8: SEQ-BEFORE-APPROVAL cites the class's application, and its entries only once an approval is recorded
# 9: the other seq tie-breaks by (at, actor, nonce): registrations, claims, account payments, reconciliations,
# standards and a class-day recorded again (its later-signed record stands); the rule state keeps envelopes
# 10: evidence follows the proof (the union of what the supporting parts cite now, so it may shrink), logged
# as seqs cited or dropped in pj_anomaly_evidence; every rule citing an approval reads its rejection
LOGIC_VERSION = "10"  # 2: stale claims found through the due-months index (issue 12); 3: reconciliation rules
register_version("projections.anomalies", f"{LOGIC_VERSION}:{rules_config.CONFIG.fingerprint()}", tables=TABLES)


def _dispatch() -> dict[str, list[tuple[Rule, Trigger]]]:
    """Event type → each rule it concerns, with the subjects it makes that rule re-judge (derived from
    what the rule reads that the event changes: :meth:`Rule.triggers`)."""
    table: dict[str, list[tuple[Rule, Trigger]]] = {}
    for r in RULES:
        for event_type, trigger in r.triggers().items():
            table.setdefault(event_type, []).append((r, trigger))
    return table


DISPATCH = _dispatch()
CLOCK_RULES = DISPATCH.pop("@clock", [])  # judged after every event: the log clock may have moved
CLOCK_IDS = frozenset(r.id for r, _ in CLOCK_RULES)  # rules an event and the clock may both trigger

# Cost accounting for benchmarks/bench_detection.py: rule id → [seconds, evaluations, the most subjects
# one event made it re-judge (its largest fan-out)] when set.
COSTS: dict[str, list[float]] | None = None


@hook(reads=_state.prefetch)
def detect(uow: UnitOfWork, seq: int, envelope: Mapping[str, object]) -> None:
    """After each event: upkeep, then the triggered rules for the touched subjects only."""
    ev = uow.event
    assert ev is not None, "hooks run with the unit of work's event set"
    ctx = Ctx(uow, ev)
    upkeep = _state.UPKEEP.get(ev.type)
    if upkeep is not None:
        started = perf_counter() if COSTS is not None else 0.0
        upkeep(ctx)
        if COSTS is not None:
            cost = COSTS.setdefault("(upkeep)", [0.0, 0])
            cost[0] += perf_counter() - started
            cost[1] += 1
    done: set[tuple[str, Subject]] = set()
    for r, trigger in DISPATCH.get(ev.type, ()):
        _evaluate(ctx, r, trigger, done)
    # The clock rules look only at what the log clock's move brought due: when the clock has not
    # moved since they last looked in this batch, they have nothing to see.
    if CLOCK_RULES and uow.notes.get("clock_rules_at", "") != ctx.clock:
        uow.notes["clock_rules_at"] = ctx.clock
        for r, trigger in CLOCK_RULES:
            _evaluate(ctx, r, trigger, done)
    ctx.record_evidence()
    if ev.type == "AnomalyDisposed":
        dispose(ctx)


def _evaluate(ctx: Ctx, r: Rule, trigger: Trigger, done: set[tuple[str, Subject]]) -> None:
    started = perf_counter() if COSTS is not None else 0.0
    subjects = list(dict.fromkeys(trigger(ctx)))
    if r.id in CLOCK_IDS:  # the event may already have had this rule judge these subjects
        subjects = [s for s in subjects if (r.id, s) not in done]
        done.update((r.id, s) for s in subjects)
    if len(subjects) > 1 and not ctx.all_rows:  # one query for the subjects' rows, not one each
        ctx.uow.prefetch(_subject_rows(subjects))
    check = r.check
    for subject in subjects:
        settle(ctx, r, subject, check(ctx, subject))
    if COSTS is not None:
        cost = COSTS.setdefault(r.id, [0.0, 0, 0])
        cost[0] += perf_counter() - started
        cost[1] += len(subjects)
        cost[2] = max(cost[2], len(subjects))


def _subject_rows(subjects: list[Subject]) -> Iterator[tuple[sa.Table, Key]]:
    for s in subjects:
        yield A.state, (f"{s.kind}/{s.id}",)
        if s.kind == "claim":
            yield T.claims, (s.id,)
        elif s.kind == "laborer":
            yield T.laborers, (s.id,)


__all__ = ["COSTS", "LOGIC_VERSION", "RULES", "TABLES", "detect"]
