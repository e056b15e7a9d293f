"""Exercise 13.2's harness: the learner's page script, run in headless Chromium against a reference route on loopback.

The learner's `page_script()` returns JavaScript defining `askGet(message)` (an `EventSource` on
`chat/stream?message=...`) and `askPost(message)` (`fetch` POSTing `{"message": ...}` as JSON, then the body's
stream reader). Each shows the answer's `text_delta` pieces in `#answer` as they arrive and writes `done` in
`#status` on `response_complete`, or the message of an `error` event (and then asks nothing more).

The reference route is exercise 13.1's relay over the lesson's recordings, replayed in every mode
(`labs.fault_server()`): a check asserts what the route sent, so it needs an answer it can rely on, and the
hostile one (an `<img onerror>` and a `<script>` in the text) only a recording gives. It records every request
and the text of every answer it sent. Two things make it a stricter reader than a fast local server would be:
its GET stream asks the browser to reconnect after 100 ms (`retry: 100`), so a page that does not close its
`EventSource` asks again at once; its POST stream writes each event in two pieces, the second together with the
start of the next event, so a page that parses each read as whole events loses text.

Chromium is Debian's (`sudo apt-get install -y chromium`), launched by Playwright with the flags of
`tests/test_web_browser.py`; Playwright's sync API runs in a thread of its own, because a notebook's thread
already runs an event loop.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

import openai
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from ...clients import async_openai_client, model
from ...replay import fault_server
from ...replay.loopback import LoopbackServer
from .route import quiet_sends

__all__ = ["CHROMIUM_FLAGS", "PAGE", "Asked", "PageHarness", "Shown", "chromium_path", "reference_events"]

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Exercise 13.2</title></head>
<body><p id="answer"></p><p id="status"></p><script src="page.js"></script></body></html>
"""
WAIT_MS = 5000  # for the route to send the whole answer; a recording replayed at full speed takes well under a second
GRACE_MS = 1500  # then for the page to write its status
T = TypeVar("T")


def chromium_path() -> str:
    """Debian's chromium, or an error that says how to install it."""
    path = shutil.which("chromium")
    if not path:
        raise RuntimeError("Debian's chromium is not installed: run `sudo apt-get install -y chromium`, then check again")
    return path


async def reference_events(client: Any, model_name: str, message: str) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Exercise 13.1's relay: (event name, data) for each piece, then `response_complete`, or `error`."""
    pieces: list[str] = []
    try:
        stream = await client.chat.completions.create(model=model_name, messages=[{"role": "user", "content": message}], stream=True)
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                    yield "text_delta", {"delta": pieces[-1]}
    except openai.APIError as error:
        yield "error", {"message": str(error)}
        return
    yield "response_complete", {"final_response": "".join(pieces)}


@dataclass(frozen=True)
class Asked:
    """One request the reference route received."""

    method: str
    accept: str
    message: str


@dataclass
class _Log:
    asked: list[Asked] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # the final text of each answer streamed to its end
    failed: list[str] = field(default_factory=list)  # the message of each error event sent
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add_request(self, asked: Asked) -> None:
        with self.changed:
            self.asked.append(asked)
            self.changed.notify_all()


def _frame(name: str, data: dict[str, str]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def reference_app(log: _Log, script: str) -> Starlette:
    """The page, the learner's script, and `GET`/`POST /chat/stream` relaying the recorded answers."""
    server = fault_server()

    async def answer(message: str) -> AsyncIterator[tuple[str, dict[str, str]]]:
        # A client per answer, closed in the loop that used it (uvicorn runs here without a lifespan to close one).
        async with async_openai_client(server=server, max_retries=0) as client:
            async for name, data in reference_events(client, model(server=server), message):
                yield name, data
                if name in ("response_complete", "error"):  # after the last event went out
                    with log.changed:
                        (log.sent if name == "response_complete" else log.failed).append(data.get("final_response", data.get("message", "")))
                        log.changed.notify_all()

    async def stream_get(request: Request) -> Response:
        message = request.query_params.get("message", "")
        log.add_request(Asked("GET", request.headers.get("accept", ""), message))

        async def events() -> AsyncIterator[dict[str, Any]]:
            first = True
            async for name, data in answer(message):
                yield {"event": name, "data": json.dumps(data, ensure_ascii=False), **({"retry": 100} if first else {})}
                first = False

        return EventSourceResponse(events(), sep="\n")

    async def stream_post(request: Request) -> Response:
        try:
            message = (await request.json())["message"]
        except (ValueError, KeyError, TypeError):
            log.add_request(Asked("POST", request.headers.get("accept", ""), ""))
            return Response('{"detail":"send {\\"message\\": \\"...\\"} as JSON"}', status_code=422, media_type="application/json")
        log.add_request(Asked("POST", request.headers.get("accept", ""), str(message)))

        async def pieces() -> AsyncIterator[bytes]:
            held = b""  # the second half of the previous event, sent together with the first half of the next
            async for name, data in answer(str(message)):
                framed = _frame(name, data)
                yield held + framed[: len(framed) // 2]
                held = framed[len(framed) // 2 :]
                await asyncio.sleep(0.005)  # a pause, so the browser's reader sees the pieces apart
            yield held

        return StreamingResponse(pieces(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    async def page(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def page_js(request: Request) -> Response:
        return Response(script, media_type="text/javascript")

    routes = [Route("/", page), Route("/page.js", page_js), Route("/chat/stream", stream_get, methods=["GET"]),
              Route("/chat/stream", stream_post, methods=["POST"])]
    return Starlette(routes=routes)


@dataclass(frozen=True)
class Shown:
    """What the page showed for one question, and what the reference route saw and sent."""

    call: str  # "askGet" or "askPost"
    answer: str  # #answer's textContent
    status: str  # #status's textContent
    finished: bool  # the page wrote a status within GRACE_MS of the answer's end
    markup: bool  # #answer holds an element the answer's text spelled (an img or a script)
    xss_fired: bool  # the hostile answer's handlers ran
    asked: tuple[Asked, ...]
    sent: tuple[str, ...]
    errors: tuple[str, ...]  # uncaught errors on the page
    failed: tuple[str, ...] = ()  # the message of each error event the route sent


class PageHarness:
    """The reference app on loopback and one Chromium, for every question of one check."""

    def __init__(self, script: str) -> None:
        self._log = _Log()
        self._server = LoopbackServer(reference_app(self._log, script), name="labs-exercise-13.2")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labs-chromium")
        self._playwright: Any = None
        self._browser: Any = None
        self._quiet = ExitStack()

    def __enter__(self) -> PageHarness:
        self._quiet.enter_context(quiet_sends())  # a page that leaves mid-answer makes asyncio log each send
        self._server.start()
        try:
            self._call(self._launch)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._call(self._close)
        finally:
            self._worker.shutdown()
            self._server.stop()
            self._quiet.close()

    def _call(self, work: Callable[[], T]) -> T:
        return self._worker.submit(work).result()

    def _launch(self) -> None:
        from playwright.sync_api import sync_playwright

        executable = chromium_path()
        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)

    def _close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()

    def ask(self, call: str, message: str) -> Shown:
        """Open the page in a fresh context, call `call(message)`, and wait for the page to write its status."""
        return self._call(lambda: self._ask(call, message))

    def _ask(self, call: str, message: str) -> Shown:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        asked_before, sent_before, failed_before = len(self._log.asked), len(self._log.sent), len(self._log.failed)
        context = self._browser.new_context()
        errors: list[str] = []
        try:
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{self._server.url}/")
            try:
                page.evaluate(f"message => {{ {call}(message); }}", message)
            except PlaywrightError as error:
                raise RuntimeError(f"calling {call}(message) on the page failed: {str(error).splitlines()[0]}") from None
            with self._log.changed:  # the route has sent the whole answer or its error (or there was nothing to send)
                self._log.changed.wait_for(lambda: len(self._log.sent) > sent_before or len(self._log.failed) > failed_before,
                                           timeout=WAIT_MS / 1000)
            try:
                page.wait_for_function("() => document.querySelector('#status').textContent.trim() !== ''", timeout=GRACE_MS)
                finished = True
            except PlaywrightTimeout:
                finished = False
            if finished:  # a page that keeps its EventSource open asks again within the 100 ms `retry:`
                with self._log.changed:
                    self._log.changed.wait_for(lambda: len(self._log.asked) > asked_before + 1, timeout=0.5)
            state = page.evaluate("""() => ({
                answer: document.querySelector('#answer').textContent,
                status: document.querySelector('#status').textContent,
                markup: document.querySelector('#answer img, #answer script') !== null,
                xss: window.xssFired !== undefined,
            })""")
        finally:
            context.close()
        return Shown(call, state["answer"], state["status"].strip(), finished, state["markup"], state["xss"],
                     tuple(self._log.asked[asked_before:]), tuple(self._log.sent[sent_before:]), tuple(errors),
                     tuple(self._log.failed[failed_before:]))
