"""`pulse store serve`: a shared ClickHouse for tests and rehearsals (sinks/sql_writes.py says why).

It serves at the address of CLICKHOUSE_URL and takes writes from that URL's user and password, so
workers, `pulse migrate` and the dashboard are configured exactly as for a ClickHouse server; readers
sign in with CLICKHOUSE_READER_URL's password and get the read-only endpoint's guard and limits.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from urllib.parse import unquote, urlsplit

from schemas.settings import Settings

log = logging.getLogger("pulse.store")


def register(sub) -> None:
    p = sub.add_parser("store", help="test tool: a shared ClickHouse (the engine behind its HTTP interface)")
    commands = p.add_subparsers(dest="store_command", required=True)
    serve = commands.add_parser(
        "serve", help="own PULSE_DATA_DIR and serve it at CLICKHOUSE_URL to several workers (not for production)")
    serve.set_defaults(func=cmd_store_serve)


def _user_and_password(url: str | None, variable: str) -> tuple[str, str, str, int]:
    parts = urlsplit(url or "")
    if not (parts.username and parts.password and parts.hostname and parts.port):
        raise SystemExit(f"pulse store serve: set {variable} to http://USER:PASSWORD@HOST:PORT "
                         "(the address and credentials the workers and readers will use)")
    return unquote(parts.username), unquote(parts.password), parts.hostname, parts.port


def cmd_store_serve(args) -> int:
    from sinks.client import OwnerLock
    from sinks.sql_endpoint import SqlEndpoint
    from sinks.sql_writes import Writes

    settings = Settings.from_env()
    user, password, host, port = _user_and_password(settings.clickhouse_url, "CLICKHOUSE_URL")
    _, reader_password, _, _ = _user_and_password(settings.clickhouse_reader_url, "CLICKHOUSE_READER_URL")
    # the store itself is the data owner: the engine in process, readers' token = the reader password
    owner = settings.replace(clickhouse_url=None, clickhouse_reader_url=None, sql_token=reader_password)
    lock = OwnerLock(owner.data_dir).acquire()
    try:
        asyncio.run(_serve(SqlEndpoint(owner, Writes(owner, user, password)), host, port))
    finally:
        lock.release()
    return 0


async def _serve(endpoint, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await endpoint.start(host, port)
    log.info("shared test store on http://%s:%d (writes: the CLICKHOUSE_URL user)", host, port)
    await stop.wait()
    await endpoint.stop()
