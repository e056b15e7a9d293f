"""What the web app refuses: other host names (DNS rebinding), other sites' pages, and unbounded bodies.

In live mode each stream is a billed call on the learner's key, so a refusal must come before any backend
runs: each test hands the app a backend that counts its calls. In-process first (httpx.ASGITransport, where
the request arrives on the address of `base_url`), then once over loopback with the headers a browser
sends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from labs.lessons.lesson_12.scenarios import PROMPTS
from labs.web import create_app, serve
from labs.web.backends import Backend, BackendName
from labs.web.events import BackendEvent, TextDeltaEvent
from labs.web.guard import MAX_BODY_BYTES, RequestGuard

PORT = 8000
BASE = f"http://127.0.0.1:{PORT}"  # the address and port each in-process request arrives on


class CountingBackend(Backend):
    """A backend that answers "ok" and counts how often it was asked."""

    name: BackendName = "chat"
    title = "counting"
    instructions = ""

    def __init__(self) -> None:
        self.calls = 0

    async def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        self.calls += 1
        yield TextDeltaEvent("ok")

    def prompt_in(self, cassette: Any) -> str | None:
        return None


def client_for(app: Any, base_url: str = BASE) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


def refused(response: httpx.Response, header: str) -> str:
    """The refusal's reason, after checking it is a 403 in the app's error shape naming `header`."""
    assert response.status_code == 403, (response.status_code, response.text)
    (entry,) = response.json()["detail"]
    assert entry["loc"] == ["header", header] and entry["type"] in ("forbidden_host", "cross_origin")
    return str(entry["msg"])


REQUESTS = [
    ("GET", "/chat/stream", {"params": {"message": "hi"}}),
    ("POST", "/chat/stream", {"json": {"message": "hi"}}),
    ("GET", "/chat/prompts", {}),
]


# -- host names: DNS rebinding ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["attacker.example", f"attacker.example:{PORT}", f"127.0.0.1.attacker.example:{PORT}", f"localhost:{PORT + 1}", "127.0.0.1", "", "localhost:x"])
@pytest.mark.parametrize(("method", "path", "options"), [*REQUESTS, ("GET", "/", {})])
async def test_a_foreign_host_name_is_refused_before_any_backend_runs(host: str, method: str, path: str, options: dict[str, Any]) -> None:
    backend = CountingBackend()
    app = create_app({"chat": backend})
    async with client_for(app) as client:
        response = await client.request(method, path, headers={"Host": host}, **options)
    assert "this app answers only its own address" in refused(response, "host")
    assert backend.calls == 0 and app.state.streams.finished == []


@pytest.mark.parametrize("host", [f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"LOCALHOST:{PORT}", f"[::1]:{PORT}"])
async def test_the_apps_own_host_names_are_served(host: str) -> None:
    backend = CountingBackend()
    async with client_for(create_app({"chat": backend})) as client:
        response = await client.get("/chat/stream", params={"message": "hi"}, headers={"Host": host})
    assert response.status_code == 200 and "event: response_complete" in response.text and backend.calls == 1


async def test_a_host_named_in_allowed_hosts_is_served_as_behind_a_proxy() -> None:
    backend = CountingBackend()
    app = create_app({"chat": backend}, allowed_hosts=["chat.example.org"])
    async with client_for(app) as client:
        proxied = {"Host": "chat.example.org", "Origin": "https://chat.example.org", "Sec-Fetch-Site": "same-origin"}
        response = await client.post("/chat/stream", json={"message": "hi"}, headers=proxied)
        other = await client.get("/chat/prompts", headers={"Host": "chat.example.net"})
    assert response.status_code == 200 and backend.calls == 1
    refused(other, "host")


# -- other pages: fetch, EventSource, <img> ----------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": f"http://127.0.0.1:{PORT + 1}"},  # a page on another local port: fetch or EventSource
        {"Origin": f"http://localhost:{PORT + 1}", "Sec-Fetch-Site": "same-site"},
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Sec-Fetch-Site": "same-site"},  # <img src> from another local port: no Origin header at all
        {"Sec-Fetch-Site": "cross-site"},
    ],
    ids=["other-port", "other-port-same-site", "other-site", "null", "img-same-site", "img-cross-site"],
)
@pytest.mark.parametrize(("method", "path", "options"), REQUESTS)
async def test_another_pages_request_to_the_api_is_refused_before_any_backend_runs(
    headers: dict[str, str], method: str, path: str, options: dict[str, Any]
) -> None:
    backend = CountingBackend()
    app = create_app({"chat": backend})
    async with client_for(app) as client:
        response = await client.request(method, path, headers=headers, **options)
    assert "the chat API answers only its own page" in refused(response, "origin" if "Origin" in headers else "sec-fetch-site")
    assert backend.calls == 0 and app.state.streams.finished == [] and app.state.streams.active == {}


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, a script
        {"Origin": BASE, "Sec-Fetch-Site": "same-origin"},  # the page's own POST
        {"Sec-Fetch-Site": "same-origin"},  # the page's own EventSource
        {"Sec-Fetch-Site": "none"},  # the address typed in the address bar
    ],
    ids=["no-headers", "page-post", "page-eventsource", "typed"],
)
async def test_the_page_itself_and_plain_clients_are_served(headers: dict[str, str]) -> None:
    backend = CountingBackend()
    async with client_for(create_app({"chat": backend})) as client:
        async with aconnect_sse(client, "POST", "/chat/stream", json={"message": "hi"}, headers=headers) as source:
            names = [event.event async for event in source.aiter_sse()]
    assert names[-1] == "response_complete" and backend.calls == 1


async def test_the_page_opens_from_a_link_on_another_site() -> None:
    async with client_for(create_app({"chat": CountingBackend()})) as client:
        page = await client.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
        script = await client.get("/static/app.js", headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200 and 'src="static/app.js"' in page.text and script.status_code == 200


@pytest.mark.parametrize(("method", "path"), [("GET", "/%63hat/stream?message=hi"), ("POST", "/"), ("GET", "/nowhere"), ("GET", "//chat/stream?message=hi")])
async def test_only_a_get_of_the_page_its_files_and_docs_is_open_to_other_sites(method: str, path: str) -> None:
    backend = CountingBackend()
    async with client_for(create_app({"chat": backend})) as client:
        response = await client.request(method, path, headers={"Sec-Fetch-Site": "cross-site"})
    refused(response, "sec-fetch-site")
    assert backend.calls == 0


def test_over_loopback_rebinding_and_another_port_are_refused_and_the_page_is_served() -> None:
    backend = CountingBackend()
    with serve(create_app({"chat": backend})) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        other_port = f"http://127.0.0.1:{server.port + 1}"
        refused(client.get("/chat/stream", params={"message": "hi"}, headers={"Host": f"attacker.example:{server.port}"}), "host")
        refused(client.get("/chat/stream", params={"message": "hi"}, headers={"Origin": other_port}), "origin")
        refused(client.post("/chat/stream", json={"message": "hi"}, headers={"Origin": other_port}), "origin")
        refused(client.get("/chat/stream", params={"message": "hi"}, headers={"Sec-Fetch-Site": "same-site", "Sec-Fetch-Dest": "image"}), "sec-fetch-site")
        assert backend.calls == 0 and server.streams.finished == []
        own = client.post("/chat/stream", json={"message": "hi"}, headers={"Origin": server.url, "Sec-Fetch-Site": "same-origin"})
        assert own.status_code == 200 and "event: response_complete" in own.text and backend.calls == 1
        assert client.get("/", headers={"Host": f"localhost:{server.port}"}).status_code == 200


# -- bodies: size, time, depth --------------------------------------------------------------------


async def test_a_body_over_the_cap_is_a_413_whether_declared_or_streamed() -> None:
    backend = CountingBackend()
    app = create_app({"chat": backend})

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the guard counts as the body arrives
        yield b'{"message": "'
        for _ in range(MAX_BODY_BYTES // 1024 + 1):
            yield b"x" * 1024

    async with client_for(app) as client:
        declared = await client.post("/chat/stream", content=b"x" * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"})
        streamed = await client.post("/chat/stream", content=chunks(), headers={"Content-Type": "application/json"})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        (entry,) = response.json()["detail"]
        assert entry["loc"] == ["body"] and entry["type"] == "body_too_large" and f"{MAX_BODY_BYTES:,} bytes" in entry["msg"]
    assert backend.calls == 0


async def test_a_body_at_the_cap_is_read() -> None:
    padding = MAX_BODY_BYTES - len(b'{"message": "hi", "x": ""}')
    body = b'{"message": "hi", "x": "' + b"x" * padding + b'"}'
    assert len(body) == MAX_BODY_BYTES
    async with client_for(create_app({"chat": CountingBackend()})) as client:
        response = await client.post("/chat/stream", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200


async def test_a_body_shorter_than_its_content_length_is_a_408_not_a_hung_connection() -> None:
    """The client declares 100 bytes and sends 10: the guard stops waiting after `body_seconds`."""
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    stalled = asyncio.Event()  # never set: the rest of the body never comes

    async def receive() -> dict[str, Any]:
        if not sent:
            sent.append(True)
            return {"type": "http.request", "body": b'{"message"', "more_body": True}
        await stalled.wait()
        return {"type": "http.disconnect"}

    sent: list[bool] = []
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/chat/stream", "scheme": "http", "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"content-length", b"100"), (b"content-type", b"application/json")],
        "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    await asyncio.wait_for(RequestGuard(app, body_seconds=0.05)(scope, receive, send), timeout=10)
    assert reached == [] and messages[0]["status"] == 408
    assert b"did not arrive within 0.05 s" in messages[1]["body"]


@pytest.mark.parametrize("depth", [5_000, 30_000])
async def test_json_nested_too_deep_is_a_422_saying_so(depth: int) -> None:
    async with client_for(create_app({"chat": CountingBackend()})) as client:
        body = b'{"message": ' + b"[" * depth + b"]" * depth + b"}"
        response = await client.post("/chat/stream", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    (entry,) = response.json()["detail"]
    assert entry["type"] == "json_too_deep" and "nested too deeply" in entry["msg"]


async def test_head_of_the_page_is_answered_like_get_without_a_body() -> None:
    async with client_for(create_app({"chat": CountingBackend()})) as client:
        head, get = await client.head("/"), await client.get("/")
    assert head.status_code == get.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"] and head.headers["content-length"] == str(len(get.content))


# -- a broken fixture file ------------------------------------------------------------------------


@pytest.fixture
def broken_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "bad.yaml").write_text("version: 1\nsurface: openai\ninteractions:\n  - request: [unclosed\n")
    monkeypatch.setenv("LABS_FIXTURES", str(folder))
    return folder


@pytest.mark.parametrize("backend", ["chat", "agents", "azure", "sk"])
async def test_with_a_broken_fixture_the_prompts_are_listed_and_the_file_is_named(broken_fixture: Path, backend: str) -> None:
    async with client_for(create_app()) as client:
        response = await client.get("/chat/prompts", params={"backend": backend})
    assert response.status_code == 200, response.text
    listed = response.json()
    assert sorted(listed["prompts"]) == sorted(p for k, p in PROMPTS.items() if k.split("_")[0] == backend)
    (problem,) = listed["problems"]
    assert problem.startswith("extra/bad.yaml, line ") and str(broken_fixture) not in problem


async def test_with_a_broken_fixture_an_unanswerable_stream_ends_in_an_error_event_naming_the_file(broken_fixture: Path) -> None:
    async with client_for(create_app()) as client:
        async with aconnect_sse(client, "GET", "/chat/stream", params={"message": "Nobody recorded this."}) as source:
            events = [event async for event in source.aiter_sse()]
    assert [e.event for e in events] == ["session_update", "typing_start", "error"]
    assert "extra/bad.yaml" in events[-1].json()["message"]
