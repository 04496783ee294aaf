"""A tour of the web pages as a new user meets them, with a screenshot of each (issue 17).

In a folder where `subsidy-ledger demo` ran, with `subsidy-ledger serve --demo --port 8000` running:

    python examples/web_tour.py http://127.0.0.1:8000 . shots/

The city inspector signs in by the demo's one click; the 西吉县 finance bureau signs in the real
way, with its key file read in the browser, and reconciles June 2019's GBK statement. Needs the
`playwright` package and Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

VIEWPORT = {"width": 1366, "height": 768}


def main(base: str, demo: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=out / f"{name}.png", full_page=True)
        print(out / f"{name}.png")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        inspector = browser.new_context(viewport=VIEWPORT, base_url=base).new_page()  # type: ignore[arg-type]
        inspector.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        inspector.goto("/signin")
        inspector.locator("button[data-actor='insp-640400']").click()
        inspector.wait_for_url(f"{base}/")
        shot(inspector, "dashboard")
        inspector.goto("/anomalies?severity=critical")
        shot(inspector, "anomalies")
        flag = inspector.locator("#flags tr[data-flag]").first.get_attribute("data-flag")
        inspector.goto(f"/anomalies/{flag}")
        shot(inspector, "flag")
        inspector.locator("a", has_text="追溯").first.click()  # the flag's subject, traced
        inspector.wait_for_load_state()
        shot(inspector, "trace")
        inspector.goto("/report?month=2019-06&jurisdiction=640422")
        inspector.wait_for_load_state("networkidle")
        shot(inspector, "report")
        inspector.goto("/integrity?seq=1234")
        inspector.wait_for_load_state("networkidle")
        shot(inspector, "integrity")

        finance = browser.new_context(viewport=VIEWPORT, base_url=base).new_page()  # type: ignore[arg-type]
        finance.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        finance.goto("/signin?next=/reconciliation")
        finance.fill("#actor-id", "fin-640422")
        finance.set_input_files("#key-file", str(demo / "keys" / "actors" / "fin-640422.pem"))
        finance.click("#key-signin button[type=submit]")
        finance.wait_for_url(f"{base}/reconciliation")
        finance.fill("#period", "2019-06")
        finance.set_input_files("#statement", str(demo / "statements" / "fin-640422_2019-06.csv"))
        finance.locator("main form button[type=submit]").first.click()
        finance.wait_for_load_state()
        shot(finance, "reconciliation")
        browser.close()
    if errors:
        sys.exit("console errors: " + "; ".join(errors))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: web_tour.py BASE_URL DEMO_FOLDER OUT_FOLDER")
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2]), Path(sys.argv[3]))
