"""``/tlog/``: the log as a C2SP ``tlog-tiles`` hierarchy (API.md "The log's static read path").

``/tlog/checkpoint`` is the latest signed note with its cosignatures; ``/tlog/tile/<L>/<N>[.p/<W>]``
the Merkle hash tiles and ``/tlog/tile/entries/<N>[.p/<W>]`` the entry bundles
(:mod:`ledger.translog.tiles`), only under the latest checkpoint. Any C2SP-compatible monitor can
follow the ledger from these alone. Readers: the roles that read the log in full, with
``Cache-Control: private`` and ``Vary: Authorization``; anyone under ``serve --public-log``, and
then full tiles are ``public, max-age=31536000, immutable`` so that a reverse proxy or CDN can
carry the read load.
"""

from __future__ import annotations

import gzip
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from api.http.auth import LogReader
from api.http.context import Server, server
from api.http.problems import ApiProblem, responses
from ledger.translog import tiles

router = APIRouter(prefix="/tlog", tags=["tlog"])

Srv = Annotated[Server, Depends(server)]
OCTETS = "application/octet-stream"
IMMUTABLE = "max-age=31536000, immutable"  # full tiles never change
PARTIAL = "max-age=60"  # a partial tile of one width never changes either; it only stops being the newest
MUTABLE = "no-cache"  # the checkpoint moves (tlog-tiles: no caching beyond a few seconds)

_TILE: dict[int | str, dict[str, Any]] = {200: {"description": "the tile's bytes", "content": {OCTETS: {"schema": {"type": "string", "format": "binary"}}}},
         **responses(401, 403, 404, 422, 503)}  # fmt: skip


def _headers(reader: object, cache: str) -> dict[str, str]:
    if reader is None:  # --public-log
        return {"Cache-Control": f"public, {cache}"}
    return {"Cache-Control": f"private, {cache}", "Vary": "Authorization"}


@router.get("/checkpoint", responses={200: {"description": "the signed note", "content": {"text/plain": {"schema": {"type": "string"}}}},
                                      **responses(401, 403, 404, 503)})  # fmt: skip
def checkpoint(srv: Srv, reader: LogReader) -> Response:
    """The latest checkpoint with its cosignatures (C2SP signed note)."""
    with srv.lock:
        latest = srv.session.ledger.latest_checkpoint()
    if latest is None:
        raise ApiProblem("not_found", "no checkpoint yet")
    return Response(latest.note, media_type="text/plain; charset=utf-8", headers=_headers(reader, MUTABLE))


@router.get("/tile/{path:path}", response_class=Response, responses=_TILE)
def tile(srv: Srv, reader: LogReader, request: Request, path: Annotated[str, Path(max_length=200)]) -> Response:
    """A hash tile ``<L>/<N>[.p/<W>]`` or an entry bundle ``entries/<N>[.p/<W>]`` under the latest checkpoint."""
    found = tiles.Tile.parse("tile/" + path)
    if found is None:
        raise ApiProblem("not_found", f"/tlog/tile/{path} is not a tlog-tiles path")
    with srv.lock:
        ledger = srv.session.ledger
        latest = ledger.latest_checkpoint()
        if latest is None or not tiles.within(found, latest.size):
            raise ApiProblem("not_found", f"/tlog/{found.path} is beyond the latest checkpoint")
        body = tiles.hash_tile(ledger, found) if found.level is not None else tiles.entry_bundle(ledger, found)
    headers = _headers(reader, IMMUTABLE if found.full else PARTIAL)
    if found.level is None:  # entry bundles SHOULD be compressed at the HTTP layer
        headers["Vary"] = ", ".join(filter(None, [headers.get("Vary"), "Accept-Encoding"]))
        if _accepts_gzip(request.headers.get("accept-encoding", "")):
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=OCTETS, headers=headers)


def _accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` header takes gzip (RFC 9110 §12.5.3: ``q=0`` refuses it)."""
    for part in header.split(","):
        name, *params = (p.strip() for p in part.split(";"))
        if name.lower() not in ("gzip", "x-gzip", "*"):
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False
