"""The replay server: misses explain themselves, timing follows the recording, record mode keeps no secrets."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import httpx
import openai
import pytest

import labs
from labs.replay.standins import Reply, OpenAIStandIn
from labs.replay.cassette import load_cassette
from labs.config import FIXTURES_DIR
from labs.replay import ReplayServer

CHAT_TEXT = load_cassette(FIXTURES_DIR / "sdk_smoke/chat_text.yaml")
TOOL_ROUND = load_cassette(FIXTURES_DIR / "sdk_smoke/chat_tool_round.yaml")


def recorded_text(cassette, index: int = -1) -> str:
    chunks = [e.json() for e in cassette.interactions[index].response.events if isinstance(e.json(), dict)]
    return "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])


def test_a_miss_is_the_sdks_own_error_and_explains_itself() -> None:
    client = labs.openai_client(max_retries=0)
    request = dict(CHAT_TEXT.interactions[0].request.body)
    request["messages"] = [{"role": "user", "content": "In one sentence, what does buffering a model response mean?"}]
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(**request)
    message = info.value.message
    assert "labs/fixtures" in message  # the folder searched, relative: no absolute path of this machine
    assert "sdk_smoke/chat_text.yaml" in message  # the closest recording
    assert "`messages[0].content`" in message and "buffering" in message  # the field and the value that differ
    assert "LABS_MODE=live" in message and "LABS_MODE=record" in message
    assert "/work/" not in message and "Traceback" not in message


def test_a_miss_on_an_unknown_route_says_what_is_served() -> None:
    server = labs.replay_server()
    response = httpx.get(f"{server.url}/v2/nothing")
    assert response.status_code == 404
    assert "/v1/" in response.json()["error"]["message"]


def test_tool_results_that_vary_still_match_the_recorded_follow_up() -> None:
    client = labs.openai_client(max_retries=0)
    follow_up = json.loads(json.dumps(TOOL_ROUND.interactions[1].request.body))
    for message in follow_up["messages"]:
        if message["role"] == "tool":
            message["content"] = f"measured at {time.time()}"  # a tool result that differs on every run
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**follow_up) if c.choices)
    assert text == recorded_text(TOOL_ROUND)


def test_a_non_streamed_request_gets_the_final_object_after_the_whole_answer() -> None:
    with ReplayServer(speed=1.0) as server:
        client = labs.openai_client(server=server, max_retries=0)
        body = {k: v for k, v in CHAT_TEXT.interactions[0].request.body.items() if k not in ("stream", "stream_options")}
        started = time.perf_counter()
        completion = client.chat.completions.create(**body)
        elapsed = time.perf_counter() - started
    assert completion.choices[0].message.content == recorded_text(CHAT_TEXT)
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert elapsed >= CHAT_TEXT.interactions[0].response.duration * 0.95


def _arrival_gaps(server: ReplayServer, body: dict) -> tuple[list[float], float]:
    client = labs.openai_client(server=server, max_retries=0)
    started = time.perf_counter()
    arrivals = [time.perf_counter() - started for _ in client.chat.completions.create(**body)]
    return arrivals, started


def test_speed_one_reproduces_the_recorded_gaps() -> None:
    events = CHAT_TEXT.interactions[0].response.events
    recorded = [e.t for e in events if e.data != "[DONE]"]
    # A busy machine (make test runs the notebooks beside the unit tests) only adds delay, on the client's side as
    # much as the server's: the least disturbed of up to three streams is the one that shows the server's pace.
    for _ in range(3):
        with ReplayServer(speed=1.0) as server:
            arrivals, _ = _arrival_gaps(server, CHAT_TEXT.interactions[0].request.body)
        assert len(arrivals) == len(recorded)
        gap_errors = [abs((a2 - a1) - (r2 - r1)) for a1, a2, r1, r2 in zip(arrivals, arrivals[1:], recorded, recorded[1:])]
        ttft_error = abs(arrivals[0] - recorded[0])
        print(f"\nspeed 1: median gap error {statistics.median(gap_errors) * 1000:.2f} ms, max {max(gap_errors) * 1000:.2f} ms, TTFT error {ttft_error * 1000:.2f} ms")
        if statistics.median(gap_errors) < 0.010 and ttft_error < 0.100:
            break
    assert statistics.median(gap_errors) < 0.010
    assert ttft_error < 0.100


def test_speed_scales_the_whole_stream() -> None:
    duration = CHAT_TEXT.interactions[0].response.duration
    with ReplayServer(speed=4.0) as server:
        arrivals, _ = _arrival_gaps(server, CHAT_TEXT.interactions[0].request.body)
    assert duration / 4 * 0.9 <= arrivals[-1] <= duration / 4 + 0.25


def test_record_mode_streams_through_and_stores_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "proj-ThisIsAPretendSecretThatMustNeverReachDisk0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", secret)  # record mode sends the learner's key on to the service
    with OpenAIStandIn() as upstream, ReplayServer(mode="record", upstreams={"openai": upstream.base_url}, record_dir=tmp_path) as proxy:
        upstream.script(Reply(text="One, two, three, four, five, six, seven, eight.", first_token=0.2, gap=0.05))
        client = labs.openai_client(
            server=proxy,
            organization="org-secret-organisation",
            default_headers={"Cookie": "session=secret-cookie", "api-key": secret},
        )
        started = time.perf_counter()
        arrivals, text = [], ""
        for chunk in client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Count to eight."}], stream=True
        ):
            arrivals.append(time.perf_counter() - started)
            text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
        assert upstream.requests[0]["headers"]["authorization"] == f"Bearer {secret}"  # the proxy passed auth on

    [written] = list(tmp_path.glob("*.yaml"))
    on_disk = written.read_text()
    for leak in (secret, "secret-cookie", "org-secret-organisation", "Bearer", "authorization", "cookie"):
        assert leak.lower() not in on_disk.lower(), leak
    # Streamed through, not buffered: the first chunk reached the client long before the last one.
    assert arrivals[-1] - arrivals[0] > 0.2
    cassette = load_cassette(written)
    times = [e.t for e in cassette.interactions[0].response.events]
    assert times == sorted(times) and times[-1] - times[0] > 0.2
    assert text == "One, two, three, four, five, six, seven, eight."

    # And what was recorded replays through the SDK to the same text.
    with ReplayServer(fixture_dirs=(tmp_path,), speed=0) as server:
        client = labs.openai_client(server=server, max_retries=0)
        stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Count to eight."}], stream=True)
        assert "".join((c.choices[0].delta.content or "") for c in stream if c.choices) == text


def test_a_broken_fixture_is_reported_by_folder_file_and_line_and_the_rest_are_served(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "lesson").mkdir()
    (tmp_path / "lesson" / "broken.yaml").write_text("version: 1\nsurface: openai\ncomment: a quote never closed\ninteractions:\n- request: {method: 'POST\n")
    (tmp_path / "lesson" / "good.yaml").write_text((FIXTURES_DIR / "sdk_smoke/chat_text.yaml").read_text())
    with caplog.at_level("WARNING", logger="labs.replay"), ReplayServer(fixture_dirs=(tmp_path,), speed=0) as server:
        assert any("lesson/broken.yaml, line " in record.getMessage() for record in caplog.records), caplog.text  # at start-up
        health = httpx.get(f"{server.url}/_labs/health").json()
        assert health["fixtures"] == 1 and len(health["problems"]) == 1 and "lesson/broken.yaml, line " in health["problems"][0]
        client = labs.openai_client(server=server, max_retries=0)
        text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(**CHAT_TEXT.interactions[0].request.body) if c.choices)
        assert text == recorded_text(CHAT_TEXT)  # every other fixture is served
        with pytest.raises(openai.NotFoundError) as info:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "not recorded"}], stream=True)
        assert f"{tmp_path.name}/lesson/broken.yaml, line " in info.value.message and "could not be loaded" in info.value.message


def test_instructor_fixture_folders_are_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "mine" / "course"
    extra.mkdir(parents=True)
    data = CHAT_TEXT.interactions[0]
    source = (FIXTURES_DIR / "sdk_smoke/chat_text.yaml").read_text().replace("what does streaming", "what does instructor streaming")
    (extra / "custom.yaml").write_text(source)
    monkeypatch.setenv("LABS_FIXTURES", str(tmp_path / "mine"))
    body = json.loads(json.dumps(data.request.body).replace("what does streaming", "what does instructor streaming"))
    text = "".join((c.choices[0].delta.content or "") for c in labs.openai_client().chat.completions.create(**body) if c.choices)
    assert text == recorded_text(CHAT_TEXT)


def test_the_serve_command_prints_its_url_and_serves() -> None:
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "labs.replay", "serve", "--speed", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first_line = process.stdout.readline()  # blocks until the server is listening
        url = first_line.split()[3]
        assert first_line.startswith("Replay server on http://127.0.0.1:")
        body = CHAT_TEXT.interactions[0].request.body
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
            raw = b"".join(response.iter_bytes())
        assert response.headers["content-type"].startswith("text/event-stream")
        assert raw.endswith(b"data: [DONE]\n\n") and b"\r" not in raw
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert "Warning" not in errors


@pytest.mark.parametrize("sigint", ["default", "ignored"])  # ignored: as a shell without job control starts `cmd &`
def test_ctrl_c_ends_the_serve_command_with_one_line_and_status_130(sigint: str) -> None:
    import signal
    import subprocess
    import sys

    disposition = signal.SIG_IGN if sigint == "ignored" else signal.SIG_DFL
    with subprocess.Popen(
        [sys.executable, "-m", "labs.replay", "serve", "--speed", "0", "--port", "0"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, disposition),  # noqa: PLW1509
    ) as process:
        assert process.stdout is not None
        url = process.stdout.readline().split()[3]
        assert httpx.get(f"{url}/_labs/health", timeout=10).status_code == 200  # serving, uvicorn's handler in place
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert rest.strip().splitlines()[-1] == "Stopped: the replay server is no longer serving.", rest
    assert "Traceback" not in rest and process.returncode == 130, (process.returncode, rest)


# -- the send path: what goes out in each send -----------------------------------------------------


def _stream_fixture(folder: Path, times: list[float], fault: dict | None = None) -> list[bytes]:
    """A fixture in `folder` streaming one text chunk per time in `times`; returns each event's framed bytes."""
    from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedResponse, dump_cassette
    from labs.replay.sse import SSEEvent, encode_event

    data = [json.dumps({"id": "chatcmpl-send1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": f" w{n}"}}]}) for n in range(len(times))]
    events = [RecordedEvent(t=t, data=d) for t, d in zip(times, data)]
    response = RecordedResponse(content_type="text/event-stream", events=events, fault=fault)
    dump_cassette(Cassette("sends", "openai", "a stream for the send-path tests", [Interaction(CHAT_TEXT.interactions[0].request, response)]), folder / "send" / "path.yaml")
    return [encode_event(SSEEvent(data=d)) for d in data]


async def _sends(server: ReplayServer) -> list[bytes]:
    """Each non-empty body the server's ASGI app sends for the streamed request, called in-process (no socket)."""
    import asyncio

    raw = json.dumps(CHAT_TEXT.interactions[0].request.body).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
        "server": ("127.0.0.1", 1), "client": ("127.0.0.1", 2),
    }
    pending = [{"type": "http.request", "body": raw, "more_body": False}]
    bodies: list[bytes] = []

    async def receive() -> dict:
        if pending:
            return pending.pop()
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            bodies.append(message["body"])

    await server.app(scope, receive, send)
    return bodies


async def test_at_speed_zero_the_events_already_due_go_out_together(tmp_path: Path) -> None:
    frames = _stream_fixture(tmp_path, [0.0] * 2000)
    sends = await _sends(ReplayServer(fixture_dirs=(tmp_path,), speed=0))
    assert b"".join(sends) == b"".join(frames)  # the same bytes, in order
    assert len(sends) <= len(b"".join(frames)) // (64 * 1024) + 2  # in sends of about 64 KiB, not one per event


async def test_above_speed_zero_an_event_not_yet_due_goes_out_on_its_own(tmp_path: Path) -> None:
    frames = _stream_fixture(tmp_path, [0.0, 0.15, 0.3, 0.3, 0.45])
    sends = await _sends(ReplayServer(fixture_dirs=(tmp_path,), speed=1))
    # The lessons time these boundaries (first token, gaps): each recorded moment is one send, as recorded.
    assert sends == [frames[0], frames[1], frames[2] + frames[3], frames[4]]


def test_servers_on_the_same_fixtures_parse_them_once_and_a_changed_file_is_read_again(tmp_path: Path) -> None:
    from labs.replay import server as replay_server

    (tmp_path / "lesson").mkdir()
    fixture = tmp_path / "lesson" / "chat.yaml"
    fixture.write_text((FIXTURES_DIR / "sdk_smoke/chat_text.yaml").read_text())
    counts = dict(replay_server.load_counts)
    ReplayServer(fixture_dirs=(tmp_path,), speed=0)
    ReplayServer(fixture_dirs=(tmp_path,), speed=0)
    assert replay_server.load_counts["loaded"] == counts["loaded"] + 1 and replay_server.load_counts["reused"] == counts["reused"] + 1
    fixture.write_text(fixture.read_text().replace("what does streaming", "what does edited streaming"))  # same folder, new content
    body = json.loads(json.dumps(CHAT_TEXT.interactions[0].request.body).replace("what does streaming", "what does edited streaming"))
    with ReplayServer(fixture_dirs=(tmp_path,), speed=0) as server:
        text = "".join(c.choices[0].delta.content or "" for c in labs.openai_client(server=server, max_retries=0).chat.completions.create(**body) if c.choices)
    assert text == recorded_text(CHAT_TEXT) and replay_server.load_counts["loaded"] == counts["loaded"] + 2
