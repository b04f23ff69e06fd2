"""Alert rules (`alerts.toml`, PULSE_ALERTS_FILE): which account moments go where.

Every problem of the file is named at once, each with its rule and field, so an operator fixes the file in
one pass. Secrets (Slack and webhook URLs, webhook signing secrets, SMTP passwords) are never in the file: it
names the environment variables that hold them (`url_env`, `secret_env`, `password_env`), read when the file
is loaded. A generic webhook's URL may be written in the file (`url`) or taken from `url_env`; every URL must
be http(s), so a rule can never make the worker open a file:// or gopher:// address.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from schemas.env_values import SettingsError

KINDS = ("became_mqa", "surging", "re_engaged", "first_meeting", "sla_breach")
DESTINATIONS = ("slack", "webhook", "email")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ENV = re.compile(r"[A-Z_][A-Z0-9_]{0,127}")
_EMAIL = re.compile(r"[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
RETRY_WINDOW_S = 12 * 3600  # the retries of one alert all fall within this (half the 24-hour lookback)
_RULE_KEYS = {"name", "kind", "tiers", "owners", "target", *DESTINATIONS}
_DEST_KEYS = {"slack": {"url_env"}, "webhook": {"url", "url_env", "secret_env"},
              "email": {"host", "port", "from", "to", "starttls", "user", "password_env"}}


class AlertRulesError(SettingsError):
    """The rules file cannot be used; `problems` names each one as `rule "name" field: what is wrong`.
    A SettingsError: `pulse worker` stops at start with every problem listed, as for a bad variable."""

    def __init__(self, path, problems: list[str]):
        self.problems = problems
        super().__init__(f"PULSE_ALERTS_FILE {path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Slack:
    url: str
    kind = "slack"


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    kind = "webhook"


@dataclass(frozen=True)
class Email:
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    starttls: bool = True
    user: str = ""
    password: str | None = None
    kind = "email"


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    destination: Slack | Webhook | Email
    tiers: tuple[str, ...] = ()    # none = every tier
    owners: tuple[str, ...] = ()   # none = every owner
    target: bool | None = None     # True = target accounts only, False = the others only, None = both


@dataclass(frozen=True)
class AlertRules:
    rules: tuple[Rule, ...] = ()
    retry_base_seconds: float = 30.0  # the first retry waits this long, each next one twice as long
    max_attempts: int = 8             # then the delivery is recorded `failed` and not tried again


def load(path: Path, env: Mapping[str, str]) -> AlertRules:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AlertRulesError(path, [f"cannot read the file: {exc}"]) from None
    return parse(data, env, path)


def parse(data: dict, env: Mapping[str, str], path="alerts.toml") -> AlertRules:
    """The rules of a parsed TOML document; every problem at once (AlertRulesError)."""
    problems: list[str] = []
    unknown = sorted(set(data) - {"rule", "retry_base_seconds", "max_attempts"})
    problems += [f"top level: unknown key {k!r} (rules are [[rule]] tables)" for k in unknown]
    base = data.get("retry_base_seconds", 30.0)
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not 0.1 <= base <= 3600:
        problems.append("top level retry_base_seconds: must be a number of seconds from 0.1 to 3600")
    attempts = data.get("max_attempts", 8)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 30:
        problems.append("top level max_attempts: must be a whole number from 1 to 30")
    if not problems and float(base) * (2 ** (int(attempts) - 1) - 1) > RETRY_WINDOW_S:
        # moments are looked at for 24 hours (streams/alerts_job.LOOKBACK): every retry must fall inside them
        problems.append(f"top level max_attempts: {attempts} attempts {base:g} s apart and doubling take more than "
                        f"{RETRY_WINDOW_S // 3600} hours; use fewer attempts or a shorter retry_base_seconds")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        problems.append("top level rule: write each rule as a [[rule]] table")
        raw_rules = []
    rules, names = [], set()
    for i, raw in enumerate(raw_rules, 1):
        rule = _rule(raw, i, env, problems)
        if rule is not None and rule.name in names:
            problems.append(f'rule "{rule.name}" name: used by an earlier rule too')
        elif rule is not None:
            names.add(rule.name)
            rules.append(rule)
    if problems:
        raise AlertRulesError(path, problems)
    return AlertRules(tuple(rules), float(base), int(attempts))


def _rule(raw, i: int, env: Mapping[str, str], problems: list[str]) -> Rule | None:
    if not isinstance(raw, dict):
        problems.append(f"rule {i}: must be a table")
        return None
    name = raw.get("name")
    label = f'rule "{name}"' if isinstance(name, str) and _NAME.fullmatch(name) else f"rule {i}"
    before = len(problems)
    say = lambda field, what: problems.append(f"{label} {field}: {what}")  # noqa: E731
    if not (isinstance(name, str) and _NAME.fullmatch(name)):
        say("name", "required: lower-case letters, digits, - and _ (at most 64), starting with a letter or digit")
    for key in sorted(set(raw) - _RULE_KEYS):
        say(key, f"unknown key (known: {', '.join(sorted(_RULE_KEYS))})")
    kind = raw.get("kind")
    if kind not in KINDS:
        say("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    tiers, owners = _strings(raw, "tiers", say), _strings(raw, "owners", say)
    target = raw.get("target")
    if target is not None and not isinstance(target, bool):
        say("target", "must be true (target accounts only) or false (the others only)")
    given = [d for d in DESTINATIONS if d in raw]
    destination = None
    if len(given) != 1:
        say("destination", "give exactly one of [rule.slack], [rule.webhook], [rule.email]"
            + (f" (found {', '.join(given)})" if given else ""))
    else:
        destination = _destination(given[0], raw[given[0]], env, lambda f, w: say(f"{given[0]}.{f}", w))
    if len(problems) > before:
        return None
    return Rule(name, kind, destination, tiers, owners, target)


def _strings(raw: dict, key: str, say) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        say(key, "must be a list of non-empty strings")
        return ()
    return tuple(v.strip() for v in value)


def _destination(kind: str, raw, env: Mapping[str, str], say):
    if not isinstance(raw, dict):
        say("", "must be a table")
        return None
    for key in sorted(set(raw) - _DEST_KEYS[kind]):
        hint = " (secrets come from the environment: name the variable in url_env)" if key == "url" else ""
        say(key, f"unknown key{hint}")
    if kind == "slack":
        # a Slack incoming webhook URL is itself the credential: only ever from the environment
        return Slack(_url(_secret(raw, "url_env", env, say), "url_env", say))
    if kind == "webhook":
        if ("url" in raw) == ("url_env" in raw):
            say("url", "give the receiver's URL as url or, when it is secret, url_env (one of them)")
        url = raw["url"] if isinstance(raw.get("url"), str) else _secret(raw, "url_env", env, say)
        return Webhook(_url(url, "url" if "url" in raw else "url_env", say), _secret(raw, "secret_env", env, say))
    host, port, sender = raw.get("host"), raw.get("port", 587), raw.get("from")
    if not isinstance(host, str) or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,253}", host):
        say("host", "required: the SMTP server's host name")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        say("port", "must be a port number (1-65535)")
    if not isinstance(sender, str) or not _EMAIL.fullmatch(sender):
        say("from", "required: one email address")
    to = raw.get("to")
    if not isinstance(to, list) or not to or not all(isinstance(t, str) and _EMAIL.fullmatch(t) for t in to):
        say("to", "required: a list of email addresses")
    starttls, user = raw.get("starttls", True), raw.get("user", "")
    if not isinstance(starttls, bool):
        say("starttls", "must be true or false")
    if not isinstance(user, str):
        say("user", "must be a string")
    password = _secret(raw, "password_env", env, say) if "password_env" in raw else None
    return Email(str(host), port if isinstance(port, int) else 0, str(sender), tuple(to or ()), starttls is True,
                 str(user), password)


def _secret(raw: dict, key: str, env: Mapping[str, str], say) -> str:
    var = raw.get(key)
    if not isinstance(var, str) or not _ENV.fullmatch(var):
        say(key, "required: the NAME of an environment variable (upper-case letters, digits, _) holding it")
        return ""
    value = env.get(var, "")
    if not value:
        say(key, f"the environment variable {var} is not set")
    return value


def _url(url: str, field: str, say) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        say(field, "must be an http:// or https:// URL with a host")
    return url


def check_digest_settings(settings) -> None:
    """PULSE_DIGEST_AT, PULSE_DASHBOARD_URL, PULSE_DIGEST_TO/FROM and the SMTP port (Settings.check)."""
    if not _HHMM.fullmatch(settings.digest_at):
        raise SettingsError(f"PULSE_DIGEST_AT={settings.digest_at!r} must be HH:MM (24-hour, reporting time zone)")
    parts = urlsplit(settings.dashboard_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"PULSE_DASHBOARD_URL={settings.dashboard_url!r} must be an http(s) URL")
    bad = [a for a in (*settings.digest_to, settings.digest_from) if not _EMAIL.fullmatch(a)]
    if bad:
        raise SettingsError(f"PULSE_DIGEST_TO / PULSE_DIGEST_FROM: {', '.join(map(repr, bad))} is not an email address")
    if not 1 <= settings.smtp_port <= 65535:
        raise SettingsError("PULSE_SMTP_PORT must be a port number (1-65535)")
