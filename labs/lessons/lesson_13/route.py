"""Exercise 13.1's harness: the learner's FastAPI route, mounted in an app, asked in-process and over loopback.

The learner writes `add_chat_route(app, client, model)`, which adds `GET /chat/stream?message=...` to `app`:
the model's answer streamed from `client` as named Server-Sent Events, `text_delta` ({"delta": ...}) for each
piece, `response_complete` ({"final_response": ...}) at the end, `error` ({"message": ...}) when the model's
call fails. Those are the names `labs.web` sends, so the page of exercise 13.2 reads either.

What the check needs to see, and how it sees it:
- the events, their names and their JSON: the app asked in-process (httpx's ASGI transport), its body parsed
  as the browser parses it (`parse_sse`, the algorithm of the HTML standard, from lesson 12's reader);
- whether the event loop stayed free: a heartbeat task runs in the app's loop while one answer streams, and
  its worst lateness is kept (`worst_gap`): a synchronous client inside `async def` stops it for as long as
  the model takes to answer;
- whether the model's stream stops when the reader leaves: the client handed to the route sends its requests
  through `UpstreamWatch`, a transport around the real one (real loopback HTTP to the replay server, nothing
  faked inside the SDK), which records when the model's response was read to its end and when it was closed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2

from ...clients import async_openai_client, model
from ...replay import fault_server
from ...replay.loopback import LoopbackServer
from ..lesson_12.reader import SSE, parse_sse
from .scenarios import ROUTE_PROMPTS

__all__ = [
    "PACED_PROMPT",
    "UNRECORDED_PROMPT",
    "AddRoute",
    "Leaving",
    "SSE",
    "Streamed",
    "UpstreamWatch",
    "ask_in_process",
    "build_app",
    "leave_early",
    "parse_sse",
    "quiet_sends",
    "raised",
    "watched_client",
    "worst_gap",
]

AddRoute = Callable[[Any, Any, str], object]
PACED_PROMPT = ROUTE_PROMPTS["route_pack_list"]  # recorded with half a second to the first token
UNRECORDED_PROMPT = "A question no recording answers: the model's call fails with 404."


@dataclass(frozen=True)
class Streamed:
    """What one request to the route got: the status, the content type, the body and its events."""

    status: int
    content_type: str
    body: str
    events: list[SSE]
    worst_gap: float = 0.0  # the heartbeat's worst lateness while the answer streamed, in seconds
    requests: int = 0  # requests the route sent through the client it was given

    def named(self, name: str) -> list[SSE]:
        return [event for event in self.events if event.event == name]


class _WatchedBody(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, watch: UpstreamWatch) -> None:
        self._inner, self._watch = inner, watch

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk
        self._watch.read_to_end.set()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._watch.closed.set()


class UpstreamWatch(httpx2.AsyncBaseTransport):
    """The real transport, noting each request and whether the model's response was read to its end or closed."""

    def __init__(self) -> None:
        self._inner = httpx2.AsyncHTTPTransport()
        self.requests = 0
        self.read_to_end = threading.Event()  # set from the app's thread, read from the check's
        self.closed = threading.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        response = await self._inner.handle_async_request(request)
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        return httpx2.Response(response.status_code, headers=response.headers, stream=_WatchedBody(response.stream, self),
                               extensions=response.extensions, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def watched_client(*, replayed: bool, **overrides: Any) -> tuple[Any, str, UpstreamWatch]:
    """An `AsyncOpenAI` client, its model name and its watch: for the current mode, or `replayed` in every mode."""
    watch = UpstreamWatch()
    server = fault_server() if replayed else None
    client = async_openai_client(server=server, http_client=httpx2.AsyncClient(transport=watch, timeout=30), **overrides)
    return client, model(server=server), watch


def build_app(add_route: AddRoute, client: Any, model_name: str) -> Any:
    """A FastAPI app holding only the route the learner's `add_route` adds."""
    from fastapi import FastAPI

    app = FastAPI()
    add_route(app, client, model_name)
    return app


async def worst_gap(work: Awaitable[Any], beat: float = 0.01) -> tuple[Any, float]:
    """`work`'s result, and the longest this loop went without running a `beat`-second heartbeat, beyond `beat`."""
    beats = [time.perf_counter()]  # from the start: work that never yields to the loop still counts

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(beat)
            beats.append(time.perf_counter())

    task = asyncio.create_task(heartbeat())
    try:
        result = await work
    finally:
        beats.append(time.perf_counter())
        task.cancel()
    return result, max(0.0, max(later - earlier for earlier, later in zip(beats, beats[1:])) - beat)


async def ask_in_process(add_route: AddRoute, message: str, *, replayed: bool, **overrides: Any) -> Streamed:
    """Ask the learner's route once, in-process, measuring the event loop's worst gap while it answers."""
    client, model_name, watch = watched_client(replayed=replayed, **overrides)
    app = build_app(add_route, client, model_name)
    transport = httpx.ASGITransport(app=app)
    async with client, httpx.AsyncClient(transport=transport, base_url="http://app.test", timeout=30) as http:
        response, gap = await worst_gap(http.get("/chat/stream", params={"message": message}))
    body = response.text
    return Streamed(response.status_code, response.headers.get("content-type", ""), body, parse_sse(body), gap, watch.requests)


@dataclass(frozen=True)
class Leaving:
    """A reader that left after the first piece of text, over real loopback HTTP."""

    status: int
    content_type: str
    first_delta: bool  # a complete text_delta arrived
    read_to_end_before_first: bool  # the model's whole answer had been read before the first piece reached the reader
    closed: bool  # the model's response was closed after the reader left
    read_to_end: bool  # the model's response was read to its end anyway
    requests: int
    seconds_to_close: float


def leave_early(add_route: AddRoute, *, wait: float = 5.0) -> Leaving:
    """Serve the route with uvicorn on 127.0.0.1, read up to its first text_delta, leave, and watch the model's stream."""
    client, model_name, watch = watched_client(replayed=True)
    with quiet_sends():
        return _leave_early(add_route, client, model_name, watch, wait)


def _leave_early(add_route: AddRoute, client: Any, model_name: str, watch: UpstreamWatch, wait: float) -> Leaving:
    server = LoopbackServer(build_app(add_route, client, model_name), name="labs-exercise-13.1").start()
    try:
        with httpx.Client(timeout=30) as http, http.stream("GET", f"{server.url}/chat/stream", params={"message": PACED_PROMPT}) as response:
            seen, first = "", False
            if response.status_code == 200:
                for text in response.iter_text():
                    seen += text
                    if any(event.event == "text_delta" for event in parse_sse(seen)):
                        first = True
                        break
            before_first = watch.read_to_end.is_set()
            status, content_type = response.status_code, response.headers.get("content-type", "")
        left = time.perf_counter()
        closed = watch.closed.wait(wait) if watch.requests else False  # a route that never used the client: nothing to wait for
        return Leaving(status, content_type, first, before_first, closed, watch.read_to_end.is_set(), watch.requests,
                       time.perf_counter() - left)
    finally:
        server.stop()


class _QuietSends(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "socket.send() raised exception" not in record.getMessage()


@contextmanager
def quiet_sends() -> Iterator[None]:
    """Keep asyncio from logging every send to a reader that left (a wrong answer writes on; the check says so once)."""
    quiet = _QuietSends()
    logging.getLogger("asyncio").addFilter(quiet)
    try:
        yield
    finally:
        logging.getLogger("asyncio").removeFilter(quiet)


def raised(outcome: object, kind: type[BaseException] | tuple[type[BaseException], ...] = Exception, text: str = "") -> bool:
    """Whether `outcome` is an exception of `kind` whose message holds `text`, itself or inside a group or its causes."""
    seen: list[BaseException] = [outcome] if isinstance(outcome, BaseException) else []
    while seen:
        error = seen.pop()
        if isinstance(error, kind) and text in str(error):
            return True
        if isinstance(error, BaseExceptionGroup):
            seen += list(error.exceptions)
        seen += [cause for cause in (error.__cause__, error.__context__) if cause is not None]
    return False

