"""``subsidy-ledger anomalies`` and ``anomalies show ID`` (DESIGN §9): flags an inspector can open.

Registered on the shared typer app by :mod:`api.cli`. Both verbs first catch the projections up
with the log, so they never answer from stale rows. ``--json`` prints RULES.md's objects; the
human form is a Chinese table (English with ``--lang en``). ``show`` prints one flag, its status
changes, and each evidence leaf as an inspector needs it: who signed what (actor id and name),
when (``at`` and ``recorded_at``), with which key, for which officer, and what the body says.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Annotated, Any

import typer

from api.cli import app, fail, session
from ledger.i18n import lang

anomalies_app = typer.Typer(invoke_without_command=True, no_args_is_help=False,
                            help="List anomaly flags (异常), or open one with its evidence: `anomalies show ID`.")  # fmt: skip
app.add_typer(anomalies_app, name="anomalies")

TEXT: dict[str, tuple[str, str]] = {
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
        "account": ("收款账户", "account"), "actor": ("主体", "actor"), "employment": ("就业记录", "employment")}  # fmt: skip
CHANGE = {"raised": ("提出", "raised"), "withdrawn": ("撤销（已纠正）", "withdrawn (cured)"),
          "reraised": ("再次提出", "raised again"), "disposed": ("处置", "disposed"),
          "message": ("说明更新", "message updated")}  # fmt: skip


def say(key: str, table: dict[str, tuple[str, str]] = TEXT, /, **kw: Any) -> str:
    zh, en = table.get(key, (key, key))
    return (zh if lang() == "zh" else en).format(**kw)


def _catch_up(s: Any) -> Any:
    """Catch up as ``balances`` does: an inconsistent projection is one line naming ``rebuild``."""
    from api.cli_projections import project
    from projections.db import engine_for

    project(s.ledger, strict=True)
    return engine_for(s.ledger)


@anomalies_app.callback()
def anomalies(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="rule id, e.g. SEQ-PAID-WITHOUT-ATTENDANCE")] = None,
    severity: Annotated[str | None, typer.Option(help="critical | high | medium | low")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="jurisdiction code (includes the codes below it)")] = None,
    status: Annotated[str | None, typer.Option(help="open | withdrawn | confirmed | rectified | false_positive | all "
                                                    "(comma-separated; default: all but withdrawn)")] = None,  # fmt: skip
    as_of: Annotated[int | None, typer.Option("--as-of", help="as the ledger stood after leaf SEQ")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="a JSON list of RULES.md flag objects")] = False,
) -> None:
    """List anomaly flags (异常), most severe first; withdrawn flags only with --status."""
    if ctx.invoked_subcommand is not None:
        return
    from projections.anomalies.query import list_flags
    from projections.readmodels.queries import log_clock, resolve_as_of

    with session() as s:
        engine = _catch_up(s)
        try:
            flags = list_flags(engine, rule=rule, severity=severity, jurisdiction=jurisdiction, status=status,
                               as_of=as_of, jurisdictions=s.ledger.jurisdictions)  # fmt: skip
        except ValueError as exc:
            fail(str(exc), 2)
        if as_json:
            typer.echo(json.dumps(flags, ensure_ascii=False))
            return
        with engine.connect() as conn:
            last = resolve_as_of(conn, as_of)
            clock = log_clock(conn, last) if last is not None else None
        filters = {k: v for k, v in (("rule", rule), ("severity", severity), ("jurisdiction", jurisdiction),
                                      ("status", status)) if v is not None}  # fmt: skip
        typer.echo(render(flags, last, clock, filters, s.ledger.jurisdictions))


def render(flags: list[dict[str, Any]], last: int | None, clock: str | None, filters: dict[str, str],
           jurisdictions: Any) -> str:  # fmt: skip
    """The human listing: one row per flag, its message on the line below."""
    if last is None:
        return say("empty")
    zh = lang() == "zh"
    counts = {k: sum(1 for f in flags if f["severity"] == k) for k in SEVERITY}
    lines = [say("title", seq=last, clock=clock or "—", n=len(flags)) + "  " + say("by_severity", **counts)]
    if filters:
        lines.append(say("filters", f=", ".join(f"{k}={v}" for k, v in filters.items())))
    if not flags:
        lines.append(say("none"))
        return "\n".join(lines)
    head = [say("severity"), say("rule"), say("subject"), say("laborer"), say("jurisdiction"), say("status"),
            say("id"), say("evidence")]  # fmt: skip
    rows = []
    for f in flags:
        subject = f"{say(f['subject']['kind'], KIND)} {_short(f['subject']['id'])}"
        code = f["jurisdiction"] or "—"
        place = jurisdictions.names.get(code, "") if zh and f["jurisdiction"] else ""
        rows.append([say(f["severity"], SEVERITY), f["rule"], subject, f["laborer_id"] or "—", f"{code} {place}".strip(),
                     say(f["status"], STATUS), f["id"][:14] + "…", _seqs(f["evidence"])])  # fmt: skip
    sizes = [max(width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines += ["  ".join(pad(c, sizes[i]) for i, c in enumerate(head)).rstrip(), "  ".join("-" * n for n in sizes)]
    for f, row in zip(flags, rows, strict=True):
        lines.append("  ".join(pad(c, sizes[i]) for i, c in enumerate(row)).rstrip())
        lines.append("    " + (f["message"] if zh else f["message_en"]))
    return "\n".join(lines)


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int) -> str:
    return text + " " * max(size - width(text), 0)


def _short(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "…"


def _seqs(seqs: list[int]) -> str:
    shown = ",".join(str(s) for s in seqs[:4])
    return shown + (f",…(+{len(seqs) - 4})" if len(seqs) > 4 else "")


@anomalies_app.command("show")
def show(
    anomaly_id: Annotated[str, typer.Argument(help="the flag's id (A-…)")],
    as_of: Annotated[int | None, typer.Option("--as-of", help="as the ledger stood after leaf SEQ")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the flag, its history and its evidence leaves as JSON")] = False,
) -> None:
    """Open one flag: its history and every evidence leaf (who signed what, when, with which key)."""
    from projections.anomalies.query import evidence_events, get_flag

    with session() as s:
        engine = _catch_up(s)
        flag = get_flag(engine, anomaly_id, as_of=as_of)
        if flag is None:
            fail(say("not_found", id=anomaly_id), 1)
        events = evidence_events(s.ledger, engine, flag["evidence"])
        if as_json:
            typer.echo(json.dumps({"flag": {k: v for k, v in flag.items() if k != "history"},
                                   "history": flag["history"], "evidence": events}, ensure_ascii=False))  # fmt: skip
            return
        typer.echo(render_flag(flag, events, s.ledger.jurisdictions))


def render_flag(flag: dict[str, Any], events: list[dict[str, Any]], jurisdictions: Any) -> str:
    zh = lang() == "zh"
    code = flag["jurisdiction"]
    place = f"{code} {jurisdictions.names.get(code, '')}".strip() if code else "—"
    lines = [
        say("flag", id=flag["id"]),
        f"  {say('rule')}: {flag['rule']}（{say(flag['severity'], SEVERITY)}）  {say('source')}: {flag['source']}",
        f"  {say('subject')}: {say(flag['subject']['kind'], KIND)} {flag['subject']['id']}"
        + (f"  {say('laborer')}: {flag['laborer_id']}" if flag["laborer_id"] else "") + f"  {say('jurisdiction')}: {place}",
        f"  {say('status')}: {say(flag['status'], STATUS)}  {say('raised')} {flag['raised_seq']}"
        + (f"  {say('withdrawn')} {flag['withdrawn_seq']}" if flag["withdrawn_seq"] is not None else ""),
        f"  {say('message')}: {flag['message'] if zh else flag['message_en']}",
        f"  {say('history')}:",
    ]  # fmt: skip
    for change in flag["history"]:
        extra = "".join(f"  {v}" for v in (change["actor"], change["note"]) if v)
        lines.append(f"    seq {change['seq']}  {say(change['change'], CHANGE)}  → {say(change['status'], STATUS)}{extra}")
    lines.append(f"  {say('evidence_title', n=len(events))}:")
    for ev in events:
        lines.append(f"    seq {ev['seq']}  {ev['type']}  at {ev['at']}  {say('recorded')} {ev['recorded_at']}"
                     f"  {say('business')} {ev['business_date'] or '—'}")  # fmt: skip
        who = f"{ev['actor']} {ev['actor_name'] or ''}".strip()
        lines.append(f"      {say('signed')}: {who}  {say('key')}: {ev['key_id']}"
                     f"  {say('officer')}: {ev['officer'] or '—'}")  # fmt: skip
        lines.append(f"      {say('body')}: {summary(ev['body'])}")
    return "\n".join(lines)


def summary(body: dict[str, Any]) -> str:
    """A body in one line: scalars as they are, lists counted (short lists of ids shown)."""
    parts = []
    for key, value in body.items():
        if isinstance(value, list):
            if value and all(isinstance(v, str) for v in value) and len(value) <= 5:
                text = ",".join(value)
            else:
                text = say("items", n=len(value))
        elif isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif isinstance(value, str) and len(value) > 40:
            text = value[:16] + "…"
        else:
            text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        parts.append(f"{key}={text}")
    return " ".join(parts)
