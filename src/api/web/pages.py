"""Sign-in, sign-out and the dashboard (DESIGN §13).

Sign-in is the API's own (API.md "Authentication"): the page's script reads the organisation's key
file locally, asks ``/v1/auth/challenge``, signs it in the browser and posts the signature to
``/signin/session``, which calls the same :func:`api.http.auth.sign_in` and puts the token in the
session cookie (:mod:`api.web.session`). ``serve --demo`` adds one-click sign-in as any keystore
actor: the server signs that actor's challenge with its keystore key (a demo ledger on loopback only).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import Field

from api.cli.trace import ROLE
from api.http import models as m
from api.http.auth import sign_in, sign_in_message
from api.http.context import Server, server
from api.http.problems import ApiProblem
from api.web.render import PageRoute, render
from api.web.session import CsrfChecked, check_origin, clear_session, set_session
from ledger.encoding.b64 import b64encode

Srv = Annotated[Server, Depends(server)]

router = APIRouter(route_class=PageRoute, include_in_schema=False)
actions = APIRouter(include_in_schema=False)  # the sign-in script's JSON endpoint: problems, not pages


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path of this site only (never ``//host`` or a URL: no open redirect)."""
    # A browser drops tabs and newlines from a URL, so "/\t/host" would become "//host": refuse any control character.
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)):  # fmt: skip
        return "/"
    return target


class SessionRequest(m.TokenRequest):
    next: str | None = Field(default=None, max_length=2000)


@actions.post("/signin/session")
def signin_session(body: SessionRequest, request: Request, srv: Srv) -> Response:
    """The browser's signed challenge → the session cookie (the token never reaches the script)."""
    check_origin(request)
    token, _, _ = sign_in(srv, body.actor_id, body.challenge, body.signature)
    response = JSONResponse({"next": safe_next(body.next)})
    set_session(request, response, token, srv.settings.token_ttl)
    return response


def demo_actors(srv: Server) -> list[dict[str, str]]:
    """The keystore's actors that the ledger knows, for the demo's one-click sign-in (role, then id)."""
    ledger = srv.session.ledger
    found = []
    with srv.lock:
        for path in sorted(Path(srv.session.keys.root, "actors").glob("*.pem")):
            actor = ledger.actor(path.stem)
            if actor is not None and actor.current_key_id is not None:
                found.append({"id": path.stem, "name": actor.name, "role": actor.role,
                              "jurisdiction": actor.jurisdiction or ""})  # fmt: skip
    order = list(ROLE)
    return sorted(
        found, key=lambda a: (order.index(a["role"]) if a["role"] in order else len(order), a["id"])
    )


@router.get("/signin")
def signin_page(request: Request, srv: Srv, next: str | None = None) -> Response:
    actors = demo_actors(srv) if srv.settings.demo else []
    return render(request, "signin.html", {"next": safe_next(next), "origin": srv.origin, "actors": actors})


@router.post("/signin/demo")
def signin_demo(request: Request, srv: Srv, actor_id: Annotated[str, Form(max_length=128)],
                next: Annotated[str | None, Form(max_length=2000)] = None) -> Response:  # fmt: skip
    """``serve --demo`` only: sign ``actor_id``'s challenge here with its keystore key."""
    if not srv.settings.demo:
        raise ApiProblem("not_found", "one-click sign-in exists only on `serve --demo`")
    check_origin(request)
    keys = srv.session.keys
    if not keys.has_actor_key(actor_id):
        raise ApiProblem("subject_not_found", f"no key of {actor_id} in the demo keystore")
    challenge, _ = srv.challenges.issue(actor_id, time.time())
    signature = b64encode(keys.actor_key(actor_id).sign(sign_in_message(srv.origin, actor_id, challenge)))
    token, _, _ = sign_in(srv, actor_id, challenge, signature)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session(request, response, token, srv.settings.token_ttl)
    return response


@router.post("/signout", dependencies=[CsrfChecked])
def signout(request: Request) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    clear_session(request, response)
    return response
