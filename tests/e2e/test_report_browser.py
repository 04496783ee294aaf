"""The monthly report's HTML in a real browser (Debian's headless chromium), at the width of A4.

A leader reads it on screen and prints it: at 794 CSS pixels (210 mm) nothing may stick out
sideways — not the widest table with city-sized amounts, not a chart — and it prints as A4 pages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from api.reports import render_html
from support.browser import chromium, png_size

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
A4_WIDTH, A4_HEIGHT = 794, 1123  # CSS pixels of 210 × 297 mm at 96 dpi

pytestmark = pytest.mark.browser


def sample() -> dict[str, Any]:
    return json.loads((FIXTURES / "monthly-sample.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def series() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "monthly-series-sample.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def city_sized(doc: dict[str, Any]) -> dict[str, Any]:
    """The sample with the city's jurisdiction and amounts in the billions of yuan, the widest cells."""
    doc["jurisdiction"] = "640400"
    for fund in doc["funds"]:
        for key in ("allocated_fen", "paid_fen", "balance_fen"):
            fund[key] *= 1000
        fund["adjusted_fen"] = -123_456_789_012
    return doc


@pytest.mark.parametrize(
    ("name", "doc", "lang"),
    [("county-zh", sample(), "zh"), ("county-en", sample(), "en"), ("city-zh", city_sized(sample()), "zh")],
)
def test_the_report_fits_a4_width_and_prints_as_a4(tmp_path: Path, name: str, doc: dict[str, Any], lang: str) -> None:
    page_file = tmp_path / f"{name}.html"
    page_file.write_bytes(render_html(doc, series(), lang=lang))  # type: ignore[arg-type]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": A4_WIDTH, "height": A4_HEIGHT})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_file.as_uri())
        width, height = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        # every table, chart and line of text ends inside the page
        sticking_out = page.evaluate(
            """() => [...document.querySelectorAll('table, svg, p, h1, h2, li, pre')]
                 .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
                 .map(e => e.tagName + '.' + (e.className.baseVal ?? e.className))"""
        )
        sections = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.textContent)")
        charts = page.evaluate("[...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().height)")
        shot = page.screenshot(full_page=True, path=str(tmp_path / f"{name}.png"))
        pdf = page.pdf(prefer_css_page_size=True)
    assert requests == [page_file.as_uri()]  # the file alone: no font, image or script fetched
    assert width <= A4_WIDTH and not sticking_out
    assert len(sections) == 6 and all(h > 100 for h in charts) and len(charts) == 4
    assert png_size(shot) == (A4_WIDTH, height) and height > 2 * A4_HEIGHT
    boxes = {tuple(float(v) for v in box.split()) for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf)}
    assert len(boxes) == 1 and all(abs(a - b) < 1 for a, b in zip(boxes.pop(), (0, 0, 595.28, 841.89), strict=True))
    assert int(re.findall(rb"/Count (\d+)", pdf)[-1]) >= 3  # A4 pages (595.28 × 841.89 pt)
