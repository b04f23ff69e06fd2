"""The target-account registry as an in-memory lookup: accounts by id, by email domain, by IP range.

Built from registry records (the `registry` topic, or the ClickHouse dimension tables at start).
IP ranges are kept per prefix length, so a lookup is at most 33 (IPv4) or 129 (IPv6) dict probes
whatever the number of ranges: longest prefix first, so the most specific range wins.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from sys import intern

import msgspec

from schemas.registry import AccountRecord, ContactRecord


@dataclass
class Registry:
    accounts: dict[str, AccountRecord] = field(default_factory=dict)
    by_domain: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, ContactRecord] = field(default_factory=dict)
    # {(version, prefixlen): {network_int: account_id}}
    _ranges: dict[tuple[int, int], dict[int, str]] = field(default_factory=dict)
    _lengths: dict[int, list[int]] = field(default_factory=dict)

    def upsert_account(self, account: AccountRecord) -> None:
        old = self.accounts.get(account.account_id)
        if old is not None:
            for domain in old.domains:
                if self.by_domain.get(domain) == old.account_id:
                    del self.by_domain[domain]
            for cidr in old.ip_ranges:
                net = ipaddress.ip_network(cidr, strict=False)
                self._ranges.get((net.version, net.prefixlen), {}).pop(int(net.network_address), None)
        self.accounts[account.account_id] = account
        for domain in account.domains:
            self.by_domain[domain.lower()] = account.account_id
        for cidr in account.ip_ranges:
            net = ipaddress.ip_network(cidr, strict=False)
            key = (net.version, net.prefixlen)
            if key not in self._ranges:
                self._ranges[key] = {}
                # a new list, not sorted in place: the sink thread may be reading the old one (re-scoring)
                lengths = self._lengths.get(net.version, [])
                self._lengths[net.version] = sorted([*lengths, net.prefixlen], reverse=True)
            self._ranges[key][int(net.network_address)] = account.account_id

    def upsert_contact(self, contact: ContactRecord) -> None:
        # A million contacts share their accounts' ids, five roles and far fewer titles than people: one string
        # each, not one per contact (100-165 MB less held at a million contacts, BENCHMARKS.md).
        self.contacts[contact.email] = msgspec.structs.replace(
            contact, account_id=intern(contact.account_id), title=intern(contact.title), role=intern(contact.role))

    def account_for_domain(self, domain: str) -> str | None:
        """Exact domain first, then each parent (mail.acme.com -> acme.com)."""
        while domain:
            found = self.by_domain.get(domain)
            if found is not None:
                return found
            _, _, domain = domain.partition(".")
        return None

    def account_for_ip(self, ip: str) -> str | None:
        parsed = _parse_ip(ip)
        if parsed is None:
            return None
        version, value = parsed
        bits = 32 if version == 4 else 128
        for length in self._lengths.get(version, ()):
            found = self._ranges[(version, length)].get(value >> (bits - length) << (bits - length))
            if found is not None:
                return found
        return None


def _parse_ip(ip: str) -> tuple[int, int] | None:
    """(version, integer) of an address; IPv4 without the ipaddress module (it is the hot path)."""
    parts = ip.split(".")
    if len(parts) == 4:
        try:
            a, b, c, d = (int(p) for p in parts)
        except ValueError:
            return None
        if 0 <= a <= 255 and 0 <= b <= 255 and 0 <= c <= 255 and 0 <= d <= 255:
            return 4, (a << 24) | (b << 16) | (c << 8) | d
        return None
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return addr.version, int(addr)
