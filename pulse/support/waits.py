"""Waiting on a condition, never a blind sleep: a part listening, an HTTP answer, rows stored."""
from __future__ import annotations

import subprocess
import time
import urllib.request

from pulse.support.ports import port_in_use


class StartupError(RuntimeError):
    """A part could not start; the message says why and what to do."""


def wait_until(condition, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll `condition` until it returns a truthy value (returned); errors while polling count as "not
    yet". Raises AssertionError naming `what` and the last error after `timeout` seconds."""
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
