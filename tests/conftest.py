"""Shared fixtures: the real broker and the real ClickHouse engine, started by the tests themselves.

Nothing here skips. If the broker or the engine cannot start, the fixture fails and says why.
Every test gets its own topic prefix and database name, so tests never see each other's data.

Tiers, by folder: tests/unit (pure logic, fakes at most: seconds), tests/integration (the real broker
or engine in this process: marked `integration`), tests/system (pulse's parts as child processes, a
browser, the bench: marked `system`). A test elsewhere that starts a part is marked `system` too.
`python -m pytest -m "not system"` is the fast tier; `python -m pytest` runs everything.
"""
from __future__ import annotations

import contextlib
import secrets
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from pulse.support.broker import start_broker
from pulse.support.ports import free_port
from pulse.support.processes import ROOT, Proc, env_for, start_part
from pulse.support.waits import StartupError, wait_until
from schemas.settings import Settings

__all__ = ["ROOT", "env_for", "free_port", "pulse_up_demo", "sql_rows", "start_service", "wait_until"]


# Fixtures that start a part of pulse (or the whole dashboard) as a child process.
SYSTEM_FIXTURES = {"start", "story", "blank", "hooks"}
REAL_SERVICES = {"broker", "own_broker", "settings", "engine", "engine_dir"}


def pytest_collection_modifyitems(config, items):
    misplaced = []
    for item in items:
        tier = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        fixtures = set(item.fixturenames)
        if tier == "unit":
            if fixtures & (REAL_SERVICES | SYSTEM_FIXTURES):
                misplaced.append(f"{item.nodeid} uses {sorted(fixtures & (REAL_SERVICES | SYSTEM_FIXTURES))}")
        elif tier == "system" or fixtures & SYSTEM_FIXTURES:
            item.add_marker(pytest.mark.system)
        else:
            item.add_marker(pytest.mark.integration)
    if misplaced:
        raise pytest.UsageError("unit tests may not start services; move them to tests/integration or "
                                "tests/system:\n  " + "\n  ".join(misplaced))


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> str:
    """The embedded Kafka-compatible broker on a free port, for the whole session."""
    port = free_port()
    proc = start_broker("127.0.0.1", port, tmp_path_factory.mktemp("broker") / "broker.log", "the test broker")
    yield f"127.0.0.1:{port}"
    proc.stop(timeout=10)


@pytest.fixture
def own_broker(tmp_path):
    """An embedded broker of this test's own (opskit.Broker): to kill, freeze and start again."""
    from opskit import Broker  # opskit imports this module

    broker = Broker(tmp_path)
    broker.start()
    yield broker
    broker.thaw()  # a test that failed while it was frozen
    broker.proc.stop(timeout=10)


@pytest.fixture
def settings(broker, tmp_path) -> Settings:
    """Settings for one test: own topics, own database, own data dir and ports."""
    tag = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap=broker,
        topic_prefix=f"t{tag}",
        partitions=2,
        app_id=f"pulse-test-{tag}",
        data_dir=tmp_path / "data",
        database=f"t_{tag}",
        sql_port=free_port(),
        health_port=free_port(),
        hooks_port=free_port(),
        ui_port=free_port(),
        batch_seconds=0.2,
        worker_id="test-worker",
    )


def start_service(name: str, args: list[str], settings: Settings, ready_url: str | None, log_dir: Path,
                  timeout: float = 90) -> Proc:
    """A part of pulse as a child process with these settings; fails the test with its log if not ready."""
    try:
        return start_part(args[0], settings, log_dir, ready_url, timeout, tuple(args[1:]))
    except StartupError as exc:
        raise AssertionError(str(exc)) from None


@pytest.fixture
def start(tmp_path):
    """start('worker'|'hooks', settings) -> Proc; everything started is stopped after the test."""
    started: list[Proc] = []

    def _start(kind: str, settings: Settings, timeout: float = 90) -> Proc:
        urls = {"worker": f"http://127.0.0.1:{settings.sql_port}/ping",
                "hooks": f"http://127.0.0.1:{settings.hooks_port}/health"}
        service = start_service(kind, [kind], settings, urls.get(kind), tmp_path, timeout)
        started.append(service)
        return service

    yield _start
    for service in reversed(started):
        service.stop()


@dataclass
class SharedStore:
    """A running `pulse store serve` (tests/system/sinks/test_shared_store*.py)."""
    settings: Settings            # CLICKHOUSE_URL and CLICKHOUSE_READER_URL point at it
    writer_password: str
    reader_password: str
    log_dir: Path
    proc: Proc | None = None

    def start(self) -> None:
        port = self.settings.clickhouse_url.rsplit(":", 1)[1]
        self.proc = start_service("store", ["store", "serve"], self.settings, f"http://127.0.0.1:{port}/ping",
                                  self.log_dir, 60)


@pytest.fixture
def shared_store(settings, tmp_path):
    """A shared ClickHouse as workers reach a server (CLICKHOUSE_URL), migrated; topics of 12 partitions,
    as docker-compose makes them."""
    port, writer_pw, reader_pw = free_port(), secrets.token_hex(12), secrets.token_hex(12)
    store = SharedStore(settings.replace(
        clickhouse_url=f"http://pulse:{writer_pw}@127.0.0.1:{port}",
        clickhouse_reader_url=f"http://pulse_reader:{reader_pw}@127.0.0.1:{port}",
        data_dir=tmp_path / "store", partitions=12), writer_pw, reader_pw, tmp_path)
    store.start()
    migrated = subprocess.run([sys.executable, "-m", "pulse.cli", "migrate"], env=env_for(store.settings), cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    assert migrated.returncode == 0 and "applied: 0001_tables.sql" in migrated.stdout, migrated.stderr
    yield store
    store.proc.stop()


@dataclass
class Up:
    proc: subprocess.Popen
    out: str = ""


@contextlib.contextmanager
def pulse_up_demo(settings: Settings):
    """`pulse up --demo` as on a fresh machine (embedded broker); Ctrl-C after the body must exit 0."""
    env = {**env_for(settings), "PULSE_BROKER_PORT": str(free_port())}
    del env["KAFKA_BOOTSTRAP_SERVERS"]
    up = Up(subprocess.Popen([sys.executable, "-m", "pulse.cli", "up", "--demo"], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        yield up
        up.proc.send_signal(signal.SIGINT)
        up.out, _ = up.proc.communicate(timeout=60)
    finally:
        if up.proc.poll() is None:
            up.proc.kill()
            up.proc.wait()
    assert up.proc.returncode == 0, up.out


def sql_rows(settings: Settings, query: str, parameters: dict | None = None) -> list[tuple]:
    """Rows of a query through the read-only HTTP endpoint, as the dashboard and analysts see them."""
    from sinks.client import reader_client

    client = reader_client(settings)
    try:
        return client.query(query, parameters=parameters).result_rows
    finally:
        client.close()


@pytest.fixture(scope="session")
def engine_dir(tmp_path_factory) -> Path:
    """chDB opens one data directory per process: in-process tests share this one, each with its own database."""
    return tmp_path_factory.mktemp("engine")


@pytest.fixture
def engine(engine_dir, settings):
    """A writer client on the in-process engine and the test's settings, migrated."""
    from sinks.client import writer_client
    from sinks.migrate import migrate

    settings = settings.replace(data_dir=engine_dir)
    client = writer_client(settings)
    migrate(client, settings)
    yield client, settings
    client.command(f"DROP DATABASE IF EXISTS {settings.database}")
