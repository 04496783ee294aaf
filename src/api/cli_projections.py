"""``subsidy-ledger rebuild`` and ``subsidy-ledger balances`` (DESIGN §9): the read side's verbs.

Registered on the shared typer app by :mod:`api.cli`. ``balances`` first catches the
projections up with the log, so it never answers from stale rows; ``rebuild`` replays the whole
log (progress on stderr) and must leave every answer byte-identical. A projection inconsistent
with its position (rewound, forwarded, a table altered) stops every catch-up with one line naming
``rebuild`` (exit 2: the report could not run). ``verify --projections`` (in :mod:`api.cli_log`)
calls :func:`check_projections` and :func:`say_projections` here.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from typing import Annotated, Any

import typer

from api.cli import app, fail, session
from ledger.i18n import lang

TEXT: dict[str, tuple[str, str]] = {
    "rebuilding": ("重建投影", "rebuilding projections"),
    "catching_up": ("投影追赶日志", "catching up projections"),
    "rebuilding_anomalies": ("重建异常标记", "rebuilding anomaly flags"),
    "rebuilt_anomalies": ("已重建异常标记：重放 {n} 条日志记录，用时 {s:.1f} 秒（{rate:,.0f} 条/秒）；其他投影未改动",
                          "anomaly flags rebuilt: {n} leaves replayed in {s:.1f} s ({rate:,.0f}/s); other projections untouched"),  # fmt: skip
    "rebuilt": ("已重建投影：{n} 条日志记录，用时 {s:.1f} 秒（{rate:,.0f} 条/秒）",
                "projections rebuilt: {n} leaves in {s:.1f} s ({rate:,.0f}/s)"),  # fmt: skip
    "title": ("科目余额（截至 seq {seq}；日志时钟 {clock}）", "balances (as of seq {seq}; log clock {clock})"),
    "empty": ("尚无记录", "nothing recorded yet"),
    "filters": ("筛选：{f}", "filters: {f}"),
    "account": ("科目", "account"),
    "kind": ("类别", "kind"),
    "debit": ("借方（元）", "debit (yuan)"),
    "credit": ("贷方（元）", "credit (yuan)"),
    "balance": ("余额（元）", "balance (yuan)"),
    "total": ("合计", "total"),
    "no_accounts": ("（无发生额）", "(no postings)"),
    "trial": ("试算平衡（全账本）：借方 {d} 贷方 {c} 差额 {t} {ok}",
              "trial balance (whole ledger): debit {d} credit {c} difference {t} {ok}"),  # fmt: skip
    "balanced": ("平衡", "balanced"),
    "unbalanced": ("不平衡！", "NOT BALANCED!"),
    "bad_period": ("--period 须为 YYYY-MM", "--period must be YYYY-MM"),
    "not_projected": ("警告：投影未更新（{error}）；日志已记录，可运行 subsidy-ledger rebuild",
                      "warning: projections not updated ({error}); the log is recorded — run subsidy-ledger rebuild"),  # fmt: skip
    "inconsistent": ("投影表与其位置不一致：{detail}；请运行 subsidy-ledger rebuild 重建投影",
                     "projection tables inconsistent with their position: {detail}; run subsidy-ledger rebuild"),  # fmt: skip
    "checking": ("投影一致性校验（重放日志）", "checking projections (replaying the log)"),
    "consistent": ("投影一致性校验通过：{tables} 张投影表共 {rows} 行与日志重放（seq 0–{last}）一致；用时 {s:.1f} 秒",
                   "projections: consistent — {rows} rows in {tables} tables match a replay of seq 0–{last}; {s:.1f} s"),  # fmt: skip
    "not_projected_yet": ("投影一致性校验：尚无投影，无可比对", "projections: nothing projected yet, nothing to compare"),
    "mismatch": ("投影一致性校验未通过：{name} 行 {row}{at} —— {what}{more}；请运行 subsidy-ledger rebuild 重建投影",
                 "projections: NOT consistent — {name} row {row}{at}: {what}{more}; run subsidy-ledger rebuild"),  # fmt: skip
    "at": ("（seq {seq}）", " at seq {seq}"),
    "more": ("；共 {n} 处不一致（{tables}）", "; {n} differences in all ({tables})"),
}
# ProjectionInconsistent.problem → the detail of "inconsistent" (projections.runner.catchup)
PROBLEMS: dict[str, tuple[str, str]] = {
    "ahead": ("投影位置 {position} 超出日志长度（{size} 条记录）", "position {position} is beyond the log ({size} leaves)"),
    "behind": ("投影表已含 seq {seq}，不早于其位置 {position}（位置被回退？）",
               "the tables hold seq {seq}, at or beyond their position {position} (a rewound position?)"),  # fmt: skip
    "short": ("投影位置 {position} 超前于其数据（pj_events 止于 seq {seq}）",
              "position {position} is ahead of its rows (pj_events ends at seq {seq})"),  # fmt: skip
    "rows": ("{name} 已有追赶将写入的行（位置被回退？）", "{name} already holds a row the catch-up would write (a rewound position?)"),
    "shape": ("表 {name} 缺失或结构被改动", "table {name} is missing or altered"),
}
# projections.runner.integrity.Difference.kind → what differs
DIFFERENCES: dict[str, tuple[str, str]] = {
    "missing": ("日志重放产生此行，表中缺失", "a row the log produces is missing"),
    "extra": ("表中有此行，日志重放不产生", "a row the log does not produce"),
    "changed": ("{columns} 与日志重放不符（表中为 {stored}，重放得 {replayed}）",
                "{columns}: stored {stored}, the log's replay gives {replayed}"),  # fmt: skip
    "table_missing": ("表缺失", "the table is missing"),
    "no_position": ("缺少投影位置", "the projection position is missing"),
    "ahead": ("投影位置 {stored} 超出日志长度 {replayed}", "the position {stored} is beyond the log's {replayed} leaves"),
    "rewound": ("表中已有投影位置 {stored} 及其后的行（位置被回退？）", "the tables hold rows at or beyond their position {stored} (a rewound position?)"),
    "schema": ("投影由其他版本或阈值计算（schema 不符）", "computed by another version or other thresholds (schema differs)"),
}
KINDS: dict[str, tuple[str, str]] = {
    "fund": ("专项资金", "fund"),
    "source": ("资金来源", "source"),
    "expense": ("补贴支出", "expense"),
    "payable": ("应付补贴", "payable"),
    "recovered": ("追回资金", "recovered"),
}
SUMMARY: dict[str, tuple[str, str]] = {
    "allocated_fen": ("资金下达", "allocated"),
    "adjusted_fen": ("资金调整", "adjusted"),
    "fund_balance_fen": ("资金余额", "fund balance"),
    "claimed_fen": ("补贴申请", "claimed"),
    "approved_fen": ("审核通过", "approved"),
    "paid_fen": ("拨付", "paid"),
    "returned_fen": ("退回", "returned"),
    "recovered_fen": ("追回", "recovered"),
    "outstanding_fen": ("应付未付", "outstanding"),
}


def say(key: str, table: dict[str, tuple[str, str]] = TEXT, **kw: Any) -> str:
    zh, en = table[key]
    return (zh if lang() == "zh" else en).format(**kw)


def yuan(fen: int | None) -> str:
    """Integer fen as yuan with two decimals — string arithmetic, never a float."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, size: int, right: bool = False) -> str:
    gap = " " * max(size - width(text), 0)
    return gap + text if right else text + gap


def project(ledger: Any, *, strict: bool = False) -> None:
    """Catch the projections up with the log, with a progress bar on stderr when it takes a while.

    The one call the write verbs (``import``, ``submit``) make after appending. The log is the
    record: if projecting fails there (``strict`` False), what was accepted stays accepted and
    the user gets one warning line naming the fix, not a failed import.
    """
    from api.progress import progress_bar
    from projections.db import engine_for
    from projections.runner.catchup import ProjectionInconsistent, catch_up, position

    try:
        behind = ledger.size() - position(engine_for(ledger))
        with progress_bar(say("catching_up"), behind) as advance:
            catch_up(ledger, progress=advance)
    except ProjectionInconsistent as exc:  # edited, rewound or cut short: one line naming the fix
        if strict:
            fail(say("inconsistent", detail=_problem(exc)), 2)
        typer.echo(say("not_projected", error=_problem(exc)), err=True)
    except Exception as exc:
        if strict:
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        typer.echo(say("not_projected", error=f"{type(exc).__name__}: {first}"), err=True)


def _problem(exc: Any) -> str:
    """A :class:`projections.runner.catchup.ProjectionInconsistent` in the user's language."""
    facts = {("name" if k == "table" else k): v for k, v in exc.facts.items()}  # ``table`` is say()'s own
    return say(exc.problem, PROBLEMS, **facts)


def check_projections(ledger: Any) -> dict[str, Any]:
    """``verify --projections``: replay the log up to the projections' position and compare every
    projection table with it (:mod:`projections.runner.integrity`); the JSON object, ``ok`` or the first
    difference. Nothing is written."""
    from api.progress import progress_bar
    from projections.db import engine_for
    from projections.runner.catchup import position
    from projections.runner.integrity import ProjectionMismatch, verify_projections

    with progress_bar(say("checking"), position(engine_for(ledger))) as advance:
        try:
            return verify_projections(ledger, progress=advance).as_json()
        except ProjectionMismatch as exc:
            return exc.report.as_json()


def say_projections(checked: dict[str, Any]) -> None:
    """``verify --projections``' one line: on stdout when consistent; on stderr, exit 1, when not."""
    first = checked["first"]
    if first is None:
        if checked["tables"] == 0:
            typer.echo(say("not_projected_yet"))
        else:
            typer.echo(say("consistent", tables=checked["tables"], rows=checked["rows"],
                           last=checked["position"] - 1, s=checked["elapsed"]))  # fmt: skip
        return
    row = ", ".join(f"{k}={v}" for k, v in first["key"].items()) or "—"
    stored, replayed = (
        _short(next(iter(side.values()))) if len(side) == 1 else ", ".join(f"{k}={_short(v)}" for k, v in side.items())
        for side in (first["stored"], first["replayed"])
    )  # fmt: skip
    what = say(first["kind"], DIFFERENCES, columns=", ".join(first["columns"]), stored=stored, replayed=replayed)
    tables = ", ".join(f"{t} {n}" for t, n in checked["by_table"].items())
    more = say("more", n=checked["differences"], tables=tables) if checked["differences"] > 1 else ""
    at = say("at", seq=first["seq"]) if first["seq"] is not None else ""
    typer.echo(say("mismatch", name=first["table"], row=row, at=at, what=what, more=more), err=True)
    raise typer.Exit(1)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 40 else text[:39] + "…"


@app.command()
def rebuild(
    anomalies: Annotated[bool, typer.Option(
        "--anomalies", help="recompute only the anomaly flags (after a rule or threshold change); "
        "the other read models stay as they are")] = False,  # fmt: skip
) -> None:
    """Drop and rebuild every projection from seq 0 (重建投影); progress on stderr."""
    from api.progress import progress_bar
    from projections.db import engine_for
    from projections.runner.catchup import ProjectionInconsistent, position, rebuild_only
    from projections.runner.catchup import rebuild as replay

    with session() as s:
        if anomalies:
            from projections.anomalies import TABLES

            started = time.monotonic()
            try:
                with progress_bar(say("rebuilding_anomalies"), position(engine_for(s.ledger))) as advance:
                    total = rebuild_only(s.ledger, TABLES, progress=advance)  # up to where the other tables are
            except ProjectionInconsistent as exc:  # only a full rebuild repairs the other tables
                fail(say("inconsistent", detail=_problem(exc)), 2)
            took = max(time.monotonic() - started, 1e-6)
            typer.echo(say("rebuilt_anomalies", n=total, s=took, rate=total / took), err=True)
            project(s.ledger, strict=True)  # then whatever the log holds beyond, as every verb does
            return
        total = s.ledger.size()
        started = time.monotonic()
        with progress_bar(say("rebuilding"), total) as advance:
            replay(s.ledger, progress=advance)
        took = max(time.monotonic() - started, 1e-6)
        typer.echo(say("rebuilt", n=total, s=took, rate=total / took), err=True)


@app.command()
def balances(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
    as_of: Annotated[int | None, typer.Option("--as-of", help="include leaves 0..SEQ only")] = None,
    jurisdiction: Annotated[str | None, typer.Option(help="jurisdiction code (includes the codes below it)")] = None,
    fund: Annotated[str | None, typer.Option(help="fund id")] = None,
    institution: Annotated[str | None, typer.Option(help="claimant actor id")] = None,
    laborer: Annotated[str | None, typer.Option(help="labourer id")] = None,
    period: Annotated[str | None, typer.Option(help="business month YYYY-MM")] = None,
    claim: Annotated[str | None, typer.Option(help="claim id")] = None,
) -> None:
    """Double-entry balances (科目余额) with the whole ledger's trial balance; any point of the log."""
    from projections.db import engine_for
    from projections.readmodels import balances as B
    from projections.readmodels.queries import log_clock

    if period is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        fail(say("bad_period"), 2)
    with session() as s:
        engine = engine_for(s.ledger)
        project(s.ledger, strict=True)
        result = B.balances(engine, as_of=as_of, jurisdiction=jurisdiction, fund=fund, institution=institution,
                            laborer=laborer, period=period, claim=claim, jurisdictions=s.ledger.jurisdictions)  # fmt: skip
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
            return
        with engine.connect() as conn:
            clock = log_clock(conn, result["as_of"]) if result["as_of"] is not None else None
        typer.echo(render(result, clock))


def render(result: dict[str, Any], clock: str | None) -> str:
    """The human table: accounts, their totals, the money flow, and the trial balance."""
    if result["as_of"] is None:
        return say("empty")
    lines = [say("title", seq=result["as_of"], clock=clock or "—")]
    if result["filters"]:
        lines.append(say("filters", f=", ".join(f"{k}={v}" for k, v in result["filters"].items())))
    head = [say("account"), say("kind"), say("debit"), say("credit"), say("balance")]
    rows = [
        [a["account"], say(a["account"].split(":", 1)[0], KINDS) if a["account"].split(":", 1)[0] in KINDS else "",
         yuan(a["debit_fen"]), yuan(a["credit_fen"]), yuan(a["balance_fen"])]
        for a in result["accounts"]
    ]  # fmt: skip
    totals = result["totals"]
    foot = [say("total"), "", yuan(totals["debit_fen"]), yuan(totals["credit_fen"]), yuan(totals["balance_fen"])]
    sizes = [max(width(r[i]) for r in [head, *rows, foot]) for i in range(5)]

    def line(cells: list[str]) -> str:
        return "  ".join(pad(c, sizes[i], right=i >= 2) for i, c in enumerate(cells)).rstrip()

    lines += [line(head), "  ".join("-" * n for n in sizes)]
    lines += [line(r) for r in rows] if rows else [say("no_accounts")]
    lines += ["  ".join("-" * n for n in sizes), line(foot), ""]
    summary = result["summary"]
    for group in (("allocated_fen", "adjusted_fen", "fund_balance_fen"), tuple(list(SUMMARY)[3:])):
        lines.append("  ".join(f"{say(k, SUMMARY)} {yuan(summary[k])}" for k in group))
    trial = result["trial_balance"]
    ok = say("balanced") if trial["total_fen"] == 0 else say("unbalanced")
    lines.append(say("trial", d=yuan(trial["debit_fen"]), c=yuan(trial["credit_fen"]), t=yuan(trial["total_fen"]), ok=ok))
    return "\n".join(lines)
