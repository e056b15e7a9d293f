"""The replay server under untrusted requests: bounded work, clear errors in each service's own shape.

Any web page the learner opens can send requests to 127.0.0.1, and a learner's own code can send odd
ones. Every case here gets an answer a person can act on, never a 500, a traceback, a frozen server or a
connection held open forever. Each test talks to a real server over loopback.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from labs.config import FIXTURES_DIR
from labs.replay import ReplayServer
from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, dump_cassette
from labs.replay.server import MAX_BODY_BYTES

INSTRUCTOR_LINE = "Changed a lesson's prompt? Re-author its fixtures: make fixtures LESSON=NN (README, instructor guide)."
SLOW = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Stream slowly."}], "stream": True}
EVENTS, GAP = 40, 0.05  # the slow stream: 40 events, 50 ms apart (2 s at speed 1)


def _chunk(text: str) -> str:
    return json.dumps({"id": "chatcmpl-slow1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}}]})


def _stream(body: dict[str, Any], texts: list[str], gap: float, fault: dict[str, Any] | None = None) -> Interaction:
    events = [RecordedEvent(t=gap * (i + 1), data=_chunk(text)) for i, text in enumerate(texts)]
    events.append(RecordedEvent(t=gap * (len(texts) + 1), data="[DONE]"))
    return Interaction(RecordedRequest("POST", "/chat/completions", body), RecordedResponse(content_type="text/event-stream", events=events, fault=fault))


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    slow = Cassette("slow", "openai", "A slow stream, to watch while another client misses.", [_stream(SLOW, [f"w{i} " for i in range(EVENTS)], GAP)])
    dump_cassette(slow, tmp_path / "lesson" / "slow.yaml")
    return tmp_path


@pytest.fixture
def server(fixtures: Path) -> Any:
    with ReplayServer(fixture_dirs=(fixtures,), speed=0) as running:
        yield running


def _post(server: ReplayServer, path: str, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(server.url + path, content=content, headers={"content-type": "application/json", **headers}, timeout=30)


# -- bounded work: a huge miss does not hold up anyone else ---------------------------------------


@pytest.fixture
def workbook_server(fixtures: Path) -> Any:
    """The slow stream among every fixture of the workbook: a miss has dozens of recordings to compare with."""
    with ReplayServer(fixture_dirs=(FIXTURES_DIR, fixtures), speed=1) as running:
        yield running


def test_a_five_megabyte_miss_answers_quickly_and_never_holds_up_another_stream(workbook_server: ReplayServer) -> None:
    server = workbook_server
    arrivals: list[float] = []
    first = threading.Event()

    def read_slow_stream() -> None:
        started = time.monotonic()
        with httpx.stream("POST", server.openai_base_url + "/chat/completions", json=SLOW, timeout=60) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    arrivals.append(time.monotonic() - started)
                    first.set()

    reader = threading.Thread(target=read_slow_stream)
    reader.start()
    assert first.wait(timeout=10)
    huge = json.dumps({**SLOW, "messages": [{"role": "user", "content": "x" * 5_000_000}]}).encode()
    sent = time.monotonic()
    miss = _post(server, "/v1/chat/completions", huge)
    miss_seconds = time.monotonic() - sent
    missed_during_stream = len(arrivals) < EVENTS
    reader.join(timeout=30)

    assert miss.status_code == 404 and miss.json()["error"]["code"] == "replay_miss"
    assert "Closest recording" in miss.json()["error"]["message"] and len(miss.content) < 4_000
    assert miss_seconds < 5, f"the 5 MB miss took {miss_seconds:.1f} s"
    assert missed_during_stream, "the miss was answered after the other stream ended: nothing overlapped"
    # Late against the first event's schedule: the miss is sent after it, so a slow start (a busy machine once
    # took 1.05 s to the first event) is not the miss's doing, and the server plays events already due at once.
    lateness = max(arrived - arrivals[0] - GAP * i for i, arrived in enumerate(arrivals))
    assert len(arrivals) == EVENTS + 1 and lateness < 1.0, f"the other client's events came up to {lateness:.2f} s late"


def test_a_miss_explanation_is_bounded_for_a_body_of_many_fields(workbook_server: ReplayServer) -> None:
    server = workbook_server
    wide = {**SLOW, "messages": [{"role": "user", "content": str(i)} for i in range(100_000)]}
    started = time.thread_time()  # this thread's CPU seconds: the work is bounded, however busy the machine is
    message = server.library.explain("openai", "POST", "/chat/completions", wide)
    assert time.thread_time() - started < 5
    assert "Closest recording" in message and "more fields" in message and len(message) < 2_000


# -- request bodies: capped, on time, not too deep ------------------------------------------------


def _exchange(server: ReplayServer, head: bytes) -> tuple[bytes, dict[str, Any], float]:
    """Send raw bytes, read until the server closes the connection: the status line, the JSON body, the seconds it took."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(head)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        waited = time.monotonic() - started
    status, _, rest = received.partition(b"\r\n")
    return status, json.loads(rest.partition(b"\r\n\r\n")[2]), waited


def test_a_body_over_the_cap_is_a_413_in_the_services_shape(server: ReplayServer) -> None:
    # Declared too large: refused at once, without reading (or waiting for) a byte of it.
    status, body, _ = _exchange(server, f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n{{}}".encode())
    assert status.startswith(b"HTTP/1.1 413") and body["error"]["code"] == "request_too_large"
    assert f"{MAX_BODY_BYTES:,}" in body["error"]["message"] and set(body["error"]) == {"message", "type", "param", "code"}

    def chunks() -> Any:  # no Content-Length: the server counts as the body arrives
        for _ in range(MAX_BODY_BYTES // 1_000_000 + 1):
            yield b" " * 1_000_000

    streamed = httpx.post(server.url + "/api/projects/p/threads", content=chunks(), timeout=30)
    assert streamed.status_code == 413 and set(streamed.json()["error"]) == {"code", "message"}  # Azure's shape
    assert MAX_BODY_BYTES >= 8 * 1024 * 1024


def test_a_body_shorter_than_its_content_length_is_a_408_then_the_connection_closes(server: ReplayServer) -> None:
    server.body_timeout = 0.5
    status, body, waited = _exchange(server, b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
    assert status.startswith(b"HTTP/1.1 408") and body["error"]["code"] == "request_timeout"
    assert "Content-Length said 100" in body["error"]["message"]
    assert 0.5 <= waited < 5  # and the connection was closed: _exchange read to its end


@pytest.mark.parametrize("depth", [500, 100_000])
@pytest.mark.parametrize(("path", "shape"), [("/v1/chat/completions", {"message", "type", "param", "code"}), ("/api/projects/p/threads", {"code", "message"})])
def test_deeply_nested_json_is_a_400_in_the_services_shape(server: ReplayServer, path: str, shape: set[str], depth: int) -> None:
    response = _post(server, path, b"[" * depth + b"]" * depth)
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert set(error) == shape and error["code"] == "invalid_request_body" and "deeper than 100 levels" in error["message"]


def test_json_nested_as_deep_as_a_real_request_still_matches_or_misses_normally(server: ReplayServer) -> None:
    nested: Any = "leaf"
    for _ in range(60):
        nested = {"a": nested}
    response = _post(server, "/v1/chat/completions", json.dumps({**SLOW, "metadata": nested}).encode())
    assert response.status_code == 404 and response.json()["error"]["code"] == "replay_miss"


# -- every miss ends with a line for instructors -------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/responses", "/api/projects/p/threads", "/api/projects/p/assistants"])
def test_every_miss_message_ends_with_the_instructor_line(server: ReplayServer, path: str) -> None:
    response = _post(server, path, json.dumps({"messages": [{"role": "user", "content": "never recorded"}]}).encode())
    assert response.status_code == 404
    assert response.json()["error"]["message"].endswith(INSTRUCTOR_LINE)


# -- control endpoints: JSON from this origin only -----------------------------------------------


def test_record_as_from_the_same_origin_with_json_is_accepted(server: ReplayServer) -> None:
    response = _post(server, "/_labs/record-as", b'{"name": "mine/first", "surface": "openai"}', origin=server.url)
    assert response.status_code == 200 and response.json() == {"recording_to": "mine/first"}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"content-type": "text/plain"}, 415, "unsupported_media_type"),
        ({"content-type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
        ({"content-type": "application/json", "origin": "http://127.0.0.1:1"}, 403, "cross_origin"),
        ({"content-type": "application/json", "origin": "null"}, 403, "cross_origin"),
    ],
)
def test_record_as_refuses_what_a_web_page_could_send(server: ReplayServer, headers: dict[str, str], status: int, code: str) -> None:
    response = httpx.post(server.url + "/_labs/record-as", content=b'{"name": "x"}', headers=headers, timeout=10)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert server.recorder._pinned is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b'{"name": 7}', "`name` must be a string"),
        (b'{"name": "a", "comment": ["x"]}', "`comment` must be a string"),
        (b'{"name": "a", "surface": "gemini"}', "`surface` must be one of openai, azure"),
        (b"[" * 5000 + b"]" * 5000, "deeper than 100 levels"),
    ],
)
def test_a_bad_record_as_body_is_a_400_with_the_reason(server: ReplayServer, body: bytes, reason: str) -> None:
    response = _post(server, "/_labs/record-as", body)
    assert response.status_code == 400 and response.json()["error"]["code"] in ("invalid_record_as", "invalid_request_body")
    assert reason in response.json()["error"]["message"]


def test_a_foreign_origin_is_refused_on_every_route(server: ReplayServer) -> None:
    for path in ("/_labs/health", "/_labs/scenarios", "/v1/chat/completions"):
        response = httpx.get(server.url + path, headers={"origin": "http://attacker.example"}, timeout=10)
        assert response.status_code == 403 and response.json()["error"]["code"] == "cross_origin", path
    assert httpx.get(server.url + "/_labs/health", headers={"origin": server.url}, timeout=10).status_code == 200


# -- a fault that drops the connection after the last event ---------------------------------------


def test_a_drop_at_end_fault_sends_every_event_then_cuts_the_connection(tmp_path: Path) -> None:
    body = {**SLOW, "messages": [{"role": "user", "content": "Drop at the end."}]}
    for name, fault in (("named", {"drop_at_end": True}), ("counted", {"drop_after": 4})):
        cassette = Cassette(name, "openai", "Every event, then no end of body.", [_stream(body, ["a", "b", "c"], 0.01, fault)])
        dump_cassette(cassette, tmp_path / "faults" / f"{name}.yaml")
        with ReplayServer(fixture_dirs=(tmp_path,), speed=0) as server:
            received: list[str] = []
            with pytest.raises(httpx.RemoteProtocolError):
                with httpx.stream("POST", server.openai_base_url + "/chat/completions", json=body, timeout=10) as response:
                    received.extend(line for line in response.iter_lines() if line)
            assert received == [f"data: {_chunk(t)}" for t in "abc"] + ["data: [DONE]"], name
        (tmp_path / "faults" / f"{name}.yaml").unlink()


@pytest.mark.parametrize("name", ["../../outside", "/etc/x", "a/../../b"])
def test_record_as_with_a_name_that_is_not_a_slug_is_a_400_and_pins_nothing(server: ReplayServer, name: str) -> None:
    response = _post(server, "/_labs/record-as", json.dumps({"name": name}).encode())
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_record_as", response.text
    assert response.json()["error"]["message"].startswith("/_labs/record-as: ")
    assert server.recorder._pinned is None
