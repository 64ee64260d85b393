"""`ketacare serve --workers N` gives each app process a listening socket of its own on the one port."""

from __future__ import annotations

import pickle
import socket

import pytest

from ketacare.cli import workers

pytestmark = pytest.mark.skipif(not workers.can_balance(), reason="the kernel does not share a port between sockets")


def test_each_worker_binds_its_own_socket_on_the_port_and_connections_reach_every_one():
    held = workers.reserve("127.0.0.1", 0)
    port = held.getsockname()[1]
    handed = workers.OwnSocketPerWorker("127.0.0.1", port)
    # uvicorn hands the same object to every worker it spawns; each one unpickles a socket of its own
    first, second = (pickle.loads(pickle.dumps(handed))[0] for _ in range(2))  # noqa: S301
    try:
        assert first.fileno() != second.fileno()
        assert first.getsockname()[1] == second.getsockname()[1] == port
        for s in (first, second):
            s.listen(64)
            s.setblocking(False)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        accepted = [0, 0]
        for k, s in enumerate((first, second)):
            while True:
                try:
                    s.accept()[0].close()
                    accepted[k] += 1
                except BlockingIOError:
                    break
        assert sum(accepted) == 32 and min(accepted) > 0  # all 32 on one socket: chance 2 in 4 billion
        for c in clients:
            c.close()
    finally:
        for s in (first, second, held):
            s.close()


def test_a_port_another_server_listens_on_is_refused_at_start():
    other = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(OSError):
            workers.reserve("127.0.0.1", other.getsockname()[1])
    finally:
        other.close()
