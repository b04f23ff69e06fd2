"""Alert delivery exactly once across a worker restart: a stage change to MQA reaches the webhook receiver
once; the worker is stopped and started again (it re-reads its stage changes and alert_deliveries); a later
MQA of another account is delivered, and the first one still only once. The Alerts page lists both."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alert_receivers import HttpReceiver
from conftest import sql_rows, wait_until
from test_pipeline import post_signed
from test_scoring_end_to_end import ACCOUNTS, CONTACTS, eid, import_csv, touches
from ui_fixtures import dashboard, texts  # noqa: F401  (fixture)

from streams.tracking import signatures


def delivered(receiver: HttpReceiver) -> list[str]:
    return [r.headers["X-Pulse-Delivery"] for r in receiver.requests]


def test_an_alert_is_delivered_once_across_a_worker_restart(settings, start, tmp_path, monkeypatch, dashboard):
    monkeypatch.setenv("ALERT_TEST_SECRET", "restart-secret")
    with HttpReceiver(fail_first=1) as receiver:
        rules = tmp_path / "alerts.toml"
        rules.write_text(f'retry_base_seconds = 0.5\n[[rule]]\nname = "mqa"\nkind = "became_mqa"\ntarget = true\n'
                         f'[rule.webhook]\nurl = "{receiver.url}"\nsecret_env = "ALERT_TEST_SECRET"\n')
        settings = settings.replace(hook_secrets=("scoring-secret",), alerts_file=rules)
        worker = start("worker", settings)
        start("hooks", settings)
        assert import_csv(settings, "accounts", ACCOUNTS, tmp_path).returncode == 0
        assert import_csv(settings, "contacts", CONTACTS, tmp_path).returncode == 0
        wait_until(lambda: sql_rows(settings, "SELECT count() FROM accounts FINAL")[0][0] == 4, 60,
                   what="the imported accounts")
        assert post_signed(settings, touches())[0] == 202
        wait_until(lambda: delivered(receiver) == ["mqa:acme:1"], 90, what="acme's MQA alert (after one failure)")
        request = receiver.requests[0]
        assert signatures.check(("restart-secret",), request.headers["X-Pulse-Signature"],
                                request.headers["X-Pulse-Timestamp"], request.body,
                                datetime.now(timezone.utc).timestamp()) is None

        worker.stop()
        start("worker", settings)
        # umbrella becomes MQA after the restart: two people, an hour's meeting each
        at = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
        meetings = [{"event_id": eid(900 + i), "type": "meeting", "occurred_at": at, "duration_minutes": 60,
                     "email": f"p{i}@umbrella.example"} for i in range(2)]
        assert post_signed(settings, meetings)[0] == 202
        wait_until(lambda: "mqa:umbrella:1" in delivered(receiver), 90, what="umbrella's MQA alert after the restart")
        assert sorted(delivered(receiver)) == ["mqa:acme:1", "mqa:umbrella:1"]
        rows = sql_rows(settings, "SELECT change_id, status, attempts FROM alert_deliveries ORDER BY change_id, attempts")
        assert rows == [("acme:1", "retrying", 1), ("acme:1", "sent", 2), ("umbrella:1", "sent", 1)]

    # the Alerts page: each rule's alert once, as its latest attempt (acme's after one failure)
    page = dashboard(settings, "alerts")
    shown = next((f.value for f in page.dataframe if "destination" in f.value.columns), None)
    assert shown is not None, texts(page)
    assert sorted(zip(shown["account_name"], shown["status"], shown["attempts"])) == [
        ("Acme", "sent", 2), ("Umbrella", "sent", 1)]
    assert {m.label: m.value for m in page.metric if m.label in ("Sent", "Retrying", "Failed")} == {
        "Sent": "2", "Retrying": "0", "Failed": "0"}
