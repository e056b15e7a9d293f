"""Serving an ASGI app on loopback from inside a process: a notebook kernel, a test, or the command line.

The replay server, the web app and the authoring stand-ins all need the same thing: uvicorn on 127.0.0.1,
on a free port chosen by binding the socket first (so there is no race between picking and using it),
in a daemon thread that does not block the kernel, and stopped cleanly.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["LoopbackServer"]


class LoopbackServer:
    """One ASGI app served by uvicorn on `host:port` (port 0: a free one), in the background or foreground."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, name: str = "labs-server") -> None:
        self.app, self.host, self.port, self.name = app, host, port, name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _prepare(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it: no ~40 ms Nagle stall
        sock.bind((self.host, self.port))
        sock.listen(2048)  # connections queue from now on, so a URL printed after this is already reachable
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        return sock

    def start(self, timeout: float = 15) -> LoopbackServer:
        """Serve in a daemon thread; return once the server accepts connections."""
        sock = self._prepare()
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start on {self.url}")
            time.sleep(0.01)
        return self

    def bind(self) -> None:
        """Bind the port now (so `url` is known) for a later `run_forever`."""
        self._socket = self._prepare()

    def run_forever(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        assert self._server is not None, "call bind() first"
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
