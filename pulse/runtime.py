"""`pulse up`: start every part on one machine, print where each listens, stop them cleanly.

Parts run as child processes (broker, worker, hooks, dashboard, demo) so one crash is visible and
the worker can own the chDB data directory alone. Logs go to <data dir>/logs/<part>.log.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import time
import urllib.request
from pathlib import Path
from typing import Mapping

from pulse import demo_alerts, demo_traffic
from pulse.partenv import part_environ
from pulse.support.broker import start_broker
from pulse.support.ports import port_in_use
from pulse.support.processes import Proc, StopTimeout, spawn, wait_ready
from pulse.support.waits import StartupError, wait_for_port
from schemas.settings import Settings
from sinks import sql_token
from sinks.client import OwnerLock


# How often the demo's summary reports are recomputed, unless PULSE_REPORT_REFRESH_SECONDS says (parts_environment)
DEMO_REPORT_REFRESH_SECONDS = 10


def _spawn(name: str, part: str, logs: Path, env: dict[str, str]) -> Proc:
    # each part gets only the secrets it uses (pulse/partenv.py)
    return spawn(name, [part], logs / f"{name}.log", part_environ(part, env))


def _not_dumpable() -> None:
    """Make this supervisor's /proc/<pid>/environ unreadable to its own children.

    The supervisor started with every secret in its environment, and the kernel keeps that first
    environment readable to any process of the same user, the worker's SQL engine included. A
    non-dumpable process's /proc files belong to root (Linux prctl PR_SET_DUMPABLE); children get
    the flag back at exec, so the parts are unaffected. Elsewhere: nothing to do, nothing done.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_DUMPABLE = 4
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def preflight(settings: Settings, demo: bool) -> None:
    """Every reason not to start, found before anything starts, each in one line that says what to do."""
    wanted = [("tracking hooks", settings.hooks_host, settings.hooks_port, "PULSE_HOOKS_PORT"),
              ("dashboard", settings.ui_host, settings.ui_port, "PULSE_UI_PORT"),
              ("worker health", settings.sql_host, settings.health_port, "PULSE_HEALTH_PORT")]
    if settings.embedded_clickhouse:
        wanted.append(("SQL endpoint", settings.sql_host, settings.sql_port, "PULSE_SQL_PORT"))
        holder = OwnerLock.holder(settings.data_dir)
        if holder is not None:
            raise StartupError(f"the data directory {settings.data_dir} is in use by pid {holder} "
                               "(another `pulse up`?); stop it, or set PULSE_DATA_DIR to another directory")
    for what, host, port, var in wanted:
        if port_in_use(host, port):
            raise StartupError(f"port {port} ({what}) is already taken; stop what uses it or set {var}")


def dashboard_address(settings: Settings) -> str:
    """Where this machine's dashboard answers, as a browser on it reaches it (a wildcard bind: loopback)."""
    host = settings.ui_host if settings.ui_host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{settings.ui_port}"


def parts_environment(settings: Settings, demo: bool, logs: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The supervisor's environment for its parts (each then gets its share, pulse/partenv.py)."""
    env = {**environ, "PULSE_DATA_DIR": str(settings.data_dir)}
    if not environ.get("PULSE_DASHBOARD_URL"):
        # the links of alerts (and the digest) lead to this dashboard, on whatever port it was given
        env["PULSE_DASHBOARD_URL"] = dashboard_address(settings)
    if demo and not settings.hook_secrets:
        # The demo sends signed webhooks; with no secret configured, this run's hooks and demo share a
        # fresh one that nobody else knows (and that dies with the run).
        env["PULSE_HOOK_SECRET"] = secrets.token_urlsafe(32)
    if demo and not settings.internal_domains:
        # the demo's own people browse its own site: the Data-health page shows them as internal
        env["PULSE_INTERNAL_DOMAINS"] = demo_traffic.OWN_DOMAIN
    if demo and not environ.get("PULSE_REPORT_REFRESH_SECONDS"):
        # The demo's store is small (every summary report recomputed in about 1.5 s of CPU): every 10 s rather
        # than the default 60, so each page shows the demo's figures within its first minute.
        env["PULSE_REPORT_REFRESH_SECONDS"] = str(DEMO_REPORT_REFRESH_SECONDS)
    if demo and settings.alerts_file is None:
        # the demo's alert rules post to the demo's own inbox on loopback, logged (pulse/demo_alerts.py)
        env.update(demo_alerts.environment(logs))
    return env


def up(settings: Settings, demo: bool = False) -> int:
    preflight(settings, demo)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    parts: list[Proc] = []
    _not_dumpable()
    env = parts_environment(settings, demo, logs, os.environ)
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _: stopping.append(signum))
    try:
        start_parts(settings, demo, logs, env, parts)
        print(f"pulse is up. Logs in {logs}. Ctrl-C stops everything.", flush=True)
        return watch(parts, stopping, settings)
    except StartupError as exc:
        print(f"pulse: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        shutdown(parts)


def start_parts(settings: Settings, demo: bool, logs: Path, env: dict[str, str], parts: list[Proc]) -> None:
    """Each part in order, waiting until it answers; `parts` holds what started, for shutdown."""
    if settings.embedded_broker:
        parts.append(start_broker(settings.broker_host, settings.broker_port, logs / "broker.log"))
        print(f"  kafka      {settings.bootstrap}  (embedded Tansu broker: one machine, memory only)", flush=True)
    else:
        print(f"  kafka      {settings.bootstrap}", flush=True)
    worker = _spawn("worker", "worker", logs, env)
    parts.append(worker)
    if settings.embedded_clickhouse:
        wait_ready(worker, f"http://{settings.sql_host}:{settings.sql_port}/ping", 120)
        print(f"  clickhouse {settings.sql_url}  (chDB in the worker, data in {settings.data_dir}; "
              "read-only over HTTP)", flush=True)
        print(f"             token: {sql_token.where(settings)} (password of user default)", flush=True)
    else:
        print(f"  clickhouse {settings.clickhouse_url}", flush=True)
    print(f"  health     http://{settings.sql_host}:{settings.health_port}/health  (`pulse status`)", flush=True)
    hooks = _spawn("hooks", "hooks", logs, env)
    parts.append(hooks)
    wait_ready(hooks, f"{settings.hooks_url}/health", 60)
    print(f"  hooks      {settings.hooks_url}  (POST /collect)", flush=True)
    ui = _spawn("dashboard", "ui", logs, env)
    parts.append(ui)
    wait_for_port(settings.ui_host, settings.ui_port, 60, ui.popen, "the dashboard")
    print(f"  dashboard  {dashboard_address(settings)}", flush=True)
    if demo:
        parts.append(_spawn("demo", "demo", logs, env))
        print("  demo       generating traffic (accounts, web visits, emails, a webinar, calls)", flush=True)


def watch(parts: list[Proc], stopping: list[int], settings: Settings) -> int:
    """Until a signal asks to stop (0) or a part stops by itself (1, with the end of its log).

    Any part that dies stops all of them, the embedded broker included: a broker restarted here would
    come back empty (it keeps topics, messages and committed offsets in memory only), so carrying on
    would hide a loss behind a running dashboard. What was lost is said; run `pulse up` again."""
    while not stopping:
        for part in parts:
            if not part.running():
                print(f"pulse: the {part.name} stopped unexpectedly (exit {part.popen.returncode}); "
                      f"its log ({part.log}) ends with:\n{part.tail(12)}", file=sys.stderr, flush=True)
                if part.name == "Kafka broker":
                    print(f"pulse: {lost_with_broker(settings)}", file=sys.stderr, flush=True)
                return 1
        time.sleep(0.2)
    print("pulse: stopping (flushing buffered events, committing offsets)...", flush=True)
    return 0


def lost_with_broker(settings: Settings) -> str:
    """What died with the embedded broker's memory, from the worker's last health reading."""
    try:
        url = f"http://{settings.sql_host}:{settings.health_port}/health"
        with urllib.request.urlopen(url, timeout=1) as response:
            lag = json.loads(response.read()).get("consumer_lag")
    except (OSError, ValueError):
        lag = None
    behind = "an unknown number of" if lag is None else str(lag)
    return (f"the embedded broker kept its topics in memory only: {behind} messages of touches the hooks "
            "had accepted but the worker had not yet stored (its last reading), the dead letters and "
            "the registry changes not yet applied are lost; everything stored in ClickHouse is kept. "
            "Stopping every part; run `pulse up` again, and have senders re-send what they sent in the "
            "last minutes (each event is stored once, so a re-send cannot count twice).")


def shutdown(parts: list[Proc], timeout: float = 30.0) -> None:
    """Stop in reverse order of start: the demo and hooks first, the worker flushes, the broker last."""
    for part in reversed(parts):
        try:
            part.stop(signal.SIGTERM, timeout)
        except StopTimeout as exc:
            print(f"pulse: {str(exc).splitlines()[0]}", file=sys.stderr)
