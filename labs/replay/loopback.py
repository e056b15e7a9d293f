"""Serving an ASGI app on loopback from inside a process: a notebook kernel, a test, or the command line.

The replay server, the web app and the authoring stand-ins all need the same thing: uvicorn on 127.0.0.1,
on a free port chosen by binding the socket first (so there is no race between picking and using it),
in a daemon thread that does not block the kernel, and stopped cleanly. `LoopbackServer` does that for
one app; `ServedApp` is the base of the classes that own one (start, stop, `with`, serve in the foreground).
Either can serve https instead, given a certificate and its key (`use_tls`): the drill services do, because
azure-core sends bearer tokens over https only. `read_body` reads a request body within a size and a time
limit, for the replay server and the web app alike (uvicorn bounds neither).
"""

from __future__ import annotations

import math
import signal
import socket
import threading
import time
from collections.abc import AsyncIterable, Callable
from typing import Any, Literal, Self

import anyio
import uvicorn

__all__ = ["BodyRefused", "LoopbackServer", "ServedApp", "read_body"]


class BodyRefused(Exception):
    """A request body over its size limit (`declared` by Content-Length, or `counted` as it came) or too slow."""

    def __init__(self, reason: Literal["declared", "counted", "timeout"], size: int) -> None:
        super().__init__(reason)
        self.reason, self.size = reason, size  # size: the bytes declared, or those that came


async def read_body(chunks: AsyncIterable[bytes], content_length: str, limit: int, seconds: float) -> bytes:
    """The whole body, at most `limit` bytes, arriving within `seconds` (no time limit when 0); BodyRefused if not."""
    declared = content_length.strip()
    if declared.isdigit() and int(declared) > limit:
        raise BodyRefused("declared", int(declared))
    parts: list[bytes] = []
    size = 0
    try:
        with anyio.fail_after(seconds if seconds > 0 else math.inf):
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise BodyRefused("counted", size)
                parts.append(chunk)
    except TimeoutError:
        raise BodyRefused("timeout", size) from None
    return b"".join(parts)


class LoopbackServer:
    """One ASGI app served by uvicorn on `host:port` (port 0: a free one), in the background or foreground."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, name: str = "labs-server") -> None:
        self.app, self.host, self.port, self.name = app, host, port, name
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.certfile: str | None = None  # PEM certificate chain: serve https (set before starting)
        self.keyfile: str | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.certfile else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def _prepare(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it: no ~40 ms Nagle stall
        sock.bind((self.host, self.port))
        sock.listen(2048)  # connections queue from now on, so a URL printed after this is already reachable
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1, ssl_certfile=self.certfile, ssl_keyfile=self.keyfile
        )
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
        """Serve in the foreground until Ctrl-C (binding first if `bind` was not called)."""
        if self._socket is None:
            self.bind()
        assert self._server is not None and self._socket is not None
        self._server.run(sockets=[self._socket])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None


def serve_until_ctrl_c(serve: Callable[[], None], stopped: str) -> None:
    """Run `serve`, a server's foreground loop, until Ctrl-C or `kill -INT`: one line, `stopped`, then exit status 130.

    Python's own SIGINT handler is installed first. A process started with SIGINT ignored (a shell's `cmd &` without
    job control, and everything it starts) would otherwise be shut down by uvicorn on `kill -INT` and exit 0 without
    a word. uvicorn, once it has closed its connections, raises the Ctrl-C it caught again; before it runs, Python does.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        serve()
    except KeyboardInterrupt:
        print(f"\n{stopped}", flush=True)
        raise SystemExit(130) from None


class ServedApp:
    """The base of a class that owns an ASGI app on loopback: `start()`/`stop()`, `with`, `bind()` + `serve_forever()`."""

    host = "127.0.0.1"
    port = 0

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str) -> None:
        self.host, self.port = host, port
        self._loopback = LoopbackServer(app, host, port, name=name)

    @property
    def url(self) -> str:
        return f"{self._loopback.scheme}://{self.host}:{self.port}"

    def use_tls(self, certfile: str, keyfile: str) -> Self:
        """Serve https with this PEM certificate chain and key (call before `start` or `bind`)."""
        self._loopback.certfile, self._loopback.keyfile = str(certfile), str(keyfile)
        return self

    def on_start(self) -> None:
        """Called before the server starts serving, in the background or the foreground."""

    def start(self) -> Self:
        """Serve in a daemon thread; return once connections are accepted."""
        self.on_start()
        self._loopback.start()
        self.port = self._loopback.port
        return self

    def bind(self) -> Self:
        """Take the port now, so `url` can be printed before `serve_forever` (connections queue meanwhile)."""
        self._loopback.bind()
        self.port = self._loopback.port
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C."""
        self.on_start()
        self._loopback.run_forever()

    def stop(self) -> None:
        self._loopback.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
