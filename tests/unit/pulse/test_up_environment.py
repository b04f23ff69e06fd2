"""What `pulse up` hands its parts: the links of alerts and the digest lead to the dashboard it starts, on the
port and address the settings give it, unless the operator named the dashboard's public address."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pulse import demo_alerts
from pulse.partenv import part_environ
from pulse.runtime import dashboard_address, parts_environment
from schemas.settings import Settings
from streams.core import alerts

MOMENT = alerts.Moment("became_mqa", "acc-0001:1", "acc-0001", "Acme", "Avery", "1", True,
                       datetime(2026, 12, 2, 9, tzinfo=timezone.utc), "142.50 minutes in 90 days")


def worker_settings(environ: dict[str, str], tmp_path, demo: bool = True) -> Settings:
    environ = {"PULSE_DATA_DIR": str(tmp_path), **environ}
    env = parts_environment(Settings.from_env(environ), demo, tmp_path, environ)
    return Settings.from_env(part_environ("worker", env))


def link(settings: Settings) -> str:
    return alerts.slack_payload(MOMENT, settings.dashboard_url)["blocks"][1]["elements"][0]["text"]


@pytest.mark.parametrize("environ, dashboard", [
    ({}, "http://127.0.0.1:8501"),
    ({"PULSE_UI_PORT": "8601"}, "http://127.0.0.1:8601"),
    ({"PULSE_UI_HOST": "0.0.0.0", "PULSE_UI_PORT": "9000"}, "http://127.0.0.1:9000"),   # a wildcard bind
    ({"PULSE_UI_HOST": "10.1.2.3"}, "http://10.1.2.3:8501"),
    ({"PULSE_UI_HOST": "::1", "PULSE_UI_PORT": "8601"}, "http://[::1]:8601"),
    # the operator's public address wins over the local one
    ({"PULSE_UI_PORT": "8601", "PULSE_DASHBOARD_URL": "https://pulse.corp.example"}, "https://pulse.corp.example"),
])
def test_alert_links_follow_the_dashboards_settings(environ, dashboard, tmp_path):
    worker = worker_settings(environ, tmp_path)
    assert worker.dashboard_url == dashboard
    assert link(worker) == f"<{dashboard}/account?account=acc-0001|Open in pulse>"
    assert worker.alerts_file == demo_alerts.RULES   # the demo's rules, which deliver with these links


def test_the_printed_dashboard_address_is_the_one_the_links_use(tmp_path):
    settings = Settings.from_env({"PULSE_UI_PORT": "8601", "PULSE_DATA_DIR": str(tmp_path)})
    assert dashboard_address(settings) == worker_settings({"PULSE_UI_PORT": "8601"}, tmp_path, demo=False).dashboard_url


@pytest.mark.parametrize("environ, demo, seconds", [
    ({}, True, 10),                                         # the demo's small store: every page filled in a minute
    ({"PULSE_REPORT_REFRESH_SECONDS": "60"}, True, 60),     # the operator's choice wins, even in the demo
    ({}, False, Settings().report_refresh_seconds),         # without --demo: the default
])
def test_the_demo_recomputes_its_reports_every_ten_seconds_unless_told(environ, demo, seconds, tmp_path):
    assert worker_settings(environ, tmp_path, demo).report_refresh_seconds == seconds
