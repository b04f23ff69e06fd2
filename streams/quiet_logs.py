"""The Kafka clients' repeated complaints, a few lines per interval instead of one per attempt.

While a broker is unreachable, aiokafka and Faust log every reconnect, fetch and coordinator attempt
("Unable connect to node", "Failed fetch messages", "Group Coordinator Request failed"): about 150
lines a second, hundreds of MB in an hour. `RepeatLimiter` lets through, per interval, the first
record of each kind and at most `burst` records of each library, and holds back the rest; the next
line let through says how many were held back. A kind is the message's template with its numbers
taken out (the node id, the attempt, the address vary; the trouble does not). pulse's own loggers are
never held back (they say an outage once, then once per interval), nor is anything CRITICAL.
"""
from __future__ import annotations

import logging
import re
import time

INTERVAL_S = 30.0
BURST = 3
# The loggers of the Kafka clients and of Faust (and mode, the service library under it).
NOISY = ("aiokafka", "kafka", "faust", "mode")
_NUMBERS = re.compile(r"0x[0-9a-fA-F]+|\d+")


class RepeatLimiter(logging.Filter):
    def __init__(self, interval: float = INTERVAL_S, burst: int = BURST, clock=time.monotonic,
                 noisy: tuple[str, ...] = NOISY):
        super().__init__()
        self.interval = interval
        self.burst = burst
        self.clock = clock
        self.noisy = noisy
        self._seen: dict[tuple[str, str], float] = {}      # kind -> when last let through
        self._libraries: dict[str, list] = {}              # library -> [window start, let through, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.noisy) or record.levelno >= logging.CRITICAL:
            return True
        library = record.name.split(".", 1)[0]
        kind = (library, _NUMBERS.sub("#", str(record.msg))[:200])
        now = self.clock()
        counts = self._libraries.setdefault(library, [now, 0, 0])
        if now - counts[0] >= self.interval:
            counts[0], counts[1] = now, 0
        if now - self._seen.get(kind, -self.interval) < self.interval or counts[1] >= self.burst:
            counts[2] += 1
            return False
        if len(self._seen) > 1000:  # bounded: a message with ever new text cannot grow it forever
            self._seen.clear()
        self._seen[kind] = now
        counts[1] += 1
        if counts[2]:
            record.msg = f"{record.msg} [and {counts[2]} more {library} messages not shown, at most " \
                         f"{self.burst} a {self.interval:.0f} s]"
            counts[2] = 0
        return True


def install(interval: float = INTERVAL_S) -> RepeatLimiter:
    """On every handler of the root logger (where Faust's, aiohttp's and basicConfig's records end up);
    call it after the logging set-up that adds handlers (the worker calls it before and after Faust's)."""
    root = logging.getLogger()
    # again later is fine: handlers added since (Faust's) get the same limiter, the others keep it
    limiter = next((f for h in root.handlers for f in h.filters if isinstance(f, RepeatLimiter)), None)
    limiter = limiter or RepeatLimiter(interval)
    for handler in root.handlers:
        if limiter not in handler.filters:
            handler.addFilter(limiter)
    return limiter
