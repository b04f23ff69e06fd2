"""Ports: a free one for a test or a bench run, and whether one is taken."""
from __future__ import annotations

import socket

# Ports this process handed out: a part binds its port only once it starts, and meanwhile the kernel may give the
# same free port to the next bind to port 0 (a test's hooks and its broker were once given one port: the hooks
# could not listen, and `pulse up` stopped).
_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now that this process has not handed out before."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0
