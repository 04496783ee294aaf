"""The pages as a user meets them: a ``demo`` ledger served by a real ``serve --demo`` process,
driven by Debian's headless chromium (:mod:`support.browser`) at an office screen's 1366×768.

Fixtures (registered for ``tests/e2e`` by its ``conftest.py``):

- ``demo_template`` (session): ``subsidy-ledger demo`` (small: one county's season, 70 flags) once per test process;
- ``demo_dir``: a fresh copy of it for one test (pages may write: dispositions, reconciliations);
- ``site``: ``serve --demo`` on that copy, as a :class:`Site` (its URL, folder, keystore, an httpx client);
- ``module_site`` (module): ``serve --demo`` on a copy of its own, shared by a module's tests that write
  nothing another test reads (a module overrides ``site`` with it; a test that does write takes ``fresh_site``);
- ``fresh_site``: the same as ``site`` under a name a module overriding ``site`` still reaches;
- ``browser`` (module): one headless chromium for a module's tests (each ``page`` is a context of its own);
- ``page``: a chromium page at 1366×768 on the site; console errors (a CSP violation is one) are
  collected in ``page.console_errors`` (see :func:`console_errors`);
- ``shot``: ``shot(page, "name")`` writes ``test-output/web/<test name>/name.png`` (gitignored).

Sign-in helpers: :func:`demo_sign_in` (the demo's one-click list) and :func:`key_sign_in` (the real
path: the actor's PKCS#8 PEM key file chosen in the file input, signed by WebCrypto in the page).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from support.browser import chromium
from support.http import serving, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "test-output" / "web"
VIEWPORT = {"width": 1366, "height": 768}
DEMO_FILES = ("ledger.db", "keys", "statements", "truth.json")


@dataclass
class Site:
    """A running ``serve --demo``: ``url``, its folder ``dir`` (ledger.db, keys/), an API client."""

    url: str
    dir: Path
    api: httpx.Client

    @property
    def keys(self) -> Path:
        return self.dir / "keys"

    def key_file(self, actor_id: str) -> Path:
        """The actor's key as its office keeps it: a PKCS#8 PEM file (the keystore writes that format)."""
        return self.keys / "actors" / f"{actor_id}.pem"

    def bearer(self, actor_id: str) -> dict[str, str]:
        """An API bearer header for ``actor_id`` (to compare a page with what the API says)."""
        return sign_in(self.api, self.keys, actor_id)


def make_demo(folder: Path) -> Path:
    """``subsidy-ledger demo`` in ``folder`` (≈ 10–20 s): the README's demo ledger, keystore, statements —
    6,080 leaves, 70 flags of every severity (``--scale tiny`` has none to show)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "api", "demo"], cwd=folder,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


def copy_demo(template: Path, to: Path) -> Path:
    to.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES:
        source = template / name
        if source.is_dir():
            shutil.copytree(source, to / name)
        elif source.exists():
            shutil.copy2(source, to / name)
    return to


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo(tmp_path_factory.mktemp("web-demo"))


@pytest.fixture
def demo_dir(demo_template: Path, tmp_path: Path) -> Path:
    return copy_demo(demo_template, tmp_path / "demo")


@contextmanager
def serve_demo(folder: Path) -> Iterator[Site]:
    """``serve --demo`` on the demo ledger in ``folder`` until the block ends (a module may share one)."""
    with serving(folder, options=("--demo",)) as client:
        yield Site(str(client.base_url).rstrip("/"), folder, client)


@pytest.fixture
def site(demo_dir: Path) -> Iterator[Site]:
    with serve_demo(demo_dir) as found:
        yield found


@pytest.fixture
def fresh_site(demo_dir: Path) -> Iterator[Site]:
    with serve_demo(demo_dir) as found:
        yield found


@pytest.fixture(scope="module")
def module_site(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_demo(copy_demo(demo_template, tmp_path_factory.mktemp("module-demo") / "demo")) as found:
        yield found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium per module: starting one costs ~1 s of CPU; a page's context is still its own."""
    with chromium() as found:
        yield found


def new_page(browser: Browser, site: Site, **options: Any) -> Page:
    """A chromium page at 1366×768 on ``site`` in a context of its own (``options``: the context's,
    e.g. ``accept_downloads``), collecting its console errors (:func:`console_errors`); close its context."""
    context = browser.new_context(viewport=VIEWPORT, base_url=site.url, **options)  # type: ignore[arg-type]
    # playwright's 30 s ran out on a page answering under a loaded 2-core machine
    context.set_default_timeout(90_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.console_errors = errors  # type: ignore[attr-defined]
    return opened


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    opened = new_page(browser, site)
    try:
        yield opened
    finally:
        opened.context.close()


def console_errors(page: Page) -> list[str]:
    """What the page logged as an error so far (a refused inline script or style, a failed load, an exception)."""
    return list(page.console_errors)  # type: ignore[attr-defined]


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    folder = SHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Page, name: str, *, full_page: bool = False) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take  # type: ignore[return-value]


def demo_sign_in(page: Page, actor_id: str, next_path: str = "/") -> None:
    """The demo's one-click sign-in as ``actor_id``; the page then shows ``next_path``."""
    page.goto(f"/signin?next={quote(next_path, safe='')}")
    page.click(f'button[data-actor="{actor_id}"]')
    page.wait_for_url(lambda url: urlsplit(url).path == urlsplit(next_path).path)


def key_sign_in(page: Page, site: Site, actor_id: str, next_path: str = "/") -> None:
    """Sign in as ``actor_id`` the real way: its key file chosen in the form, signed in the browser."""
    page.goto(f"/signin?next={quote(next_path, safe='')}")
    page.fill("#actor-id", actor_id)
    page.set_input_files("#key-file", str(site.key_file(actor_id)))
    page.click("#key-signin button[type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path == urlsplit(next_path).path)
