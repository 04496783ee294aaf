"""Anomalies, one flag, its disposition, traces and personal data as pages (DESIGN §12–§13, issue 17),
in a real chromium on one ``serve --demo`` per module: each page shows exactly what the API gives the
same reader, a disposition and a personal-data read are signed in the browser with the key file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from support.web import Site, console_errors, demo_sign_in, key_sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

INSPECTOR, INSTITUTION = "insp-640400", "inst-640422-01"
OTHERS_CLASS = (
    "CLS-2019-640422-0001"  # opened by the city's institution inst-640400-01, not by inst-640422-01
)
OWN_CLASS = "CLS-2019-640422-0002"


@pytest.fixture(scope="module")
def site(module_site: Site) -> Site:
    """One server for the module (the tests write only a disposition and a read of one labourer)."""
    return module_site


def api(site: Site, actor: str, path: str, **params: Any) -> Any:
    response = site.api.get(path, params=params, headers=site.bearer(actor))
    assert response.status_code == 200, response.text
    return response.json()


def listed(page: Page) -> list[str]:
    """The flag ids of every page of the current listing, following its page links."""
    ids: list[str] = []
    while True:
        ids += [row.get_attribute("data-flag") or "" for row in page.locator("#flags tr[data-flag]").all()]
        after = page.locator("nav.pager a[rel=next]")
        if not after.count():
            return ids
        after.click()
        page.wait_for_load_state()


@pytest.mark.browser
def test_the_inspectors_anomalies_are_exactly_the_apis(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    demo_sign_in(page, INSPECTOR, next_path="/anomalies")
    shot(page, "anomalies", full_page=True)
    flags = api(site, INSPECTOR, "/v1/anomalies")
    assert len(flags) > 50  # two pages
    assert page.locator("[data-figure=total]").inner_text() == str(len(flags))
    assert "严重" in page.locator("#flags").inner_text()
    assert listed(page) == [f["id"] for f in flags]
    shot(page, "anomalies-page-2")
    page.goto("/anomalies")
    page.select_option("#f-severity", "critical")
    page.select_option("#f-kind", "claim")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/anomalies?*severity=critical*")
    critical = api(site, INSPECTOR, "/v1/anomalies", severity="critical")
    assert listed(page) == [f["id"] for f in critical if f["subject"]["kind"] == "claim"]
    page.goto("/anomalies?status=all")
    assert listed(page) == [f["id"] for f in api(site, INSPECTOR, "/v1/anomalies", status="all")]
    page.goto("/anomalies")
    page.click("header a.lang")
    assert page.locator("h1").inner_text() == "Anomalies"
    assert "critical" in page.locator("#flags").inner_text()
    shot(page, "anomalies-en")
    page.click("header a.lang")
    assert page.locator("h1").inner_text() == "异常"
    assert console_errors(page) == []


@pytest.mark.browser
def test_a_critical_flag_is_followed_to_its_trace_and_disposed_with_the_key_file(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    key_sign_in(page, site, INSPECTOR, next_path="/anomalies?severity=critical&kind=claim")
    flag = next(
        f
        for f in api(site, INSPECTOR, "/v1/anomalies", severity="critical")
        if f["subject"]["kind"] == "claim"
    )
    page.click(f'#flags tr[data-flag="{flag["id"]}"] td a >> nth=0')
    page.wait_for_url(f"**/anomalies/{flag['id']}")
    shot(page, "flag", full_page=True)
    detail = api(site, INSPECTOR, f"/v1/anomalies/{flag['id']}")
    seqs = [
        int(s or -1)
        for s in page.locator("#evidence tr[data-seq]").evaluate_all("rs => rs.map(r => r.dataset.seq)")
    ]
    assert sorted(seqs) == sorted(e["seq"] for e in detail["evidence"])
    assert (
        page.locator(f'#evidence tr[data-seq="{seqs[0]}"] a').get_attribute("href")
        == f"/integrity?seq={seqs[0]}#proof"
    )
    page.click("#subject-trace")
    page.wait_for_url(f"**/trace/claim/{flag['subject']['id']}")
    shot(page, "trace", full_page=True)
    doc = api(site, INSPECTOR, f"/v1/trace/claim/{flag['subject']['id']}")
    rows = page.locator("section.stage tr[data-seq]").evaluate_all("rs => rs.map(r => r.dataset.seq)")
    assert sorted(int(s) for s in rows) == sorted(e["seq"] for e in doc["events"])
    stages = page.locator("section.stage").evaluate_all("ss => ss.map(s => s.dataset.stage)")
    assert stages[0] == "registration" and stages.index("claim") < stages.index("payment")  # the CLI's order
    own = page.locator("section.stage tr.own")
    assert own.count() == sum(e["relation"] == "subject" for e in doc["events"]) > 0
    assert "★" in own.first.inner_text()
    assert page.locator(f'#trace-flags a[href="/anomalies/{flag["id"]}"]').count() == 1
    page.click(f'#trace-flags a[href="/anomalies/{flag["id"]}"]')
    page.wait_for_url(f"**/anomalies/{flag['id']}")

    page.select_option("#disposition", "confirmed")
    page.fill("#note", "现场核实：考勤表与花名册不符，已责令退回")
    page.set_input_files("#dispose-key", str(site.key_file(INSPECTOR)))
    page.click("#dispose-form button[type=submit]")
    page.locator("#flag-status", has_text="核实属实").wait_for()  # the page reloads once recorded
    shot(page, "disposed", full_page=True)
    after = api(site, INSPECTOR, f"/v1/anomalies/{flag['id']}")
    assert after["flag"]["status"] == "confirmed"
    last = after["history"][-1]
    assert (last["change"], last["status"], last["actor"]) == ("disposed", "confirmed", INSPECTOR)
    assert last["note"] == "现场核实：考勤表与花名册不符，已责令退回"
    assert page.locator('#history tr[data-change="disposed"]').count() == 1
    shown = subprocess.run([sys.executable, "-m", "api", "anomalies", "show", flag["id"], "--json"], cwd=site.dir,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["flag"]["status"] == "confirmed"
    assert console_errors(page) == []


@pytest.mark.browser
def test_a_refused_disposition_says_why_in_chinese_and_changes_nothing(page: Page, site: Site) -> None:
    flag = api(site, INSPECTOR, "/v1/anomalies", severity="high")[0]
    demo_sign_in(page, INSPECTOR, next_path=f"/anomalies/{flag['id']}")
    size = site.api.get("/healthz").json()["size"]
    page.fill("#note", "复核")
    page.set_input_files("#dispose-key", str(site.key_file("aud-640400")))  # another office's key
    page.click("#dispose-form button[type=submit]")
    page.locator("#dispose-status.error").wait_for()
    said = page.locator("#dispose-status").inner_text()
    assert "账本拒绝了此处置：所选密钥文件属于其他主体" in said and "aud-640400" in said  # then the detail
    assert site.api.get("/healthz").json()["size"] == size
    assert api(site, INSPECTOR, f"/v1/anomalies/{flag['id']}")["flag"]["status"] == flag["status"]


@pytest.mark.browser
def test_personal_data_is_shown_after_its_read_is_signed_into_the_log(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    flag = api(site, INSPECTOR, "/v1/anomalies", rule="CONF-VISIT-DENIAL")[0]
    laborer = flag["subject"]["id"]
    key_sign_in(page, site, INSPECTOR, next_path=f"/trace/laborer/{laborer}")
    page.fill("#pii-purpose", "核查电话回访否认参训")
    page.set_input_files("#pii-key", str(site.key_file(INSPECTOR)))
    page.click("#pii-form button[type=submit]")
    page.locator("#pii-data").wait_for()
    shot(page, "personal-data", full_page=True)
    name = page.locator('#pii-data [data-field="name"]').inner_text()
    assert name and page.locator('#pii-data [data-field="id_number"]').inner_text()
    status = page.locator("#pii-status").inner_text()
    seq = int(status.rsplit(" ", 1)[-1])
    recorded = json.loads(api(site, "admin", f"/v1/events/{seq}")["leaf"])["envelope"]
    assert (recorded["type"], recorded["actor"], recorded["body"]) == (
        "PersonalDataAccessed", INSPECTOR, {"laborer_id": laborer, "purpose": "核查电话回访否认参训"})  # fmt: skip
    again = site.api.get(
        f"/v1/laborers/{laborer}/pii", params={"access_seq": seq}, headers=site.bearer(INSPECTOR)
    )
    assert again.status_code == 403  # the read of that record was made (once)
    assert console_errors(page) == []


@pytest.mark.browser
def test_an_institution_sees_its_own_flags_without_complaints_and_others_classes_are_refused(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    demo_sign_in(page, INSTITUTION, next_path="/anomalies")
    mine = api(site, INSTITUTION, "/v1/anomalies")
    assert listed(page) == [f["id"] for f in mine] and mine
    shot(page, "institution-anomalies")
    for flag in mine:
        page.goto(f"/anomalies/{flag['id']}")
        seqs = page.locator("#evidence tr[data-seq]").evaluate_all("rs => rs.map(r => Number(r.dataset.seq))")
        assert sorted(seqs) == sorted(
            e["seq"] for e in api(site, INSTITUTION, f"/v1/anomalies/{flag['id']}")["evidence"]
        )
        assert page.locator("#dispose-form").count() == 0  # only an inspector disposes
        for seq in seqs:
            body = json.loads(api(site, "admin", f"/v1/events/{seq}")["leaf"])["envelope"]
            assert body["type"] != "InspectionRecorded" or body["body"]["method"] not in (
                "phone_visit",
                "questionnaire",
            )
    shot(page, "institution-flag", full_page=True)
    page.click("header a.lang")
    assert page.locator("#evidence-title").inner_text().startswith("Evidence timeline")
    shot(page, "institution-flag-en")
    page.click("header a.lang")
    assert console_errors(page) == []
    complaint = api(site, INSPECTOR, "/v1/anomalies", rule="CONF-VISIT-DENIAL")[0]
    refused = page.goto(f"/anomalies/{complaint['id']}")
    assert refused is not None and refused.status == 403
    refused = page.goto(f"/trace/class/{OTHERS_CLASS}")
    assert refused is not None and refused.status == 403
    assert page.locator("h1").inner_text() == "超出权限范围"
    shot(page, "scope-refused")
    missing = page.goto("/trace/class/CLS-NOPE")
    assert missing is not None and missing.status == 404
    page.goto("/trace")
    page.select_option("#trace-kind", "class")
    page.fill("#trace-id", OWN_CLASS)
    page.click("form[role=search] button[type=submit]")
    page.wait_for_url(f"**/trace/class/{OWN_CLASS}")
    assert urlsplit(page.url).path == f"/trace/class/{OWN_CLASS}"
    assert page.locator("section.stage tr.own").count() > 0
    assert page.locator("#pii-form").count() == 0


def test_the_signed_endpoint_wants_a_session_and_its_csrf_token(site: Site) -> None:
    """``/signed`` and the personal-data read are the page scripts': no session → 401 problem, no CSRF → 403."""
    size = site.api.get("/healthz").json()["size"]
    bare = site.api.post("/signed", json={"type": "AnomalyDisposed"}, headers={"Origin": site.url})
    assert bare.status_code == 401 and bare.json()["type"].endswith(":unauthorized")
    read = site.api.get("/trace/laborer/L-640422-000151/pii", params={"access_seq": 1})
    assert read.status_code == 401
    with httpx.Client(base_url=site.url, headers={"Origin": site.url}) as browser_like:
        signed_in = browser_like.post("/signin/demo", data={"actor_id": INSPECTOR, "next": "/anomalies"})
        assert signed_in.status_code == 303
        forged = browser_like.post("/signed", json={"type": "AnomalyDisposed"})
        assert forged.status_code == 403 and forged.json()["reason"] == "csrf"
        other = browser_like.get("/trace/laborer/L-640422-000151/pii", params={"access_seq": 1})
        assert other.status_code == 403  # seq 1 is no PersonalDataAccessed of that labourer
    assert site.api.get("/healthz").json()["size"] == size
