"""A migration order: the same intents in a random order the ledger still accepts (issue 16).

Records of 2018–2020 are migrated: each office's files arrive when they arrive, and corrections
or standards may come months after the facts they govern (DESIGN §3). :func:`migration_order`
takes the intents of the chronological stream and returns them in a seeded random topological
order of what the ledger needs of its order (EVENTS.md, "What is refused"):

1. **references before use** — an event that names a labourer, class, claim, payment, fund or
   employment comes after the event that created it (its first creator, for a fund that
   allocations open or add to); the ids that may name what does not exist yet (certificate
   numbers on claim lines, anomaly ids) constrain nothing;
2. **keys before signatures** — an actor's events stay on their side of that actor's
   ``KeyRotated`` / ``KeyRevoked``: a revoked key signs nothing after its revocation;
3. **refusals stay refusals** — an event the chronological order refuses for a reference that
   comes later stays ahead of it, and a second creator of one id stays after the first.

Everything else is free, standards and corrections included. Each intent is kept as it is:
its ``nonce`` (so an envelope keeps its identity, actor + nonce, across orders) and its ``at``.
A migration records each record's own time, not the day it was loaded: the log clock — the
latest business date seen — then jumps back and forth while it is loaded and ends where the
chronological load ends, and no ``at`` comes near the wall clock's five-minute limit.

The order is a pure function of the intents and the seed. It holds every intent in memory
(the chronological stream does not): about 750 MB at its peak at city scale (278k intents).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from ledger.domain.aggregates import (
    CREATES,
    OPENS_OR_ADDS,
    SUBJECT,
    Actor,
    Claim,
    Employment,
    Fund,
    Laborer,
    Payment,
    TrainingClass,
)
from simulator.emit import JSON, Intent

ORDERS = ("chronological", "shuffled")

Key = tuple[str, str]  # (aggregate kind, id)

# Body fields that name an aggregate the ledger requires to exist (EVENTS.md: "a reference to a
# labourer, class, claim, fund, payment or employment that does not exist" is refused).
_FIELDS: dict[str, str] = {
    "laborer_id": Laborer.KIND,
    "class_id": TrainingClass.KIND,
    "claim_id": Claim.KIND,
    "payment_id": Payment.KIND,
    "fund_id": Fund.KIND,
    "employment_id": Employment.KIND,
}
# Lists of labourers, and lists of records with a labourer (and an employment) in them.
_LABORER_LISTS = ("completers", "present", "absent", "rejected_laborers")
_RECORD_LISTS = ("trainees", "lines", "findings")
_INSPECTED = {"class": TrainingClass.KIND, "laborer": Laborer.KIND, "claim": Claim.KIND}
_KEY_EVENTS = frozenset({"ActorRegistered", "KeyRotated", "KeyRevoked"})


def creates(intent: Intent) -> Key | None:
    """The aggregate an intent creates, opens or adds to (its subject), if it does."""
    typ = intent["type"]
    if typ not in CREATES and typ not in OPENS_OR_ADDS:
        return None
    cls, field = SUBJECT[typ]
    return cls.KIND, str(intent["body"][field])


def references(intent: Intent) -> set[Key]:
    """The aggregates an intent names that must exist when it is recorded (its own subject
    included unless it creates it)."""
    typ, body = intent["type"], intent["body"]
    refs: set[Key] = set()
    if typ in SUBJECT and typ not in CREATES and typ not in OPENS_OR_ADDS:
        cls, field = SUBJECT[typ]
        if cls is not Actor:  # actors are registered before the stream (keys: see _key_sides)
            refs.add((cls.KIND, str(body[field])))
    own = creates(intent)

    def add(record: Mapping[str, JSON]) -> None:
        for field, kind in _FIELDS.items():
            value = record.get(field)
            if isinstance(value, str) and (kind, value) != own:
                refs.add((kind, value))

    add(body)
    for name in _LABORER_LISTS:
        refs.update((Laborer.KIND, str(lid)) for lid in _items(body.get(name)))
    for name in _RECORD_LISTS:
        for record in _items(body.get(name)):
            if isinstance(record, Mapping):
                add(record)
    if typ == "InspectionRecorded" and body["subject_kind"] in _INSPECTED:
        refs.add((_INSPECTED[str(body["subject_kind"])], str(body["subject_id"])))
    return refs


def _items(value: JSON) -> Sequence[JSON]:
    return value if isinstance(value, list) else ()


def dependencies(intents: Sequence[Intent]) -> list[set[int]]:
    """For each intent (by position in the chronological order), the positions that must come
    before it in any order the ledger accepts as it accepts the chronological one."""
    before: list[set[int]] = [set() for _ in intents]
    first: dict[Key, int] = {}
    last_creator: dict[Key, int] = {}
    for i, intent in enumerate(intents):
        key = creates(intent)
        if key is None:
            continue
        first.setdefault(key, i)
        if intent["type"] in CREATES and key in last_creator:
            before[i].add(last_creator[key])  # the later creator of one id stays the refused one
        last_creator[key] = i
    for i, intent in enumerate(intents):
        for key in references(intent):
            j = first.get(key)
            if j is None or j == i:
                continue
            if j < i:
                before[i].add(j)
            else:
                before[j].add(i)  # refused for want of it chronologically: refused here too
    _key_sides(intents, before)
    return before


def _key_sides(intents: Sequence[Intent], before: list[set[int]]) -> None:
    """Each actor's events stay between the same two of its key events (registration,
    rotation, revocation): a key signs what it signed, and nothing after it stops."""
    last_key: dict[str, int] = {}
    since: dict[str, list[int]] = defaultdict(list)
    for i, intent in enumerate(intents):
        signer = intent["actor"]
        if signer in last_key:
            before[i].add(last_key[signer])
        since[signer].append(i)
        if intent["type"] in _KEY_EVENTS:
            subject = str(intent["body"]["actor_id"])
            if subject in last_key:
                before[i].add(last_key[subject])
            before[i].update(j for j in since.pop(subject, []) if j != i)
            last_key[subject] = i


def migration_order(intents: Iterable[Intent], seed: int) -> list[Intent]:
    """The intents in a random order the ledger accepts as it accepts the chronological one:
    Kahn's topological sort, picking uniformly among the ready intents with a seeded RNG."""
    chronological = list(intents)
    before = dependencies(chronological)
    after: list[list[int]] = [[] for _ in chronological]
    waiting = [len(b) for b in before]
    for i, preds in enumerate(before):
        for j in preds:
            after[j].append(i)
    rng = random.Random(f"sim-order:{seed}")
    ready = [i for i, n in enumerate(waiting) if n == 0]
    out: list[Intent] = []
    while ready:
        k = rng.randrange(len(ready))
        ready[k], ready[-1] = ready[-1], ready[k]
        i = ready.pop()
        out.append(chronological[i])
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    assert len(out) == len(chronological), "the chronological order satisfies every dependency: no cycle"
    return out
