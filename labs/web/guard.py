"""What the web app refuses before any route runs: other sites, other host names, and unbounded bodies.

In live mode every stream is a billed call on the learner's key, so the chat API must answer only its
own page. Three ways in are closed here, by an ASGI middleware in front of the app:

- DNS rebinding: a site whose name resolves to 127.0.0.1 sends requests with `Host: its.name`. Only the
  app's own names pass: the address and port the request arrived on, `127.0.0.1`, `localhost` and
  `[::1]` on that port, and any name given as `allowed_hosts` (a proxy's, for example).
- Other pages on this machine: a page on another port can start a stream with `fetch`, `EventSource`
  or a plain `<img src>`, which a browser sends without an `Origin` header. So every request but a GET
  of the page, its files and its docs (which a link in JupyterLab may open) is refused when its `Origin`
  is not the app's own or its `Sec-Fetch-Site` is other than `same-origin` or `none` (a typed address):
  `same-site` included, since another port of 127.0.0.1 is the same site. Requests without either
  header (curl, a script) pass.
- Unbounded bodies: a body is read whole before the app sees it, at most `max_body_bytes` (413 above)
  within `body_seconds` (408 after), and a JSON body nested too deep to parse is a 422.

Each refusal is a JSON body in the app's error shape (FastAPI's `{"detail": [{"loc", "msg", "type"}]}`),
saying what was refused and why.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..replay.loopback import BodyRefused, read_body

__all__ = ["LOOPBACK_NAMES", "MAX_BODY_BYTES", "RequestGuard", "problem"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MAX_BODY_BYTES = 64 * 1024  # a 4,000-character message is at most 24 KB of JSON, even with every character escaped
BODY_SECONDS = 10.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAME_ORIGIN_FETCHES = ("same-origin", "none")


def problem(status: int, where: list[str], reason: str, kind: str) -> JSONResponse:
    """A refusal in the app's error shape: FastAPI's validation errors, one entry."""
    return JSONResponse({"detail": [{"loc": where, "msg": reason, "type": kind}]}, status_code=status)


def _split_host(value: str, scheme: str) -> tuple[str, int | None]:
    """`name:port` (or `[v6]:port`) as a lower-case name and a port, the scheme's default when none is given."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ("" if not rest else "x")
    else:
        name, _, port = value.partition(":")
    if not port:
        return name, _DEFAULT_PORTS.get(scheme)
    return (name, int(port)) if port.isdigit() and len(port) <= 5 else (name, None)


class RequestGuard:
    """ASGI middleware: only the app's own host names, only same-origin requests to the API, bounded bodies."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str] = (),
        open_paths: tuple[str, ...] = ("/", "/docs", "/openapi.json", "/static/*"),
        max_body_bytes: int = MAX_BODY_BYTES,
        body_seconds: float = BODY_SECONDS,
    ) -> None:
        self.app = app
        self.allowed_hosts = {h.strip().lower() for h in allowed_hosts if h.strip()}
        self.open_paths = open_paths
        self.max_body_bytes, self.body_seconds = max_body_bytes, body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is None:
            refusal, receive = await self._read_body(scope, headers, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    # -- who may ask ----------------------------------------------------------------------------------

    def _own_host(self, host: str, scope: Scope) -> bool:
        scheme = scope.get("scheme", "http")
        if host.strip().lower() in self.allowed_hosts:
            return True
        name, port = _split_host(host, scheme)
        if not name or port is None:
            return False
        if name in self.allowed_hosts:  # a name allowed on any port
            return True
        server = scope.get("server") or (None, None)
        arrived_on = server[1] if server[1] is not None else _DEFAULT_PORTS.get(scheme)
        own_names = {*LOOPBACK_NAMES, str(server[0]).lower()} if server[0] else set(LOOPBACK_NAMES)
        return port == arrived_on and name in own_names

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> JSONResponse | None:
        host = headers.get("host", "")
        if not self._own_host(host, scope):
            return problem(
                403, ["header", "host"],
                f"refused Host {host[:100]!r}: this app answers only its own address (127.0.0.1, localhost or [::1] on "
                f"its port); behind a proxy, name the proxy's host in create_app(allowed_hosts=...)",
                "forbidden_host",
            )  # fmt: skip
        if self._open(scope):
            return None
        origin = headers.get("origin")
        if origin is not None and not self._same_origin(origin, host):
            return problem(
                403, ["header", "origin"],
                f"refused a request from {origin[:100]!r}: the chat API answers only its own page ({host}); open the page there",
                "cross_origin",
            )  # fmt: skip
        site = headers.get("sec-fetch-site")
        if site is not None and site.strip().lower() not in _SAME_ORIGIN_FETCHES:
            return problem(
                403, ["header", "sec-fetch-site"],
                f"refused a {site[:40]} request (Sec-Fetch-Site: {site[:40]}): the chat API answers only its own page ({host}); open the page there",
                "cross_origin",
            )  # fmt: skip
        return None

    def _open(self, scope: Scope) -> bool:
        """Whether this is a GET (or HEAD) of the page, its files or its docs, which any site may link to."""
        if scope["method"] not in ("GET", "HEAD"):
            return False
        path: str = scope["path"]
        return any(path == p or (p.endswith("/*") and path.startswith(p[:-1])) for p in self.open_paths)

    @staticmethod
    def _same_origin(origin: str, host: str) -> bool:
        """Whether `origin` names the host and port the request was sent to (the scheme is left out: behind a
        TLS proxy the page is https while the app sees http)."""
        try:
            parts = urlsplit(origin.strip())
        except ValueError:
            return False
        if parts.scheme not in _DEFAULT_PORTS or not parts.netloc or parts.path or parts.query:
            return False  # "null" (a sandboxed page, a file), or not an origin at all
        return _split_host(parts.netloc, parts.scheme) == _split_host(host, parts.scheme)

    # -- how much it may send -------------------------------------------------------------------------

    async def _read_body(self, scope: Scope, headers: dict[str, str], receive: Receive) -> tuple[JSONResponse | None, Receive]:
        """The whole body, read within the limits, and a `receive` that hands it to the app; or a refusal."""
        left: list[Message] = []  # the client's disconnect, if it left before the body was complete

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    left.append(message)
                    return
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        try:
            body = await read_body(chunks(), headers.get("content-length", ""), self.max_body_bytes, self.body_seconds)
        except BodyRefused as refused:
            if refused.reason == "timeout":
                return problem(408, ["body"], f"the request body did not arrive within {self.body_seconds:g} s (is Content-Length larger than the body?)", "body_timeout"), receive
            return self._too_large(), receive
        if left:  # the client left: let the app see it, as it would have
            return None, _replay(left, receive)
        unreadable = _unreadable_json(body) if body and "json" in headers.get("content-type", "").lower() else None
        if unreadable is not None:
            return unreadable, receive
        return None, _replay([{"type": "http.request", "body": body, "more_body": False}], receive)

    def _too_large(self) -> JSONResponse:
        return problem(413, ["body"], f"the request body is larger than {self.max_body_bytes:,} bytes; a message is at most a few thousand characters", "body_too_large")


def _unreadable_json(body: bytes) -> JSONResponse | None:
    """A 422 for a JSON body Python cannot read at all, which FastAPI would answer with a bare 400.

    Malformed JSON is left to the route, whose 422 names the position; what is caught here is JSON nested
    deeper than Python's recursion limit, bytes that are not UTF-8, and an integer too long to convert.
    """
    example = 'send an object such as {"message": "..."}'
    try:
        json.loads(body)
    except RecursionError:
        return problem(422, ["body"], f"the JSON body is nested too deeply to read; {example}", "json_too_deep")
    except json.JSONDecodeError:
        return None
    except ValueError as error:  # UnicodeDecodeError, or "Exceeds the limit (4300 digits)..."
        reason = "it is not UTF-8" if isinstance(error, UnicodeDecodeError) else str(error).split(";")[0]
        return problem(422, ["body"], f"the JSON body cannot be read: {reason}; {example}", "json_unreadable")
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that returns `messages` first, then whatever the client sends next (its disconnect)."""
    pending = list(messages)

    async def replayed() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
