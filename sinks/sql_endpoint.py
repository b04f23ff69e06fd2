"""The ClickHouse HTTP interface, read-only, served by the process that owns the chDB data.

Only one process may open a chDB data directory, so the owner serves reads for everyone else:
the dashboard, `pulse sql`, curl and any ClickHouse HTTP client. A request passes, in order:

- the `Host` check (a loopback name or PULSE_SQL_ALLOWED_HOSTS: no DNS rebinding) and, from a
  browser, the `Origin` check (no other web page may post here);
- the token, sent the ways ClickHouse clients send a password (basic auth as `default` or
  `pulse_reader`, `X-ClickHouse-User`/`X-ClickHouse-Key`, or `?user=&password=`);
- a session from a bounded pool (a full wait queue answers 503 with Retry-After; the dashboard,
  user `pulse_dashboard`, has a session of its own so analysts cannot starve it);
- sql_guard: the engine parses the text and only one read statement without files, network,
  processes, KILL, USE or SETTINGS runs;
- underneath, the session's own `readonly = 1` and its time, memory and result-size limits.

A session that saw any error is closed and replaced, never reused: this engine can hand a stopped
query's partial output to the next query on the same session. Query-string settings are ignored.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import re
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web
from clickhouse_connect.driver.client import Client

from schemas.settings import Settings
from sinks import sql_guard, sql_token, threads
from sinks.client import engine_reader_client
from sinks.errors import engine_text, error_code

if TYPE_CHECKING:
    from sinks.sql_writes import Writes

log = logging.getLogger("pulse.sql")

_HTTP_STATUS = {"164": 403, "60": 404, "81": 404, "62": 400, "47": 400, "46": 400, "159": 408, "396": 400,
                "241": 400, "497": 403, "516": 401, "202": 503}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# How much longer than the engine's own time limit a request may take before pulse stops waiting.
GRACE_S = 5.0


class Busy(Exception):
    """Every session is busy and the wait queue is full (or the wait took too long)."""


@dataclass
class _Slot:
    """A reader session, and the session its statements are parsed on (a query's syntax tree has more
    rows than a small max_result_rows: the parser has no result limits, and runs nothing but parses)."""
    reader: Client
    parser: Client

    def close(self) -> None:
        self.reader.close()
        self.parser.close()


class _Pool:
    """Sessions handed out first come, first served, with at most `queue` requests waiting."""

    def __init__(self, name: str, size: int, queue: int):
        self.name, self.size, self.queue = name, size, queue
        self.free: list[_Slot] = []
        self.waiters: deque[asyncio.Future] = deque()

    async def acquire(self, wait_s: float) -> _Slot:
        if self.free:
            return self.free.pop()
        if len(self.waiters) >= self.queue:
            raise Busy(f"{len(self.waiters)} queries already wait for one of {self.size} {self.name} sessions")
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter), wait_s)
        except asyncio.TimeoutError:
            if waiter.done():  # handed over just as the wait ran out
                return waiter.result()
            raise Busy(f"no {self.name} session came free within {wait_s:g} s") from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(waiter.result())  # handed over just as this request was cancelled
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            if waiter in self.waiters:
                self.waiters.remove(waiter)

    def release(self, client: _Slot) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(client)
                return
        self.free.append(client)


class SqlEndpoint:
    def __init__(self, settings: Settings, writes: "Writes | None" = None):
        self.settings = settings
        self._writes = writes  # only the shared test store (`pulse store serve`) takes writes
        self.default_database = settings.database
        self._readers = _Pool("reader", max(1, settings.sql_sessions), settings.sql_queue)
        self._dashboard = _Pool("dashboard", 1, settings.sql_queue)
        # a thread per session, and a few to close and replace sessions beside them
        self._executor = threads.executor("pulse-sql", self._readers.size + self._dashboard.size + 2)
        self._hosts = LOOPBACK_HOSTS | {h.lower() for h in settings.sql_allowed_hosts}
        if settings.sql_host not in ("", "0.0.0.0", "::"):
            self._hosts |= {settings.sql_host.lower()}
        self._policy = sql_guard.STATIC
        self._token = ""
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._replacing: set[asyncio.Task] = set()

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._token = sql_token.ensure_token(self.settings)
        if self._writes is not None:
            await self._writes.open()
        for pool in (self._readers, self._dashboard):
            for _ in range(pool.size):
                pool.free.append(await loop.run_in_executor(self._executor, self._open_slot))
        # every table function this engine has that is not on the allowed list, as a scalar too
        parser = self._readers.free[-1].parser
        names = await loop.run_in_executor(self._executor, parser.raw_query,
                                           "SELECT name FROM system.table_functions FORMAT TSVRaw")
        self._policy = sql_guard.Policy.for_engine({n.lower() for n in names.decode().split()})
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("GET", "/", self.handle)
        app.router.add_route("POST", "/", self.handle)
        app.router.add_get("/ping", _ping)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        host, port = host or self.settings.sql_host, port or self.settings.sql_port
        await web.TCPSite(self._runner, host, port).start()
        log.info("read-only ClickHouse HTTP on http://%s:%d (token: %s)", host, port, sql_token.where(self.settings))

    async def stop(self) -> None:
        self._stopping = True
        if self._runner is not None:
            await self._runner.cleanup()
        if self._writes is not None:
            self._writes.close()
        for task in list(self._replacing):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request: web.Request) -> web.Response:
        refused = self._check_origin(request)
        if refused is None and self._writes is not None and self._writes.accepts(*_credentials(request)):
            return await self._writes.handle(request)
        refused = refused or self._check_token(request)
        if refused is not None:
            return refused
        query = request.query.get("query", "")
        if request.method == "POST":
            try:
                body = (await request.read()).decode("utf-8")
            except UnicodeDecodeError:
                return _error(400, 36, "the query is not UTF-8 text", "BAD_ARGUMENTS")
            query = f"{query}\n{body}" if query else body
        if not query.strip():
            return web.Response(status=400, text="Empty query: pass ?query=SELECT... or a POST body.\n")
        database = request.query.get("database") or self.default_database
        if not _IDENTIFIER.fullmatch(database):
            return _error(400, 81, f"database={database!r} is not a database name", "UNKNOWN_DATABASE")
        fmt = request.query.get("default_format")
        pool = self._dashboard if self._user(request) == sql_token.DASHBOARD_USER else self._readers
        timeout = float(self.settings.query_timeout_s)
        try:
            client = await pool.acquire(timeout)
        except Busy as exc:
            return _error(503, 202, f"pulse: too many queries at once ({exc}); retry shortly",
                          "TOO_MANY_SIMULTANEOUS_QUERIES", {"Retry-After": "1"})
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._executor, _run, client, database, query, fmt, self._policy)
        clean = False
        try:
            data = await asyncio.wait_for(asyncio.shield(work), timeout + GRACE_S)
            clean = True
        except asyncio.TimeoutError:
            return _error(504, 159, f"pulse stopped waiting for the query after {timeout + GRACE_S:g} s "
                          "(the whole-request limit)", "TIMEOUT_EXCEEDED")
        except sql_guard.Refused as exc:
            clean = not exc.after_engine_error  # else only the parser's queries ran, and they succeeded
            return web.Response(status=403, text=f"{exc}\n", headers={"X-ClickHouse-Exception-Code": str(exc.code)})
        except Exception as exc:  # the engine's error goes back to the caller, as ClickHouse does
            text, code = engine_text(exc), error_code(exc)
            status = _HTTP_STATUS.get(str(code), 500)
            headers = {"X-ClickHouse-Exception-Code": str(code)} if code is not None else {}
            return web.Response(status=status, text=text + "\n", headers=headers)
        finally:
            if clean:
                pool.release(client)
            else:  # after the thread is done with it: a session that erred (or was abandoned) is replaced
                work.add_done_callback(lambda _: self._replace_soon(pool, client))
        return web.Response(
            body=data,
            headers={"X-ClickHouse-Server-Display-Name": "pulse-chdb", "X-ClickHouse-Timezone": "UTC"},
        )

    def _check_origin(self, request: web.Request) -> web.Response | None:
        """403 unless Host names this machine (or an allowed host) and a browser's Origin does too."""
        host = _hostname(request.headers.get("Host", ""))
        if host not in self._hosts:
            return _error(403, 497, f"pulse refuses Host {request.headers.get('Host', '')!r}: the SQL endpoint answers "
                          "loopback names and PULSE_SQL_ALLOWED_HOSTS only", "ACCESS_DENIED")
        origin = request.headers.get("Origin")
        if origin is not None and (urlsplit(origin).hostname or "").lower() not in self._hosts:
            return _error(403, 497, f"pulse refuses requests from the web page {origin!r}: the SQL endpoint is for "
                          "ClickHouse clients, not browsers", "ACCESS_DENIED")
        return None

    def _check_token(self, request: web.Request) -> web.Response | None:
        user, password = _credentials(request)
        if user in sql_token.USERS and hmac.compare_digest(password.encode(), self._token.encode()):
            return None
        return _error(401, 516, f"{user or 'default'}: Authentication failed: the SQL endpoint wants its token as the "
                      f"password of user default or pulse_reader (the token is in {sql_token.where(self.settings)})",
                      "AUTHENTICATION_FAILED", {"WWW-Authenticate": 'Basic realm="pulse SQL", charset="UTF-8"'})

    @staticmethod
    def _user(request: web.Request) -> str:
        return _credentials(request)[0] or ""

    def _open_slot(self) -> _Slot:
        unlimited = self.settings.replace(query_max_result_rows=0, query_max_result_bytes=0)
        return _Slot(engine_reader_client(self.settings), engine_reader_client(unlimited))

    def _replace_soon(self, pool: _Pool, client: _Slot) -> None:
        if self._stopping:
            return
        task = asyncio.get_running_loop().create_task(self._replace(pool, client))
        self._replacing.add(task)
        task.add_done_callback(self._replacing.discard)

    async def _replace(self, pool: _Pool, client: _Slot) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, client.close)
        except Exception:  # a broken session may fail to close; it is dropped either way
            log.warning("closing a failed SQL session failed", exc_info=True)
        delay = 0.1
        while not self._stopping:
            try:
                pool.release(await loop.run_in_executor(self._executor, self._open_slot))
                return
            except Exception:  # keep the pool at its size: try again, slower each time
                log.exception("opening a new SQL session failed; retrying in %.1f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


async def _ping(_: web.Request) -> web.Response:
    return web.Response(text="Ok.\n")  # the readiness probe: open, it answers nothing about the data


def _run(slot: _Slot, database: str, query: str, default_format: str | None, policy: sql_guard.Policy) -> bytes:
    for client in (slot.parser, slot.reader):
        if client.database != database:
            client.database = database  # a USE on this session's own handle
    statement = sql_guard.check(lambda sql: slot.parser.raw_query(sql).decode(), query, policy, default_format)
    return slot.reader.raw_query(statement)


def _credentials(request: web.Request) -> tuple[str | None, str]:
    """(user, password) as ClickHouse's HTTP interface takes them; (None, '') when none were sent."""
    auth = request.headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            user, _, password = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None, ""
        return user or "default", password
    if "X-ClickHouse-Key" in request.headers or "X-ClickHouse-User" in request.headers:
        return request.headers.get("X-ClickHouse-User") or "default", request.headers.get("X-ClickHouse-Key", "")
    if "password" in request.query or "user" in request.query:
        return request.query.get("user") or "default", request.query.get("password", "")
    return None, ""


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _error(status: int, code: int, message: str, name: str, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, text=f"Code: {code}. DB::Exception: {message}. ({name})\n",
                        headers={"X-ClickHouse-Exception-Code": str(code), **(headers or {})})
