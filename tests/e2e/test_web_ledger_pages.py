"""The report, reconciliation and integrity pages in a real browser (DESIGN §10, §11, §6, §13;
issue 17), on one ``serve --demo`` and one chromium for the module, and an axe-core pass over every page.

Each page is compared with what the API or the CLI gives for the same input: the report's XLSX
download with ``GET /v1/reports/monthly`` (same month, jurisdiction, as_of), the reconciliation of
a GBK statement with ``reconcile --json`` and ``reconcile --xlsx``, the integrity page with
``GET /v1/checkpoint`` and ``GET /v1/events/{seq}``. axe-core (tests/fixtures/axe, a test asset the
app never serves) runs in each page: no serious or critical violation.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from openpyxl import load_workbook

from projections.reconciliation.result import CLEAR
from support.web import Site, console_errors, demo_sign_in, key_sign_in, new_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "fixtures" / "axe" / "axe.min.js"
STATEMENT = "fin-640422_2019-06.csv"  # GBK, with a duplicated bank line and another credit


@pytest.fixture(scope="module")
def msite(module_site: Site) -> Site:
    return module_site


@pytest.fixture
def tab(browser: Browser, msite: Site) -> Iterator[Page]:
    opened = new_page(browser, msite, accept_downloads=True)
    try:
        yield opened
    finally:
        opened.context.close()


def cli(site: Site, *args: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        [sys.executable, "-m", "api", *args], cwd=site.dir, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return done


# --- integrity --------------------------------------------------------------------------------------------
def test_integrity_shows_the_checkpoint_its_cosigner_and_a_proof_checked_in_the_browser(
    tab: Page, msite: Site, shot: Callable[..., Path]
) -> None:
    cli(msite, "--server", msite.url, "--as", "fin-640422", "checkpoint", "--cosign", "fin-640422")
    note = msite.api.get("/v1/checkpoint").text
    origin, size, root = note.split("\n")[:3]
    demo_sign_in(tab, "insp-640400", next_path="/integrity")
    assert tab.locator('#checkpoint [data-figure="size"]').inner_text() == size
    assert tab.locator('#checkpoint [data-figure="root"]').inner_text() == root
    assert tab.locator("#note").text_content() == note  # the same signed note, cosignature included
    assert "✓" in tab.locator('[data-figure="operator"]').inner_text()
    row = tab.locator('#cosigners tr[data-cosigner="fin-640422"]')
    assert "西吉县财政局" in row.inner_text() and "✓" in row.inner_text()
    witness = tab.locator('#witnesses tr[data-witness="fin-640422"]')
    assert witness.locator("[data-last]").get_attribute("data-last") == size
    assert witness.locator("[data-behind]").get_attribute("data-behind") == "0"
    never = tab.locator('#witnesses tr[data-witness="insp-640400"] [data-last]')
    assert never.get_attribute("data-last") == ""  # a registered witness that never cosigned
    shot(tab, "integrity", full_page=True)

    tab.fill("#seq", "1234")
    tab.click("#proof button[type=submit]")
    check = tab.locator("#browser-check[data-verified]")
    check.wait_for()
    assert check.get_attribute("data-verified") == "true"
    api = msite.api.get("/v1/events/1234", headers=msite.bearer("insp-640400")).json()
    assert tab.locator('[data-figure="leaf_hash"]').inner_text() == api["leaf_hash"]
    hashes = [h.inner_text() for h in tab.locator("ol.hashes code").all()]
    assert hashes == api["proof"]["inclusion_path"] and len(hashes) > 5
    assert tab.locator('[data-figure="tree_size"]').inner_text() == str(api["proof"]["tree_size"]) == size
    assert console_errors(tab) == []
    shot(tab, "proof", full_page=True)

    tab.goto("/integrity?seq=99999999")  # no such leaf: the 404 page, nothing else
    assert tab.locator("h1").inner_text() == "未找到"


# --- the monthly report -----------------------------------------------------------------------------------
def test_the_report_page_shows_the_report_and_downloads_the_api_s_xlsx(
    tab: Page, msite: Site, shot: Callable[..., Path]
) -> None:
    demo_sign_in(tab, "hr-640400", next_path="/report?month=2019-06")
    tab.select_option("#jurisdiction", "640422")
    tab.click("form.filters button[type=submit]")
    tab.wait_for_url(lambda url: "jurisdiction=640422" in url and "month=2019-06" in url)
    frame = tab.frame_locator("#report")
    assert "西吉县" in frame.locator("h1").inner_text()
    link = tab.locator('a[data-format="xlsx"]')
    href = link.get_attribute("href") or ""
    as_of = href.split("as_of=")[1].split("&")[0]
    with tab.expect_download() as event:
        link.click()
    saved = Path(event.value.path())
    api = msite.api.get("/v1/reports/monthly", headers=msite.bearer("hr-640400"),
                        params={"month": "2019-06", "jurisdiction": "640422", "as_of": as_of, "format": "xlsx"})  # fmt: skip
    assert api.status_code == 200
    assert saved.read_bytes() == api.content
    book = load_workbook(io.BytesIO(saved.read_bytes()))
    assert len(book.sheetnames) >= 2
    assert event.value.suggested_filename == "report-monthly-640422-2019-06.xlsx"
    assert console_errors(tab) == []
    shot(tab, "report")
    tab.locator("#report").scroll_into_view_if_needed()
    shot(tab, "report-frame")

    demo_sign_in(tab, "inst-640422-01", next_path="/report")  # an institution reads no jurisdiction's report
    assert tab.locator("h1").inner_text() == "超出权限范围"


# --- reconciliation -------------------------------------------------------------------------------------
def upload(tab: Page, statement: Path, wait: str = "#result") -> None:
    tab.fill("#period", "2019-06")
    tab.set_input_files("#statement", str(statement))
    tab.click("#upload-form button[type=submit]")
    tab.locator(wait).wait_for()


def record(tab: Page, site: Site, key_of: str = "fin-640422") -> Locator:
    """The record button pressed with ``key_of``'s key file: the status line once it has an outcome."""
    tab.evaluate("document.getElementById('record-status').removeAttribute('data-outcome')")
    tab.set_input_files("#record-key", str(site.key_file(key_of)))
    tab.click("#record-button")
    status = tab.locator("#record-status[data-outcome]")
    status.wait_for()
    return status


def recorded(site: Site, seq: str | None) -> str:
    """The reconciliation id that the ``ReconciliationRecorded`` at ``seq`` records."""
    leaf = json.loads(site.api.get(f"/v1/events/{seq}", headers=site.bearer("fin-640422")).json()["leaf"])
    assert leaf["envelope"]["type"] == "ReconciliationRecorded"
    return str(leaf["envelope"]["body"]["reconciliation_id"])


def test_a_gbk_statement_shows_the_cli_s_exceptions_downloads_its_workbook_and_records_once(
    tab: Page, msite: Site, shot: Callable[..., Path], tmp_path: Path
) -> None:
    statement = msite.dir / "statements" / STATEMENT
    statement.read_bytes().decode("gbk")  # the bank's own encoding
    xlsx = tmp_path / "cli.xlsx"
    reconcile = (
        "--lang",
        "zh",
        "reconcile",
        "--statement",
        str(statement),
        "--period",
        "2019-06",
        "--as",
        "fin-640422",
    )
    expected = json.loads(cli(msite, *reconcile, "--json").stdout)
    cli(msite, *reconcile, "--xlsx", str(xlsx))

    key_sign_in(tab, msite, "fin-640422", next_path="/reconciliation")
    upload(tab, statement)
    assert tab.locator("#result").get_attribute("data-reconciliation") == expected["reconciliation_id"]
    for status, n in expected["summary"].items():
        assert tab.locator(f'#summary tr[data-status="{status}"] td').inner_text() == str(n)
    shown = [
        (r.get_attribute("data-status"), r.locator("td").first.inner_text())
        for r in tab.locator("#exceptions tbody tr").all()
    ]
    cli_rows = [(r["status"], str(r["line"])) for r in expected["lines"] if r["status"] not in CLEAR]
    assert shown and sorted(shown) == sorted(cli_rows)
    assert "账号尾号" in tab.locator("#exceptions thead").inner_text()
    shot(tab, "reconciliation", full_page=True)
    with tab.expect_download() as event:
        tab.click("#xlsx")
    assert Path(event.value.path()).read_bytes() == xlsx.read_bytes()

    # The demo's finance bureau recorded this very outcome already: 重复, with the seq that recorded it.
    status = record(tab, msite)
    assert status.get_attribute("data-outcome") == "duplicate", status.inner_text()
    seq = status.get_attribute("data-seq")
    assert f"重复：同一对账单、同一结果已在 seq {seq} 记录" in status.inner_text()
    assert recorded(msite, seq) == expected["reconciliation_id"]
    status.scroll_into_view_if_needed()
    shot(tab, "duplicate")

    # The statement without its duplicated bank line is another outcome: recorded once, then 重复.
    lines = statement.read_bytes().decode("gbk").split("\n")
    duplicated = next(r["line"] for r in expected["lines"] if r["status"] == "duplicate_bank")
    edited = tmp_path / STATEMENT
    edited.write_bytes("\n".join(lines[: duplicated - 1] + lines[duplicated:]).encode("gbk"))
    upload(tab, edited)
    ident = tab.locator("#result").get_attribute("data-reconciliation")
    assert ident != expected["reconciliation_id"] and tab.locator("#exceptions").count() == 0
    status = record(
        tab, msite, key_of="hr-640422"
    )  # another office's key file: refused, one line, nothing recorded
    assert status.get_attribute("data-outcome") == "refused"
    assert status.inner_text().startswith("未记录：") and "密钥" in status.inner_text(), status.inner_text()
    status = record(tab, msite)
    assert status.get_attribute("data-outcome") == "accepted", status.inner_text()
    seq = status.get_attribute("data-seq")
    assert f"已记录对账结果：seq {seq}" in status.inner_text()
    assert recorded(msite, seq) == ident
    status = record(tab, msite)
    assert status.get_attribute("data-outcome") == "duplicate" and status.get_attribute("data-seq") == seq
    assert [e for e in console_errors(tab) if "status of 422" not in e] == []  # the refused key's answer only
    status.scroll_into_view_if_needed()
    shot(tab, "recorded")

    bad = tmp_path / "bad.csv"
    lines = statement.read_bytes().decode("gbk").splitlines()
    assert ",570.00," in lines[5]
    # a payment amount that is no number, on the file's line 6
    lines[5] = lines[5].replace(",570.00,", ",5七0,")
    bad.write_bytes("\n".join(lines).encode("gbk"))
    upload(tab, bad, wait="#refusal")
    refusal = tab.locator("#refusal")
    refusal.wait_for()
    assert "第 6 行" in refusal.inner_text() and "\n" not in refusal.inner_text()
    assert tab.locator("#result").count() == 0
    shot(tab, "refused")


# --- accessibility ------------------------------------------------------------------------------------------
def serious(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    assert found["testEngine"]["name"] == "axe-core" and found["passes"], "axe did not run"
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in found["violations"] if v["impact"] in ("serious", "critical")]  # fmt: skip


def test_every_page_has_no_serious_accessibility_violation(
    browser: Browser, msite: Site, shot: Callable[..., Path]
) -> None:
    flag = msite.api.get("/v1/anomalies", headers=msite.bearer("insp-640400")).json()[0]
    pages = ["/", "/anomalies", f"/anomalies/{flag['id']}", "/trace", f"/trace/{flag['subject']['kind']}/{flag['subject']['id']}",
             "/report?month=2019-06", "/reconciliation", "/integrity?seq=10",
             "/report?month=2019-06&lang=en", "/reconciliation?lang=en", "/integrity?seq=10&lang=en"]  # fmt: skip
    tab = new_page(browser, msite, bypass_csp=True)  # axe is the test's script, not the site's
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        tab.goto("/signin")
        found["/signin"] = serious(tab)
        demo_sign_in(tab, "insp-640400")
        for path in pages:
            tab.goto(path)
            found[path] = serious(tab)
            if "lang=en" in path:
                shot(tab, path.strip("/").split("?")[0] + "-en", full_page=True)
        demo_sign_in(tab, "inst-640422-01", next_path="/integrity")
        tab.goto("/report?lang=zh")  # the scope error page
        assert tab.locator("h1").inner_text() == "超出权限范围"
        found["403"] = serious(tab)
    finally:
        tab.context.close()
    assert {path: v for path, v in found.items() if v} == {}


def test_the_upload_needs_the_csrf_token_and_keeps_the_api_s_cap(tab: Page, msite: Site) -> None:
    demo_sign_in(tab, "fin-640422", next_path="/reconciliation")
    cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
    csrf = tab.locator("#upload-form input[name=csrf]").get_attribute("value") or ""
    statement = (msite.dir / "statements" / STATEMENT).read_bytes()
    before = msite.api.get("/v1/checkpoint").text

    def post(fields: dict[str, str], data: bytes) -> httpx.Response:
        with httpx.Client(base_url=msite.url, cookies=cookies, timeout=60) as client:
            return client.post("/reconciliation", data=fields, files={"statement": (STATEMENT, data)})

    forged = post({"period": "2019-06"}, statement)  # no CSRF token: refused, nothing read
    assert forged.status_code == 403 and "表单已失效" in forged.text
    huge = post({"csrf": csrf, "period": "2019-06"}, statement * (16 * 2**20 // len(statement) + 1))
    assert huge.status_code == 413 and "超过 16 MiB" in huge.text
    ok = post({"csrf": csrf, "period": "2019-06"}, statement)
    assert ok.status_code == 200 and 'id="result"' in ok.text
    assert "6228487122140042487" not in ok.text  # a payee's account: its last four digits only
    assert msite.api.get("/v1/checkpoint").text == before  # reading recorded nothing
