"""ClickHouse's errors read one way everywhere: the error code, and the engine's own sentence."""
from __future__ import annotations

import re

_CODE = re.compile(r"Code: (\d+)")


def error_code(exc: BaseException | str) -> int | None:
    """ClickHouse's error code in an exception (or its text), None when it carries none."""
    found = _CODE.search(str(exc))
    return int(found.group(1)) if found else None


def engine_text(exc: BaseException) -> str:
    """From "Code: ..." on: the engine's message without the client's wrapping."""
    text = str(exc)
    start = text.find("Code: ")
    return text[start:] if start >= 0 else text


def engine_sentence(exc: BaseException, limit: int = 400) -> str:
    """The engine's first sentence, without the stack trace it may carry (for a person to read)."""
    text = engine_text(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.split(". Stack trace")[0][:limit]
