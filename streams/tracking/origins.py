"""The browser-origin allow-list for the public endpoints (CORS and the Origin / Referer check).

An empty list allows every origin (development). A request without an Origin header is not from a
browser page (curl, a server): the allow-list cannot judge it, the rate limit still applies.
"""
from __future__ import annotations

from urllib.parse import urlsplit


class Origins:
    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = frozenset(_normal(o) for o in allowed if o != "*")
        self.any = not self.allowed or "*" in allowed

    def allows(self, origin: str | None) -> bool:
        if self.any or not origin:
            return True
        return _normal(origin) in self.allowed

    def allows_referer(self, referer: str | None) -> bool:
        """Pixels are images: browsers send a Referer, not an Origin."""
        if self.any or not referer:
            return True
        parts = urlsplit(referer)
        return _normal(f"{parts.scheme}://{parts.netloc}") in self.allowed

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        if not origin or not self.allows(origin):
            return {}
        return {
            "Access-Control-Allow-Origin": "*" if self.any else origin,
            "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        }


def _normal(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
