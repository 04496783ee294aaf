"""The monthly report as one self-contained HTML file: a 情况通报 an HR bureau prints and files.

Inline CSS (A4, 宋体 and 黑体 with the fallbacks of every desktop), inline SVG charts, no script,
no link to anything outside the file. The Jinja2 template escapes every value (autoescape on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from api.i18n import Lang
from api.reports import charts, view

_ENV = Environment(
    loader=PackageLoader("api.reports", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters["cell"] = view.text
_ENV.tests["number"] = view.is_number


def render_html(doc: Mapping[str, Any], series: Sequence[Mapping[str, Any]], *, lang: Lang) -> bytes:
    """The report of ``doc`` (DESIGN §11 JSON) as UTF-8 HTML; ``series`` feeds the progress chart."""
    report = view.build(doc, series, lang)
    # Two charts of a section stand side by side, each drawn half as wide so its text keeps its size.
    figures = {
        (section.key, chart.title): Markup(charts.svg(chart, section.grid(chart.grid), 640 // len(section.charts)))
        for section in report.sections
        for chart in section.charts
    }
    page = _ENV.get_template("monthly.html.j2").render(
        report=report, figures=figures, note=doc["checkpoint"]["note"], html_lang="zh-CN" if lang == "zh" else "en"
    )
    return page.encode("utf-8")
