"""Child processes with their logs: pulse's parts (`python -m pulse.cli <part>`), read and stopped alike
by the supervisor, the tests and the bench."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings
from pulse.support.waits import StartupError, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
CLK_TCK = os.sysconf("SC_CLK_TCK")


class StopTimeout(RuntimeError):
    """A process did not stop within its time after a signal, and was killed."""


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        """Signal and wait; a process still running after `timeout` is killed and StopTimeout raised."""
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise StopTimeout(f"the {self.name} did not stop within {timeout:.0f} s after "
                                  f"{signal.Signals(sig).name}; killed it. Its log ends with:\n{self.tail()}") from None
        return self.popen.returncode

    def kill(self) -> None:
        self.popen.kill()
        self.popen.wait()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """User + system CPU so far (from /proc)."""
        return cpu_seconds_of(Path(f"/proc/{self.pid}/stat"))

    def cpu_by_thread(self) -> dict[int, tuple[str, float]]:
        """{thread id: (name, CPU seconds so far)}: the worker names its own threads, the engine its
        pools, so a profile of Python frames can be set against where the cores really went. By id, as
        a name can change (the engine renames a thread while it runs a query on it)."""
        out: dict[int, tuple[str, float]] = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                out[int(task.name)] = ((task / "comm").read_text().strip(), cpu_seconds_of(task / "stat"))
            except (FileNotFoundError, ProcessLookupError):  # a thread that ended meanwhile
                continue
        return out

    def rss_mb(self) -> float:
        return self.memory_mb().get("VmRSS", 0.0)

    def memory_mb(self) -> dict[str, float]:
        """VmRSS and its parts: RssFile is mapped files (the embedded engine's code, about 300 MB), RssAnon the rest."""
        fields = ("VmRSS", "RssAnon", "RssFile")
        lines = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        return {line.split(":")[0]: int(line.split()[1]) / 1024 for line in lines if line.split(":")[0] in fields}


def cpu_seconds_of(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def env_for(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that gives a child process these settings (as docker-compose does): this one's,
    less any pulse, Kafka or ClickHouse variable, plus the settings' own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "KAFKA_", "CLICKHOUSE_"))}
    return {**env, **settings.environ(), **extra}


def die_with_parent():
    """A `preexec_fn` for a child that must not outlive its parent, however the parent ends (SIGKILL
    included): Linux's prctl(PR_SET_PDEATHSIG, SIGTERM) in the child, between fork and exec. An orphaned
    worker would hold the data directory and its ports, so the next `pulse up` could not start.
    Elsewhere None (nothing done). Note: the signal comes when the parent's forking *thread* ends; the
    supervisor, the tests and the bench spawn from their main thread."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the prctl: no signal will come
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def spawn(name: str, args: list[str], log: Path, env: dict[str, str]) -> Proc:
    """`python -m pulse.cli <args>` in its own session, output appended to `log`; it ends with this process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    popen = subprocess.Popen([sys.executable, "-m", "pulse.cli", *args], env=env, cwd=ROOT,
                             stdout=log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, preexec_fn=die_with_parent())
    return Proc(name, popen, log)


def wait_ready(proc: Proc, url: str, timeout: float) -> None:
    """Until `url` answers; if the process exits or the time runs out, the error carries its log's end."""
    try:
        wait_for_http(url, timeout, proc.popen, f"the {proc.name}")
    except StartupError as exc:
        raise StartupError(f"{exc}; its log ({proc.log}) ends with:\n{proc.tail(12)}") from None


def start_part(kind: str, settings: Settings, log_dir: Path, ready_url: str | None, timeout: float = 90,
               args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Proc:
    """One part (`worker`, `hooks`, ...) with these settings, ready when `ready_url` answers; a part
    that does not get ready is killed and the error says why."""
    log = log_dir / f"{kind}-{settings.worker_id}-{time.monotonic_ns()}.log"
    proc = spawn(kind, [kind, *args], log, env or env_for(settings))
    if ready_url:
        try:
            wait_ready(proc, ready_url, timeout)
        except StartupError:
            proc.kill()
            raise
    return proc
