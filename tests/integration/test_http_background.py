"""The server's follower (api.http.background) on each backend: a write wakes it rather than
signing or projecting in the request; it projects and signs when it holds the turn; on PostgreSQL
one follower at a time across processes; the final checkpoint covers every accepted envelope."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from api.http.background import RUNNER_LOCK, Appender, Follower, ServerSession, submit_signed
from ledger.domain.envelope import sign_envelope
from projections.db import engine_for, is_postgres
from projections.runner.catchup import position

COUNTY = "640422"


def _ledger(db_url: str, keys: Path) -> None:
    from ledger.service import Session

    session = Session.open(db_url, keys)
    session.init()
    session.add_actor(f"fin-{COUNTY}", "finance_bureau", COUNTY, "西吉县财政局")
    session.close()


def _envelope(session: ServerSession, n: int) -> str:
    body = {"fund_id": f"F-BG-{n}", "jurisdiction": COUNTY, "source": "central", "purpose": "training",
            "year": 2019, "amount_fen": 100000}  # fmt: skip
    unsigned = {"type": "FundAllocated", "actor": f"fin-{COUNTY}", "at": "2019-06-10T10:00:00+08:00",
                "nonce": f"bg-nonce-{n:04d}", "body": body}  # fmt: skip
    return json.dumps(sign_envelope(unsigned, session.keys.actor_key(f"fin-{COUNTY}")))


def test_writes_wake_the_follower_which_projects_and_signs_for_them(db_url: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    _ledger(db_url, keys)
    session = ServerSession.open(db_url, keys)
    follower = Follower(db_url, str(keys), checkpoint_interval=0)  # not started: driven by hand here
    session.follower = follower
    try:
        signed_before = session.ledger.latest_checkpoint()
        projected_before = position(engine_for(session.ledger))
        for n in range(3):
            assert submit_signed(session, _envelope(session, n)).outcome.status == "accepted"
        assert follower._wake.is_set()  # the request only woke it: nothing signed, nothing projected
        assert session.ledger.latest_checkpoint() == signed_before
        assert position(engine_for(session.ledger)) == projected_before
        follower.follow()
        size = session.ledger.size()
        assert follower.lag() == 0 and position(engine_for(session.ledger)) == size
        latest = session.ledger.latest_checkpoint()
        assert latest is not None and latest.size == size
    finally:
        follower.stop()
        session.close()


def test_a_follower_without_the_turn_leaves_the_log_to_the_one_that_has_it(db_url: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    _ledger(db_url, keys)
    session = ServerSession.open(db_url, keys)
    follower = Follower(db_url, str(keys), checkpoint_interval=0)
    try:
        assert submit_signed(session, _envelope(session, 9)).outcome.status == "accepted"  # no follower: signs
        engine = engine_for(session.ledger)
        if not is_postgres(engine):  # SQLite: one worker, always its turn
            follower.follow()
            assert follower.lag() == 0
            return
        with engine.connect() as other:  # another worker's follower holds the turn
            assert other.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": RUNNER_LOCK}).scalar()
            other.commit()
            lag = follower.lag()
            follower.follow()
            assert lag > 0 and follower.lag() == lag
            other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RUNNER_LOCK})
            other.commit()
        follower.follow()
        assert follower.lag() == 0
    finally:
        follower.stop()
        session.close()


def test_concurrent_submits_are_appended_together_each_with_its_own_outcome(db_url: str, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ledger.keys.signing import parse_line
    from ledger.service import Session

    keys = tmp_path / "keys"
    _ledger(db_url, keys)
    session = ServerSession.open(db_url, keys)
    woken: list[bool] = []
    appender = Appender(Session.open(db_url, keys), lambda: woken.append(True), checkpoint_interval=1).start()
    try:
        texts = [_envelope(session, n) for n in range(24)]
        texts.append(texts[0])  # the same envelope again, possibly in the same group
        with ThreadPoolExecutor(max_workers=12) as pool:
            outcomes = list(pool.map(lambda text: appender.append(parse_line(text, None)), texts))
        first, again = outcomes[0], outcomes[-1]  # whichever of the two came first is accepted
        assert {first.status, again.status} == {"accepted", "duplicate"} and first.seq == again.seq
        accepted = [o.seq for o in outcomes if o.status == "accepted"]
        assert len(accepted) == 24 and sorted(accepted) == list(range(min(accepted), min(accepted) + 24))
        assert woken
    finally:
        appender.stop()
        session.close()


def test_a_passive_worker_only_appends_and_the_supervisors_follower_follows_its_writes(db_url: str, tmp_path: Path) -> None:
    """``serve --workers N``: a worker's follower is passive (``Settings.follow`` false) — its writes
    are neither projected nor signed in its process, even once it stops — and the follower of the
    supervisor process, which no write wakes, finds them on its next round and covers them."""
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.http.settings import Settings

    keys = tmp_path / "keys"
    _ledger(db_url, keys)
    writer = ServerSession.open(db_url, keys)
    supervisor = Follower(db_url, str(keys), checkpoint_interval=0)  # driven by hand: no poll here
    try:
        signed_before = writer.ledger.latest_checkpoint()
        settings = Settings(db_url, str(keys), checkpoint_interval=0.05, follow=False)
        with TestClient(create_app(settings)) as worker:
            for n in range(3):
                answer = worker.post("/v1/events", content=_envelope(writer, 20 + n), headers={"content-type": "application/json"})
                assert answer.status_code == 201, answer.text
        size = writer.ledger.size()  # the worker has stopped (its lifespan's end): nothing signed or projected
        assert writer.ledger.latest_checkpoint() == signed_before
        assert position(engine_for(writer.ledger)) < size and supervisor.lag() > 0
        supervisor.follow()
        assert supervisor.lag() == 0
        latest = writer.ledger.latest_checkpoint()
        assert latest is not None and latest.size == size
    finally:
        supervisor.stop()
        writer.close()
