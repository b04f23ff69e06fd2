"""`pulse up` killed hard, or losing its embedded broker: no part of it is left running."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, env_for, free_port, wait_until


def start_up(settings) -> subprocess.Popen:
    """`pulse up --demo` with its own embedded broker, once it says every part is up."""
    env = {**env_for(settings), "PULSE_BROKER_PORT": str(free_port())}
    del env["KAFKA_BOOTSTRAP_SERVERS"]
    up = subprocess.Popen([sys.executable, "-m", "pulse.cli", "up", "--demo"], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    for line in up.stdout:
        seen.append(line)
        if "pulse is up" in line:
            return up
    raise AssertionError("pulse up did not start:\n" + "".join(seen))


def children(pid: int) -> dict[int, str]:
    """{pid: command name} of the processes whose parent is `pid`."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if int(rest[1]) == pid:
            out[int(stat.parent.name)] = name
    return out


def alive(pids) -> list[int]:
    """Those still running (a zombie waiting for its reaper has ended)."""
    left = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            left.append(pid)
    return left


def test_pulse_up_killed_hard_leaves_no_part_running(settings):
    up = start_up(settings)
    parts = children(up.pid)
    try:
        assert len(parts) >= 5, parts  # broker, worker, hooks, dashboard, demo
        up.kill()  # SIGKILL: no handler runs, no shutdown()
        up.wait()
        wait_until(lambda: not alive(parts), 20, 0.2, what=f"the parts {parts} to end with their supervisor")
    finally:
        for pid in alive(parts):
            os.kill(pid, signal.SIGKILL)


def test_pulse_up_stops_every_part_when_its_broker_dies(settings):
    up = start_up(settings)
    parts = children(up.pid)
    try:
        broker = next(pid for pid, name in parts.items() if "tansu" in name.lower() or "broker" in name.lower())
        os.kill(broker, signal.SIGKILL)
        # each part must stop on SIGTERM within a few seconds: the supervisor would wait 30 s for a stuck one
        out, _ = up.communicate(timeout=40)
        assert up.returncode == 1, out
        assert "Kafka broker stopped unexpectedly" in out and "memory only" in out, out
        assert "did not stop within" not in out, out
        assert not alive(parts)
    finally:
        if up.poll() is None:
            up.kill()
        for pid in alive(parts):
            os.kill(pid, signal.SIGKILL)
