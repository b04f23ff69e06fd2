"""Signed email-link tokens: campaign, recipient, when issued and (for clicks) the destination.

`<base64url(JSON [campaign, recipient, issued_at, url?])>.<base64url(HMAC-SHA256[:16])>`.
Signed, not encrypted: the recipient can read their own address in the link, nobody can change it.
The first secret signs; every configured secret verifies (rotation without breaking sent emails).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import msgspec

_CONTEXT = b"pulse-link-v1."
_MAC_BYTES = 16
MAX_TOKEN = 4096


@dataclass(frozen=True, slots=True)
class Claims:
    campaign_id: str
    recipient: str
    issued_at: int
    url: str | None = None


@dataclass(frozen=True, slots=True)
class BadToken:
    reason: str
    claims: Claims | None = None   # set when the signature is good but the token is too old


def sign(secret: str, claims: Claims) -> str:
    fields = [claims.campaign_id, claims.recipient, int(claims.issued_at)]
    if claims.url is not None:
        fields.append(claims.url)
    body = _b64(msgspec.json.encode(fields))
    return f"{body}.{_b64(_mac(secret, body))}"


def verify(secrets: tuple[str, ...], token: str, now: float, max_age_s: float,
           kind: str | None = None) -> Claims | BadToken:
    """The token's claims, or why it is not valid. `kind` ("open" / "click"): a token is valid only
    on its own kind of link (a click token carries its URL, an open token none), so an open token
    taken from an email cannot record clicks or send readers anywhere through /c/."""
    claims = _verify(secrets, token, now, max_age_s)
    if kind is None or isinstance(claims, BadToken) and claims.claims is None:
        return claims
    signed = claims if isinstance(claims, Claims) else claims.claims
    if (signed.url is not None) != (kind == "click"):
        return BadToken(f"not an email {kind} token")
    return claims


def _verify(secrets: tuple[str, ...], token: str, now: float, max_age_s: float) -> Claims | BadToken:
    if not secrets:
        return BadToken("no link secret is configured (PULSE_LINK_SECRET)")
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        return BadToken("not a pulse link token")
    body, _, mac = token.partition(".")
    try:
        given = _unb64(mac)
    except (binascii.Error, ValueError):
        return BadToken("not a pulse link token")
    if not any(hmac.compare_digest(_mac(s, body), given) for s in secrets):
        return BadToken("signature does not match (altered, or signed with another secret)")
    try:
        fields = msgspec.json.decode(_unb64(body))
        claims = Claims(*fields)
        if not (isinstance(claims.campaign_id, str) and isinstance(claims.recipient, str)
                and isinstance(claims.issued_at, int) and (claims.url is None or isinstance(claims.url, str))):
            raise TypeError
    except (binascii.Error, ValueError, TypeError, msgspec.DecodeError):
        return BadToken("signed but unreadable token")
    if now - claims.issued_at > max_age_s:
        return BadToken(f"link older than {int(max_age_s // 86400)} days", claims)
    if claims.issued_at - now > 300:
        return BadToken("link issued in the future", claims)
    return claims


def open_link(base_url: str, secret: str, campaign_id: str, recipient: str, issued_at: int) -> str:
    return f"{base_url.rstrip('/')}/o/{sign(secret, Claims(campaign_id, recipient, issued_at))}.gif"


def click_link(base_url: str, secret: str, campaign_id: str, recipient: str, issued_at: int, url: str) -> str:
    token = sign(secret, Claims(campaign_id, recipient, issued_at, url))
    return f"{base_url.rstrip('/')}/c/{token}?u={quote(url, safe='')}"


def destination(claims: Claims | BadToken | None, url: str | None, allowed_hosts: frozenset[str]) -> str | None:
    """Where a click may go: the signed URL, or an allow-listed one; None = nowhere (no open redirect).

    An expired token's URL was still signed by us, so the reader still reaches the page.
    """
    signed = claims.url if isinstance(claims, Claims) else (
        claims.claims.url if isinstance(claims, BadToken) and claims.claims else None)
    if signed is not None and is_web_url(signed):
        return signed
    if url and is_web_url(url) and host_of(url) in allowed_hosts:
        return url
    return None


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    # control characters: urlsplit drops some (tab, CR, LF) silently, but they would reach the
    # Location header, which aiohttp refuses by dropping the connection
    return (parts.scheme in ("http", "https") and bool(parts.hostname) and "\\" not in url and len(url) <= 2048
            and not any(c < " " or c == "\x7f" for c in url))


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _mac(secret: str, body: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT + body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or not text.replace("-", "").replace("_", "").isalnum() or not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
