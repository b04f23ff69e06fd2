"""Writes through the ClickHouse HTTP interface, for the shared test store only (`pulse store serve`).

A ClickHouse server cannot run on the machines pulse is built on, but its engine can: one process
owns a chDB directory and serves the HTTP interface to several workers, as a server would, so the
production path (workers sharing one store) runs for real in tests and rehearsals. Requests that
carry the writer's credentials (the user and password of CLICKHOUSE_URL, as in
deploy/clickhouse/users.d/pulse.xml) run as they are: DDL for `pulse migrate`, queries, and inserts
with their data in the body in any format clickhouse-connect sends (Native, JSONCompactEachRow, lz4
or gzip compressed). Every other request is the read-only endpoint's (sinks/sql_endpoint.py). This is
a test tool, not a production server: no TLS, no quotas, sessions are not kept between requests.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import zlib
from collections import deque

import lz4.frame

from aiohttp import web
from clickhouse_connect.driver.client import Client

from schemas.settings import Settings
from sinks import threads
from sinks.client import WRITER_SETTINGS, chdb_client
from sinks.errors import engine_text, error_code

log = logging.getLogger("pulse.store")

# INSERT INTO db.table [(a, b)] [SETTINGS ...] FORMAT Name: the statement clickhouse-connect sends in
# the URL, its data in the body.
_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(?P<table>[`\"\w.]+)\s*(?:\((?P<cols>[^)]*)\))?\s*"
                     r"(?:SETTINGS\s+(?P<settings>.*?))?\s*FORMAT\s+(?P<fmt>\w+)\s*$", re.IGNORECASE | re.DOTALL)
# URL parameters of the HTTP interface itself, not engine settings.
_TRANSPORT = frozenset({"query", "database", "user", "password", "session_id", "session_timeout", "session_check",
                        "default_format", "compress", "decompress", "query_id", "quota_key", "buffer_size",
                        "wait_end_of_query", "enable_http_compression", "send_progress_in_http_headers",
                        "http_headers_progress_interval_ms", "client_protocol_version"})


class Writes:
    """The writer user's requests, on a small pool of chDB sessions beside the readers'."""

    def __init__(self, settings: Settings, user: str, password: str, sessions: int = 4):
        if not password:
            raise ValueError("the shared store needs the writer's password (the one in CLICKHOUSE_URL)")
        self.settings, self.user, self._password = settings, user, password
        self._executor = threads.executor("pulse-store", sessions)
        self._sessions = sessions
        self._free: deque[Client] = deque()
        self._available = asyncio.Semaphore(sessions)
        self._engine_settings: frozenset[str] = frozenset()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self._sessions):
            self._free.append(await loop.run_in_executor(self._executor, chdb_client, self.settings,
                                                         WRITER_SETTINGS))
        names = await loop.run_in_executor(self._executor, self._free[0].raw_query,
                                           "SELECT name FROM system.settings FORMAT TSVRaw")
        self._engine_settings = frozenset(names.decode().split())

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def accepts(self, user: str | None, password: str) -> bool:
        return user == self.user and hmac.compare_digest(password.encode(), self._password.encode())

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = _decompress(await request.read(), request.headers.get("Content-Encoding"))
        except Exception as exc:  # noqa: BLE001 - any decoder's error is the client's bad body
            return web.Response(status=400, text=f"Code: 27. DB::Exception: the body does not decompress: {exc}\n",
                                headers={"X-ClickHouse-Exception-Code": "27"})
        query = request.query.get("query", "")
        if not query and body[:6].upper() == b"INSERT":  # clickhouse-connect's insert() leads with its statement
            head, _, rest = body.partition(b"\n")
            if _INSERT.match(head.decode("utf-8", "replace")):
                query, body = head.decode(), rest
        database = request.query.get("database") or "default"  # a server's default for a user without one
        options = {k: v for k, v in request.query.items() if k in self._engine_settings and k not in _TRANSPORT}
        async with self._available:
            client = self._free.popleft()
            try:
                run = _insert if _INSERT.match(query) and body else _statement
                result = await asyncio.get_running_loop().run_in_executor(
                    self._executor, run, client, database, query, body, options, request.query.get("default_format"))
            except Exception as exc:  # the engine's answer, as a server gives it
                code = error_code(exc)
                headers = {"X-ClickHouse-Exception-Code": str(code)} if code is not None else {}
                return web.Response(status=500, text=engine_text(exc) + "\n", headers=headers)
            finally:
                self._free.append(client)
        data, summary = result
        return web.Response(body=data, headers={"X-ClickHouse-Summary": json.dumps(summary),
                                                "X-ClickHouse-Server-Display-Name": "pulse-chdb-shared",
                                                "X-ClickHouse-Timezone": "UTC"})


def _use(client: Client, database: str) -> None:
    if client.database != database:
        client.database = database


def _insert(client: Client, database: str, query: str, body: bytes, options: dict, _fmt: str | None
            ) -> tuple[bytes, dict]:
    match = _INSERT.match(query)
    _use(client, database)
    columns = [c.strip().strip("`\"") for c in match["cols"].split(",")] if match["cols"] else None
    inline = dict(part.split("=", 1) for part in (match["settings"] or "").replace(" ", "").split(",") if part)
    summary = client.raw_insert(match["table"], columns, body, settings={**options, **inline},
                                fmt=match["fmt"])
    return b"", {"written_rows": str(summary.written_rows)}


def _statement(client: Client, database: str, query: str, body: bytes, options: dict, fmt: str | None
               ) -> tuple[bytes, dict]:
    statement = f"{query}\n{body.decode()}" if query and body else (query or body.decode())
    _use(client, database)
    return client.raw_query(statement, settings=options, fmt=fmt), {}


def _decompress(body: bytes, encoding: str | None) -> bytes:
    """The body as sent before HTTP compression (clickhouse-connect compresses statements and inserts)."""
    encoding = (encoding or "identity").lower()
    if encoding == "identity" or not body:
        return body
    if encoding == "lz4":
        return lz4.frame.decompress(body)
    if encoding in ("gzip", "deflate"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    raise ValueError(f"Content-Encoding {encoding} is not one this store reads (lz4, gzip, deflate)")
