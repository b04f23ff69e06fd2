"""The demo's alert rules and its inbox: the rules parse as the worker reads them and can only reach the
demo's loopback inbox; a real delivery (streams/alert_senders.py over HTTP) lands in the inbox's log as the
Slack message's text; what is not a Slack message is refused and recorded as such."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from pulse import demo_alerts
from pulse.partenv import part_environ
from schemas.alert_rules import Slack, load
from streams import alert_senders
from streams.core import alerts


@pytest.fixture
def inbox(tmp_path):
    env = demo_alerts.environment(tmp_path)
    server = demo_alerts.start_inbox(env)
    yield env, tmp_path / "demo-alerts.jsonl"
    server.shutdown()
    server.server_close()


def test_the_demo_rules_parse_and_deliver_only_to_the_loopback_inbox(tmp_path):
    env = demo_alerts.environment(tmp_path)
    assert env["PULSE_ALERTS_FILE"] == str(demo_alerts.RULES) and demo_alerts.RULES.exists()
    rules = load(demo_alerts.RULES, env)
    assert {r.kind for r in rules.rules} == {"became_mqa", "surging", "first_meeting"}
    for rule in rules.rules:
        assert isinstance(rule.destination, Slack)
        assert urlsplit(rule.destination.url).hostname == "127.0.0.1"
    # the worker (which delivers) and the demo (which runs the inbox) both get the inbox's address
    for part in ("worker", "demo"):
        assert part_environ(part, env)[demo_alerts.URL_VAR] == env[demo_alerts.URL_VAR]


def test_a_delivery_lands_in_the_inbox_log_as_slack_would_show_it(inbox):
    env, record = inbox
    rule = load(demo_alerts.RULES, env).rules[0]
    moment = alerts.Moment("became_mqa", "acc-0001:1", "acc-0001", "Acme *Labs*", "Avery", "1", True,
                           datetime(2026, 12, 2, 9, tzinfo=timezone.utc), "142.50 minutes in 90 days")
    alert_senders.deliver(rule, moment, "http://127.0.0.1:8501")
    (entry,) = [json.loads(line) for line in record.read_text().splitlines()]
    assert entry["text"].startswith("Acme \u2217Labs\u2217 became marketing-qualified")
    assert entry["message"]["blocks"][1]["elements"][0]["text"] == \
        "<http://127.0.0.1:8501/account?account=acc-0001|Open in pulse>"


@pytest.mark.parametrize("path, body, status", [
    ("/slack", b"not json", 400), ("/slack", b'{"blocks": []}', 400), ("/elsewhere", b'{"text": "x"}', 404),
])
def test_the_inbox_refuses_what_is_not_a_slack_message(inbox, path, body, status):
    env, record = inbox
    url = env[demo_alerts.URL_VAR].replace("/slack", path)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10)
    assert refused.value.code == status
    lines = record.read_text().splitlines() if record.exists() else []
    assert [json.loads(line).get("text") for line in lines] == ([None] if status == 400 else [])
