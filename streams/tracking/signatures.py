"""Webhook authentication: `X-Pulse-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.

The timestamp (`X-Pulse-Timestamp`, unix seconds) is inside the MAC and must be within 5 minutes of
the receiver's clock, so a captured request cannot be replayed later. Several secrets may be valid at
once (rotation: add the new one, move senders over, remove the old one).
"""
from __future__ import annotations

import hashlib
import hmac
import re

TOLERANCE_S = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """What a sender adds to its POST (used by tests, the bench and example code)."""
    return {"X-Pulse-Timestamp": str(timestamp), "X-Pulse-Signature": sign(secret, timestamp, body)}


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"sha256=[0-9a-fA-F]{64}")


def check_headers(secrets: tuple[str, ...], signature: str | None, timestamp: str | None, now: float) -> str | None:
    """What can be judged before the body is read: configuration, the headers' shape, the clock window.

    The hooks call this first, so an unsigned or stale request is answered without reading its body.
    Headers are matched as ASCII patterns (not str.isdigit, which takes '²' and Arabic digits): any
    other byte is a plain 401, never an exception.
    """
    if not secrets:
        return "webhooks are disabled: no shared secret is configured (PULSE_HOOK_SECRET)"
    if not signature or not timestamp:
        return "missing X-Pulse-Signature or X-Pulse-Timestamp header"
    if not _TIMESTAMP.fullmatch(timestamp.strip()):
        return "X-Pulse-Timestamp must be unix seconds"
    if abs(now - int(timestamp)) > TOLERANCE_S:
        return f"X-Pulse-Timestamp is more than {TOLERANCE_S // 60} minutes from the server's clock"
    if not _SIGNATURE.fullmatch(signature.strip()):
        return "X-Pulse-Signature must be sha256=<64 hex digits>"
    return None


def check(secrets: tuple[str, ...], signature: str | None, timestamp: str | None, body: bytes,
          now: float) -> str | None:
    """None when the request is authentic; otherwise the reason it is not (safe to tell the sender)."""
    problem = check_headers(secrets, signature, timestamp, now)
    if problem is not None:
        return problem
    given = signature.strip().lower()
    for secret in secrets:
        if hmac.compare_digest(sign(secret, timestamp.strip(), body), given):
            return None
    return "X-Pulse-Signature does not match the body and timestamp"
