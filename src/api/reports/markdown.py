"""The monthly report as Markdown: the same sections and tables as the HTML, for a README, a
ticket or a diff between two months."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from api.i18n import Lang
from api.reports import view


def render_markdown(doc: Mapping[str, Any], series: Sequence[Mapping[str, Any]], *, lang: Lang) -> bytes:
    """The report of ``doc`` (DESIGN §11 JSON) as UTF-8 Markdown (GitHub tables)."""
    report = view.build(doc, series, lang)
    lines = [f"# {_escape(report.title)}{_escape(report.issue)}", "", f"**{_escape(report.issuer)}**", "",
             _escape(report.period), ""]  # fmt: skip
    lines += [f"- {_escape(line)}" for line in report.as_of]
    for section in report.sections:
        lines += ["", f"## {_escape(section.title)}", ""] if lines[-1] else [f"## {_escape(section.title)}", ""]
        for sentence in section.lead:
            lines += [_escape(sentence), ""]
        for grid in section.grids:
            lines += [f"**{_escape(grid.caption)}**", "", *_table(grid), ""]
    lines += ["---", "", _escape(report.note), "", "```", doc["checkpoint"]["note"].rstrip("\n"), "```"]
    return ("\n".join(lines).rstrip("\n") + "\n").encode("utf-8")


def _table(grid: view.Grid) -> list[str]:
    every = (*grid.rows, *((grid.total,) if grid.total else ()))
    numeric = [any(view.is_number(row[i]) for row in every) for i in range(len(grid.header))]
    out = [_row(_cells(grid.header)), "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    out += [_row(_cells(view.text(c) for c in row)) for row in grid.rows]
    if grid.total:
        out.append(_row(f"**{c}**" if c else "" for c in _cells(view.text(c) for c in grid.total)))
    return out


def _cells(texts: Iterable[str]) -> list[str]:
    return [_escape(t).replace("|", "\\|") for t in texts]


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _escape(text: str) -> str:
    """Text that Markdown shows as written: no stray emphasis, link or HTML from a name."""
    for special in ("\\", "`", "*", "_", "[", "]", "<", ">", "#"):
        text = text.replace(special, "\\" + special)
    return text.replace("\n", " ")
