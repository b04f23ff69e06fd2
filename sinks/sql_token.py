"""The SQL endpoint's token: PULSE_SQL_TOKEN, or one generated at the data owner's first start.

The generated token lives in <PULSE_DATA_DIR>/sql-token, readable by its owner only (mode 0600),
and is reused at every later start, so the dashboard, `pulse sql` and a BI tool configured once
keep working. Readers on the same machine read the same file.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from schemas.settings import Settings

FILE_NAME = "sql-token"
# The users a reader may name with the token (ClickHouse clients default to `default`); the dashboard
# names itself, so the endpoint serves it from a session of its own. Anyone holding the token is trusted.
READER_USER = "pulse_reader"
DASHBOARD_USER = "pulse_dashboard"
USERS = frozenset({"default", READER_USER, DASHBOARD_USER})


def token_path(settings: Settings) -> Path:
    return settings.data_dir / FILE_NAME


def where(settings: Settings) -> str:
    """Where a reader finds the token, in words (for error messages and `pulse up`)."""
    if settings.sql_token:
        return "PULSE_SQL_TOKEN"
    return f"the file {token_path(settings)}"


def read_token(settings: Settings) -> str | None:
    """The token a reader sends: the setting, else the owner's file; None when neither exists yet."""
    if settings.sql_token:
        return settings.sql_token
    try:
        return token_path(settings).read_text().strip() or None
    except FileNotFoundError:
        return None


def ensure_token(settings: Settings) -> str:
    """The token the endpoint checks: the setting, else the file's, created (0600) when missing."""
    token = read_token(settings)
    if token:
        return token
    path = token_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        # O_EXCL: two starters racing cannot each write their own; the loser reads the winner's.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token(settings) or _refuse_empty(path)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def _refuse_empty(path: Path) -> str:
    raise RuntimeError(f"{path} exists but is empty: delete it (a new token is generated) or set PULSE_SQL_TOKEN")
