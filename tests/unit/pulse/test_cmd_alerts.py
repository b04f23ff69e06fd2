"""`pulse alerts check`: the rules as the worker will read them, never a secret; a bad file names every problem."""
from __future__ import annotations

from pulse.cli import main

RULES = """
[[rule]]
name = "mqa"
kind = "became_mqa"
target = true
tiers = ["1"]
[rule.slack]
url_env = "SLACK_TEST_URL"

[[rule]]
name = "meet"
kind = "first_meeting"
[rule.email]
host = "smtp.example.com"
from = "pulse@example.com"
to = ["sales@example.com"]
"""


def test_check_lists_the_rules_without_their_secrets(tmp_path, monkeypatch, capsys):
    (tmp_path / "alerts.toml").write_text(RULES)
    monkeypatch.setenv("PULSE_ALERTS_FILE", str(tmp_path / "alerts.toml"))
    monkeypatch.setenv("SLACK_TEST_URL", "https://hooks.slack.com/services/T0/B0/very-secret-token")
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "2 rule(s); retries from 30 s, at most 8 attempts" in out
    assert "mqa: became_mqa, tiers 1, target accounts -> slack at hooks.slack.com" in out
    assert "meet: first_meeting -> email via smtp.example.com:587 to sales@example.com" in out
    assert "very-secret-token" not in out


def test_a_bad_file_is_a_setting_error_naming_every_problem(tmp_path, monkeypatch, capsys):
    (tmp_path / "alerts.toml").write_text(RULES.replace('kind = "first_meeting"', 'kind = "first_call"'))
    monkeypatch.setenv("PULSE_ALERTS_FILE", str(tmp_path / "alerts.toml"))
    monkeypatch.delenv("SLACK_TEST_URL", raising=False)
    assert main(["alerts", "check"]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and 'rule "mqa" slack.url_env: the environment variable SLACK_TEST_URL is not set' in err
    assert "rule \"meet\" kind: 'first_call' is not one of" in err
