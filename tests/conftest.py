"""Shared fixtures: the real broker and the real ClickHouse engine, started by the tests themselves.

Nothing here skips. If the broker or the engine cannot start, the fixture fails and says why.
Every test gets its own topic prefix and database name, so tests never see each other's data.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from pulse.broker import broker_binary
from schemas.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll a condition (the thing a test waits for), never a blind sleep. Returns its truthy value."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # the thing may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f" (last error: {last_exc})" if last_exc else ""))


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> str:
    """The embedded Kafka-compatible broker on a free port, for the whole session."""
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    proc = subprocess.Popen([broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: socket.create_connection(("127.0.0.1", port), 0.5).close() or True, 15,
                   what=f"the embedded broker on port {port} (log: {log})")
    except AssertionError:
        proc.kill()
        raise AssertionError(f"the embedded broker did not start; its log says:\n{log.read_text()}") from None
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


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


def env_for(settings: Settings) -> dict[str, str]:
    """The environment variables that make a child process use these settings (as docker-compose does)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "KAFKA_", "CLICKHOUSE_"))}
    return {**env, **settings.environ()}


@dataclass
class Service:
    name: str
    proc: subprocess.Popen
    log: Path

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not stop within {timeout} s after {sig!r}; log:\n{self.tail()}")
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:]) if self.log.exists() else ""


def start_service(name: str, args: list[str], settings: Settings, ready_url: str | None, log_dir: Path,
                  timeout: float = 90) -> Service:
    log = log_dir / f"{name}-{time.monotonic_ns()}.log"
    proc = subprocess.Popen([sys.executable, "-m", "pulse.cli", *args], env=env_for(settings), cwd=ROOT,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    service = Service(name, proc, log)
    if ready_url:
        def ready():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode} while starting:\n{service.tail()}")
            with urllib.request.urlopen(ready_url, timeout=1):
                return True
        try:
            wait_until(ready, timeout, 0.2, what=f"{name} at {ready_url}")
        except AssertionError as exc:
            service.stop(signal.SIGKILL)
            raise AssertionError(f"{exc}\n{name} log:\n{service.tail()}") from None
    return service


@pytest.fixture
def start(tmp_path):
    """start('worker'|'hooks', settings) -> Service; everything started is stopped after the test."""
    started: list[Service] = []

    def _start(kind: str, settings: Settings, timeout: float = 90) -> Service:
        urls = {"worker": f"http://127.0.0.1:{settings.sql_port}/ping",
                "hooks": f"http://127.0.0.1:{settings.hooks_port}/health"}
        service = start_service(kind, [kind], settings, urls.get(kind), tmp_path, timeout)
        started.append(service)
        return service

    yield _start
    for service in reversed(started):
        service.stop()


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
