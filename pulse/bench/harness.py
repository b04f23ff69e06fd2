"""Processes and probes for the benchmark: a private broker, worker processes, CPU and memory readings."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pulse.broker import broker_binary, wait_for_http
from schemas.settings import Settings

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(condition, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"benchmark: timed out after {timeout:.0f} s waiting for {what}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (from /proc)."""
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def cpu_seconds_of(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.popen.pid)

    def cpu_by_thread(self) -> dict[int, tuple[str, float]]:
        """{thread id: (name, CPU seconds so far)}: the worker names its own threads, the engine its
        pools, so a profile of Python frames can be set against where the cores really went. By id, as
        a name can change (the engine renames a thread while it runs a query on it)."""
        out: dict[int, tuple[str, float]] = {}
        for task in Path(f"/proc/{self.popen.pid}/task").iterdir():
            try:
                out[int(task.name)] = ((task / "comm").read_text().strip(), cpu_seconds_of(task / "stat"))
            except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
                continue
        return out

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.popen.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self, sig=signal.SIGTERM, timeout: float = 60) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_broker(workdir: Path) -> tuple[Proc, str]:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = workdir / "broker.log"
    popen = subprocess.Popen([broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                             stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait(lambda: _listening(port), 15, "the benchmark broker")
    return Proc("broker", popen, log), f"127.0.0.1:{port}"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def env_for(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "KAFKA_", "CLICKHOUSE_"))}
    # the benchmark offers 10,000 events/s from one client address: no per-IP rate limit
    return {**env, **settings.replace(rate_limit=0.0).environ()}


def start_pulse(kind: str, settings: Settings, workdir: Path, ready_url: str | None, extra_args=(),
                timeout: float = 600) -> Proc:
    log = workdir / f"{kind}-{settings.worker_id}-{time.monotonic_ns()}.log"
    popen = subprocess.Popen([sys.executable, "-m", "pulse.cli", kind, *extra_args], env=env_for(settings),
                             stdout=log.open("wb"), stderr=subprocess.STDOUT)
    proc = Proc(kind, popen, log)
    if ready_url:
        wait_for_http(ready_url, timeout, popen, f"benchmark: {kind} (log: {log})")
    return proc


def sql(settings: Settings, query: str) -> str:
    url = f"http://127.0.0.1:{settings.sql_port}/?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read().decode().strip()


class Profiler:
    """py-spy on a running process (when py-spy is installed): where the CPU goes, as text.

    `stop()` returns the top frames by own time and the file with every sampled stack (collapsed
    format: feed it to flamegraph.pl or speedscope).
    """

    def __init__(self, proc: Proc, path: Path, rate: int = 200):
        self.path = path
        self.spy = None
        if shutil.which("py-spy"):
            self.spy = subprocess.Popen(["py-spy", "record", "--pid", str(proc.popen.pid), "--format", "raw",
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
