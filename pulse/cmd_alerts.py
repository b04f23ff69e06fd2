"""`pulse alerts check`: read PULSE_ALERTS_FILE as the worker will (secrets from this environment) and list
its rules, or every problem with its rule and field. Never prints a secret: destinations by kind and host."""
from __future__ import annotations

import sys
from urllib.parse import urlsplit

from schemas.alert_rules import Email, Rule, load
from schemas.settings import Settings


def describe(rule: Rule) -> str:
    dest = rule.destination
    where = (f"email via {dest.host}:{dest.port} to {', '.join(dest.to)}" if isinstance(dest, Email)
             else f"{dest.kind} at {urlsplit(dest.url).hostname}")
    filters = [f"tiers {', '.join(rule.tiers)}" if rule.tiers else "", f"owners {', '.join(rule.owners)}"
               if rule.owners else "", {True: "target accounts", False: "non-target accounts"}.get(rule.target, "")]
    return f"{rule.name}: {rule.kind}" + "".join(f", {f}" for f in filters if f) + f" -> {where}"


def cmd_check(args) -> int:
    import os

    settings = Settings.from_env()
    if settings.alerts_file is None:
        print("pulse: PULSE_ALERTS_FILE is not set: no alerts are sent", file=sys.stderr)
        return 1
    rules = load(settings.alerts_file, os.environ)  # a bad file: SettingsError, every problem (pulse/cli.py)
    print(f"{settings.alerts_file}: {len(rules.rules)} rule(s); retries from {rules.retry_base_seconds:g} s, "
          f"at most {rules.max_attempts} attempts")
    for rule in rules.rules:
        print(f"  {describe(rule)}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("alerts", help="alert rules (PULSE_ALERTS_FILE)")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("check", help="check the rules file and list its rules").set_defaults(func=cmd_check)
