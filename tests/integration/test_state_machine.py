"""Any sequence of imports, submissions, key rotations, revocations and erasures keeps the ledger
sound, on SQLite and PostgreSQL (issue 12, build item 6: fuzzing).

A Hypothesis state machine drives the real application (``Session``, as the CLI does, without
its subprocesses) with valid and invalid actions: new events, bad signatures, reused nonces,
unknown references, a rotated or revoked key signing afterwards, erasing twice, duplicates of
earlier envelopes (accepted or not, in another JSON spelling), intents with personal data,
malformed lines. A small model of the ledger — written from EVENTS.md and DESIGN §6–§7, not from
the code — predicts each outcome: accepted at the next seq, duplicate of the seq that holds it,
or refused with its reason code. After every step:

* the log holds exactly the leaves the model accepted, gapless, each the envelope predicted, its
  signature valid under the key the model registered, and the stored Merkle tree's root equal to
  one recomputed from the leaves (the cheap parts of ``verify``); the domain events, the key
  index and the personal-data vault hold exactly what the model expects — so a refusal wrote
  nothing, and a vault record is never rewritten;

and at the end the full ``verify`` passes and the projections caught up step by step (the
``project`` rule, in random batches) equal a rebuild from scratch.

Bounded for CI (derandomised: the same examples every run; on PostgreSQL each example costs a
database copy). ``LEDGER_STATEFUL_EXAMPLES`` and ``LEDGER_STATEFUL_STEPS`` raise the bounds; ``benchmarks/bench_fuzz.py --stateful N`` runs a long
campaign through them.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from test_projections_property import snapshot  # the rebuild comparison of the property test

from ledger.domain.envelope import public_key_bytes
from ledger.errors import OperationalError, Refused
from ledger.service import Session
from ledger.translog.verify import run_verify
from projections.db import dispose_engines, engine_for
from projections.runner.catchup import catch_up, rebuild
from support import fuzz
from support.pg import PG_ADMIN, drop_pg_database
from support.scenario import CITY, LONGDE, XIJI, Scenario

SEEN: Counter[str] = Counter()  # outcomes met, for the long campaign's report (bench_fuzz.py --stateful)
EXAMPLES = int(os.environ.get("LEDGER_STATEFUL_EXAMPLES", "6"))
STEPS = int(os.environ.get("LEDGER_STATEFUL_STEPS", "30"))
# A failure prints its steps as they ran; shrinking them (LEDGER_STATEFUL_SHRINK=1) can take
# Hypothesis's full five minutes at about half a second per example.
PHASES = [Phase.explicit, Phase.generate] + ([Phase.shrink] if os.environ.get("LEDGER_STATEFUL_SHRINK") else [])

# --- what the model knows: EVENTS.md's signers for the types it generates ------------------------
SIGNERS = {
    "LaborerRegistered": {"poverty_office", "township"},
    "IdentityConfirmed": {"poverty_office"},
    "PersonalDataAccessed": {"poverty_office", "township", "inspector"},
    "PersonalDataErased": {"poverty_office"},
    "FundAllocated": {"finance_bureau"},
    "ClassOpeningRequested": {"institution"},
    "TraineeEnrolled": {"institution"},
    "KeyRotated": {"admin"},
    "KeyRevoked": {"admin"},
}
TYPES = sorted(set(SIGNERS) - {"KeyRotated", "KeyRevoked"})
ACTORS = {"admin": ("admin", CITY), "pov-xj": ("poverty_office", XIJI), "tw-jq": ("township", XIJI),
          "fin-xj": ("finance_bureau", XIJI), "inst-xj": ("institution", XIJI), "inst-ld": ("institution", LONGDE),
          "hr-xj": ("hr_bureau", XIJI), "insp": ("inspector", CITY)}  # fmt: skip
SIGNS = {t: sorted(a for a, (role, _) in ACTORS.items() if role in r) for t, r in SIGNERS.items()}
ROTATABLE = ["admin", "pov-xj", "tw-jq", "fin-xj", "inst-xj"]
REVOCABLE = ROTATABLE[1:]  # a revoked admin could register, rotate and revoke nothing more
AT = "2019-05-01T10:00:00+08:00"
MALFORMED = {"invalid_json", "invalid_field"}
PERSON = {"name": "马秀兰", "id_number": "64042219850601242X", "phone": "13995412345",
          "bank_account": "6228480078123456789"}  # fmt: skip
# A PersonalDataErased deletes the vault record in its own transaction however it arrives — by
# ``pii erase``, import or submit (the fuzzing found an imported one left the record readable).
IMPORTED_ERASURE_CLEARS_VAULT = True
# Kinds of line an import or a submission carries, valid and invalid.
KINDS = ["new", "new", "new", "new", "new", "new", "tampered", "retired_key", "foreign_key", "ghost_actor", "ghost_key",
         "future", "malformed", "nonce_reuse", "resend", "resend", "intent", "intent", "intent", "intent_again"]  # fmt: skip


def jcs(value: Any) -> bytes:
    return rfc8785.dumps(value)


def covers(actor_code: str, code: str) -> bool:
    return actor_code in (code, CITY)


def sign(unsigned: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """DESIGN §6 signing, written here again: v, key_id, then Ed25519 over JCS without sig."""
    env = {**unsigned, "v": 1, "key_id": key_id(key)}
    env["sig"] = base64.b64encode(key.sign(jcs(env))).decode()
    return env


def key_id(key: Ed25519PrivateKey) -> str:
    return "ed25519:" + hashlib.sha256(public_key_bytes(key)).hexdigest()[:32]


@dataclass
class Key:
    actor: str
    private: Ed25519PrivateKey
    valid: bool = True


@dataclass
class Line:
    """One input line and what the model needs to predict its outcome."""

    text: str
    envelope: dict[str, Any] | None  # the envelope the ledger will see (None: cannot be parsed)
    sig_ok: bool = True
    intent: dict[str, Any] | None = None  # an intent signed by the keystore on import
    refusal: str | None = None  # a refusal known before the ledger's state matters


@dataclass
class Model:
    keys: dict[str, Key] = field(default_factory=dict)  # key_id -> key
    current: dict[str, str] = field(default_factory=dict)  # actor -> the key its keystore holds
    laborers: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (jurisdiction, signer)
    erased: set[str] = field(default_factory=set)
    vault: set[str] = field(default_factory=set)
    funds: dict[str, str] = field(default_factory=dict)  # id -> purpose
    classes: dict[str, str] = field(default_factory=dict)  # id -> jurisdiction
    nonces: dict[tuple[str, str], tuple[int, bytes]] = field(default_factory=dict)
    leaves: dict[int, bytes] = field(default_factory=dict)  # seq -> the JCS envelope it must hold
    size: int = 0

    def predict(self, env: dict[str, Any], sig_ok: bool = True) -> tuple[str, Any]:
        """(accepted, seq) | (duplicate, seq) | (refused, code), in EVENTS.md's order of checks."""
        at = dt.datetime.fromisoformat(env["at"].replace("Z", "+00:00"))
        if at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
            return "refused", "at_in_future"
        earlier = self.nonces.get((env["actor"], env["nonce"]))
        if earlier is not None:
            return ("duplicate", earlier[0]) if earlier[1] == jcs(env) else ("refused", "nonce_reused")
        if env["actor"] not in ACTORS:
            return "refused", "unknown_actor"
        key = self.keys.get(env["key_id"])
        if key is None:
            return "refused", "unknown_key"
        if key.actor != env["actor"]:
            return "refused", "key_not_actors"
        if not key.valid:
            return "refused", "key_not_valid"
        if not sig_ok:
            return "refused", "bad_signature"
        role, code = ACTORS[env["actor"]]
        kind, b = env["type"], env["body"]
        if role not in SIGNERS[kind] and not (kind == "KeyRotated" and b["actor_id"] == env["actor"]):
            return "refused", "role_not_allowed"
        refusal = self._subject(kind, b, env["actor"], role, code)
        return ("refused", refusal) if refusal else ("accepted", self.size)

    def _subject(self, kind: str, b: dict[str, Any], actor: str, role: str, code: str) -> str | None:
        if kind == "LaborerRegistered":
            if b["laborer_id"] in self.laborers:
                return "already_exists"
            return None if covers(code, b["jurisdiction"]) else "outside_jurisdiction"
        if kind in ("IdentityConfirmed", "PersonalDataAccessed", "PersonalDataErased"):
            laborer = self.laborers.get(b["laborer_id"])
            if laborer is None:
                return "unknown_reference"
            if kind == "PersonalDataAccessed" and role == "township" and laborer[1] != actor:
                return "role_not_allowed"
            return None if covers(code, laborer[0]) else "outside_jurisdiction"
        if kind == "FundAllocated":
            if self.funds.get(b["fund_id"], b["purpose"]) != b["purpose"]:
                return "already_exists"
            return None if covers(code, b["jurisdiction"]) else "outside_jurisdiction"
        if kind == "ClassOpeningRequested":
            if b["class_id"] in self.classes:
                return "already_exists"
            return None if covers(code, b["jurisdiction"]) else "outside_jurisdiction"
        if kind == "TraineeEnrolled":
            if b["class_id"] not in self.classes:
                return "unknown_reference"
            if not covers(code, self.classes[b["class_id"]]):
                return "outside_jurisdiction"
            return None if b["laborer_id"] in self.laborers else "unknown_reference"
        if kind == "KeyRotated":
            return None
        if kind == "KeyRevoked":
            found = self.keys.get(b["key_id"])
            return None if found is not None and found.actor == b["actor_id"] else "unknown_key"
        raise AssertionError(kind)

    def accept(self, env: dict[str, Any] | None, sealed: bool = False) -> int:
        """Record what an accepted envelope changes (``None``: one the service signed itself)."""
        seq = self.size
        self.size += 1
        if env is None:
            return seq
        self.nonces[(env["actor"], env["nonce"])] = (seq, jcs(env))
        self.leaves[seq] = jcs(env)
        b = env["body"]
        if env["type"] == "LaborerRegistered":
            self.laborers[b["laborer_id"]] = (b["jurisdiction"], env["actor"])
            if sealed:
                self.vault.add(b["laborer_id"])
        elif env["type"] == "PersonalDataErased":
            self.erased.add(b["laborer_id"])
            if IMPORTED_ERASURE_CLEARS_VAULT:
                self.vault.discard(b["laborer_id"])
        elif env["type"] == "FundAllocated":
            self.funds.setdefault(b["fund_id"], b["purpose"])
        elif env["type"] == "ClassOpeningRequested":
            self.classes[b["class_id"]] = b["jurisdiction"]
        return seq

    def retired(self, actor: str) -> list[Key]:
        return [k for k in self.keys.values() if k.actor == actor and not k.valid]


def merkle_root(hashes: list[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH, written out from the RFC."""
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + merkle_root(hashes[:k]) + merkle_root(hashes[k:])).digest()


class Template:
    """The ledger every example starts from — the scenario's actors registered, the projection
    tables created — built once in the ``db_url`` fixture's database and copied per example (a
    file copy on SQLite, ``CREATE DATABASE … TEMPLATE`` on PostgreSQL): registering a dozen actors
    and creating every projection table anew would cost more than the example itself. On
    PostgreSQL, where creating and dropping a database each take about a second here, one
    background thread keeps the next copy ready and drops used ones while the examples run."""

    def __init__(self, db_url: str, root: Path):
        self.url, self.root = db_url, root
        sc = Scenario.create(db_url, root / "template")
        catch_up(sc.ledger)
        sc.close()
        dispose_engines()
        self.postgres = not db_url.startswith("sqlite:///")
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="pg-clones")
        self.spare: Future[str] | None = self.worker.submit(self._create) if self.postgres else None

    def _create(self) -> str:
        name = "ledger_sm_" + uuid.uuid4().hex[:12]
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.url.rsplit("/", 1)[1]}"')
        return name

    def close(self) -> None:
        if self.spare is not None:
            self.worker.submit(drop_pg_database, self.spare.result())
        self.worker.shutdown(wait=True)

    @contextmanager
    def clone(self) -> Iterator[tuple[str, Path]]:
        """A copy of the template ledger and its keystore: (database URL, keystore folder)."""
        folder = self.root / uuid.uuid4().hex[:12]
        shutil.copytree(self.root / "template" / "keys", folder / "keys")
        if self.spare is None:
            source = Path(self.url.removeprefix("sqlite:///"))
            for path in source.parent.glob(source.name + "*"):
                shutil.copy(path, folder / path.name.replace(source.name, "ledger.db"))
            yield f"sqlite:///{folder / 'ledger.db'}", folder / "keys"
            return
        name = self.spare.result()
        self.spare = self.worker.submit(self._create)
        try:
            yield f"{self.url.rsplit('/', 1)[0]}/{name}", folder / "keys"
        finally:
            dispose_engines()
            self.worker.submit(drop_pg_database, name)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, template: Template):
        super().__init__()
        self.stack = ExitStack()
        url, keys = self.stack.enter_context(template.clone())
        self.session = Session.open(url, keys)
        self.session.checkpoint_interval = 0
        self.stack.callback(self.session.close)
        self.ledger = self.session.ledger
        self.model = Model(size=self.ledger.size())
        for actor in ACTORS:
            self._learn_key(actor)
        for seq, _, leaf in self.ledger.leaves():  # the scenario's own registrations
            self.model.leaves[seq] = jcs(json.loads(leaf)["envelope"])
        self.engine = engine_for(self.ledger)
        self.other_keys = self.ledger.sql.one("SELECT COUNT(*) FROM ledger_keys")[0] - len(self.model.keys)
        self.pool: list[Line] = []  # every envelope line made so far, submitted or not
        self.intents: list[str] = []
        self.n = 0
        self.hashes: list[bytes] = []
        self.last_recorded = ""
        self.vault_rows: dict[str, bytes] = {}

    def _learn_key(self, actor: str) -> None:
        key = self.session.keys.actor_key(actor)
        self.model.keys[key_id(key)] = Key(actor, key)
        self.model.current[actor] = key_id(key)

    def _new_id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n:04d}"

    # --- making lines ------------------------------------------------------------------------------
    def _body(self, rnd: random.Random, kind: str, actor: str) -> dict[str, Any]:
        m = self.model

        def laborer() -> str:
            return rnd.choice(sorted(m.laborers)) if m.laborers and rnd.random() < 0.8 else self._new_id("LX")

        if kind == "LaborerRegistered":
            lid = rnd.choice(sorted(m.laborers)) if m.laborers and rnd.random() < 0.15 else self._new_id("L")
            return {"laborer_id": lid, "household_id": "H-" + lid, "jurisdiction": rnd.choice([XIJI] * 6 + [LONGDE]),
                    "township": "吉强镇", "village": "龙王坝村", "birth_date": "1985-06-01", "gender": "female",
                    "category": "poor", "id_fingerprint": hashlib.sha256(lid.encode()).hexdigest(),
                    "pii_commitment": hashlib.sha256(b"c" + lid.encode()).hexdigest()}  # fmt: skip
        if kind == "IdentityConfirmed":
            return {"laborer_id": laborer(), "basis": "系统比对"}
        if kind == "PersonalDataAccessed":
            return {"laborer_id": laborer(), "purpose": "核实银行账号"}
        if kind == "PersonalDataErased":
            return {"laborer_id": laborer(), "reason": "本人申请"}
        if kind == "FundAllocated":
            fund = rnd.choice(sorted(m.funds)) if m.funds and rnd.random() < 0.4 else self._new_id("F")
            return {"fund_id": fund, "jurisdiction": XIJI, "source": "central",
                    "purpose": rnd.choice(["training"] * 4 + ["appraisal"]), "year": 2019,
                    "amount_fen": rnd.randint(0, 10**7)}  # fmt: skip
        if kind == "ClassOpeningRequested":
            cid = rnd.choice(sorted(m.classes)) if m.classes and rnd.random() < 0.15 else self._new_id("C")
            code = ACTORS.get(actor, ("", XIJI))[1] if rnd.random() < 0.85 else rnd.choice([XIJI, LONGDE])
            return {"class_id": cid, "programme": "employment_skill", "occupation": "中式烹调", "in_catalog": True,
                    "jurisdiction": code if code != CITY else XIJI, "site": "实训楼", "planned_start": "2019-05-06",
                    "planned_end": "2019-05-31", "capacity": 40, "hours_per_day": 8, "practical_percent": 70,
                    "subsidy_per_trainee_fen": 150000}  # fmt: skip
        if kind == "TraineeEnrolled":
            cid = rnd.choice(sorted(m.classes)) if m.classes and rnd.random() < 0.85 else self._new_id("CX")
            return {"class_id": cid, "laborer_id": laborer()}
        raise AssertionError(kind)

    def _envelope(self, rnd: random.Random, key: Ed25519PrivateKey | None = None,
                  actor: str | None = None, **over: Any) -> tuple[dict[str, Any], Ed25519PrivateKey]:  # fmt: skip
        kind = rnd.choice(TYPES)
        if actor is None:
            actor = rnd.choice(SIGNS[kind]) if rnd.random() < 0.8 else rnd.choice(sorted(ACTORS))
        if key is None:
            key = self.model.keys[self.model.current[actor]].private
        unsigned = {"type": kind, "actor": actor, "at": AT, "nonce": self._new_id("sm-nonce"),
                    "body": self._body(rnd, kind, actor), **over}  # fmt: skip
        if rnd.random() < 0.2:
            unsigned["officer"] = "工号 0042"
        return sign(unsigned, key), key

    def _line(self, kind: str, seed: int) -> Line:
        rnd = random.Random(seed)
        m = self.model
        if kind == "resend" and self.pool:
            line = copy.deepcopy(rnd.choice(self.pool))
            assert line.envelope is not None
            items = list(line.envelope.items())
            rnd.shuffle(items)  # another spelling of the same envelope: still the same envelope
            line.text = json.dumps(dict(items), ensure_ascii=rnd.random() < 0.5, indent=rnd.choice([None, 1]))
            line.text = line.text.replace("\n", " ")
            return line
        if kind == "intent_again" and self.intents:
            return self._intent_line(json.loads(rnd.choice(self.intents)))
        if kind in ("intent", "intent_again"):
            actor = rnd.choice(["pov-xj"] * 3 + ["tw-jq", "hr-xj"])
            body = self._body(rnd, "LaborerRegistered", actor)
            body.pop("id_fingerprint"), body.pop("pii_commitment")
            intent: dict[str, Any] = {"actor": actor, "type": "LaborerRegistered", "at": AT, "body": body,
                                      "pii": dict(PERSON)}  # fmt: skip
            if rnd.random() < 0.1:
                del intent["pii"]["phone"]  # refused by the signing side: invalid_field
            return self._intent_line(intent)
        if kind == "malformed":
            env, _ = self._envelope(rnd)
            name = rnd.choice(["float", "duplicate_key", "extra_key", "huge_int", "lone_surrogate", "truncate"])
            if name == "truncate":
                data = fuzz.t_truncate(rnd, json.dumps(env).encode())
                data = data or b"{"
            elif name == "float":
                data = fuzz.encode({**env, "v": fuzz.Raw("1.0")}).encode()
            elif name == "huge_int":
                data = fuzz.encode({**env, "v": fuzz.Raw("1" * 5000)}).encode()
            elif name == "lone_surrogate":
                data = fuzz.encode({**env, "nonce": fuzz.Raw('"\\ud800"')}).encode()
            elif name == "duplicate_key":
                data = fuzz.encode(fuzz.Pairs([*env.items(), ("body", {})])).encode()
            else:
                data = fuzz.encode({**env, "extra": 1}).encode()
            return Line(data.decode("utf-8", "surrogatepass"), None, refusal="malformed")
        if kind == "future":
            later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            env, _ = self._envelope(rnd, at=later)
            return self._keep(Line(json.dumps(env), env))
        if kind == "tampered":
            env, key = self._envelope(rnd)
            other = {**env, "nonce": env["nonce"] + "x"}
            env["sig"] = sign({k: v for k, v in other.items() if k not in ("sig", "v", "key_id")}, key)["sig"]
            return self._keep(Line(json.dumps(env), env, sig_ok=False))
        if kind == "retired_key":
            actor = rnd.choice(sorted(ACTORS))
            retired = m.retired(actor)
            if retired:
                env, _ = self._envelope(rnd, key=rnd.choice(retired).private, actor=actor)
                return self._keep(Line(json.dumps(env), env))
            kind = "ghost_key"
        if kind == "foreign_key":
            actor, owner = rnd.sample(sorted(ACTORS), 2)
            env, _ = self._envelope(rnd, key=m.keys[m.current[owner]].private, actor=actor)
            return self._keep(Line(json.dumps(env), env))
        if kind == "ghost_actor":
            env, _ = self._envelope(rnd, key=Ed25519PrivateKey.generate(), actor="ghost-" + str(rnd.randint(1, 3)))
            return self._keep(Line(json.dumps(env), env))
        if kind == "ghost_key":
            env, _ = self._envelope(rnd, key=Ed25519PrivateKey.generate())
            return self._keep(Line(json.dumps(env), env))
        if kind == "nonce_reuse" and self.pool:
            earlier = rnd.choice(self.pool).envelope
            assert earlier is not None
            if earlier["actor"] in ACTORS:
                env, _ = self._envelope(rnd, actor=earlier["actor"], nonce=earlier["nonce"])
                return self._keep(Line(json.dumps(env), env))
        env, _ = self._envelope(rnd)
        return self._keep(Line(json.dumps(env, ensure_ascii=False), env))

    def _keep(self, line: Line) -> Line:
        self.pool.append(line)
        return line

    def _intent_line(self, intent: dict[str, Any]) -> Line:
        """What the keystore's signing side will make of the intent, signed the same way now."""
        text = json.dumps(intent, ensure_ascii=False)
        try:
            item = self.session.signer().sign(intent)
        except Refused as exc:
            return Line(text, None, intent=intent, refusal=exc.code)
        assert item.envelope is not None
        self.intents.append(text)
        return Line(text, item.envelope.raw, intent=intent)

    # --- checking outcomes -------------------------------------------------------------------------
    def _expect(self, line: Line, status: str, seq: int | None, code: str | None) -> None:
        if line.refusal is not None:
            SEEN[f"refused {code}"] += 1
            assert status == "refused", (line.text[:200], status, seq)
            assert code in (MALFORMED if line.refusal == "malformed" else {line.refusal}), (line.text[:200], code)
            return
        assert line.envelope is not None
        want = self.model.predict(line.envelope, line.sig_ok)
        got = (status, seq if status != "refused" else code)
        SEEN[f"{status} {code or ''}"] += 1
        assert got == want, f"{line.envelope['type']} by {line.envelope['actor']}: got {got}, model {want}"
        if status == "accepted":
            sealed = line.intent is not None and "pii" in line.intent
            SEEN["vault records sealed"] += sealed
            self.model.accept(line.envelope, sealed=sealed)

    def _service(self, kind: str, actor: str, body: dict[str, Any], action: Any) -> Any:
        """Run a service operation that signs ``kind`` as ``actor`` now; check it against the model."""
        env = {"type": kind, "actor": actor, "key_id": self.model.current[actor], "at": AT,
               "nonce": "op-" + uuid.uuid4().hex, "body": body}  # fmt: skip
        status, want = self.model.predict(env)
        SEEN[f"{kind} {status} {want if status == 'refused' else ''}"] += 1
        try:
            result = action()
        except Refused as exc:
            assert (status, want) == ("refused", exc.code), f"{kind} by {actor}: refused {exc.code}, model {want}"
            return None
        assert status == "accepted", f"{kind} by {actor}: accepted, model {want}"
        assert result.seq == want
        self.model.accept(None)
        return result

    # --- rules ----------------------------------------------------------------------------------------
    lines = st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 2**32)), min_size=1, max_size=10)

    @rule(specs=lines, batch=st.integers(1, 4))
    def import_lines(self, specs: list[tuple[str, int]], batch: int) -> None:
        made = [self._line(kind, seed) for kind, seed in specs]
        outcomes = list(self.session.import_lines([m.text for m in made], sign=True, batch=batch))
        assert [n for n, _ in outcomes] == list(range(1, len(made) + 1))
        for line, (_, out) in zip(made, outcomes, strict=True):
            self._expect(line, out.status, out.seq, out.code)

    @rule(spec=st.tuples(st.sampled_from(KINDS), st.integers(0, 2**32)))
    def submit(self, spec: tuple[str, int]) -> None:
        line = self._line(*spec)
        out = self.session.submit(line.text)
        self._expect(line, out.status, out.seq, out.code)

    @rule(seed=st.integers(0, 2**32))
    def sign_for_later(self, seed: int) -> None:
        """An office signs now and sends later: after a rotation or revocation, it is stale."""
        self._line("new", seed)

    @rule(actor=st.sampled_from(ROTATABLE), by_self=st.booleans())
    def rotate(self, actor: str, by_self: bool) -> None:
        signer = actor if by_self else "admin"
        body = {"actor_id": actor, "public_key": ""}
        if self._service("KeyRotated", signer, body, lambda: self.session.rotate_actor(actor, by_self=by_self)):
            for key in self.model.keys.values():
                if key.actor == actor:
                    key.valid = False
            self._learn_key(actor)
        assert key_id(self.session.keys.actor_key(actor)) == self.model.current[actor]

    @precondition(lambda self: sum(not self.model.keys[self.model.current[a]].valid for a in REVOCABLE) < 2)
    @rule(actor=st.sampled_from(REVOCABLE), which=st.sampled_from(["current", "current", "retired", "foreign"]),
          past=st.booleans())  # fmt: skip
    def revoke(self, actor: str, which: str, past: bool) -> None:
        m = self.model
        current = m.keys[m.current[actor]]
        if which == "retired" and m.retired(actor):
            target = key_id(m.retired(actor)[0].private)
        elif which == "foreign":
            target = m.current["fin-xj" if actor != "fin-xj" else "pov-xj"]
        elif not current.valid:  # the service refuses before signing: nothing is recorded
            with pytest.raises(OperationalError, match="no active key"):
                self.session.revoke_actor(actor, "钥匙遗失")
            SEEN["KeyRevoked of a revoked key: no active key"] += 1
            return
        else:
            target = m.current[actor]
        effective = "2019-03-01T00:00:00+08:00" if past else None
        body = {"actor_id": actor, "key_id": target}
        if self._service("KeyRevoked", "admin", body,
                         lambda: self.session.revoke_actor(actor, "钥匙遗失", effective, key_id=target)):  # fmt: skip
            m.keys[target].valid = False

    @rule(pick=st.integers(0, 2**16), as_actor=st.sampled_from(["pov-xj", "pov-xj", "pov-xj", "tw-jq", "hr-xj"]))
    def erase(self, pick: int, as_actor: str) -> None:
        m = self.model
        known = sorted(m.erased if m.erased and pick % 3 == 0 else m.laborers)
        lid = known[pick % len(known)] if known and pick % 7 else self._new_id("LX")
        if lid in m.erased and lid not in m.vault:  # erasing twice: reported, not recorded again
            with pytest.raises(Refused) as refused:
                self.session.erase_pii(lid, as_actor, "本人申请")
            assert refused.value.code == "already_erased"
            SEEN["PersonalDataErased again: already_erased"] += 1
            return
        body = {"laborer_id": lid, "reason": "本人申请"}
        if self._service("PersonalDataErased", as_actor, body,
                         lambda: self.session.erase_pii(lid, as_actor, "本人申请")):  # fmt: skip
            m.erased.add(lid)
            m.vault.discard(lid)

    @rule(batch=st.integers(1, 30), short=st.integers(0, 5))
    def project(self, batch: int, short: int) -> None:
        catch_up(self.ledger, batch=batch, stop=max(self.ledger.size() - short, 0))

    @rule()
    def checkpoint_and_verify(self) -> None:
        self.session.checkpoint()
        intact = run_verify(self.ledger, self.session.keys, workers=0)
        assert intact.size == self.model.size

    # --- after every step ------------------------------------------------------------------------------
    @invariant()
    def the_log_is_what_the_model_accepted(self) -> None:
        m, sql = self.model, self.ledger.sql
        assert self.ledger.size() == m.size, f"the log has {self.ledger.size()} leaves, the model {m.size}"
        table = self.ledger.recorder.events_table_name
        assert sql.one(f"SELECT COUNT(*) FROM {table}")[0] == m.size  # one domain event per leaf
        assert sql.one("SELECT COUNT(*) FROM ledger_keys")[0] == self.other_keys + len(m.keys)
        for seq, recorded_at, leaf in self.ledger.leaves(len(self.hashes)):
            assert seq == len(self.hashes), "the log has a gap"
            doc = json.loads(leaf)
            assert jcs(doc) == leaf and doc["seq"] == seq and doc["recorded_at"] == recorded_at
            assert recorded_at >= self.last_recorded
            env = doc["envelope"]
            if seq in m.leaves:
                assert jcs(env) == m.leaves[seq], f"seq {seq} holds another envelope than the one accepted"
            key = m.keys[env["key_id"]]
            assert key.actor == env["actor"]
            try:
                key.private.public_key().verify(base64.b64decode(env["sig"]),
                                                jcs({k: v for k, v in env.items() if k != "sig"}))  # fmt: skip
            except InvalidSignature:
                raise AssertionError(f"seq {seq}: the signature does not verify") from None
            self.last_recorded = recorded_at
            self.hashes.append(hashlib.sha256(b"\x00" + leaf).digest())
        assert len(self.hashes) == m.size
        assert self.ledger.root(m.size) == merkle_root(self.hashes)
        rows = {str(r[0]): bytes(r[1]) for r in sql.all("SELECT subject_id, ciphertext FROM pii_vault")}
        assert set(rows) == m.vault, f"the vault holds {sorted(rows)}, the model {sorted(m.vault)}"
        for lid, sealed in rows.items():
            assert self.vault_rows.setdefault(lid, sealed) == sealed, f"vault record {lid} rewritten"

    def teardown(self) -> None:
        try:
            run_verify(self.ledger, self.session.keys, workers=0)
            catch_up(self.ledger, batch=7)
            live = snapshot(self.engine)
            rebuild(self.ledger)
            assert snapshot(self.engine) == live, "incremental projections differ from a rebuild"
        finally:
            self.stack.close()


def test_any_sequence_of_actions_keeps_the_ledger_sound(db_url: str, tmp_path: Path) -> None:
    template = Template(db_url, tmp_path)
    try:
        run_state_machine_as_test(
            lambda: LedgerMachine(template),
            settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, derandomize=True, database=None,
                              deadline=None, suppress_health_check=list(HealthCheck), phases=PHASES),  # fmt: skip
        )
    finally:
        template.close()
