"""The website snippet served at GET /t.js (source: t.js next to this file)."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

SOURCE = Path(__file__).with_name("t.js")


@lru_cache(maxsize=1)
def snippet() -> tuple[bytes, str]:
    """(body, ETag)."""
    body = SOURCE.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
