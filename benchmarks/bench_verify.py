"""Benchmark: ``verify`` throughput against the Ed25519 limit, measured in the same run.

    .venv/bin/python benchmarks/bench_verify.py                     # 20k signed events
    .venv/bin/python benchmarks/bench_verify.py --events 100000
    .venv/bin/python benchmarks/bench_verify.py --db sqlite:///ledger.db --keys keys   # an existing ledger
    .venv/bin/python benchmarks/bench_verify.py --db postgresql://postgres@127.0.0.1:5432/bench_rebuild_100000 \
        --keys /tmp/bench_rebuild/keys-postgres-100000                                 # on PostgreSQL

``benchmarks/run.py`` verifies ``bench_rebuild.py``'s cached CityMix ledgers this way, on SQLite
and on PostgreSQL, at every size of its plan (growth).

Without --db, builds a SQLite ledger of N signed events (a class-training mix: registrations, identity
checks, class openings and approvals, enrolments, daily attendance of the whole class of 40 —
2 KB envelopes —, completions), every one signed with real keys and appended through
``Ledger.append``; then, in this process:

1. ``verify`` of the whole ledger (every leaf, signature, Merkle node, checkpoint) on all cores;
2. Ed25519 verifications per second on one core (per CPU second, so that other work on a
   shared machine does not count), over the same ledger's (key, signature, message) triples,
   with ``cryptography`` (OpenSSL) and with PyNaCl (libsodium), × cores.

The ratio verify events/s ÷ (one-core Ed25519/s × cores) says how close ``verify`` gets to the
physical limit (LIMITS.md); the target is ≥ 0.8 of the ``cryptography`` rate. On a machine busy
with other work that wall-clock ratio is starved; two more figures are printed that are not: the
ratio to Ed25519 measured at the same moment on as many processes as ``verify`` uses, and the
CPU-time ratio (verified events per CPU second of ``verify`` and its workers ÷ one-core Ed25519
rate per CPU second), which is the wall-clock ratio an idle machine would show when the work
spreads over all cores. Verify rounds are interleaved with the Ed25519 measurements; medians.
Prints JSON, then a human summary. Not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from ledger.application import Item, Ledger, iter_chunks  # noqa: E402
from ledger.domain.envelope import Envelope, sign_envelope  # noqa: E402
from ledger.keys.keystore import Keystore  # noqa: E402
from ledger.service import Session  # noqa: E402
from ledger.translog.verify import load_operator_verifiers, verify_ledger  # noqa: E402

ACTORS = [
    ("tw-jq", "township", "640422", "西吉县吉强镇人民政府"),
    ("pov-xj", "poverty_office", "640422", "西吉县扶贫开发办公室"),
    ("inst-xj", "institution", "640422", "西吉县职业技术学校"),
    ("hr-xj", "hr_bureau", "640422", "西吉县人力资源和社会保障局"),
]
CLASS_SIZE = 40
DAYS = 20


def intents(n: int) -> Any:
    """About ``n`` unsigned envelopes: per class of 40, 143 events (~14 % attendance days of 2 KB)."""
    emitted = 0
    c = 0
    while True:
        c += 1
        cid = f"CLS-2019-640422-{c:05d}"
        laborers = [f"L-640422-{c:05d}-{i:02d}" for i in range(CLASS_SIZE)]
        batch: list[tuple[str, str, dict[str, Any], str]] = []
        for i, lid in enumerate(laborers):
            batch.append(("tw-jq", "LaborerRegistered", {
                "laborer_id": lid, "household_id": f"H-{c:05d}-{i // 3:02d}", "jurisdiction": "640422",
                "township": "吉强镇", "village": "龙王坝村", "birth_date": "1988-03-15", "gender": "female",
                "category": "poor", "id_fingerprint": f"{c * 100 + i:064x}", "pii_commitment": f"{c * 100 + i + 7:064x}",
            }, "2019-03-01"))  # fmt: skip
            batch.append(("pov-xj", "IdentityConfirmed", {"laborer_id": lid, "basis": "建档立卡系统比对"}, "2019-03-05"))
        batch.append(("inst-xj", "ClassOpeningRequested", {
            "class_id": cid, "programme": "employment_skill", "occupation": "中式面点", "in_catalog": True,
            "jurisdiction": "640422", "site": "西吉县职业技术学校实训楼", "planned_start": "2019-04-01",
            "planned_end": "2019-04-30", "capacity": CLASS_SIZE, "hours_per_day": 8, "practical_percent": 70,
            "subsidy_per_trainee_fen": 150000,
        }, "2019-03-10"))  # fmt: skip
        batch.append(("hr-xj", "ClassOpeningApproved", {"class_id": cid}, "2019-03-15"))
        batch += [("inst-xj", "TraineeEnrolled", {"class_id": cid, "laborer_id": lid}, "2019-03-20") for lid in laborers]
        for d in range(1, DAYS + 1):
            batch.append(("inst-xj", "AttendanceRecorded", {"class_id": cid, "date": f"2019-04-{d:02d}", "trainees": [
                {"laborer_id": lid, "theory_hours": 2, "practical_hours": 6} for lid in laborers]}, f"2019-04-{d:02d}"))  # fmt: skip
        batch.append(("inst-xj", "ClassCompleted", {"class_id": cid, "end_date": "2019-04-30",
                                                    "completers": laborers}, "2019-04-30"))  # fmt: skip
        for actor, type_, body, day in batch:
            if emitted >= n:
                return
            emitted += 1
            yield {"actor": actor, "type": type_, "at": f"{day}T10:00:00+08:00", "nonce": f"bench-{emitted:09d}",
                   "body": body}  # fmt: skip


def build(events: int, folder: Path) -> tuple[str, Path]:
    db = f"sqlite:///{folder / 'ledger.db'}"
    session = Session.open(db, folder / "keys")
    session.checkpoint_interval = 0
    session.init()
    for actor_id, role, code, name in ACTORS:
        session.add_actor(actor_id, role, code, name)
    keys: dict[str, Ed25519PrivateKey] = {a[0]: session.keys.actor_key(a[0]) for a in ACTORS}
    started = time.perf_counter()
    done = 0
    for chunk in iter_chunks(intents(events), 1000):
        items = [Item(Envelope.from_dict(sign_envelope(i, keys[i["actor"]]))) for i in chunk]
        outcomes = session.ledger.append(items)
        bad = [o for o in outcomes if o.status != "accepted"]
        assert not bad, bad[0]
        done += len(chunk)
        if done % 20000 == 0:
            session.checkpoint()
            print(f"built {done}/{events} ({done / (time.perf_counter() - started):,.0f}/s)", file=sys.stderr, flush=True)
    session.checkpoint()
    session.close()
    return db, folder / "keys"


def triples(ledger: Ledger, limit: int) -> list[tuple[bytes, bytes, bytes]]:
    """(raw key, signature, signed bytes) of the ledger's own envelopes."""
    from ledger.encoding.b64 import b64decode_strict

    keys: dict[str, bytes] = {}
    out = []
    for _, _, leaf in ledger.leaves(0, None):
        env = Envelope.from_dict(json.loads(leaf)["envelope"])
        if env.type in ("ActorRegistered", "KeyRotated"):
            from ledger.domain.envelope import key_id_of

            raw = b64decode_strict(env.raw["body"]["public_key"])
            keys[key_id_of(raw)] = raw
        out.append((keys[env.key_id], env.sig, env.signing_bytes))
        if len(out) >= limit:
            break
    return out


def rate_cryptography(samples: list[tuple[bytes, bytes, bytes]], seconds: float) -> float:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    loaded = [(Ed25519PublicKey.from_public_bytes(k), s, m) for k, s, m in samples]
    n, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for key, sig, msg in loaded:
            key.verify(sig, msg)
        n += len(loaded)
    return n / (time.process_time() - cpu)  # per CPU second: other work on the machine does not count


def rate_nacl(samples: list[tuple[bytes, bytes, bytes]], seconds: float) -> float:
    from nacl.bindings import crypto_sign_open

    n, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for key, sig, msg in samples:
            crypto_sign_open(sig + msg, key)
        n += len(samples)
    return n / (time.process_time() - cpu)


def _pool_rate(args: tuple[str, list[tuple[bytes, bytes, bytes]], float]) -> float:
    kind, samples, seconds = args
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    loaded = [(Ed25519PublicKey.from_public_bytes(k), s, m) for k, s, m in samples]
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for key, sig, msg in loaded:
            key.verify(sig, msg)
        n += len(loaded)
    return n / (time.perf_counter() - started)  # wall clock: what the machine gives right now


def rate_all_cores(kind: str, samples: list[tuple[bytes, bytes, bytes]], workers: int, seconds: float) -> float:
    """Ed25519 verifications/s on ``workers`` processes at once: the limit as this machine stands now."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return sum(pool.map(_pool_rate, [(kind, samples, seconds)] * workers))


def cpu_seconds() -> float:
    import resource

    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--db", help="verify this existing ledger (SQLite or PostgreSQL URL) instead of building one")
    parser.add_argument("--keys", help="its keystore (operator.pub)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--serial", action="store_true", help="also time verify in one process")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="build into (or reuse the ledger already in) this folder")
    return parser


def main() -> None:
    args = arguments().parse_args()
    cores = os.cpu_count() or 1
    tmp = tempfile.TemporaryDirectory(prefix="bench-verify-")
    if args.db:
        db, keys_dir = args.db, Path(args.keys or "keys")
        built = None
    elif args.dir is not None and (args.dir / "ledger.db").exists():
        db, keys_dir, built = f"sqlite:///{args.dir / 'ledger.db'}", args.dir / "keys", None
    else:
        folder = args.dir or Path(tmp.name)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        db, keys_dir = build(args.events, folder)
        built = time.perf_counter() - t0
    ledger = Ledger.open(db)
    verifiers = load_operator_verifiers(Keystore(keys_dir))
    size = ledger.size()

    # Rounds interleave verify with the one-core Ed25519 measurements, so that a machine busy
    # with other work weighs on both sides of the ratio alike; medians are reported.
    samples = triples(ledger, 2000)
    runs, cpu, crypto, nacl, crypto_all = [], [], [], [], []
    for _ in range(args.rounds):
        crypto.append(rate_cryptography(samples, 1.5))
        nacl.append(rate_nacl(samples, 1.5))
        crypto_all.append(rate_all_cores("cryptography", samples, args.workers, 1.5))
        before = cpu_seconds()
        runs.append(verify_ledger(ledger, verifiers, workers=args.workers))  # no trust anchor: a first verify
        cpu.append(cpu_seconds() - before)
    serial = verify_ledger(ledger, verifiers, workers=0) if args.serial else None
    ledger.close()
    middle = sorted(range(len(runs)), key=lambda i: runs[i].elapsed)[len(runs) // 2]
    intact = runs[middle]
    crypto_one, nacl_one = statistics.median(crypto), statistics.median(nacl)
    crypto_now = statistics.median(crypto_all)
    cpu_per_event = statistics.median(cpu) / size  # CPU time of the main process and its workers

    result = {
        "backend": "sqlite" if db.startswith("sqlite") else "postgres",
        "events": size,
        "build_s": None if built is None else round(built, 1),
        "cores": cores,
        "workers": intact.workers,
        "rounds": args.rounds,
        "verify_s": round(intact.elapsed, 2),
        "verify_events_per_s_all_rounds": sorted(round(r.events_per_second) for r in runs),
        "verify_events_per_s": round(intact.events_per_second),
        "verify_serial_events_per_s": None if serial is None else round(serial.events_per_second),
        "ed25519_verify_per_s_one_core": {"cryptography": round(crypto_one), "pynacl": round(nacl_one)},
        "limit_events_per_s": {"cryptography": round(crypto_one * cores), "pynacl": round(nacl_one * cores)},
        "ratio": {
            "cryptography": round(intact.events_per_second / (crypto_one * cores), 2),
            "pynacl": round(intact.events_per_second / (nacl_one * cores), 2),
        },
        # A machine shared with other work starves both numbers unevenly; these two do not:
        "ed25519_cryptography_all_workers_now_per_s": round(crypto_now),
        "ratio_to_measured_parallel_cryptography": round(intact.events_per_second / crypto_now, 2),
        "verify_cpu_us_per_event": round(cpu_per_event * 1e6, 1),
        "ratio_cpu_time": {  # (1 / CPU per verified event) / (one-core Ed25519 rate): the idle-machine ratio
            "cryptography": round(1 / cpu_per_event / crypto_one, 2),
            "pynacl": round(1 / cpu_per_event / nacl_one, 2),
        },
        "target": "ratio.cryptography >= 0.8",
        "checkpoints": intact.checkpoints,
    }
    print(json.dumps(result, indent=2))
    print(
        f"\nverify: {size:,} events in {intact.elapsed:.1f} s = {intact.events_per_second:,.0f} events/s"
        f" on {intact.workers} worker processes ({cores} cores)"
        + ("" if serial is None else f"; one process: {serial.events_per_second:,.0f}/s")
        + f"\nEd25519 verify, one core: cryptography {crypto_one:,.0f}/s, PyNaCl {nacl_one:,.0f}/s"
        f"\nratio to cores × one-core rate: {result['ratio']['cryptography']} (cryptography, target ≥ 0.8),"
        f" {result['ratio']['pynacl']} (PyNaCl)"
        f"\nratio to Ed25519 on {args.workers} processes measured now: {result['ratio_to_measured_parallel_cryptography']}"
        f" (cryptography); by CPU time ({cpu_per_event * 1e6:.0f} µs per event):"
        f" {result['ratio_cpu_time']['cryptography']} (cryptography), {result['ratio_cpu_time']['pynacl']} (PyNaCl)",
        file=sys.stderr,
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
