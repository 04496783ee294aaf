"""Debian's chromium driven by playwright, for the tests that look at a page as a reader would.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (``.ci/run``
installs it, and the CJK fonts a Chinese page needs). Without them a test is skipped on a
developer's machine and fails in CI, like the PostgreSQL tests.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path(os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium"))


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM}"
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return "no fontconfig (fc-list) to find a Chinese font"
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    if not found.strip():
        return "no Chinese font installed (fonts-noto-cjk)"
    return None


def require_chromium() -> None:
    """Skip locally, fail in CI, when chromium or a Chinese font is missing."""
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing + " — CI must run the browser tests", pytrace=False)
        pytest.skip(missing)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless chromium for one test."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def png_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR chunk (PNG spec §11.2.2)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height
