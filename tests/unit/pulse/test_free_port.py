"""free_port never hands out a port twice: a part binds its port only once it starts, and the kernel may give the
same free port to the next bind meanwhile (a test's hooks and broker were once given one port)."""
from pulse.support import ports


class Kernel:
    """socket.socket as far as free_port uses it, binding port 0 to each of `given` in turn."""

    def __init__(self, given: list[int]):
        self.given = iter(given)

    def __call__(self):
        kernel = self

        class Socket:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def bind(self, address):
                self.port = next(kernel.given)

            def getsockname(self):
                return ("127.0.0.1", self.port)

        return Socket()


def test_a_port_the_kernel_gives_again_is_not_handed_out_twice(monkeypatch):
    monkeypatch.setattr(ports, "_handed_out", set())
    monkeypatch.setattr(ports.socket, "socket", Kernel([40001, 40001, 40001, 40002]))
    assert [ports.free_port(), ports.free_port()] == [40001, 40002]


def test_free_ports_are_free_and_distinct():
    handed = [ports.free_port() for _ in range(50)]
    assert len(set(handed)) == 50 and not any(ports.port_in_use("127.0.0.1", p) for p in handed)
