"""The benchmark's use of pulse.support: a private broker, parts started without a rate limit, SQL as
text, and py-spy profiles."""
from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from pulse.support import broker
from pulse.support.ports import free_port
from pulse.support.processes import Proc, env_for as _env_for, start_part
from schemas.settings import Settings
from sinks.sql_token import read_token

__all__ = ["Proc", "Profiler", "env_for", "free_port", "served", "sql", "start_broker", "start_pulse", "start_store"]


def start_broker(workdir: Path) -> tuple[Proc, str]:
    port = free_port()
    return broker.start_broker("127.0.0.1", port, workdir / "broker.log", "the benchmark broker"), f"127.0.0.1:{port}"


def env_for(settings: Settings) -> dict[str, str]:
    # the benchmark offers 10,000 events/s from one client address: no per-IP rate limit
    return _env_for(settings.replace(rate_limit=0.0))


def start_pulse(kind: str, settings: Settings, workdir: Path, ready_url: str | None, extra_args=(),
                timeout: float = 600) -> Proc:
    return start_part(kind, settings, workdir, ready_url, timeout, tuple(extra_args), env_for(settings))


def served(settings: Settings) -> Settings:
    """`settings` with its data directory served at a new port (`pulse store serve`), as a ClickHouse server is
    reached: CLICKHOUSE_URL for the writers, CLICKHOUSE_READER_URL for the readers, each with a new password."""
    port = free_port()
    return settings.replace(clickhouse_url=f"http://pulse:{secrets.token_hex(12)}@127.0.0.1:{port}",
                            clickhouse_reader_url=f"http://pulse_reader:{secrets.token_hex(12)}@127.0.0.1:{port}")


def start_store(settings: Settings, workdir: Path) -> Proc:
    """`pulse store serve` on the settings' data directory, at their CLICKHOUSE_URL's port (see `served`)."""
    port = int(settings.clickhouse_url.rsplit(":", 1)[1])
    return start_pulse("store", settings, workdir, f"http://127.0.0.1:{port}/ping", ("serve",))


def sql(settings: Settings, query: str, timeout: float = 60) -> str:
    """A query's answer as text, through the worker's SQL endpoint with its token."""
    url = f"http://127.0.0.1:{settings.sql_port}/?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"X-ClickHouse-Key": read_token(settings) or ""})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode().strip()


def py_spy() -> str | None:
    """py-spy's path: on PATH, or beside this Python (a venv's bin/, when `pulse` runs unactivated)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


class Profiler:
    """py-spy on a running process (when py-spy is installed): where the CPU goes, as text.

    `stop()` returns the top frames by own time and the file with every sampled stack (collapsed
    format: feed it to flamegraph.pl or speedscope).
    """

    def __init__(self, proc: Proc, path: Path, rate: int = 200):
        self.path = path
        self.spy = None
        if spy := py_spy():
            self.spy = subprocess.Popen([spy, "record", "--pid", str(proc.pid), "--format", "raw",
                                         "--output", str(path), "--rate", str(rate), "--nonblocking"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self, top: int = 12) -> dict:
        if self.spy is None:
            return {"note": "py-spy not installed: pip install py-spy for a profile"}
        self.spy.send_signal(signal.SIGINT)
        try:
            self.spy.wait(60)
        except subprocess.TimeoutExpired:
            self.spy.kill()
        if not self.path.exists():
            return {"note": "py-spy could not attach (ptrace not permitted?)"}
        own: dict[str, int] = {}
        inclusive: dict[str, int] = {}
        total = 0
        for line in self.path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            own[frames[-1]] = own.get(frames[-1], 0) + int(count)
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + int(count)
            total += int(count)
        if not total:
            return {"file": str(self.path), "samples": 0}
        # frames under nearly every sample (the thread's entry points) say nothing: leave them out
        ranked_incl = sorted(((f, n) for f, n in inclusive.items() if n < 0.9 * total), key=lambda kv: -kv[1])
        return {"file": str(self.path), "samples": total,
                "top_own_time": [f"{100 * n / total:.1f}% {f}" for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]],
                "top_inclusive": [f"{100 * n / total:.1f}% {f}" for f, n in ranked_incl[:top]]}
