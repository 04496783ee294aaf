"""The pages' session: the API's token in a cookie, the same :class:`~api.http.auth.Scope`, CSRF.

Sign-in is the API's (:func:`api.http.auth.sign_in`: a challenge signed in the browser); the token
it returns goes into an HttpOnly, SameSite=Strict cookie (Secure over https), so no script ever
reads it. :func:`page_scope` turns the cookie into the :class:`Scope` the API's bearer path gives
(:func:`api.http.auth.scope_of_token`, one function for both). Every state-changing POST of the
pages carries a CSRF token — an HMAC of the session's token under the server's secret, in the
page's ``<meta name="csrf-token">`` and each form's hidden ``csrf`` field — and must come from this
origin (``Origin`` / ``Sec-Fetch-Site``): :func:`check_csrf`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request, Response

from api.http.auth import Scope, scope_of_token
from api.http.context import Server, server
from api.http.problems import ApiProblem
from api.web.render import SignInRequired, error_page

SESSION_COOKIE = "ledger_session"
CSRF_FIELD, CSRF_HEADER = "csrf", "X-CSRF-Token"
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def set_session(request: Request, response: Response, token: str, ttl: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=ttl, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")  # fmt: skip


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")  # fmt: skip


def csrf_token(srv: Server, session_token: str) -> str:
    return hmac.new(
        srv.token_secret, b"subsidy-ledger/csrf/v1\n" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def check_origin(request: Request) -> None:
    """A state-changing request must come from a page of this origin: a browser says where it came
    from in ``Sec-Fetch-Site`` and ``Origin``; either naming another site is refused (403)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        raise ApiProblem(
            "forbidden", f"a cross-site request ({site}) cannot change anything here", reason="csrf"
        )
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise ApiProblem("forbidden", f"a request from {origin} cannot change anything here", reason="csrf")


def page_scope(request: Request, srv: Annotated[Server, Depends(server)]) -> Scope:
    """The dependency of every signed-in page: the session cookie's :class:`Scope` (also on
    ``request.state.scope``, with its CSRF token on ``request.state.csrf``); no or a dead session
    → :class:`SignInRequired`, which :class:`~api.web.render.PageRoute` answers with ``/signin?next=…``."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInRequired()
    try:
        scope = scope_of_token(request, srv, token)
    except ApiProblem:
        raise SignInRequired() from None
    request.state.scope, request.state.csrf = scope, csrf_token(srv, token)
    with srv.lock:
        actor = srv.session.ledger.actor(scope.actor_id)
    request.state.who = {"name": actor.name if actor else scope.actor_id, "role": scope.role,
                         "jurisdiction": scope.jurisdiction}  # fmt: skip
    return scope


PageScope = Annotated[Scope, Depends(page_scope)]


async def check_csrf(request: Request, scope: PageScope) -> None:
    """The dependency of every state-changing page POST (after :func:`page_scope`): same origin, and
    the session's CSRF token in the ``X-CSRF-Token`` header or the form's ``csrf`` field."""
    check_origin(request)
    expected = request.state.csrf
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else ""
    if not expected or not hmac.compare_digest(given, expected):
        raise ApiProblem(
            "forbidden",
            "the form's CSRF token is missing or wrong: reload the page and try again",
            reason="csrf",
        )


CsrfChecked = Depends(check_csrf)


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def demo_refusal(request: Request) -> str | None:
    """Why ``serve --demo`` refuses this request (None: it does not): it answers loopback clients
    only, and never one that came through a proxy — a proxy would put the demo's one-click sign-in
    (which signs with the keystore's keys) in front of a network."""
    through = [h for h in PROXY_HEADERS if h in request.headers]
    if through:
        return f"the demo server answers no proxied request ({through[0]})"
    client = request.client.host if request.client else None
    if not is_loopback(client):
        return f"the demo server answers only this machine, not {client}"
    return None


async def demo_guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """``serve --demo``'s middleware: a request :func:`demo_refusal` names gets the 403 page, whatever it asked."""
    refused = demo_refusal(request)
    if refused is not None:
        return error_page(request, 403, "demo_refused", refused)
    return await call_next(request)
