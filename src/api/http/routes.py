"""The endpoints of API.md built so far: sign-in, writes, the log, proofs, checkpoints, anomalies.

Thin, like the CLI's verbs: parse, authorise through :class:`~api.http.auth.Scope`, call
:mod:`api.services` (or :mod:`ledger.translog` for the log's own proofs), answer a typed model.
Every read takes the :data:`~api.http.auth.Reader` dependency; the scope decisions are its.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api import services
from api.http import background
from api.http import models as m
from api.http.auth import COMPLAINT_METHODS, SUBJECT, Reader, Scope, sign_in
from api.http.context import Server, server
from api.http.problems import (
    PROBLEM_JSON,
    ApiProblem,
    failure,
    log,
    media_type,
    read_body,
    refusal,
    responses,
)
from ledger.application import Outcome
from ledger.encoding.b64 import b64encode
from ledger.errors import ImportStopped
from ledger.translog import merkle
from projections.anomalies.query import EvidenceEvent, Flag

Srv = Annotated[Server, Depends(server)]
NDJSON = "application/x-ndjson"

router = APIRouter()


# --- health ------------------------------------------------------------------------------------------------
@router.get("/healthz", response_model=m.Health, responses=responses(503), tags=["service"])
def healthz(srv: Srv) -> m.Health:
    """Liveness: the database answers (503 problem if not)."""
    return m.Health(size=srv.session.ledger.size())


# --- sign-in ------------------------------------------------------------------------------------------------
@router.post("/v1/auth/challenge", response_model=m.ChallengeResponse, responses=responses(400, 422), tags=["auth"])
def challenge(request: m.ChallengeRequest, srv: Srv) -> m.ChallengeResponse:
    """A single-use challenge for ``actor_id`` to sign, valid 120 s."""
    text, expires = srv.challenges.issue(request.actor_id, time.time())
    return m.ChallengeResponse(challenge=text, expires_at=_utc(expires))


@router.post("/v1/auth/token", response_model=m.TokenResponse, responses=responses(400, 401, 422), tags=["auth"])
def token(request: m.TokenRequest, srv: Srv) -> m.TokenResponse:
    """A bearer token for a challenge signed by the actor's current key."""
    access, role, jurisdiction = sign_in(srv, request.actor_id, request.challenge, request.signature)
    return m.TokenResponse(access_token=access, expires_in=srv.settings.token_ttl, actor_id=request.actor_id,
                           role=role, jurisdiction=jurisdiction)  # fmt: skip


# --- writes -------------------------------------------------------------------------------------------------
_EVENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": m.Envelope.model_json_schema()},
            NDJSON: {"schema": {"type": "string", "description": "at most 1,000 envelopes, one per line; 8 MiB"}},
        },
    }
}


@router.post(
    "/v1/events", status_code=201, openapi_extra=_EVENTS_BODY, tags=["log"],
    responses={201: {"model": m.Accepted, "description": "accepted"},
               200: {"description": "a duplicate of an envelope already in the log, or a batch's outcomes",
                     "content": {"application/json": {"schema": m.Duplicate.model_json_schema()},
                                 NDJSON: {"schema": {"type": "string"}}}},
               **responses(400, 409, 413, 415, 422, 503)},
)  # fmt: skip
async def post_events(request: Request, srv: Srv) -> Response:
    """One signed envelope (``application/json``) or a batch (``application/x-ndjson``)."""
    raw = await read_body(request, srv.settings.max_body_bytes)
    kind = media_type(request, "application/json")
    if kind == NDJSON:
        return await _batch(srv, raw)
    if kind != "application/json":
        raise ApiProblem("unsupported_media_type", f"send application/json or {NDJSON}, not {kind}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return refusal("invalid_json", "the body is not UTF-8 JSON")
    return await _submit(srv, text)


async def _submit(srv: Server, text: str) -> Response:
    """Grouped with concurrent submits (the follower signs and projects), awaited on the event loop."""
    return _answer(srv, *await background.submit_async(srv.session, text))


def _single(srv: Server, text: str) -> Response:
    """:func:`_submit` from a thread (the pages' signed-envelope form, ``api.web.flags``)."""
    return _answer(srv, *background.submit(srv.session, text))


def _answer(srv: Server, outcome: Outcome, event_type: str | None) -> Response:
    """A submit's answer from its outcome itself: no read of the log, no lock."""
    srv.metrics.outcome(outcome.status, event_type if outcome.status == "accepted" else None, outcome.code)
    if outcome.status == "refused":
        return refusal(outcome.code or "refused", outcome.reason or "refused")
    assert outcome.seq is not None
    if outcome.status == "duplicate":
        return JSONResponse(m.Duplicate(seq=outcome.seq).model_dump(), status_code=200)
    assert outcome.leaf_hash is not None and outcome.recorded_at is not None  # every accepted outcome has them
    body = m.Accepted(seq=outcome.seq, leaf_hash=b64encode(outcome.leaf_hash), recorded_at=outcome.recorded_at)
    return JSONResponse(body.model_dump(), status_code=201)


async def _batch(srv: Server, raw: bytes) -> Response:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return refusal("invalid_json", "the body is not UTF-8 text")
    lines = text.split("\n")
    if sum(1 for line in lines if line.strip()) > srv.settings.max_batch_lines:
        raise ApiProblem("request_too_large", f"a batch holds at most {srv.settings.max_batch_lines} lines")
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_import, srv, lines)


def _import(srv: Server, lines: list[str]) -> Response:
    out: list[dict[str, Any]] = []

    def report(line: int, outcome: Outcome) -> None:
        out.append(outcome.as_json(line))
        srv.metrics.outcome(outcome.status, _type_of(lines[line - 1]) if outcome.status == "accepted" else None,
                            outcome.code)  # fmt: skip

    stopped: Exception | None
    try:
        with srv.lock:
            done = services.import_lines(srv.session, lines, sign=False, total=None, on_line=report, catch_up=False)
    except Exception as exc:  # an append failed (the database went away) after earlier chunks were recorded
        stopped = exc
    else:
        _warn_lagging(done.lagging)
        stopped = done.stopped
    if stopped is not None:  # the lines before it are recorded: they are answered with the problem, never lost
        return _stopped(stopped, lines, out)
    return Response("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in out), media_type=NDJSON)


def _stopped(exc: Exception, lines: list[str], out: list[dict[str, Any]]) -> Response:
    """A batch that stopped part-way: the problem of what stopped it, with the ``line`` it stopped at
    and the ``results`` of the lines before it (API.md: accepted lines stay accepted)."""
    if isinstance(exc, ImportStopped):
        line, exc = exc.line, exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
    else:
        after = out[-1]["line"] if out else 0
        line = next((n for n in range(after + 1, len(lines) + 1) if lines[n - 1].strip()), after + 1)
    doc = failure(exc, f"POST /v1/events batch line {line}")
    doc["line"] = line
    body = {**doc, "results": out}
    return JSONResponse(body, status_code=doc["status"], media_type=PROBLEM_JSON)


def _type_of(text: str) -> str | None:
    """An accepted envelope's type (it parsed once already: this cannot fail on it)."""
    try:
        found = json.loads(text).get("type")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


@router.get("/metrics", response_class=PlainTextResponse, responses=responses(401), tags=["service"])
def metrics(scope: Reader) -> Response:
    """Prometheus text: requests, latency, envelopes, refusals, log size, projection lag."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(scope.srv.metrics.registry), media_type=CONTENT_TYPE_LATEST)


# --- the log ------------------------------------------------------------------------------------------------
def _leaf(seq: int, leaf: bytes) -> m.Leaf:
    return m.Leaf(seq=seq, leaf=leaf.decode("utf-8"), leaf_hash=b64encode(merkle.leaf_hash(leaf)))


@router.get("/v1/events", response_model=m.LeafPage, responses=responses(401, 403, 422), tags=["log"])
def get_events(
    scope: Reader,
    start: Annotated[int, Query(alias="from", ge=0, le=2**53 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> m.LeafPage:
    """Leaves in seq order (the log readers of the scope table)."""
    scope.require_log()
    srv = scope.srv
    with srv.lock:
        rows = list(services.log_page(srv.session.ledger, start, limit))
        size = srv.session.ledger.size()
    items = [_leaf(r.seq, r.leaf) for r in rows]
    after = items[-1].seq + 1 if items else start
    return m.LeafPage(items=items, next=after if after < size else None)


def _signer(leaf: bytes) -> str:
    signer = json.loads(leaf)["envelope"]["actor"]
    assert isinstance(signer, str)
    return signer


def _readable_leaf(scope: Scope, seq: int) -> bytes:
    """Leaf ``seq`` if it exists (404) and the scope reads it (403)."""
    leaf = scope.srv.session.ledger.leaf(seq)
    if leaf is None:
        raise ApiProblem("subject_not_found", f"no leaf at seq {seq}")
    if not scope.may_read_signed(_signer(leaf)):
        raise ApiProblem("forbidden", f"seq {seq} was signed by another actor")
    return leaf


@router.get("/v1/events/{seq}", response_model=m.LeafWithProof, responses=responses(401, 403, 404, 422), tags=["log"])
def get_event(scope: Reader, seq: Annotated[int, Path(ge=0, le=2**53 - 1)]) -> m.LeafWithProof:
    """One leaf and its inclusion proof at the latest checkpoint."""
    with scope.srv.lock:
        ledger = scope.srv.session.ledger
        leaf = _readable_leaf(scope, seq)
        latest = ledger.latest_checkpoint()
        proof = None
        if latest is not None and seq < latest.size:
            proof = _checked_inclusion(scope.srv, seq, latest.size)
    return m.LeafWithProof(**_leaf(seq, leaf).model_dump(), proof=proof)


def _checked_inclusion(srv: Server, seq: int, size: int | None) -> m.InclusionProof:
    """Never hand out a proof that does not reach the signed root (as the CLI's ``proof``)."""
    from ledger.translog.proofs import checkpoint_root, inclusion_proof

    proof = inclusion_proof(srv.session.ledger, seq, size)
    proof.verify(checkpoint_root(srv.session.ledger, proof.tree_size))
    return m.InclusionProof.model_validate(proof.as_json())


@router.get("/v1/proofs/inclusion", response_model=m.InclusionProof, responses=responses(401, 403, 404, 422),
            tags=["log"])  # fmt: skip
def get_inclusion(
    scope: Reader,
    seq: Annotated[int, Query(ge=0, le=2**53 - 1)],
    size: Annotated[int | None, Query(ge=1, le=2**53 - 1)] = None,
) -> m.InclusionProof:
    """DESIGN §6 inclusion proof of leaf ``seq`` (default size: the latest checkpoint's)."""
    with scope.srv.lock:
        _readable_leaf(scope, seq)
        return _checked_inclusion(scope.srv, seq, size)


@router.get("/v1/proofs/consistency", response_model=m.ConsistencyProof, responses=responses(401, 403, 422),
            tags=["log"])  # fmt: skip
def get_consistency(
    scope: Reader,
    first: Annotated[int, Query(ge=1, le=2**53 - 1)],
    second: Annotated[int | None, Query(ge=1, le=2**53 - 1)] = None,
) -> m.ConsistencyProof:
    """DESIGN §6 consistency proof from tree ``first`` to ``second`` (default: the latest checkpoint)."""
    from ledger.translog.proofs import checkpoint_root, consistency_proof

    scope.require_log()
    ledger = scope.srv.session.ledger
    with scope.srv.lock:
        proof = consistency_proof(ledger, first, second)
        proof.verify(checkpoint_root(ledger, first), checkpoint_root(ledger, proof.second_size))
    return m.ConsistencyProof.model_validate(proof.as_json())


@router.get("/v1/checkpoint", response_class=PlainTextResponse, responses=responses(404, 422), tags=["log"])
def get_checkpoint(srv: Srv, size: Annotated[int | None, Query(ge=1, le=2**53 - 1)] = None) -> PlainTextResponse:
    """The latest signed checkpoint with its cosignatures (C2SP signed note); ``?size=N`` a given one."""
    with srv.lock:
        ledger = srv.session.ledger
        if size is None:
            latest = ledger.latest_checkpoint()
            note = None if latest is None else latest.note
        else:
            signed = ledger.checkpoints_of_size(size)  # indexed: never every checkpoint (DESIGN §8)
            note = signed[-1].note if signed else None
    if note is None:
        raise ApiProblem("subject_not_found", "no checkpoint yet" if size is None else f"no checkpoint of size {size}")
    return PlainTextResponse(note)


# --- balances -----------------------------------------------------------------------------------------------
@router.get("/v1/balances", response_model=m.Balances, responses=responses(401, 403, 422, 503), tags=["balances"])
def get_balances(
    scope: Reader,
    as_of: Annotated[int | None, Query(ge=0, le=2**53 - 1)] = None,
    jurisdiction: Annotated[str | None, Query(max_length=12)] = None,
    account: Annotated[str | None, Query(min_length=1, max_length=200, description="an account or a path of them")] = None,
    fund: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    institution: Annotated[str | None, Query(min_length=1, max_length=128, description="claimant actor id")] = None,
    laborer: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    period: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="business month YYYY-MM")] = None,
    claim: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> m.Balances:
    """The ``balances --json`` document with its filters, narrowed to the token's scope: a bureau's or
    county inspector's jurisdiction, a claimant's own claims (``institution`` = the token's actor)."""
    claimant = institution
    if scope.role in SUBJECT:
        if institution is not None and institution != scope.actor_id:
            raise ApiProblem("forbidden", f"role {scope.role} reads the balances of its own claims only")
        claimant = scope.actor_id
    place = jurisdiction if scope.role in SUBJECT else scope.jurisdiction_filter(jurisdiction)
    with scope.srv.lock:
        result, _ = services.balances(scope.srv.session, as_of=as_of, jurisdiction=place, institution=claimant,
                                      fund=fund, laborer=laborer, period=period, claim=claim, account=account)  # fmt: skip
    return m.Balances.model_validate(result)


# --- anomalies ----------------------------------------------------------------------------------------------
def _owner(srv: Server, kind: str, ident: str) -> str | None:
    """Who signed the first event of a flag's subject (a subject-level reader's own subjects)."""
    from ledger.domain import aggregates as a

    classes = {"class": a.TrainingClass, "claim": a.Claim, "certificate": a.Certificate,
               "employment": a.Employment, "laborer": a.Laborer, "payment": a.Payment}  # fmt: skip
    cls = classes.get(kind)
    if cls is None:
        return None
    return srv.session.ledger.lookup(cls, ident).signer


def _may_read_flag(scope: Scope, flag: Flag) -> bool:
    if scope.role in SUBJECT:
        return scope.owns(_owner(scope.srv, flag["subject"]["kind"], flag["subject"]["id"]))
    return scope.covers(flag["jurisdiction"])


@router.get("/v1/anomalies", response_model=list[m.Flag], responses=responses(401, 403, 422, 503), tags=["anomalies"])
def get_anomalies(
    scope: Reader,
    rule: str | None = None,
    severity: str | None = None,
    status: str | None = None,
    jurisdiction: Annotated[str | None, Query(max_length=12)] = None,
    as_of: Annotated[int | None, Query(ge=0, le=2**53 - 1, description="the flags as they stood at leaf SEQ")] = None,
) -> list[Flag]:
    """RULES.md flag objects in the token's scope, most severe first (``as_of``: as ``anomalies --as-of``)."""
    place = jurisdiction if scope.role in SUBJECT else scope.jurisdiction_filter(jurisdiction)
    with scope.srv.lock:
        try:
            flags, _ = services.anomalies(scope.srv.session, rule=rule, severity=severity, jurisdiction=place,
                                          status=status, as_of=as_of)  # fmt: skip
        except ValueError as exc:
            raise ApiProblem("invalid_request", str(exc)) from None
        return [f for f in flags if _may_read_flag(scope, f)]


@router.get("/v1/anomalies/{anomaly_id}", response_model=m.FlagDetail, responses=responses(401, 403, 404, 422, 503),
            tags=["anomalies"])  # fmt: skip
def get_anomaly(
    scope: Reader,
    anomaly_id: Annotated[str, Path(max_length=200)],
    as_of: Annotated[int | None, Query(ge=0, le=2**53 - 1, description="the flag as it stood at leaf SEQ")] = None,
) -> m.FlagDetail:
    """One flag with its history and evidence leaves (without complaint evidence for institutions and employers)."""
    with scope.srv.lock:
        found = services.anomaly(scope.srv.session, anomaly_id, as_of=as_of)
        if found is None:
            raise ApiProblem("subject_not_found", f"no flag {anomaly_id}")
        flag, events = found
        if not _may_read_flag(scope, flag):
            raise ApiProblem("forbidden", f"flag {anomaly_id} is outside the token's scope")
    if not scope.sees_complaints:
        events = [e for e in events if not _complaint(e)]
    plain = {k: v for k, v in flag.items() if k != "history"}
    return m.FlagDetail.model_validate({"flag": plain, "history": flag["history"], "evidence": events})


def _complaint(event: EvidenceEvent) -> bool:
    body = event["body"]
    return event["type"] == "InspectionRecorded" and isinstance(body, dict) and body.get("method") in COMPLAINT_METHODS


def _warn_lagging(error: Exception | None) -> None:
    """An accepted write stays accepted when projecting fails; the operator hears of it (fix: rebuild)."""
    if error is not None:
        log.warning("projections did not catch up after a write: %s: %s", type(error).__name__, error)


def _utc(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
