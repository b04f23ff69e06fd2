"""Each part of `pulse up` holds only the secrets it uses: the worker, whose SQL engine could read
/proc/self/environ, holds none of the hooks' or the dashboard's."""
from __future__ import annotations

import os

from conftest import pulse_up_demo, wait_until


def children(pid: int) -> dict[str, int]:
    """The parts `pulse up` started, by the sub-command in their command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                argv = cmdline.read().decode(errors="replace").split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid != pid:
            continue
        if "streamlit" in argv:
            found["ui"] = int(entry)
        elif "broker" in argv and "--listener-url" in argv:
            found["broker"] = int(entry)
        elif "pulse.cli" in argv:
            found[argv[argv.index("pulse.cli") + 1]] = int(entry)
    return found


def environ_of(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as f:
        pairs = [item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item]
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


def test_pulse_up_gives_each_part_only_its_secrets(settings, monkeypatch):
    settings = settings.replace(ui_password="ui-password-9f2c", hook_secrets=("hook-secret-77a1",),
                                link_secrets=("link-secret-31bd",), sql_token="sql-token-c0ffee-0123456789")
    monkeypatch.setenv("MY_SERVICE_API_TOKEN", "operator-credential-5e5e")  # the operator's shell
    with pulse_up_demo(settings) as up:
        parts = wait_until(lambda: (found := children(up.proc.pid)).keys() >= {"broker", "worker", "hooks", "ui", "demo"}
                           and found, 90, 0.5, what="pulse up to start broker, worker, hooks, dashboard and demo")
        # the UI's process is `pulse ui` until it execs Streamlit: read its environment after that
        env = {part: environ_of(pid) for part, pid in parts.items()}
    values = {part: "\0".join(e.values()) for part, e in env.items()}

    worker = values["worker"]
    for foreign in ("ui-password-9f2c", "hook-secret-77a1", "link-secret-31bd", "operator-credential-5e5e"):
        assert foreign not in worker, foreign
    assert env["worker"]["PULSE_SQL_TOKEN"] == "sql-token-c0ffee-0123456789"  # it serves the endpoint

    assert env["hooks"]["PULSE_HOOK_SECRET"] == "hook-secret-77a1"
    assert env["hooks"]["PULSE_LINK_SECRET"] == "link-secret-31bd"
    assert "ui-password-9f2c" not in values["hooks"] and "sql-token-c0ffee" not in values["hooks"]

    assert env["ui"]["PULSE_UI_PASSWORD"] == "ui-password-9f2c"
    assert env["ui"]["PULSE_SQL_TOKEN"] == "sql-token-c0ffee-0123456789"
    assert "hook-secret-77a1" not in values["ui"] and "link-secret-31bd" not in values["ui"]

    assert env["demo"]["PULSE_HOOK_SECRET"] == "hook-secret-77a1"
    assert "ui-password-9f2c" not in values["demo"] and "sql-token-c0ffee" not in values["demo"]
    assert not any("operator-credential-5e5e" in v for v in values.values())
    # the embedded broker runs no code of pulse's: it gets none of them
    assert not any(secret in values["broker"] for secret in ("ui-password-9f2c", "hook-secret-77a1",
                                                              "link-secret-31bd", "sql-token-c0ffee"))
