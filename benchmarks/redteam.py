"""Red-team campaign (issue 12): every row of the red-team table rerun against the current code.

    .venv/bin/python benchmarks/redteam.py [--backend sqlite|postgres|both] [--seed N]
                                           [--kill-points N] [--rows tamper,bad_input,...] [--json]

The ledger is attacked the way an insider or a careless office would attack it, on SQLite and
PostgreSQL, each attack on a fresh copy of one small signed ledger (SQLite: the files are copied;
PostgreSQL: ``CREATE DATABASE … TEMPLATE``), everything seeded:

* **tamper** — direct SQL by the operator or a DBA (leaves, domain events, Merkle nodes, key index,
  checkpoints, trust anchor, recorded_at, projection tables, the vault), then ``verify`` (and, for
  projection tables, ``verify --projections``) through the CLI's own app in this process:
  caught (exit 1), the seq it names against the seq the attack touched, the error code.
* **bad input** — malformed or refused lines and files through ``import FILE --json`` (the CLI's app
  in-process for every kind; the real ``python -m api`` in a subprocess for a sample): a clear
  refusal is one line per refusal, no traceback, the documented exit status, nothing written.
* **crash** — ``kill -9`` of a real ``import --sign`` subprocess (registrations carrying personal
  data, so vault rows are at stake too) at seeded moments: while starting, after the k-th reported
  line, after the last; then no partial event (leaves gapless, one domain event per leaf, a vault
  row exactly for each registration in the log), ``verify`` passes, a re-import reports duplicates
  (same seq) plus accepted for lines never appended, and no line reported accepted is lost.
* **concurrency** — four importer processes at once writing different files (with shared lines):
  gapless seq, every envelope once, the stored Merkle root equals a recomputed one, verify passes.
* **personal data** — with the pepper, ID numbers reversed from ``id_fingerprint`` given county,
  birth date and gender (≈ 500 candidates each: the attack the pepper's custody exists for); an
  office keystore (no pepper) cannot fingerprint; no export holds the pepper or any ID, phone or
  account number; the database holds none in clear.

Prints one summary table (rows: tamper, bad input, crash, concurrency, personal data) and the
details; ``--json`` prints the whole result as JSON instead. Exit 0 only if every attack that
should be caught was caught. Databases and files it makes are removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from common import PG_ADMIN, backends, pg_url  # noqa: E402

PYTHON = sys.executable
XIJI, LONGDE, CITY = "640422", "640423", "640400"
CLASS, CLAIM, FUND = "CLS-2019-640422-001", "C-2019-0001", "F-2019-640422-training"
ACTORS = [
    ("hr-xj", "hr_bureau", XIJI, "西吉县人力资源和社会保障局"),
    ("pov-xj", "poverty_office", XIJI, "西吉县扶贫开发办公室"),
    ("fin-xj", "finance_bureau", XIJI, "西吉县财政局"),
    ("tw-jq", "township", XIJI, "西吉县吉强镇人民政府"),
    ("inst-xj", "institution", XIJI, "西吉县职业技术学校"),
    ("apc", "appraisal_center", CITY, "固原市职业技能鉴定中心"),
    ("emp-xj", "employer", XIJI, "西吉县兴隆镇扶贫车间"),
    ("insp", "inspector", CITY, "固原市纪委监委"),
    ("hr-ld", "hr_bureau", LONGDE, "隆德县人力资源和社会保障局"),
]
PERSON = {"name": "马秀兰", "id_number": "64042219850601242X", "phone": "13995412345",
          "bank_account": "6228480078123456789"}  # fmt: skip
ID_IN_TEXT = "64042219850601123X"  # a valid 西吉县 ID number (region, birth date, check character)
PHONE_IN_TEXT = "18040717459"
CARD_IN_TEXT = "6217991338056654659"  # Luhn-valid, 19 digits


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the CLI, in this process --------------------------------------------------------------------------------
@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    traceback: str | None = None
    seconds: float = 0.0

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stdout.splitlines():
            with contextlib.suppress(ValueError):
                value = json.loads(line)
                if isinstance(value, dict):
                    out.append(value)
        return out


def cli(db: str, keys: Path, *args: str) -> Run:
    """``subsidy-ledger --db DB --keys KEYS ARGS`` through the CLI's own typer app, in this process."""
    from typer.testing import CliRunner

    from api.cli import app

    os.environ["LEDGER_LANG"] = "en"
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["--db", db, "--keys", str(keys), "--lang", "en", *args])
    tb = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(result.exception)).strip().splitlines()[-1]
    stderr = result.stderr if hasattr(result, "stderr") else ""
    return Run(result.exit_code, result.stdout, stderr, tb, time.perf_counter() - started)


def cli_process(db: str, keys: Path, *args: str, cwd: Path | None = None, timeout: float = 300) -> Run:
    """The real command, ``python -m api``, in a subprocess."""
    started = time.perf_counter()
    proc = subprocess.run([PYTHON, "-m", "api", "--db", db, "--keys", str(keys), "--lang", "en", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd or ROOT)  # fmt: skip
    tb = proc.stderr if "Traceback" in proc.stderr or "Traceback" in proc.stdout else None
    return Run(proc.returncode, proc.stdout, proc.stderr, tb, time.perf_counter() - started)


# --- ledgers: one base per backend, copied for each attack -------------------------------------------------
class Databases:
    """Every database and folder this run makes, removed at the end."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.pg: list[str] = []
        self.prefix = f"redteam_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.n = 0
        self.dropper: Any = None
        self.dropped: list[Any] = []

    def _drop_pg(self, name: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.pg.remove(name)

    def new(self, backend: str, label: str, template: Target | None = None) -> Target:
        self.n += 1
        keys = self.folder / f"{label}-{self.n}-keys"
        if template is not None:
            shutil.copytree(template.keys, keys)
        if backend == "sqlite":
            path = self.folder / f"{label}-{self.n}.db"
            if template is not None:
                source = Path(template.url.removeprefix("sqlite:///"))
                for part in source.parent.glob(source.name + "*"):
                    shutil.copy(part, path.parent / (path.name + part.name[len(source.name):]))
            return Target(backend, f"sqlite:///{path}", keys, None)
        import psycopg

        name = f"{self.prefix}_{self.n}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            if template is not None:
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template.pg_name}"')
            else:
                conn.execute(f'CREATE DATABASE "{name}"')
        self.pg.append(name)
        return Target(backend, pg_url(name), keys, name)

    def drop(self, target: Target) -> None:
        if target.pg_name is not None:  # dropped by a background thread while the next attack runs
            from concurrent.futures import ThreadPoolExecutor

            if self.dropper is None:
                self.dropper = ThreadPoolExecutor(1)
            self.dropped.append(self.dropper.submit(self._drop_pg, target.pg_name))
        else:
            path = Path(target.url.removeprefix("sqlite:///"))
            for part in path.parent.glob(path.name + "*"):
                part.unlink()
        shutil.rmtree(target.keys, ignore_errors=True)

    def close(self) -> None:
        import psycopg

        for future in self.dropped:
            with contextlib.suppress(Exception):
                future.result()
        if self.dropper is not None:
            self.dropper.shutdown()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in self.pg:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.pg.clear()


@dataclass
class Target:
    backend: str
    url: str
    keys: Path
    pg_name: str | None

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        from ledger.service import Session

        s = Session.open(self.url, self.keys)
        s.checkpoint_interval = 0
        try:
            yield s
        finally:
            s.close()


class Signer:
    """Signs envelopes with the keystore's actor keys, each with its own nonce."""

    def __init__(self, session: Any, tag: str):
        self.session = session
        self.tag = tag
        self.n = 0

    def envelope(self, actor: str, event_type: str, body: dict[str, Any], *, at: str = "2019-04-01T09:00:00+08:00",
                 nonce: str | None = None, key_actor: str | None = None, **extra: Any) -> dict[str, Any]:  # fmt: skip
        from ledger.domain.envelope import sign_envelope

        self.n += 1
        unsigned = {"type": event_type, "actor": actor, "at": at,
                    "nonce": nonce or f"{self.tag}-{self.n:06d}", "body": body, **extra}  # fmt: skip
        return sign_envelope(unsigned, self.session.keys.actor_key(key_actor or actor))

    def ok(self, actor: str, event_type: str, body: dict[str, Any], **kw: Any) -> int:
        from ledger.application import Item
        from ledger.domain.envelope import Envelope

        out = self.session.ledger.append([Item(Envelope.from_dict(self.envelope(actor, event_type, body, **kw)))])[0]
        if out.status != "accepted" or out.seq is None:
            raise RuntimeError(f"building the base ledger: {event_type} {out}")
        return int(out.seq)


def laborer_body(laborer_id: str, n: int, *, birth: str = "1985-06-01") -> dict[str, Any]:
    return {"laborer_id": laborer_id, "household_id": f"H-{n:05d}", "jurisdiction": XIJI, "township": "吉强镇",
            "village": "龙王坝村", "birth_date": birth, "gender": "female", "category": "poor",
            "id_fingerprint": f"{n:064x}", "pii_commitment": f"{n + 7:064x}"}  # fmt: skip


def build_base(dbs: Databases, backend: str) -> tuple[Target, dict[str, Any]]:
    """A small but complete signed ledger: actors, labourers (one with personal data in the vault),
    a class, a claim approved twice and paid above its approval (a critical flag), checkpoints after
    every registration, after enrolment (c1) and at the end (c2), projections caught up, a trust
    anchor with its leaf hashes recorded in the keystore and a copy kept by an auditor."""
    from ledger.application import Item
    from ledger.translog.verify import run_verify
    from projections.runner.catchup import catch_up

    target = dbs.new(backend, "base")
    info: dict[str, Any] = {}
    with target.session() as s:
        s.init()
        for actor_id, role, code, name in ACTORS:
            s.add_actor(actor_id, role, code, name)
        sg = Signer(s, "base")
        info["fund"] = sg.ok("fin-xj", "FundAllocated", {"fund_id": FUND, "jurisdiction": XIJI, "source": "central",
                                                        "purpose": "training", "year": 2019, "amount_fen": 50_000_000})
        for n in (1, 2, 3):
            info[f"L-000{n}"] = sg.ok("pov-xj", "LaborerRegistered", laborer_body(f"L-000{n}", n))
        intent = {"actor": "pov-xj", "type": "LaborerRegistered", "at": "2019-03-02T10:00:00+08:00",
                  "body": {**laborer_body("L-0042", 42), "id_fingerprint": "", "pii_commitment": ""},
                  "pii": dict(PERSON)}  # fmt: skip
        item: Item = s.signer().sign(intent)
        out = s.ledger.append([item])[0]
        assert out.status == "accepted", out
        info["L-0042"] = out.seq
        info["class"] = sg.ok("inst-xj", "ClassOpeningRequested", {
            "class_id": CLASS, "programme": "employment_skill", "occupation": "中式烹调", "in_catalog": True,
            "jurisdiction": XIJI, "site": "西吉县职业技术学校实训楼", "planned_start": "2019-04-08",
            "planned_end": "2019-05-03", "capacity": 40, "hours_per_day": 8, "practical_percent": 70,
            "subsidy_per_trainee_fen": 150000})  # fmt: skip
        info["approved_class"] = sg.ok("hr-xj", "ClassOpeningApproved", {"class_id": CLASS})
        for n in (1, 2, 3):
            info[f"enrol-{n}"] = sg.ok("inst-xj", "TraineeEnrolled", {"class_id": CLASS, "laborer_id": f"L-000{n}"})
        s.checkpoint()
        info["c1"] = s.ledger.size()
        info["attendance"] = sg.ok("inst-xj", "AttendanceRecorded", {"class_id": CLASS, "date": "2019-04-08", "trainees": [
            {"laborer_id": f"L-000{n}", "theory_hours": 2, "practical_hours": 6} for n in (1, 2, 3)]})  # fmt: skip
        info["claim"] = sg.ok("inst-xj", "SubsidyClaimed", {
            "claim_id": CLAIM, "kind": "training", "class_id": CLASS, "payee_account": "ab" * 32,
            "lines": [{"laborer_id": f"L-000{n}", "amount_fen": 150000} for n in (1, 2, 3)], "total_fen": 450000})  # fmt: skip
        for k, amount in enumerate((150000, 100000)):
            info[f"approval-{k}"] = sg.ok("hr-xj", "ClaimApproved", {"claim_id": CLAIM, "total_fen": 3 * amount, "lines": [
                {"laborer_id": f"L-000{n}", "amount_fen": amount} for n in (1, 2, 3)]})  # fmt: skip
        info["payment"] = sg.ok("fin-xj", "PaymentDisbursed", {
            "payment_id": "P-2019-0001", "claim_id": CLAIM, "fund_id": FUND, "amount_fen": 450000,
            "payee_account": "ab" * 32, "bank_reference": "XJ20190601", "value_date": "2019-06-01"})  # fmt: skip
        s.checkpoint()
        info["c2"] = s.ledger.size()
        info["registrations"] = {
            actor: seq for seq, _, leaf in s.ledger.leaves()
            for actor in [json.loads(leaf)["envelope"]["body"].get("actor_id")]
            if actor and b'"type":"ActorRegistered"' in leaf
        }  # fmt: skip
        catch_up(s.ledger)
        # the finance bureau witnesses checkpoint 25 (its saved checkpoint: keys/cosigned/fin-xj.json)
        from ledger.translog.cosign import cosign_latest, witness_key
        from ledger.translog.verify import load_operator_verifiers

        cosign_latest(s.ledger, s.keys, "fin-xj", load_operator_verifiers(s.keys, None))
        info["witness"] = witness_key(s.ledger, "fin-xj")
        intact = run_verify(s.ledger, s.keys, workers=0, trust_first_use=True)
        assert intact.size == info["c2"] and intact.latest_checkpoint == info["c2"], intact
    auditor = target.keys / "auditor"  # the auditor's own copy of the anchor (a machine the operator cannot write)
    auditor.mkdir()
    shutil.copy(target.keys / "trusted.json", auditor / "anchor.json")
    shutil.copy(target.keys / "trusted.leaves", auditor / "anchor.leaves")
    return target, info


# --- the attacker's SQL -------------------------------------------------------------------------------------
class Attacker:
    """What an operator or DBA with write access does, through the ledger's own connection."""

    def __init__(self, session: Any, info: dict[str, Any]):
        self.s = session
        self.ledger = session.ledger
        self.sql = session.ledger.sql
        self.info = info
        self.keys_root: Path = session.keys.root
        self.signer = Signer(session, "forged")

    def row(self, seq: int) -> tuple[Any, ...]:
        found = self.sql.one("SELECT seq, recorded_at, actor, type, nonce, leaf, leaf_hash, originator_id,"
                             " originator_version FROM ledger_leaves WHERE seq = ?", (seq,))  # fmt: skip
        assert found is not None, seq
        return tuple(found)

    def leaf(self, seq: int) -> bytes:
        return bytes(self.row(seq)[5])

    def envelope(self, seq: int) -> dict[str, Any]:
        return dict(json.loads(self.leaf(seq))["envelope"])

    @property
    def events(self) -> str:
        return str(self.ledger.recorder.events_table_name)

    def oid(self, hex_id: str) -> Any:
        return uuid.UUID(str(hex_id)) if self.sql.postgres else hex_id

    def event_state(self, seq: int) -> tuple[Any, int, bytes]:
        r = self.row(seq)
        oid = self.oid(r[7])
        found = self.sql.one(f"SELECT state FROM {self.events} WHERE originator_id = ? AND originator_version = ?",
                             (oid, r[8]))  # fmt: skip
        assert found is not None
        return oid, int(r[8]), bytes(found[0])

    def set_event_state(self, seq: int, state: bytes) -> None:
        oid, version, _ = self.event_state(seq)
        self.sql.execute(f"UPDATE {self.events} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                         (state, oid, version))  # fmt: skip

    def set_event(self, seq: int, envelope: dict[str, Any], *, new_seq: int | None = None,
                  recorded_at: str | None = None) -> None:  # fmt: skip
        decoded = json.loads(self.event_state(seq)[2])
        decoded["envelope"] = envelope
        if new_seq is not None:
            decoded["seq"] = new_seq
        if recorded_at is not None:
            decoded["recorded_at"] = recorded_at
        self.set_event_state(seq, json.dumps(decoded, separators=(",", ":"), ensure_ascii=False).encode())

    def rewrite_leaf(self, seq: int, leaf: bytes, *, fix_hash: bool = True) -> None:
        from ledger.translog import merkle

        digest = merkle.leaf_hash(leaf) if fix_hash else bytes(self.row(seq)[6])
        self.sql.execute("UPDATE ledger_leaves SET leaf = ?, leaf_hash = ? WHERE seq = ?", (leaf, digest, seq))

    def rebuild_tree(self) -> None:
        from ledger.translog import merkle

        hashes = [bytes(r[0]) for r in self.sql.all("SELECT leaf_hash FROM ledger_leaves ORDER BY seq")]
        nodes = merkle.CompactRange().extend(hashes)
        with self.sql.cursor(commit=True) as cur:
            cur.execute("DELETE FROM ledger_tree")
            cur.executemany("INSERT INTO ledger_tree VALUES (?, ?, ?)", nodes)

    @staticmethod
    def leaf_of(seq: int, recorded_at: str, envelope: dict[str, Any]) -> bytes:
        from ledger.encoding.canonical import canonical

        return bytes(canonical({"seq": seq, "recorded_at": recorded_at, "envelope": envelope}))

    def resign(self, envelope: dict[str, Any], key_actor: str | None = None) -> dict[str, Any]:
        from ledger.domain.envelope import sign_envelope

        unsigned = {k: v for k, v in envelope.items() if k not in ("v", "key_id", "sig")}
        return dict(sign_envelope(unsigned, self.s.keys.actor_key(key_actor or envelope["actor"])))

    def full_rewrite(self, seq: int, envelope: dict[str, Any], *, recorded_at: str | None = None) -> None:
        """Leaf, leaf hash, domain event and Merkle tree all made consistent with ``envelope``."""
        rec = recorded_at or self.row(seq)[1]
        self.rewrite_leaf(seq, self.leaf_of(seq, rec, envelope))
        if recorded_at is not None:
            self.sql.execute("UPDATE ledger_leaves SET recorded_at = ? WHERE seq = ?", (rec, seq))
            self.set_event(seq, envelope, recorded_at=rec)
        else:
            self.set_event(seq, envelope)
        self.rebuild_tree()

    def resign_checkpoints(self, after: int) -> None:
        """Every checkpoint covering leaf ``after`` signed again by the operator over the new tree."""
        from ledger.translog.note import Checkpoint, sign_note

        origin, key = self.s.keys.origin, self.s.keys.operator_key()
        for c in self.ledger.checkpoints():
            if c.size <= after:
                continue
            root = self.ledger.root(c.size)
            note = sign_note(Checkpoint(origin, c.size, root).body(), origin, key)
            self.sql.execute("UPDATE ledger_checkpoints SET note = ?, root_hash = ? WHERE size = ? AND signed_at = ?",
                             (note, root, c.size, c.signed_at))  # fmt: skip

    def truncate(self, k: int, *, checkpoints: bool) -> None:
        versions = self.sql.all("SELECT originator_id, originator_version FROM ledger_leaves WHERE seq >= ?", (k,))
        with self.sql.cursor(commit=True) as cur:
            for oid, version in versions:
                cur.execute(f"DELETE FROM {self.events} WHERE originator_id = ? AND originator_version = ?",
                            (self.oid(oid), version))  # fmt: skip
            cur.execute("DELETE FROM ledger_leaves WHERE seq >= ?", (k,))
            cur.execute("DELETE FROM ledger_keys WHERE seq >= ?", (k,))
            if checkpoints:
                cur.execute("DELETE FROM ledger_checkpoints WHERE size > ?", (k,))
        self.rebuild_tree()

    def edit_keystore_anchor(self) -> None:
        """The operator also "fixes" the anchor in its own keystore, and the leaf hashes beside it."""
        from ledger.encoding.b64 import b64encode

        state = json.loads((self.keys_root / "trusted.json").read_text())
        size = state["size"]
        state["root"] = b64encode(self.ledger.root(size))
        state.pop("checkpoint", None)
        (self.keys_root / "trusted.json").write_text(json.dumps(state))
        hashes = [bytes(r[0]) for r in self.sql.all("SELECT leaf_hash FROM ledger_leaves WHERE seq < ? ORDER BY seq",
                                                    (size,))]  # fmt: skip
        (self.keys_root / "trusted.leaves").write_bytes(b"".join(hashes))

    def projections(self, *statements: Any) -> None:
        from projections.db import engine_for

        with engine_for(self.ledger).begin() as conn:
            for statement in statements:
                conn.execute(statement)


@dataclass
class Attack:
    name: str
    apply: Callable[[Attacker], dict[str, Any]]  # returns {"seq": expected seq or None, ...}
    layer: str = "log"  # log | projections | vault
    should_catch: bool = True
    anchor: str | None = None  # "auditor": verify --anchor <the auditor's copy>


def _flip_birth(a: Attacker) -> tuple[int, bytes]:
    seq = a.info["L-0002"]
    leaf = a.leaf(seq)
    forged = leaf.replace(b'"birth_date":"1985-06-01"', b'"birth_date":"1985-06-02"', 1)
    assert len(forged) == len(leaf) and forged != leaf
    return seq, forged


def a_flip_byte(a: Attacker) -> dict[str, Any]:
    seq, forged = _flip_birth(a)
    a.rewrite_leaf(seq, forged, fix_hash=False)
    return {"seq": seq}


def a_flip_fix_hash(a: Attacker) -> dict[str, Any]:
    seq, forged = _flip_birth(a)
    a.rewrite_leaf(seq, forged)
    return {"seq": seq}


def a_flip_fix_tree(a: Attacker) -> dict[str, Any]:
    seq, forged = _flip_birth(a)
    a.rewrite_leaf(seq, forged)
    a.rebuild_tree()
    return {"seq": seq}


def a_flip_fix_all(a: Attacker) -> dict[str, Any]:
    seq, forged = _flip_birth(a)
    a.rewrite_leaf(seq, forged)
    a.rebuild_tree()
    a.set_event(seq, json.loads(forged)["envelope"])
    return {"seq": seq}


def a_body_keep_hash(a: Attacker) -> dict[str, Any]:
    seq = a.info["payment"]
    env = a.envelope(seq)
    env["body"]["amount_fen"] = 4_500_000
    a.rewrite_leaf(seq, a.leaf_of(seq, a.row(seq)[1], env), fix_hash=False)
    return {"seq": seq}


def a_body_fix_everything(a: Attacker) -> dict[str, Any]:
    seq = a.info["payment"]
    env = a.envelope(seq)
    env["body"]["amount_fen"] = 4_500_000
    a.full_rewrite(seq, env)
    return {"seq": seq}


def a_event_row_edit(a: Attacker) -> dict[str, Any]:
    seq = a.info["approval-0"]
    _, _, state = a.event_state(seq)
    forged = state.replace(b'"amount_fen":150000', b'"amount_fen":950000', 1)
    assert forged != state
    a.set_event_state(seq, forged)
    return {"seq": seq}


def a_event_row_delete(a: Attacker) -> dict[str, Any]:
    seq = a.info["enrol-2"]
    oid, version, _ = a.event_state(seq)
    a.sql.execute(f"DELETE FROM {a.events} WHERE originator_id = ? AND originator_version = ?", (oid, version))
    return {"seq": seq}


def a_delete_leaf(a: Attacker) -> dict[str, Any]:
    seq = a.info["enrol-2"]
    a.sql.execute("DELETE FROM ledger_leaves WHERE seq = ?", (seq,))
    return {"seq": seq}


def a_delete_leaf_renumber(a: Attacker) -> dict[str, Any]:
    """Delete one leaf, renumber every later leaf, fix hashes, events and tree: only checkpoints remain."""
    k = a.info["enrol-2"]
    n = a.ledger.size()
    rows = [a.row(s) for s in range(k + 1, n)]
    with a.sql.cursor(commit=True) as cur:
        cur.execute("DELETE FROM ledger_leaves WHERE seq >= ?", (k,))
        for r in rows:
            env = json.loads(bytes(r[5]))["envelope"]
            leaf = a.leaf_of(r[0] - 1, r[1], env)
            from ledger.translog import merkle

            cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (r[0] - 1, r[1], r[2], r[3], r[4], leaf, merkle.leaf_hash(leaf), r[7], r[8]))  # fmt: skip
    for r in rows:
        a.set_event(r[0] - 1, json.loads(bytes(r[5]))["envelope"], new_seq=r[0] - 1)
    a.rebuild_tree()
    return {"seq": k}


def a_swap(a: Attacker) -> dict[str, Any]:
    i, j = a.info["L-0001"], a.info["L-0003"]
    ra, rb = a.row(i), a.row(j)
    with a.sql.cursor(commit=True) as cur:
        cur.execute("DELETE FROM ledger_leaves WHERE seq IN (?, ?)", (i, j))
        cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (i, *rb[1:]))
        cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (j, *ra[1:]))
    return {"seq": i}


def a_truncate_keep_checkpoints(a: Attacker) -> dict[str, Any]:
    k = a.info["c1"]
    a.truncate(k, checkpoints=False)
    return {"seq": k}


def a_truncate_with_checkpoints(a: Attacker) -> dict[str, Any]:
    k = a.info["c1"]
    a.truncate(k, checkpoints=True)
    return {"seq": k}


def a_truncate_with_checkpoints_no_leaf_hashes(a: Attacker) -> dict[str, Any]:
    k = a.info["c1"]
    a.truncate(k, checkpoints=True)
    (a.keys_root / "trusted.leaves").unlink()
    return {"seq": None, "checkpoint": a.info["c2"]}


def a_drop_last_leaf(a: Attacker) -> dict[str, Any]:
    """The last leaf deleted with its event and key rows; tree and checkpoints left as they were."""
    n = a.ledger.size()
    a.truncate(n - 1, checkpoints=False)
    return {"seq": n - 1}


def a_append_forged_leaf(a: Attacker) -> dict[str, Any]:
    """Signed by a real actor's key but never accepted: appended straight into leaves and tree."""
    from ledger.domain.aggregates import subject_uuid
    from ledger.translog import merkle

    n = a.ledger.size()
    last = a.row(n - 1)
    env = a.signer.envelope("pov-xj", "IdentityConfirmed", {"laborer_id": "L-0001", "basis": "伪造"})
    leaf = a.leaf_of(n, last[1], env)
    frontier = merkle.CompactRange.from_size(n, a.ledger.node)
    with a.sql.cursor(commit=True) as cur:
        cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (
            n, last[1], "pov-xj", "IdentityConfirmed", env["nonce"], leaf, merkle.leaf_hash(leaf),
            subject_uuid("laborer", "L-0001").hex, 2))  # fmt: skip
        cur.executemany("INSERT INTO ledger_tree VALUES (?, ?, ?)", frontier.append(merkle.leaf_hash(leaf)))
    return {"seq": n}


def a_duplicate_leaf(a: Attacker) -> dict[str, Any]:
    """The payment's leaf stored a second time at the end (a double payment in the log's eyes)."""
    from ledger.translog import merkle

    n = a.ledger.size()
    r = a.row(a.info["payment"])
    frontier = merkle.CompactRange.from_size(n, a.ledger.node)
    with a.sql.cursor(commit=True) as cur:
        cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (n, r[1], r[2], r[3], r[4] + "-2", r[5], r[6], r[7], int(r[8]) + 1))  # fmt: skip
        cur.executemany("INSERT INTO ledger_tree VALUES (?, ?, ?)", frontier.append(bytes(r[6])))
    return {"seq": n}


def a_insert_middle(a: Attacker) -> dict[str, Any]:
    """A forged leaf inserted inside checkpoint c1, every later leaf renumbered, all derived data fixed."""
    from ledger.domain.aggregates import subject_uuid
    from ledger.translog import merkle

    k = a.info["c1"] - 2
    n = a.ledger.size()
    rows = [a.row(s) for s in range(k, n)]
    with a.sql.cursor(commit=True) as cur:
        cur.execute("DELETE FROM ledger_leaves WHERE seq >= ?", (k,))
    forged = a.signer.envelope("pov-xj", "IdentityConfirmed", {"laborer_id": "L-0003", "basis": "伪造"})
    inserted = [(k, rows[0][1], "pov-xj", "IdentityConfirmed", forged["nonce"], forged,
                 subject_uuid("laborer", "L-0003").hex, 2)]  # fmt: skip
    inserted += [(r[0] + 1, r[1], r[2], r[3], r[4], json.loads(bytes(r[5]))["envelope"], r[7], r[8]) for r in rows]
    with a.sql.cursor(commit=True) as cur:
        for seq, rec, actor, type_, nonce, env, oid, version in inserted:
            leaf = a.leaf_of(seq, rec, env)
            cur.execute("INSERT INTO ledger_leaves VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (seq, rec, actor, type_, nonce, leaf, merkle.leaf_hash(leaf), oid, version))  # fmt: skip
    for seq, _rec, _a, _t, _n, env, _o, _v in inserted[1:]:
        a.set_event(seq, env, new_seq=seq)
    state = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-01T00:00:00+00:00"},
             "seq": k, "recorded_at": rows[0][1], "envelope": forged}  # fmt: skip
    a.sql.execute(f"INSERT INTO {a.events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                  (a.oid(inserted[0][6]), 2, "ledger.domain.aggregates:Laborer.IdentityConfirmed",
                   json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()))  # fmt: skip
    a.rebuild_tree()
    return {"seq": k}


def a_insert_middle_no_leaf_hashes(a: Attacker) -> dict[str, Any]:
    out = a_insert_middle(a)
    (a.keys_root / "trusted.leaves").unlink()
    return {"seq": None, "checkpoint": a.info["c1"], "touched": out["seq"]}


def _new_public_key() -> tuple[Any, str]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.domain.envelope import public_key_bytes
    from ledger.encoding.b64 import b64encode

    key = Ed25519PrivateKey.generate()
    return key, b64encode(public_key_bytes(key))


def a_replace_public_key(a: Attacker) -> dict[str, Any]:
    seq = a.info["registrations"]["fin-xj"]
    env = a.envelope(seq)
    env["body"]["public_key"] = _new_public_key()[1]
    a.full_rewrite(seq, env)
    return {"seq": seq}


def a_replace_public_key_admin_resigned(a: Attacker) -> dict[str, Any]:
    from ledger.domain.envelope import key_id_of, public_key_bytes

    seq = a.info["registrations"]["fin-xj"]
    env = a.envelope(seq)
    key, public = _new_public_key()
    resigned = a.resign({**env, "body": {**env["body"], "public_key": public}}, "admin")
    a.full_rewrite(seq, resigned)
    a.sql.execute("UPDATE ledger_keys SET key_id = ? WHERE seq = ?", (key_id_of(public_key_bytes(key)), seq))
    return {"seq": seq}


def a_key_index_edit(a: Attacker) -> dict[str, Any]:
    from ledger.domain.envelope import key_id_of, public_key_bytes

    seq = a.info["registrations"]["fin-xj"]
    key, _ = _new_public_key()
    a.sql.execute("UPDATE ledger_keys SET key_id = ? WHERE seq = ?", (key_id_of(public_key_bytes(key)), seq))
    return {"seq": seq}


def a_key_index_delete(a: Attacker) -> dict[str, Any]:
    seq = a.info["registrations"]["insp"]
    a.sql.execute("DELETE FROM ledger_keys WHERE seq = ?", (seq,))
    return {"seq": seq}


def a_key_index_reassign(a: Attacker) -> dict[str, Any]:
    """fin-xj's key id re-pointed at the actor hr-xj in the index."""
    seq = a.info["registrations"]["fin-xj"]
    a.sql.execute("UPDATE ledger_keys SET actor_id = ? WHERE seq = ?", ("hr-xj", seq))
    return {"seq": seq}


def _checkpoint_row(a: Attacker, size: int) -> tuple[Any, ...]:
    c = next(c for c in a.ledger.checkpoints() if c.size == size)
    return c.size, c.root, c.note, c.signed_at


def a_checkpoint_edit_root(a: Attacker) -> dict[str, Any]:
    from ledger.encoding.b64 import b64encode

    c1 = a.info["c1"]
    size, root, note, signed_at = _checkpoint_row(a, c1)
    forged = note.replace(b64encode(root), b64encode(a.ledger.root(c1 - 1)))
    a.sql.execute("UPDATE ledger_checkpoints SET note = ?, root_hash = ? WHERE size = ? AND signed_at = ?",
                  (forged, a.ledger.root(c1 - 1), size, signed_at))  # fmt: skip
    return {"seq": None, "checkpoint": c1}


def a_checkpoint_foreign_key(a: Attacker) -> dict[str, Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.translog.note import Checkpoint, sign_note

    c1 = a.info["c1"]
    size, root, _note, signed_at = _checkpoint_row(a, c1)
    origin = a.s.keys.origin
    forged = sign_note(Checkpoint(origin, size, root).body(), origin, Ed25519PrivateKey.generate())
    a.sql.execute("UPDATE ledger_checkpoints SET note = ? WHERE size = ? AND signed_at = ?", (forged, size, signed_at))
    return {"seq": None, "checkpoint": c1}


def a_checkpoint_forged_new(a: Attacker) -> dict[str, Any]:
    """A forged leaf appended (with its event and tree) and a checkpoint over it signed by a foreign key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.translog.note import Checkpoint, sign_note

    out = a_append_forged_leaf(a)
    n = a.ledger.size()
    origin = a.s.keys.origin
    note = sign_note(Checkpoint(origin, n, a.ledger.root(n)).body(), origin, Ed25519PrivateKey.generate())
    a.sql.execute("INSERT INTO ledger_checkpoints VALUES (?, ?, ?, ?)",
                  (n, a.ledger.root(n), note, "2026-12-01T00:00:00.000000Z"))  # fmt: skip
    return {"seq": out["seq"]}


def a_delete_all_checkpoints(a: Attacker) -> dict[str, Any]:
    a.sql.execute("DELETE FROM ledger_checkpoints")
    return {"seq": None, "checkpoint": a.info["c2"]}


def a_delete_all_checkpoints_and_rewrite(a: Attacker) -> dict[str, Any]:
    """Every checkpoint deleted and the payment rewritten with a valid re-signed envelope."""
    seq = a.info["payment"]
    env = a.envelope(seq)
    a.full_rewrite(seq, a.resign({**env, "body": {**env["body"], "amount_fen": 4_500_000}}))
    a.sql.execute("DELETE FROM ledger_checkpoints")
    return {"seq": seq}


def a_tree_node_edit(a: Attacker) -> dict[str, Any]:
    seq = a.info["L-0002"]
    a.sql.execute("UPDATE ledger_tree SET hash = ? WHERE level = 0 AND idx = ?", (hashlib.sha256(b"x").digest(), seq))
    return {"seq": seq}


def a_tree_deleted(a: Attacker) -> dict[str, Any]:
    a.sql.execute("DELETE FROM ledger_tree")
    return {"seq": 0}


def _operator_rewrite(a: Attacker) -> int:
    """The operator rewrites the payment with a validly re-signed envelope (fin-xj's key from its own
    keystore), fixes leaf hash, event and tree, and re-signs every later checkpoint."""
    seq = int(a.info["payment"])
    env = a.envelope(seq)
    resigned = a.resign({**env, "body": {**env["body"], "amount_fen": 4_500_000}})
    a.full_rewrite(seq, resigned)
    a.resign_checkpoints(after=seq)
    return seq


def a_rewrite_vs_keystore_anchor(a: Attacker) -> dict[str, Any]:
    return {"seq": _operator_rewrite(a)}


def a_rewrite_vs_auditor_anchor(a: Attacker) -> dict[str, Any]:
    seq = _operator_rewrite(a)
    a.edit_keystore_anchor()
    return {"seq": seq}


def a_rewrite_vs_cosigner(a: Attacker) -> dict[str, Any]:
    """The keystore anchor "fixed" too; the finance bureau's saved checkpoint (its own keystore) is not."""
    seq = _operator_rewrite(a)
    a.edit_keystore_anchor()
    (a.keys_root / "trusted.leaves").unlink()
    return {"seq": None, "checkpoint": a.info["c2"], "touched": seq}


def a_rewrite_vs_witness(a: Attacker) -> dict[str, Any]:
    """Everything the operator holds "fixed" (anchor, cosigner files); verify --witness fin-xj's key."""
    seq = _operator_rewrite(a)
    a.edit_keystore_anchor()
    shutil.rmtree(a.keys_root / "cosigned", ignore_errors=True)
    return {"seq": None, "checkpoint": a.info["c2"], "touched": seq}


def a_rewrite_and_anchor_edit_keystore_only(a: Attacker) -> dict[str, Any]:
    """The one-machine TOFU limit: the operator "fixes" every anchor its own keystore holds."""
    seq = _operator_rewrite(a)
    a.edit_keystore_anchor()
    shutil.rmtree(a.keys_root / "cosigned", ignore_errors=True)
    return {"seq": seq}


def a_rewrite_genesis(a: Attacker) -> dict[str, Any]:
    """Leaf 0 replaced by a new self-signed admin (a new admin key), everything derived fixed and
    every checkpoint re-signed by the operator."""
    from ledger.domain.envelope import sign_envelope

    env = a.envelope(0)
    key, public = _new_public_key()
    unsigned = {k: v for k, v in env.items() if k not in ("v", "key_id", "sig")}
    forged = sign_envelope({**unsigned, "body": {**env["body"], "public_key": public}}, key)
    a.full_rewrite(0, forged)
    a.resign_checkpoints(after=-1)
    return {"seq": 0}


def a_recorded_at_column(a: Attacker) -> dict[str, Any]:
    seq = a.info["claim"]
    a.sql.execute("UPDATE ledger_leaves SET recorded_at = ? WHERE seq = ?", ("2018-01-01T00:00:00.000000Z", seq))
    return {"seq": seq}


def a_recorded_at_order(a: Attacker) -> dict[str, Any]:
    """recorded_at moved back before its predecessor's (out of order), leaf, hash, event and tree fixed;
    recorded_at is not under the actor's signature."""
    seq = a.info["claim"]
    earlier = "2020-01-01T00:00:00.000000Z"  # after the envelope's at (2019), before its predecessor's recorded_at
    a.full_rewrite(seq, a.envelope(seq), recorded_at=earlier)
    return {"seq": seq}


def a_recorded_at_order_resigned(a: Attacker) -> dict[str, Any]:
    """The same, and the operator re-signs every later checkpoint (the keystore anchor's leaf hashes remain)."""
    out = a_recorded_at_order(a)
    a.resign_checkpoints(after=out["seq"])
    return out


def a_leaf_columns(a: Attacker) -> dict[str, Any]:
    """The index columns of a leaf (actor, type) changed, the leaf bytes left alone."""
    seq = a.info["approval-1"]
    a.sql.execute("UPDATE ledger_leaves SET actor = ?, type = ? WHERE seq = ?", ("hr-ld", "ClaimRejected", seq))
    return {"seq": seq}


def a_leaf_originator(a: Attacker) -> dict[str, Any]:
    """A leaf re-pointed at another subject's domain event (originator id/version columns)."""
    seq, other = a.info["enrol-1"], a.info["enrol-3"]
    r = a.row(other)
    a.sql.execute("UPDATE ledger_leaves SET originator_id = ?, originator_version = ? WHERE seq = ?", (r[7], r[8], seq))
    return {"seq": seq}


# projection tables: the log untouched, the read models edited
def p_forged_posting(a: Attacker) -> dict[str, Any]:
    from projections import tables as T

    seq = a.info["payment"]
    common = {"seq": seq, "entry": "payment", "event_type": "PaymentDisbursed", "jurisdiction": XIJI,
              "fund_id": FUND, "institution": "inst-xj", "claim_id": CLAIM, "payment_id": "P-2019-0001",
              "business_date": "2019-06-01", "period": "2019-06"}  # fmt: skip
    a.projections(T.postings.insert().values(line=90, account="expense:training:640422", kind="expense",
                                             debit_fen=500000, credit_fen=0, **common),
                  T.postings.insert().values(line=91, account=f"fund:{FUND}", kind="fund",
                                             debit_fen=0, credit_fen=500000, **common))  # fmt: skip
    return {"seq": seq}


def p_posting_amount(a: Attacker) -> dict[str, Any]:
    from projections import tables as T

    seq = a.info["payment"]
    p = T.postings.c
    a.projections(T.postings.update().where(p.seq == seq, p.debit_fen > 0).values(debit_fen=p.debit_fen + 100))
    return {"seq": seq}


def _critical_flag(a: Attacker) -> dict[str, Any]:
    from projections.anomalies.query import list_flags
    from projections.db import engine_for

    flags = [f for f in list_flags(engine_for(a.ledger)) if f["severity"] == "critical"]
    assert flags, "the base ledger raises a critical flag"
    return dict(flags[0])


def p_flag_false_positive(a: Attacker) -> dict[str, Any]:
    import sqlalchemy as sa

    from projections.anomalies import tables as A
    from projections.db import engine_for

    flag = _critical_flag(a)
    a.projections(A.anomalies.update().where(A.anomalies.c.id == flag["id"]).values(status="false_positive"))
    with engine_for(a.ledger).connect() as conn:
        updated = conn.execute(sa.select(A.anomalies.c.updated_seq).where(A.anomalies.c.id == flag["id"])).scalar()
    return {"seq": updated}


def p_flag_deleted(a: Attacker) -> dict[str, Any]:
    import sqlalchemy as sa

    from projections.anomalies import tables as A
    from projections.db import engine_for

    flag = _critical_flag(a)
    with engine_for(a.ledger).connect() as conn:
        first = conn.execute(sa.select(sa.func.min(A.history.c.seq)).where(A.history.c.anomaly_id == flag["id"])).scalar()
    a.projections(sa.delete(A.history).where(A.history.c.anomaly_id == flag["id"]),
                  sa.delete(A.anomalies).where(A.anomalies.c.id == flag["id"]))  # fmt: skip
    return {"seq": first}


def p_position_rewound(a: Attacker) -> dict[str, Any]:
    from projections import tables as T

    size = a.ledger.size()
    a.projections(T.position.update().values(next_seq=size - 6))
    return {"seq": size - 1}


def p_rows_deleted(a: Attacker) -> dict[str, Any]:
    """Every projection row of the last five leaves deleted, the position left at the log's end."""
    import sqlalchemy as sa

    from projections import tables as T

    first = a.ledger.size() - 5
    a.projections(sa.delete(T.events).where(T.events.c.seq >= first),
                  sa.delete(T.postings).where(T.postings.c.seq >= first))  # fmt: skip
    return {"seq": first}


def p_claim_paid(a: Attacker) -> dict[str, Any]:
    from projections import tables as T

    a.projections(T.claims.update().values(paid_fen=0))
    return {"seq": a.info["payment"]}  # the last leaf that changed the claim's paid amount


def v_vault_delete(a: Attacker) -> dict[str, Any]:
    a.sql.execute("DELETE FROM pii_vault WHERE subject_id = ?", ("L-0042",))
    return {"seq": None}  # not a leaf: the read names the labourer


def v_vault_swap(a: Attacker) -> dict[str, Any]:
    """L-0042's sealed record replaced by another ciphertext of the same size (a DBA's "restore")."""
    _nonce, ciphertext = a.sql.one("SELECT nonce, ciphertext FROM pii_vault WHERE subject_id = ?", ("L-0042",))
    forged = bytes(b ^ 0x01 for b in bytes(ciphertext))
    a.sql.execute("UPDATE pii_vault SET ciphertext = ? WHERE subject_id = ?", (forged, "L-0042"))
    return {"seq": None}  # not a leaf: the read names the labourer


ATTACKS = [
    Attack("one byte flipped in a leaf", a_flip_byte),
    Attack("one byte flipped, leaf_hash fixed", a_flip_fix_hash),
    Attack("one byte flipped, leaf_hash + Merkle nodes fixed", a_flip_fix_tree),
    Attack("one byte flipped, leaf_hash + Merkle nodes + domain event fixed", a_flip_fix_all),
    Attack("envelope body edited (payment ×10), leaf_hash kept", a_body_keep_hash),
    Attack("envelope body edited, leaf_hash + tree + event fixed", a_body_fix_everything),
    Attack("domain event row edited (approved amount)", a_event_row_edit),
    Attack("domain event row deleted", a_event_row_delete),
    Attack("leaf row deleted", a_delete_leaf),
    Attack("leaf deleted and later leaves renumbered, all derived data fixed", a_delete_leaf_renumber),
    Attack("two leaves swapped", a_swap),
    Attack("tail truncated, checkpoints kept", a_truncate_keep_checkpoints),
    Attack("tail truncated with its checkpoints", a_truncate_with_checkpoints),
    Attack("tail truncated with its checkpoints, anchor's leaf hashes gone", a_truncate_with_checkpoints_no_leaf_hashes),
    Attack("last leaf deleted (tree and checkpoints left)", a_drop_last_leaf),
    Attack("forged leaf appended with its tree nodes (real actor key)", a_append_forged_leaf),
    Attack("payment leaf stored twice (double payment)", a_duplicate_leaf),
    Attack("forged leaf inserted in the middle, everything renumbered and fixed", a_insert_middle),
    Attack("forged leaf inserted in the middle, anchor's leaf hashes gone", a_insert_middle_no_leaf_hashes),
    Attack("registered public key replaced in its leaf", a_replace_public_key),
    Attack("registered public key replaced, re-signed with the admin key", a_replace_public_key_admin_resigned),
    Attack("key index row edited (key_id)", a_key_index_edit),
    Attack("key index row deleted", a_key_index_delete),
    Attack("key index row re-assigned to another actor", a_key_index_reassign),
    Attack("checkpoint root edited", a_checkpoint_edit_root),
    Attack("checkpoint re-signed with a foreign key", a_checkpoint_foreign_key),
    Attack("forged leaf + new checkpoint signed with a foreign key", a_checkpoint_forged_new),
    Attack("every checkpoint deleted (leaves intact)", a_delete_all_checkpoints, should_catch=False),
    Attack("every checkpoint deleted and a leaf rewritten, re-signed", a_delete_all_checkpoints_and_rewrite),
    Attack("Merkle node edited", a_tree_node_edit),
    Attack("Merkle tree deleted", a_tree_deleted),
    Attack("operator rewrite (re-signed leaf + checkpoints) vs keystore anchor", a_rewrite_vs_keystore_anchor),
    Attack("operator rewrite + keystore anchor edited, vs auditor's --anchor", a_rewrite_vs_auditor_anchor,
           anchor="auditor"),
    Attack("operator rewrite + keystore anchor and leaf hashes edited, vs the cosigner's saved checkpoint",
           a_rewrite_vs_cosigner),
    Attack("operator rewrite + every keystore anchor edited, verify --witness (the finance bureau)",
           a_rewrite_vs_witness, anchor="witness"),
    Attack("operator rewrite + every keystore anchor edited, no outside anchor or witness", a_rewrite_and_anchor_edit_keystore_only,
           should_catch=False),
    Attack("genesis replaced (new admin key), checkpoints re-signed", a_rewrite_genesis),
    Attack("recorded_at column edited", a_recorded_at_column),
    Attack("recorded_at moved out of order, leaf/hash/event/tree fixed", a_recorded_at_order),
    Attack("recorded_at moved out of order, all fixed, later checkpoints re-signed", a_recorded_at_order_resigned),
    Attack("leaf index columns edited (actor, type)", a_leaf_columns),
    Attack("leaf re-pointed at another domain event", a_leaf_originator),
    Attack("projection: balanced forged posting", p_forged_posting, layer="projections"),
    Attack("projection: posting amount edited", p_posting_amount, layer="projections"),
    Attack("projection: flag set false_positive without AnomalyDisposed", p_flag_false_positive, layer="projections"),
    Attack("projection: critical flag deleted", p_flag_deleted, layer="projections"),
    Attack("projection: position rewound", p_position_rewound, layer="projections"),
    Attack("projection: claim's paid amount zeroed", p_claim_paid, layer="projections"),
    Attack("projection: rows of the last 5 leaves deleted, position kept", p_rows_deleted, layer="projections"),
    Attack("vault row deleted (erasure without PersonalDataErased)", v_vault_delete, layer="vault"),
    Attack("vault ciphertext altered", v_vault_swap, layer="vault"),
]


def _dispose() -> None:
    from projections.db import dispose_engines

    dispose_engines()


def run_tamper(dbs: Databases, backend: str, base: Target, info: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    # SQLite: a copy of the files per attack. PostgreSQL: one copy, its every table put back as
    # the base had it before each attack (CREATE/DROP DATABASE per attack cost seconds each).
    shared = dbs.new(backend, "tamper", template=base) if backend == "postgres" else None
    snapshot = _pg_snapshot(shared) if shared is not None else None
    for attack in ATTACKS:
        if shared is not None:
            _pg_restore(shared, snapshot, base)
            target = shared
        else:
            target = dbs.new(backend, "tamper", template=base)
        record: dict[str, Any] = {"backend": backend, "attack": attack.name, "layer": attack.layer,
                                  "should_catch": attack.should_catch}  # fmt: skip
        try:
            with target.session() as s:
                expected = attack.apply(Attacker(s, info))
            _dispose()
            record["expected_seq"] = expected.get("seq")
            record["expected_checkpoint"] = expected.get("checkpoint")
            args = ["verify", "--json", "--workers", "0"]
            if attack.anchor == "auditor":
                args += ["--anchor", str(target.keys / "auditor" / "anchor.json")]
            if attack.anchor == "witness":
                args += ["--witness", info["witness"]]
            log = cli(target.url, target.keys, *args)
            found = (log.json_lines() or [{}])[-1]
            record.update(exit=log.code, code=found.get("code"), seq=found.get("first_bad_seq"),
                          checkpoint=found.get("checkpoint"), reason=found.get("reason"), traceback=log.traceback)
            caught = log.code == 1 and found.get("intact") is False
            if found.get("intact"):  # what a passing verify said about the log it saw
                record["verify_said"] = {k: found.get(k) for k in ("size", "checkpoints", "latest_checkpoint",
                                                                    "uncovered", "tofu", "trusted_size")}  # fmt: skip
            if not caught and attack.layer == "projections":
                proj = cli(target.url, target.keys, *args, "--projections")
                checked = ((proj.json_lines() or [{}])[-1]).get("projections") or {}
                first = checked.get("first") or {}
                caught = proj.code == 1 and checked.get("ok") is False
                record.update(exit=proj.code, code="projection_mismatch" if caught else None,
                              seq=first.get("seq"), reason=_first_difference(first), traceback=proj.traceback,
                              projections_option=bool(checked) or "No such option" not in proj.stderr)  # fmt: skip
            if not caught and attack.layer == "vault":
                shown = cli(target.url, target.keys, "pii", "show", "L-0042", "--as", "pov-xj", "--json")
                record["pii_show"] = {"exit": shown.code, "stderr": shown.stderr.strip()[:200]}
                # An altered record no longer opens: refused at read time. A deleted one cannot be seen by
                # verify (the log does not say which registrations sealed a record); it is exposed at read
                # time only if `pii show` does not pass it off as an erasure the log recorded.
                said = shown.stderr.lower()
                exposed = ("fails authentication" in said if attack.name.startswith("vault ciphertext")
                           else "no erasure" in said or "outside the ledger" in said)  # fmt: skip
                caught = shown.code != 0 and shown.traceback is None and exposed
                record["caught_by"] = "pii show (read time)" if caught else None
            record["caught"] = bool(caught and record.get("traceback") is None)
            want = record["expected_seq"]
            record["named_seq"] = (record["seq"] == want) if want is not None else None
        except Exception as exc:  # an attack that could not be staged is reported, never hidden
            record.update(caught=False, error=f"{type(exc).__name__}: {exc}", named_seq=None)
        finally:
            _dispose()
            if shared is None:
                dbs.drop(target)
        results.append(record)
        mark = "caught" if record["caught"] else ("passes (expected)" if not attack.should_catch else "NOT CAUGHT")
        say(f"  [{backend}] tamper: {attack.name}: {mark} {record.get('code') or ''} seq={record.get('seq')}"
            f" (expected {record.get('expected_seq')})")  # fmt: skip
    return results


def _pg_snapshot(target: Target) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table of the database with its rows (a small ledger: a few hundred rows in all)."""
    import psycopg

    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with psycopg.connect(target.url) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_type = 'BASE TABLE' ORDER BY table_name")]  # fmt: skip
        for name in names:
            cur = conn.execute(f'SELECT * FROM "{name}"')
            tables[name] = ([d.name for d in cur.description or []], list(cur.fetchall()))
    return tables


def _pg_restore(target: Target, tables: Any, base: Target) -> None:
    """Put every table back as the snapshot holds it, and the keystore as the base's."""
    import psycopg

    with psycopg.connect(target.url) as conn, conn.transaction():
        present = {r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}  # fmt: skip
        if present != set(tables):
            raise RuntimeError(f"tables changed: {sorted(present ^ set(tables))}")
        for name, (columns, rows) in tables.items():
            conn.execute(f'DELETE FROM "{name}"')
            if rows:
                cols = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join(["%s"] * len(columns))
                with conn.cursor() as cur:
                    cur.executemany(f'INSERT INTO "{name}" ({cols}) VALUES ({marks})', rows)
    shutil.rmtree(target.keys, ignore_errors=True)
    shutil.copytree(base.keys, target.keys)


def _first_difference(first: dict[str, Any]) -> str | None:
    if not first:
        return None
    return f"{first.get('table')} {first.get('kind')} {first.get('key')}"


# --- bad input ---------------------------------------------------------------------------------------------------
@dataclass
class Bad:
    name: str
    content: bytes | None  # None: a folder
    sign: bool = False
    exits: tuple[int, ...] = (1,)  # the documented exit status(es)
    code: str | None = None  # the refusal the reason should name, when EVENTS.md gives one
    sample: bool = False  # also run through the real ``python -m api`` in a subprocess
    office: bool = False  # run with an office keystore (its actor's key alone: no pepper, no operator key)


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def bad_inputs(s: Any, info: dict[str, Any], rng: random.Random) -> list[Bad]:
    """Every kind of malformed or refused input, built on the keystore of the ledger under test."""
    from ledger.encoding.b64 import b64decode_strict, b64encode

    sg = Signer(s, "bad")
    confirm = {"laborer_id": "L-0001", "basis": "户口簿核验"}
    valid = sg.envelope("pov-xj", "IdentityConfirmed", confirm)  # would be accepted as it is
    text = _line(valid)
    fund = {"fund_id": "F-2019-640422-extra", "jurisdiction": XIJI, "source": "central", "purpose": "training",
            "year": 2019, "amount_fen": 80000}  # fmt: skip

    def env(actor: str, event_type: str, body: dict[str, Any], **kw: Any) -> str:
        return _line(sg.envelope(actor, event_type, body, **kw))

    def with_body(**over: Any) -> str:
        return env("pov-xj", "IdentityConfirmed", {**confirm, **over})

    def fund_with(**over: Any) -> str:
        return env("fin-xj", "FundAllocated", {**fund, **over})

    def resigned_raw(old: str, new: str) -> str:
        line = text.replace(old, new, 1)
        assert line != text, old
        return line

    def sig(value: str) -> str:
        return _line({**valid, "sig": value})

    raw_sig = b64decode_strict(valid["sig"])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    sig_text = b64encode(raw_sig)
    sloppy = sig_text[:85] + alphabet[alphabet.index(sig_text[85]) ^ 1] + "=="
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.domain.envelope import sign_envelope

    stranger = Ed25519PrivateKey.generate()
    ghost = _line(sign_envelope({"type": "IdentityConfirmed", "actor": "pov-ghost", "at": "2019-04-01T09:00:00+08:00",
                                 "nonce": "ghost-000001", "body": confirm}, stranger))  # fmt: skip
    unknown_key = _line(sign_envelope({"type": "IdentityConfirmed", "actor": "pov-xj", "at": "2019-04-01T09:00:00+08:00",
                                       "nonce": "ghost-000002", "body": confirm}, stranger))  # fmt: skip
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat(timespec="seconds")
    attendance = {"class_id": CLASS, "date": "2019-04-09",
                  "trainees": [{"laborer_id": "L-0001", "theory_hours": 2, "practical_hours": 6}]}  # fmt: skip
    payment = {"payment_id": "P-2019-0002", "claim_id": CLAIM, "fund_id": FUND, "amount_fen": 1000,
               "payee_account": "ab" * 32, "bank_reference": "XJ20190602", "value_date": "2019-06-02"}  # fmt: skip
    registration = laborer_body("L-0100", 100)
    inspection: dict[str, Any] = {"inspection_id": "I-1", "method": "phone_visit", "subject_kind": "laborer", "subject_id": "L-0001",
                  "date": "2019-04-10", "present": [], "absent": [], "checklist": None, "findings": [],
                  "verdict": "pass"}  # fmt: skip
    intent: dict[str, Any] = {"actor": "pov-xj", "type": "LaborerRegistered", "at": "2019-03-02T10:00:00+08:00",
              "body": {**laborer_body("L-0101", 101), "id_fingerprint": "", "pii_commitment": ""},
              "pii": {"name": "李娟", "id_number": "640422199001011221", "phone": "13995400001",
                      "bank_account": "6228480078123450001"}}  # fmt: skip
    assert _luhn_ok(CARD_IN_TEXT)
    deep = '{"v":' + "[" * 100_000 + "]" * 100_000 + "}"
    big_env = sg.envelope("inst-xj", "AttendanceRecorded", {**attendance, "trainees": [
        {"laborer_id": "L-0001", "theory_hours": 2, "practical_hours": 6}] * 1200})  # fmt: skip
    from ledger.encoding.canonical import canonical

    assert len(canonical(big_env)) > 60 * 1024, len(canonical(big_env))
    big = _line(big_env)
    k = [
        # JSON itself (DESIGN §6)
        Bad("float (1.0)", resigned_raw('"v": 1', '"v": 1.0').encode(), code="invalid_json", sample=True),
        Bad("float in exponent form (1e0)", resigned_raw('"v": 1', '"v": 1e0').encode(), code="invalid_json"),
        Bad("float money (80000.5)", fund_with().replace('"amount_fen": 80000', '"amount_fen": 80000.5').encode(),
            code="invalid_json"),
        Bad("duplicate key at top level", ('{"actor": "pov-xj", ' + text[1:]).encode(), code="invalid_json", sample=True),
        Bad("duplicate key in body", resigned_raw('"laborer_id": "L-0001"', '"laborer_id": "L-0001", "laborer_id": "L-0002"').encode(),
            code="invalid_json"),
        Bad("lone high surrogate", resigned_raw("户口簿核验", "\\ud800x").encode(), code="invalid_json"),
        Bad("lone low surrogate", resigned_raw("户口簿核验", "\\udc00").encode(), code="invalid_json"),
        Bad("UTF-8 BOM before the first line", b"\xef\xbb\xbf" + text.encode(), exits=(1, 2), sample=True),
        Bad("5,000-digit integer", fund_with().replace('"amount_fen": 80000', '"amount_fen": ' + "9" * 5000).encode(),
            code="invalid_json"),
        Bad("integer beyond 2^53-1", fund_with().replace('"amount_fen": 80000', f'"amount_fen": {2**53}').encode(),
            code="invalid_json"),
        Bad("NaN", resigned_raw('"v": 1', '"v": NaN').encode(), code="invalid_json"),
        Bad("Infinity", resigned_raw('"v": 1', '"v": Infinity').encode(), code="invalid_json"),
        Bad("not JSON at all", b"this is not json", code="invalid_json"),
        Bad("a JSON array", b'[{"v": 1}]', code="invalid_json"),
        Bad("a JSON string", b'"envelope"', code="invalid_json"),
        Bad("JSON null", b"null", code="invalid_json"),
        Bad("truncated object", text[: len(text) // 2].encode(), code="invalid_json"),
        Bad("trailing garbage after the object", (text + " x").encode(), code="invalid_json"),
        Bad("two objects on one line", (text + text).encode(), code="invalid_json"),
        Bad("100,000-deep nesting", deep.encode(), exits=(1,)),
        Bad("raw control character in a string", resigned_raw("户口簿核验", "户口\x01簿").encode(), code="invalid_json"),
        Bad("invalid UTF-8 in a line", text.encode().replace("户".encode(), b"\xff\xfe", 1), exits=(1, 2)),
        Bad("an empty object", b"{}", code="invalid_field"),
        # size
        Bad("envelope over 60 KiB (1,200 attendance rows)", big.encode(), code="envelope_too_large", sample=True),
        Bad("free text of 24,000 characters", with_body(basis="核" * 24_000).encode(), code="invalid_field"),
        Bad("8 MiB line", with_body(basis="x" * 8 * 2**20).encode()),
        # shape and types (EVENTS.md)
        Bad("unknown envelope key", env("pov-xj", "IdentityConfirmed", confirm, comment="x").encode(), code="invalid_field"),
        Bad("personal data inside a signed envelope (pii key)", env("pov-xj", "IdentityConfirmed", confirm,
            pii={"name": "张三"}).encode(), code="invalid_field"),  # fmt: skip
        Bad("unknown body key", with_body(name="张三").encode(), code="invalid_field"),
        Bad("missing body field", env("pov-xj", "IdentityConfirmed", {"laborer_id": "L-0001"}).encode(), code="invalid_field"),
        Bad("missing envelope field (at)", _line({k2: v for k2, v in valid.items() if k2 != "at"}).encode()),
        Bad("string for a number (\"80000\")", fund_with(amount_fen="80000").encode(), code="invalid_field"),
        Bad("true for an integer", fund_with(amount_fen=True).encode(), code="invalid_field"),
        Bad("number for a string", with_body(basis=5).encode(), code="invalid_field"),
        Bad("null for a required field", with_body(basis=None).encode(), code="invalid_field"),
        Bad("object for a string", with_body(basis={"x": 1}).encode(), code="invalid_field"),
        Bad("year as a string", fund_with(year="2019").encode(), code="invalid_field"),
        Bad("v is 2", resigned_raw('"v": 1', '"v": 2').encode()),
        Bad("v is \"1\"", resigned_raw('"v": 1', '"v": "1"').encode()),
        Bad("bad id (spaces and slashes)", env("hr-xj", "ClassOpeningApproved", {"class_id": "CLS 1/../x"}).encode(),
            code="invalid_field"),
        Bad("id of 65 characters", env("hr-xj", "ClassOpeningApproved", {"class_id": "C" * 65}).encode(), code="invalid_field"),
        Bad("negative money", fund_with(amount_fen=-1).encode(), code="invalid_field"),
        Bad("negative hours", env("inst-xj", "AttendanceRecorded", {**attendance, "trainees": [
            {"laborer_id": "L-0001", "theory_hours": -2, "practical_hours": 6}]}).encode(), code="invalid_field"),  # fmt: skip
        Bad("total_fen not the sum of the lines", env("inst-xj", "SubsidyClaimed", {
            "claim_id": "C-2", "kind": "training", "class_id": CLASS, "payee_account": "ab" * 32,
            "lines": [{"laborer_id": "L-0001", "amount_fen": 150000}], "total_fen": 160000}).encode(),
            code="total_mismatch"),  # fmt: skip
        Bad("living-allowance claim with two lines", env("inst-xj", "SubsidyClaimed", {
            "claim_id": "C-3", "kind": "living_allowance", "class_id": CLASS, "payee_account": "ab" * 32,
            "lines": [{"laborer_id": "L-0001", "amount_fen": 3000}, {"laborer_id": "L-0002", "amount_fen": 3000}],
            "total_fen": 6000}).encode(), code="living_allowance_lines"),  # fmt: skip
        Bad("id_fingerprint in upper-case hex", env("pov-xj", "LaborerRegistered", {
            **registration, "id_fingerprint": "AB" * 32}).encode(), code="invalid_field"),  # fmt: skip
        Bad("a raw bank account as payee_account", env("fin-xj", "PaymentDisbursed", {
            **payment, "payee_account": PERSON["bank_account"]}).encode(), code="invalid_field"),  # fmt: skip
        Bad("gender outside the enumeration", env("pov-xj", "LaborerRegistered", {**registration, "gender": "F"}).encode(),
            code="invalid_field"),
        Bad("category outside the enumeration", env("pov-xj", "LaborerRegistered", {
            **registration, "category": "rich"}).encode(), code="invalid_field"),  # fmt: skip
        Bad("malformed birth_date (1985-6-1)", env("pov-xj", "LaborerRegistered", {
            **registration, "birth_date": "1985-6-1"}).encode(), code="invalid_field"),  # fmt: skip
        Bad("unknown event type", env("pov-xj", "IdentityConfirmedX", confirm).encode(), code="unknown_type"),
        # signatures and attribution
        Bad("missing sig (an intent without --sign)", _line({k2: v for k2, v in valid.items() if k2 != "sig"}).encode(),
            code="invalid_field"),
        Bad("sig not base64", sig("!!!" + sig_text[3:]).encode(), code="invalid_field"),
        Bad("sig base64 with non-zero trailing bits", sig(sloppy).encode(), code="invalid_field"),
        Bad("sig base64 without padding", sig(sig_text.rstrip("=")).encode()),
        Bad("sig of 10 bytes", sig(b64encode(raw_sig[:10])).encode()),
        Bad("signature of another envelope", sig(sg.envelope("pov-xj", "IdentityConfirmed",
            {**confirm, "basis": "别的"})["sig"]).encode(), code="bad_signature"),  # fmt: skip
        Bad("one character of the body changed after signing", resigned_raw("户口簿核验", "户口簿核實").encode(),
            code="bad_signature"),
        Bad("malformed key_id", _line({**valid, "key_id": "ed25519:xyz"}).encode()),
        Bad("key_id of another actor", env("pov-xj", "IdentityConfirmed", confirm, key_actor="hr-ld").encode(),
            code="key_not_actors"),
        Bad("unknown actor", ghost.encode(), code="unknown_actor"),
        Bad("unknown key", unknown_key.encode(), code="unknown_key"),
        Bad("role not allowed (institution confirms identity)", env("inst-xj", "IdentityConfirmed", confirm).encode(),
            code="role_not_allowed"),
        Bad("actor outside its jurisdiction", env("hr-ld", "ClassOpeningApproved", {"class_id": CLASS}).encode(),
            code="outside_jurisdiction"),
        Bad("actor id registered twice", env("admin", "ActorRegistered", {"actor_id": "hr-xj", "name": "x",
            "role": "hr_bureau", "jurisdiction": XIJI, "public_key": base64.b64encode(bytes(32)).decode()}).encode(),
            code="already_exists"),  # fmt: skip
        Bad("nonce reused for a different envelope", env("fin-xj", "FundAllocated", fund, nonce="base-000001").encode(),
            code="nonce_reused"),
        Bad("nonce of 3 characters", env("pov-xj", "IdentityConfirmed", confirm, nonce="abc").encode(), code="invalid_field"),
        Bad("nonce with spaces", env("pov-xj", "IdentityConfirmed", confirm, nonce="nonce with spaces").encode(),
            code="invalid_field"),
        # references and ids
        Bad("unknown labourer", with_body(laborer_id="L-9999").encode(), code="unknown_reference"),
        Bad("unknown class", env("inst-xj", "TraineeEnrolled", {"class_id": "CLS-404", "laborer_id": "L-0001"}).encode(),
            code="unknown_reference"),
        Bad("unknown claim", env("hr-xj", "ClaimApproved", {"claim_id": "C-404", "lines": [], "total_fen": 0}).encode(),
            code="unknown_reference"),
        Bad("unknown fund", env("fin-xj", "FundAdjusted", {"fund_id": "F-404", "delta_fen": -5, "reason": "红字冲销"}).encode(),
            code="unknown_reference"),
        Bad("duplicate labourer id", env("pov-xj", "LaborerRegistered", laborer_body("L-0001", 1)).encode(),
            code="already_exists"),
        Bad("duplicate payment id", env("fin-xj", "PaymentDisbursed", {**payment, "payment_id": "P-2019-0001"}).encode(),
            code="already_exists"),
        # time
        Bad("at one day in the future", env("pov-xj", "IdentityConfirmed", confirm, at=future).encode(), code="at_in_future"),
        Bad("at without a time zone", env("pov-xj", "IdentityConfirmed", confirm, at="2019-04-01T09:00:00").encode(),
            code="invalid_field"),
        Bad("at on 30 February", env("pov-xj", "IdentityConfirmed", confirm, at="2019-02-30T09:00:00+08:00").encode(),
            code="invalid_field"),
        Bad("attendance dated 9999-12-01", env("inst-xj", "AttendanceRecorded", {**attendance, "date": "9999-12-01"}).encode(),
            code="date_out_of_range", sample=True),
        Bad("value_date 2100-01-01", env("fin-xj", "PaymentDisbursed", {**payment, "value_date": "2100-01-01"}).encode(),
            code="date_out_of_range"),
        Bad("birth_date 2100-01-01", env("pov-xj", "LaborerRegistered", {**registration, "birth_date": "2100-01-01"}).encode(),
            code="date_out_of_range"),
        Bad("inspection dated 9999-12-31", env("insp", "InspectionRecorded", {**inspection, "date": "9999-12-31"}).encode(),
            code="date_out_of_range"),
        # personal data written into text (EVENTS.md)
        Bad("ID number in a free-text field", with_body(basis=f"身份证 {ID_IN_TEXT}").encode(), code="personal_data_in_text",
            sample=True),
        Bad("ID number between Chinese characters", env("pov-xj", "LaborerRegistered", {
            **registration, "village": f"龙王坝村{ID_IN_TEXT}号"}).encode(), code="personal_data_in_text"),  # fmt: skip
        Bad("mobile number in a reason", env("pov-xj", "IdentityRejected", {
            "laborer_id": "L-0002", "reason": f"本人电话 {PHONE_IN_TEXT} 未接"}).encode(), code="personal_data_in_text"),  # fmt: skip
        Bad("card number in a reason", env("pov-xj", "IdentityRejected", {
            "laborer_id": "L-0002", "reason": f"卡号{CARD_IN_TEXT}"}).encode(), code="personal_data_in_text"),  # fmt: skip
        Bad("ID number as a certificate_no", env("inst-xj", "CertificateIssued", {
            "certificate_no": ID_IN_TEXT, "certificate_type": "training_completion", "laborer_id": "L-0001",
            "class_id": CLASS, "occupation": "中式烹调", "issued_on": "2019-05-04"}).encode(),
            code="personal_data_in_text"),  # fmt: skip
        Bad("ID number as a bank_reference", env("fin-xj", "PaymentDisbursed", {
            **payment, "bank_reference": ID_IN_TEXT}).encode(), code="personal_data_in_text"),  # fmt: skip
        # intents signed by the keystore (import --sign)
        Bad("pii.phone as an integer", _line({**intent, "pii": {**intent["pii"], "phone": 13995400001}}).encode(),
            sign=True, code="invalid_field"),
        Bad("unknown pii key (email)", _line({**intent, "pii": {**intent["pii"], "email": "a@b.cn"}}).encode(),
            sign=True, code="invalid_field"),
        Bad("pii on an event that carries none", _line({"actor": "pov-xj", "type": "IdentityConfirmed",
            "at": "2019-04-01T09:00:00+08:00", "body": confirm, "pii": {"name": "张三"}}).encode(), sign=True,
            code="invalid_field"),  # fmt: skip
        Bad("intent for an actor the keystore has no key for", _line({"actor": "pov-ghost", "type": "IdentityConfirmed",
            "at": "2019-04-01T09:00:00+08:00", "body": confirm}).encode(), sign=True, exits=(1,)),  # fmt: skip
        Bad("intent with personal data signed on an office keystore (no pepper)", _line(intent).encode(), sign=True,
            office=True, sample=True),
        Bad("intent with a float", _line({**intent, "body": {**intent["body"], "birth_date": 1.5}}).encode(), sign=True),
        # files
        Bad("a folder given to import", None, exits=(2,), sample=True),
        Bad("an empty file", b"", exits=(0,), sample=True),
        Bad("a file of blank lines", b"\n \n\t\n", exits=(0,)),
        Bad("a binary file", bytes(rng.randrange(256) for _ in range(4096)), exits=(1, 2), sample=True),
        Bad("a gzip file", b"\x1f\x8b\x08\x00" + bytes(rng.randrange(256) for _ in range(512)), exits=(1, 2)),
        Bad("a UTF-16 file", text.encode("utf-16"), exits=(1, 2)),
        Bad("a file that does not exist", b"MISSING", exits=(2,)),
    ]
    return k


def _counts(target: Target) -> tuple[int, ...]:
    import sqlalchemy as sa

    from projections.db import engine_for

    with target.session() as s:
        sql = s.ledger.sql
        counts = [int(sql.one(f"SELECT COUNT(*) FROM {t}")[0])
                  for t in ("ledger_leaves", s.ledger.recorder.events_table_name, "pii_vault", "ledger_keys")]  # fmt: skip
        with engine_for(s.ledger).connect() as conn:
            counts.append(int(conn.execute(sa.text("SELECT COUNT(*) FROM pj_postings")).scalar() or 0))
    _dispose()
    return tuple(counts)


NAMED_CODES = ("date_out_of_range", "personal_data_in_text", "envelope_too_large")  # reasons that carry their code


def _judge(bad: Bad, run: Run, before: tuple[int, ...], after: tuple[int, ...]) -> dict[str, Any]:
    outcomes = run.json_lines()
    refusals = [o for o in outcomes if o.get("status") == "refused"]
    accepted = [o for o in outcomes if o.get("status") in ("accepted", "duplicate")]
    errors = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith(("Imported", "导入"))]
    problems = []
    if run.traceback:
        problems.append(f"traceback: {run.traceback[:160]}")
    if run.code not in bad.exits:
        problems.append(f"exit {run.code}, expected {'/'.join(map(str, bad.exits))}")
    if before != after:
        problems.append(f"written: {before} -> {after}")
    if accepted:
        problems.append(f"{accepted[0]['status']} as seq {accepted[0].get('seq')}")
    if run.code == 1 and bad.exits != (0,):
        if len(refusals) != 1 and not (len(refusals) == 0 and len(errors) == 1):
            problems.append(f"{len(refusals)} refusal lines")
        for o in refusals:
            if not o.get("reason") or "\n" in o["reason"]:
                problems.append("reason not one line")
    if run.code == 2 and len(errors) != 1:
        problems.append(f"{len(errors)} error lines on stderr")
    reason = refusals[0]["reason"] if refusals else (errors[0] if errors else run.stdout.strip()[:200])
    if bad.code in NAMED_CODES and refusals and bad.code not in (reason or ""):
        problems.append(f"reason does not name {bad.code}")
    return {"kind": bad.name, "exit": run.code, "reason": (reason or "")[:240], "clear": not problems,
            "problems": problems, "expected_code": bad.code}  # fmt: skip


def run_bad_input(dbs: Databases, backend: str, base: Target, info: dict[str, Any], rng: random.Random,
                  work: Path) -> list[dict[str, Any]]:  # fmt: skip
    target = dbs.new(backend, "bad", template=base)
    try:
        with target.session() as s:
            kinds = bad_inputs(s, info, rng)
        _dispose()
        results = []
        folder = work / f"bad-{backend}"
        folder.mkdir(exist_ok=True)
        for n, bad in enumerate(kinds):
            path = folder / f"{n:03d}.jsonl"
            if bad.content is None:
                path.mkdir()
            elif bad.content == b"MISSING":
                path = folder / "no-such-file.jsonl"
            else:
                path.write_bytes(bad.content + (b"\n" if bad.content and not bad.name.startswith("a ") else b""))
            args = ["import", str(path), "--json", *(["--sign"] if bad.sign else [])]
            keys = target.keys
            if bad.office:
                keys = folder / "office"
                (keys / "actors").mkdir(parents=True, exist_ok=True)
                shutil.copy(target.keys / "actors" / "pov-xj.pem", keys / "actors" / "pov-xj.pem")
            before = _counts(target)
            run = cli(target.url, keys, *args)
            _dispose()
            record = {"backend": backend, "via": "cli in-process", **_judge(bad, run, before, _counts(target))}
            results.append(record)
            if bad.sample:  # the real command in its own process
                before = _counts(target)
                real = cli_process(target.url, keys, *args)
                results.append({"backend": backend, "via": "python -m api",
                                **_judge(bad, real, before, _counts(target))})  # fmt: skip
            if not record["clear"]:
                say(f"  [{backend}] bad input: {bad.name}: NOT CLEAR: {'; '.join(record['problems'])}")
        say(f"  [{backend}] bad input: {sum(r['clear'] for r in results)}/{len(results)} clear")
        return results
    finally:
        _dispose()
        dbs.drop(target)


# --- crash: kill -9 of import ---------------------------------------------------------------------------------
def _write_lines(path: Path, envelopes: list[dict[str, Any]]) -> None:
    path.write_text("".join(_line(e) + "\n" for e in envelopes), encoding="utf-8")


def _registrations(sg: Signer, tag: str, count: int) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        n = int(hashlib.sha256(f"{tag}-{i}".encode()).hexdigest()[:12], 16)
        body = {**laborer_body(f"L-{tag}-{i:04d}", n % 10**9), "household_id": f"H-{tag}-{i:04d}"}
        out.append(sg.envelope("tw-jq" if i % 2 else "pov-xj", "LaborerRegistered", body, nonce=f"{tag}-{i:05d}"))
    return out


def _log_state(target: Target) -> dict[str, Any]:
    """Leaves (seq → (actor, nonce)), registered labourers (id → seq), vault rows, the domain events' count, gaps."""
    with target.session() as s:
        rows = s.ledger.sql.all("SELECT seq, actor, nonce FROM ledger_leaves ORDER BY seq")
        events = int(s.ledger.sql.one(f"SELECT COUNT(*) FROM {s.ledger.recorder.events_table_name}")[0])
        registered = s.ledger.sql.all("SELECT seq, leaf FROM ledger_leaves WHERE type = 'LaborerRegistered'")
        vault = {str(r[0]) for r in s.ledger.sql.all("SELECT subject_id FROM pii_vault")}
    _dispose()
    seqs = [int(r[0]) for r in rows]
    laborers = {json.loads(bytes(leaf))["envelope"]["body"]["laborer_id"]: int(seq) for seq, leaf in registered}
    return {"by_seq": {int(r[0]): (r[1], r[2]) for r in rows}, "nonces": {(r[1], r[2]): int(r[0]) for r in rows},
            "size": len(rows), "gapless": seqs == list(range(len(seqs))), "events": events,
            "laborers": laborers, "vault": vault}  # fmt: skip


def _pii_intents(tag: str, count: int) -> list[dict[str, Any]]:
    """Registrations as intents carrying personal data: ``import --sign`` fingerprints them and seals the vault."""
    out = []
    for i in range(count):
        n = int(hashlib.sha256(f"{tag}-{i}".encode()).hexdigest()[:12], 16)
        first17 = f"{XIJI}{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
        body = {**laborer_body(f"L-{tag}-{i:04d}", n % 10**9), "household_id": f"H-{tag}-{i:04d}",
                "id_fingerprint": "", "pii_commitment": ""}  # fmt: skip
        out.append({"actor": "tw-jq" if i % 2 else "pov-xj", "type": "LaborerRegistered", "at": "2019-03-05T10:00:00+08:00",
                    "body": body, "pii": {"name": f"测试{i:04d}", "id_number": first17 + id_check(first17),
                                          "phone": f"139{n % 10**8:08d}", "bank_account": f"62284800{n % 10**11:011d}"}})  # fmt: skip
    return out


def _watched_import(cmd: list[str], env: dict[str, str],
                    due: Callable[[list[tuple[float, str]], float], bool]) -> dict[str, Any]:  # fmt: skip
    """Run ``import`` in its own process, its stdout lines time-stamped; ``kill -9`` it once ``due``."""
    import threading

    lines: list[tuple[float, str]] = []
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)

    def read() -> None:
        assert proc.stdout is not None
        for line in iter(proc.stdout.readline, ""):
            lines.append((time.perf_counter() - started, line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    killed = False
    while proc.poll() is None:
        if due(lines, time.perf_counter() - started):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    code = proc.wait()
    seconds = time.perf_counter() - started
    reader.join(timeout=10)
    return {"exit": code, "killed": killed, "seconds": seconds, "lines": lines,
            "first_line_s": lines[0][0] if lines else seconds, "last_line_s": lines[-1][0] if lines else seconds}  # fmt: skip


def run_crash(dbs: Databases, backend: str, base: Target, rng: random.Random, points: int, lines: int,
              work: Path) -> dict[str, Any]:  # fmt: skip
    target = dbs.new(backend, "crash", template=base)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LEDGER_LANG": "en"}
    cmd = [PYTHON, "-m", "api", "--db", target.url, "--keys", str(target.keys), "import", "--sign"]
    rounds: list[dict[str, Any]] = []
    failures: list[str] = []
    try:
        files = []
        for r in range(points + 1):
            path = work / f"crash-{backend}-{r:02d}.jsonl"
            _write_lines(path, _pii_intents(f"K{r:02d}", lines))
            files.append(path)
        start = _log_state(target)
        extra_events = start["events"] - start["size"]  # domain events that are not leaves (none expected)
        calibration = _watched_import(cmd + [str(files[0]), "--json"], env, lambda out, elapsed: False)
        full_s, first_s, last_s = calibration["seconds"], calibration["first_line_s"], calibration["last_line_s"]
        if calibration["exit"] != 0:
            failures.append(f"calibration import exit {calibration['exit']}")
        for r in range(1, points + 1):
            path = files[r]
            # Three kinds of moment, drawn by the seed: while starting and parsing (before the first
            # batch is reported), after the k-th reported line (the next batch is being checked and
            # appended), after the last one (the checkpoint and the projections' catch-up).
            mode = rng.choice(["start", "line", "line", "tail"])
            k, extra = rng.randrange(1, lines), rng.uniform(0.0, 0.08)
            at = rng.uniform(0.3, 1.0) * first_s
            tail = rng.uniform(0.0, max(full_s - last_s, 0.05))

            def due(out: list[tuple[float, str]], elapsed: float, mode: str = mode, k: int = k, extra: float = extra,
                    at: float = at, tail: float = tail) -> bool:  # fmt: skip
                if mode == "start":
                    return elapsed >= at
                need = k if mode == "line" else lines
                return len(out) >= need and elapsed - out[need - 1][0] >= (extra if mode == "line" else tail)

            watched = _watched_import(cmd + [str(path), "--json"], env, due)
            killed, delay = watched["killed"], watched["seconds"]
            out = [line for _, line in watched["lines"]]
            reported = [json.loads(x) for x in out if x.startswith("{")]
            accepted_before = [(o["line"], o["seq"]) for o in reported if o["status"] == "accepted"]
            state = _log_state(target)
            mine = [e["body"]["laborer_id"] for e in map(json.loads, path.read_text(encoding="utf-8").splitlines())]
            present = [state["laborers"].get(lid) for lid in mine]
            half_sealed = sum((lid in state["laborers"]) != (lid in state["vault"]) for lid in mine)
            appended = sum(p is not None for p in present)
            lost = sum(1 for line, seq in accepted_before if state["laborers"].get(mine[line - 1]) != seq)
            partial = (not state["gapless"]) or state["events"] - state["size"] != extra_events or half_sealed > 0
            check = cli(target.url, target.keys, "verify", "--json", "--workers", "0")
            _dispose()
            again = cli(target.url, target.keys, "import", str(path), "--sign", "--json")
            _dispose()
            outcomes = again.json_lines()
            wrong = [o for o, p in zip(outcomes, present, strict=False)
                     if (p is None and o["status"] != "accepted") or (p is not None and (o["status"], o["seq"]) != ("duplicate", p))]  # fmt: skip
            healed = any("missing checkpoint" in x for x in again.stderr.splitlines())  # the documented heal
            warned = [x for x in again.stderr.replace("\r", "\n").splitlines()
                      if x.strip() and not x.startswith("import done") and "missing checkpoint" not in x
                      and not re.search(r"\d+/\d+\s*$", x)]  # progress lines ("catching up projections: 4800/4800")  # fmt: skip
            after = cli(target.url, target.keys, "verify", "--json", "--workers", "0")
            _dispose()
            phase = ("finished before the kill" if not killed else "before any append" if not appended
                     else "mid-import (between batch transactions)" if appended < lines
                     else "after the last append (checkpoint, projections)")  # fmt: skip
            record = {
                "point": r, "mode": mode, "delay_s": round(delay, 2), "killed": killed, "phase": phase, "reported_accepted": len(accepted_before),
                "appended_before_kill": appended, "lost": lost, "partial_event": partial, "vault_mismatch": half_sealed,
                "verify_after_kill": check.code, "reimport_exit": again.code,
                "reimport": {"duplicate": sum(o["status"] == "duplicate" for o in outcomes),
                             "accepted": sum(o["status"] == "accepted" for o in outcomes),
                             "refused": sum(o["status"] == "refused" for o in outcomes)},
                "reimport_wrong": len(wrong) + abs(len(outcomes) - len(mine)), "reimport_warnings": warned[:3],
                "healed_checkpoint": healed,
                "verify_after_reimport": after.code,
            }  # fmt: skip
            bad = []
            if lost:
                bad.append(f"{lost} lost")
            if partial:
                bad.append("partial event / gap")
            if check.code != 0:
                bad.append(f"verify after kill exit {check.code}: {(check.json_lines() or [{}])[-1].get('reason')}")
            if again.code != 0 or record["reimport_wrong"] or again.traceback:
                bad.append(f"re-import exit {again.code}, {record['reimport_wrong']} lines not duplicate/accepted as expected")
            if warned:
                bad.append(f"re-import warned: {warned[0][:120]}")
            if after.code != 0:
                bad.append(f"verify after re-import exit {after.code}")
            record["failures"] = bad
            failures += [f"point {r}: {b}" for b in bad]
            rounds.append(record)
            say(f"  [{backend}] crash point {r} ({mode}): {'killed' if killed else 'finished first'} at {delay:.2f}s, "
                f"{appended}/{lines} appended, {len(accepted_before)} reported, lost {lost}"
                f"{' — ' + '; '.join(bad) if bad else ''}")  # fmt: skip
        final = cli(target.url, target.keys, "verify", "--json", "--workers", "0", "--projections")
        _dispose()
        projections = ((final.json_lines() or [{}])[-1]).get("projections") or {}
        if final.code != 0 or not projections.get("ok"):
            failures.append(f"final verify --projections exit {final.code}: {final.stderr.strip()[:200]}")
        return {"backend": backend, "lines_per_file": lines, "full_import_s": round(full_s, 2),
                "first_line_s": round(first_s, 2), "last_line_s": round(last_s, 2), "points": rounds,
                "killed": sum(r["killed"] for r in rounds), "lost": sum(r["lost"] for r in rounds),
                "partial": sum(r["partial_event"] for r in rounds), "failures": failures,
                "final_projections_ok": bool(projections.get("ok")),
                "phases": {p: sum(x["phase"] == p for x in rounds) for p in sorted({x["phase"] for x in rounds})}}  # fmt: skip
    finally:
        _dispose()
        dbs.drop(target)


# --- concurrency: four importer processes ---------------------------------------------------------------------
def child_import(db: str, keys: str, source: str, report: str, start_at: str) -> None:
    """One importer process: wait for the common start, import FILE in batches of 25, catch up."""
    from api.services import after_write
    from ledger.service import Session

    session = Session.open(db, keys)
    try:
        while time.time() < float(start_at):
            time.sleep(0.001)
        with open(source, encoding="utf-8") as handle:
            outcomes = [(n, o.status, o.seq, o.reason) for n, o in session.import_lines(handle, sign=False, batch=25)]
        after_write(session.ledger)
    finally:
        session.close()
    Path(report).write_text(json.dumps(outcomes), encoding="utf-8")


def run_concurrency(dbs: Databases, backend: str, base: Target, work: Path, processes: int = 4,
                    own: int = 150, shared: int = 40) -> dict[str, Any]:  # fmt: skip
    from ledger.encoding.canonical import loads_strict
    from ledger.translog import merkle

    target = dbs.new(backend, "concurrent", template=base)
    failures: list[str] = []
    try:
        with target.session() as s:
            sg = Signer(s, "conc")
            base_size = s.ledger.size()
            common = _registrations(sg, "SHARED", shared)
            files = []
            for p in range(processes):
                mine = _registrations(sg, f"PROC{p}", own)
                path = work / f"conc-{backend}-{p}.jsonl"
                _write_lines(path, mine[: own // 2] + common + mine[own // 2:])
                files.append(path)
        _dispose()
        start_at = time.time() + 4.0
        started = time.perf_counter()
        procs = [subprocess.Popen([PYTHON, str(Path(__file__).resolve()), "--child-import", target.url, str(target.keys),
                                   str(f), str(work / f"report-{backend}-{p}.json"), str(start_at)],
                                  cwd=ROOT, stderr=subprocess.PIPE, text=True)  # fmt: skip
                 for p, f in enumerate(files)]
        codes = [proc.wait(timeout=600) for proc in procs]
        wall = time.perf_counter() - started - 4.0
        for p, (proc, code) in enumerate(zip(procs, codes, strict=True)):
            if code != 0:
                failures.append(f"importer {p} exit {code}: {(proc.stderr.read() if proc.stderr else '').strip()[-300:]}")
        reports = [json.loads((work / f"report-{backend}-{p}.json").read_text()) if codes[p] == 0 else []
                   for p in range(processes)]  # fmt: skip
        accepted = [seq for rep in reports for (_, status, seq, _) in rep if status == "accepted"]
        refused = [r for rep in reports for r in rep if r[1] == "refused"]
        if refused:
            failures.append(f"{len(refused)} lines refused, e.g. {refused[0]}")
        if len(accepted) != processes * own + shared or len(set(accepted)) != len(accepted):
            failures.append(f"{len(accepted)} accepted ({len(set(accepted))} distinct seqs), expected {processes * own + shared}")
        with target.session() as s:
            seqs, keys = [], []
            for seq, _, leaf in s.ledger.leaves():
                seqs.append(seq)
                e = loads_strict(leaf)["envelope"]
                keys.append((e["actor"], e["nonce"]))
            store = merkle.MemoryNodeStore.from_leaves(leaf for _, _, leaf in s.ledger.leaves())
            root_ok = s.ledger.root() == store.root()
        _dispose()
        gapless = seqs == list(range(base_size + processes * own + shared))
        once = len(set(keys)) == len(keys)
        if not gapless:
            failures.append(f"seqs not gapless 0..{base_size + processes * own + shared - 1} (size {len(seqs)})")
        if not once:
            failures.append("an envelope stored twice")
        if not root_ok:
            failures.append("stored Merkle root differs from the recomputed one")
        check = cli(target.url, target.keys, "verify", "--json", "--workers", "0", "--projections")
        _dispose()
        result = (check.json_lines() or [{}])[-1]
        if check.code != 0:
            failures.append(f"verify --projections exit {check.code}: {result.get('reason') or check.stderr.strip()[:200]}")
        say(f"  [{backend}] concurrency: {processes} importers, {len(accepted)} accepted in {wall:.1f}s, gapless {gapless}, "
            f"once {once}, root {root_ok}, verify exit {check.code}")  # fmt: skip
        return {"backend": backend, "processes": processes, "lines_per_process": own + shared,
                "accepted": len(accepted), "duplicates": sum(1 for rep in reports for r in rep if r[1] == "duplicate"),
                "gapless": gapless, "each_once": once, "root_matches": root_ok, "verify_exit": check.code,
                "projections_ok": bool((result.get("projections") or {}).get("ok")), "seconds": round(wall, 1),
                "failures": failures}  # fmt: skip
    finally:
        _dispose()
        dbs.drop(target)


# --- personal data ------------------------------------------------------------------------------------------------
COUNTIES = ("640402", "640422", "640423", "640424", "640425")  # 原州区 西吉县 隆德县 泾源县 彭阳县
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def make_person(rng: random.Random, n: int, county: str | None = None) -> dict[str, Any]:
    county = county or rng.choice(COUNTIES)
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
    serial = rng.randrange(1000)
    first17 = f"{county}{birth:%Y%m%d}{serial:03d}"
    return {"county": county, "birth": birth.isoformat(), "gender": "male" if serial % 2 else "female",
            "id_number": first17 + id_check(first17), "name": f"测试{n:03d}",
            "phone": f"139{rng.randrange(10**8):08d}", "bank_account": f"62284800{rng.randrange(10**11):011d}"}  # fmt: skip


def reverse_fingerprint(pepper: bytes, fingerprint: str, county: str, birth: str, gender: str) -> str | None:
    """The attack: enumerate the ≈ 500 ID numbers left once county, birth date and gender are known."""
    stem = county + birth.replace("-", "")
    for serial in range(1 if gender == "male" else 0, 1000, 2):
        first17 = f"{stem}{serial:03d}"
        candidate = first17 + id_check(first17)
        if hmac.new(pepper, ("id:" + candidate).encode(), hashlib.sha256).hexdigest() == fingerprint:
            return candidate
    return None


def _database_bytes(target: Target) -> bytes:
    if target.backend == "sqlite":
        path = Path(target.url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    chunks = []
    with target.session() as s:
        tables = s.ledger.sql.all("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        for (table,) in tables:
            chunks += [str(row).encode() for (row,) in s.ledger.sql.all(f'SELECT t::text FROM "{table}" t')]
    return b"\n".join(chunks)


def run_personal_data(dbs: Databases, backend: str, base: Target, rng: random.Random, work: Path,
                      people: int = 200) -> dict[str, Any]:  # fmt: skip
    from ledger.keys import vault as pii

    target = dbs.new(backend, "pii", template=base)
    failures: list[str] = []
    try:
        pepper = bytes.fromhex((target.keys / "pepper").read_text().strip())
        population = [make_person(rng, n, XIJI if n < 20 else None) for n in range(people)]
        fingerprints = [pii.id_fingerprint(pepper, p["id_number"]) for p in population]
        started = time.perf_counter()
        reversed_ = sum(reverse_fingerprint(pepper, fp, p["county"], p["birth"], p["gender"]) == p["id_number"]
                        for fp, p in zip(fingerprints, population, strict=True))  # fmt: skip
        attack_s = time.perf_counter() - started

        # 20 of them registered through import --sign on the operator's keystore (the ledger service)
        registered = population[:20]
        intents = work / f"pii-{backend}.jsonl"
        intents.write_text("".join(_line({
            "actor": "pov-xj", "type": "LaborerRegistered", "at": "2019-03-05T10:00:00+08:00",
            "body": {**laborer_body(f"L-P{n:03d}", 500 + n, birth=p["birth"]), "jurisdiction": XIJI,
                     "gender": p["gender"], "id_fingerprint": "", "pii_commitment": ""},
            "pii": {k: p[k] for k in ("name", "id_number", "phone", "bank_account")}}) + "\n"
            for n, p in enumerate(registered)), encoding="utf-8")  # fmt: skip
        signed = cli(target.url, target.keys, "import", str(intents), "--sign", "--json")
        _dispose()
        if signed.code != 0:
            failures.append(f"import --sign on the service's keystore exit {signed.code}: {signed.stderr.strip()[:200]}")
        # the ledger holds each fingerprint, so the attack works from the log alone with the pepper
        with target.session() as s:
            stored = [json.loads(leaf)["envelope"]["body"] for _, _, leaf in s.ledger.leaves()
                      if b'"L-P' in leaf and b'"LaborerRegistered"' in leaf]  # fmt: skip
        _dispose()
        from_log = sum(reverse_fingerprint(pepper, b["id_fingerprint"], b["jurisdiction"], b["birth_date"],
                                           b["gender"]) == p["id_number"]
                       for b, p in zip(stored, registered, strict=False))  # fmt: skip

        # an office keystore: its actor keys alone
        office = work / f"office-{backend}"
        (office / "actors").mkdir(parents=True)
        shutil.copy(target.keys / "actors" / "pov-xj.pem", office / "actors" / "pov-xj.pem")
        office_files = sorted(p.name for p in office.rglob("*") if p.is_file())
        one = work / f"pii-office-{backend}.jsonl"
        one.write_text(intents.read_text(encoding="utf-8").splitlines()[0].replace("L-P000", "L-Q000") + "\n",
                       encoding="utf-8")  # fmt: skip
        before = _log_state(target)["size"]
        office_run = cli(target.url, office, "import", str(one), "--sign", "--json")
        _dispose()
        office_out = (office_run.json_lines() or [{}])[0]
        # what this row tests: no fingerprint computed, nothing written (the exit status is judged in bad input)
        office_refused = (office_out.get("status") == "refused" and office_run.traceback is None
                          and "personal_data_needs_service" in (office_out.get("reason") or "")
                          and _log_state(target)["size"] == before)  # fmt: skip
        if not office_refused:
            failures.append(f"office keystore: exit {office_run.code}, {office_out}")
        if any("pepper" in name for name in office_files):
            failures.append("the office keystore holds a pepper")

        # exports: no pepper, vault key, ID, phone or account number
        exports = [work / f"export-{backend}-log"]
        runs = [cli(target.url, target.keys, "export", "log", str(exports[0]))]
        for kind, ident in (("laborer", "L-0042"), ("laborer", "L-P000"), ("claim", CLAIM), ("payment", "P-2019-0001"),
                            ("class", CLASS)):  # fmt: skip
            exports.append(work / f"export-{backend}-{kind}-{ident}")
            runs.append(cli(target.url, target.keys, "export", "evidence", kind, ident, str(exports[-1])))
        _dispose()
        for run in runs:
            if run.code != 0:
                failures.append(f"export exit {run.code}: {run.stderr.strip()[:200]}")
        forbidden: dict[str, bytes] = {}
        for name in ("pepper", "vault.key"):
            hex_text = (target.keys / name).read_text().strip()
            raw = bytes.fromhex(hex_text)
            forbidden |= {f"{name} (hex)": hex_text.encode(), f"{name} (HEX)": hex_text.upper().encode(),
                          f"{name} (raw)": raw, f"{name} (base64)": base64.b64encode(raw).rstrip(b"=")}  # fmt: skip
        for n, person in enumerate([PERSON, *registered]):
            for key in ("id_number", "phone", "bank_account", "name"):
                forbidden[f"{n}.{key}"] = person[key].encode()
                forbidden[f"{n}.{key} (lower)"] = person[key].lower().encode()
        files = [p for folder in exports for p in folder.rglob("*") if p.is_file()]
        leaks = [f"{what} in {path.name}" for path in files for what, form in forbidden.items() if form in path.read_bytes()]
        if not files:
            failures.append("no export written")
        failures += [f"export leak: {x}" for x in leaks[:5]]
        blob = _database_bytes(target)
        _dispose()
        in_db = [what for what, form in forbidden.items()
                 if not what.startswith(("pepper", "vault")) and (form in blob or form.hex().encode() in blob)]  # fmt: skip
        failures += [f"in the database in clear: {x}" for x in in_db[:5]]

        # erasure: by `pii erase`, and by a PersonalDataErased the poverty office signed and imported
        with target.session() as s:
            erased = Signer(s, "erase").envelope("pov-xj", "PersonalDataErased",
                                                 {"laborer_id": "L-P000", "reason": "本人申请删除"})  # fmt: skip
        _dispose()
        erase_file = work / f"erase-{backend}.jsonl"
        _write_lines(erase_file, [erased])
        imported = cli(target.url, target.keys, "import", str(erase_file), "--json")
        by_cli = cli(target.url, target.keys, "pii", "erase", "L-P001", "--as", "pov-xj")
        with target.session() as s:
            left = {lid: s.ledger.vault_record(lid) is not None for lid in ("L-P000", "L-P001", "L-P002")}
        _dispose()
        erased_by_import = imported.code == 0 and not left["L-P000"]
        erased_by_verb = by_cli.code == 0 and not left["L-P001"]
        if not erased_by_import:
            failures.append(f"an imported PersonalDataErased left the vault record readable (import exit {imported.code})")
        if not erased_by_verb:
            failures.append(f"`pii erase` left the vault record (exit {by_cli.code}: {by_cli.stderr.strip()[:120]})")
        if not left["L-P002"]:
            failures.append("an erasure removed another labourer's record")
        checks = {"office keystore computes no fingerprint": office_refused,
                  "no pepper, vault key or number in any export": bool(files) and not leaks,
                  "no number in the database in clear": not in_db,
                  "`pii erase` deletes the vault record": erased_by_verb,
                  "an imported PersonalDataErased deletes the vault record": erased_by_import and left["L-P002"]}  # fmt: skip
        say(f"  [{backend}] personal data: {reversed_}/{people} reversed with the pepper in {attack_s:.2f}s; "
            f"office refused {office_refused}; export files {len(files)}, leaks {len(leaks)}; db clear {len(in_db)}; "
            f"erased by import {erased_by_import}, by pii erase {erased_by_verb}")  # fmt: skip
        return {"backend": backend, "people": people, "reversed_with_pepper": reversed_, "attack_s": round(attack_s, 3),
                "registered": len(registered), "reversed_from_log": from_log, "office_keystore": office_files,
                "office_cannot_fingerprint": office_refused, "office_exit": office_run.code,
                "office_stderr": office_run.stderr.strip()[:200], "office_reason": (office_out.get("reason") or "")[:200],
                "export_files": len(files), "export_forms_checked": len(forbidden), "export_leaks": leaks,
                "database_plaintext": in_db, "checks": checks, "failures": failures}  # fmt: skip
    finally:
        _dispose()
        dbs.drop(target)


# --- the report -------------------------------------------------------------------------------------------------
ROWS = ("tamper", "bad_input", "crash", "concurrency", "personal_data")


def summarise(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per row: tried, held, failed, notes (both backends together)."""
    rows = []
    if "tamper" in result:
        t = [r for r in result["tamper"]]
        should = [r for r in t if r["should_catch"]]
        caught = [r for r in should if r["caught"]]
        seq_named = [r for r in should if r.get("expected_seq") is not None]
        named = [r for r in seq_named if r.get("named_seq")]
        limits = [r for r in t if not r["should_catch"]]
        kinds = len({r["attack"] for r in t})
        absent = [r for r in t if r.get("projections_option") is False]
        rows.append({"row": "tamper", "tried": len(should), "held": len(caught), "failed": len(should) - len(caught),
                     "notes": f"{kinds} kinds; named the seq {len(named)}/{len(seq_named)} (others: a checkpoint or no seq to "
                              f"name); {len(limits)} documented limits passed as expected"
                              + (f"; `verify --projections` absent: {len(absent)} projection attacks counted not caught"
                                 if absent else "")})  # fmt: skip
    if "bad_input" in result:
        b = result["bad_input"]
        clear = [r for r in b if r["clear"]]
        kinds = len({r["kind"] for r in b})
        real = [r for r in b if r["via"] == "python -m api"]
        rows.append({"row": "bad input", "tried": len(b), "held": len(clear), "failed": len(b) - len(clear),
                     "notes": f"{kinds} kinds per backend; {len(real)} runs of the real `python -m api`"
                              f" ({sum(r['clear'] for r in real)} clear)"})  # fmt: skip
    if "crash" in result:
        c = result["crash"]
        killed = sum(x["killed"] for x in c)
        points = sum(len(x["points"]) for x in c)
        failed = sum(len(x["failures"]) for x in c)
        rows.append({"row": "crash", "tried": points, "held": points - len({(x["backend"], f.split(":")[0]) for x in c
                                                                              for f in x["failures"]}),  # fmt: skip
                     "failed": failed, "notes": f"kill -9 at {points} points ({killed} killed mid-run); lost events "
                     f"{sum(x['lost'] for x in c)}; partial events {sum(x['partial'] for x in c)}; phases "
                     f"{_phases(c)}; projections after: "
                     f"{'ok' if all(x['final_projections_ok'] for x in c) else 'NOT ok'}"})  # fmt: skip
    if "concurrency" in result:
        c = result["concurrency"]
        ok = [x for x in c if not x["failures"]]
        rows.append({"row": "concurrency", "tried": len(c), "held": len(ok), "failed": len(c) - len(ok),
                     "notes": "; ".join(f"{x['backend']}: {x['processes']} importers, {x['accepted']} accepted, gapless "
                                        f"{x['gapless']}, each once {x['each_once']}, verify exit {x['verify_exit']}"
                                        for x in c)})  # fmt: skip
    if "personal_data" in result:
        p = result["personal_data"]
        checks = sum(len(x["checks"]) for x in p)
        failed = sum(not ok for x in p for ok in x["checks"].values())
        rows.append({"row": "personal data", "tried": checks, "held": checks - failed, "failed": failed,
                     "notes": "; ".join(f"{x['backend']}: with the pepper {x['reversed_with_pepper']}/{x['people']} ID "
                                        f"numbers reversed in {x['attack_s']} s (from the log: {x['reversed_from_log']}/"
                                        f"{x['registered']}); office keystore cannot fingerprint: "
                                        f"{x['office_cannot_fingerprint']}; {x['export_files']} export files, "
                                        f"{len(x['export_leaks'])} leaks" for x in p)})  # fmt: skip
    return rows


def _phases(crashes: list[dict[str, Any]]) -> str:
    total: dict[str, int] = {}
    for x in crashes:
        for phase, n in x["phases"].items():
            total[phase] = total.get(phase, 0) + n
    return ", ".join(f"{n} {phase}" for phase, n in sorted(total.items()))


def print_report(result: dict[str, Any]) -> None:
    rows = result["summary"]
    print(f"Red-team campaign — backends {', '.join(result['backends'])}, seed {result['seed']}, "
          f"{result['seconds']:.0f} s, {result['machine']}")  # fmt: skip
    print("seconds per row: " + ", ".join(f"{k} {v}" for k, v in result.get("row_seconds", {}).items()))
    print()
    print("| row | tried | held | failed | notes |")
    print("|---|---:|---:|---:|---|")
    for r in rows:
        print(f"| {r['row']} | {r['tried']} | {r['held']} | {r['failed']} | {r['notes']} |")
    if "tamper" in result:
        print("\nTamper (caught / named seq / code):")
        for r in result["tamper"]:
            flag = "caught" if r["caught"] else ("passes — documented limit" if not r["should_catch"] else "NOT CAUGHT")
            named = {True: "seq ok", False: f"seq {r.get('seq')} ≠ {r.get('expected_seq')}", None: "no seq"}[r.get("named_seq")]
            print(f"  [{r['backend']:8}] {r['attack']:<92} {flag:<26} {named:<12} {r.get('code') or r.get('error') or ''}")
    if "bad_input" in result:
        failed = [r for r in result["bad_input"] if not r["clear"]]
        print(f"\nBad input: {len(failed)} not clear" + ("" if failed else " (every kind refused in one line, nothing written)"))
        for r in failed:
            print(f"  [{r['backend']:8}] {r['kind']} ({r['via']}): {'; '.join(r['problems'])} — {r['reason'][:120]}")
    for key in ("crash", "concurrency", "personal_data"):
        for x in result.get(key, []):
            for f in x["failures"]:
                print(f"  {key} [{x['backend']}]: {f}")


def run_row(row: str, dbs: Databases, backend: str, base: Target, info: dict[str, Any], rng: random.Random,
            work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:  # fmt: skip
    if row == "tamper":
        return run_tamper(dbs, backend, base, info)
    if row == "bad_input":
        return run_bad_input(dbs, backend, base, info, rng, work)
    if row == "crash":
        return [run_crash(dbs, backend, base, rng, args.kill_points, args.crash_lines, work)]
    if row == "concurrency":
        return [run_concurrency(dbs, backend, base, work)]
    return [run_personal_data(dbs, backend, base, rng, work)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--kill-points", type=int, default=12)
    parser.add_argument("--crash-lines", type=int, default=1200, help="lines per import file in the crash row")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--json", action="store_true", help="the whole result as JSON on stdout")
    parser.add_argument("--save", type=Path, default=None, help="also write the whole result as JSON to this file")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    parser.add_argument("--child-import", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_import:
        child_import(*args.child_import)
        return 0
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = set(rows) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    if "postgres" in backends(args.backend):
        try:
            import psycopg

            psycopg.connect(PG_ADMIN, connect_timeout=5).close()
        except Exception as exc:
            say(f"error: PostgreSQL at {PG_ADMIN} unreachable ({type(exc).__name__}); use --backend sqlite")
            return 2
    work = args.dir or Path(tempfile.mkdtemp(prefix="redteam-"))
    work.mkdir(parents=True, exist_ok=True)
    dbs = Databases(work)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    result: dict[str, Any] = {"seed": args.seed, "backends": backends(args.backend), "rows": rows,
                              "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                              "command": "benchmarks/redteam.py " + " ".join(argv if argv is not None else sys.argv[1:])}  # fmt: skip
    try:
        for backend in backends(args.backend):
            say(f"[{backend}] building the base ledger")
            base, info = build_base(dbs, backend)
            _dispose()
            for row in ROWS:
                if row in rows:
                    row_started = time.perf_counter()
                    result.setdefault(row, []).extend(run_row(row, dbs, backend, base, info, rng, work, args))
                    result.setdefault("row_seconds", {})[f"{row}/{backend}"] = round(time.perf_counter() - row_started, 1)
            dbs.drop(base)
    finally:
        _dispose()
        dbs.close()
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["summary"] = summarise(result)
    result["ok"] = all(r["failed"] == 0 for r in result["summary"])
    if args.save is not None:
        args.save.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    else:
        print_report(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
