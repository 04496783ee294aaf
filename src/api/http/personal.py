"""Personal data over HTTP (API.md, DESIGN §7): ``POST /v1/intents/prepare`` and ``GET /v1/laborers/{id}/pii``.

The pepper and the vault key stay in the service. An office sends its intent with ``pii``; the
service fills the fingerprints, commitment or payee hash (:meth:`IntentSigner.prepare
<ledger.keys.signing.IntentSigner.prepare>`), keeps the sealed record pending
(:mod:`api.http.prepared`) and returns the intent for the office to sign and post to
``/v1/events``. A reader of personal data first posts its own signed ``PersonalDataAccessed`` —
the read is in the log before the data leaves — and then reads once against that leaf's seq.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.http import models as m
from api.http.auth import Reader, Scope
from api.http.prepared import FILLED, QuotaExceeded, prepared_from, seconds_to_midnight
from api.http.problems import ApiProblem, media_type, read_body, responses
from api.http.routes import _utc
from ledger.domain.aggregates import Laborer
from ledger.domain.policy import PII_READERS, SIGNERS
from ledger.encoding.canonical import loads_strict

router = APIRouter(tags=["personal data"])

MAX_INTENT = 64 * 1024  # an envelope is at most 60 KiB (DESIGN §6); its intent with pii a little more
ACCESS_WINDOW = 300  # seconds: how fresh the PersonalDataAccessed leaf of a read must be

_INTENT_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": m.IntentWithPii.model_json_schema()}}}
}


@router.post("/v1/intents/prepare", openapi_extra=_INTENT_BODY,
             responses={200: {"model": m.PreparedIntent, "description": "the intent to sign"},
                        **responses(400, 401, 403, 409, 413, 415, 422, 429, 503)})  # fmt: skip
async def prepare(request: Request, scope: Reader) -> JSONResponse:
    """Fill an intent's ``id_fingerprint`` and ``pii_commitment`` or ``payee_account`` from its ``pii``."""
    kind = media_type(request, "application/json")
    if kind != "application/json":
        raise ApiProblem("unsupported_media_type", f"send the intent as application/json, not {kind}")
    raw = await read_body(request, MAX_INTENT, "an intent")
    return await run_in_threadpool(_prepare, scope, raw)


def _prepare(scope: Scope, raw: bytes) -> JSONResponse:
    intent = loads_strict(raw)  # not JSON: 400 invalid_json; floats, duplicate keys: refused as anywhere signed
    if not isinstance(intent, dict):
        raise ApiProblem("invalid_request", "an intent is a JSON object")
    event_type = intent.get("type")
    if not isinstance(event_type, str) or event_type not in FILLED:
        raise ApiProblem("invalid_request", f"the service prepares {', '.join(FILLED)} intents, not {event_type!r}")
    if "pii" not in intent:
        raise ApiProblem("invalid_request", "the intent carries no pii: nothing to prepare (sign and post it as it is)")
    if intent.get("actor") != scope.actor_id:
        raise ApiProblem("forbidden", f"a token of {scope.actor_id} prepares intents of {scope.actor_id} only")
    if scope.role not in SIGNERS[event_type]:
        raise ApiProblem("forbidden", f"a {scope.role} does not sign {event_type}")
    srv, now = scope.srv, time.time()
    body = intent.get("body")
    laborer_id = body.get("laborer_id") if isinstance(body, dict) else None
    if event_type == "LaborerRegistered" and isinstance(laborer_id, str):
        with srv.lock:
            srv.session.ledger.head()  # another writer may have registered it: drop stale aggregates
            if srv.session.ledger.lookup(Laborer, laborer_id).exists:
                raise ApiProblem("already_exists", f"labourer {laborer_id} is registered already", reason="already_exists")
        other = srv.prepared.pending_by_other(laborer_id, scope.actor_id, now)
        if other is not None:
            raise ApiProblem("already_exists", f"labourer {laborer_id} is being registered by another actor",
                             reason="already_exists")  # fmt: skip
    unsigned, sealed = srv.session.signer().prepare(intent)
    row = prepared_from(unsigned, sealed, now)
    try:
        srv.prepared.put(row, now)
    except QuotaExceeded:
        raise ApiProblem("too_many_requests", f"{scope.actor_id} has prepared its {srv.settings.prepare_quota:,} intents"
                         " of today (Asia/Shanghai)", headers={"Retry-After": str(seconds_to_midnight(now))}) from None  # fmt: skip
    return JSONResponse({"intent": unsigned, "expires_at": _utc(row.expires_at)})


@router.get("/v1/laborers/{laborer_id}/pii", response_model=m.PersonalData, responses=responses(401, 403, 404, 422, 503))
def personal_data(
    scope: Reader,
    laborer_id: Annotated[str, Path(min_length=1, max_length=128)],
    access_seq: Annotated[int, Query(ge=0, le=2**53 - 1)],
) -> JSONResponse:
    """A labourer's personal data, once, against the reader's own ``PersonalDataAccessed`` of the last 300 s."""
    if scope.role not in PII_READERS:
        raise ApiProblem("forbidden", f"a {scope.role} does not read personal data (DESIGN §7)")
    srv = scope.srv
    with srv.lock:
        ledger = srv.session.ledger
        ledger.head()
        laborer = ledger.lookup(Laborer, laborer_id)
        if not laborer.exists:
            raise ApiProblem("subject_not_found", f"no labourer {laborer_id}")
        mine = laborer.signer == scope.actor_id if scope.role == "township" else scope.covers(laborer.jurisdiction)
        if not mine:
            raise ApiProblem("forbidden", f"labourer {laborer_id} is outside the token's scope")
        leaf = ledger.leaf(access_seq)
        if leaf is None:
            raise ApiProblem("subject_not_found", f"no leaf at seq {access_seq}")
        _check_access(json.loads(leaf), scope.actor_id, laborer_id, access_seq)
        if ledger.vault_record(laborer_id) is None:
            why = f"erased at seq {laborer.erased_seq}" if laborer.erased else "registered without personal data"
            raise ApiProblem("subject_not_found", f"no personal data held for {laborer_id} ({why})")
        if not srv.accesses.use(access_seq, time.time()):
            raise ApiProblem("forbidden", f"the read recorded at seq {access_seq} has been made already: record another")
        record = srv.session.personal_data(laborer_id)
    doc = m.PersonalData(laborer_id=laborer_id, access_seq=access_seq, **{k: record[k] for k in ("name", "id_number", "phone", "bank_account")})
    return JSONResponse(doc.model_dump(), headers={"Cache-Control": "no-store"})


def _check_access(leaf: dict[str, Any], actor_id: str, laborer_id: str, access_seq: int) -> None:
    """The leaf must record this reader's access to this labourer, within the last 300 s."""
    envelope = leaf["envelope"]
    if envelope["type"] != "PersonalDataAccessed" or envelope["body"].get("laborer_id") != laborer_id:
        raise ApiProblem("forbidden", f"seq {access_seq} is not a PersonalDataAccessed of {laborer_id}")
    if envelope["actor"] != actor_id:
        raise ApiProblem("forbidden", f"seq {access_seq} was signed by another actor, not {actor_id}")
    recorded = dt.datetime.strptime(leaf["recorded_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    age = (dt.datetime.now(dt.UTC) - recorded).total_seconds()
    if age > ACCESS_WINDOW:
        raise ApiProblem("forbidden", f"the access recorded at seq {access_seq} is {int(age)} s old: record a new one"
                                      f" (a read must follow its record within {ACCESS_WINDOW} s)")  # fmt: skip

