"""``POST /v1/checkpoint/cosignatures`` (API.md): a witness's ``tlog-cosignature/v1`` line, attached.

The body is the checkpoint note with one added signature line, signed on the witness's own
machine (``checkpoint --cosign ACTOR --server URL``, after its consistency check). No token: the
cosignature is its own authentication. The server checks that the note names a checkpoint it
stored (same signed body), that the new line is a cosignature by a registered cosigner role
(:data:`ledger.domain.policy.COSIGNERS`) under its *current* registered key, and that it verifies
over that checkpoint; it then appends the line to the stored note exactly as the local
``checkpoint --cosign`` does (one atomic update, :func:`ledger.persistence.queries.append_cosignature`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from api.http.context import Server, server
from api.http.problems import ApiProblem, media_type, read_body, responses
from ledger.domain.policy import COSIGNERS
from ledger.encoding.b64 import b64decode_strict
from ledger.errors import LedgerError
from ledger.persistence import queries
from ledger.persistence.store import StoredCheckpoint
from ledger.translog.note import (
    Checkpoint,
    CosignatureInvalid,
    parse_cosignature,
    parse_note,
    verify_cosignature,
)

router = APIRouter()

MAX_NOTE = 64 * 1024  # a checkpoint note with its signatures is a few hundred bytes

_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/plain": {"schema": {"type": "string", "description": "the checkpoint note with one added tlog-cosignature/v1 line"}}},
    }
}


@router.post(
    "/v1/checkpoint/cosignatures", response_class=PlainTextResponse, status_code=201, openapi_extra=_BODY, tags=["log"],
    responses={201: {"description": "attached; the stored note with every cosignature", "content": {"text/plain": {"schema": {"type": "string"}}}},
               200: {"description": "this cosigner had already cosigned this checkpoint", "content": {"text/plain": {"schema": {"type": "string"}}}},
               **responses(400, 404, 413, 415, 422, 503)},
)  # fmt: skip
async def post_cosignature(request: Request, srv: Annotated[Server, Depends(server)]) -> PlainTextResponse:
    """A witness's cosignature of a stored checkpoint: checked, then attached to it."""
    kind = media_type(request, "text/plain")
    if kind != "text/plain":
        raise ApiProblem("unsupported_media_type", f"send the note as text/plain, not {kind}")
    raw = await read_body(request, MAX_NOTE, "a cosigned note")
    try:
        note = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem("invalid_request", "the note is not UTF-8 text") from None
    return await run_in_threadpool(_attach, srv, note)


def _attach(srv: Server, note: str) -> PlainTextResponse:
    try:
        text, lines = parse_note(note)
        size = Checkpoint.parse(text).size
    except LedgerError as exc:
        raise ApiProblem("invalid_request", f"not a checkpoint note: {exc}") from None
    with srv.lock:
        ledger = srv.session.ledger
        stored = _stored(ledger.checkpoints_of_size(size), text)
        if stored is None:
            raise ApiProblem("subject_not_found", f"no stored checkpoint of size {size} with this body")
        known = {s.format() for s in parse_note(stored.note).signatures}
        added = [s for s in lines if s.format() not in known]
        if len(added) != 1:
            raise ApiProblem("invalid_request", f"the note must add exactly one signature line to checkpoint {size}"
                                                f" (it adds {len(added)})")  # fmt: skip
        line = added[0]
        actor = ledger.actor(line.name)
        if actor is None or actor.role not in COSIGNERS:
            raise ApiProblem("not_a_cosigner", f"{line.name!r} is not a registered finance_bureau or inspector")
        key = actor.key(actor.current_key_id) if actor.current_key_id is not None else None
        if key is None:
            raise ApiProblem("not_a_cosigner", f"{line.name} has no current key (revoked)")
        public = b64decode_strict(key.public_key)
        alone = f"{text}\n{line.format()}\n"
        try:
            parse_cosignature(line)
            verify_cosignature(alone, line.name, public)
        except CosignatureInvalid as exc:
            raise ApiProblem("bad_signature", f"the cosignature does not verify with {line.name}'s current key: {exc}",
                             reason="bad_signature") from None  # fmt: skip
        try:  # this cosigner's current key already cosigned it: nothing to add
            verify_cosignature(stored.note, line.name, public)
            return PlainTextResponse(stored.note, status_code=200)
        except CosignatureInvalid:
            pass
        updated = queries.append_cosignature(ledger.sql, stored.size, stored.signed_at, line.format())
        if updated is None:
            raise ApiProblem("subject_not_found", f"checkpoint {size} is gone")
        verify_cosignature(updated, line.name, public)  # what is stored is what was checked
    return PlainTextResponse(updated, status_code=201)


def _stored(checkpoints: list[StoredCheckpoint], text: str) -> StoredCheckpoint | None:
    """The latest of the stored signings of one size whose signed body is ``text``."""
    for found in reversed(checkpoints):
        if parse_note(found.note).text == text:
            return found
    return None
