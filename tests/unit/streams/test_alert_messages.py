"""Alert matching, backoff and messages, pure (delivery to real receivers: tests/integration/streams/
test_alert_delivery.py)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from schemas.alert_rules import Email, Rule, Slack, Webhook
from streams.core import alerts

T0 = datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)
SLACK = Slack("https://hooks.slack.com/services/T/B/x")


def moment(kind="became_mqa", tier="1", owner="Avery", target=True, name="Acme"):
    return alerts.Moment(kind, "acme:1", "acme", name, owner, tier, target, T0, "142.50 minutes in 90 days")


@pytest.mark.parametrize("rule, m, wanted", [
    (Rule("r", "became_mqa", SLACK), moment(), True),
    (Rule("r", "surging", SLACK), moment(), False),
    (Rule("r", "became_mqa", SLACK, tiers=("1", "2")), moment(tier="2"), True),
    (Rule("r", "became_mqa", SLACK, tiers=("1",)), moment(tier="3"), False),
    (Rule("r", "became_mqa", SLACK, owners=("Blake",)), moment(), False),
    (Rule("r", "became_mqa", SLACK, target=True), moment(target=False), False),
    (Rule("r", "became_mqa", SLACK, target=False), moment(target=False), True),
])
def test_a_rule_matches_by_kind_tier_owner_and_target(rule, m, wanted):
    assert alerts.matches(rule, m) is wanted


def test_attempts_are_due_once_then_after_an_exponential_backoff():
    rule = Rule("r", "became_mqa", SLACK)
    assert [a.number for a in alerts.due([rule], [moment()], {}, T0)] == [1]
    sent = {("r", "acme:1"): alerts.State("sent", 1, None)}
    failed = {("r", "acme:1"): alerts.State("failed", 8, None)}
    waiting = {("r", "acme:1"): alerts.State("retrying", 2, T0 + timedelta(seconds=60))}
    assert alerts.due([rule], [moment()], sent, T0) == [] and alerts.due([rule], [moment()], failed, T0) == []
    assert alerts.due([rule], [moment()], waiting, T0 + timedelta(seconds=59)) == []
    assert [a.number for a in alerts.due([rule], [moment()], waiting, T0 + timedelta(seconds=60))] == [3]
    assert [alerts.backoff(n, 30).total_seconds() for n in (1, 2, 3, 4, 20)] == [30, 60, 120, 240, 86400]


def test_the_slack_message_is_text_and_blocks_with_slacks_control_characters_escaped():
    payload = alerts.slack_payload(moment(name="<!here> <https://evil|x> & *Acme*"), "https://pulse.example/")
    assert set(payload) == {"text", "blocks"}
    assert payload["text"].startswith("&lt;!here&gt; &lt;https://evil|x&gt; &amp; \u2217Acme\u2217 became "
                                      "marketing-qualified")
    assert [b["type"] for b in payload["blocks"]] == ["section", "context"]
    assert payload["blocks"][1]["elements"][0]["text"] == "<https://pulse.example/account?account=acme|Open in pulse>"


@pytest.mark.parametrize("name", [
    "*Acme*", "_Acme_", "~Acme~", "`Acme`", "```Acme```", "Acme *bold* _italic_ ~strike~ `code`", "a*b_c~d`e",
    "*", "**", "_*~`", "\uff0aAcme\uff0a \uff3fAcme\uff3f \uff40Acme\uff40", "> quoted", "&gt; quoted", "\uff1e quoted",
    "*Acme* <!channel> <https://evil.example|click>", ":white_check_mark: Acme",
])
def test_formatting_characters_in_a_name_or_owner_format_nothing_in_slack(name):
    """Slack mrkdwn has no escape: each of *, _, ~ and ` (and their full-width forms) becomes a look-alike,
    so the only formatting left is pulse's own bold title; a leading > quotes nothing."""
    payload = alerts.slack_payload(moment(name=name, owner=name, tier=name), "https://pulse.example/")
    title, more = payload["blocks"][0]["text"]["text"].split("\n", 1)
    assert title.startswith("*") and title.endswith("*") and "\n" not in more
    for text in (title[1:-1], more, payload["text"]):
        assert not set(text) & set("*_~`\uff0a\uff3f\uff40<>"), text
        assert not text.startswith(("&gt;", "\uff1e")), text


def test_the_look_alikes_read_as_the_name_was_written():
    assert alerts.slack_escape("*Acme* _Corp_ ~Ltd~ `x`") == \
        "\u2217Acme\u2217 \u02cdCorp\u02cd \u223cLtd\u223c \u02cbx\u02cb"
    assert alerts.slack_escape("> Acme & <Co>") == "\u00ad&gt; Acme &amp; &lt;Co&gt;"
    assert alerts.slack_escape("Plain Acme 3.0") == "Plain Acme 3.0"


def test_an_account_id_cannot_break_out_of_the_link():
    assert alerts.account_url("https://p.example", "a|b>&c d") == "https://p.example/account?account=a%7Cb%3E%26c%20d"


def test_the_webhook_body_is_json_with_the_account_and_the_email_has_no_header_injection():
    body = json.loads(alerts.webhook_body(Rule("crm", "became_mqa", Webhook("https://x", "s")), moment(), "https://p"))
    assert body["account"]["id"] == "acme" and body["rule"] == "crm" and body["at"] == T0.isoformat()
    dest = Email("mx", 25, "p@x.example", ("s@x.example",))
    msg = alerts.email_message(dest, moment(name="Acme\r\nBcc: everyone@x.example"), "https://p")
    assert msg["Bcc"] is None and "\n" not in msg["Subject"]
