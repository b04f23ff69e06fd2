"""Per-client token buckets: `rate` requests per second, up to `burst` at once. Clock passed in.

Keys are client IPs; an IPv6 client is keyed by its /64, since one host can use a whole /64.
Memory is bounded: buckets that have refilled are forgotten, and at `max_clients` the oldest go.
"""
from __future__ import annotations

import ipaddress


class RateLimiter:
    def __init__(self, rate: float, burst: int, max_clients: int = 100_000):
        self.rate = rate
        self.burst = float(burst)
        self.max_clients = max_clients
        self._buckets: dict[str, list[float]] = {}   # key -> [tokens, last refill time]

    def allow(self, client: str, now: float, cost: float = 1.0) -> bool:
        if self.rate <= 0:
            return True
        key = client_key(client)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._prune(now)
            bucket = self._buckets[key] = [self.burst, now]
        else:
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] >= cost:
            bucket[0] -= cost
            return True
        return False

    def retry_after(self, client: str) -> float:
        bucket = self._buckets.get(client_key(client))
        missing = 1.0 - (bucket[0] if bucket else self.burst)
        return max(0.0, missing / self.rate) if self.rate > 0 else 0.0

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, (_, last) in self._buckets.items() if now - last >= full_after]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_clients:  # still full: drop the least recently seen half
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k][1])
            for key in by_age[: len(by_age) // 2]:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def client_key(client: str) -> str:
    """The bucket of a client: an IPv4 address as it is, an IPv6 one by its /64.

    An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4
    client) is that IPv4 client: by /64 every IPv4 client would share one bucket.
    """
    if ":" not in client:
        return client
    try:
        address = ipaddress.IPv6Address(client)
    except ValueError:
        return client
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network(f"{address}/64", strict=False).network_address) + "/64"
