"""The Kafka clients' complaints during an outage: a few lines per interval, drawn as a timeline."""
from __future__ import annotations

import logging

from streams.quiet_logs import RepeatLimiter


def record(name: str, msg: str, *args, level=logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_one_line_per_kind_and_interval_with_what_was_held_back():
    clock = Clock()
    limiter = RepeatLimiter(interval=30, burst=3, clock=clock)
    shown = []
    # t (s):   0 ........ 29.9 | 30 ........ 59.9 | 60
    # node 1:  x x x x ... x   | x x x ... x      | x
    for tenth in range(0, 601):
        clock.now = tenth / 10
        r = record("aiokafka.conn", "Unable connect to node with id %s: %s", 111, "refused")
        if limiter.filter(r):
            shown.append((clock.now, r.getMessage()))
    assert [t for t, _ in shown] == [0.0, 30.0, 60.0]
    assert shown[0][1] == "Unable connect to node with id 111: refused"
    assert shown[1][1].endswith("[and 299 more aiokafka messages not shown, at most 3 a 30 s]")


def test_at_most_a_burst_of_kinds_per_library_and_interval():
    limiter = RepeatLimiter(interval=30, burst=3, clock=lambda: 5.0)
    kinds = ["Failed fetch messages from %s", "Unable to update metadata from %s", "Heartbeat failed %s",
             "Group Coordinator Request failed: %s", "Unable connect to %s"]
    passed = [limiter.filter(record("aiokafka.x", k, 1)) for k in kinds]
    assert passed == [True, True, True, False, False]
    # another library has its own budget; pulse's own lines and anything critical always pass
    assert limiter.filter(record("faust.transport", "Failed fetch %s", 1))
    assert all(limiter.filter(record("pulse.worker", "Kafka is unreachable")) for _ in range(100))
    assert limiter.filter(record("aiokafka.x", "Failed fetch messages from %s", 1, level=logging.CRITICAL))


def test_addresses_and_numbers_do_not_make_a_new_kind():
    limiter = RepeatLimiter(interval=30, burst=3, clock=lambda: 0.0)
    assert limiter.filter(record("aiokafka", "Unclosed AIOKafkaConsumer <object at 0x7f85a4296b90>"))
    assert not limiter.filter(record("aiokafka", "Unclosed AIOKafkaConsumer <object at 0x7f859bb46590>"))
