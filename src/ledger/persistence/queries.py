"""Every read of the log's tables, and the small writes beside the recorder's append.

``store.py`` writes a batch (leaves, tree nodes, key index, vault) in the recorder's own
transaction; everything else the ledger says to its tables is here, one named function per
statement, so the rest of the ledger holds no SQL text (``tests/unit/test_sql_in_persistence.py``).
Each function takes the connection pool (:class:`~ledger.persistence.store.SQL`: one statement,
autocommit) or — for a write that must share a caller's transaction — anything that executes,
such as the cursor of ``sql.cursor(commit=True)``. Statements use ``?``; the pool rewrites them
for PostgreSQL. Rows come back typed; what a caller pages or chunks, it still pages or chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.persistence.store import SQL, Params, Row, StoredCheckpoint


class Executes(Protocol):
    """The pool (a transaction of its own) or a caller's cursor (inside the caller's transaction)."""

    def execute(self, statement: str, params: Params = ..., /) -> None: ...


# --- leaves ------------------------------------------------------------------------------------------
class Tip(NamedTuple):
    """The last leaf: its seq and when it was recorded."""

    seq: int
    recorded_at: str


class Leaf(NamedTuple):
    seq: int
    recorded_at: str
    leaf: bytes


class SeqLeaf(NamedTuple):
    seq: int
    leaf: bytes


class NonceLeaf(NamedTuple):
    """A leaf found by its signer's nonce."""

    nonce: str
    seq: int
    leaf: bytes


class LeafOrigin(NamedTuple):
    """The domain event a leaf says it recorded."""

    originator_id: str
    originator_version: int


def log_size(sql: SQL) -> int:
    """Number of leaves: the largest seq plus one (0 for an empty log)."""
    row = sql.one("SELECT MAX(seq) FROM ledger_leaves")
    return 0 if row is None or row[0] is None else int(row[0]) + 1


def tip(sql: SQL) -> Tip | None:
    """The last leaf's seq and recorded_at, None for an empty log."""
    row = sql.one("SELECT seq, recorded_at FROM ledger_leaves ORDER BY seq DESC LIMIT 1")
    return None if row is None else Tip(int(row[0]), str(row[1]))


def leaves_from(sql: SQL, start: int, limit: int) -> list[Leaf]:
    """Up to ``limit`` leaves from seq ``start`` on, in seq order."""
    rows = sql.all("SELECT seq, recorded_at, leaf FROM ledger_leaves WHERE seq >= ? ORDER BY seq LIMIT ?", (start, limit))
    return [Leaf(int(r[0]), str(r[1]), bytes(r[2])) for r in rows]


def leaf_at(sql: SQL, seq: int) -> bytes | None:
    row = sql.one("SELECT leaf FROM ledger_leaves WHERE seq = ?", (seq,))
    return None if row is None else bytes(row[0])


def leaves_by_seq(sql: SQL, seqs: Sequence[int]) -> list[SeqLeaf]:
    """The leaves of these seqs (one statement: callers pass at most a few hundred), in seq order;
    a seq with no leaf is simply absent."""
    rows = sql.all(f"SELECT seq, leaf FROM ledger_leaves WHERE seq IN ({','.join('?' * len(seqs))}) ORDER BY seq", seqs)
    return [SeqLeaf(int(r[0]), bytes(r[1])) for r in rows]


def leaves_between(sql: SQL, start: int, stop: int, types: Sequence[str] = (), limit: int = 2000) -> list[SeqLeaf]:
    """Up to ``limit`` leaves with ``start <= seq < stop``, of one of ``types`` if any are given, in seq order."""
    where = f" AND type IN ({','.join('?' * len(types))})" if types else ""
    rows = sql.all(
        f"SELECT seq, leaf FROM ledger_leaves WHERE seq >= ? AND seq < ?{where} ORDER BY seq LIMIT {limit}",
        [start, stop, *types],
    )
    return [SeqLeaf(int(r[0]), bytes(r[1])) for r in rows]


def leaves_by_nonce(sql: SQL, actor: str, nonces: Sequence[str]) -> list[NonceLeaf]:
    """The leaves ``actor`` signed with these nonces (through the (actor, nonce) index)."""
    rows = sql.all(
        f"SELECT nonce, seq, leaf FROM ledger_leaves WHERE actor = ? AND nonce IN ({','.join('?' * len(nonces))})",
        [actor, *nonces],
    )
    return [NonceLeaf(str(r[0]), int(r[1]), bytes(r[2])) for r in rows]


def leaf_origin(sql: SQL, seq: int) -> LeafOrigin | None:
    row = sql.one("SELECT originator_id, originator_version FROM ledger_leaves WHERE seq = ?", (seq,))
    return None if row is None else LeafOrigin(str(row[0]), int(row[1]))


def checked_rows_statement(postgres: bool, events: str) -> str:
    """Leaves ``[?, ?)`` with their level-0 node and domain event, in seq order: what ``verify``
    checks per leaf (the columns :mod:`ledger.translog.verify.leaves` reads, in this order). Also
    run by verify's worker processes on their own connections, hence a statement, not a call."""
    if postgres:
        # A hand-edited originator_id that is not a UUID must not abort the query: no match.
        join = "e.originator_id = (CASE WHEN l.originator_id ~ '^[0-9a-f]{32}$' THEN CAST(l.originator_id AS uuid) END)"
    else:
        join = "e.originator_id = l.originator_id"
    return (
        "SELECT l.seq, l.recorded_at, l.leaf, l.leaf_hash, l.actor, l.type, l.nonce, l.originator_id,"
        " l.originator_version, t.hash, e.topic, e.state"
        " FROM ledger_leaves l"
        " LEFT JOIN ledger_tree t ON t.level = 0 AND t.idx = l.seq"
        f" LEFT JOIN {events} e ON {join} AND e.originator_version = l.originator_version"
        " WHERE l.seq >= ? AND l.seq < ? ORDER BY l.seq"
    )


def checked_rows(sql: SQL, start: int, stop: int) -> list[Row]:
    """The rows of :func:`checked_rows_statement` for ``start <= seq < stop``, as stored."""
    return sql.all(checked_rows_statement(sql.postgres, sql.events_table), (start, stop))


# --- the Merkle tree -------------------------------------------------------------------------------------
class TreeLevel(NamedTuple):
    """How far one level of stored nodes reaches, and the log's last seq, read together."""

    level: int
    max_idx: int
    max_seq: int | None


def tree_node(sql: SQL, level: int, index: int) -> bytes | None:
    row = sql.one("SELECT hash FROM ledger_tree WHERE level = ? AND idx = ?", (level, index))
    return None if row is None else bytes(row[0])


def tree_nodes(sql: SQL, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes among ``wanted`` (level, index) pairs, in one statement; missing ones are absent.

    One ``level = ? AND idx IN (…)`` term per level: PostgreSQL plans hundreds of OR'd pairs (a
    trace's inclusion paths) as as many index scans, ~50 ms for 400; by level it is a few ms."""
    if not wanted:
        return {}
    by_level: dict[int, list[int]] = {}
    for level, index in wanted:
        by_level.setdefault(level, []).append(index)
    cond = " OR ".join(f"(level = ? AND idx IN ({', '.join('?' * len(indices))}))" for indices in by_level.values())
    params = [v for level, indices in by_level.items() for v in (level, *indices)]
    rows = sql.all(f"SELECT level, idx, hash FROM ledger_tree WHERE {cond}", params)
    return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}


def tree_nodes_in(sql: SQL, ranges: Sequence[tuple[int, int, int]]) -> dict[tuple[int, int], bytes]:
    """The stored nodes of each ``(level, first index, last index)``, in one statement."""
    if not ranges:
        return {}
    cond = " OR ".join(["(level = ? AND idx BETWEEN ? AND ?)"] * len(ranges))
    rows = sql.all(f"SELECT level, idx, hash FROM ledger_tree WHERE {cond}", [v for w in ranges for v in w])
    return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}


def tree_levels(sql: SQL) -> list[TreeLevel]:
    """Per stored level its largest index, with the log's largest seq, in one statement (so nodes
    and leaves appended meanwhile are seen together)."""
    rows = sql.all(
        "SELECT level, MAX(idx) AS max_idx, (SELECT MAX(seq) FROM ledger_leaves) AS max_seq"
        " FROM ledger_tree GROUP BY level"
    )
    return [TreeLevel(int(r[0]), int(r[1]), None if r[2] is None else int(r[2])) for r in rows]


# --- the key index ----------------------------------------------------------------------------------------
class KeyRow(NamedTuple):
    key_id: str
    actor_id: str
    seq: int


def key_owner(sql: SQL, key_id: str) -> str | None:
    row = sql.one("SELECT actor_id FROM ledger_keys WHERE key_id = ?", (key_id,))
    return None if row is None else str(row[0])


def key_index(sql: SQL) -> list[KeyRow]:
    return [KeyRow(str(r[0]), str(r[1]), int(r[2])) for r in sql.all("SELECT key_id, actor_id, seq FROM ledger_keys")]


def key_seqs_below(sql: SQL, stop: int) -> list[int]:
    """Seqs of the registry leaves that registered a key below ``stop``."""
    return [int(r[0]) for r in sql.all("SELECT seq FROM ledger_keys WHERE seq < ?", (stop,))]


# --- checkpoints -------------------------------------------------------------------------------------------
_CHECKPOINT = "SELECT size, root_hash, note, signed_at FROM ledger_checkpoints"


def latest_checkpoint(sql: SQL) -> StoredCheckpoint | None:
    row = sql.one(_CHECKPOINT + " ORDER BY size DESC, signed_at DESC LIMIT 1")
    return None if row is None else StoredCheckpoint.from_row(row)


def all_checkpoints(sql: SQL) -> list[StoredCheckpoint]:
    return [StoredCheckpoint.from_row(r) for r in sql.all(_CHECKPOINT + " ORDER BY size, signed_at")]


def checkpoints_of_size(sql: SQL, size: int) -> list[StoredCheckpoint]:
    """Every signing of a checkpoint of ``size`` leaves, oldest first (the primary key's prefix: no scan)."""
    return [StoredCheckpoint.from_row(r) for r in sql.all(_CHECKPOINT + " WHERE size = ? ORDER BY signed_at", (size,))]


def checkpoints_beside(sql: SQL, size: int) -> list[StoredCheckpoint]:
    """The first signing of the largest checkpoint below ``size`` and of the smallest above it (indexed)."""
    below = sql.one(_CHECKPOINT + " WHERE size < ? ORDER BY size DESC, signed_at LIMIT 1", (size,))
    above = sql.one(_CHECKPOINT + " WHERE size > ? ORDER BY size, signed_at LIMIT 1", (size,))
    return [StoredCheckpoint.from_row(r) for r in (below, above) if r is not None]


def last_cosigned(sql: SQL, name: str) -> StoredCheckpoint | None:
    """The largest checkpoint whose note carries a signature line of ``name`` (a witness's latest
    cosignature): walked down the primary key from the latest, so an up-to-date witness costs one row."""
    pattern = "%\n— " + name.replace("!", "!!").replace("%", "!%").replace("_", "!_") + " %"
    row = sql.one(_CHECKPOINT + " WHERE note LIKE ? ESCAPE '!' ORDER BY size DESC, signed_at DESC LIMIT 1", (pattern,))
    return None if row is None else StoredCheckpoint.from_row(row)


def checkpoints_after(sql: SQL, size: int, signed_at: str, page: int) -> list[StoredCheckpoint]:
    """Up to ``page`` checkpoints after (size, signed_at), by size then signing time."""
    rows = sql.all(
        _CHECKPOINT + " WHERE size > ? OR (size = ? AND signed_at > ?) ORDER BY size, signed_at LIMIT ?",
        (size, size, signed_at, page),
    )
    return [StoredCheckpoint.from_row(r) for r in rows]


def checkpoint_root(sql: SQL, size: int) -> bytes | None:
    """The root of a stored checkpoint of ``size``, if there is one."""
    row = sql.one("SELECT root_hash FROM ledger_checkpoints WHERE size = ? LIMIT 1", (size,))
    return None if row is None else bytes(row[0])


def insert_checkpoint(on: Executes, checkpoint: StoredCheckpoint) -> None:
    on.execute(
        "INSERT INTO ledger_checkpoints VALUES (?, ?, ?, ?)",
        (checkpoint.size, checkpoint.root, checkpoint.note, checkpoint.signed_at),
    )


def append_cosignature(sql: SQL, size: int, signed_at: str, line: str) -> str | None:
    """Append a signature line to a stored note in one atomic update (concurrent cosigners never
    lose each other's lines), then read the note back; None if no such checkpoint."""
    sql.execute(
        "UPDATE ledger_checkpoints SET note = note || ? WHERE size = ? AND signed_at = ?", (line + "\n", size, signed_at)
    )
    row = sql.one("SELECT note FROM ledger_checkpoints WHERE size = ? AND signed_at = ?", (size, signed_at))
    return None if row is None else str(row[0])


# --- domain events (the library's table) ----------------------------------------------------------------------
class EventCounts(NamedTuple):
    events: int
    leaves: int


class EventRef(NamedTuple):
    originator_id: str  # as stored: hex on SQLite, the UUID's text on PostgreSQL
    originator_version: int
    state: bytes


def events_of(sql: SQL, ids: Sequence[UUID]) -> list[StoredEvent]:
    """Every stored domain event of these aggregates (one statement: callers pass a few hundred)."""
    params: list[object] = list(ids) if sql.postgres else [u.hex for u in ids]
    rows = sql.all(
        f"SELECT originator_id, originator_version, topic, state FROM {sql.events_table}"
        f" WHERE originator_id IN ({','.join('?' * len(params))})",
        params,
    )
    return [
        StoredEvent(
            originator_id=r[0] if isinstance(r[0], UUID) else UUID(r[0]),
            originator_version=int(r[1]), topic=str(r[2]), state=bytes(r[3]),
        )  # fmt: skip
        for r in rows
    ]


def event_counts(sql: SQL) -> EventCounts:
    """Domain events and leaves, counted in one statement."""
    row = sql.one(
        f"SELECT (SELECT COUNT(*) FROM {sql.events_table}) AS events, (SELECT COUNT(*) FROM ledger_leaves) AS leaves"
    )
    return EventCounts(0, 0) if row is None else EventCounts(int(row[0]), int(row[1]))


def events_after(sql: SQL, after: tuple[str, int], page: int = 1000) -> list[EventRef]:
    """Up to ``page`` domain events after (originator id as text, version), in that order."""
    events = sql.events_table
    if sql.postgres:
        statement = (f"SELECT CAST(originator_id AS text), originator_version, state FROM {events}"
                     " WHERE (CAST(originator_id AS text), originator_version) > (?, ?)"
                     f" ORDER BY CAST(originator_id AS text), originator_version LIMIT {page}")  # fmt: skip
    else:
        statement = (f"SELECT originator_id, originator_version, state FROM {events}"
                     " WHERE (originator_id, originator_version) > (?, ?)"
                     f" ORDER BY originator_id, originator_version LIMIT {page}")  # fmt: skip
    return [EventRef(str(r[0]), int(r[1]), bytes(r[2])) for r in sql.all(statement, after)]


# --- personal data and metadata ----------------------------------------------------------------------------------
class VaultRecord(NamedTuple):
    registered_by: str
    nonce: bytes
    ciphertext: bytes


def vault_record(sql: SQL, subject_id: str) -> VaultRecord | None:
    row = sql.one("SELECT registered_by, nonce, ciphertext FROM pii_vault WHERE subject_id = ?", (subject_id,))
    return None if row is None else VaultRecord(str(row[0]), bytes(row[1]), bytes(row[2]))


def meta(sql: SQL, name: str) -> str | None:
    row = sql.one("SELECT value FROM ledger_meta WHERE name = ?", (name,))
    return None if row is None else str(row[0])


def set_meta(sql: SQL, name: str, value: str) -> None:
    sql.execute("DELETE FROM ledger_meta WHERE name = ?", (name,))
    sql.execute("INSERT INTO ledger_meta VALUES (?, ?)", (name, value))

