"""Which variables each part of `pulse up` gets (pulse/partenv.py), as a table; the real processes'
environments are read in tests/system/pulse/test_secrets_per_part.py."""
from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from conftest import ROOT
from pulse.partenv import part_environ

SHELL = {
    "PATH": "/usr/bin", "HOME": "/home/op", "LANG": "C.UTF-8",
    "PULSE_DATA_DIR": "/data", "PULSE_TOKEN_MAX_AGE_DAYS": "30", "KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
    "PULSE_UI_PASSWORD": "ui-pass", "PULSE_SQL_TOKEN": "sql-token", "PULSE_FAULT_TOKEN": "fault-token",
    "PULSE_HOOK_SECRET": "hook-secret", "PULSE_LINK_SECRET": "link-secret",
    "CLICKHOUSE_URL": "http://pulse:writer-pass@ch:8123", "CLICKHOUSE_READER_URL": "http://pulse_reader:r@ch:8123",
    # the operator's own credentials: no part of pulse uses them
    "AWS_SECRET_ACCESS_KEY": "aws", "GITHUB_TOKEN": "gh", "PGPASSWORD": "pg",
}
NOT_OURS = {"AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PGPASSWORD"}
EVERYONE = {"PATH", "HOME", "LANG", "PULSE_DATA_DIR", "PULSE_TOKEN_MAX_AGE_DAYS", "KAFKA_BOOTSTRAP_SERVERS"}


@pytest.mark.parametrize("part, secrets", [
    ("worker", {"PULSE_SQL_TOKEN", "PULSE_FAULT_TOKEN", "CLICKHOUSE_URL"}),
    ("hooks", {"PULSE_HOOK_SECRET", "PULSE_LINK_SECRET"}),
    ("ui", {"PULSE_UI_PASSWORD", "PULSE_SQL_TOKEN", "CLICKHOUSE_URL", "CLICKHOUSE_READER_URL"}),
    ("demo", {"PULSE_HOOK_SECRET", "PULSE_LINK_SECRET"}),
])
def test_part_environ(part, secrets):
    env = part_environ(part, SHELL)
    assert set(env) == EVERYONE | secrets
    assert not NOT_OURS & set(env)
    if part == "ui":  # the dashboard reads as the reader, never with the writer's password
        assert env["CLICKHOUSE_URL"] == SHELL["CLICKHOUSE_READER_URL"]
        assert "writer-pass" not in "".join(env.values())


def test_part_environ_refuses_an_unknown_part():
    with pytest.raises(ValueError, match="unknown part 'broker'"):
        part_environ("broker", SHELL)


def test_the_supervisor_is_not_dumpable():
    # its first environment (every secret) is then not readable through /proc by a same-user child
    code = ("import ctypes; from pulse.runtime import _not_dumpable; _not_dumpable(); "
            "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))")  # PR_GET_DUMPABLE
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "0", out.stderr
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 1  # this test process itself is untouched
