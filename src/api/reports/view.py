"""The monthly report as sections of tables and charts in one language: what every format shows.

:func:`build` turns the report JSON of DESIGN §11 and the months so far into a :class:`Report`;
the HTML, XLSX and Markdown renderers only lay it out, so the three formats never disagree on a
figure, a label or an order. Charts are views of a table (which columns, drawn how), so the SVG
of the HTML and the native chart of the workbook plot the same cells.

Nothing here reads a clock: the same document gives the same report.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from api.i18n import Lang, Table, say
from api.reports import labels
from ledger.domain.money import yuan_amount
from ledger.domain.policy import GUYUAN
from ledger.domain.schema import SHANGHAI

V = TypeVar("V")


@dataclass(frozen=True)
class Money:
    """An amount in integer fen, shown as yuan."""

    fen: int


Cell = str | int | Money | Decimal | None


@dataclass(frozen=True)
class Grid:
    """A table: a caption, one header row, body rows and an optional totals row."""

    key: str
    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    total: tuple[Cell, ...] | None = None


@dataclass(frozen=True)
class Chart:
    """A chart of a table's columns against its first: ``values`` drawn as a line, as columns
    (``bar``) or as horizontal bars (``hbar``, for long category names); ``guides`` (line charts)
    as dashed reference lines, such as a target."""

    title: str
    grid: str
    kind: Literal["line", "bar", "hbar"]
    values: tuple[int, ...]
    guides: tuple[int, ...] = ()
    tones: tuple[str, ...] = ()  # per row, what its colour should say (a severity), where it says one


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    sheet: str
    lead: tuple[str, ...]
    grids: tuple[Grid, ...]
    charts: tuple[Chart, ...] = ()

    def grid(self, key: str) -> Grid:
        return next(g for g in self.grids if g.key == key)


@dataclass(frozen=True)
class Report:
    lang: Lang
    title: str
    issue: str
    issuer: str
    period: str
    as_of: tuple[str, ...]
    note: str
    sections: tuple[Section, ...]


def build(doc: Mapping[str, Any], series: Sequence[Mapping[str, Any]], lang: Lang) -> Report:
    """The report of ``doc`` (DESIGN §11 JSON) in ``lang``; ``series`` are the months so far."""
    t = _Words(lang, doc["month"])
    code = doc["jurisdiction"]
    place = GUYUAN.names.get(code, code) if lang == "zh" else labels.PLACE_EN.get(code, code)
    checkpoint = doc["checkpoint"]
    as_of = [t("as_of", size=f"{checkpoint['size']:,}", as_of=doc["as_of"])]
    if checkpoint.get("signed_at"):
        as_of.append(t("signed", date=shanghai_time(checkpoint["signed_at"])))
    as_of.append(t("root", root=checkpoint["root"]))
    sections = [_progress(doc, series, t), _funds(doc, t), _inspections(doc, t), _problems(doc, t),
                _institutions(doc, t)]  # fmt: skip
    if doc.get("late"):
        sections.append(_late(doc["late"], t))
    return Report(
        lang=lang,
        title=t("title", place=place),
        issue=t("issue", year=t.year, month=t.month),
        issuer=t("issuer", place=place),
        period=t("period", year=t.year, month=t.month, last=t.last_day, month_name=t.month_name),
        as_of=tuple(as_of),
        note=t("reproduce"),
        sections=tuple(sections),
    )


class _Words:
    """``say`` bound to one language and the report month."""

    def __init__(self, lang: Lang, month: str) -> None:
        self.lang = lang
        year, number = month.split("-")
        self.year, self.month = int(year), int(number)
        self.last_day = calendar.monthrange(self.year, self.month)[1]
        self.month_name = labels.MONTH_EN[self.month - 1]

    def __call__(self, key: str, **kw: object) -> str:
        return say(labels.TEXT, key, self.lang, **kw)

    def of(self, table: Table, key: str) -> str:
        return say(table, key, self.lang)


def _section(n: int, t: _Words, lead: Sequence[str], grids: Sequence[Grid], charts: Sequence[Chart] = ()) -> Section:
    """Section ``n``; a chart of a table with no rows (no funds yet, no month so far) is left out."""
    drawn = tuple(c for c in charts if next(g for g in grids if g.key == c.grid).rows)
    return Section(f"s{n}", t(f"s{n}"), t(f"sheet{n}"), tuple(lead), tuple(grids), drawn)


def shanghai_time(rfc3339: str) -> str:
    """A UTC timestamp of the log as the business sees it: ``YYYY-MM-DD HH:MM`` in Asia/Shanghai."""
    moment = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def text(cell: Cell) -> str:
    """A cell as a reader sees it: counts with thousands separators, money as yuan with two
    decimals (``1,500.00``), ratios as written, nothing as nothing."""
    if cell is None:
        return "—"
    if isinstance(cell, Money):
        return yuan_amount(cell.fen)
    if isinstance(cell, int):
        return f"{cell:,}"
    return str(cell)


def is_number(cell: Cell) -> bool:
    return isinstance(cell, (int, Money, Decimal))


def _count(n: int) -> str:
    return f"{n:,}"


def percent(part: int, whole: int) -> str:
    """``part / whole`` as a percentage with two decimals, rounded half up, in integer arithmetic."""
    if whole <= 0:
        return "—"
    hundredths = (part * 10000 * 2 + whole) // (2 * whole)
    return f"{hundredths // 100}.{hundredths % 100:02d}"


# 一、总体进展
def _progress(doc: Mapping[str, Any], series: Sequence[Mapping[str, Any]], t: _Words) -> Section:
    activity, cumulative = doc["activity"], doc["cumulative"]
    target = cumulative.get("target")
    times = cumulative["trainee_times"]
    certificates = activity["certificates"]
    lead = [
        t("lead_progress_target", month=t.month, month_name=t.month_name, times=_count(times),
          tmin=_count(target["min"]), tmax=_count(target["max"]), pct=percent(times, target["min"]))
        if target else t("lead_progress", month=t.month, month_name=t.month_name, times=_count(times)),
        t("lead_month", approved=activity["classes_approved"], enrolments=_count(activity["enrolments"]),
          completers=_count(activity["completers"]), certs=_count(sum(certificates.values()))),
        t("lead_households", households=_count(cumulative["households_registered"]),
          with_cert=_count(cumulative["households_with_certificate"]),
          pct=percent(cumulative["households_with_certificate"], cumulative["households_registered"])),
    ]  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    for key in ("classes_requested", "classes_approved", "classes_completed", "enrolments", "withdrawals", "completers"):
        rows.append((t(key), activity[key]))
    rows += [(f"{t('certificates')}：{t.of(labels.CERTIFICATE, kind)}", n) for kind, n in _ordered(certificates, labels.CERTIFICATE)]
    for key in ("appraisals_failed", "employments_started", "employment_proofs"):
        rows.append((t(key), activity[key]))
    activity_grid = Grid("activity", t("activity"), (t("item"), t("count")), tuple(rows))
    target_text = f"{_count(target['min'])}—{_count(target['max'])}" if target else t("not_set")
    cumulative_grid = Grid("cumulative", t("cumulative"), (t("item"), t("count")), (
        (t("cum_trainee_times"), times),
        (t("cum_target"), target_text),
        (t("households_registered"), cumulative["households_registered"]),
        (t("households_with_certificate"), cumulative["households_with_certificate"]),
    ))  # fmt: skip
    header: tuple[str, ...] = (t("month"), t("trainee_times"), t("completers_month"))
    guides: tuple[int, ...] = ()
    if target:
        header += (t("target_min"), t("target_max"))
        guides = (3, 4)
    series_rows = tuple(
        (m["month"], m["trainee_times"], m["completers"], *((target["min"], target["max"]) if target else ()))
        for m in series
    )
    series_grid = Grid("series", t("series"), header, series_rows)
    chart = Chart(t("chart_series"), "series", "line", (1,), guides)
    return _section(1, t, lead, (activity_grid, cumulative_grid, series_grid), (chart,))


# 二、资金拨付
FUND_AMOUNTS = ("allocated_fen", "adjusted_fen", "paid_fen", "returned_fen", "recovered_fen", "balance_fen")
MONEY_MONTH = ("claimed_fen", "approved_fen", "paid_fen", "returned_fen", "recovered_fen")


def _funds(doc: Mapping[str, Any], t: _Words) -> Section:
    funds, money = doc["funds"], doc["money_month"]
    fund_rows = tuple(
        (f["fund_id"], t.of(labels.SOURCE, f["source"]), t.of(labels.PURPOSE, f["purpose"]), str(f["year"]),
         *(Money(f[k]) for k in FUND_AMOUNTS))
        for f in funds
    )  # fmt: skip
    fund_total: tuple[Cell, ...] = (t("total"), "", "", "", *(Money(sum(f[k] for f in funds)) for k in FUND_AMOUNTS))
    funds_grid = Grid("funds", t("funds"), (t("fund_id"), t("source"), t("purpose"), t("year"), *(t(k) for k in FUND_AMOUNTS)),
                      fund_rows, fund_total if funds else None)  # fmt: skip
    purposes: dict[str, tuple[int, int, int]] = {}
    for f in funds:
        available, net_paid, balance = purposes.get(f["purpose"], (0, 0, 0))
        purposes[f["purpose"]] = (available + f["allocated_fen"] + f["adjusted_fen"],
                                  net_paid + f["paid_fen"] - f["returned_fen"], balance + f["balance_fen"])  # fmt: skip
    purpose_rows = tuple(
        (t.of(labels.PURPOSE, p), Money(a), Money(n), Money(b)) for p, (a, n, b) in _ordered(purposes, labels.PURPOSE)
    )
    sums = [sum(v[i] for v in purposes.values()) for i in range(3)]
    purpose_grid = Grid("funds_by_purpose", t("funds_by_purpose"),
                        (t("purpose"), t("available_fen"), t("net_paid_fen"), t("balance_fen")), purpose_rows,
                        (t("total"), *(Money(s) for s in sums)) if purposes else None)  # fmt: skip
    money_grid = Grid("money_month", t("money_month"), (t("item"), t("amount")),
                      tuple((t(k), Money(money[k])) for k in MONEY_MONTH))  # fmt: skip
    lead = [t("lead_funds", allocated=yuan_amount(sums[0]), paid=yuan_amount(sums[1]), pct=percent(sums[1], sums[0]),
              approved=yuan_amount(money["approved_fen"]), paid_month=yuan_amount(money["paid_fen"]))]  # fmt: skip
    chart = Chart(t("chart_funds"), "funds_by_purpose", "bar", (1, 2))
    return _section(2, t, lead, (money_grid, funds_grid, purpose_grid), (chart,))


# 三、督导检查
def _inspections(doc: Mapping[str, Any], t: _Words) -> Section:
    inspections = doc["inspections"]
    rows = tuple(
        (t.of(labels.METHOD, m), v["pass"], v["fail"], v["pass"] + v["fail"]) for m, v in _ordered(inspections, labels.METHOD)
    )
    passed, failed = sum(v["pass"] for v in inspections.values()), sum(v["fail"] for v in inspections.values())
    grid = Grid("inspections", t("inspections"), (t("method"), t("pass"), t("fail"), t("inspection_total")), rows,
                (t("total"), passed, failed, passed + failed))  # fmt: skip
    return _section(3, t, [t("lead_inspections", n=passed + failed, fail=failed)], (grid,))


# 四、发现的问题
def _problems(doc: Mapping[str, Any], t: _Words) -> Section:
    a = doc["anomalies"]
    by_severity, by_family = a["by_severity"], a["by_family"]
    lead = [t("lead_anomalies", raised=a["raised"], withdrawn=a["withdrawn"], disposed=a["disposed"],
              open=a["open_at_month_end"], critical=by_severity.get("critical", 0)), t("principle")]  # fmt: skip
    flow = Grid("anomaly_flow", t("anomaly_flow"), (t("item"), t("count")),
                tuple((t(k), a[k]) for k in ("raised", "withdrawn", "disposed", "open_at_month_end")))  # fmt: skip
    family = Grid("by_family", t("by_family"), (t("family"), t("count")),
                  tuple((t("named", name=t.of(labels.FAMILY, k), code=k), n)
                        for k, n in _ordered(by_family, labels.FAMILY)),
                  (t("total"), sum(by_family.values())))  # fmt: skip
    severity = Grid("by_severity", t("by_severity"), (t("severity"), t("count")),
                    tuple((t.of(labels.SEVERITY, k), n) for k, n in _ordered(by_severity, labels.SEVERITY)),
                    (t("total"), sum(by_severity.values())))  # fmt: skip
    responsible = sorted(doc["institutions"], key=lambda i: (-i["open_anomalies"], i["actor_id"]))
    organisation = Grid("by_organisation", t("by_organisation"), (t("organisation"), t("open_anomalies"), t("per_100")),
                        tuple((_name(i, t), i["open_anomalies"], _ratio(i["anomalies_per_100_trainees"]))
                              for i in responsible if i["open_anomalies"]))  # fmt: skip
    severities = tuple(k for k, _ in _ordered(by_severity, labels.SEVERITY))
    charts = (Chart(t("chart_family"), "by_family", "hbar", (1,)),
              Chart(t("chart_severity"), "by_severity", "hbar", (1,), tones=severities))  # fmt: skip
    return _section(4, t, lead, (flow, family, severity, organisation), charts)


# 五、培训机构情况
INSTITUTION_COUNTS = ("trainees", "completers", "certified", "employed", "open_anomalies")


def _institutions(doc: Mapping[str, Any], t: _Words) -> Section:
    institutions = doc["institutions"]
    rows = tuple(
        (_name(i, t), *(i[k] for k in INSTITUTION_COUNTS), _ratio(i["anomalies_per_100_trainees"])) for i in institutions
    )
    sums = {k: sum(i[k] for i in institutions) for k in INSTITUTION_COUNTS}
    per_100 = Decimal(percent(sums["open_anomalies"], sums["trainees"])) if sums["trainees"] else None
    header = (t("institution"), t("trainees"), t("inst_completers"), t("certified"), t("employed"), t("open_anomalies"), t("per_100"))
    grid = Grid("institutions", t("institutions"), header, rows,
                (t("total"), *sums.values(), per_100) if institutions else None)  # fmt: skip
    return _section(5, t, [t("lead_institutions", n=len(institutions))], (grid,))


# 六、数据补报情况 (only with --compare-with)
def _late(late: Mapping[str, Any], t: _Words) -> Section:
    rows = tuple(
        (_path(c["path"], t), _plain(c["as_issued"], c["path"]), _plain(c["as_known_now"], c["path"])) for c in late["changes"]
    )
    grid = Grid("late", t("late"), (t("path"), t("as_issued"), t("as_known_now")), rows)
    lead = [t("lead_late", size=f"{late['compare_with']:,}", n=len(late["seqs"])),
            t("late_seqs", seqs=", ".join(str(s) for s in late["seqs"]) or t("none"))]  # fmt: skip
    return _section(6, t, lead, (grid,))


def _path(pointer: str, t: _Words) -> str:
    """A JSON pointer of the report (``/institutions/INST-1/trainees``) in the reader's words,
    each step the label of its field where there is one (``培训机构 · INST-1 · 培训人数``)."""
    steps = [step.replace("~1", "/").replace("~0", "~") for step in pointer.split("/")[1:]]
    return " · ".join(t(labels.PATH[step]) if step in labels.PATH else _code(step, t) for step in steps)


def _code(step: str, t: _Words) -> str:
    for table in (labels.CERTIFICATE, labels.METHOD, labels.FAMILY, labels.SEVERITY, labels.PURPOSE):
        if step in table:
            return t.of(table, step)
    return step


def _plain(value: Any, pointer: str) -> Cell:
    """A changed figure as a cell: amounts (``…_fen``) as money, numbers and text as they are,
    anything else (an object such as a target) as its compact JSON."""
    if isinstance(value, bool) or not isinstance(value, (int, str, type(None))):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    if isinstance(value, int) and pointer.endswith("_fen"):
        return Money(value)
    return value


def _ratio(value: str | None) -> Decimal | None:
    """A two-decimal ratio of the JSON (a string: the report holds no floats), null when undefined."""
    return None if value is None else Decimal(value)


def _name(institution: Mapping[str, Any], t: _Words) -> str:
    name = institution.get("name")
    return t("named", name=name, code=institution["actor_id"]) if name else str(institution["actor_id"])


def _ordered(values: Mapping[str, V], known: Table) -> list[tuple[str, V]]:
    """``values`` in the order of the label table, then any code it does not name, sorted."""
    return [(k, values[k]) for k in known if k in values] + [(k, values[k]) for k in sorted(values) if k not in known]
