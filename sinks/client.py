"""The one ClickHouse client factory, for both modes: a server over HTTP, or chDB in process.

chDB lets one process open a data directory. The process that owns it takes an exclusive lock
file there first, so a second owner fails with a clear message instead of corrupting data.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from schemas.settings import Settings
from sinks.sql_token import READER_USER, read_token

LOCK_NAME = "pulse.owner.lock"


class DataDirBusy(RuntimeError):
    """Another process owns the chDB data directory."""


class OwnerLock:
    """An exclusive flock on <data_dir>/pulse.owner.lock, held for the owner's lifetime."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> "OwnerLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DataDirBusy(
                f"the data directory {self.path.parent} is in use by pid {holder} "
                "(is `pulse up` running?); stop it, or set PULSE_DATA_DIR to another directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def holder(data_dir: Path) -> int | None:
        """The pid holding the lock, or None when the directory is free."""
        path = data_dir / LOCK_NAME
        if not path.exists():
            return None
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 64, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else -1
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def reader_settings(settings: Settings) -> dict[str, Any]:
    """Limits for analysts' and the dashboard's queries; `readonly` comes last because it freezes the rest."""
    return {
        "max_execution_time": settings.query_timeout_s,
        "max_memory_usage": settings.query_max_memory,
        # an answer too large is an error, not gigabytes in the worker's memory
        "max_result_rows": settings.query_max_result_rows,
        "max_result_bytes": settings.query_max_result_bytes,
        "result_overflow_mode": "throw",
        "readonly": 1,
    }


# Re-attribution binds thousands of ids or emails into one query: allow queries that large.
WRITER_SETTINGS = {"max_query_size": 64 * 1024 * 1024}


def chdb_client(settings: Settings, session_settings: dict[str, Any]) -> Client:
    """A chDB session on the data directory; only its owner (holding OwnerLock) may open one."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return clickhouse_connect.get_client(dsn=f"chdb://{settings.data_dir / 'clickhouse'}", settings=session_settings)


def writer_client(settings: Settings) -> Client:
    """The client that writes. In embedded mode only the data owner may call this (it holds OwnerLock)."""
    if settings.embedded_clickhouse:
        return chdb_client(settings, WRITER_SETTINGS)
    return clickhouse_connect.get_client(dsn=settings.clickhouse_url, settings=WRITER_SETTINGS)


def engine_reader_client(settings: Settings) -> Client:
    """Read-only chDB session inside the owner process: the engine's second line under sql_guard."""
    return chdb_client(settings, reader_settings(settings))


def reader_client(settings: Settings, user: str = READER_USER) -> Client:
    """For the UI and `pulse sql`: HTTP in both modes (the owner serves it in embedded mode).

    Embedded, the password is the endpoint's token (PULSE_SQL_TOKEN or the owner's token file); the
    dashboard passes user DASHBOARD_USER, which has a session of its own there.
    """
    if settings.embedded_clickhouse:
        return clickhouse_connect.get_client(
            host=settings.sql_host, port=settings.sql_port, database=settings.database, autogenerate_session_id=False,
            username=user, password=read_token(settings) or "",
        )
    # On a server, read-only is the reader user's profile (docker-compose sets one up).
    return clickhouse_connect.get_client(dsn=settings.sql_url, database=settings.database)
