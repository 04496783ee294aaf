"""The pages' foundation as a user meets it (DESIGN §13, issue 17): sign-in with the key file in a
real browser (the key never leaves it), the session cookie, the same scope as the API, CSRF, the
security headers, the language switch, and ``serve --demo``'s limits."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from support.web import Site, console_errors, demo_sign_in, key_sign_in, new_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@pytest.fixture(scope="module")
def site(module_site: Site) -> Site:
    """One server for the module: its tests sign in and out but record nothing (a key's rotation, which
    does, takes ``fresh_site``); each test's page is a browser context of its own."""
    return module_site


def session_cookie(page: Page) -> dict[str, object]:
    return next(c for c in page.context.cookies() if c["name"] == "ledger_session")  # type: ignore[return-value]


@pytest.mark.browser
def test_signing_in_with_the_key_file_sets_an_httponly_cookie_the_script_cannot_read(
    page: Page, site: Site, shot: Callable[..., Path]
) -> None:
    uploads: list[str] = []
    page.on("request", lambda r: uploads.append(r.post_data or "") if r.method == "POST" else None)
    page.goto("/signin")
    shot(page, "signin")
    key_sign_in(page, site, "fin-640422")
    assert page.locator("header .actor").inner_text() == "西吉县财政局"
    assert "财政局" in page.locator("header .role").inner_text()
    cookie = session_cookie(page)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert cookie["secure"] is False  # plain http on loopback; Secure over https (docs/web.md)
    assert "ledger_session" not in page.evaluate("document.cookie")
    key_text = site.key_file("fin-640422").read_text()
    body = key_text.split("-----")[2].replace("\n", "")
    assert uploads and not any(body[:40] in posted for posted in uploads)  # the key was never sent
    assert console_errors(page) == []
    shot(page, "signed-in")


@pytest.mark.browser
def test_a_wrong_key_file_is_one_message_and_no_session(page: Page, site: Site, tmp_path: Path) -> None:
    page.goto("/signin")
    page.fill("#actor-id", "fin-640422")
    page.set_input_files("#key-file", str(site.key_file("hr-640422")))  # another office's key
    page.click("#key-signin button[type=submit]")
    page.locator("#signin-status.error").wait_for()
    assert "登录失败" in page.locator("#signin-status").inner_text()
    not_a_key = tmp_path / "notes.pem"
    not_a_key.write_text("hello\n")
    page.set_input_files("#key-file", str(not_a_key))
    page.click("#key-signin button[type=submit]")
    page.wait_for_function("document.getElementById('signin-status').textContent.includes('PKCS#8')")
    assert not [c for c in page.context.cookies() if c["name"] == "ledger_session"]


@pytest.mark.browser
def test_demo_one_click_sign_in_then_sign_out(page: Page, site: Site, shot: Callable[..., Path]) -> None:
    page.goto("/")
    assert page.url.endswith("/signin?next=%2F")  # no session: to the sign-in page, back here after
    demo_sign_in(page, "insp-640400")
    assert page.locator("header .actor").inner_text() == "固原市纪委监委"
    assert page.locator("nav a[aria-current=page]").inner_text() == "总览"
    shot(page, "dashboard")
    page.click("header form[action='/signout'] button")
    page.wait_for_url("**/signin")
    assert not [c for c in page.context.cookies() if c["name"] == "ledger_session"]
    page.goto("/")
    assert "/signin" in page.url


@pytest.mark.browser
def test_the_language_switch_is_remembered(page: Page, site: Site) -> None:
    demo_sign_in(page, "hr-640422")
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.click("header a.lang")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("nav a[aria-current=page]").inner_text() == "Dashboard"
    page.goto("/")
    assert page.get_attribute("html", "lang") == "en"  # the cookie remembers it
    page.goto("/?lang=zh")
    assert page.locator("nav a[aria-current=page]").inner_text() == "总览"


@pytest.mark.browser
def test_a_rotated_key_ends_the_page_session(browser: Browser, fresh_site: Site) -> None:
    # a server of its own: the rotation would void the key file the module's other tests sign in with
    page = new_page(browser, fresh_site)
    try:
        demo_sign_in(page, "fin-640422")
        rotated = subprocess.run([sys.executable, "-m", "api", "actor", "rotate", "fin-640422"], cwd=fresh_site.dir,
                                 capture_output=True, text=True, timeout=120)  # fmt: skip
        assert rotated.returncode == 0, rotated.stderr
        page.goto("/")
        assert "/signin?next=%2F" in page.url
    finally:
        page.context.close()


@contextmanager
def demo_session(site: Site, actor_id: str) -> Iterator[httpx.Client]:
    """A client holding ``actor_id``'s page session (the demo sign-in, as a browser's form posts it)."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        got = client.post(
            "/signin/demo", data={"actor_id": actor_id, "next": "/"}, headers={"Origin": site.url}
        )
        assert got.status_code == 303 and got.headers["location"] == "/", got.text
        yield client


def test_pages_and_static_files_carry_the_security_headers_and_docs_still_work(site: Site) -> None:
    for path in ("/signin", "/static/sign.js", "/static/style.css"):
        got = site.api.get(path)
        assert got.status_code == 200, path
        assert got.headers["content-security-policy"] == CSP, path
        assert (
            got.headers["x-content-type-options"] == "nosniff"
            and got.headers["referrer-policy"] == "same-origin"
        )
    assert site.api.get("/static/sign.js").headers["content-type"].startswith("text/javascript")
    assert "<script>" not in site.api.get("/signin").text  # no inline script anywhere
    docs = site.api.get("/docs")
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers
    assert all(
        not p.startswith(("/signin", "/signout")) for p in site.api.get("/openapi.json").json()["paths"]
    )
    page = site.api.get("/no-such-page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert (
        page.status_code == 404 and "未找到" in page.text and page.headers["content-security-policy"] == CSP
    )
    api = site.api.get("/no-such-page")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/problem+json")
    from_api = site.api.get("/v1/nothing", headers={"Accept": "text/html"})
    assert from_api.headers["content-type"].startswith("application/problem+json")


def test_the_pages_answer_head_like_get_without_content(site: Site) -> None:
    """``curl -I``: a GET page's status and headers (its Content-Length included) and no content; a
    page that needs a session redirects to sign-in as GET does; a POST-only path still refuses HEAD."""
    got, head = site.api.get("/signin"), site.api.head("/signin")
    assert head.status_code == got.status_code == 200 and head.content == b""
    assert (
        head.headers["content-type"] == got.headers["content-type"]
        and head.headers["content-security-policy"] == CSP
    )
    assert int(head.headers["content-length"]) == len(got.content) > 0
    away = site.api.head("/anomalies")
    assert away.status_code == 303 and away.headers["location"] == "/signin?next=%2Fanomalies"
    assert site.api.head("/signout").status_code == 405
    with demo_session(site, "insp-640400") as client:
        for path in ("/", "/anomalies", "/integrity", "/report"):
            head = client.head(path)
            assert head.status_code == 200 and head.content == b"", path
            assert (
                head.headers["content-type"].startswith("text/html")
                and int(head.headers["content-length"]) > 0
            )
            assert head.headers["x-frame-options"] == "DENY", path


def test_state_changing_posts_need_the_csrf_token_and_this_origin(site: Site) -> None:
    with demo_session(site, "insp-640400") as client:
        page = client.get("/")
        assert page.status_code == 200
        token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
        refused = client.post("/signout", data={"csrf": "0" * 64})
        assert (
            refused.status_code == 403
            and "表单已失效或来自其他网站" in refused.text
            and "CSRF" in refused.text
        )
        cross = client.post("/signout", data={"csrf": token}, headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403
        cross_site = client.post("/signout", data={"csrf": token}, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross_site.status_code == 403
        assert client.get("/").status_code == 200  # still signed in: nothing changed
        done = client.post("/signout", data={"csrf": token}, headers={"Origin": site.url})
        assert done.status_code == 303 and 'ledger_session=""' in done.headers["set-cookie"]
    login_csrf = httpx.post(
        f"{site.url}/signin/demo", data={"actor_id": "admin"}, headers={"Origin": "http://evil.example"}
    )
    assert login_csrf.status_code == 403 and "set-cookie" not in login_csrf.headers


def test_a_bad_session_cookie_redirects_to_sign_in_and_the_api_refuses_it_as_a_bearer(site: Site) -> None:
    got = httpx.get(f"{site.url}/?x=1", cookies={"ledger_session": "forged.token"})
    assert got.status_code == 303 and got.headers["location"] == "/signin?next=%2F%3Fx%3D1"
    with demo_session(site, "insp-640400") as client:
        assert (
            client.get("/v1/anomalies").status_code == 401
        )  # the cookie is no bearer token: the API stays bearer-only


def test_the_demo_refuses_proxied_requests(site: Site) -> None:
    for header in ("Forwarded", "X-Forwarded-For", "X-Real-IP"):
        got = site.api.get(
            "/signin", headers={header: "for=203.0.113.7" if header == "Forwarded" else "203.0.113.7"}
        )
        assert got.status_code == 403 and "演示服务只接受本机直接访问" in got.text, header
        assert got.headers["content-security-policy"] == CSP
    api = site.api.get("/v1/checkpoint", headers={"X-Forwarded-For": "203.0.113.7"})
    assert api.status_code == 403


def test_serve_demo_only_on_a_demo_ledger_and_on_loopback(demo_dir: Path, tmp_path: Path) -> None:
    def serve(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "api", "serve", "--demo", "--port", "1", *args], cwd=cwd,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    exposed = serve(demo_dir, "--host", "0.0.0.0")
    assert exposed.returncode == 2 and "--demo" in exposed.stderr and "0.0.0.0" in exposed.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    assert (
        subprocess.run([sys.executable, "-m", "api", "init"], cwd=plain, capture_output=True).returncode == 0
    )
    refused = serve(plain)
    assert refused.returncode == 2 and "demo" in refused.stderr and "Traceback" not in refused.stderr
