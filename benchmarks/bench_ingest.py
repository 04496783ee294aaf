"""Ingest throughput against its limits, measured side by side in one run (issue #2).

(a) Ed25519 verifications/s with ``cryptography`` on one core — the physical limit of ingest —
    and, beside it, libsodium (PyNaCl) on one core and on every core;
(b) bare ``eventsourcing`` saves/s of equivalent *unsigned* events, batched, with the very
    recorder class the ledger uses;
(c) this ledger's import of signed envelopes (parse, schema, signature, domain decision, leaf,
    Merkle nodes, one transaction per batch), events/s;
(d) the single-envelope submit path (one transaction per event), events/s;
(e) the same recorder's bare one-save-per-event rate.
Ratios printed: c/a, c/b, d/e. Ingest excludes projection catch-up (measured elsewhere).
The event mix is the simulator's (``--scale small``: one county season) when available.

    python benchmarks/bench_ingest.py [--backend sqlite|postgres|both] [--events N] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402
from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate  # noqa: E402

from ledger.application import verify_many  # noqa: E402
from ledger.domain.envelope import Envelope  # noqa: E402
from ledger.keys.signing import parse_line  # noqa: E402
from ledger.persistence.store import DatabaseURL  # noqa: E402
from ledger.service import Session  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from common import PG_ADMIN, drop_pg_database, pg_url  # noqa: E402


# --- databases ------------------------------------------------------------------------------------
class Database:
    def __init__(self, backend: str, tmp: Path):
        self.backend, self.tmp, self.names = backend, tmp, []

    def new(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.tmp / (uuid.uuid4().hex[:8] + '.db')}"
        import psycopg

        name = "ledger_bench_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return pg_url(name)

    def drop_all(self) -> None:
        for name in self.names:
            drop_pg_database(name)


SMALL_SCALE_EVENTS = 5_500  # simulate("small", seed=7) yields ~6,000 events; more need the city

# --- workload ------------------------------------------------------------------------------------------
def workload(events: int, keys_dir: Path, db_url: str) -> tuple[Session, list[str]]:
    """A ledger with the simulator's actors registered, and ``events`` signed envelope lines."""
    from simulator import simulate

    session = Session.open(db_url, keys_dir)
    session.checkpoint_interval = 0
    session.init()
    sim = simulate("small" if events <= SMALL_SCALE_EVENTS else "city", seed=7, misuse_rate=0.0)
    for actor in sim.actors:
        session.add_actor(actor.actor_id, actor.role, actor.jurisdiction, actor.name, None, actor.uscc)
    signer = session.signer()
    lines: list[str] = []
    for intent in sim.intents():
        if "key_of" in intent:
            continue
        item = signer.sign(intent)
        assert item.envelope is not None
        lines.append(json.dumps(item.envelope.raw, ensure_ascii=False))
        if len(lines) >= events:
            break
    if len(lines) < events:
        raise SystemExit(f"the simulation gave {len(lines)} events, fewer than the {events} asked for")
    return session, lines


def clone_keys(src: Path, dst: Path) -> None:
    import shutil

    shutil.copytree(src, dst, dirs_exist_ok=True)


# --- (a) signature limits ---------------------------------------------------------------------------------
def signature_limits(envelopes: list[Envelope], keys: dict[str, bytes]) -> dict[str, float]:
    jobs = [(e.sig, keys[e.key_id], e.signing_bytes) for e in envelopes if e.key_id in keys][:6000]
    pubs = {k: Ed25519PublicKey.from_public_bytes(v) for k, v in keys.items()}
    by_key = {v: pubs[k] for k, v in keys.items()}
    start = time.perf_counter()
    for sig, key, message in jobs:
        by_key[key].verify(sig, message)
    openssl = len(jobs) / (time.perf_counter() - start)
    from nacl.bindings import crypto_sign_open

    start = time.perf_counter()
    for sig, key, message in jobs:
        crypto_sign_open(sig + message, key)
    sodium = len(jobs) / (time.perf_counter() - start)
    start = time.perf_counter()
    assert len(verify_many(jobs)) == len(jobs)
    sodium_all = len(jobs) / (time.perf_counter() - start)
    return {"cryptography_1core": openssl, "pynacl_1core": sodium, "pynacl_all_cores": sodium_all}


# --- (b, e) bare eventsourcing ------------------------------------------------------------------------------
class Subject(Aggregate):
    class Happened(Aggregate.Event):
        body: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.count = getattr(aggregate, "count", 0) + 1


def bare_eventsourcing(db_url: str, bodies: list[tuple[str, dict[str, Any]]], batch: int | None) -> float:
    """Save one event per body on an aggregate per subject, with the ledger's recorder class."""
    env = DatabaseURL(db_url).eventsourcing_env("Bare")
    app: Application = Application(env)
    aggregates: dict[str, Subject] = {}
    start = time.perf_counter()
    pending: dict[str, Subject] = {}
    for subject, body in bodies:
        agg = aggregates.get(subject)
        if agg is None:
            agg = Subject.__new__(Subject)
            agg.__base_init__(uuid.uuid5(uuid.NAMESPACE_URL, subject), 0, Subject.Happened.create_timestamp())
            aggregates[subject] = agg
        agg.trigger_event(Subject.Happened, body=body)
        if batch is None:
            app.save(agg)
        else:
            pending[subject] = agg
            if sum(len(a.pending_events) for a in pending.values()) >= batch:
                app.save(*pending.values())
                pending = {}
    if pending:
        app.save(*pending.values())
    rate = len(bodies) / (time.perf_counter() - start)
    app.factory.close()
    return rate


# --- (c, d) the ledger ----------------------------------------------------------------------------------------
def ledger_import(session: Session, lines: list[str]) -> float:
    """The `import` verb's own path (Session.import_lines), minus reading the file."""
    start = time.perf_counter()
    bad = [o for _, o in session.import_lines(lines, sign=False) if o.status != "accepted"]
    assert not bad, bad[:2]
    return len(lines) / (time.perf_counter() - start)


def ledger_submit(session: Session, lines: list[str]) -> float:
    start = time.perf_counter()
    for text in lines:
        outcome = session.ledger.append([parse_line(text, None)])[0]
        assert outcome.status == "accepted", outcome
    return len(lines) / (time.perf_counter() - start)


def run_backend(backend: str, events: int, singles: int, runs: int) -> dict[str, Any]:
    results: dict[str, list[float]] = {k: [] for k in ("c_import", "d_submit", "b_bare_batched", "e_bare_single")}
    limits: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = Database(backend, tmp)
        try:
            for run in range(runs):
                session, lines = workload(events + singles, tmp / f"keys{run}", db.new())
                bulk, single = lines[:events], lines[events:]
                envelopes = [Envelope.from_dict(json.loads(x)) for x in bulk[:6000]]
                keys = _registered_keys(session)
                for name, value in signature_limits(envelopes, keys).items():
                    limits.setdefault(name, []).append(value)
                results["c_import"].append(ledger_import(session, bulk))
                results["d_submit"].append(ledger_submit(session, single))
                session.close()
                bodies = [(_subject(x), json.loads(x)["body"]) for x in lines]
                results["b_bare_batched"].append(bare_eventsourcing(db.new(), bodies[:events], 500))
                results["e_bare_single"].append(bare_eventsourcing(db.new(), bodies[events:], None))
        finally:
            db.drop_all()
    med = {k: statistics.median(v) for k, v in {**results, **limits}.items()}
    return {
        "backend": backend, "events": events, "single_events": singles, "runs": runs,
        **{k: round(v) for k, v in med.items()},
        "ratio_c_over_a": round(med["c_import"] / med["cryptography_1core"], 3),
        "ratio_c_over_b": round(med["c_import"] / med["b_bare_batched"], 3),
        "ratio_d_over_e": round(med["d_submit"] / med["e_bare_single"], 3),
    }  # fmt: skip


def _registered_keys(session: Session) -> dict[str, bytes]:
    from ledger.domain.envelope import key_id_of
    from ledger.encoding.b64 import b64decode_strict

    keys = {}
    for _, _, leaf in session.ledger.leaves():
        env = json.loads(leaf)["envelope"]
        if env["type"] in ("ActorRegistered", "KeyRotated"):
            raw = b64decode_strict(env["body"]["public_key"])
            keys[key_id_of(raw)] = raw
    return keys


def _subject(line: str) -> str:
    from ledger.domain.aggregates import SUBJECT

    env = json.loads(line)
    return env["type"] + ":" + str(env["body"].get(SUBJECT[env["type"]][1]))


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    return parser


def main() -> None:
    args = arguments().parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    report = {"cores": os.cpu_count(), "results": [run_backend(b, args.events, args.singles, args.runs) for b in backends]}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for r in report["results"]:
        print(f"[{r['backend']}] {r['events']} events, median of {r['runs']} runs, {report['cores']} cores")
        print(f"  (a) Ed25519 verify, cryptography 1 core : {r['cryptography_1core']:>8}/s"
              f"   (PyNaCl 1 core {r['pynacl_1core']}/s, all cores {r['pynacl_all_cores']}/s)")
        print(f"  (b) bare eventsourcing, batched        : {r['b_bare_batched']:>8}/s")
        print(f"  (c) ledger import (signed)             : {r['c_import']:>8}/s   c/a = {r['ratio_c_over_a']}   c/b = {r['ratio_c_over_b']}")
        print(f"  (d) ledger submit, one tx per event    : {r['d_submit']:>8}/s   d/e = {r['ratio_d_over_e']}")
        print(f"  (e) bare eventsourcing, one save each  : {r['e_bare_single']:>8}/s")


if __name__ == "__main__":
    main()
