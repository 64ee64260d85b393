"""Several app processes on one port, each accepting on a listening socket of its own (Linux SO_REUSEPORT).

uvicorn's workers share one listening socket: whichever process wakes first takes the next connection, and a
kept-alive connection stays with the process that took it, so under load one process could serve three times as many
requests as the other (issue 15). With a socket per process the kernel spreads new connections evenly over them."""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

log = logging.getLogger("uvicorn.error")


def can_balance() -> bool:
    """Tell whether the kernel spreads connections over sockets sharing a port (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _socket(host: str, port: int, *, share: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if share:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def worker_sockets(host: str, port: int) -> list[socket.socket]:
    """Bind a socket of this worker's own on the shared port (the server listens on it)."""
    return [_socket(host, port, share=True)]


class OwnSocketPerWorker(list[socket.socket]):
    """What each worker is handed instead of the parent's socket: uvicorn passes it to the worker it spawns, and
    unpickling it there binds that worker's own socket."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__()
        self.host, self.port = host, port

    def __reduce__(self) -> tuple[Any, ...]:
        return (worker_sockets, (self.host, self.port))


def reserve(host: str, port: int) -> socket.socket:
    """Fail now if another server listens on the port; else hold it (bound, not listening) for our workers."""
    _socket(host, port, share=False).close()  # a port another program listens on is refused here, not later
    return _socket(host, port, share=True)


def run(options: dict[str, Any]) -> None:
    """Run uvicorn's supervisor (`options` as for uvicorn.run, workers > 1) with a socket per worker."""
    from uvicorn import Config
    from uvicorn.supervisors import Multiprocess

    config = Config(**options)
    try:
        held = reserve(config.host, config.port)
    except OSError as e:
        log.error("cannot listen on %s:%d: %s", config.host, config.port, e)
        raise SystemExit(3) from e
    log.info("Serving on http://%s:%d with %d processes, each on its own socket", config.host, config.port,
             config.workers)
    try:
        Multiprocess(config, sockets=OwnSocketPerWorker(config.host, config.port)).run()
    except KeyboardInterrupt:
        pass
    finally:
        held.close()
