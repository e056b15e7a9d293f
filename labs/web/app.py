"""The chat web app: a page, and an SSE endpoint relaying a backend's typed events to the browser.

The course material ends each chapter with "now put it on the web", and each version gets the relay
wrong in one way: it buffers the whole answer before sending anything, drops deltas to send "every few
words", or writes `data: {chunk}` so a chunk holding a newline ends its event early. This relay:

- sends each event the moment the backend yields it (an async generator, nothing collected first);
- sends every delta, so the `text_delta`s concatenate to `final_response`;
- frames every event with sse-starlette: a name, an `id:`, one `data:` line of JSON, and a comment
  ping while the model is quiet, so proxies keep an idle connection open;
- stops the upstream stream as soon as the browser goes away: sse-starlette cancels the generator on
  disconnect, and each backend's `async with` closes the SDK's HTTP response and client;
- answers only its own page: `labs.web.guard` refuses other host names, other sites' requests and
  oversized bodies before any route runs, so no other page can spend the learner's key.

The page (`static/`) uses relative URLs only, so a proxy may serve the app below a prefix (jupyter-server-proxy's
`<base>/proxy/PORT/`). Every backend is warmed before its first request (`Backend.warm`), so the first answer does
not wait seconds for an SDK to load. `python -m labs.web` warms them all before it prints its address (`warm_up`).
`serve()`, in a notebook, warms the first backend (the page's default) before it returns and the others in the
background (`Warming`): its cell returns seconds sooner, and a request for a backend still warming waits for that
backend's warm-up only.

`StreamRegistry` counts the streams in flight and how each ended, so a test (or the notebook) can wait
for a cancelled stream to be cleaned up instead of sleeping.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from sse_starlette import EventSourceResponse, JSONServerSentEvent
from starlette.applications import Starlette

from ..config import settings
from ..replay.cassette import FixtureSet, load_fixtures
from ..replay.loopback import LoopbackServer, serve_until_ctrl_c
from .backends import Backend, BackendName, default_backends
from .events import SEPARATOR, Error, ResponseComplete, SessionUpdate, TypingStart, WebEvent, encode
from .guard import LOOPBACK_NAMES, RequestGuard

__all__ = [
    "MAX_MESSAGE_CHARS",
    "ChatRequest",
    "ErrorBody",
    "Outcome",
    "Problem",
    "Prompts",
    "StreamRecord",
    "StreamRegistry",
    "Warming",
    "WebServer",
    "create_app",
    "error_code",
    "main",
    "relay",
    "serve",
    "warm_up",
]

MAX_MESSAGE_CHARS = 4000
STATIC_DIR = Path(__file__).resolve().parent / "static"
Outcome = Literal["streaming", "completed", "failed", "cancelled"]


# Whitespace by both definitions a message meets: Python's (str.isspace) and the JSON Schema pattern's (ECMA-262 \s,
# which adds U+FEFF and leaves out U+001C to U+001F and U+0085), so the schema and the app refuse the same messages.
WHITESPACE = "".join(map(chr, [
    *range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF,
]))  # fmt: skip
NOT_ONLY_WHITESPACE = r"[^\s\x1c-\x1f\x85\ufeff]"  # the schema's pattern: one character that is whitespace by neither


def _stripped(text: str) -> str:
    """The message without its surrounding whitespace; one that is only whitespace is refused."""
    if not text.strip(WHITESPACE):
        raise ValueError("the message is only whitespace")
    return text.strip(WHITESPACE)


class ChatRequest(BaseModel):
    """What the browser asks: the same fields in the query string (GET) or a JSON body (POST).

    The length limit holds for the message as sent, as the OpenAPI schema says, and only then is it stripped:
    stripping first would accept 4,001 characters of which one is a leading space. The schema's pattern says
    what the stripping needs: at least one character that is not whitespace.
    """

    message: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS),
        Field(json_schema_extra={"pattern": NOT_ONLY_WHITESPACE}),
        AfterValidator(_stripped),
    ]
    backend: BackendName = "chat"


@dataclass
class StreamRecord:
    """One stream the app served: who answered, how many events went out, and how it ended."""

    session_id: str
    backend: str
    message: str
    started: float = field(default_factory=time.monotonic)
    events_sent: int = 0
    outcome: Outcome = "streaming"
    framed_at: list[float] = field(default_factory=list)  # time.perf_counter() as each event was framed


class StreamRegistry:
    """The streams in flight and the last ones finished, safe to read from another thread."""

    def __init__(self, keep: int = 500) -> None:
        self._changed = threading.Condition()
        self.active: dict[str, StreamRecord] = {}
        self.finished: list[StreamRecord] = []
        self._keep = keep

    def open(self, backend: str, message: str) -> StreamRecord:
        record = StreamRecord(str(uuid.uuid4()), backend, message)
        with self._changed:
            self.active[record.session_id] = record
        return record

    def close(self, record: StreamRecord, outcome: Outcome) -> None:
        with self._changed:
            record.outcome = outcome
            self.active.pop(record.session_id, None)
            self.finished = [*self.finished, record][-self._keep :]
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 10) -> bool:
        """Block until no stream is in flight (every generator has run its cleanup); False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self.active, timeout)


def error_code(exc: BaseException) -> str:
    """A machine-readable code: the service's own (`replay_miss`, `rate_limit_exceeded`...) when it sent one."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    error = getattr(exc, "error", None)
    code = getattr(error, "code", None)
    return code if isinstance(code, str) and code else type(exc).__name__


async def relay(backend: Backend, message: str, registry: StreamRegistry, warming: Warming | None = None) -> AsyncIterator[JSONServerSentEvent]:
    """The backend's events as framed SSE events, each sent as soon as it exists, bracketed by bookkeeping."""
    record = registry.open(backend.name, message)
    outcome: Outcome = "cancelled"  # unless the stream gets to its end

    def framed(event: WebEvent) -> JSONServerSentEvent:
        record.events_sent += 1
        record.framed_at.append(time.perf_counter())
        return encode(event, record.events_sent)

    try:
        yield framed(SessionUpdate(record.session_id, backend.name, settings().mode))
        yield framed(TypingStart(backend.name))
        pieces: list[str] = []
        first_text: float | None = None
        if warming is not None:
            await warming.ready(backend)  # at once, unless serve() is still warming this backend
        try:
            async with aclosing(backend.stream(message)) as events:
                async for event in events:
                    if event.type == "text_delta":
                        if not event.delta:
                            continue
                        first_text = first_text or time.monotonic()
                        pieces.append(event.delta)
                    yield framed(event)
                    # An SDK hands over a burst of buffered chunks without awaiting any I/O; let the loop run
                    # between events so a closed connection is noticed before the next write, not after the burst.
                    await asyncio.sleep(0)
        except Exception as exc:  # the SDK's own errors: tell the page, then end the stream
            outcome = "failed"
            yield framed(Error(" ".join(f"{type(exc).__name__}: {exc}".split()), error_code(exc)))
            return
        text = "".join(pieces)
        ttft = None if first_text is None else round((first_text - record.started) * 1000, 1)
        yield framed(ResponseComplete(text, len(text.split()), len(text), ttft))
        outcome = "completed"
    finally:
        registry.close(record, outcome)


class Warming:
    """The app's backends' warm-ups (`Backend.warm`): the seconds each took, by name, and a wait for one of them.

    `warm(names)` warms those backends in turn, here; `start(names)` does it in a background thread. A backend
    no one has asked to warm is ready at once: its first request pays for what `warm` would have done.
    """

    def __init__(self, backends: Mapping[str, Backend]) -> None:
        self.backends = backends
        self.seconds: dict[str, float] = {}  # backend name -> seconds its warm-up took, once it has run
        self._pending: dict[str, threading.Event] = {}

    def warm(self, names: Iterable[str]) -> dict[str, float]:
        names = list(names)
        for name in names:
            self._pending.setdefault(name, threading.Event())
        for name in names:
            started = time.perf_counter()
            try:
                self.backends[name].warm()  # needs no network and no key; if it fails, the request will say why
            finally:
                self.seconds[name] = round(time.perf_counter() - started, 3)
                self._pending[name].set()
        return {name: self.seconds[name] for name in names}

    def start(self, names: Iterable[str]) -> threading.Thread:
        names = list(names)
        for name in names:
            self._pending.setdefault(name, threading.Event())
        thread = threading.Thread(target=self.warm, args=(names,), name="labs-web-warm-up", daemon=True)
        thread.start()
        return thread

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every backend asked to warm is warm (or `timeout` seconds pass); True if they are."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return all(event.wait(None if deadline is None else max(0.0, deadline - time.monotonic())) for event in list(self._pending.values()))

    async def ready(self, backend: Backend) -> None:
        """Return when `backend` is warm, or at once if it is not being warmed."""
        for name, event in list(self._pending.items()):
            if self.backends.get(name) is backend and not event.is_set():
                await asyncio.to_thread(event.wait)


class Problem(BaseModel):
    """One entry of an error body: where the problem is, what it is, and a machine-readable kind."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every refusal of this app, shaped like FastAPI's own validation errors (422)."""

    detail: list[Problem]


class Prompts(BaseModel):
    """The recorded prompts a backend can answer in replay, and the fixture files that could not be read."""

    backend: str
    title: str
    mode: str
    prompts: list[str]
    max_message_chars: int
    problems: list[str]


# One event of the stream, as an SSE parser sees it; `data` is one line of JSON (see labs.web.events).
_SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"enum": ["session_update", "typing_start", "text_delta", "tool_start", "tool_complete", "response_complete", "error"]},
        "id": {"type": "string", "pattern": "^[1-9][0-9]*$"},
        "data": {"type": "string", "pattern": "^[{].*[}]$"},
    },
    "required": ["event", "id", "data"],
}
_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The answer as Server-Sent Events", "content": {"text/event-stream": {"schema": _SSE_EVENT}}},
    204: {"description": "A reconnect (`Last-Event-ID`): there is nothing to resume, stop"},
    403: {"description": "Another host name or another site's page", "model": ErrorBody},
    408: {"description": "The body did not arrive in time", "model": ErrorBody},
    413: {"description": "The body is too large", "model": ErrorBody},
}
_REFUSALS: dict[int | str, dict[str, Any]] = {code: _STREAM_RESPONSES[code] for code in (403, 408, 413)}


def create_app(backends: Mapping[str, Backend] | None = None, *, ping_seconds: float = 15, allowed_hosts: Iterable[str] = ()) -> FastAPI:
    """The app: `/` (the page), `/chat/stream` (GET or POST, SSE) and `/chat/prompts` (recorded prompts).

    It answers its own address, and `127.0.0.1`, `localhost` and `[::1]` on its port; `allowed_hosts` adds
    names such as a proxy's (`"chat.example.org"` on any port, `"chat.example.org:8443"` on that one).
    """
    app = FastAPI(title="Streaming chat", docs_url="/docs", redoc_url=None)
    app.state.backends = dict(backends) if backends is not None else default_backends()
    app.state.streams = StreamRegistry()
    app.state.warming = Warming(app.state.backends)
    app.state.warmed = app.state.warming.seconds  # backend name -> seconds its warm-up took, once it has run
    app.add_middleware(RequestGuard, allowed_hosts=tuple(allowed_hosts))
    app.add_exception_handler(RequestValidationError, _validation_error)

    def stream(request: Request, chat: ChatRequest) -> Response:
        if request.headers.get("last-event-id") is not None:
            # EventSource reconnects after a dropped connection, naming the last id it saw. This app keeps
            # no finished streams to resume from, and re-asking would duplicate the answer: 204 tells
            # EventSource to stop (the page closes it itself after response_complete and error).
            return Response(status_code=204)
        backend = app.state.backends.get(chat.backend)
        if backend is None:
            return _unprocessable("backend", f"this app does not serve the {chat.backend!r} backend; it serves {', '.join(app.state.backends)}")
        return EventSourceResponse(
            relay(backend, chat.message, app.state.streams, app.state.warming),
            headers={"Cache-Control": "no-cache"},
            ping=ping_seconds,
            sep=SEPARATOR,
        )

    @app.get("/chat/stream", response_class=EventSourceResponse, responses=_STREAM_RESPONSES)
    async def stream_get(request: Request, chat: Annotated[ChatRequest, Query()]) -> Response:
        return stream(request, chat)

    @app.post("/chat/stream", response_class=EventSourceResponse, responses=_STREAM_RESPONSES)
    async def stream_post(request: Request, chat: ChatRequest) -> Response:
        return stream(request, chat)

    @app.get("/chat/prompts", responses=_REFUSALS)
    async def prompts(backend: BackendName = "chat") -> Prompts:
        served = app.state.backends.get(backend)
        mode = settings().mode
        found: list[str] = []
        problems: list[str] = []
        if served is not None and mode == "replay":
            # Read here, not from the replay server: one broken file must not hide every other prompt.
            fixtures = await anyio.to_thread.run_sync(_fixtures, settings().fixture_dirs)
            problems = [str(problem) for problem in fixtures.problems]
            for cassette in sorted(fixtures.cassettes, key=lambda c: c.name):
                prompt = served.prompt_in(cassette)
                if prompt and prompt not in found:
                    found.append(prompt)
        title = getattr(served, "title", backend)
        return Prompts(backend=backend, title=title, mode=mode, prompts=found, max_message_chars=MAX_MESSAGE_CHARS, problems=problems)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


class _EscapedJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error that echoes a lone surrogate still encodes."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


async def _validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own 422 for invalid input, rendered so that any input it echoes can be sent."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return _EscapedJSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


def _fixtures(folders: tuple[Path, ...]) -> FixtureSet:
    """Every fixture below `folders`, read again only when a file changed (a stat per file, not a parse)."""
    files: list[tuple[Path, int, int]] = []
    for path in (path for folder in folders if folder.is_dir() for path in sorted(folder.rglob("*.yaml"))):
        try:
            stat = path.stat()
        except OSError:  # removed meanwhile: load_fixtures will not see it either
            continue
        files.append((path, stat.st_mtime_ns, stat.st_size))
    return _read_fixtures(folders, tuple(files))


@functools.lru_cache(maxsize=4)
def _read_fixtures(folders: tuple[Path, ...], files: tuple[tuple[Path, int, int], ...]) -> FixtureSet:
    return load_fixtures(folders)


def _unprocessable(field_name: str, reason: str) -> Response:
    """A 422 shaped like FastAPI's own validation errors, so clients read one format."""
    return JSONResponse({"detail": [{"loc": ["query", field_name], "msg": reason, "type": "value_error"}]}, status_code=422)


class WebServer(LoopbackServer):
    """An app (this one, or any ASGI app) served by uvicorn on loopback in a background thread."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(app, host, port, name="labs-web")

    @property
    def streams(self) -> StreamRegistry:
        registry: StreamRegistry = self.app.state.streams
        return registry

    def __enter__(self) -> WebServer:
        if self._thread is None:  # `with serve() as server:` has started it already
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _named(host: str) -> list[str]:
    """The host the app was started on, when it is a name the guard would not know (not a loopback name)."""
    return [] if host.lower() in LOOPBACK_NAMES else [host]


def warm_up(app: Starlette) -> dict[str, float]:
    """Warm each of the app's backends now (see `Backend.warm`); the seconds each took, also kept in `app.state.warmed`."""
    warming: Warming = app.state.warming
    return warming.warm(app.state.backends)


def serve(app: FastAPI | None = None, *, host: str = "127.0.0.1", port: int = 0) -> WebServer:
    """Start the app (or `app`) on `host:port` in the background; port 0 picks a free one.

    The first backend (the page's default) is warm when this returns; the others warm in the background, and a
    request for one of them waits for its warm-up (`app.state.warming.wait()` waits for them all).
    """
    app = app or create_app(allowed_hosts=_named(host))
    warming: Warming = app.state.warming
    first, *others = app.state.backends
    warming.warm([first])
    server = WebServer(app, host, port)
    server.start()
    warming.start(others)
    return server


def main(argv: list[str] | None = None) -> None:
    """The command line: serve until Ctrl-C, which ends it with one line and no traceback (exit status 130)."""
    parser = argparse.ArgumentParser(prog="python -m labs.web", description="Serve the streaming chat page.")
    parser.add_argument("--port", type=int, default=8000, help="port to bind (default: 8000; 0 for a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    args = parser.parse_args(argv)
    serve_until_ctrl_c(lambda: _serve_until_stopped(args.host, args.port), "Stopped: the chat page is no longer served.")


def _serve_until_stopped(host: str, port: int) -> None:
    app = create_app(allowed_hosts=_named(host))
    server = WebServer(app, host, port)
    try:
        server.bind()
    except OSError as exc:
        raise SystemExit(f"error: cannot listen on {host}:{port} ({exc.strerror}); try --port 0 for a free port") from None
    warm_up(app)
    print(f"Streaming chat on {server.url}  ({settings().mode} mode; Ctrl-C to stop)", flush=True)
    server.run_forever()
