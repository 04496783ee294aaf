"""The monthly accountability report (DESIGN §11) as HTML, XLSX and Markdown.

``projections.reports`` counts the figures into the report JSON; these functions only show it.
Each takes that JSON, the months so far for the progress chart (``[{"month", "trainee_times",
"completers"}, …]``) and a language, and returns bytes that depend on nothing else: the same
inputs give the same bytes on any machine, at any time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ledger.encoding.canonical import canonical

if TYPE_CHECKING:
    from api.i18n import Lang
    from api.reports.html import render_html
    from api.reports.markdown import render_markdown
    from api.reports.xlsx import render_xlsx

__all__ = ["FORMATS", "Format", "render", "render_html", "render_markdown", "render_xlsx"]

Format = Literal["html", "xlsx", "json", "md"]
FORMATS: tuple[Format, ...] = ("html", "xlsx", "json", "md")


def render(fmt: Format, doc: dict[str, Any], series: list[dict[str, Any]], lang: Lang) -> bytes:
    """The report's bytes in ``fmt``: JSON as JCS plus LF, the others by their renderer (the
    ``report monthly`` verb and ``GET /v1/reports/monthly`` alike)."""
    if fmt == "json":
        return canonical(doc) + b"\n"
    if fmt == "html":
        from api.reports.html import render_html

        return render_html(doc, series, lang=lang)
    if fmt == "xlsx":
        from api.reports.xlsx import render_xlsx

        return render_xlsx(doc, series, lang=lang)
    from api.reports.markdown import render_markdown

    return render_markdown(doc, series, lang=lang)


def __getattr__(name: str) -> Any:
    """Each renderer loaded when first named (PEP 562): the pages import :mod:`api.reports.view`
    and :mod:`api.reports.charts` at start-up, and must not load openpyxl and the report's
    jinja2 templates with them before anyone asks for a report."""
    if name == "render_html":
        from api.reports.html import render_html

        return render_html
    if name == "render_markdown":
        from api.reports.markdown import render_markdown

        return render_markdown
    if name == "render_xlsx":
        from api.reports.xlsx import render_xlsx

        return render_xlsx
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
