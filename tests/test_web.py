"""The chat web app in-process (httpx.ASGITransport, or the ASGI callable itself), then once over loopback.

Every recorded prompt of every backend goes through the real SDK and the relay; the expected text and
tool calls come from the scenarios that recorded the fixtures (`labs.lessons.lesson_12.scenarios`), never from
the code under test. Disconnects are simulated at the ASGI level, where the test decides exactly when
the client goes away and can then look at everything the backend left behind.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import threading
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urljoin

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse
from starlette.applications import Starlette
from starlette.routing import Mount

import labs
from labs.lessons.lesson_12.scenarios import ANSWERS, PROMPTS, SCENARIOS
from labs.web import MAX_MESSAGE_CHARS, create_app, serve
from labs.web.backends import AgentsBackend, AzureBackend, Backend, ChatBackend, SKBackend
from labs.web.events import Error, ResponseComplete, SessionUpdate, TextDeltaEvent, ToolComplete, ToolStart, TypingStart, encode

KEYS = list(PROMPTS)
TOOL_CALLS = {s.name.split("/")[1]: [c for r in s.replies for c in r.tool_calls] for s in SCENARIOS}
BODY_EVENTS = {"text_delta", "tool_start", "tool_complete"}


def backend_of(key: str) -> str:
    return key.split("_")[0]


async def stream_events(app: Any, method: str, key: str) -> list[ServerSentEvent]:
    params = {"message": PROMPTS[key], "backend": backend_of(key)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        options: dict[str, Any] = {"params": params} if method == "GET" else {"json": params}
        async with aconnect_sse(client, method, "/chat/stream", **options) as source:
            assert source.response.status_code == 200
            return [event async for event in source.aiter_sse()]


# -- framing: exact bytes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "event_id", "wire"),
    [
        (TextDeltaEvent("Hi"), 3, b'id: 3\nevent: text_delta\ndata: {"delta":"Hi"}\n\n'),
        (TextDeltaEvent("\n\n- Water"), 4, b'id: 4\nevent: text_delta\ndata: {"delta":"\\n\\n- Water"}\n\n'),
        (TextDeltaEvent("6\u00b0C <b>"), 5, 'id: 5\nevent: text_delta\ndata: {"delta":"6\u00b0C <b>"}\n\n'.encode()),
        (TypingStart("chat"), 2, b'id: 2\nevent: typing_start\ndata: {"backend":"chat"}\n\n'),
        (SessionUpdate("s-1", "sk", "replay"), 1, b'id: 1\nevent: session_update\ndata: {"session_id":"s-1","backend":"sk","mode":"replay"}\n\n'),
        (ToolStart("f", '{"a":1}'), 6, b'id: 6\nevent: tool_start\ndata: {"name":"f","arguments":"{\\"a\\":1}"}\n\n'),
        (ToolComplete("f", "ok"), 7, b'id: 7\nevent: tool_complete\ndata: {"name":"f","output":"ok"}\n\n'),
        (
            ResponseComplete("a b", 2, 3, None),
            8,
            b'id: 8\nevent: response_complete\ndata: {"final_response":"a b","word_count":2,"character_count":3,"ttft_ms":null}\n\n',
        ),
        (Error("boom", "replay_miss"), 9, b'id: 9\nevent: error\ndata: {"message":"boom","code":"replay_miss"}\n\n'),
    ],
)
def test_each_event_frames_to_exact_bytes(event: Any, event_id: int, wire: bytes) -> None:
    assert encode(event, event_id).encode() == wire


# -- every backend, every recorded prompt ---------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
async def test_event_sequence_and_concatenation_per_recorded_prompt(key: str) -> None:
    events = await stream_events(create_app(), "GET", key)
    names = [e.event for e in events]
    assert names[:2] == ["session_update", "typing_start"] and names[-1] == "response_complete", names
    assert set(names[2:-1]) <= BODY_EVENTS, names
    assert [e.id for e in events] == [str(n) for n in range(1, len(events) + 1)]
    assert all("\n" not in e.data for e in events)  # one data: line each

    deltas = [e.json()["delta"] for e in events if e.event == "text_delta"]
    final = events[-1].json()
    assert "".join(deltas) == final["final_response"] == ANSWERS[key]  # every delta sent, as recorded
    assert final["word_count"] == len(ANSWERS[key].split()) and final["character_count"] == len(ANSWERS[key])
    assert final["ttft_ms"] > 0
    assert events[0].json()["backend"] == backend_of(key) and events[0].json()["mode"] == "replay"

    tools = [(e.event, e.json()) for e in events if e.event in ("tool_start", "tool_complete")]
    scripted = TOOL_CALLS[key]
    assert [(kind, data["name"]) for kind, data in tools] == [(k, c.name) for c in scripted for k in ("tool_start", "tool_complete")]
    for call, (_, start), (_, done) in zip(scripted, tools[::2], tools[1::2], strict=True):
        assert json.loads(start["arguments"]) == json.loads(call.arguments)
        output = json.loads(done["output"])  # the tool's result names what it was asked about
        assert all(output.get(name) == value for name, value in json.loads(call.arguments).items()), output
    if scripted:  # the answer streams after the tool round
        assert names.index("tool_complete") < names.index("text_delta")


async def test_post_with_a_json_body_streams_the_same_answer() -> None:
    events = await stream_events(create_app(), "POST", "chat_trail_tool")
    assert events[-1].event == "response_complete" and events[-1].json()["final_response"] == ANSWERS["chat_trail_tool"]


async def test_stream_headers() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://web") as client:
        response = await client.get("/chat/stream", params={"message": PROMPTS["chat_xss"]})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"


async def test_an_unrecorded_prompt_ends_in_an_error_event_naming_the_fixtures() -> None:
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        async with aconnect_sse(client, "GET", "/chat/stream", params={"message": "Nobody recorded this."}) as source:
            events = [e async for e in source.aiter_sse()]
    assert [e.event for e in events] == ["session_update", "typing_start", "error"]
    error = events[-1].json()
    assert error["code"] == "replay_miss" and "labs/fixtures" in error["message"] and "LABS_MODE=record" in error["message"]
    assert app.state.streams.finished[-1].outcome == "failed"


async def test_a_reconnect_with_last_event_id_is_told_to_stop() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://web") as client:
        response = await client.get("/chat/stream", params={"message": PROMPTS["chat_xss"]}, headers={"Last-Event-ID": "12"})
    assert response.status_code == 204 and response.content == b""


# -- recorded prompts -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["chat", "agents", "azure", "sk"])
async def test_prompts_lists_each_backends_recorded_prompts(backend: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://web") as client:
        listed = (await client.get("/chat/prompts", params={"backend": backend})).json()
    assert listed["mode"] == "replay" and listed["max_message_chars"] == MAX_MESSAGE_CHARS
    assert sorted(listed["prompts"]) == sorted(p for k, p in PROMPTS.items() if backend_of(k) == backend)


async def test_prompts_are_empty_when_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://web") as client:
        listed = (await client.get("/chat/prompts", params={"backend": "chat"})).json()
    assert listed["mode"] == "live" and listed["prompts"] == []


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "options", "field", "reason"),
    [
        ("GET", {"params": {"message": ""}}, "message", "at least 1 character"),
        ("GET", {"params": {"message": "   "}}, "message", "the message is only whitespace"),
        ("GET", {"params": {"message": "x" * (MAX_MESSAGE_CHARS + 1)}}, "message", f"at most {MAX_MESSAGE_CHARS} characters"),
        ("POST", {"json": {"message": " " + "x" * MAX_MESSAGE_CHARS}}, "message", f"at most {MAX_MESSAGE_CHARS} characters"),  # as sent, as the schema says
        ("GET", {"params": {"message": "hi", "backend": "gpt"}}, "backend", "'chat', 'agents', 'azure' or 'sk'"),
        ("GET", {"params": {}}, "message", "Field required"),
        ("POST", {"json": {"message": "", "backend": "chat"}}, "message", "at least 1 character"),
        ("POST", {"json": {"message": "hi", "backend": "bard"}}, "backend", "'chat', 'agents', 'azure' or 'sk'"),
        ("POST", {"content": b"message=hi"}, "body", "valid dictionary"),
        ("GET", {"params": {"backend": "nope"}, "url": "/chat/prompts"}, "backend", "'chat', 'agents', 'azure' or 'sk'"),
    ],
)
async def test_bad_input_is_a_422_with_a_reason(method: str, options: dict[str, Any], field: str, reason: str) -> None:
    app = create_app()
    url = options.pop("url", "/chat/stream")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        response = await client.request(method, url, **options)
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["loc"][-1] == field and reason in problem["msg"]
    assert app.state.streams.finished == [] and app.state.streams.active == {}  # no stream was opened


def test_the_schema_and_the_app_agree_on_what_is_only_whitespace() -> None:
    from labs.web.app import NOT_ONLY_WHITESPACE, WHITESPACE

    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()} | {"\ufeff"}  # Python's, and ECMA's U+FEFF
    assert [c for c in map(chr, range(0x3001)) if re.search(NOT_ONLY_WHITESPACE, c) is None] == sorted(c for c in WHITESPACE if c < "\u3001")


async def test_a_message_of_whitespace_by_either_definition_is_a_422() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://web") as client:
        for message in ("\ufeff", "\x85 \x1d", "\u3000\t"):
            response = await client.post("/chat/stream", json={"message": message})
            assert response.status_code == 422 and "only whitespace" in response.json()["detail"][0]["msg"], message


async def test_a_backend_the_app_does_not_serve_is_a_422() -> None:
    app = create_app({"chat": ChatBackend()})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as client:
        response = await client.get("/chat/stream", params={"message": "hi", "backend": "sk"})
    assert response.status_code == 422 and "serves chat" in response.json()["detail"][0]["msg"]


# -- the browser goes away ------------------------------------------------------------------------


class ASGIClient:
    """Calls the app as uvicorn would, and says `http.disconnect` the moment `leave_when` sees its bytes.

    With `stop_reading`, the client also stops taking bytes at that moment (a stalled browser tab): the
    send in flight never returns, so the relay is cancelled while suspended at a `yield`, not at an `await`.
    """

    def __init__(self, app: Any, leave_when: Callable[[bytes], bool], stop_reading: bool = False) -> None:
        self.app, self.leave_when, self.stop_reading = app, leave_when, stop_reading
        self.received = b""
        self.left = asyncio.Event()
        self._asked = False

    async def receive(self) -> dict[str, Any]:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            self.received += message.get("body", b"")
            if self.leave_when(self.received):
                self.left.set()
                if self.stop_reading:
                    await asyncio.Future()  # never resolves; the app must cancel this send

    async def get(self, path: str, params: dict[str, str]) -> None:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": urlencode(params).encode(), "root_path": "",
            "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        await self.app(scope, self.receive, self.send)


def our_tasks() -> set[asyncio.Task[Any]]:
    # sse-starlette keeps one shutdown watcher per event loop for as long as the loop lives; it is not a stream's.
    return {t for t in asyncio.all_tasks() if "_shutdown_watcher" not in repr(t.get_coro())}


class UpstreamWatch:
    """Connect functions for each SDK that remember every client made and every HTTP response received."""

    def __init__(self) -> None:
        self.clients: list[httpx.AsyncClient] = []
        self.openai: list[httpx.Response] = []
        self.azure: list[Any] = []

    def openai_client(self) -> Any:
        async def remember(response: httpx.Response) -> None:
            self.openai.append(response)

        http = httpx.AsyncClient(event_hooks={"response": [remember]})
        self.clients.append(http)
        return labs.async_openai_client(http_client=http)

    def azure_client(self, raw_response_hook: Callable[[Any], None] | None = None) -> Any:
        def remember(pipeline: Any) -> None:
            self.azure.append(pipeline.http_response)
            if raw_response_hook is not None:  # the backend's own hook: it closes what it was handed
                raw_response_hook(pipeline)

        return labs.async_azure_agents_client(raw_response_hook=remember)

    def responses_closed(self) -> bool:
        """Every HTTP response the SDK opened has been closed."""
        return bool(self.openai or self.azure) and all(r.is_closed for r in self.openai) and all(r.internal_response.closed for r in self.azure)

    def connections_closed(self) -> bool:
        """Every connection is closed: its response was, or the client it belonged to (and so its pool) was."""
        openai = all(c.is_closed for c in self.clients)  # a closed httpx client has closed its connection pool
        azure = all(r.internal_response.closed or r.internal_response.connection.closed for r in self.azure)
        return bool(self.openai or self.azure) and openai and azure


def watched_backend(name: str, watch: UpstreamWatch) -> Backend:
    if name == "azure":
        return AzureBackend(connect=watch.azure_client)
    return {"chat": ChatBackend, "agents": AgentsBackend, "sk": SKBackend}[name](connect=watch.openai_client)


@pytest.mark.parametrize("stop_reading", [False, True], ids=["while-waiting-for-the-model", "while-the-tab-stopped-reading"])
@pytest.mark.parametrize("key", ["chat_pack_list", "agents_insulation", "azure_rain_tips", "sk_trail_shoes"])
async def test_leaving_mid_answer_cancels_the_upstream_stream(key: str, stop_reading: bool) -> None:
    watch = UpstreamWatch()
    app = create_app({backend_of(key): watched_backend(backend_of(key), watch)})
    client = ASGIClient(app, leave_when=lambda body: b"event: text_delta" in body, stop_reading=stop_reading)
    before = our_tasks()
    with labs.replay_speed(1):  # the recording takes seconds: the answer is far from finished when we leave
        await client.get("/chat/stream", {"message": PROMPTS[key], "backend": backend_of(key)})
    # The app returned: sse-starlette cancelled the relay, and the backend's cleanup has run.
    assert client.left.is_set() and b"response_complete" not in client.received
    sent = client.received.decode().count("event: text_delta")
    assert 0 < sent < len(ANSWERS[key].split()) / 2, sent
    assert [r.outcome for r in app.state.streams.finished] == ["cancelled"] and not app.state.streams.active
    # azure-ai-agents' stream __aexit__ calls close() on an async generator that only has aclose(), and its
    # byte iterator closes the response only at the end: the Azure backend closes each response itself.
    assert watch.responses_closed(), (watch.openai, watch.azure)
    assert watch.connections_closed(), (watch.openai, watch.azure)
    assert our_tasks() <= before  # no runner task, reader or stream left behind


def test_forty_azure_streams_left_mid_answer_leave_no_unclosed_connection(caplog: pytest.LogCaptureFixture) -> None:
    """aiohttp logs "Unclosed connection" when it collects a response nobody closed; the backend closes each one."""
    keys = [k for k in KEYS if backend_of(k) == "azure"]

    async def leave_at_the_first_delta(client: httpx.AsyncClient, key: str) -> None:
        async with client.stream("GET", "/chat/stream", params={"message": PROMPTS[key], "backend": "azure"}) as response:
            async for line in response.aiter_lines():
                if line == "event: text_delta":
                    return  # leaving the block closes the connection mid-answer

    async def forty(url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=40)) as client:
            await asyncio.gather(*(leave_at_the_first_delta(client, keys[n % len(keys)]) for n in range(40)))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with labs.replay_speed(5), serve(create_app({"azure": AzureBackend()})) as server:
            asyncio.run(forty(server.url))
            assert server.streams.wait_idle(timeout=30)
            gc.collect()  # aiohttp's warning comes from a finalizer: collect the cycles the cancelled streams left
            outcomes = [r.outcome for r in server.streams.finished]
    assert outcomes == ["cancelled"] * 40
    unclosed = [str(w.message) for w in caught if "Unclosed" in str(w.message)] + [r.getMessage() for r in caplog.records if "Unclosed" in r.getMessage()]
    assert unclosed == [], f"{len(unclosed)} unclosed: {unclosed[:2]}"


async def test_a_comment_ping_keeps_a_quiet_stream_alive() -> None:
    app = create_app({"chat": ChatBackend()}, ping_seconds=0.02)
    # The recorded model waits about half a second before its first token: pings fill the silence.
    client = ASGIClient(app, leave_when=lambda body: b"\n: ping" in body or b"event: text_delta" in body)
    with labs.replay_speed(1):
        await client.get("/chat/stream", {"message": PROMPTS["chat_pack_list"]})
    text = client.received.decode()
    assert "event: text_delta" not in text, "the first token came before any ping"
    assert text.index("event: typing_start") < text.index("\n: ping")
    assert app.state.streams.finished[-1].outcome == "cancelled"


# -- once for real, over loopback -----------------------------------------------------------------


def test_over_loopback_a_full_answer_then_a_stream_left_early() -> None:
    with serve() as server:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            page = client.get("/")
            assert page.status_code == 200 and "static/app.js" in page.text
            with connect_sse(client, "GET", "/chat/stream", params={"message": PROMPTS["chat_pack_list"]}) as source:
                events = list(source.iter_sse())
            assert "".join(e.json()["delta"] for e in events if e.event == "text_delta") == ANSWERS["chat_pack_list"]

            with labs.replay_speed(1):
                with connect_sse(client, "GET", "/chat/stream", params={"message": PROMPTS["chat_pack_list"]}) as source:
                    first = next(e for e in source.iter_sse() if e.event == "text_delta")
                # Leaving the block closed the connection mid-answer; the server notices and cleans up.
                assert server.streams.wait_idle(timeout=10)
        assert first.json()["delta"] and [r.outcome for r in server.streams.finished] == ["completed", "cancelled"]


PREFIX = "/user/learner/proxy/8000"  # where jupyter-server-proxy serves the app behind a JupyterHub


def under_a_prefix() -> Starlette:
    """The app mounted below `PREFIX`, as a proxy serving it there would: nothing answers at `/` itself."""
    return Starlette(routes=[Mount(PREFIX, app=create_app())])


async def test_the_page_its_files_and_its_api_calls_work_below_a_path_prefix() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=under_a_prefix()), base_url="http://127.0.0.1:8000") as client:
        page_url = f"{PREFIX}/"
        page = await client.get(page_url)
        assert page.status_code == 200
        files = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(files) >= 2, files  # the stylesheet and the script at least
        for file in files:
            assert (await client.get(urljoin(page_url, file))).status_code == 200, file
        script = (await client.get(urljoin(page_url, "static/app.js"))).text
        calls = re.findall(r"(?:fetch|EventSource)\(`([^`?]+)\?", script)
        assert sorted(calls) == ["chat/prompts", "chat/stream"], calls
        prompts = await client.get(urljoin(page_url, "chat/prompts"), params={"backend": "chat"})
        assert prompts.status_code == 200 and PROMPTS["chat_pack_list"] in prompts.json()["prompts"]
        params = {"message": PROMPTS["chat_pack_list"], "backend": "chat"}
        async with aconnect_sse(client, "GET", urljoin(page_url, "chat/stream"), params=params) as source:
            events = [event async for event in source.aiter_sse()]
        assert "".join(e.json()["delta"] for e in events if e.event == "text_delta") == ANSWERS["chat_pack_list"]


def test_the_page_never_parses_model_text_as_html() -> None:
    from labs.web.app import STATIC_DIR

    script = (STATIC_DIR / "app.js").read_text()
    assert "DOMPurify.sanitize(markdown.parse(text), ALLOWED)" in script and "RETURN_DOM_FRAGMENT: true" in script
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "createContextualFragment", "document.write", "eval("):
        assert sink not in script, sink


@pytest.mark.parametrize(("file", "header", "version"), [("marked.umd.js", "marked v18.2.1", "18.2.1"), ("purify.min.js", "@license DOMPurify 3.5.0", "3.5.0")])
def test_the_vendored_libraries_are_the_pinned_files_with_their_licence(file: str, header: str, version: str) -> None:
    import hashlib

    from labs.web.app import STATIC_DIR

    content = (STATIC_DIR / file).read_bytes()
    row = next(line for line in (STATIC_DIR / "VENDORED.md").read_text().splitlines() if line.startswith(f"| `{file}`"))
    assert header in content[:300].decode() and f"| {version} |" in row
    assert hashlib.sha256(content).hexdigest() in row, f"{file} differs from the version VENDORED.md names"
    assert f'src="static/{file}"' in (STATIC_DIR / "index.html").read_text()


# -- exercise 12.1: one event framed by hand -------------------------------------------------------


def test_exercise_9_1_accepts_the_librarys_bytes_and_names_common_mistakes() -> None:
    from labs.checks import check

    def by_hand(event: str, data: dict[str, Any], event_id: int) -> bytes:
        return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()

    def spaced_json(event: str, data: dict[str, Any], event_id: int) -> bytes:
        return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data)}\n\n".encode()

    def course_material(event: str, data: dict[str, Any], event_id: int) -> bytes:
        return f"data: {data.get('delta', '')}\n\n".encode()

    def untouched(event: str, data: dict[str, Any], event_id: int) -> bytes:
        raise NotImplementedError("Exercise 12.1: complete frame")

    assert check("12.1", by_hand).status == "passed"
    spaced = check("12.1", spaced_json)
    assert spaced.status == "failed" and "separators" in spaced.hint
    assert all(not case.passed for case in check("12.1", course_material).cases)
    assert check("12.1", untouched).status == "not_done"


def test_the_command_line_names_a_busy_port_and_how_to_avoid_it() -> None:
    import socket

    from labs.web.app import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit, match=f"cannot listen on 127.0.0.1:{port}.*--port 0"):
            main(["--port", str(port)])


@pytest.mark.parametrize("started", ["in the foreground", "in the background"])
def test_ctrl_c_on_the_command_line_ends_it_with_one_line_while_a_stream_is_open(started: str) -> None:
    import os
    import signal
    import subprocess
    import sys

    environment = {**os.environ, "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "1"}  # an answer long enough to interrupt
    command = [sys.executable, "-m", "labs.web", "--port", "0"]
    # A shell without job control starts `cmd &` with SIGINT ignored; so does a pytest started that way, for its children.
    disposition = signal.SIG_IGN if started == "in the background" else signal.SIG_DFL
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment,
        preexec_fn=lambda: signal.signal(signal.SIGINT, disposition),  # noqa: PLW1509  (one call, before exec)
    ) as process:
        banner = process.stdout.readline() if process.stdout else ""
        assert banner.startswith("Streaming chat on http://127.0.0.1:"), banner
        params = {"message": PROMPTS["chat_pack_list"]}
        with httpx.Client(base_url=banner.split()[3], timeout=30) as client, connect_sse(client, "GET", "/chat/stream", params=params) as source:
            next(e for e in source.iter_sse() if e.event == "text_delta")  # mid-answer now
            process.send_signal(signal.SIGINT)
            rest, _ = process.communicate(timeout=30)
    assert rest.strip().splitlines() == ["Stopped: the chat page is no longer served."], (process.returncode, rest)
    assert process.returncode == 130


class WatchedBackend(ChatBackend):
    """The chat backend, counting its warm-ups and requests; its warm-up waits for `gate` when given one."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.warmed = self.requests = 0
        self.gate = gate

    def warm(self) -> None:
        assert self.requests == 0
        if self.gate is not None:
            assert self.gate.wait(30), "the test never opened the gate"
        super().warm()
        self.warmed += 1

    def stream(self, message: str) -> Any:
        assert self.warmed == 1, "a request reached the backend before its warm-up ended"
        self.requests += 1
        return super().stream(message)


def _answered(url: str, backend: str) -> list[str]:
    with httpx.Client(base_url=url, timeout=30) as client:
        with connect_sse(client, "GET", "/chat/stream", params={"message": PROMPTS["chat_pack_list"], "backend": backend}) as source:
            return [e.event for e in source.iter_sse()]


def test_serve_warms_the_first_backend_before_it_returns_and_each_other_before_its_first_request() -> None:
    import concurrent.futures

    gate = threading.Event()
    first, second = WatchedBackend(), WatchedBackend(gate)  # the second's warm-up lasts until the gate opens
    with serve(create_app({"chat": first, "agents": second})) as server, concurrent.futures.ThreadPoolExecutor() as pool:
        assert first.warmed == 1 and set(server.app.state.warmed) == {"chat"}  # serve() did not wait for the second
        waiting = pool.submit(_answered, server.url, "agents")
        assert "response_complete" in _answered(server.url, "chat")  # the first answers while the second warms
        assert not waiting.done() and second.requests == 0  # the request for the second waits for its warm-up...
        gate.set()
        assert "response_complete" in waiting.result(timeout=30)  # ...and then is answered (its stream() checks the order)
        assert server.app.state.warming.wait(timeout=5)
    assert (first.warmed, first.requests, second.warmed, second.requests) == (1, 1, 1, 1)
    with serve() as server:
        assert server.app.state.warming.wait(timeout=60)
        assert set(server.app.state.warmed) == {"chat", "agents", "azure", "sk"}


def test_warming_up_needs_no_key_so_a_live_app_without_one_still_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from labs.web.app import warm_up

    monkeypatch.setenv("LABS_MODE", "live")  # and no key of any service (the conftest removed them)
    assert set(warm_up(create_app())) == {"chat", "agents", "azure", "sk"}


def test_tool_results_carry_real_characters_not_json_escapes() -> None:
    from labs.web.tools import get_forecast

    output = get_forecast("Lake Louise")
    assert "6°C" in output and "\\u" not in output
    assert json.loads(output)["forecast"].startswith("tomorrow: 6°C")
