"""Which address is the client: the peer, unless the peer is a trusted proxy.

X-Forwarded-For is a list every proxy appends to, so only the hops our own proxies added can be
believed: walk it from the right, skipping trusted proxies; the first address that is not one of
ours is the client. Anything to its left was written by the client and may be forged.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Iterable

from schemas.event_rules import valid_ip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs)


class ClientIp:
    def __init__(self, trusted: Iterable[str]):
        self.trusted = networks(trusted)
        self._is_trusted = lru_cache(maxsize=4096)(self._lookup)

    def _lookup(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.trusted)

    def __call__(self, peer: str | None, forwarded_for: str | None) -> str:
        peer = peer or ""
        if not self.trusted or not forwarded_for or not self._is_trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",")[-32:]]
        for hop in reversed(hops):
            if not hop:
                continue
            if not valid_ip(hop):
                return peer  # a garbled header from a trusted proxy: do not guess
            if not self._is_trusted(hop):
                return hop
        # every hop is ours: the leftmost is as far back as we can see
        first = next((h for h in hops if h), peer)
        return first if valid_ip(first) else peer
