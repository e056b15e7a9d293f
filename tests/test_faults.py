"""Faults a fixture can describe are enacted on the real connection, and the real SDK sees them."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import httpx
import httpx2
import openai
import pytest

from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedResponse, dump_cassette, load_cassette
from labs.clients import openai_client
from labs.config import FIXTURES_DIR
from labs.replay import ReplayServer
from labs.replay.server import PLAY_LOG_ENV
from labs.replay.sse import SSEEvent, encode_event

BASE = load_cassette(FIXTURES_DIR / "sdk_smoke/chat_text.yaml")
REQUEST = BASE.interactions[0].request


def serve(tmp_path: Path, *responses: RecordedResponse) -> ReplayServer:
    interactions = [Interaction(copy.deepcopy(REQUEST), response) for response in responses]
    dump_cassette(Cassette("faulty", "openai", "a fault for a test", interactions), tmp_path / "faults" / "faulty.yaml")
    return ReplayServer(fixture_dirs=(tmp_path,), speed=0)


def streamed(fault: dict | None = None, events: list[RecordedEvent] | None = None) -> RecordedResponse:
    return RecordedResponse(content_type="text/event-stream", events=events or copy.deepcopy(BASE.interactions[0].response.events), fault=fault)


def recorded_text(events: list[RecordedEvent]) -> str:
    """The text the recording holds, joined from its events' JSON."""
    chunks = [e.json() for e in events if isinstance(e.json(), dict)]
    return "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])


def read_text(server: ReplayServer, client: openai.OpenAI | None = None, **client_options) -> tuple[str, BaseException | None]:
    """The text streamed for the fixture's request and the error that ended it, if any; `client` reused when given."""
    client = client or openai_client(server=server, **client_options)
    text, error = "", None
    try:
        for chunk in client.chat.completions.create(**REQUEST.body):
            text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    except Exception as exc:  # the test inspects which exception the SDK raised
        error = exc
    return text, error


def test_a_dropped_connection_cuts_the_stream_and_leaves_the_text_received(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with serve(tmp_path, streamed(fault={"drop_after": 6})) as server:
        text, error = read_text(server, max_retries=0)
    full = "".join((e.json()["choices"][0]["delta"].get("content") or "") for e in BASE.interactions[0].response.events[:6] if isinstance(e.json(), dict))
    assert isinstance(error, (httpx2.RemoteProtocolError, openai.APIConnectionError)), repr(error)
    assert text == full and text
    assert "DroppedConnection" not in capfd.readouterr().err  # a fault enacted on purpose prints no traceback


def test_429_with_retry_after_is_retried_by_the_sdk(tmp_path: Path) -> None:
    limited = RecordedResponse(status=429, body={"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}, headers={"retry-after": "1"})
    with serve(tmp_path, limited, streamed()) as server:
        started = time.perf_counter()
        text, error = read_text(server, max_retries=2)
        waited = time.perf_counter() - started
        assert error is None and text
        assert waited >= 0.9  # the SDK honoured Retry-After
    with serve(tmp_path, limited, streamed()) as server:
        _, error = read_text(server, max_retries=0)
        assert isinstance(error, openai.RateLimitError) and "Rate limit" in str(error)


def test_500_then_success(tmp_path: Path) -> None:
    # Mutation the old test missed (it passed whenever text arrived): an error recording no longer answering a
    # streamed request (`answers_stream` without `status >= 400`), so the 500 was skipped and never served.
    failing = RecordedResponse(status=500, body={"error": {"message": "The server had an error", "type": "server_error"}})
    with serve(tmp_path, failing, streamed()) as server:
        _, error = read_text(server, max_retries=0)
        assert isinstance(error, openai.InternalServerError) and error.status_code == 500 and "The server had an error" in str(error)
        text, error = read_text(server, max_retries=0)  # the scenario moves on: the next request gets the stream
        assert error is None and text == recorded_text(BASE.interactions[0].response.events)
    with serve(tmp_path, failing, streamed()) as server:
        text, error = read_text(server, max_retries=1)  # the SDK retries the 500 by itself
    assert error is None and text == recorded_text(BASE.interactions[0].response.events)


def test_a_stall_longer_than_the_timeout_times_out(tmp_path: Path) -> None:
    with serve(tmp_path, streamed(fault={"stall_after": 3, "stall_seconds": 3})) as server:
        started = time.perf_counter()
        text, error = read_text(server, max_retries=0, timeout=0.5)
        assert time.perf_counter() - started < 2.5
    assert isinstance(error, (httpx2.ReadTimeout, openai.APITimeoutError)), repr(error)
    assert text  # what arrived before the stall is kept


def play_log(log: Path, key: str, count: int) -> list[dict]:
    """The play log's lines that hold `key`, once `count` of them are there (a streamed answer's ending is logged after the client has it)."""
    deadline = time.monotonic() + 5
    while len(found := [line for line in map(json.loads, log.read_text().splitlines()) if key in line]) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_the_play_log_counts_a_stall_as_long_as_it_lasted_not_as_the_fixture_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # labs.bench takes the stalls out of the notebook suite's time: a stall the client gave up on after 0.5 s cost
    # the suite 0.5 s, not the fixture's 3 s; one the client waited through cost its full 1 s.
    log = tmp_path / "plays.jsonl"
    monkeypatch.setenv(PLAY_LOG_ENV, str(log))
    with serve(tmp_path, streamed(fault={"stall_after": 3, "stall_seconds": 3}), streamed(fault={"stall_after": 3, "stall_seconds": 1})) as server:
        assert isinstance(read_text(server, max_retries=0, timeout=0.5)[1], (httpx2.ReadTimeout, openai.APITimeoutError))
        assert read_text(server, max_retries=0, timeout=5)[1] is None
        stalls = play_log(log, "stall_s", 2)
    answers = play_log(log, "recorded_s", 2)
    assert len(answers) == 2 and all("stall_s" not in line for line in answers)
    given_up, waited = sorted(stalls, key=lambda line: line["at"])
    assert 0.4 < given_up["stall_s"] < 1.5 and 0.9 < waited["stall_s"] < 1.5, stalls


def test_the_play_log_counts_the_clients_wait_between_a_failure_and_its_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # labs.bench takes the retry waits out of the notebook suite's time as it does the stalls: a 429's Retry-After and
    # a backoff are waits on purpose, not our code. Each is measured where the server sees it: from the end of the
    # failure to the next request for the same recording, whichever kind of failure it was.
    log = tmp_path / "plays.jsonl"
    monkeypatch.setenv(PLAY_LOG_ENV, str(log))
    limited = RecordedResponse(status=429, body={"error": {"message": "Rate limit reached", "type": "requests"}}, headers={"retry-after": "1"})
    with serve(tmp_path, limited, streamed()) as server:
        assert read_text(server, max_retries=1)[1] is None  # the SDK waits as Retry-After says, then asks again
    [after_429] = play_log(log, "retry_wait_s", 1)
    assert 0.9 < after_429["retry_wait_s"] < 1.5, after_429

    log.unlink()
    events = copy.deepcopy(BASE.interactions[0].response.events)
    broken = [*events[:4], RecordedEvent(t=events[3].t, raw='data: {"id": "chatcmpl-broken", "choices": [\n\n'), *events[4:]]
    pauses = (0.3, 0.6)
    with serve(tmp_path, streamed(fault={"drop_after": 3}), streamed(events=broken), streamed(), streamed()) as server:
        client = openai_client(server=server, max_retries=0)  # one client, so the wait holds no client's construction
        for pause in pauses:  # the lesson's own retries: a drop, then a malformed line, each followed by a backoff
            assert read_text(server, client)[1] is not None
            time.sleep(pause)
        assert read_text(server, client)[1] is None
        assert read_text(server, client)[1] is None  # after a success, asking again is no retry: no wait logged (a line is logged on arrival)
    waits = [line["retry_wait_s"] for line in play_log(log, "retry_wait_s", 2)]
    assert len(waits) == 2 and all(pause <= wait < pause + 0.4 for pause, wait in zip(pauses, waits)), waits  # the pause, and the client's little work
    assert len(play_log(log, "recorded_s", 4)) == 4


def test_a_malformed_line_reaches_the_sdk_as_is(tmp_path: Path) -> None:
    events = copy.deepcopy(BASE.interactions[0].response.events)
    events.insert(4, RecordedEvent(t=events[3].t, raw='data: {"id": "chatcmpl-broken", "choices": [\n\n'))
    with serve(tmp_path, streamed(events=events)) as server:
        text, error = read_text(server, max_retries=0)
    assert error is not None and "Expecting" in str(error)  # json.JSONDecodeError from the SDK's sse.json()
    assert text


def test_faults_survive_a_round_trip_through_the_file(tmp_path: Path) -> None:
    response = streamed(fault={"drop_after": 2})
    response.headers = {"retry-after": "2"}
    response.events.insert(1, RecordedEvent(t=0.5, raw="data: nope\n\n"))
    path = tmp_path / "x.yaml"
    dump_cassette(Cassette("x", "openai", "round trip", [Interaction(REQUEST, response)]), path)
    loaded = load_cassette(path).interactions[0].response
    assert loaded.fault == {"drop_after": 2} and loaded.headers == {"retry-after": "2"} and loaded.events[1].raw == "data: nope\n\n"


def test_the_events_before_a_drop_go_out_before_the_connection_is_cut(tmp_path: Path) -> None:
    events = copy.deepcopy(BASE.interactions[0].response.events)
    for event in events:
        event.t = 0.0  # all due at once: they go out together, but never past the fault
    received = b""
    with serve(tmp_path, streamed(fault={"drop_after": 6}, events=events)) as server:
        with pytest.raises(httpx.RemoteProtocolError), httpx.stream("POST", f"{server.openai_base_url}/chat/completions", json=REQUEST.body) as response:
            for chunk in response.iter_bytes():
                received += chunk
    assert received == b"".join(encode_event(SSEEvent(data=e.data)) for e in events[:6])
