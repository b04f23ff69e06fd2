"""The ClickHouse HTTP interface, read-only, served by the process that owns the chDB data.

Only one process may open a chDB data directory, so the owner serves reads for everyone else:
the dashboard, `pulse sql`, curl and any ClickHouse HTTP client. Writes are refused by the engine
itself (each serving session runs with ClickHouse's `readonly = 1`, set after the time and memory
limits so a query cannot lift them), not by inspecting the SQL text.
"""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Callable

from aiohttp import web
from clickhouse_connect.driver.client import Client

from sinks import threads

log = logging.getLogger("pulse.sql")

# Only decides whether to add the caller's default_format; never used to allow or refuse a query.
_HAS_FORMAT = re.compile(r"\bFORMAT\s+\w+\s*;?\s*$", re.IGNORECASE)
_CODE = re.compile(r"Code: (\d+)")
_HTTP_STATUS = {"164": 403, "60": 404, "81": 404, "62": 400, "47": 400, "46": 400, "159": 408}


class SqlEndpoint:
    def __init__(self, make_reader: Callable[[], Client], default_database: str, sessions: int = 3):
        self._pool: asyncio.Queue[Client] = asyncio.Queue()
        self._make_reader = make_reader
        self._sessions = sessions
        self._executor = threads.executor("pulse-sql", sessions)
        self._runner: web.AppRunner | None = None
        self.default_database = default_database

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self._sessions):
            self._pool.put_nowait(await loop.run_in_executor(self._executor, self._make_reader))
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("GET", "/", self.handle)
        app.router.add_route("POST", "/", self.handle)
        app.router.add_get("/ping", lambda _: web.Response(text="Ok.\n"))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        log.info("read-only ClickHouse HTTP on http://%s:%d", host, port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def handle(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        if request.method == "POST":
            body = await request.text()
            query = f"{query}\n{body}" if query else body
        if not query.strip():
            return web.Response(status=400, text="Empty query: pass ?query=SELECT... or a POST body.\n")
        fmt = request.query.get("default_format")
        if fmt and not _HAS_FORMAT.search(query):
            query = f"{query.rstrip().rstrip(';')}\nFORMAT {fmt}"
        database = request.query.get("database") or self.default_database
        client = await self._pool.get()
        try:
            data = await asyncio.get_running_loop().run_in_executor(self._executor, _run, client, database, query)
        except Exception as exc:  # the engine's error goes back to the caller, as ClickHouse does
            text = _engine_message(exc)
            code = _CODE.search(text)
            status = _HTTP_STATUS.get(code.group(1), 500) if code else 500
            headers = {"X-ClickHouse-Exception-Code": code.group(1)} if code else {}
            return web.Response(status=status, text=text + "\n", headers=headers)
        finally:
            self._pool.put_nowait(client)
        return web.Response(
            body=data,
            headers={"X-ClickHouse-Server-Display-Name": "pulse-chdb", "X-ClickHouse-Timezone": "UTC"},
        )


def _run(client: Client, database: str, query: str) -> bytes:
    if client.database != database:
        client.database = database  # a USE on this session's own handle
    return client.raw_query(query)


def _engine_message(exc: Exception) -> str:
    text = str(exc)
    start = text.find("Code: ")
    return text[start:] if start >= 0 else text
