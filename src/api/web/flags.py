"""Anomalies, and one flag with its evidence and disposition (DESIGN §13, issue 17).

Each page calls the API's own route function with the page's :class:`~api.http.auth.Scope`
(:func:`api.http.routes.get_anomalies`, :func:`~api.http.routes.get_anomaly`), so it shows exactly
what ``GET /v1/anomalies`` gives the same reader — institutions see no complaint evidence — and
raises what it raises (403, 404 pages). Each evidence leaf links to the integrity page's proof of
it (``/integrity?seq=``). A disposition and a personal-data access are signed in the browser
(``static/dispose.js``, ``static/pii.js``) and posted with the page's CSRF token to ``/signed``,
which submits the envelope exactly as ``POST /v1/events`` does (:func:`api.http.routes._single`:
same outcomes, same problems).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.cli.anomalies import CHANGE, KIND, SEVERITY, STATUS
from api.cli.trace import EVENT
from api.http import routes
from api.http.problems import ApiProblem, media_type, read_body, refusal
from api.web.dashboard import choices
from api.web.render import PageRoute, SignInRequired, render, with_headers
from api.web.session import CsrfChecked, PageScope
from ledger.domain.policy import SIGNERS
from projections.anomalies.engine import SEVERITIES
from projections.anomalies.guide import GUIDE
from projections.trace.gather import KINDS

PAGE_SIZE = 50
STATUSES = ("open", "confirmed", "rectified", "false_positive", "withdrawn", "all")
DISPOSITIONS = ("confirmed", "rectified", "false_positive")
DISPOSERS = SIGNERS["AnomalyDisposed"]
# What the page says of a refused envelope (the problem's reason; its English detail follows).
REFUSED = {
    "bad_signature": ("签名无效：所选密钥文件不是该主体的当前密钥", "bad signature: the key file is not the actor's current key"),
    "key_not_actors": ("所选密钥文件属于其他主体，请选择本单位的密钥文件", "the key file belongs to another actor: choose your own"),
    "unknown_key": ("账本中没有该密钥", "the ledger knows no such key"),
    "key_not_valid": ("该密钥已轮换或吊销，不能再签名", "the key was rotated or revoked"),
    "unknown_actor": ("账本中没有该主体", "the ledger knows no such actor"),
    "role_not_allowed": ("本单位的角色不能签署此类记录", "your role may not sign this record"),
    "outside_jurisdiction": ("超出本单位的属地范围", "outside your jurisdiction"),
    "unknown_reference": ("所引用的对象不存在", "it names something the ledger does not hold"),
    "at_in_future": ("签名时间晚于服务器时间，请校准电脑时钟", "signed in the future: check this computer's clock"),
    "nonce_reused": ("随机数已被使用，请重试", "the nonce was used already: try again"),
    "personal_data_in_text": ("说明中不得填写身份证号、手机号或银行卡号", "the note may not hold ID, phone or card numbers"),
    "invalid_field": ("填写的内容不合要求", "a field is not valid"),
    "malformed": ("记录格式不正确", "the record is malformed"),
}  # fmt: skip


class ActionRoute(APIRoute):
    """A page script's JSON endpoint: a dead session is a 401 problem (not a redirect), with the pages' headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def action(request: Request) -> Response:
            try:
                return with_headers(await handler(request))
            except SignInRequired:
                raise ApiProblem("unauthorized", "the session has ended: sign in again") from None

        return action


router = APIRouter(route_class=PageRoute, include_in_schema=False)
actions = APIRouter(route_class=ActionRoute, include_in_schema=False)


def rule_text(rule: str) -> tuple[str, str]:
    """A rule's meaning (docs/rules.md's 含义 / meaning)."""
    guide = GUIDE.get(rule)
    return (guide[0], guide[1]) if guide else (rule, rule)


@router.get("/anomalies")
def anomalies_page(
    request: Request,
    scope: PageScope,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
    status: Annotated[str | None, Query(max_length=64)] = None,
    jurisdiction: Annotated[str | None, Query(max_length=12)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The flags ``GET /v1/anomalies`` gives this reader with these filters (and the subject kind), 50 a page."""
    wanted = {"rule": rule or None, "severity": severity or None, "status": status or None,
              "jurisdiction": jurisdiction or None}  # fmt: skip
    flags = routes.get_anomalies(scope, rule=wanted["rule"], severity=wanted["severity"], status=wanted["status"],
                                 jurisdiction=wanted["jurisdiction"])  # fmt: skip
    if kind:
        flags = [f for f in flags if f["subject"]["kind"] == kind]
    pages = max(1, -(-len(flags) // PAGE_SIZE))
    page = min(page, pages)
    shown = flags[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    query = {k: v for k, v in {**wanted, "kind": kind or None}.items() if v}

    def page_url(n: int) -> str:
        from urllib.parse import urlencode

        return "/anomalies?" + urlencode({**query, "page": n})

    counts = {s: sum(f["severity"] == s for f in flags) for s in SEVERITIES}
    return render(request, "anomalies.html", {
        "flags": shown, "total": len(flags), "counts": counts, "page": page, "pages": pages, "page_url": page_url,
        "first": (page - 1) * PAGE_SIZE + 1, "filters": {**wanted, "kind": kind}, "rules": list(GUIDE),
        "severities": SEVERITIES, "statuses": STATUSES, "kinds": sorted(KIND), "places": choices(scope),
        "SEVERITY": SEVERITY, "STATUS": STATUS, "KIND": KIND, "rule_text": rule_text,
    })  # fmt: skip


@router.get("/anomalies/{anomaly_id}")
def flag_page(
    request: Request, scope: PageScope, anomaly_id: Annotated[str, Path(max_length=200)]
) -> Response:
    """One flag: its rule's meaning, subject, history, evidence timeline (in business-date order) and the form."""
    detail = routes.get_anomaly(scope, anomaly_id)
    flag = detail.flag.model_dump()
    evidence = sorted(detail.evidence, key=lambda e: (e.business_date or "", e.at, e.seq))
    subject = flag["subject"]
    history = [h.model_dump() for h in detail.history]
    with scope.srv.lock:
        signers = {h["actor"]: scope.srv.session.ledger.actor(h["actor"]) for h in history if h["actor"]}
    names = {k: v.name for k, v in signers.items() if v is not None}
    return render(request, "anomaly.html", {
        "flag": flag, "history": history, "names": names, "CHANGE": CHANGE, "evidence": evidence,
        "meaning": rule_text(flag["rule"]), "traceable": subject["kind"] in KINDS,
        "may_dispose": scope.role in DISPOSERS, "dispositions": DISPOSITIONS,
        "SEVERITY": SEVERITY, "STATUS": STATUS, "KIND": KIND, "EVENT": EVENT, "REFUSED": json.dumps(REFUSED, ensure_ascii=False),
    })  # fmt: skip


@actions.post("/signed", dependencies=[CsrfChecked])
async def post_signed(request: Request, scope: PageScope) -> Response:
    """An envelope the page signed with the user's key: submitted as ``POST /v1/events`` submits one
    (the same function: accepted 201, duplicate 200, refusals as its problems)."""
    raw = await read_body(request, scope.srv.settings.max_body_bytes)
    if media_type(request, "application/json") != "application/json":
        raise ApiProblem("unsupported_media_type", "send the signed envelope as application/json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return refusal("invalid_json", "the body is not UTF-8 JSON")
    return await run_in_threadpool(routes._single, scope.srv, text)
