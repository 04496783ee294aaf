"""``anomalies`` and ``anomalies show ID`` (DESIGN §9): flags an inspector can open.

Both verbs first catch the projections up with the log (:mod:`api.services`), so they never
answer from stale rows. ``--json`` prints RULES.md's objects; the human form is a Chinese table
(English with ``--lang en``). ``show`` prints one flag, its status changes, and each evidence leaf
as an inspector needs it: who signed what (actor id and name), when (``at`` and ``recorded_at``),
with which key, for which officer, and what the body says.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli import table
from api.cli.projections import consistent
from api.cli.root import JurisdictionFilter, Options, echo_json, fail, options, session
from ledger.domain.policy import GUYUAN, Jurisdictions
from ledger.encoding.canonical import JSONValue

if TYPE_CHECKING:
    from projections.anomalies.query import EvidenceEvent, Flag, FlagWithHistory

TEXT = {
    "title": ("异常（截至 seq {seq}；日志时钟 {clock}）：共 {n} 条", "anomalies (as of seq {seq}; log clock {clock}): {n}"),
    "by_severity": ("严重 {critical}，高 {high}，中 {medium}，低 {low}", "critical {critical}, high {high}, medium {medium}, low {low}"),
    "filters": ("筛选：{f}", "filters: {f}"),
    "none": ("没有符合条件的异常", "no anomalies match"),
    "empty": ("尚无记录", "nothing recorded yet"),
    "severity": ("级别", "severity"),
    "rule": ("规则", "rule"),
    "subject": ("对象", "subject"),
    "laborer": ("劳动力", "labourer"),
    "jurisdiction": ("属地", "jurisdiction"),
    "status": ("状态", "status"),
    "id": ("编号", "id"),
    "evidence": ("证据", "evidence"),
    "not_found": ("没有编号为 {id} 的异常", "no anomaly with id {id}"),
    "flag": ("异常 {id}", "anomaly {id}"),
    "source": ("依据", "source"),
    "raised": ("提出于 seq", "raised at seq"),
    "withdrawn": ("撤销于 seq", "withdrawn at seq"),
    "message": ("说明", "message"),
    "history": ("变更记录", "history"),
    "evidence_title": ("证据（{n} 条）", "evidence ({n} leaves)"),
    "signed": ("签名", "signed by"),
    "key": ("密钥", "key"),
    "officer": ("经办人", "officer"),
    "recorded": ("记录于", "recorded"),
    "business": ("业务日期", "business date"),
    "body": ("内容", "body"),
    "items": ("{n} 项", "{n} items"),
}
SEVERITY = {"critical": ("严重", "critical"), "high": ("高", "high"), "medium": ("中", "medium"), "low": ("低", "low")}
STATUS = {"open": ("待核查", "open"), "withdrawn": ("已撤销", "withdrawn"), "confirmed": ("核实属实", "confirmed"),
          "rectified": ("已整改", "rectified"), "false_positive": ("误报", "false positive")}  # fmt: skip
KIND = {"laborer": ("劳动力", "labourer"), "class": ("培训班", "class"), "claim": ("补贴申请", "claim"),
        "payment": ("拨付", "payment"), "fund": ("专项资金", "fund"), "certificate": ("证书", "certificate"),
        "account": ("收款账户", "account"), "actor": ("主体", "actor"), "employment": ("就业记录", "employment"),
        "reconciliation": ("银行对账", "reconciliation")}  # fmt: skip
CHANGE = {"raised": ("提出", "raised"), "withdrawn": ("撤销（已纠正）", "withdrawn (cured)"),
          "reraised": ("再次提出", "raised again"), "disposed": ("处置", "disposed"),
          "message": ("说明更新", "message updated")}  # fmt: skip


AsOf = Annotated[int | None, typer.Option("--as-of", help="as the ledger stood after leaf SEQ")]


def register(app: typer.Typer) -> None:
    anomalies_app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                                help="List anomaly flags (异常), or open one with its evidence: `anomalies show ID`.")  # fmt: skip
    anomalies_app.callback()(anomalies)
    anomalies_app.command("show")(show)
    app.add_typer(anomalies_app, name="anomalies")


def anomalies(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="rule id, e.g. SEQ-PAID-WITHOUT-ATTENDANCE")] = None,
    severity: Annotated[str | None, typer.Option(help="critical | high | medium | low")] = None,
    jurisdiction: JurisdictionFilter = None,
    status: Annotated[str | None, typer.Option(help="open | withdrawn | confirmed | rectified | false_positive | all "
                                                    "(comma-separated; default: all but withdrawn)")] = None,  # fmt: skip
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON list of RULES.md flag objects")] = False,
) -> None:
    """List anomaly flags (异常), most severe first; withdrawn flags only with --status."""
    if ctx.invoked_subcommand is not None:
        return
    o = options(ctx)
    if o.server is not None:
        from api.cli import remote

        found = remote.anomalies(o, rule=rule, severity=severity, jurisdiction=jurisdiction, status=status, as_of=as_of)
        if as_json:
            echo_json(found)
            return
        filters = {k: v for k, v in (("rule", rule), ("severity", severity), ("jurisdiction", jurisdiction),
                                      ("status", status)) if v is not None}  # fmt: skip
        typer.echo(render(o, found, remote.size(o) if as_of is None else as_of, None, filters, GUYUAN))
        return
    from api import services

    with session(o) as s:
        try:
            with consistent(o):
                flags, engine = services.anomalies(s, o.meter(), rule=rule, severity=severity,
                                                   jurisdiction=jurisdiction, status=status, as_of=as_of)  # fmt: skip
        except ValueError as exc:
            fail(o, str(exc), 2)
        if as_json:
            echo_json(flags)
            return
        last, clock = services.position_of(engine, as_of)
        filters = {k: v for k, v in (("rule", rule), ("severity", severity), ("jurisdiction", jurisdiction),
                                      ("status", status)) if v is not None}  # fmt: skip
        typer.echo(render(o, flags, last, clock, filters, s.ledger.jurisdictions))


def render(o: Options, flags: list[Flag], last: int | None, clock: str | None, filters: dict[str, str],
           jurisdictions: Jurisdictions) -> str:  # fmt: skip
    """The human listing: one row per flag, its message on the line below."""
    if last is None:
        return o.say(TEXT, "empty")
    zh = o.lang == "zh"
    counts = {k: sum(1 for f in flags if f["severity"] == k) for k in SEVERITY}
    lines = [o.say(TEXT, "title", seq=last, clock=clock or "—", n=len(flags)) + "  " + o.say(TEXT, "by_severity", **counts)]
    if filters:
        lines.append(o.say(TEXT, "filters", f=", ".join(f"{k}={v}" for k, v in filters.items())))
    if not flags:
        lines.append(o.say(TEXT, "none"))
        return "\n".join(lines)
    head = [o.say(TEXT, k) for k in ("severity", "rule", "subject", "laborer", "jurisdiction", "status", "id", "evidence")]
    rows = []
    for f in flags:
        subject = f"{o.say(KIND, f['subject']['kind'])} {_short(f['subject']['id'])}"
        code = f["jurisdiction"] or "—"
        place = jurisdictions.names.get(code, "") if zh and f["jurisdiction"] else ""
        rows.append([o.say(SEVERITY, f["severity"]), f["rule"], subject, f["laborer_id"] or "—", f"{code} {place}".strip(),
                     o.say(STATUS, f["status"]), f["id"][:14] + "…", _seqs(f["evidence"])])  # fmt: skip
    sizes = table.sizes([head, *rows])
    lines += [table.line(head, sizes), table.rule(sizes)]
    for f, row in zip(flags, rows, strict=True):
        lines.append(table.line(row, sizes))
        lines.append("    " + (f["message"] if zh else f["message_en"]))
    return "\n".join(lines)


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "…"


def _seqs(seqs: list[int]) -> str:
    shown = ",".join(str(s) for s in seqs[:4])
    return shown + (f",…(+{len(seqs) - 4})" if len(seqs) > 4 else "")


def show(
    ctx: typer.Context,
    anomaly_id: Annotated[str, typer.Argument(help="the flag's id (A-…)")],
    as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="the flag, its history and its evidence leaves as JSON")] = False,
) -> None:
    """Open one flag: its history and every evidence leaf (who signed what, when, with which key)."""
    o = options(ctx)
    if o.server is not None:
        from api.cli import remote

        flag, events = remote.anomaly(o, anomaly_id, as_of)
        if as_json:
            echo_json({"flag": {k: v for k, v in flag.items() if k != "history"}, "history": flag["history"],
                       "evidence": events})  # fmt: skip
            return
        typer.echo(render_flag(o, flag, events, GUYUAN))
        return
    from api import services

    with session(o) as s:
        with consistent(o):
            found = services.anomaly(s, anomaly_id, o.meter(), as_of=as_of)
        if found is None:
            fail(o, o.say(TEXT, "not_found", id=anomaly_id), 1)
        flag, events = found
        if as_json:
            echo_json({"flag": {k: v for k, v in flag.items() if k != "history"}, "history": flag["history"],
                       "evidence": events})  # fmt: skip
            return
        typer.echo(render_flag(o, flag, events, s.ledger.jurisdictions))


def render_flag(o: Options, flag: FlagWithHistory, events: list[EvidenceEvent],
                jurisdictions: Jurisdictions) -> str:  # fmt: skip
    zh = o.lang == "zh"
    code = flag["jurisdiction"]
    place = f"{code} {jurisdictions.names.get(code, '')}".strip() if code else "—"

    def say(key: str) -> str:
        return o.say(TEXT, key)

    lines = [
        o.say(TEXT, "flag", id=flag["id"]),
        f"  {say('rule')}: {flag['rule']}（{o.say(SEVERITY, flag['severity'])}）  {say('source')}: {flag['source']}",
        f"  {say('subject')}: {o.say(KIND, flag['subject']['kind'])} {flag['subject']['id']}"
        + (f"  {say('laborer')}: {flag['laborer_id']}" if flag["laborer_id"] else "") + f"  {say('jurisdiction')}: {place}",
        f"  {say('status')}: {o.say(STATUS, flag['status'])}  {say('raised')} {flag['raised_seq']}"
        + (f"  {say('withdrawn')} {flag['withdrawn_seq']}" if flag["withdrawn_seq"] is not None else ""),
        f"  {say('message')}: {flag['message'] if zh else flag['message_en']}",
        f"  {say('history')}:",
    ]  # fmt: skip
    for change in flag["history"]:
        extra = "".join(f"  {v}" for v in (change["actor"], change["note"]) if v)
        lines.append(f"    seq {change['seq']}  {o.say(CHANGE, change['change'])}  → {o.say(STATUS, change['status'])}{extra}")
    lines.append(f"  {o.say(TEXT, 'evidence_title', n=len(events))}:")
    for ev in events:
        lines.append(f"    seq {ev['seq']}  {ev['type']}  at {ev['at']}  {say('recorded')} {ev['recorded_at']}"
                     f"  {say('business')} {ev['business_date'] or '—'}")  # fmt: skip
        who = f"{ev['actor']} {ev['actor_name'] or ''}".strip()
        lines.append(f"      {say('signed')}: {who}  {say('key')}: {ev['key_id']}"
                     f"  {say('officer')}: {ev['officer'] or '—'}")  # fmt: skip
        lines.append(f"      {say('body')}: {summary(o, ev['body'])}")
    return "\n".join(lines)


def summary(o: Options, body: JSONValue) -> str:
    """A body in one line: scalars as they are, lists counted (short lists of ids shown)."""
    parts = []
    for key, value in (body.items() if isinstance(body, dict) else ()):
        if isinstance(value, list):
            if value and all(isinstance(v, str) for v in value) and len(value) <= 5:
                text = ",".join(str(v) for v in value)
            else:
                text = o.say(TEXT, "items", n=len(value))
        elif isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif isinstance(value, str) and len(value) > 40:
            text = value[:16] + "…"
        else:
            text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        parts.append(f"{key}={text}")
    return " ".join(parts)
