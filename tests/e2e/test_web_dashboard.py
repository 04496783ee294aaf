"""The dashboard ``/`` shows what the API gives the same reader (DESIGN §13, issue 17): a city
inspector (the city, then a county it picks), a 西吉县 bureau (its county; the city is out of its
scope) and a 西吉县 institution (its own claims and flags only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ledger.domain.money import yuan_amount
from support.web import Site, console_errors, demo_sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SEVERITIES = ("critical", "high", "medium", "low")


@pytest.fixture(scope="module")
def site(module_site: Site) -> Site:
    """One server for the module: the dashboard only reads (each test's page is a browser context of its own)."""
    return module_site


def api(site: Site, actor: str, path: str, **params: str) -> Any:
    got = site.api.get(path, params=params, headers=site.bearer(actor))
    assert got.status_code == 200, got.text
    return got.json()


def figure(page: Page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').inner_text().strip()


def assert_flags_match(page: Page, site: Site, actor: str, **params: str) -> None:
    flags = api(site, actor, "/v1/anomalies", **params)
    current = Counter(f["severity"] for f in flags)
    still_open = Counter(f["severity"] for f in flags if f["status"] == "open")
    for severity in SEVERITIES:
        assert page.locator(f'a[data-severity="{severity}"]').inner_text() == str(current[severity]), severity
        assert page.locator(f'a[data-open="{severity}"]').inner_text() == str(still_open[severity]), severity
        listed = api(site, actor, "/v1/anomalies", severity=severity, **params)  # what the link's page lists
        assert len(listed) == current[severity]
    assert figure(page, "flags_total") == str(len(flags))


def assert_balances_match(page: Page, site: Site, actor: str, keys: tuple[str, ...], **params: str) -> None:
    doc = api(site, actor, "/v1/balances", **params)
    assert figure(page, "as_of") == str(doc["as_of"])
    for key in keys:
        assert figure(page, key) == yuan_amount(doc["summary"][key]), key


def assert_report_matches(page: Page, site: Site, actor: str, **params: str) -> None:
    month = page.locator("#month").input_value()
    doc = api(site, actor, "/v1/reports/monthly", month=month, format="json", **params)
    cumulative = doc["cumulative"]
    assert figure(page, "trainee_times") == f"{cumulative['trainee_times']:,}"
    assert figure(page, "households_registered") == f"{cumulative['households_registered']:,}"
    assert figure(page, "households_with_certificate") == f"{cumulative['households_with_certificate']:,}"
    purposes: dict[str, list[int]] = {}
    for fund in doc["funds"]:
        sums = purposes.setdefault(fund["purpose"], [0, 0, 0])
        sums[0] += fund["allocated_fen"] + fund["adjusted_fen"]
        sums[1] += fund["paid_fen"] - fund["returned_fen"]
        sums[2] += fund["balance_fen"]
    expected = sorted(tuple(yuan_amount(v) for v in sums) for sums in purposes.values())
    rows = page.locator("tr[data-purpose-row]")
    shown = sorted(tuple(rows.nth(i).locator("td").all_inner_texts()) for i in range(rows.count()))
    assert shown == expected
    total = page.locator("tr[data-purpose-total] td").all_inner_texts()
    assert total == [yuan_amount(sum(s[i] for s in purposes.values())) for i in range(3)]
    assert page.locator("#progress svg.chart").count() == 1 and page.locator("#funds svg.chart").count() == 1


def test_city_inspector_sees_the_city_then_picks_xiji(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    demo_sign_in(page, "insp-640400")
    assert page.locator("h1").inner_text().startswith("固原市")
    assert_report_matches(page, site, "insp-640400")
    assert_balances_match(page, site, "insp-640400", ("allocated_fen", "fund_balance_fen", "claimed_fen",
                                                      "approved_fen", "paid_fen", "outstanding_fen"))  # fmt: skip
    assert_flags_match(page, site, "insp-640400")
    assert figure(page, "target").replace(",", "") == "33970—42465"  # the city's target (policy)
    shot(page, "city", full_page=True)
    page.select_option("#jurisdiction", "640422")
    page.click(".filters button[type=submit]")
    page.wait_for_url("**/?jurisdiction=640422*")
    assert page.locator("h1").inner_text().startswith("西吉县")
    assert_report_matches(page, site, "insp-640400", jurisdiction="640422")
    assert_balances_match(page, site, "insp-640400", ("allocated_fen", "paid_fen"), jurisdiction="640422")
    assert_flags_match(page, site, "insp-640400", jurisdiction="640422")
    shot(page, "xiji", full_page=True)
    page.click('a[data-severity="critical"]')
    assert "/anomalies?severity=critical" in page.url
    assert console_errors(page) in (
        [],
        ["Failed to load resource: the server responded with a status of 404 (Not Found)"],
    )


def test_xiji_bureau_sees_its_county_and_not_the_city(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    demo_sign_in(page, "fin-640422")
    assert page.locator("h1").inner_text().startswith("西吉县")
    assert page.locator("#jurisdiction").count() == 0  # nothing else to pick
    assert_report_matches(page, site, "fin-640422")
    assert_balances_match(page, site, "fin-640422", ("allocated_fen", "fund_balance_fen", "paid_fen"))
    assert_flags_match(page, site, "fin-640422")
    assert console_errors(page) == []
    shot(page, "dashboard", full_page=True)
    response = page.goto("/?jurisdiction=640400")
    assert response is not None and response.status == 403
    assert page.locator("h1").inner_text() == "超出权限范围"
    shot(page, "scope-error")


def test_xiji_institution_sees_its_own_claims_and_flags(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    demo_sign_in(page, "inst-640422-01", "/?lang=en")
    assert page.locator("#progress").count() == 0 and page.locator("#funds").count() == 0  # no report for it
    assert page.locator('[data-figure="allocated_fen"]').count() == 0
    assert_balances_match(
        page, site, "inst-640422-01", ("claimed_fen", "approved_fen", "paid_fen", "outstanding_fen")
    )
    assert_flags_match(page, site, "inst-640422-01")
    assert page.get_attribute("html", "lang") == "en"
    assert console_errors(page) == []
    shot(page, "dashboard-en", full_page=True)
