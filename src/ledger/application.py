"""The ledger application: accept envelopes, keep the transparency log, sign checkpoints.

Composition root of the core. ``Ledger.open(db_url, keystore)`` wires the ``eventsourcing``
application (recorder chosen by the URL), the decider, the key registry and the Merkle tree.
Commands are verb methods (``append``, ``sign_checkpoint``, ``show_pii``…); reads go through
:class:`ledger.persistence.store.SQL` on the same connection pool.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, TypeVar, cast
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError as ESIntegrityError
from eventsourcing.persistence import JSONTranscoder, PersistenceError, StoredEvent

from ledger.domain.aggregates import (
    SUBJECT,
    Actor,
    Claim,
    Employment,
    Fund,
    Laborer,
    LedgerAggregate,
    LedgerEvent,
    TrainingClass,
    subject_uuid,
)
from ledger.domain.decider import Decider
from ledger.domain.envelope import Envelope, key_id_of
from ledger.domain.policy import GUYUAN, Jurisdictions
from ledger.encoding.b64 import b64decode_strict
from ledger.encoding.canonical import JSONValue, canonical
from ledger.errors import (
    ConcurrentAppend,
    FromTheFuture,
    LedgerError,
    NonceReused,
    OperationalError,
    Refused,
)
from ledger.persistence import queries
from ledger.persistence.store import SQL, Append, DatabaseURL, LedgerTranscoder, StoredCheckpoint
from ledger.translog import merkle

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
_REFERENCES: tuple[tuple[str, type[LedgerAggregate]], ...] = (
    ("laborer_id", Laborer), ("class_id", TrainingClass), ("claim_id", Claim),
    ("fund_id", Fund), ("employment_id", Employment),
)  # fmt: skip
MAX_RETRIES = 200
_A = TypeVar("_A", bound=LedgerAggregate)
_T = TypeVar("_T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_recorded_at(moment: dt.datetime) -> str:
    """UTC RFC 3339 with microseconds (DESIGN §6 leaf format)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Item:
    """One input line: a parsed envelope, or the refusal its parsing raised."""

    envelope: Envelope | None = None
    error: LedgerError | None = None
    vault: tuple[str, bytes, bytes] | None = None  # (subject_id, nonce, ciphertext)


OutcomeStatus: TypeAlias = Literal["accepted", "duplicate", "refused"]


@dataclass(frozen=True)
class Outcome:
    """What became of one envelope. A refusal's ``reason`` is its English message and
    ``reason_zh`` its Chinese one where it has one: the front end chooses which to show."""

    status: OutcomeStatus
    seq: int | None = None
    reason: str | None = None
    code: str | None = None
    reason_zh: str | None = None
    # An accepted envelope's leaf as recorded, for an answer that needs no read of the log (serve's 201)
    recorded_at: str | None = field(default=None, compare=False, repr=False)
    leaf_hash: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def refused(cls, error: LedgerError) -> Outcome:
        return cls("refused", None, str(error), error.code, error.zh)

    def as_json(self, line: int) -> dict[str, JSONValue]:
        return {"line": line, "status": self.status, "seq": self.seq, "reason": self.reason}


@dataclass
class Head:
    size: int
    recorded_at: str | None
    frontier: merkle.CompactRange = field(repr=False)


class Ledger(Application[UUID]):
    name = "Ledger"
    env = {"COMPRESSOR_TOPIC": ""}

    def __init__(self, env: dict[str, str], jurisdictions: Jurisdictions = GUYUAN):
        super().__init__(env)
        self.sql = SQL(self.recorder)
        self.jurisdictions = jurisdictions
        self._cache: dict[UUID, LedgerAggregate] = {}
        self._head: Head | None = None
        self.verified: set[bytes] = set()

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def open(cls, db_url: str, jurisdictions: Jurisdictions = GUYUAN) -> Ledger:
        env = DatabaseURL(db_url).eventsourcing_env(cls.name)
        try:
            return cls(env, jurisdictions)
        except (PersistenceError, OSError) as exc:
            raise OperationalError(f"cannot open database {db_url}: {_first_line(exc)}") from None

    def construct_transcoder(self) -> JSONTranscoder:
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing is best effort
            self.factory.close()

    # --- reads -------------------------------------------------------------------------------
    def size(self) -> int:
        return queries.log_size(self.sql)

    def head(self) -> Head:
        tip = queries.tip(self.sql)
        size = 0 if tip is None else tip.seq + 1
        if self._head is not None and self._head.size == size:
            return self._head
        # Another writer appended (or first use): cached aggregates may be stale.
        self._cache.clear()
        frontier = merkle.CompactRange.from_size(size, self.node)
        self._head = Head(size, None if tip is None else tip.recorded_at, frontier)
        return self._head

    def node(self, level: int, index: int) -> bytes:
        node = queries.tree_node(self.sql, level, index)
        if node is None:
            raise OperationalError(f"Merkle node ({level}, {index}) is missing")
        return node

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Fetch stored subtree hashes in one query (O(log n) of them for any proof)."""
        found = queries.tree_nodes(self.sql, wanted)
        missing = [w for w in wanted if w not in found]
        if missing:
            raise OperationalError(f"Merkle node {missing[0]} is missing")
        return found

    def root(self, size: int | None = None) -> bytes:
        size = self.size() if size is None else size
        return merkle.root_at(size, self.nodes)

    def leaves(self, start: int = 0, stop: int | None = None, batch: int = 2000) -> Iterator[tuple[int, str, bytes]]:
        """Stream ``(seq, recorded_at, leaf bytes)`` in seq order, never the whole log at once."""
        seq = start
        while stop is None or seq < stop:
            limit = batch if stop is None else min(batch, stop - seq)
            rows = queries.leaves_from(self.sql, seq, limit)
            if not rows:
                return
            for row in rows:
                yield row.seq, row.recorded_at, row.leaf
            seq = rows[-1].seq + 1

    def leaf(self, seq: int) -> bytes | None:
        return queries.leaf_at(self.sql, seq)

    def lookup(self, cls: type[_A], ident: str) -> _A:
        """The aggregate of a subject, blank (``exists`` False) if it has no events yet."""
        uid = subject_uuid(cls.KIND, ident)
        agg = self._cache.get(uid)
        if agg is None:
            try:
                agg = cast(LedgerAggregate, self.repository.get(uid))
            except AggregateNotFoundError:
                agg = cls.blank(uid, utc_now())
            self._cache[uid] = agg
        return cast(_A, agg)

    def key_owner(self, key_id: str) -> str | None:
        return queries.key_owner(self.sql, key_id)

    def actor(self, actor_id: str) -> Actor | None:
        self.head()
        agg = self.lookup(Actor, actor_id)
        return agg if agg.exists else None

    # --- the write path ------------------------------------------------------------------------
    def append(
        self, items: Sequence[Item], now: dt.datetime | None = None, *,
        verified: Sequence[Future[list[bytes]]] | None = None,
    ) -> list[Outcome]:
        """Record what can be recorded; every item gets an outcome. Retries on a lost race.

        ``verified`` is what :meth:`verify_async` returned for these items: signatures checked
        on the other cores while the caller was busy with the previous batch.
        """
        for attempt in range(MAX_RETRIES):
            # A stale cached head is safe: appending at an occupied seq fails on the primary
            # key, and the retry below re-reads the head, so no decision on stale state commits.
            head = self._head if self._head is not None else self.head()
            self._prefetch(items)
            if len(items) > 1:
                if verified is not None and attempt == 0:
                    self.verified = {token for future in verified for token in future.result()}
                else:
                    self._preverify(items)
            try:
                return self._append_once(items, head, now or utc_now())
            except (ConcurrentAppend, ESIntegrityError):
                self._cache.clear()
                self._head = None
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
            except PersistenceError as exc:
                self._cache.clear()
                self._head = None
                if not _lost_in_pipeline(exc):
                    raise OperationalError(f"database error: {_first_line(exc)}") from None
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
        raise OperationalError("could not append: the log head kept moving (too many writers)")

    def _prefetch(self, items: Sequence[Item]) -> None:
        """Load, in one query, every aggregate the batch names that is not cached yet."""
        wanted: dict[UUID, type[LedgerAggregate]] = {}
        for item in items:
            env = item.envelope
            if env is None:
                continue
            for cls, ident in _named_subjects(env):
                uid = subject_uuid(cls.KIND, ident)
                if uid not in self._cache:
                    wanted[uid] = cls
        if not wanted:
            return
        found: dict[UUID | str, list[StoredEvent]] = {}
        ids = list(wanted)
        for start in range(0, len(ids), 500):
            for stored in queries.events_of(self.sql, ids[start : start + 500]):
                found.setdefault(stored.originator_id, []).append(stored)
        now = utc_now()
        for uid, cls in wanted.items():
            events = found.get(uid)
            if not events:
                self._cache[uid] = cls.blank(uid, now)
                continue
            agg: LedgerAggregate | None = None
            for stored in sorted(events, key=lambda s: s.originator_version):
                event = cast(LedgerEvent, self.mapper.to_domain_event(stored))
                agg = event.mutate(agg)
            assert agg is not None
            self._cache[uid] = agg

    def verify_async(self, items: Sequence[Item]) -> list[Future[list[bytes]]]:
        """Start checking the batch's signatures on the worker threads; pass the result to append.

        Keys come from the actors already cached; a key not known yet is simply checked later,
        inline, by the :class:`Decider`.
        """
        jobs = self._signature_jobs(items)
        size = max(1, (len(jobs) + _WORKERS - 1) // _WORKERS)
        return [_pool().submit(_verify_chunk, jobs[i : i + size]) for i in range(0, len(jobs), size)]

    def _signature_jobs(self, items: Sequence[Item]) -> list[tuple[bytes, bytes, bytes]]:
        jobs: list[tuple[bytes, bytes, bytes]] = []
        for item in items:
            env = item.envelope
            if env is None:
                continue
            actor = self._cache.get(subject_uuid("actor", env.actor))
            period = actor.key(env.key_id) if isinstance(actor, Actor) and actor.exists else None
            if period is not None:
                jobs.append((env.sig, period.raw, env.signing_bytes))
        return jobs

    def _preverify(self, items: Sequence[Item]) -> None:
        """Check the batch's signatures on both cores before the sequential decisions.

        Only the signature maths runs here; which key is *valid* is still decided in order by
        the :class:`Decider`, which skips the maths for a (signature, key) already checked.
        """
        self.verified = set(verify_many(self._signature_jobs(items)))

    def _prior(self, items: Sequence[Item]) -> dict[tuple[str, str], tuple[int, bytes]]:
        """Leaves already holding the batch's (actor, nonce) pairs, via the (actor, nonce) index."""
        by_actor: dict[str, set[str]] = {}
        for item in items:
            if item.envelope is not None:
                by_actor.setdefault(item.envelope.actor, set()).add(item.envelope.nonce)
        found: dict[tuple[str, str], tuple[int, bytes]] = {}
        for actor, nonce_set in by_actor.items():
            nonces = sorted(nonce_set)
            for start in range(0, len(nonces), 500):
                chunk = nonces[start : start + 500]
                for nonce, seq, leaf in queries.leaves_by_nonce(self.sql, actor, chunk):
                    found[(actor, nonce)] = (seq, leaf)
        return found

    def _verify(self, env: Envelope, public_key: bytes) -> None:
        token = env.sig + public_key
        if token not in self.verified:
            env.verify_with(public_key)

    def _append_once(self, items: Sequence[Item], head: Head, now: dt.datetime) -> list[Outcome]:
        decider = Decider(self.lookup, self.key_owner, self.jurisdictions, self._verify)
        prior = self._prior(items)
        frontier = head.frontier.copy()
        recorded = now.astimezone(dt.UTC)
        recorded_at = format_recorded_at(recorded)
        if head.recorded_at is not None and head.recorded_at > recorded_at:
            recorded_at = head.recorded_at  # non-decreasing along seq (DESIGN §6)
        seq = head.size
        batch: dict[tuple[str, str], tuple[int, bytes]] = {}
        touched: dict[UUID, LedgerAggregate] = {}
        out: list[Outcome] = []
        ledger = Append()
        for item in items:
            env = item.envelope
            if env is None:
                assert item.error is not None
                out.append(Outcome.refused(item.error))
                continue
            try:
                if env.at > recorded + FUTURE_TOLERANCE:
                    raise FromTheFuture(
                        f"at {env.raw['at']} is more than five minutes ahead of the server clock"
                    )
                earlier = batch.get((env.actor, env.nonce)) or prior.get((env.actor, env.nonce))
                if earlier is not None:
                    if _leaf_envelope(earlier[1]) == env.canonical_bytes:
                        out.append(Outcome("duplicate", earlier[0]))
                        continue
                    raise NonceReused(
                        f"nonce {env.nonce!r} already used by {env.actor!r} at seq {earlier[0]}"
                    )
                subject = decider.decide(env, seq)
            except Refused as exc:
                out.append(Outcome.refused(exc))
                continue
            subject.record(env, seq, recorded_at)
            touched[subject.id] = subject
            leaf = leaf_bytes(seq, recorded_at, env)
            leaf_hash = merkle.leaf_hash(leaf)
            ledger.nodes.extend(frontier.append(leaf_hash))
            ledger.leaves.append(
                (seq, recorded_at, env.actor, env.type, env.nonce, leaf, leaf_hash,
                 subject.id.hex, subject.version)
            )  # fmt: skip
            if env.type in ("ActorRegistered", "KeyRotated"):
                raw_key = b64decode_strict(env.raw["body"]["public_key"])
                ledger.keys.append((key_id_of(raw_key), env.raw["body"]["actor_id"], seq))
            if item.vault is not None:
                if item.vault[0] in ledger.erased:  # stored again after an erasure in this batch
                    ledger.erased.remove(item.vault[0])
                ledger.vault.append((item.vault[0], env.actor, item.vault[1], item.vault[2]))
            if env.type == "PersonalDataErased":  # whether by `pii erase`, import or submit
                subject_id = env.raw["body"]["laborer_id"]
                ledger.vault = [v for v in ledger.vault if v[0] != subject_id]
                ledger.erased.append(subject_id)
            batch[(env.actor, env.nonce)] = (seq, leaf)
            out.append(Outcome("accepted", seq, recorded_at=recorded_at, leaf_hash=leaf_hash))
            seq += 1
        if ledger.leaves:
            try:
                self._store(touched.values(), ledger)
            except BaseException:
                self._cache.clear()
                self._head = None
                raise
            self._head = Head(seq, recorded_at, frontier)
        return out

    def _store(self, aggregates: Iterable[LedgerAggregate], ledger: Append) -> None:
        """Write the aggregates' new events and the log rows in one transaction.

        ``Application.save`` without its per-object ``isinstance`` checks against runtime
        protocols (about a tenth of an import's single-threaded time, issue 18) and its
        snapshot and notification hooks, which this application does not use.
        """
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        self.events.put(events, ledger=ledger)

    # --- checkpoints -------------------------------------------------------------------------------
    def latest_checkpoint(self) -> StoredCheckpoint | None:
        return queries.latest_checkpoint(self.sql)

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint ever signed: for verify and export, never to serve one request (DESIGN §8)."""
        return queries.all_checkpoints(self.sql)

    def checkpoints_of_size(self, size: int) -> list[StoredCheckpoint]:
        """The signings of the checkpoint of ``size`` (several when dual-signed), oldest first; indexed."""
        return queries.checkpoints_of_size(self.sql, size)

    def checkpoints_beside(self, size: int) -> list[StoredCheckpoint]:
        """The nearest checkpoints below and above ``size`` (to name them when ``size`` was never signed)."""
        return queries.checkpoints_beside(self.sql, size)

    def sign_checkpoint(
        self, origin: str, operator_key: Ed25519PrivateKey, *, min_interval: float = 0.0
    ) -> str | None:
        """Sign a checkpoint of the current tree unless one of this size exists (or is too recent)."""
        from ledger.translog.note import Checkpoint, sign_note

        head = self.head()
        latest = self.latest_checkpoint()
        if latest is not None and latest.size == head.size:
            return latest.note
        if latest is not None and min_interval > 0:
            last = dt.datetime.fromisoformat(latest.signed_at.replace("Z", "+00:00"))
            if (utc_now() - last).total_seconds() < min_interval:
                return None
        root = head.frontier.root()
        note = sign_note(Checkpoint(origin, head.size, root).body(), origin, operator_key)
        queries.insert_checkpoint(self.sql, StoredCheckpoint(head.size, root, note, format_recorded_at(utc_now())))
        return note

    # --- personal data --------------------------------------------------------------------------------
    def vault_record(self, subject_id: str) -> queries.VaultRecord | None:
        return queries.vault_record(self.sql, subject_id)

    # --- metadata ---------------------------------------------------------------------------------------
    def meta(self, name: str) -> str | None:
        return queries.meta(self.sql, name)

    def set_meta(self, name: str, value: str) -> None:
        queries.set_meta(self.sql, name, value)


def _named_subjects(env: Envelope) -> Iterator[tuple[type[LedgerAggregate], str]]:
    """The aggregates an envelope's decision will look at (for batch prefetching)."""
    yield Actor, env.actor
    cls, field_name = SUBJECT[env.type]
    yield cls, getattr(env.body, field_name)
    body = env.raw["body"]
    for key, kind in _REFERENCES:
        value = body.get(key)
        if isinstance(value, str):
            yield kind, value
    for trainee in body.get("trainees", ()):
        yield Laborer, trainee["laborer_id"]
    for line in body.get("lines", ()):
        yield Laborer, line["laborer_id"]
    for laborer_id in body.get("completers", ()):
        yield Laborer, laborer_id


def verify_many(jobs: Sequence[tuple[bytes, bytes, bytes]]) -> list[bytes]:
    """Tokens (sig + key) of the valid signatures among ``(sig, key, message)``, on all cores.

    libsodium releases the GIL, so threads use both cores without pickling messages.
    """
    if len(jobs) < 64:
        return _verify_chunk(jobs)
    size = (len(jobs) + _WORKERS - 1) // _WORKERS
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    return [token for part in _pool().map(_verify_chunk, chunks) for token in part]


def _verify_chunk(chunk: Sequence[tuple[bytes, bytes, bytes]]) -> list[bytes]:
    from ledger.domain.envelope import verify_ed25519
    from ledger.errors import SignatureInvalid

    good = []
    for sig, key, message in chunk:
        try:
            verify_ed25519(key, sig, message)
        except SignatureInvalid:
            continue
        good.append(sig + key)
    return good


_WORKERS = max(1, os.cpu_count() or 1)
_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_WORKERS, thread_name_prefix="ed25519")
    return _POOL


def leaf_bytes(seq: int, recorded_at: str, env: Envelope) -> bytes:
    """JCS of ``{"seq", "recorded_at", "envelope"}`` (DESIGN §6), reusing the envelope's bytes.

    The keys sort as envelope < recorded_at < seq, and the envelope's own canonical bytes are
    already JCS, so concatenation is the canonical form (tests compare with ``canonical``).
    """
    return b"".join(
        (b'{"envelope":', env.canonical_bytes, b',"recorded_at":"', recorded_at.encode("ascii"),
         b'","seq":', str(seq).encode("ascii"), b"}")
    )  # fmt: skip


def _leaf_envelope(leaf: bytes) -> bytes:
    from ledger.encoding.canonical import loads_strict

    return canonical(loads_strict(leaf)["envelope"])


def _lost_in_pipeline(exc: BaseException) -> bool:
    """Whether PostgreSQL aborted the append's pipeline (psycopg's ``PipelineAborted``): a statement
    before it failed — under concurrent writers, the lost race on a seq — and the transaction was
    rolled back whole, nothing committed, so the append is tried again like any lost race (issue 13:
    two of 600 writes under load were answered 503 with "pipeline aborted" instead)."""
    try:
        from psycopg.errors import PipelineAborted
    except ImportError:  # no PostgreSQL driver: no pipeline
        return False
    return isinstance(exc.__cause__, PipelineAborted)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def iter_chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    chunk: list[_T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
