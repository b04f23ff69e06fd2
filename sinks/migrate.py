"""Numbered .sql migrations, applied in order and recorded in `schema_migrations`.

Files are `NNNN_name.sql`; statements are separated by a line ending in `;`. A file whose first
line says `-- repeatable` (views) is applied again whenever its rendered text changes. All DDL is
IF NOT EXISTS / OR REPLACE, so two workers migrating a server at once do no harm.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client

from schemas.settings import Settings

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_PLACEHOLDER = re.compile(
    r"\{(database|retention_months|reporting_tz|lifecycle_order|customer_lifetime_years|attribution_days"
    r"|sla_first_touch_seconds|sla_attempts|sla_attempt_seconds|sla_worked_pct|report_refresh_seconds"
    r"|report_settings|report_settings_in_order)\}")
# In a repeatable file: the checksum of every repeatable file before it, so that the file is applied again
# whenever a view it reads is re-created (0900_reports.sql: a report's table takes its view's columns).
_VIEWS_CHECKSUM = "{views_checksum}"
# In 0900_reports.sql: each report's second of the refresh period, the k-th of n reports at k/n of it. All eighteen
# starting the same second ran side by side, their memory added up (1 to 3 GiB each at 100M touches) and the
# events' inserts waited behind them; spread, about one runs at a time.
_REPORT_OFFSET = "{report_offset}"
# In 0900_reports.sql: each refresh's settings, the lowest priority (why: the file's header).
REPORT_SETTINGS = "SETTINGS os_thread_priority = 19"
# ... and of the reports whose groups come in the order of their table's key: grouped as they are read, a few
# groups held at a time instead of a hash table of millions (at 100M touches 2.1 GB down to 0.7 GB, BENCHMARKS.md).
# Given in a view or a subquery these do not reach the plan: they must be the refresh's own.
_IN_ORDER = ", optimize_aggregation_in_order = 1, aggregation_in_order_max_block_bytes = 1000000, max_block_size = 8192"
# In the embedded engine a refresh shares the worker's cores: one thread each. At 100M touches the largest,
# funnel_counts, took as long on one thread as on two (20-22 s) and half the memory (151 MB, was 287 MB), and on
# two it held both cores a third of every minute while the sink waited (BENCHMARKS.md). A server keeps its own.
EMBEDDED_REPORT_SETTINGS = REPORT_SETTINGS + ", max_threads = 1"


def report_settings(settings: Settings) -> tuple[str, str]:
    """The refreshes' settings, and those of the reports grouped in order, for this store."""
    plain = EMBEDDED_REPORT_SETTINGS if settings.embedded_clickhouse else REPORT_SETTINGS
    return plain, plain + _IN_ORDER


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    repeatable: bool

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        body = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        return [s.strip() for s in re.split(r";\s*(?:\n|$)", body) if s.strip()]


def load_migrations(settings: Settings) -> list[Migration]:
    found = []
    plain, in_order = report_settings(settings)
    for entry in resources.files("sinks").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if not match:
            continue
        text = entry.read_text()
        values = {"database": settings.database, "retention_months": settings.retention_months,
                  "reporting_tz": settings.reporting_tz, "lifecycle_order": _lifecycle_order(settings),
                  # as an SQL decimal literal, to the hundredth of a year
                  "customer_lifetime_years": f"{settings.customer_lifetime_years:.2f}",
                  "attribution_days": int(settings.attribution_days),
                  "report_refresh_seconds": int(settings.report_refresh_seconds),
                  "report_settings": plain, "report_settings_in_order": in_order,
                  **_sla(settings)}
        rendered = _spread(_PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text), values["report_refresh_seconds"])
        found.append(Migration(int(match.group(1)), entry.name, rendered, text.startswith("-- repeatable")))
    return _with_views_checksum(sorted(found, key=lambda m: m.version))


def _spread(sql: str, period: int) -> str:
    """Each `{report_offset}` in order: 0, period/n, 2 period/n, ... whole seconds, each below the period."""
    parts = sql.split(_REPORT_OFFSET)
    return parts[0] + "".join(f"{k * period // (len(parts) - 1)}{part}" for k, part in enumerate(parts[1:]))


def _with_views_checksum(migrations: list[Migration]) -> list[Migration]:
    views = hashlib.sha256()
    out = []
    for m in migrations:
        if m.repeatable and _VIEWS_CHECKSUM in m.sql:
            m = Migration(m.version, m.name, m.sql.replace(_VIEWS_CHECKSUM, views.hexdigest()), m.repeatable)
        if m.repeatable:
            views.update(m.sql.encode())
        out.append(m)
    return out


def _lifecycle_order(settings: Settings) -> str:
    """PULSE_LIFECYCLE_STAGES in funnel order, `other` left out, as an SQL array literal (the setting
    allows only [a-z0-9_] names, so quoting is safe)."""
    return "[" + ", ".join(f"'{s}'" for s in settings.lifecycle_stages if s != "other") + "]"


def _sla(settings: Settings) -> dict[str, str]:
    """The SLA settings as SQL numbers, hours and days in whole seconds (checked numbers: safe to write in)."""
    return {"sla_first_touch_seconds": str(round(settings.sla_first_touch_hours * 3600)),
            "sla_attempts": str(int(settings.sla_attempts)),
            "sla_attempt_seconds": str(round(settings.sla_attempt_days * 86400)),
            "sla_worked_pct": f"{settings.sla_worked_pct:.2f}"}


def migrate(client: Client, settings: Settings) -> list[str]:
    """Apply what is missing; return the names applied (empty when up to date)."""
    db = settings.database
    client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    client.command(
        f"""CREATE TABLE IF NOT EXISTS {db}.schema_migrations
        (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
        ENGINE = ReplacingMergeTree(applied_at) ORDER BY version
        COMMENT 'Migrations applied by pulse migrate'"""
    )
    applied = {
        row[0]: row[1]
        for row in client.query(
            f"SELECT version, argMax(checksum, applied_at) FROM {db}.schema_migrations GROUP BY version"
        ).result_rows
    }
    done = []
    for migration in load_migrations(settings):
        if migration.version in applied and (
            not migration.repeatable or applied[migration.version] == migration.checksum
        ):
            continue
        for statement in migration.statements():
            client.command(statement)
        client.insert(
            f"{db}.schema_migrations",
            [[migration.version, migration.name, migration.checksum]],
            column_names=["version", "name", "checksum"],
        )
        done.append(migration.name)
    return done
