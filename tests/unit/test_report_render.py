"""The monthly report's HTML, XLSX and Markdown (DESIGN §11) from the sample document FIGURES emits.

What a reader and an auditor rely on: the same document gives the same bytes (the workbook too,
whatever the clock or the hash seed), the workbook holds real numbers with yuan formats, frozen
headers and native charts, names from the ledger are shown as text and never run as markup, and
the HTML fetches nothing.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from api.reports import render_html, render_markdown, render_xlsx
from api.reports.view import percent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
RENDERERS = {"html": render_html, "xlsx": render_xlsx, "md": render_markdown}
SECTIONS_ZH = ("一、总体进展", "二、资金拨付", "三、督导检查", "四、发现的问题", "五、培训机构情况")


def sample() -> dict[str, Any]:
    return json.loads((FIXTURES / "monthly-sample.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def series() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "monthly-series-sample.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def html_text(doc: dict[str, Any], lang: str = "zh") -> str:
    return render_html(doc, series(), lang=lang).decode("utf-8")  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_the_same_document_gives_the_same_bytes(fmt: str, lang: str) -> None:
    render = RENDERERS[fmt]
    first = render(sample(), series(), lang=lang)  # type: ignore[arg-type]
    assert first == render(sample(), series(), lang=lang)  # type: ignore[arg-type]
    assert len(first) > 1000


def test_another_process_with_another_hash_seed_makes_the_same_workbook() -> None:
    script = (
        "import json, sys; from api.reports import render_xlsx; "
        f"d = json.load(open({str(FIXTURES / 'monthly-sample.json')!r})); "
        f"s = json.load(open({str(FIXTURES / 'monthly-series-sample.json')!r})); "
        "sys.stdout.buffer.write(render_xlsx(d, s, lang='zh'))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, env=env).stdout
    assert other == render_xlsx(sample(), series(), lang="zh")


def test_the_workbook_carries_the_checkpoint_time_not_the_clock() -> None:
    data = render_xlsx(sample(), series(), lang="zh")  # signed_at 2026-12-02T06:30:00Z
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {entry.date_time for entry in archive.infolist()} == {(2026, 12, 2, 6, 30, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2026-12-02T06:30:00Z") == 2  # created and modified
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.properties.created == book.properties.modified
    assert str(book.properties.created) == "2026-12-02 06:30:00"


def test_the_workbook_has_a_sheet_per_section_with_numbers_formats_frozen_headers_and_charts() -> None:
    data = render_xlsx(sample(), series(), lang="zh")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["总体进展", "资金拨付", "督导检查", "发现的问题", "培训机构", "补报情况"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes is not None and sheet.freeze_panes.startswith("A")
    funds = book["资金拨付"]
    header = next(r for r in funds.iter_rows() if r[0].value == "资金编号")
    body = list(funds.iter_rows(min_row=header[0].row + 1, max_row=header[0].row + 3))
    assert [r[0].value for r in body] == ["F-2019-640422-TRAIN", "F-2019-640422-LIVING", "合计"]
    allocated = [r[4] for r in body]
    assert [c.value for c in allocated] == [3000000, 400000, 3400000]  # yuan, from fen
    assert all(isinstance(c.value, (int, float)) and c.number_format == "#,##0.00" for c in allocated)
    adjusted = body[0][5]
    assert adjusted.value == -50000 and adjusted.number_format == "#,##0.00"
    institutions = book["培训机构"]
    row = next(r for r in institutions.iter_rows() if r[0].value == "西吉县职业技术学校（INST-640422-01）")
    assert [c.value for c in row[1:6]] == [640, 598, 540, 212, 5] and row[1].number_format == "#,##0"
    assert row[6].value == pytest.approx(0.78) and row[6].number_format == "0.00"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        charts = sorted(n for n in archive.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        xml = [archive.read(n).decode() for n in charts]
    kinds = [re.findall(r'<(lineChart|barChart)>(?:<barDir val="(\w+)" />)?', chart) for chart in xml]
    # 一: trainee-times against the target; 二: funds by purpose; 四: by family, by severity
    assert kinds == [[("lineChart", "")], [("barChart", "col")], [("barChart", "bar")], [("barChart", "bar")]]
    assert xml[0].count("<ser>") == 3  # trainee-times and the target's two bounds
    assert "<cat><strRef><f>'总体进展'!$A$" in xml[0]


def test_amounts_keep_their_fen_in_the_workbook() -> None:
    doc = sample()
    doc["funds"][0]["returned_fen"] = 123457  # 1,234.57 yuan
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(doc, series(), lang="en")))
    funds = book["Funds"]
    header = next(r for r in funds.iter_rows() if r[0].value == "fund")
    returned = funds.cell(header[0].row + 1, 8)
    assert returned.value == pytest.approx(1234.57) and returned.number_format == "#,##0.00"


def test_the_html_is_a_titled_bulletin_with_the_five_sections_in_order() -> None:
    page = html_text(sample())
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"zh-CN\">")
    assert "西吉县贫困劳动力职业技能培训工作情况通报<span class=\"issue\">（2019年第6期）</span>" in page
    assert "西吉县人力资源和社会保障局" in page
    assert "日志检查点第 1,842 条（as_of = 1841）" in page
    assert "检查点签署时间：2026-12-02 14:30（北京时间）" in page  # 06:30 UTC in Asia/Shanghai
    assert "n4Q2mX0wq8yqk3m9i7bK1Wc0m0ZC2m3c1sI3E0nI0aA=" in page
    positions = [page.index(f"<h2>{title}</h2>") for title in (*SECTIONS_ZH, "六、数据补报情况")]
    assert positions == sorted(positions)
    assert page.count("<svg ") == 4
    assert 'fill="#d2691e"' in page  # the bar of high-severity flags in the colour of its severity
    assert "@page { size: A4;" in page and '"SimSun"' in page and '"SimHei"' in page


def test_tables_carry_totals() -> None:
    page = html_text(sample())
    funds = page[page.index('<table class="grid funds">') :]
    funds = funds[: funds.index("</table>")]
    total = re.findall(r"<td[^>]*>([^<]*)</td>", funds[funds.index("<tfoot>") :])
    assert total == ["合计", "", "", "", "3,400,000.00", "-50,000.00", "1,375,500.00", "2,400.00", "1,600.00", "1,976,900.00"]
    institutions = page[page.index('<table class="grid institutions">') :]
    institutions = institutions[: institutions.index("</table>")]
    total = re.findall(r"<td[^>]*>([^<]*)</td>", institutions[institutions.index("<tfoot>") :])
    assert total == ["合计", "1,246", "1,204", "1,020", "307", "9", "0.72"]  # 9 open per 1,246 trainees
    assert '<td class="nil">—</td>' in institutions  # an institution with no trainees has no rate


def test_text_from_the_ledger_is_escaped_not_run() -> None:
    doc = sample()
    doc["institutions"][0]["name"] = '<script>alert("x")</script> & <b>学校</b>'
    doc["funds"][0]["fund_id"] = "F-<img src=x onerror=alert(1)>"
    page = html_text(doc)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;学校&lt;/b&gt;" in page
    assert "F-&lt;img src=x onerror=alert(1)&gt;" in page
    markdown = render_markdown(doc, series(), lang="zh").decode()
    assert "<script>" not in markdown and "\\<script\\>" in markdown


def test_the_html_names_nothing_outside_itself() -> None:
    page = html_text(sample()).lower()
    for needle in ("http:", "https:", "//", "<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import"):
        assert needle not in page, needle


def test_english_on_request() -> None:
    page = html_text(sample(), "en")
    assert page.startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert "Vocational skills training of poor labourers in Xiji County: situation bulletin" in page
    for title in ("1. Overall progress", "2. Funds and payments", "3. Supervision and inspections",
                  "4. Problems found", "5. Training institutions"):  # fmt: skip
        assert f"<h2>{title}</h2>" in page
    assert "一、总体进展" not in page


def test_a_county_without_a_target_and_a_report_without_late_events() -> None:
    doc = sample()
    doc["cumulative"]["target"] = None
    doc["late"] = None
    page = html_text(doc)
    assert "累计培训1,204人次（未设定目标任务）" in page and "目标任务下限" not in page
    assert "六、数据补报情况" not in page
    book = openpyxl.load_workbook(io.BytesIO(render_xlsx(doc, series(), lang="zh")))
    assert "补报情况" not in book.sheetnames


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_a_month_with_nothing_yet_still_renders(fmt: str) -> None:
    """Before the programme's first event: no months so far, no funds, no flags, no institutions."""
    doc = sample()
    doc["funds"], doc["institutions"], doc["late"] = [], [], None
    doc["anomalies"].update(by_family={}, by_severity={})
    data = RENDERERS[fmt](doc, [], lang="zh")
    if fmt == "html":
        assert data.count(b"<svg ") == 0 and b'<td class="empty" colspan="10">' in data
    if fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert not [n for n in archive.namelist() if n.startswith("xl/charts/")]


def test_late_changes_are_named_in_the_readers_words() -> None:
    doc = sample()
    doc["late"]["changes"].append({"path": "/funds/F-2019-640422-TRAIN/paid_fen", "as_issued": 128430000, "as_known_now": 128520000})
    markdown = render_markdown(doc, series(), lang="zh").decode()
    assert "| 本月工作情况 · 报名（人次） | 58 | 60 |" in markdown
    assert "| 培训机构情况 · INST-640422-01 · 培训人数 | 640 | 642 |" in markdown
    assert "| 专项资金（累计，元） · F-2019-640422-TRAIN · 拨付 | 1,284,300.00 | 1,285,200.00 |" in markdown
    assert "迟到记录序号：1850, 1851" in markdown


def test_markdown_has_the_same_sections_and_tables() -> None:
    markdown = render_markdown(sample(), series(), lang="zh").decode()
    headings = re.findall(r"^## (.+)$", markdown, flags=re.M)
    assert headings == [*SECTIONS_ZH, "六、数据补报情况"]
    assert markdown.startswith("# 西吉县贫困劳动力职业技能培训工作情况通报（2019年第6期）\n")
    assert "| **合计** |  |  |  | **3,400,000.00** | **-50,000.00** |" in markdown
    assert "|---|---|---|---|---:|---:|---:|---:|---:|---:|" in markdown
    assert markdown.endswith("```\n")


def test_every_format_reads_only_the_document() -> None:
    """Nothing of the inputs is changed by rendering (a caller may render one document three times)."""
    doc, months = sample(), series()
    before = copy.deepcopy((doc, months))
    for render in RENDERERS.values():
        render(doc, months, lang="zh")
    assert (doc, months) == before


@pytest.mark.parametrize(("part", "whole", "text"), [(1204, 6000, "20.07"), (1, 3, "33.33"), (2, 3, "66.67"),
                                                     (1, 8, "12.50"), (0, 5, "0.00"), (5, 0, "—")])  # fmt: skip
def test_percentages_round_half_up_in_integers(part: int, whole: int, text: str) -> None:
    assert percent(part, whole) == text
