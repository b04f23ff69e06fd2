"""The environment each part of `pulse up` gets: the settings, and only the secrets that part uses.

A part that holds a secret it never uses can only leak it: the worker runs the SQL engine, and an
engine that reads `/proc/self/environ` hands over whatever that process was given. So:

  worker     the SQL token (it serves the endpoint), the fault token (it serves the switch),
             the writer's CLICKHOUSE_URL; none of the hooks' or the dashboard's secrets
  hooks      the webhook and email-link secrets; nothing of ClickHouse
  dashboard  its password, the SQL token, and ClickHouse as a reader (the reader URL when set)
  demo       the webhook and email-link secrets it signs with; nothing of ClickHouse

Variables of the operator's shell that look like secrets (`*TOKEN*`, `*SECRET*`, `*PASSWORD*`, ...) are
nobody's business here and go to no part. Pure: the environment comes in, the part's comes out.
"""
from __future__ import annotations

import re
from typing import Mapping

from schemas.settings import ENV

PARTS = ("worker", "hooks", "ui", "demo")

# secret variable -> the parts that use it
SECRETS: dict[str, frozenset[str]] = {
    "PULSE_SQL_TOKEN": frozenset({"worker", "ui"}),
    "PULSE_FAULT_TOKEN": frozenset({"worker"}),
    "PULSE_UI_PASSWORD": frozenset({"ui"}),
    "PULSE_HOOK_SECRET": frozenset({"hooks", "demo"}),
    "PULSE_LINK_SECRET": frozenset({"hooks", "demo"}),
    # URLs that carry a ClickHouse user's password
    "CLICKHOUSE_URL": frozenset({"worker", "ui"}),
    "CLICKHOUSE_READER_URL": frozenset({"ui"}),
}

# A foreign variable with one of these in its name is taken for a credential (AWS_SECRET_ACCESS_KEY,
# GITHUB_TOKEN, PGPASSWORD, ...). pulse's own settings are named in ENV and judged by SECRETS instead
# (PULSE_TOKEN_MAX_AGE_DAYS is no secret).
_CREDENTIAL = re.compile(r"SECRET|TOKEN|PASSW|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH", re.IGNORECASE)
_SETTINGS = frozenset(ENV.values())


def part_environ(part: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of one part (worker, hooks, ui, demo), from the supervisor's."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; parts: {', '.join(PARTS)}")
    out = {}
    for name, value in environ.items():
        if name in SECRETS:
            if part in SECRETS[name]:
                out[name] = value
        elif name in _SETTINGS or not _CREDENTIAL.search(name):
            out[name] = value
    if part == "ui" and environ.get("CLICKHOUSE_READER_URL") and environ.get("CLICKHOUSE_URL"):
        # The dashboard only reads: it talks to ClickHouse as the reader, never with the writer's password.
        out["CLICKHOUSE_URL"] = environ["CLICKHOUSE_READER_URL"]
    return out
