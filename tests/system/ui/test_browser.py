"""End to end in a real browser: `pulse up --demo`, every dashboard page in headless Chromium (Debian's
`chromium`, which .ci/run installs), live data on each, and a screenshot of each for the README
(docs/screenshots/). Playwright drives the browser; it downloads nothing, it starts the system one.
"""
from __future__ import annotations

import shutil
import urllib.request


from conftest import ROOT, pulse_up_demo, wait_until
from sinks.sql_token import read_token

SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# (file name, url path, what must be on the page once live data has arrived)
PAGES = [
    ("overview", "", ["Data updated", "Engagement minutes per day by channel", "Won revenue this quarter"]),
    ("accounts", "accounts", ["target accounts", "Data updated"]),
    ("account", "account", ["People engaged", "Latest touches", "Data updated", "Opportunities"]),
    ("reach", "reach", ["Awareness by channel", "Programs"]),
    ("alerts", "alerts", ["New MQAs", "Surging and re-engaged", "Deliveries"]),
    ("revenue", "revenue", ["Pipeline created, MTD", "CAC, MTD", "Open pipeline by stage", "Won revenue · goal",
                            "Won revenue per month against the goals", "Sales velocity per day",
                            "Customer lifetime value"]),
    ("influence", "influence", ["Do engaged accounts close faster?", "Which programs earned the pipeline?"]),
    ("sales_activity", "sales_activity", ["Call rates per rep", "Uncovered target accounts",
                                          "Marketing–sales SLA per owner"]),
    ("funnel", "funnel", ["This month beside this year", "Stage by stage", "are period counts"]),
    ("data_health", "data_health", ["Workers", "Unresolved today", "Data updated"]),
    ("sql", "sql", ["Run query"]),
]
# Pages whose tables render one after another (a fragment each): the screenshot waits for the last one
TABLES = {"alerts": 3, "sales_activity": 4}


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
    return path


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def test_every_page_live_in_headless_chromium(settings):
    from playwright.sync_api import sync_playwright

    base = f"http://127.0.0.1:{settings.ui_port}"
    sql = f"http://127.0.0.1:{settings.sql_port}/?query="
    with pulse_up_demo(settings) as up:
        proc = up.proc

        def demo_data():
            assert proc.poll() is None, f"pulse up exited with {proc.returncode}"
            # the Overview counts the stages the worker recorded (stage_changes), the leaderboard the view
            query = "SELECT+countIf(stage_to+=+'mqa')+FROM+stage_changes"
            with urllib.request.urlopen(f"{sql}{query}&password={read_token(settings)}", timeout=2) as r:
                return int(r.read().decode().strip() or 0) > 0

        wait_until(demo_data, 120, 0.5, what="MQA accounts from the demo")
        wait_until(lambda: http_ok(base + "/_stcore/health"), 60, 0.5, what="the dashboard")
        SHOTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 3000})
                for name, path, words in PAGES:
                    page.goto(f"{base}/{path}", wait_until="domcontentloaded")
                    for word in words:
                        page.get_by_text(word, exact=False).first.wait_for(timeout=60_000)
                    if name == "sql":
                        page.get_by_role("button", name="Run query").click()
                        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
                    if name in ("overview", "account", "reach", "revenue", "influence", "funnel", "data_health"):
                        page.locator(".vega-embed").first.wait_for(timeout=60_000)
                    if name in ("accounts", "account", "alerts", "data_health"):
                        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60_000)
                    if name in TABLES:
                        page.locator('[data-testid="stDataFrame"]').nth(TABLES[name] - 1).wait_for(timeout=60_000)
                    # a page is done when Streamlit is no longer running its script
                    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                           timeout=60_000)
                    assert page.locator('[data-testid="stException"]').count() == 0, f"{name}: a traceback"
                    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, f"{name}: an error"
                    if name == "alerts":  # the demo's rules (pulse/demo_alerts.toml) delivered to its inbox
                        page.get_by_text("No alert was delivered", exact=False).wait_for(state="detached",
                                                                                        timeout=60_000)
                    # Streamlit scrolls inside its own container: clip the tall viewport to the content
                    bottom = page.evaluate("() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                                           ".getBoundingClientRect().bottom")
                    page.screenshot(path=str(SHOTS / f"{name}.png"),
                                    clip={"x": 0, "y": 0, "width": 1440, "height": min(int(bottom) + 24, 3000)})

                # live: the Overview's freshness line changes by itself, without a reload, and the
                # chart filter the reader set is still set afterwards
                page.goto(base, wait_until="domcontentloaded")
                page.get_by_text("90 days", exact=True).first.click()
                captions = "[...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
                page.wait_for_function(f"{captions}.some(e => e.innerText.includes('Data updated'))", timeout=60_000)
                first = page.evaluate(f"{captions}.map(e => e.innerText).find(t => t.includes('Data updated'))")
                page.wait_for_function(f"t => {captions}.some(e => e.innerText.includes('Data updated') "
                                       "&& e.innerText !== t)", arg=first, timeout=30_000)
                page.get_by_text("Engagement minutes per day by channel, target accounts, last 90 days").first.wait_for(timeout=30_000)
            finally:
                browser.close()
    for name, _, _ in PAGES:
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, name
