"""What follows the writes (issue 13): the projections' catch-up and the operator's checkpoint.

A request appends and answers; it neither projects nor signs. Its write wakes this process's
:class:`Follower`, a thread that, when it holds the turn, signs a checkpoint over the new leaves
(at most once per ``checkpoint_interval`` while writes arrive, DESIGN §6) and projects them in
short steps, so a read is fresh within about a second (reads still catch up what is left, so
they are never stale). The turn is one runner at a time across the server's processes: on
PostgreSQL a session advisory lock that the others *try* and skip (their next poll sees what the
holder missed); SQLite has one worker. Every follower also polls, so a write another process
accepted is followed even when this one's follower lost the turn.

Under ``serve`` the follower is not in a worker at all: the supervisor process (which otherwise
only watches its workers) runs it (:mod:`api.cli.serve`), so projecting and signing never take a
worker's interpreter lock from its requests (26 % of a worker's samples under load,
docs/performance.md). The workers' followers are *passive* (``Settings.follow`` false): they only
append, and the supervisor's follower finds their writes by polling. An app built with the
default settings (tests, an embedding) follows in its own process.

At shutdown (uvicorn finishes the requests in flight first, then runs the lifespan's end), the
follower stops and signs the last checkpoint, so every envelope that got its 201 is covered; under
``serve``, the supervisor's follower does so after the last worker has exited.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api import services
from api.http.prepared import SEALED
from ledger.application import Item, Outcome
from ledger.keys.signing import IntentSigner
from ledger.service import Session

if TYPE_CHECKING:
    from api.http.prepared import PreparedIntents

log = logging.getLogger("api.http")

RUNNER_LOCK = 640400_2026  # PostgreSQL advisory lock: the one follower at work across workers
STEP = 2000  # leaves projected per step: a checkpoint that falls due waits at most one step
POLL = 0.25  # seconds between looks at the log when no write of this process woke the follower
SETTLE = 0.2  # seconds a woken follower waits, so one catch-up and one checkpoint serve many writes


@dataclass
class ServerSession(Session):
    """The server's session: a write ends by waking the :class:`Follower`, which signs and
    projects for it, instead of signing a checkpoint inside the request."""

    follower: Follower | None = None
    appender: Appender | None = None
    prepared: PreparedIntents | None = None

    def parse(self, text: str, signer: IntentSigner | None) -> Item:
        """An envelope signed from a prepared intent takes its sealed vault record along (DESIGN §7)."""
        item = super().parse(text, signer)
        if self.prepared is not None:
            self.prepared.attach(item)
        return item

    def checkpoint_after_write(self, *, min_interval: float = 0.0) -> str | None:
        if self.follower is None:  # not serving (yet): as any operator's session
            return super().checkpoint_after_write(min_interval=min_interval)
        # An interval of 0 asks for a checkpoint after every write (tests, demos): signed here.
        signed = super().checkpoint_after_write() if self.checkpoint_interval <= 0 else None
        self.follower.wake()
        return signed

    def sign_missing_checkpoint(self) -> int | None:
        """While serving, the follower signs what is uncovered: at most once per interval across
        every worker (it holds the turn), and once more when it stops."""
        if self.follower is None:
            return super().sign_missing_checkpoint()
        self.follower.wake()
        return None


async def submit_async(session: Session, text: str) -> tuple[Outcome, str | None]:
    """One signed envelope through the server's group commit without a pool thread per request:
    parsed on the event loop, appended by the :class:`Appender`, its outcome awaited; with the
    envelope's type. A prepared intent's vault record is looked up on a thread (a query), as
    :meth:`ServerSession.parse` would. Not serving (no appender): :func:`submit_signed` on a thread."""
    from ledger.keys.signing import parse_line

    if not isinstance(session, ServerSession) or session.appender is None:
        return await run_in_threadpool(submit, session, text)
    item = parse_line(text, None)
    if session.prepared is not None and item.envelope is not None and item.envelope.type in SEALED:
        await run_in_threadpool(session.prepared.attach, item)
    return await session.appender.append_async(item), _type(item)


def submit(session: Session, text: str) -> tuple[Outcome, str | None]:
    """:func:`submit_async` from a thread: parsed here, appended by the appender (waited for)."""
    item = session.parse(text, None)
    return _append_one(session, item).outcome, _type(item)


def _type(item: Item) -> str | None:
    return None if item.envelope is None else item.envelope.type


def submit_signed(session: Session, text: str) -> services.Recorded:
    """:func:`api.services.submit_signed` without the catch-up, which the follower does."""
    return _append_one(session, session.parse(text, None))


def _append_one(session: Session, item: Item) -> services.Recorded:
    if isinstance(session, ServerSession) and session.appender is not None:
        return services.Recorded(session.appender.append(item))
    outcome = session.ledger.append([item])[0]
    if outcome.status == "accepted":
        session.checkpoint_after_write(min_interval=session.checkpoint_interval)
    return services.Recorded(outcome)


class Appender:
    """Group commit: the single envelopes a worker's requests submit at the same moment are
    appended together by one thread — one transaction, one read of the head — and each request
    gets its own outcome, exactly as if appended one after another in that order (a batch's
    decisions are sequential: DESIGN §6). It has its own session, so no request's lock is held
    while it appends; a failure of the whole append (the database) fails that group's requests."""

    LARGEST = 256  # envelopes per group: bounds the transaction a slow disk holds

    def __init__(self, session: Session, wake: Callable[[], None], checkpoint_interval: float):
        self.session = session
        self.wake = wake
        self.interval = checkpoint_interval
        self._queue: queue.SimpleQueue[tuple[Item, Future[Outcome]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="ledger-appender", daemon=True)

    def start(self) -> Appender:
        self._thread.start()
        return self

    def append(self, item: Item) -> Outcome:
        done: Future[Outcome] = Future()
        self._queue.put((item, done))
        return done.result()

    async def append_async(self, item: Item) -> Outcome:
        """:meth:`append` awaited on the event loop (no thread waits for it). A request cancelled
        before its group is taken is not appended; once taken, it is appended and answered."""
        done: Future[Outcome] = Future()
        self._queue.put((item, done))
        return await asyncio.wrap_future(done)

    def stop(self) -> None:
        """After the requests in flight (uvicorn finished them): nothing is queued any more."""
        self._queue.put(None)
        if self._thread.ident is not None:
            self._thread.join()
        self.session.close()

    def _after_write(self) -> None:
        """Wake the follower; with an interval of 0, sign first, so the 201 comes with a checkpoint."""
        if self.interval <= 0:
            try:
                self.session.checkpoint_after_write()
            except Exception as exc:  # the append stands; the follower signs on its next round
                log.warning("no checkpoint after a write: %s: %s", type(exc).__name__, exc)
        self.wake()

    def _run(self) -> None:
        while (first := self._queue.get()) is not None:
            group = [first]
            stopping = False
            while len(group) < self.LARGEST:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                    break
                group.append(more)
            group = [(item, done) for item, done in group if done.set_running_or_notify_cancel()]
            if group:  # a request cancelled before its group was taken is not appended
                try:
                    outcomes = self.session.ledger.append([item for item, _ in group])
                except BaseException as exc:  # each request answers it (a problem document)
                    for _, done in group:
                        done.set_exception(exc)
                else:
                    if any(o.status == "accepted" for o in outcomes):
                        self._after_write()
                    for (_, done), outcome in zip(group, outcomes, strict=True):
                        done.set_result(outcome)
            if stopping:
                return


class Follower:
    """One process's follower of the log: its own session (connections and tree head), one thread.

    A *passive* follower (``active=False``: another process follows, :func:`follow`) has neither:
    waking it does nothing and stopping it only stops the appender."""

    def __init__(self, db_url: str, keys_dir: str, checkpoint_interval: float, poll: float = POLL, active: bool = True):
        self.active = active
        self.session = Session.open(db_url, keys_dir) if active else None
        self.interval = checkpoint_interval
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-follower", daemon=True)
        self.appender: Appender | None = None

    def start(self) -> Follower:
        if self.active:
            self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop appending and following, and sign the final checkpoint (waiting for the turn a few seconds)."""
        if self.appender is not None:
            self.appender.stop()
        self._stop.set()
        self._wake.set()
        if self._thread.ident is not None:  # started
            self._thread.join()
        if self.session is None:  # passive: the process that follows signs
            return
        try:
            with self._turn(wait=5.0) as mine:
                if mine:
                    self.session.checkpoint_after_write()
        except Exception as exc:  # the log is the record; the next start signs what is uncovered
            log.warning("no final checkpoint: %s: %s", type(exc).__name__, exc)
        finally:
            self.session.close()

    # --- the thread -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll)
            if self._stop.wait(min(SETTLE, self.interval)):  # the writes of the next moment join this round
                return
            self._wake.clear()
            try:
                self.follow()
            except Exception as exc:  # a rule's bug or a lost connection: say so, try again later
                log.warning("projections did not catch up: %s: %s", type(exc).__name__, exc)
                self._stop.wait(1.0)

    def follow(self) -> None:
        """If this process gets the turn: sign when due, and project step by step to the log's end."""
        from projections.runner.catchup import catch_up, position

        assert self.session is not None  # the thread runs only when active
        with self._turn() as mine:
            if not mine:
                return
            ledger = self.session.ledger
            while not self._stop.is_set():
                self.session.checkpoint_after_write(min_interval=self.interval)
                size, projected = ledger.size(), position(self._engine())
                if projected >= size:
                    return
                catch_up(ledger, stop=min(size, projected + STEP))

    def lag(self) -> int:
        """Leaves in the log not projected yet."""
        from projections.runner.catchup import position

        assert self.session is not None
        return max(self.session.ledger.size() - position(self._engine()), 0)

    def _engine(self) -> Engine:
        from projections.db import engine_for

        assert self.session is not None
        return engine_for(self.session.ledger)

    @contextmanager
    def _turn(self, wait: float = 0.0) -> Iterator[bool]:
        """Whether this process may follow now: always on SQLite (one worker); on PostgreSQL
        while it holds :data:`RUNNER_LOCK` (tried, or awaited up to ``wait`` seconds)."""
        from projections.db import is_postgres

        engine = self._engine()
        if not is_postgres(engine):
            yield True
            return
        with engine.connect() as conn:
            got = False
            for _ in range(max(int(wait / 0.05), 1)):
                got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": RUNNER_LOCK}).scalar())
                conn.commit()
                if got or wait <= 0:
                    break
                time.sleep(0.05)
            try:
                yield got
            finally:
                if got:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RUNNER_LOCK})
                    conn.commit()


def follow(session: Session, db_url: str, keys_dir: str, checkpoint_interval: float, active: bool = True) -> Follower:
    """Start following for a server whose session is ``session`` (its writes then wake the follower);
    with ``active`` false, only appending (another process follows: ``serve``'s supervisor)."""
    follower = Follower(db_url, keys_dir, checkpoint_interval, active=active).start()
    if isinstance(session, ServerSession):
        session.follower = follower
        session.appender = follower.appender = Appender(Session.open(db_url, keys_dir), follower.wake, checkpoint_interval).start()
    return follower
