"""`pulse` fails the way people can act on: one line, what to do, non-zero exit, never a traceback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request

from conftest import ROOT, env_for, pulse_up_demo, wait_until
from pulse.runtime import DEMO_REPORT_REFRESH_SECONDS
from sinks.sql_token import read_token


def run_pulse(args, env, timeout=60):
    return subprocess.run([sys.executable, "-m", "pulse.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_port_taken_is_one_clear_line(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", settings.hooks_port))
        s.listen()
        result = run_pulse(["up"], env_for(settings))
    assert result.returncode == 1
    assert f"port {settings.hooks_port}" in result.stderr and "PULSE_HOOKS_PORT" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_setting_names_the_variable(settings):
    env = {**env_for(settings), "PULSE_PARTITIONS": "many"}
    result = run_pulse(["up"], env)
    assert result.returncode == 2
    assert "PULSE_PARTITIONS" in result.stderr and "Traceback" not in result.stderr


def test_data_dir_owned_by_a_running_worker(settings, start):
    worker = start("worker", settings)
    result = run_pulse(["up"], env_for(settings))
    assert result.returncode == 1
    assert str(worker.pid) in result.stderr and "PULSE_DATA_DIR" in result.stderr
    assert "Traceback" not in result.stderr
    # a second worker on the same data is refused the same way
    second = run_pulse(["worker"], env_for(settings))
    assert second.returncode == 1 and "in use by pid" in second.stderr and "Traceback" not in second.stderr
    # migrate goes through the owner instead of opening its data
    migrated = run_pulse(["migrate"], env_for(settings))
    assert migrated.returncode == 0 and "up to date" in migrated.stdout
    # `pulse status | head -1`: a reader that left early is not an error (here, one that left before)
    read_end, write_end = os.pipe()
    os.close(read_end)
    status = subprocess.run([sys.executable, "-m", "pulse.cli", "status"], env=env_for(settings), cwd=ROOT,
                            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(write_end)
    assert status.returncode == 0 and status.stderr == "", status.stderr


def test_pulse_up_demo_shows_engagement_and_stops_cleanly(settings):
    # pulse_up_demo passes every setting, so the demo's own refresh of the summary reports (when the variable
    # is unset, pulse/runtime.py) would not apply: the same, set
    settings = settings.replace(report_refresh_seconds=DEMO_REPORT_REFRESH_SECONDS)
    with pulse_up_demo(settings) as up:
        url = (f"http://127.0.0.1:{settings.sql_port}/?query="
               "SELECT+sum(minutes_7d)+FROM+account_engagement")

        def minutes():
            # the endpoint wants its token (the file the worker wrote at start) as the password
            with urllib.request.urlopen(f"{url}&password={read_token(settings)}", timeout=2) as response:
                return float(response.read().decode().strip() or 0) > 0

        wait_until(minutes, 60, 0.5, what="non-zero engagement minutes from the demo within 60 s")

        def money():  # the demo's spend and goals (pulse/demo_money.py): the Revenue page's CAC and goals chart
            query = ("SELECT+(SELECT+spend+FROM+revenue_summary+WHERE+period='mtd'+AND+audience='all')"
                     "*(SELECT+count()+FROM+revenue_goals)")
            with urllib.request.urlopen(f"http://127.0.0.1:{settings.sql_port}/?query={query}"
                                        f"&password={read_token(settings)}", timeout=2) as response:
                return float(response.read().decode().strip() or 0) > 0

        wait_until(money, 60, 0.5, what="the demo's spend and goals in the revenue views")
    for part in ("kafka", "clickhouse", "hooks", "dashboard"):
        assert part in up.out
    assert "Traceback" not in up.out
