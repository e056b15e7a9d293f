"""Behaviour a mutation audit found unguarded (issue 18): each test fails on the one-line change named in it."""

from __future__ import annotations

import json
import logging
import socket
import struct
from pathlib import Path

import httpx
import httpx2
import openai
import pytest

import labs
from labs.checks import exercise
from labs.config import settings
from labs.lessons.lesson_03.scenarios import TWO_CITIES, WEATHER_TOOL
from labs.replay import ReplayServer
from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, dump_cassette
from labs.replay.sse import SSEEvent, SSEParser
from labs.resilience import classify, is_retryable, merge_overlap


def test_a_blocking_request_gets_the_streamed_tool_calls_joined() -> None:
    # Mutation: `arguments = fragment` instead of `+=` when the final object is built from the recorded stream.
    with ReplayServer(speed=0) as server:
        client = labs.openai_client(server=server, max_retries=0)
        completion = client.chat.completions.create(model=labs.model(), messages=TWO_CITIES, tools=[WEATHER_TOOL])
    calls = completion.choices[0].message.tool_calls or []
    assert [json.loads(call.function.arguments) for call in calls] == [{"city": "Zürich"}, {"city": "東京"}]  # as the recording says
    assert completion.choices[0].finish_reason == "tool_calls" and all(call.id.startswith("call_") for call in calls)


def test_a_checker_that_tries_no_cases_fails_the_exercise() -> None:
    # Mutation: drop the guard for "the checker tried no cases"; any answer would then pass.
    @exercise("96.1")
    def empty(answer):  # type: ignore[no-untyped-def]
        return iter(())

    result = labs.check("96.1", lambda: None)
    assert result.status == "failed" and "tried no cases" in str(result)


@pytest.mark.parametrize(
    ("kept", "continuation", "new"),
    [
        ("in the middle", "iddle of it", "iddle of it"),  # "iddle" does not start at a word of `kept`: all of it is new
        ("in the middle", "middle of it", " of it"),  # a repeat that starts at a word boundary is trimmed
        ("in the middle", "the middle of it", " of it"),
        ("no, no", ", no.", ", no."),  # "no" is shorter than four characters: not a repeat
        ("Pack a", "a tent.", " tent."),  # a tight join is judged by the continuation's first character only
    ],
)
def test_merge_overlap_trims_only_whole_word_repeats(kept: str, continuation: str, new: str) -> None:
    # Mutation: the word-boundary rule made always true ("in the middle" + "iddle of it" gave " of it").
    assert merge_overlap(kept, continuation) == new


def _status_error(status: int) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    return openai.APIStatusError("failed", response=httpx2.Response(status, request=request), body=None)


@pytest.mark.parametrize(("status", "kind", "retry"), [(409, "server_error", True), (500, "server_error", True), (400, "client_error", False), (429, "rate_limited", True), (408, "timeout", True)])
def test_classify_follows_the_sdks_retryable_statuses(status: int, kind: str, retry: bool) -> None:
    # Mutation: 409 dropped from the retryable statuses (the SDK itself retries a 409).
    error = _status_error(status)
    assert classify(error) == kind and is_retryable(error) is retry


@pytest.mark.parametrize(
    ("wire", "data"),
    [
        (b"data:  two spaces first\n\n", " two spaces first"),  # only the one space after the colon goes
        (b"data: trailing  \n\n", "trailing  "),
        (b"data:no space\n\n", "no space"),
        (b"data: \n\n", ""),
    ],
)
def test_the_sse_parser_strips_exactly_one_leading_space(wire: bytes, data: str) -> None:
    # Mutation: `value.strip()` instead of dropping one leading space breaks the byte-for-byte promise.
    assert [event.data for event in SSEParser().feed(wire)] == [data]


@pytest.mark.parametrize(
    ("wire", "events"),
    [
        (b"id: 7\nretry: 100\ndata: x\n\n", [SSEEvent(data="x", id="7")]),  # `id` is kept, other fields are not
        (b": keep-alive\ndata: after a comment\n\n", [SSEEvent(data="after a comment")]),  # a comment ends nothing
    ],
)
def test_the_sse_parser_keeps_ids_and_reads_past_comments(wire: bytes, events: list[SSEEvent]) -> None:
    # Mutations: `field != "id"`, the id dropped; `break` instead of `continue` at a comment line.
    assert SSEParser().feed(wire) == events


def test_flushing_the_sse_parser_replaces_a_cut_character_and_empties_it() -> None:
    # Mutations: decoding the remainder strictly (a stream cut inside "é" raised); the buffer not emptied.
    parser = SSEParser()
    assert parser.feed("data: caf\u00e9".encode()[:-1]) == []
    assert parser.flush() == [SSEEvent(data="caf\ufffd")]
    assert parser.feed(b"data: next\n\n") == [SSEEvent(data="next")] and parser.flush() == []


def test_an_empty_labs_mode_means_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    # Mutation: an empty LABS_MODE raising instead of meaning the default.
    monkeypatch.setenv("LABS_MODE", "")
    assert settings().mode == "replay"
    monkeypatch.setenv("LABS_MODE", "  ")
    assert settings().mode == "replay"


def test_the_replay_server_stops_writing_to_a_client_that_left(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Mutation: no yield to the event loop before each event (`asyncio.sleep(0)` in ReplayServer._wait). At speed 0
    # the server then writes a long stream in one go, and a client that leaves after the first event is noticed
    # only when the stream ends: every send after the reset fails, and asyncio logs "socket.send() raised
    # exception." for each. With the yield the server sees the reset before its next send and stops the stream.
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "count to 5000"}]}
    events = [RecordedEvent(t=0.0, data=json.dumps({"n": n})) for n in range(5000)]
    streamed = RecordedResponse(content_type="text/event-stream", events=events)
    dump_cassette(Cassette("long", "openai", "5000 events", [Interaction(RecordedRequest("POST", "/chat/completions", body), streamed)]), tmp_path / "t" / "long.yaml")
    caplog.set_level(logging.WARNING, logger="asyncio")
    with ReplayServer(fixture_dirs=(tmp_path,), speed=0) as server:
        payload = json.dumps(body).encode()
        head = f"POST /v1/chat/completions HTTP/1.1\r\nHost: {server.host}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        with socket.create_connection((server.host, server.port)) as leaving:
            leaving.sendall(head.encode() + payload)
            received = b""
            while b"data: " not in received:
                received += leaving.recv(65536)
            leaving.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # leave with a reset
        assert received.startswith(b"HTTP/1.1 200") and b"text/event-stream" in received
        # The server answers another client only once it is free again: when it has stopped (or finished) the stream.
        assert httpx.get(server.url + "/_labs/health", timeout=30).json()["fixtures"] == 1
    failed_sends = [r for r in caplog.records if r.name == "asyncio" and "socket.send() raised exception" in r.getMessage()]
    assert failed_sends == [], f"{len(failed_sends)} sends went to the socket of a client that had left"
