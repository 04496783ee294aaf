"""``rebuild`` and ``balances`` (DESIGN §9): the read side's verbs, and how every verb reports
on the projections.

``balances`` (like ``anomalies``) first catches the projections up with the log, so it never
answers from stale rows; ``rebuild`` replays the whole log (progress on stderr) and must leave
every answer byte-identical. A projection inconsistent with its position (rewound, forwarded, a
table altered) stops every catch-up with one line naming ``rebuild`` (exit 2: the report could
not run): :func:`consistent`. ``verify --projections`` (in :mod:`api.cli.log`) calls
:func:`check_projections` and :func:`say_projections`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli import table
from api.cli.root import JurisdictionFilter, Options, echo_json, fail, first_line, options, session
from ledger.domain.money import yuan_amount

if TYPE_CHECKING:
    from ledger.service import Session
    from projections.readmodels.balances import Balances
    from projections.runner.catchup import ProjectionInconsistent
    from projections.runner.integrity import Report

TEXT = {
    "rebuilding": ("重建投影", "rebuilding projections"),
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
PROBLEMS = {
    "ahead": ("投影位置 {position} 超出日志长度（{size} 条记录）", "position {position} is beyond the log ({size} leaves)"),
    "behind": ("投影表已含 seq {seq}，不早于其位置 {position}（位置被回退？）",
               "the tables hold seq {seq}, at or beyond their position {position} (a rewound position?)"),  # fmt: skip
    "short": ("投影位置 {position} 超前于其数据（pj_events 止于 seq {seq}）",
              "position {position} is ahead of its rows (pj_events ends at seq {seq})"),  # fmt: skip
    "rows": ("{name} 已有追赶将写入的行（位置被回退？）", "{name} already holds a row the catch-up would write (a rewound position?)"),
    "shape": ("表 {name} 缺失或结构被改动", "table {name} is missing or altered"),
}
# projections.runner.integrity.Difference.kind → what differs
DIFFERENCES = {
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
KINDS = {
    "fund": ("专项资金", "fund"),
    "source": ("资金来源", "source"),
    "expense": ("补贴支出", "expense"),
    "payable": ("应付补贴", "payable"),
    "recovered": ("追回资金", "recovered"),
}
SUMMARY = {
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


def register(app: typer.Typer) -> None:
    app.command()(rebuild)
    app.command()(balances)


# --- how every verb reports on the projections ---------------------------------------------------------------
def _problem(o: Options, exc: ProjectionInconsistent) -> str:
    """A :class:`~projections.runner.catchup.ProjectionInconsistent` in the user's language."""
    facts = {("name" if k == "table" else k): v for k, v in exc.facts.items()}  # PROBLEMS say {name}
    return o.say(PROBLEMS, exc.problem, **facts)


@contextmanager
def consistent(o: Options) -> Iterator[None]:
    """Around a catch-up a query needs: projections that contradict their position are one line
    naming ``rebuild`` (exit 2), not a report from mixed rows."""
    from projections.runner.catchup import ProjectionInconsistent

    try:
        yield
    except ProjectionInconsistent as exc:
        fail(o, o.say(TEXT, "inconsistent", detail=_problem(o, exc)), 2)


def warn_lagging(o: Options, lagging: Exception | None) -> None:
    """After a write whose catch-up failed: one warning line naming the fix (the write stands)."""
    from projections.runner.catchup import ProjectionInconsistent

    if lagging is None:
        return
    error = _problem(o, lagging) if isinstance(lagging, ProjectionInconsistent) else first_line(lagging)
    typer.echo(o.say(TEXT, "not_projected", error=error), err=True)


def check_projections(o: Options, s: Session) -> Report:
    """``verify --projections``: replay the log up to the projections' position and compare every
    projection table with it (:mod:`projections.runner.integrity`): the report, consistent or
    naming the first difference. Nothing is written."""
    from api.progress import progress_bar
    from projections.db import engine_for
    from projections.runner.catchup import position
    from projections.runner.integrity import ProjectionMismatch, verify_projections

    with progress_bar(o.say(TEXT, "checking"), position(engine_for(s.ledger))) as advance:
        try:
            return verify_projections(s.ledger, progress=advance)
        except ProjectionMismatch as exc:
            return exc.report


def say_projections(o: Options, checked: Report) -> None:
    """``verify --projections``' one line: on stdout when consistent; on stderr, exit 1, when not."""
    first = checked.first
    if first is None:
        if checked.tables == 0:
            typer.echo(o.say(TEXT, "not_projected_yet"))
        else:
            typer.echo(o.say(TEXT, "consistent", tables=checked.tables, rows=checked.rows,
                             last=checked.position - 1, s=round(checked.elapsed, 3)))  # fmt: skip
        return
    row = ", ".join(f"{k}={v}" for k, v in first.key.items()) or "—"
    stored, replayed = (
        _short(next(iter(side.values()))) if len(side) == 1 else ", ".join(f"{k}={_short(v)}" for k, v in side.items())
        for side in (first.stored, first.replayed)
    )  # fmt: skip
    what = o.say(DIFFERENCES, first.kind, columns=", ".join(first.columns), stored=stored, replayed=replayed)
    tables = ", ".join(f"{t} {n}" for t, n in checked.by_table.items())
    more = o.say(TEXT, "more", n=checked.differences, tables=tables) if checked.differences > 1 else ""
    at = o.say(TEXT, "at", seq=first.seq) if first.seq is not None else ""
    typer.echo(o.say(TEXT, "mismatch", name=first.table, row=row, at=at, what=what, more=more), err=True)
    raise typer.Exit(1)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 40 else text[:39] + "…"


# --- the verbs ----------------------------------------------------------------------------------------------------
def rebuild(
    ctx: typer.Context,
    anomalies: Annotated[bool, typer.Option(
        "--anomalies", help="recompute only the anomaly flags (after a rule or threshold change); "
        "the other read models stay as they are")] = False,  # fmt: skip
) -> None:
    """Drop and rebuild every projection from seq 0 (重建投影); progress on stderr."""
    from api import services
    from api.progress import progress_bar
    from projections.db import engine_for
    from projections.runner.catchup import position, rebuild_only
    from projections.runner.catchup import rebuild as replay

    o = options(ctx)
    with session(o) as s:
        if anomalies:
            from projections.anomalies import TABLES

            started = time.monotonic()
            with consistent(o), progress_bar(o.say(TEXT, "rebuilding_anomalies"), position(engine_for(s.ledger))) as advance:
                total = rebuild_only(s.ledger, TABLES, progress=advance)  # up to where the other tables are; only a full rebuild repairs those
            took = max(time.monotonic() - started, 1e-6)
            typer.echo(o.say(TEXT, "rebuilt_anomalies", n=total, s=took, rate=total / took), err=True)
            with consistent(o):  # then whatever the log holds beyond, as every verb does
                services.catch_up(s.ledger, o.meter())
            return
        total = s.ledger.size()
        started = time.monotonic()
        with progress_bar(o.say(TEXT, "rebuilding"), total) as advance:
            replay(s.ledger, progress=advance)
        took = max(time.monotonic() - started, 1e-6)
        typer.echo(o.say(TEXT, "rebuilt", n=total, s=took, rate=total / took), err=True)


def balances(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
    as_of: Annotated[int | None, typer.Option("--as-of", help="include leaves 0..SEQ only")] = None,
    jurisdiction: JurisdictionFilter = None,
    fund: Annotated[str | None, typer.Option(help="fund id")] = None,
    institution: Annotated[str | None, typer.Option(help="claimant actor id")] = None,
    laborer: Annotated[str | None, typer.Option(help="labourer id")] = None,
    period: Annotated[str | None, typer.Option(help="business month YYYY-MM")] = None,
    claim: Annotated[str | None, typer.Option(help="claim id")] = None,
    account: Annotated[str | None, typer.Option(help="an account (fund:F-…) or every account under a path (expense:training)")] = None,
) -> None:
    """Double-entry balances (科目余额) with the whole ledger's trial balance; any point of the log."""
    o = options(ctx)
    if period is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        fail(o, o.say(TEXT, "bad_period"), 2)
    if o.server is not None:
        from api.cli import remote

        found = remote.balances(o, as_of=as_of, jurisdiction=jurisdiction, fund=fund, institution=institution,
                                laborer=laborer, period=period, claim=claim, account=account)  # fmt: skip
        if as_json:
            echo_json(found)
            return
        typer.echo(render(o, found, None))
        return
    from api import services

    with session(o) as s:
        with consistent(o):
            result, engine = services.balances(s, o.meter(), as_of=as_of, jurisdiction=jurisdiction, fund=fund,
                                               institution=institution, laborer=laborer, period=period, claim=claim,
                                               account=account)  # fmt: skip
        if as_json:
            echo_json(result)
            return
        clock = services.position_of(engine, result["as_of"]).clock if result["as_of"] is not None else None
        typer.echo(render(o, result, clock))


def render(o: Options, result: Balances, clock: str | None) -> str:
    """The human table: accounts, their totals, the money flow, and the trial balance."""
    if result["as_of"] is None:
        return o.say(TEXT, "empty")
    lines = [o.say(TEXT, "title", seq=result["as_of"], clock=clock or "—")]
    if result["filters"]:
        lines.append(o.say(TEXT, "filters", f=", ".join(f"{k}={v}" for k, v in result["filters"].items())))
    head = [o.say(TEXT, k) for k in ("account", "kind", "debit", "credit", "balance")]
    rows = [
        [a["account"], o.say(KINDS, kind) if (kind := a["account"].split(":", 1)[0]) in KINDS else "",
         yuan_amount(a["debit_fen"]), yuan_amount(a["credit_fen"]), yuan_amount(a["balance_fen"])]
        for a in result["accounts"]
    ]  # fmt: skip
    totals = result["totals"]
    foot = [o.say(TEXT, "total"), "", yuan_amount(totals["debit_fen"]), yuan_amount(totals["credit_fen"]),
            yuan_amount(totals["balance_fen"])]  # fmt: skip
    sizes = table.sizes([head, *rows, foot])
    lines += [table.line(head, sizes, 2), table.rule(sizes)]
    lines += [table.line(r, sizes, 2) for r in rows] if rows else [o.say(TEXT, "no_accounts")]
    lines += [table.rule(sizes), table.line(foot, sizes, 2), ""]
    summary = result["summary"]
    for group in (tuple(SUMMARY)[:3], tuple(SUMMARY)[3:]):
        lines.append("  ".join(f"{o.say(SUMMARY, k)} {yuan_amount(summary[k])}" for k in group))
    trial = result["trial_balance"]
    ok = o.say(TEXT, "balanced" if trial["total_fen"] == 0 else "unbalanced")
    lines.append(o.say(TEXT, "trial", d=yuan_amount(trial["debit_fen"]), c=yuan_amount(trial["credit_fen"]),
                       t=yuan_amount(trial["total_fen"]), ok=ok))  # fmt: skip
    return "\n".join(lines)
