"""alerts.toml: what parses into which rule, and every problem named at once with its rule and field."""
from __future__ import annotations

import tomllib

import pytest

from schemas.alert_rules import AlertRulesError, Email, Slack, Webhook, parse
from schemas.settings import Settings, SettingsError

ENV = {"SLACK_SALES": "https://hooks.slack.com/services/T0/B0/xyz", "HOOK_SECRET": "s3cret",
       "HOOK_URL": "https://crm.example/alerts", "SMTP_PW": "pw"}


def rules(text: str):
    return parse(tomllib.loads(text), ENV)


def problems(text: str, env=ENV) -> list[str]:
    with pytest.raises(AlertRulesError) as caught:
        parse(tomllib.loads(text), env)
    return caught.value.problems


GOOD = [
    ('[[rule]]\nname = "mqa"\nkind = "became_mqa"\n[rule.slack]\nurl_env = "SLACK_SALES"\n',
     ("mqa", "became_mqa", Slack(ENV["SLACK_SALES"]), (), (), None)),
    ('[[rule]]\nname = "surge-t1"\nkind = "surging"\ntiers = ["1"]\nowners = ["Avery"]\ntarget = true\n'
     '[rule.webhook]\nurl = "http://127.0.0.1:9/in"\nsecret_env = "HOOK_SECRET"\n',
     ("surge-t1", "surging", Webhook("http://127.0.0.1:9/in", "s3cret"), ("1",), ("Avery",), True)),
    ('[[rule]]\nname = "back"\nkind = "re_engaged"\ntarget = false\n[rule.webhook]\nurl_env = "HOOK_URL"\n'
     'secret_env = "HOOK_SECRET"\n',
     ("back", "re_engaged", Webhook(ENV["HOOK_URL"], "s3cret"), (), (), False)),
    ('[[rule]]\nname = "meet"\nkind = "first_meeting"\n[rule.email]\nhost = "smtp.example.com"\nport = 25\n'
     'from = "pulse@example.com"\nto = ["sales@example.com"]\nstarttls = false\nuser = "pulse"\n'
     'password_env = "SMTP_PW"\n',
     ("meet", "first_meeting", Email("smtp.example.com", 25, "pulse@example.com", ("sales@example.com",), False,
                                     "pulse", "pw"), (), (), None)),
    ('[[rule]]\nname = "sla"\nkind = "sla_breach"\n[rule.email]\nhost = "mx"\nfrom = "a@b.c"\nto = ["d@e.f"]\n',
     ("sla", "sla_breach", Email("mx", 587, "a@b.c", ("d@e.f",), True, "", None), (), (), None)),
]


@pytest.mark.parametrize("text, expected", GOOD, ids=[g[1][0] for g in GOOD])
def test_a_rule_parses_into_its_kind_filters_and_destination(text, expected):
    (rule,) = rules(text).rules
    assert (rule.name, rule.kind, rule.destination, rule.tiers, rule.owners, rule.target) == expected


def test_defaults_and_retry_settings():
    assert rules("").rules == () and rules("").max_attempts == 8 and rules("").retry_base_seconds == 30.0
    parsed = rules("retry_base_seconds = 0.5\nmax_attempts = 3\n")
    assert (parsed.retry_base_seconds, parsed.max_attempts) == (0.5, 3)


BAD = [
    ('[[rule]]\nname = "x"\nkind = "became_sql"\n[rule.slack]\nurl_env = "SLACK_SALES"\n',
     'rule "x" kind: \'became_sql\' is not one of became_mqa, surging, re_engaged, first_meeting, sla_breach'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n', 'rule "x" destination: give exactly one of'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.slack]\nurl_env = "SLACK_SALES"\n[rule.webhook]\nurl = "http://a"\n',
     "(found slack, webhook)"),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.slack]\nurl = "https://hooks.slack.com/services/T/B/c"\n',
     'rule "x" slack.url: unknown key (secrets come from the environment: name the variable in url_env)'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.slack]\nurl_env = "NOT_SET"\n',
     'rule "x" slack.url_env: the environment variable NOT_SET is not set'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.webhook]\nurl = "file:///etc/passwd"\nsecret_env = "HOOK_SECRET"\n',
     'rule "x" webhook.url: must be an http:// or https:// URL with a host'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.webhook]\nurl = "gopher://h/"\nsecret_env = "HOOK_SECRET"\n',
     'rule "x" webhook.url: must be an http:// or https:// URL with a host'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.webhook]\nurl = "https://a.example"\n',
     'rule "x" webhook.secret_env: required'),
    ('[[rule]]\nname = "x"\nkind = "surging"\ntiers = "1"\n[rule.slack]\nurl_env = "SLACK_SALES"\n',
     'rule "x" tiers: must be a list of non-empty strings'),
    ('[[rule]]\nname = "x"\nkind = "surging"\ntarget = "yes"\n[rule.slack]\nurl_env = "SLACK_SALES"\n',
     'rule "x" target: must be true'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.email]\nhost = "mx"\nfrom = "a@b.c"\nto = ["nobody"]\n',
     'rule "x" email.to: required: a list of email addresses'),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.email]\nhost = "mx"\nfrom = "a@b.c"\nto = ["d@e.f"]\n'
     'password = "plain"\n', 'rule "x" email.password: unknown key'),
    ('[[rule]]\nname = "Bad Name"\nkind = "surging"\n[rule.slack]\nurl_env = "SLACK_SALES"\n', "rule 1 name: required"),
    ('[[rule]]\nname = "x"\nkind = "surging"\n[rule.slack]\nurl_env = "SLACK_SALES"\n'
     '[[rule]]\nname = "x"\nkind = "surging"\n[rule.slack]\nurl_env = "SLACK_SALES"\n',
     'rule "x" name: used by an earlier rule too'),
    ("max_attempts = 0\n", "top level max_attempts: must be a whole number from 1 to 30"),
    ("rules = []\n", "top level: unknown key 'rules'"),
    ("retry_base_seconds = 600\nmax_attempts = 8\n", "top level max_attempts: 8 attempts 600 s apart and doubling take "
                                                    "more than 12 hours"),
]


@pytest.mark.parametrize("text, problem", BAD, ids=range(len(BAD)))
def test_a_bad_rule_is_named_with_its_rule_and_field(text, problem):
    assert any(problem in p for p in problems(text)), problems(text)


def test_every_problem_of_the_file_is_named_at_once():
    text = ('[[rule]]\nname = "a"\nkind = "nope"\n[rule.slack]\nurl_env = "NOT_SET"\n'
            '[[rule]]\nname = "b"\nkind = "surging"\nowners = [1]\n[rule.webhook]\nurl = "ftp://x"\n')
    found = problems(text)
    assert len(found) == 5, found
    assert [p.split(":")[0] for p in found] == ['rule "a" kind', 'rule "a" slack.url_env', 'rule "b" owners',
                                                'rule "b" webhook.url', 'rule "b" webhook.secret_env']


@pytest.mark.parametrize("env, message", [
    ({"PULSE_DIGEST_AT": "7:00"}, "PULSE_DIGEST_AT='7:00' must be HH:MM"),
    ({"PULSE_DIGEST_AT": "24:00"}, "PULSE_DIGEST_AT='24:00' must be HH:MM"),
    ({"PULSE_DASHBOARD_URL": "javascript:alert(1)"}, "PULSE_DASHBOARD_URL='javascript:alert(1)' must be an http(s)"),
    ({"PULSE_DIGEST_TO": "sales@example.com,not-an-address"}, "'not-an-address' is not an email address"),
])
def test_digest_settings_are_checked(env, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)
    assert Settings.from_env({"PULSE_DIGEST_AT": "23:59"}).digest_at == "23:59"
