"""The HTTP API's client (API.md "Client"): what the CLI's ``--server URL`` talks through.

:class:`ApiClient` signs in (challenge → token) with the actor's key from the local keystore —
the signed message is API.md's ``subsidy-ledger/auth/v1\\n<origin>\\n<actor_id>\\n<challenge>``;
the key never crosses the wire — posts envelopes and batches, and makes the reads. Every failure
is a :class:`~ledger.errors.LedgerError` of one line: an unreachable server or a 5xx is an
:class:`~ledger.errors.OperationalError` (exit 2), a problem the server answers (401, 403, 404, a
refusal) a :class:`~ledger.errors.Refused` carrying the problem's code (exit 1).

:class:`Monitor` is ``verify --server`` (DESIGN §6 trust anchor, kept in the keystore's
``monitor/<origin>.json``): it downloads only the leaves it has not seen, re-verifies their
signatures with the key registry it rebuilds from the registry leaves, recomputes the root,
checks the operator's signature and a consistency proof from the checkpoint it remembers, and
fails on a fork or a rollback. :func:`witness_cosign` is ``checkpoint --cosign --server``: it
cosigns the server's latest checkpoint only after a consistency proof from the last one this
witness cosigned (``cosigned/<actor>.json``, as the local ``checkpoint --cosign``).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from ledger.application import Outcome
from ledger.domain.envelope import Envelope
from ledger.domain.schema import REGISTRY_TYPES
from ledger.encoding.b64 import Base64Invalid, b64decode_strict, b64encode
from ledger.encoding.canonical import JSONObject, canonical, loads_strict
from ledger.errors import LedgerError, OperationalError, Refused, VerificationFailed
from ledger.keys.keystore import Keystore
from ledger.translog import merkle
from ledger.translog.note import Checkpoint, Verifier, add_signature, cosign, parse_note
from ledger.translog.proofs import ConsistencyProof
from ledger.translog.verify import CheckpointMismatch, load_operator_verifiers, verify_checkpoint_note
from ledger.translog.verify.errors import LeafTampered, SignatureInvalidAt
from ledger.translog.verify.leaves import _RECORDED_AT, RECORDED_AT_BEFORE_AT, Fact
from ledger.translog.verify.registry import Registry

NDJSON = "application/x-ndjson"
AUTH_PREFIX = "subsidy-ledger/auth/v1"
BATCH = 1000  # lines per POST (API.md: a batch holds at most 1,000)
PAGE = 1000  # leaves per GET /v1/events


def _stopped_results(response: httpx.Response) -> list[dict[str, Any]]:
    """The ``results`` of a stopped batch's problem (API.md: accepted lines stay accepted); none if
    the answer is no such problem."""
    try:
        doc = response.json()
    except ValueError:
        return []
    rows = doc.get("results") if isinstance(doc, dict) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def sign_in_message(origin: str, actor_id: str, challenge: str) -> bytes:
    """The exact bytes API.md has a reader sign to get a token."""
    return f"{AUTH_PREFIX}\n{origin}\n{actor_id}\n{challenge}".encode()


def _refused(code: str, detail: str) -> Refused:
    err = Refused(detail)
    err.code = code
    return err


class ApiClient:
    """One server, one keystore (the keys that sign in); a token per actor, fetched when first needed."""

    def __init__(self, base_url: str, keys: Keystore, *, timeout: float = 60.0, transport: httpx.BaseTransport | None = None):
        self.base_url = base_url.rstrip("/")
        self.keys = keys
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._tokens: dict[str, str] = {}
        self._origin: str | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport --------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, actor: str | None = None, ok: Sequence[int] = (200,),
                **kw: Any) -> httpx.Response:  # fmt: skip
        """One request; ``actor`` signs in first. A status outside ``ok`` raises (one line)."""
        headers = dict(kw.pop("headers", {}) or {})
        if actor is not None:
            headers["Authorization"] = f"Bearer {self.token(actor)}"
        try:
            response = self.http.request(method, path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            raise OperationalError(f"server {self.base_url} unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code not in ok:
            raise self.problem(response)
        return response

    def problem(self, response: httpx.Response, *, line_offset: int = 0) -> LedgerError:
        """The server's problem document as one error: 5xx operational, the rest a refusal (a
        batch's names the line it stopped at, counted from 1 after ``line_offset``)."""
        code, detail = "", response.text.strip().splitlines()[0] if response.text.strip() else ""
        try:
            doc = response.json()
            if isinstance(doc, dict):
                code = str(doc.get("reason") or str(doc.get("type", "")).rsplit(":", 1)[-1])
                detail = str(doc.get("detail") or doc.get("title") or detail)
                if isinstance(doc.get("line"), int):
                    detail = f"line {line_offset + doc['line']}: {detail}"
        except ValueError:
            pass
        text = f"server {response.status_code} {code or 'error'}: {detail}".rstrip(": ")
        if response.status_code >= 500:
            return OperationalError(text)
        return _refused(code or "refused", text)

    # --- sign-in ----------------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        """The log's origin: the first line of its checkpoint (what the sign-in message names)."""
        if self._origin is None:
            note = self.checkpoint()
            if note is None:
                raise OperationalError(f"server {self.base_url} has no checkpoint yet: its origin is unknown")
            self._origin = Checkpoint.parse(parse_note(note).text).origin
        return self._origin

    def token(self, actor_id: str) -> str:
        if actor_id not in self._tokens:
            key = self.keys.actor_key(actor_id)
            got = self.request("POST", "/v1/auth/challenge", json={"actor_id": actor_id}).json()
            challenge = got["challenge"]
            signature = b64encode(key.sign(sign_in_message(self.origin, actor_id, challenge)))
            answer = self.request("POST", "/v1/auth/token",
                                  json={"actor_id": actor_id, "challenge": challenge, "signature": signature}).json()  # fmt: skip
            self._tokens[actor_id] = answer["access_token"]
        return self._tokens[actor_id]

    # --- writes -----------------------------------------------------------------------------------
    def submit(self, envelope: str) -> Outcome:
        """``POST /v1/events`` of one signed envelope's JSON text; a refusal is an outcome, not an error."""
        response = self.request("POST", "/v1/events", content=envelope.encode("utf-8"),
                                headers={"Content-Type": "application/json"}, ok=(200, 201, 400, 409, 413, 422))  # fmt: skip
        doc = response.json()
        if response.status_code in (200, 201):
            return Outcome(doc["status"], doc["seq"])
        return Outcome("refused", None, str(doc.get("detail", "")), str(doc.get("reason") or doc.get("type", "")))

    def submit_batch(self, lines: Sequence[str]) -> Iterator[tuple[int, Outcome]]:
        """``POST /v1/events`` as ndjson, :data:`BATCH` lines at a time: each non-blank line's number
        (from 1, blank lines counted) and outcome, in order."""
        for start in range(0, len(lines), BATCH):
            chunk = lines[start : start + BATCH]
            response = self.request("POST", "/v1/events", content="".join(x + "\n" for x in chunk).encode("utf-8"),
                                    headers={"Content-Type": NDJSON}, ok=range(100, 600))  # fmt: skip
            if response.status_code == 200:
                rows = [json.loads(text) for text in response.text.splitlines() if text.strip()]
            else:  # a batch that stopped part-way: the lines before it are recorded, then its problem
                rows = _stopped_results(response)
            for got in rows:
                outcome = Outcome(got["status"], got["seq"], got["reason"], "refused" if got["status"] == "refused" else None)
                yield start + int(got["line"]), outcome
            if response.status_code != 200:
                raise self.problem(response, line_offset=start)

    def prepare(self, intent: JSONObject) -> JSONObject:
        """``POST /v1/intents/prepare`` as the intent's actor: the intent to sign, ``pii`` replaced by
        what the service filled (the pepper never leaves it)."""
        actor = intent.get("actor")
        if not isinstance(actor, str):
            raise _refused("invalid_field", "actor: must be a string")
        prepared: JSONObject = self.request("POST", "/v1/intents/prepare", actor=actor, content=canonical(intent),
                                            headers={"Content-Type": "application/json"}).json()["intent"]  # fmt: skip
        return prepared

    def personal_data(self, actor: str, laborer_id: str, access_seq: int) -> dict[str, str]:
        """``GET /v1/laborers/{id}/pii`` against the ``PersonalDataAccessed`` leaf ``access_seq`` ``actor`` signed."""
        found: dict[str, str] = self.request("GET", f"/v1/laborers/{laborer_id}/pii", actor=actor,
                                             params={"access_seq": access_seq}).json()  # fmt: skip
        return found

    def evidence(self, actor: str, kind: str, ident: str) -> bytes:
        """``GET /v1/evidence/{kind}/{id}``: the evidence folder, zipped."""
        return self.request("GET", f"/v1/evidence/{kind}/{ident}", actor=actor).content

    def post_cosignature(self, note: str) -> tuple[str, bool]:
        """``POST /v1/checkpoint/cosignatures``: the note with one added line; the stored note back,
        and whether this cosigner had cosigned that checkpoint already (nothing was added)."""
        response = self.request("POST", "/v1/checkpoint/cosignatures", content=note.encode("utf-8"),
                                headers={"Content-Type": "text/plain"}, ok=(200, 201))  # fmt: skip
        return response.text, response.status_code == 200

    # --- reads ------------------------------------------------------------------------------------
    def health(self) -> JSONObject:
        found: JSONObject = self.request("GET", "/healthz").json()
        return found

    def checkpoint(self, size: int | None = None) -> str | None:
        """The signed note (None: no checkpoint yet)."""
        response = self.request("GET", "/v1/checkpoint", params={} if size is None else {"size": size}, ok=(200, 404))
        return response.text if response.status_code == 200 else None

    def leaves(self, actor: str, start: int, stop: int) -> Iterator[tuple[int, bytes]]:
        """Leaves ``start..stop-1`` in seq order (``GET /v1/events?from=``)."""
        at = start
        while at < stop:
            page = self.request("GET", "/v1/events", actor=actor, params={"from": at, "limit": min(PAGE, stop - at)}).json()
            items = page["items"]
            if not items:
                raise VerificationFailed(f"the server sent no leaf at seq {at}, below its checkpoint's size {stop}")
            for item in items:
                if item["seq"] != at:
                    raise VerificationFailed(f"the server sent seq {item['seq']} where seq {at} was due", seq=at)
                yield at, item["leaf"].encode("utf-8")
                at += 1
                if at >= stop:
                    return

    def consistency(self, actor: str, first: int, second: int) -> ConsistencyProof:
        doc = self.request("GET", "/v1/proofs/consistency", actor=actor, params={"first": first, "second": second}).json()
        return ConsistencyProof.from_json(doc)

    def balances(self, actor: str, **params: object) -> Any:
        return self.request("GET", "/v1/balances", actor=actor, params=_params(params)).json()

    def anomalies(self, actor: str, **params: object) -> Any:
        return self.request("GET", "/v1/anomalies", actor=actor, params=_params(params)).json()

    def anomaly(self, actor: str, anomaly_id: str, **params: object) -> Any:
        return self.request("GET", f"/v1/anomalies/{anomaly_id}", actor=actor, params=_params(params)).json()

    def trace(self, actor: str, kind: str, ident: str, **params: object) -> bytes:
        """``GET /v1/trace/{kind}/{id}``: the ``trace --json`` document's bytes (JCS and a line feed)."""
        return self.request("GET", f"/v1/trace/{kind}/{ident}", actor=actor, params=_params(params)).content

    def monthly_report(self, actor: str, **params: object) -> bytes:
        """``GET /v1/reports/monthly``: the report's bytes in the ``format`` asked for."""
        return self.request("GET", "/v1/reports/monthly", actor=actor, params=_params(params)).content

    def reconcile(self, reader: str, statement: str, data: bytes, *, funds: Sequence[str] | None = None,
                  **params: object) -> bytes:  # fmt: skip
        """``POST /v1/reconciliations`` signed in as ``reader``: the statement uploaded; the ``reconcile
        --json`` document's bytes (``actor``: the bureau, for an inspector)."""
        query = [*_params(params).items(), *(("fund", f) for f in funds or ())]
        return self.request("POST", "/v1/reconciliations", actor=reader, params=query,
                            files={"statement": (statement, data, "application/octet-stream")}).content  # fmt: skip


def _params(params: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v is not None}


# --- the monitor (verify --server) ------------------------------------------------------------------------
def _state_name(origin: str) -> str:
    return f"monitor/{origin}.json"


@dataclass
class MonitorState:
    """What a monitor remembers of one log: the largest checkpoint it verified, the Merkle frontier
    of the leaves under it, the registry leaves among them, and the operator key it trusts."""

    origin: str
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    note: str | None = None
    operator_key: str | None = None
    frontier: list[tuple[int, int, bytes]] = field(default_factory=list)
    registry: list[str] = field(default_factory=list)
    recorded_at: str | None = None  # of the last leaf verified: the next may not be earlier (DESIGN §6)

    @classmethod
    def load(cls, keys: Keystore, origin: str) -> MonitorState | None:
        state = keys.read_state(_state_name(origin))
        if state is None:
            return None
        try:
            out = cls(origin, state["size"], b64decode_strict(state["root"]), state.get("checkpoint"), state.get("operator_key"),
                      [(lv, ix, b64decode_strict(h)) for lv, ix, h in state["frontier"]], list(state["registry"]),
                      state.get("recorded_at"))  # fmt: skip
            if state["origin"] != origin or type(out.size) is not int or len(out.root) != 32:
                raise ValueError
            if out.recorded_at is not None and not _RECORDED_AT.fullmatch(str(out.recorded_at)):
                raise ValueError
        except (KeyError, TypeError, ValueError, Base64Invalid):
            raise OperationalError(f"{keys.root}/{_state_name(origin)} is unreadable") from None
        return out

    def save(self, keys: Keystore) -> None:
        keys.write_state(_state_name(self.origin), {
            "origin": self.origin, "size": self.size, "root": b64encode(self.root), "checkpoint": self.note,
            "operator_key": self.operator_key, "frontier": [[lv, ix, b64encode(h)] for lv, ix, h in self.frontier],
            "registry": self.registry, "recorded_at": self.recorded_at,
        })  # fmt: skip

    def compact_range(self) -> merkle.CompactRange:
        return merkle.CompactRange.from_frontier(self.size, {(lv, ix): h for lv, ix, h in self.frontier})


@dataclass(frozen=True)
class Monitored:
    """What one ``verify --server`` run checked."""

    origin: str
    size: int
    previous: int | None  # the checkpoint remembered before (None: first run)
    downloaded: int  # leaves fetched and verified in this run
    cosigners: list[str]
    tofu: bool  # the operator key came from this keystore's operator.pub on first use
    state: str


class Rollback(VerificationFailed):
    """The server's checkpoint is smaller than, or not consistent with, the one the monitor remembers."""

    code = "trust_anchor_mismatch"


def trusted_operator(keys: Keystore, operator_key: str | None, state: MonitorState | None) -> tuple[list[Verifier], bool]:
    """The operator keys to trust (``--operator-key``, else the one this monitor remembers, else
    this keystore's ``operator.pub``) and whether that is trust on first use, to be said out loud."""
    from ledger.translog.note import parse_verifier_key

    if operator_key is not None:
        return load_operator_verifiers(keys, operator_key), False
    if state is not None and state.operator_key:
        return [parse_verifier_key(state.operator_key)], False
    if not (keys.root / "operator.pub").is_file():
        raise OperationalError("no operator key to trust: pass --operator-key (the verifier key the operator published)")
    return load_operator_verifiers(keys), True


def _check_leaf(seq: int, leaf: bytes, registry: Registry, after: str | None = None) -> tuple[Fact, str]:
    """A downloaded leaf, with the checks the local ``verify`` makes on each leaf: DESIGN §6 format,
    ``recorded_at`` not before ``after`` (the leaf before it) nor more than five minutes before the
    envelope's ``at``, the envelope and its event body as EVENTS.md defines them, the signer's role
    allowed to sign its type, and its signature by the key valid at ``seq``; the fact and its nonce."""
    try:
        obj = loads_strict(leaf)
        if not isinstance(obj, dict) or obj.keys() != {"seq", "recorded_at", "envelope"} or canonical(obj) != leaf:
            raise ValueError("not the canonical {seq, recorded_at, envelope}")
        if obj["seq"] != seq:
            raise ValueError(f"it says seq {obj['seq']!r}")
        recorded_at = obj["recorded_at"]
        if not isinstance(recorded_at, str) or not _RECORDED_AT.fullmatch(recorded_at):
            raise ValueError("recorded_at is not UTC RFC 3339 with microseconds")
        recorded = dt.datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))
        env = Envelope.from_dict(obj["envelope"], parsed=True, recorded=True)
    except (LedgerError, ValueError) as exc:
        raise LeafTampered(f"leaf {seq} is not a ledger leaf: {exc}", seq=seq) from None
    if after is not None and recorded_at < after:  # one fixed-width UTC format: text order is time order
        raise LeafTampered(f"leaf {seq}: recorded_at {recorded_at} is earlier than the leaf before it ({after})", seq=seq)
    if recorded < env.at - RECORDED_AT_BEFORE_AT:
        raise LeafTampered(f"leaf {seq}: recorded_at is more than five minutes before the envelope's at", seq=seq)
    body = obj["envelope"]["body"] if env.type in REGISTRY_TYPES else None
    fact = Fact(seq, recorded_at, env.at, env.type, env.actor, env.key_id, None, body, merkle.leaf_hash(leaf), None)
    public_key = registry.signing_key(fact)
    try:
        env.verify_with(public_key)
    except LedgerError:
        raise SignatureInvalidAt(f"leaf {seq}: the signature does not verify with {env.key_id}", seq=seq) from None
    if body is not None:
        registry.apply(fact)
    return fact, env.nonce


class Monitor:
    """``verify --server``: follow a server's log from the checkpoint this keystore remembers."""

    def __init__(self, client: ApiClient, actor: str, operator_key: str | None = None):
        self.client, self.actor, self.operator_key = client, actor, operator_key

    def run(self) -> Monitored:
        note = self.client.checkpoint()
        if note is None:
            raise OperationalError(f"server {self.client.base_url} has no checkpoint yet")
        origin = Checkpoint.parse(parse_note(note).text).origin
        state = MonitorState.load(self.client.keys, origin)
        verifiers, tofu = trusted_operator(self.client.keys, self.operator_key, state)
        try:
            checkpoint = verify_checkpoint_note(note, verifiers)
        except CheckpointMismatch as exc:
            raise VerificationFailed(f"the server's checkpoint: {exc}", checkpoint=exc.checkpoint) from None
        previous = state if state is not None else MonitorState(origin)
        remembered = None if state is None else state.size
        size, root = checkpoint.size, checkpoint.root_hash
        if size < previous.size:
            raise Rollback(f"rollback: the server's checkpoint has size {size}, smaller than checkpoint {previous.size}"
                           " this monitor verified before", checkpoint=size)  # fmt: skip
        if size == previous.size and root != previous.root:
            raise Rollback(f"fork: the server's checkpoint {size} has another root than the one this monitor verified",
                           checkpoint=size)  # fmt: skip
        if 0 < previous.size < size:  # the server must prove its new tree extends the remembered one
            proof = self.client.consistency(self.actor, previous.size, size)
            try:
                if (proof.first_size, proof.second_size) != (previous.size, size):
                    raise merkle.ConsistencyProofInvalid("the proof is for other sizes")
                proof.verify(previous.root, root)
            except merkle.ConsistencyProofInvalid as exc:
                raise Rollback(f"fork: checkpoint {size} is not consistent with checkpoint {previous.size} this monitor"
                               f" verified before: {exc}", checkpoint=size) from None  # fmt: skip
        registry = Registry()
        for text in previous.registry:  # the key registry as it stood at the remembered checkpoint
            _check_leaf(json.loads(text)["seq"], text.encode("utf-8"), registry)
        tree = previous.compact_range()
        downloaded = 0
        nonces: set[tuple[str, str]] = set()  # among the new leaves (the older ones this monitor no longer holds)
        for seq, leaf in self.client.leaves(self.actor, previous.size, size):
            fact, nonce = _check_leaf(seq, leaf, registry, previous.recorded_at)
            if (fact.actor, nonce) in nonces:
                raise LeafTampered(f"leaf {seq}: nonce {nonce} of {fact.actor} is in the log twice", seq=seq)
            nonces.add((fact.actor, nonce))
            tree.append(fact.leaf_hash)
            if fact.body is not None:
                previous.registry.append(leaf.decode("utf-8"))
            previous.recorded_at = fact.recorded_at
            downloaded += 1
        if tree.root() != root:
            raise Rollback(f"the leaves the server sent do not hash to its signed checkpoint {size}", checkpoint=size)
        cosigners = _cosigners(note, registry)
        previous.size, previous.root, previous.note = size, root, note
        previous.frontier = list(tree.frontier)
        previous.operator_key = previous.operator_key or verifiers[-1].format()
        previous.save(self.client.keys)
        return Monitored(origin, size, remembered, downloaded, cosigners, tofu,
                         str(self.client.keys.root / _state_name(origin)))  # fmt: skip


def _cosigners(note: str, registry: Registry) -> list[str]:
    """The names of the note's cosignatures that verify with a registered key of their signer."""
    from ledger.domain.policy import COSIGNERS
    from ledger.translog.note import CosignatureInvalid, verify_cosignature

    names = []
    for line in parse_note(note).signatures:
        actor = registry.actors.get(line.name)
        if actor is None or actor.role not in COSIGNERS:
            continue
        for raw in registry.public_keys(line.name):
            try:
                verify_cosignature(note, line.name, raw)
            except CosignatureInvalid:
                continue
            names.append(line.name)
            break
    return names


# --- the witness (checkpoint --cosign --server) -------------------------------------------------------------
@dataclass(frozen=True)
class Witnessed:
    actor: str
    size: int
    previous: int | None
    note: str
    already: bool = False


def witness_cosign(client: ApiClient, actor: str, operator_key: str | None = None, *, now: int | None = None) -> Witnessed:
    """Check the server's latest checkpoint as a witness, then sign the cosignature locally and post it."""
    key = client.keys.actor_key(actor)
    note = client.checkpoint()
    if note is None:
        raise OperationalError(f"server {client.base_url} has no checkpoint to cosign yet")
    origin = Checkpoint.parse(parse_note(note).text).origin
    name = f"cosigned/{actor}.json"
    before = client.keys.read_state(name)
    known = before.get("operator_key") if before is not None else None
    state = MonitorState.load(client.keys, origin) or MonitorState(origin, operator_key=known if isinstance(known, str) else None)
    verifiers, _ = trusted_operator(client.keys, operator_key, state)
    checkpoint = verify_checkpoint_note(note, verifiers)
    previous: int | None = None
    if before is not None:
        try:
            previous, old_root = before["size"], b64decode_strict(before["root"])
            if type(previous) is not int or before.get("origin") != origin:
                raise ValueError
        except (KeyError, TypeError, ValueError, Base64Invalid):
            raise OperationalError(f"{client.keys.root}/{name} is unreadable or for another log") from None
        if checkpoint.size < previous:
            raise Rollback(f"rollback: checkpoint {checkpoint.size} is smaller than checkpoint {previous} {actor}"
                           " cosigned before", checkpoint=checkpoint.size)  # fmt: skip
        if checkpoint.size == previous and checkpoint.root_hash != old_root:
            raise Rollback(f"fork: checkpoint {previous} has another root than the one {actor} cosigned", checkpoint=previous)
        if 0 < previous < checkpoint.size:
            proof = client.consistency(actor, previous, checkpoint.size)
            try:
                proof.verify(old_root, checkpoint.root_hash)
            except merkle.ConsistencyProofInvalid as exc:
                raise Rollback(f"fork: checkpoint {checkpoint.size} does not extend checkpoint {previous} {actor}"
                               f" cosigned before: {exc}", checkpoint=checkpoint.size) from None  # fmt: skip
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from ledger.translog.note import CosignatureInvalid, verify_cosignature

    try:  # this key already cosigned the latest (perhaps in the same second: the same line again)
        verify_cosignature(note, actor, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        return Witnessed(actor, checkpoint.size, previous, note, already=True)
    except CosignatureInvalid:
        pass
    timestamp = int(time.time()) if now is None else now
    line = cosign(parse_note(note).text, actor, key, timestamp)
    stored, already = client.post_cosignature(add_signature(note, line))
    client.keys.write_state(name, {
        "origin": origin, "size": checkpoint.size, "root": b64encode(checkpoint.root_hash),
        "timestamp": timestamp, "checkpoint": checkpoint.body(), "operator_key": verifiers[-1].format(),
    })  # fmt: skip
    return Witnessed(actor, checkpoint.size, previous, stored, already)
