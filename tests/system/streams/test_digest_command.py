"""`pulse digest --now` over a real SMTP conversation (aiosmtpd), parsed back; `pulse digest --preview FILE`
writes the same HTML, which headless Chromium renders for the README (docs/screenshots/digest.png). The data is the scoring test's: acme becomes MQA, acme and globex surge."""
from __future__ import annotations

import shutil
import subprocess
import sys

from playwright.sync_api import sync_playwright

from alert_receivers import SmtpReceiver
from conftest import ROOT, env_for, sql_rows, wait_until
from test_pipeline import post_signed
from test_scoring_end_to_end import ACCOUNTS, CONTACTS, import_csv, touches


def digest(settings, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pulse.cli", "digest", *args], env=env_for(settings), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_the_digest_is_sent_over_smtp_and_previewed(settings, start, tmp_path):
    settings = settings.replace(hook_secrets=("digest-secret",), dashboard_url="https://pulse.example/dash")
    start("worker", settings)
    start("hooks", settings)
    assert import_csv(settings, "accounts", ACCOUNTS, tmp_path).returncode == 0
    assert import_csv(settings, "contacts", CONTACTS, tmp_path).returncode == 0
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM accounts FINAL")[0][0] == 4, 60, what="the accounts")
    assert post_signed(settings, touches())[0] == 202
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM account_engagement_snapshot FINAL "
                                          "WHERE account_id = 'acme' AND stage = 'mqa' AND surging = 1")[0][0] == 1,
               90, what="acme evaluated MQA and surging")
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM stage_changes WHERE stage_to = 'mqa'")[0][0] == 1, 60,
               what="acme's stage change")

    preview = tmp_path / "digest.html"
    done = digest(settings, "--preview", str(preview))
    assert done.returncode == 0, done.stderr
    page = preview.read_text()
    assert "Month to date" in page and "Year to date" in page and "Engagement minutes (target accounts)" in page
    assert "Became MQA (1)" in page and "Surging (2)" in page  # acme and globex (51 new minutes: a surge)
    assert 'href="https://pulse.example/dash/account?account=acme"' in page and 'href="https://pulse.example/dash"' in page

    screenshot(preview)

    with SmtpReceiver() as smtp:
        mail = settings.replace(digest_to=("sales@example.com", "cmo@example.com"), digest_from="pulse@example.com",
                                smtp_port=smtp.port, smtp_starttls=False)
        assert digest(mail, "--preview", str(preview)).returncode == 0 and smtp.messages == []  # a preview sends nothing
        done = digest(mail, "--now")
        assert done.returncode == 0, done.stderr
        (msg,) = smtp.messages
    assert smtp.envelopes == [("pulse@example.com", ["sales@example.com", "cmo@example.com"])]
    assert msg["Subject"].startswith("pulse daily digest · ") and msg["To"] == "sales@example.com, cmo@example.com"
    sent = msg.get_body(("html",)).get_content()
    assert sent.count('class="tile"') == 10  # five tiles, month to date beside year to date
    assert sent.count(">228 min<") == 2  # acme 177.50 + globex 51.00 (the scoring test's), this month and this year
    assert "Became MQA (1)" in sent and ">Acme</a>" in sent and "https://pulse.example/dash" in sent
    assert "https://pulse.example/dash" in msg.get_body(("plain",)).get_content()


def screenshot(page_file) -> None:
    """The digest as a mail client shows it: Debian's chromium, as tests/system/ui/test_browser.py uses."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Debian's chromium is not installed (apt-get install chromium; .ci/run does it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 800, "height": 600})
            page.goto(page_file.as_uri())
            assert page.locator("td.tile").count() == 10
            page.screenshot(path=str(ROOT / "docs" / "screenshots" / "digest.png"), full_page=True)
        finally:
            browser.close()
