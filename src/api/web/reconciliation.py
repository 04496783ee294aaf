"""The reconciliation page ``/reconciliation`` (DESIGN §10, §13): a bank statement uploaded, the
result by status, its workbook, and "record" signed in the browser.

The upload is ``POST /v1/reconciliations``'s (:mod:`api.http.reconciliations`): the same readers (a
finance bureau its own payments; an inspector names a bureau in its scope), the same cap
(:data:`~api.http.reconciliations.MAX_STATEMENT`), the same multipart reading and the same use case,
so the result is the ``reconcile --json`` document. A refusal is one Chinese line with the file's
line number. The table and the workbook are the CLI's (:mod:`api.cli.reconcile`): the summary
first, then the exceptions, the most serious first, with an account's last four digits only.

"Record" is the finance bureau's own ``ReconciliationRecorded``: the page carries the body the
server built exactly as ``reconcile --record`` builds it
(:func:`projections.reconciliation.result.recorded_body`), ``static/reconcile.js`` signs it with
the bureau's key file in the browser, and the pages' ``/signed`` (:mod:`api.web.flags`) submits it as
``POST /v1/events`` does. The id is derived from the outcome: the script first asks
``/reconciliation/recorded``, and an outcome recorded before is reported as 重复 with the seq that
recorded it, nothing signed or recorded.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.cli import reconcile as cli
from api.cli.root import Options
from api.errors import problem_for
from api.http import reconciliations as api
from api.http.auth import Scope
from api.http.problems import ApiProblem, media_type, read_body
from api.i18n import Lang
from api.web.flags import REFUSED
from api.web.render import PageRoute, lang_of, render
from api.web.session import PageScope, check_csrf
from ledger.domain.aggregates import Reconciliation
from ledger.encoding.canonical import JSONValue
from ledger.errors import LedgerError
from ledger.persistence import queries
from projections.reconciliation.result import STATUSES, recorded_body
from projections.reconciliation.statement import StatementRefused

router = APIRouter(route_class=PageRoute, include_in_schema=False)

READERS = ("finance_bureau", "inspector")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Refusal(Exception):
    """What the page says instead of a result: one line, Chinese first."""

    def __init__(self, zh: str, en: str, status: int = 422) -> None:
        super().__init__(en)
        self.zh, self.en, self.status = zh, en, status


def refused(exc: StatementRefused) -> Refusal:
    """The reader's own words, with the file's line number where it names one and they do not."""
    zh, en = exc.zh or str(exc), str(exc)
    if exc.line is not None and f"第 {exc.line} 行" not in zh:
        zh = f"对账单第 {exc.line} 行：{zh}"
    if exc.line is not None and f"line {exc.line}" not in en:
        en = f"line {exc.line} of the statement: {en}"
    return Refusal(zh, en)


def require_reader(scope: Scope) -> None:
    if scope.role not in READERS:
        raise ApiProblem(
            "forbidden",
            f"a {scope.role} does not reconcile bank statements (finance bureaus and inspectors do)",
        )


def bureaus(scope: Scope) -> list[dict[str, str]]:
    """The finance bureaus an inspector may name (those in its jurisdiction)."""
    if scope.role != "inspector":
        return []
    ledger = scope.srv.session.ledger
    found = []
    with scope.srv.lock:
        for actor_id in sorted({row.actor_id for row in queries.key_index(ledger.sql)}):
            actor = ledger.actor(actor_id)
            if actor is not None and actor.role == "finance_bureau" and scope.covers(actor.jurisdiction):
                found.append({"id": actor_id, "name": actor.name})
    return found


def form_page(request: Request, scope: Scope, *, error: Refusal | None = None, result: dict[str, JSONValue] | None = None,
              fields: dict[str, str] | None = None) -> Response:  # fmt: skip
    lang = lang_of(request)
    context: dict[str, Any] = {
        "bureaus": bureaus(scope),
        "fields": fields or {},
        "error": error,
        "result": None,
    }
    if result is not None:
        context.update(result=result, **shown(result, lang))
        context["record"] = scope.role == "finance_bureau" and result["actor"] == scope.actor_id
        context["body"] = json.dumps(recorded_body(result), ensure_ascii=False, separators=(",", ":"))
        context["refused"] = json.dumps(REFUSED, ensure_ascii=False)
    return render(request, "reconciliation.html", context, status=error.status if error else 200)


def shown(result: dict[str, JSONValue], lang: Lang) -> dict[str, Any]:
    """The summary, the exceptions (most serious first) and the workbook, as ``reconcile`` shows them."""
    # openpyxl loads with the first reconciliation shown, not when the server starts
    from ledger.encoding import workbook

    o = Options(db="", keys="", lang=lang)  # the CLI's texts in this language; no database is opened
    summary = cast("dict[str, int]", result["summary"])
    exceptions = cli.exception_rows(result)
    used = [c for c in cli.COLUMNS if any(r.get(c[0]) is not None for r in exceptions)]
    book = workbook.workbook_bytes(cli.result_workbook(o, result))
    return {
        "summary": [(s, o.say(cli.STATUS, s), summary[s]) for s in STATUSES],
        "headers": [(o.say(cli.TEXT, header), money) for _, header, money in used],
        "exceptions": [
            (
                str(r["status"]),
                o.say(cli.STATUS, str(r["status"])),
                [cli.cell(o, r, key, money) for key, _, money in used],
            )
            for r in exceptions
        ],  # fmt: skip
        "xlsx": f"data:{XLSX};base64," + base64.b64encode(book).decode("ascii"),
        "xlsx_name": f"reconciliation-{result['actor']}-{result['period']}.xlsx",
    }


@router.get("/reconciliation")
def reconciliation_page(request: Request, scope: PageScope) -> Response:
    require_reader(scope)
    return form_page(request, scope)


@router.post("/reconciliation")
async def upload(request: Request, scope: PageScope) -> Response:
    """The statement reconciled (``POST /v1/reconciliations``'s cap, reader and use case), as a page."""
    require_reader(scope)
    if media_type(request, "") != "multipart/form-data":
        raise ApiProblem("unsupported_media_type", "send the statement form as multipart/form-data")
    try:
        raw = await read_body(request, api.MAX_STATEMENT, "the upload")
    except ApiProblem:
        mib = api.MAX_STATEMENT // 2**20
        return form_page(
            request,
            scope,
            error=Refusal(f"文件超过 {mib} MiB 上限，未读取", f"the file is over {mib} MiB: not read", 413),
        )
    request._body = raw  # the form below is parsed from the bytes read (and bounded) here
    await check_csrf(request, scope)
    form = await request.form()
    fields = {k: str(form.get(k) or "").strip() for k in ("period", "fund", "actor")}
    if not PERIOD.match(fields["period"]):
        return form_page(
            request,
            scope,
            fields=fields,
            error=Refusal("期间应为 YYYY-MM（如 2019-06）", "period must be YYYY-MM (e.g. 2019-06)"),
        )
    funds = [f for f in re.split(r"[\s,，]+", fields["fund"]) if f]
    bureau = api._bureau(scope, fields["actor"] or None)  # a bureau outside the scope: the 403 page
    try:
        name, data = await api._statement(request, raw)
        result = await run_in_threadpool(api.reconcile_upload, scope, bureau, name, data, period=fields["period"],
                                         funds=funds or None, date_window=3, as_of=None, columns=None)  # fmt: skip
    except StatementRefused as exc:
        return form_page(request, scope, fields=fields, error=refused(exc))
    except ApiProblem as exc:  # no file part, or not multipart at all
        return form_page(request, scope, fields=fields,
                         error=Refusal(f"上传的内容无法读取：{exc.detail}", f"the upload cannot be read: {exc.detail}", 400))  # fmt: skip
    except LedgerError as exc:  # an unknown fund, …: one line; the database's own failures are the 503 page
        if problem_for(exc).http_status == 503:
            raise
        return form_page(request, scope, fields=fields, error=Refusal(exc.zh or str(exc), str(exc)))
    return form_page(request, scope, fields=fields, result=result)


@router.get("/reconciliation/recorded")
def recorded(
    scope: PageScope, ident: Annotated[str, Query(alias="id", max_length=64, pattern=r"^R-[0-9A-Za-z-]+$")]
) -> Response:
    """Whether the outcome ``id`` is recorded already, and at which seq (``static/reconcile.js`` asks
    before it signs: the same outcome again is 重复 with that seq, and nothing is signed or recorded)."""
    require_reader(scope)
    with scope.srv.lock:
        scope.srv.session.ledger.head()
        existing = scope.srv.session.ledger.lookup(Reconciliation, ident)
    return JSONResponse({"reconciliation_id": ident, "seq": existing.first_seq if existing.exists else None})
