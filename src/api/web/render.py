"""How a page is answered: Jinja2 templates (autoescaped), the language, the security headers, and
the one place a page's errors become pages (:class:`PageRoute`).

A page is a route of :data:`api.web.pages.router` (whose routes are :class:`PageRoute`) that
returns :func:`render`. It raises what an API route raises — :class:`~api.http.problems.ApiProblem`
(``forbidden`` → the 403 scope page, ``subject_not_found`` → 404) or a ledger error — and
:class:`SignInRequired` (→ ``/signin?next=…``); :class:`PageRoute` turns each into a page, so no
page repeats an ``except``. Every page response and static file carries :data:`SECURITY_HEADERS`
(a Content-Security-Policy without inline script: the pages' JavaScript is the vendored files of
``static/``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from api.cli.trace import ROLE
from api.errors import ERRORS, problem_for
from api.http.problems import ApiProblem, log
from api.i18n import Lang, as_lang, pick, say
from api.reports.labels import PLACE_EN
from api.reports.view import shanghai_time
from ledger.errors import LedgerError

HERE = Path(__file__).parent
LANG_COOKIE = "ledger_lang"
R = TypeVar("R", bound=Response)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form POST's Origin "null"
    "X-Frame-Options": "DENY",
}

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["beijing"] = shanghai_time  # a log timestamp (UTC) as the business reads it: Asia/Shanghai


def lang_of(request: Request) -> Lang:
    """``?lang=`` first (the switch; :func:`render` remembers it in a cookie), then the cookie; Chinese by default."""
    return (
        as_lang(request.query_params.get("lang", "")) or as_lang(request.cookies.get(LANG_COOKIE, "")) or "zh"
    )


def with_headers(response: R) -> R:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def render(
    request: Request, template: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """``templates/<template>`` with the base context: ``t(zh, en)`` (the language's text), ``lang``,
    ``request``, and what :mod:`api.web.session` put on ``request.state`` (``scope``, ``csrf``)."""
    lang = lang_of(request)

    def t(zh: str, en: str) -> str:
        return pick(lang, zh, en)

    def lang_url(to: str) -> str:
        """This page in another language (the switch keeps the other query parameters)."""
        params = {k: v for k, v in request.query_params.items() if k != "lang"}
        params["lang"] = to
        return request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())

    def role_text(role: str) -> str:
        return say(ROLE, role, lang)

    def place(code: str | None) -> str:
        """A jurisdiction's name: the ledger's configured (Chinese) name, or its English one."""
        if not code:
            return ""
        srv = getattr(request.app.state, "server", None)
        names: Mapping[str, str] = srv.session.ledger.jurisdictions.names if srv is not None else {}
        return PLACE_EN.get(code, names.get(code, code)) if lang == "en" else names.get(code, code)

    base = {"request": request, "lang": lang, "t": t, "lang_url": lang_url,
            "scope": getattr(request.state, "scope", None), "csrf": getattr(request.state, "csrf", ""),
            "who": getattr(request.state, "who", None), "role_text": role_text, "place": place, "path": request.url.path}  # fmt: skip
    html = templates.get_template(template).render({**base, **(context or {})})
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax", httponly=True,
                            secure=request.url.scheme == "https")  # fmt: skip
    return with_headers(response)


class SignInRequired(Exception):
    """No session, or one whose token expired or whose key was rotated: sign in again."""


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


def error_page(request: Request, status: int, code: str, detail: str) -> HTMLResponse:
    """The page of a refusal: 403 says the actor's scope does not reach it, 404 that nothing is there."""
    return render(request, "error.html", {"status": status, "code": code, "detail": detail}, status=status)


class PageRoute(APIRoute):
    """A page: its errors are pages (:func:`error_page`), a missing session a redirect, every
    response with :data:`SECURITY_HEADERS`. A ``GET`` page answers ``HEAD`` too (``curl -I``, link
    checkers): the same status and headers, no content (RFC 9110 §9.3.2)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, methods: set[str] | list[str] | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        if methods is not None and "GET" in {method.upper() for method in methods}:
            methods = {*methods, "HEAD"}
        super().__init__(path, endpoint, methods=methods, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            response = await answer(request)
            if request.method == "HEAD" and not isinstance(response, StreamingResponse):
                # The GET's headers, its Content-Length included; no content, whatever the server does.
                response.body = b""
            return response

        async def answer(request: Request) -> Response:
            try:
                return with_headers(await handler(request))
            except SignInRequired:
                return with_headers(sign_in_redirect(request))
            except ApiProblem as exc:
                row = ERRORS[exc.code]
                if row.http_status == 401:
                    return with_headers(sign_in_redirect(request))
                return error_page(request, row.http_status, exc.reason or exc.code, exc.detail)
            except LedgerError as exc:
                row = problem_for(exc)
                if row.http_status == 503:
                    log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
                    return error_page(request, 503, row.code, row.title)
                return error_page(request, row.http_status, row.code, str(exc))

        return page


class Static(StaticFiles):
    """The vendored files of ``static/``, with the pages' security headers."""

    def __init__(self) -> None:
        super().__init__(directory=HERE / "static")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def headed(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, headed)


def install_not_found(app: FastAPI) -> None:
    """A browser asking for a path that does not exist gets the 404 page; any other client (the
    API's, ``/v1/`` and ``/tlog/`` always) keeps the problem document of :mod:`api.http.problems`."""
    original = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        if (
            isinstance(exc, StarletteHTTPException)
            and exc.status_code == 404
            and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(("/v1/", "/tlog/"))
        ):
            return error_page(request, 404, "not_found", f"no such page: {request.url.path}")
        answered = original(request, exc)
        return await answered if inspect.isawaitable(answered) else answered

    app.add_exception_handler(StarletteHTTPException, not_found)
