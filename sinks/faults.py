"""What the sink does when ClickHouse says no: retry it, or isolate the row it refuses.

A store that is away, slow or overloaded (connection refused, timeout, too many parts, memory
limit) will take the same batch later: those errors are retried, and consumption waits. A row the
store can never take (a value out of the column's range, a type the column cannot hold) fails the
same way on every retry: bisecting the batch finds it in about log2(n) inserts, the rest of the
batch is written, and the row goes to the dead-letter table with the error.

`InjectedOutage` and `OutageSwitch` are the test/ops hook that makes the sink's inserts fail for a
while in embedded mode, where ClickHouse cannot be stopped apart from the worker (chDB runs
inside it). It exists only when PULSE_FAULT_INJECTION is set; the worker's health endpoint then arms
it with its token: `POST /admin/sink-outage?seconds=30` and `Authorization: Bearer $PULSE_FAULT_TOKEN`.
"""
from __future__ import annotations

import hmac
import math
import re
import struct
import threading
import time
from datetime import datetime
from typing import Callable, Sequence, TypeVar

import msgspec
from clickhouse_connect.driver.exceptions import DataError, OperationalError, ProgrammingError

from schemas.rows import RejectedRow, TouchRow
from sinks.errors import error_code

T = TypeVar("T")

# ClickHouse error codes that describe the data, not the server's condition: retrying cannot help.
# (6 CANNOT_PARSE_TEXT, 27 CANNOT_PARSE_INPUT_ASSERTION_FAILED, 32 ATTEMPT_TO_READ_AFTER_EOF,
#  38 CANNOT_PARSE_DATE, 41 CANNOT_PARSE_DATETIME, 53 TYPE_MISMATCH, 69 ARGUMENT_OUT_OF_BOUND,
#  70 CANNOT_CONVERT_TYPE, 72 CANNOT_PARSE_NUMBER, 117 INCORRECT_DATA, 131 TOO_LARGE_STRING_SIZE,
#  190 SIZES_OF_ARRAYS_DONT_MATCH, 321 VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE, 407 DECIMAL_OVERFLOW,
#  441 CANNOT_PARSE_UUID)
DATA_ERROR_CODES = frozenset({6, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 190, 321, 407, 441})
# the column, as ClickHouse names it in a Native insert error / a JSON insert error
_COLUMN = re.compile(r"column `([^`]+)`|the value of key `?(\w+)`?")


class InjectedOutage(OperationalError):
    """Raised by the sink's inserts while an injected outage lasts (looks like a server that is down)."""


def is_retryable(exc: BaseException) -> bool:
    """True when the same insert may succeed later; False when the data itself is refused."""
    if isinstance(exc, OperationalError):
        return True
    # clickhouse-connect serialises rows on the client: these mean a value does not fit its column.
    if isinstance(exc, (DataError, ProgrammingError, TypeError, ValueError, OverflowError, struct.error)):
        return False
    return error_code(exc) not in DATA_ERROR_CODES


def insert_isolating_bad_rows(
    insert: Callable[[Sequence[T]], object], rows: Sequence[T]
) -> tuple[list[T], list[tuple[T, BaseException]]]:
    """Insert rows; on an error retrying cannot fix, bisect until each refused row stands alone.

    Returns (rows stored, [(row refused, its error)]). `insert` retries transient errors itself and
    raises the others; an insert either stores all of its rows or none (one block, one part).
    """
    try:
        insert(rows)
        return list(rows), []
    except Exception as exc:
        if is_retryable(exc):
            raise
        if len(rows) == 1:
            return [], [(rows[0], exc)]
    middle = len(rows) // 2
    stored_a, refused_a = insert_isolating_bad_rows(insert, rows[:middle])
    stored_b, refused_b = insert_isolating_bad_rows(insert, rows[middle:])
    return stored_a + stored_b, refused_a + refused_b


def refused_row(row: TouchRow, exc: BaseException, now: datetime) -> RejectedRow:
    """The dead-letter record of a touch ClickHouse refused: the error, and the event to replay."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    column = _COLUMN.search(message)
    field = next((name for name in column.groups() if name), "$") if column else "$"
    reasons = [{"field": field, "reason": f"ClickHouse refused the row: {message}"}]
    # Keyed by event id: the same refused event replayed again replaces its dead letter, not adds one.
    return RejectedRow(now, "sink", msgspec.json.encode(reasons).decode(), row.payload, f"sink/{row.event_id}")


class FaultRequestError(ValueError):
    """A fault-injection request pulse refuses; `status` is the HTTP answer, the message names the field."""

    def __init__(self, status: int, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.status, self.field, self.reason = status, field, reason


def outage_seconds(raw: str | None, cap: float) -> float:
    """The outage a request asks for: a finite number of seconds from 0 (disarm) to `cap`.

    `float()` takes 'inf', 'nan' and '1e309': an endless outage, or one no comparison can end.
    """
    if raw is None or raw.strip() == "":
        raise FaultRequestError(400, "seconds", f"required: a number of seconds from 0 (disarm) to {cap:g}")
    try:
        seconds = float(raw)
    except ValueError:
        raise FaultRequestError(400, "seconds", f"{raw[:40]!r} is not a number") from None
    if not math.isfinite(seconds):
        raise FaultRequestError(400, "seconds", f"{raw[:40]!r} is not a finite number of seconds")
    if not 0 <= seconds <= cap:
        raise FaultRequestError(400, "seconds", f"{seconds:g} is outside 0..{cap:g} (PULSE_FAULT_MAX_SECONDS)")
    return seconds


def check_fault_token(authorization: str | None, header_token: str | None, expected: str) -> None:
    """Accept `Authorization: Bearer <token>` or `X-Pulse-Fault-Token: <token>`; 401 without one, 403 wrong.

    A custom header or an Authorization header makes a browser's cross-origin request a preflighted
    one, which this endpoint never answers: a web page cannot arm the switch even with a guess.
    """
    given = header_token
    if given is None and authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        given = value.strip() if scheme.lower() == "bearer" else None
    if not given:
        raise FaultRequestError(401, "token", "missing: send Authorization: Bearer <PULSE_FAULT_TOKEN> "
                                              "or X-Pulse-Fault-Token")
    # bytes, so a non-ASCII header is a wrong token rather than a TypeError; constant time
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
        raise FaultRequestError(403, "token", "not the fault-injection token")


class OutageSwitch:
    """A timer the test/ops hook arms: while it runs, the sink's inserts raise InjectedOutage."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._until = 0.0
        self._lock = threading.Lock()

    def fail_for(self, seconds: float) -> None:
        if not math.isfinite(seconds) or seconds < 0:  # callers validate (outage_seconds); this is the floor
            raise ValueError(f"an outage lasts a finite, non-negative number of seconds, not {seconds!r}")
        with self._lock:
            self._until = self._clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._until - self._clock())

    def check(self, table: str) -> None:
        left = self.remaining()
        if left > 0:
            raise InjectedOutage(f"injected outage: inserts into {table} fail for {left:.0f} more seconds")


class OutageClient:
    """Wraps the sink's ClickHouse client: inserts into the sink's tables consult the switch first.

    Only inserts are intercepted, and only for the tables the sink writes (touches, aggregates,
    dead letters): the registry and the health readings keep working, as they would against a
    server whose parts are read-only or whose disk is full for those tables.
    """

    SINK_TABLES = ("touches", "engagement_daily", "rejected_events")

    def __init__(self, client, switch: OutageSwitch):
        self._client = client
        self.switch = switch

    def insert(self, table: str, *args, **kwargs):
        self._check(table)
        return self._client.insert(table, *args, **kwargs)

    def raw_insert(self, table: str, *args, **kwargs):
        self._check(table)
        return self._client.raw_insert(table, *args, **kwargs)

    def _check(self, table: str) -> None:
        if table.rsplit(".", 1)[-1] in self.SINK_TABLES:
            self.switch.check(table)

    def __getattr__(self, name: str):
        return getattr(self._client, name)

