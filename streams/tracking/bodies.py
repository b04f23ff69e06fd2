"""Request bodies: why one is not JSON, and how a rejected item is kept in the dead letters."""
from __future__ import annotations

import hashlib

import msgspec

# What msgspec raises for bodies that are not JSON: malformed, not UTF-8, nested too deep, 1e999.
NOT_JSON = (msgspec.DecodeError, ValueError, RecursionError)
# A rejected body is kept as its first bytes, its length and its SHA-256, not whole: junk from the
# internet must not fill the dead letters (they are kept for the retention period).
DEAD_LETTER_PREFIX = 4096
_json_encode = msgspec.json.encode


def why_not_json(raw: bytes, exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"body is not UTF-8 (invalid byte at position {exc.start})"
    if isinstance(exc, RecursionError):
        return "body is nested too deeply"
    if isinstance(exc, msgspec.ValidationError):
        return f"body is not valid JSON: {exc}"
    if not raw.strip():
        return "body is empty; expected a JSON object or array of events"
    return f"body is not valid JSON: {exc}"


def dead_letter(source: str, item, reasons: list[dict]) -> bytes:
    """The dead-letter message for one rejected item (raw bytes or a decoded JSON value)."""
    payload = item if type(item) is bytes else _json_encode(item)
    if len(payload) > DEAD_LETTER_PREFIX:
        # kept: enough to see what it was, and the length and hash to recognise it again
        digest = hashlib.sha256(payload).hexdigest()
        reasons = [*reasons, {"field": "$", "reason": f"stored truncated: the first {DEAD_LETTER_PREFIX} of "
                                                     f"{len(payload)} bytes, sha256 {digest}"}]
        message = {"source": source, "reasons": reasons, "payload_bytes": len(payload), "payload_sha256": digest,
                   "payload": payload[:DEAD_LETTER_PREFIX].decode(errors="replace")}
    else:
        message = {"source": source, "reasons": reasons, "payload": payload.decode(errors="replace")}
    return _json_encode(message)
