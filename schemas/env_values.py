"""A variable's text as a setting's type (schemas/settings.py); a value that does not fit names the variable."""
from __future__ import annotations

import typing
from pathlib import Path
from typing import Mapping


class SettingsError(ValueError):
    """A setting has a value pulse cannot use; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list; blanks dropped."""
    return tuple(part.strip() for part in (env.get(name) or "").split(",") if part.strip())


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not true or false")


def _parse(env: Mapping[str, str], var: str, kind) -> object:
    """A variable's text as the field's type; a value that does not fit names the variable."""
    kinds = set(typing.get_args(kind)) or {kind}
    if int in kinds:
        return _int(env, var, 0)
    if float in kinds:
        return _float(env, var, 0.0)
    if bool in kinds:
        return _bool(env, var, False)
    if Path in kinds:
        return Path(env[var]).expanduser().resolve()
    if typing.get_origin(kind) is tuple:
        return _list(env, var)
    return env[var]
