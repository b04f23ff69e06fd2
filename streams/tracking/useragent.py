"""The request's User-Agent as events carry it (issue 19): what a client sent, made safe to store.

A header is the client's own text: control characters (a header-injection attempt that a proxy let
through, a NUL) become "?", and it is cut at the contract's limit, since the request cannot be refused
for it (a pixel must always answer its image). A webhook's own `user_agent` field is validated as
any field is: longer is a 400 naming it.
"""
from __future__ import annotations

from schemas.events import MAX_LEN

LIMIT = MAX_LEN["user_agent"]


def user_agent(headers) -> str | None:
    raw = headers.get("User-Agent")
    if raw is None:
        return None
    clean = "".join(c if c.isprintable() else "?" for c in raw[:LIMIT])
    return clean or None
