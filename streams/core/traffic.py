"""Traffic that is not a person (issue 19): the rules a single touch decides on its own. Pure.

Every touch gets a class, `traffic`, and a short machine-readable `traffic_reason`:

  person         a person (reason "")
  internal       the company's own people: email domain in PULSE_INTERNAL_DOMAINS (`internal_domain:acme.com`)
                 or address in PULSE_INTERNAL_IP_RANGES (`internal_ip:10.0.0.0/8`)
  scanner        a mail security gateway: a known scanner user agent (`scanner_ua:Barracuda`), a HEAD
                 request for a tracked link or image (`head_request`); the timing rules are behaviour,
                 decided on the stored touches (streams/traffic_job.py)
  bot            a crawler, preview bot or monitor by user agent, from crawlerdetect's maintained list
                 (`ua:Googlebot`), a headless browser (`headless:HeadlessChrome`); the rate and
                 engaged-time rules are behaviour (streams/traffic_job.py)
  privacy_proxy  an email open fetched by Apple Mail Privacy Protection: from Apple's network
                 (`mpp:17.0.0.0/8`) or with MPP's bare user agent "Mozilla/5.0" (`mpp:ua`)

The first rule that matches wins, in that order: internal (our own people are ours whatever they
browse with), then HEAD and scanner agents, headless markers, MPP (opens only), crawlers.

IP rules match the address as stored (truncated to its /24 or /48 unless PULSE_STORE_FULL_IPS), in the
live path too: a stored touch must classify the same when it is re-scored, so a range narrower than
/24 matches only through its network address (give internal ranges as /24 or wider).
"""
from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from schemas.events import Touch

PERSON, BOT, SCANNER, PRIVACY_PROXY, INTERNAL = "person", "bot", "scanner", "privacy_proxy", "internal"
CLASSES = (PERSON, BOT, SCANNER, PRIVACY_PROXY, INTERNAL)
# Reasons decided by behaviour on the stored touches (streams/traffic_job.py), not by the touch alone.
BEHAVIOUR_PREFIXES = ("rate:", "no_engaged_seconds", "scanner:")
MAX_REASON = 96

# Mail security gateways that announce themselves (substrings, case-insensitive). Most rewrite links
# and fetch them from their own networks with a browser-like agent: those the timing rules catch.
SCANNER_MARKERS = ("Barracuda", "Proofpoint", "Mimecast", "Microsoft-URLAnalyzer", "SafeLinks", "IronPort",
                   "FortiMail", "Sophos", "Trend Micro", "TrendMicro", "Symantec", "Forcepoint", "FireEye",
                   "Zscaler", "Check Point", "SonicWALL", "Cisco-ESA")
# Automated browsers that keep a browser's agent but name their engine.
HEADLESS_MARKERS = ("HeadlessChrome", "PhantomJS", "Puppeteer", "Playwright", "Selenium", "SlimerJS",
                    "Lighthouse")
# Webmail image proxies that fetch an email's images when the person opens it (Gmail, Yahoo): a
# person's open, though crawler lists name them.
OPEN_PROXIES = ("GoogleImageProxy", "YahooMailProxy")
# Apple Mail Privacy Protection fetches images with this agent and nothing after it.
MPP_USER_AGENT = "Mozilla/5.0"
# Apple's own network (ARIN allocation 17.0.0.0/8, AS714), where MPP's image fetches come from; a
# file in PULSE_MPP_IP_RANGES_FILE (e.g. Apple's published egress list) adds to it. See the README.
MPP_RANGES_FILE = Path(__file__).with_name("mpp_ranges.txt")


@dataclass(frozen=True, slots=True)
class Verdict:
    traffic: str = PERSON
    reason: str = ""


PERSON_VERDICT = Verdict()


class Ranges:
    """CIDR ranges, looked up by prefix length: a handful of set probes per address, however many ranges."""

    def __init__(self, cidrs: Iterable[str]):
        self.cidrs: list[str] = []
        self._by_len: dict[tuple[int, int], dict[int, str]] = {}
        for cidr in cidrs:
            net = ipaddress.ip_network(cidr.strip(), strict=False)
            self.cidrs.append(str(net))
            self._by_len.setdefault((net.version, net.prefixlen), {})[int(net.network_address) >> (
                net.max_prefixlen - net.prefixlen)] = str(net)
        # most specific first, so the reason names the narrowest range
        self._lengths = sorted(self._by_len, key=lambda k: -k[1])
        # stored addresses are truncated to their network, so a few thousand make up most touches
        self._cached = lru_cache(maxsize=65_536)(self._match)

    def match(self, ip: str) -> str | None:
        if not ip or not self._by_len:
            return None
        return self._cached(ip)

    def _match(self, ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        value, bits = int(addr), addr.max_prefixlen
        for version, length in self._lengths:
            if version == addr.version:
                found = self._by_len[(version, length)].get(value >> (bits - length))
                if found is not None:
                    return found
        return None


def read_ranges(path: Path | None) -> list[str]:
    """CIDRs of a ranges file: the first comma-separated column of each line; # starts a comment."""
    if path is None:
        return []
    out = []
    for line in path.read_text().splitlines():
        cell = line.split("#", 1)[0].split(",", 1)[0].strip()
        if cell:
            out.append(cell)
    return out


@dataclass(frozen=True)
class TrafficRules:
    internal_domains: frozenset[str] = frozenset()
    internal_ranges: Ranges = field(default_factory=lambda: Ranges(()))
    mpp_ranges: Ranges = field(default_factory=lambda: Ranges(read_ranges(MPP_RANGES_FILE)))
    # the behaviour rules' settings (applied on the stored touches, streams/traffic_job.py)
    max_views_per_minute: int = 30
    scanner_seconds: float = 10.0

    @classmethod
    def of(cls, internal_domains: Iterable[str] = (), internal_ranges: Iterable[str] = (),
           mpp_file: Path | None = None, max_views_per_minute: int = 30,
           scanner_seconds: float = 10.0) -> "TrafficRules":
        return cls(frozenset(d.strip().lower().lstrip("@") for d in internal_domains if d.strip()),
                   Ranges(internal_ranges), Ranges(read_ranges(MPP_RANGES_FILE) + read_ranges(mpp_file)),
                   max_views_per_minute, scanner_seconds)

    def fingerprint(self) -> str:
        """What the classification depends on, as text: a change re-scores stored touches."""
        return "|".join([str(self.max_views_per_minute), f"{self.scanner_seconds:g}",
                         ",".join(sorted(self.internal_domains)), ",".join(sorted(self.internal_ranges.cidrs)),
                         ",".join(sorted(self.mpp_ranges.cidrs)), ",".join(SCANNER_MARKERS),
                         ",".join(HEADLESS_MARKERS), ",".join(OPEN_PROXIES), _crawler_list_version()])


def classify(event: Touch, email: str | None, ip: str | None, rules: TrafficRules) -> Verdict:
    """The class of one touch from itself alone. `email` is the person's (stitched included), `ip` as stored."""
    if email and rules.internal_domains:
        internal = _internal_domain(email.rpartition("@")[2], rules.internal_domains)
        if internal:
            return Verdict(INTERNAL, f"internal_domain:{internal}")
    if ip:
        internal = rules.internal_ranges.match(ip)
        if internal:
            return Verdict(INTERNAL, f"internal_ip:{internal}")
    props = event.properties
    if props and str(props.get("request_method", "")).upper() == "HEAD":
        return Verdict(SCANNER, "head_request")
    agent = event.user_agent
    if agent:
        verdict = by_user_agent(agent)
        if verdict.traffic != PERSON and verdict.traffic != PRIVACY_PROXY:
            return verdict
    if type(event).__struct_config__.tag == "email_open":
        mpp = rules.mpp_ranges.match(ip or "")
        if mpp:
            return Verdict(PRIVACY_PROXY, f"mpp:{mpp}")
        if agent is not None and agent.strip() == MPP_USER_AGENT:
            return Verdict(PRIVACY_PROXY, "mpp:ua")
    return PERSON_VERDICT


@lru_cache(maxsize=8192)
def by_user_agent(agent: str) -> Verdict:
    """Scanner, headless or crawler by the user agent alone (a few agents make up most traffic: cached)."""
    lower = agent.lower()
    for marker in SCANNER_MARKERS:
        if marker.lower() in lower:
            return Verdict(SCANNER, f"scanner_ua:{marker}")
    for marker in HEADLESS_MARKERS:
        if marker.lower() in lower:
            return Verdict(BOT, f"headless:{marker.rstrip('/')}")
    if any(proxy.lower() in lower for proxy in OPEN_PROXIES):
        return PERSON_VERDICT
    detector = _detector()
    with _DETECTOR_LOCK:  # the detector keeps its last matches: the sink thread re-scores too
        if detector.isCrawler(agent):
            return Verdict(BOT, _reason("ua:", detector.getMatches() or "crawler"))
    return PERSON_VERDICT


def _reason(prefix: str, text: str) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in str(text))
    return (prefix + clean)[:MAX_REASON]


@lru_cache(maxsize=65_536)
def _internal_domain(domain: str, internal: frozenset[str]) -> str | None:
    """The internal domain `domain` is, or is a subdomain of (None when neither)."""
    parts = domain.split(".")
    for i in range(len(parts) - 1):
        candidate = ".".join(parts[i:])
        if candidate in internal:
            return candidate
    return None


_DETECTOR_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _detector():
    from crawlerdetect import CrawlerDetect

    return CrawlerDetect()


def _crawler_list_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "crawlerdetect " + version("crawlerdetect")
    except PackageNotFoundError:  # pragma: no cover - a declared dependency
        return "crawlerdetect ?"
