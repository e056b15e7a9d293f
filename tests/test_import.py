"""`python -m labs.replay import`: every real capture becomes a fixture that replays byte for byte and reassembles the same.

The captures are the real streams beside the clone in `../shared/wire-samples/` (CI always has them; a missing
folder there is a failure, a learner's fresh clone skips the capture tests saying so). Each is imported, served by
the real replay server on loopback, read once as raw bytes (they must be the captured bytes) and once through the
openai SDK (the text and tool calls must be those the capture holds, joined here from its JSON independently).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import openai
import pytest

from labs.config import REPO_ROOT
from labs.replay import ReplayServer, load_cassette
from labs.replay.__main__ import main
from labs.replay.sse import SSEParser

SAMPLES = REPO_ROOT.parent / "shared" / "wire-samples"
CAPTURES = sorted(SAMPLES.rglob("*.sse")) if SAMPLES.is_dir() else []
SECRET = "sk-proj-not-a-real-key-but-long-enough-to-find"
QUERY_SECRET = "azure-key-not-a-real-one-0123456789"


def _present() -> None:
    if not SAMPLES.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI must have the real captures at {SAMPLES}: the importer is checked against every one of them there")
        pytest.skip(f"no real captures at {SAMPLES} (a fresh clone has none): nothing to import")


def payloads(raw: bytes) -> list[dict]:
    parser = SSEParser()
    out = []
    for event in parser.feed(raw) + parser.flush():
        try:
            data = json.loads(event.data)
        except ValueError:
            continue
        out.append(data)
    return out


def request_for(capture: Path) -> dict:
    """The request a capture answered: its own `.request.json` when it has one, else one naming the capture's model."""
    own = capture.with_name(capture.stem + ".request.json")
    if own.exists():
        return json.loads(own.read_text())
    first = payloads(capture.read_bytes())[0]
    if first.get("object") == "chat.completion.chunk":
        return {"model": first["model"], "stream": True, "stream_options": {"include_usage": True}, "messages": [{"role": "user", "content": f"replay {capture.stem}"}]}
    return {"model": first["response"]["model"], "stream": True, "input": f"replay {capture.stem}"}


def path_for(request: dict) -> str:
    return "/chat/completions" if "messages" in request else "/responses"


def expected(capture: Path) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """Text per choice (or output message) and (name, arguments) per tool call, read from the capture's JSON."""
    texts: dict[int, str] = {}
    calls: dict[tuple[int, int], list[str]] = {}
    for data in payloads(capture.read_bytes()):
        if data.get("object") == "chat.completion.chunk":
            for choice in data["choices"]:
                delta = choice["delta"]
                texts[choice["index"]] = texts.get(choice["index"], "") + (delta.get("content") or delta.get("refusal") or "")
                for call in delta.get("tool_calls") or []:
                    entry = calls.setdefault((choice["index"], call["index"]), ["", ""])
                    entry[0] += (call.get("function") or {}).get("name") or ""
                    entry[1] += (call.get("function") or {}).get("arguments") or ""
        elif data.get("type") == "response.completed":
            for index, item in enumerate(data["response"]["output"]):
                if item["type"] == "message":
                    texts[index] = "".join(part.get("text", "") for part in item["content"])
                elif item["type"] == "function_call":
                    calls[(index, 0)] = [item["name"], item["arguments"]]
    return {k: v for k, v in texts.items() if v}, [tuple(calls[k]) for k in sorted(calls)]  # type: ignore[misc]


def reassembled(client: openai.OpenAI, request: dict) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """The same, as the openai SDK hands it to a program reading the replayed stream."""
    texts: dict[int, str] = {}
    calls: dict[tuple[int, int], list[str]] = {}
    if "messages" in request:
        for chunk in client.chat.completions.create(**request):
            for choice in chunk.choices:
                texts[choice.index] = texts.get(choice.index, "") + (choice.delta.content or choice.delta.refusal or "")
                for call in choice.delta.tool_calls or []:
                    entry = calls.setdefault((choice.index, call.index), ["", ""])
                    entry[0] += (call.function and call.function.name) or ""
                    entry[1] += (call.function and call.function.arguments) or ""
    else:
        for event in client.responses.create(**request):
            if event.type == "response.output_text.delta":
                texts[event.output_index] = texts.get(event.output_index, "") + event.delta
            elif event.type == "response.output_item.done" and event.item.type == "function_call":
                calls[(event.output_index, 0)] = [event.item.name, event.item.arguments]
    return {k: v for k, v in texts.items() if v}, [tuple(calls[k]) for k in sorted(calls)]  # type: ignore[misc]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):
    """Every capture imported into one folder, served by one replay server."""
    _present()
    folder = tmp_path_factory.mktemp("imported")
    requests = tmp_path_factory.mktemp("requests")
    for capture in CAPTURES:
        request = requests / f"{capture.stem}.json"
        request.write_text(json.dumps(request_for(capture)))
        main(["import", str(capture), "--request", str(request), "--out", str(folder), "--name", f"captures/{capture.stem.lower()}"])
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(folder,)) as server:
        yield folder, server


def test_the_captures_are_there_to_import() -> None:
    _present()
    assert len(CAPTURES) >= 16, f"expected the 12 + 2 + 2 captures in {SAMPLES}, found {len(CAPTURES)}"


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_a_capture_replays_byte_for_byte(imported, capture: Path) -> None:
    folder, server = imported
    request = request_for(capture)
    with httpx.Client(timeout=10) as http:
        replayed = http.post(server.openai_base_url + path_for(request), json=request)
    assert replayed.status_code == 200
    assert replayed.headers["content-type"].startswith("text/event-stream")
    assert replayed.content == capture.read_bytes()


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_a_capture_reassembles_through_the_sdk_to_the_same_text_and_calls(imported, capture: Path) -> None:
    folder, server = imported
    client = openai.OpenAI(base_url=server.openai_base_url, api_key="replay", max_retries=0)
    texts, calls = expected(capture)
    assert texts or calls, f"{capture.name} holds neither text nor a tool call"
    assert reassembled(client, request_for(capture)) == (texts, calls)


@pytest.mark.parametrize("capture", CAPTURES[:1] + CAPTURES[-1:], ids=lambda p: p.stem)
def test_a_raw_capture_gets_the_calibrated_pace_and_says_so(imported, capture: Path) -> None:
    folder, _ = imported
    cassette = load_cassette(folder / "captures" / f"{capture.stem.lower()}.yaml")
    times = [e.t for e in cassette.interactions[0].response.events or []]
    assert times == sorted(times) and times[0] > 0 and len(set(times)) == len(times)
    assert "holds no timing" in cassette.comment and "calibrated" in cassette.comment
    assert cassette.surface == "openai"


def har(capture: Path, request: dict, *, url: str, wait_ms: float, receive_ms: float) -> dict:
    """A HAR file as a browser exports it: the page, a CORS preflight, then the streamed call with its timings."""
    call = {
        "startedDateTime": "2026-07-01T10:00:00.000Z",
        "time": wait_ms + receive_ms + 3,
        "request": {
            "method": "POST",
            "url": url,
            "headers": [{"name": "Authorization", "value": f"Bearer {SECRET}"}, {"name": "Content-Type", "value": "application/json"}],
            "postData": {"mimeType": "application/json", "text": json.dumps(request)},
        },
        "response": {
            "status": 200,
            "headers": [{"name": "content-type", "value": "text/event-stream; charset=utf-8"}, {"name": "set-cookie", "value": "__cf_bm=abcdefghijkl"}],
            "content": {"mimeType": "text/event-stream", "text": capture.read_text()},
        },
        "timings": {"blocked": 1, "dns": -1, "connect": -1, "send": 3, "wait": wait_ms, "receive": receive_ms},
    }
    page = {"request": {"method": "GET", "url": "https://chat.example.com/index.html", "headers": []}, "response": {"status": 200, "content": {"text": "<html>"}}}
    preflight = {**call, "request": {**call["request"], "method": "OPTIONS", "postData": None}}
    return {"log": {"version": "1.2", "entries": [page, preflight, call]}}


def test_a_har_file_imports_with_its_timing_and_without_its_secrets(tmp_path: Path) -> None:
    _present()
    capture = SAMPLES / "openai-chat-2026" / "chat_pydanticai_gpt4omini_2026_tool_call.sse"
    request = {**request_for(capture), "user": SECRET}
    body = tmp_path / "session.har"
    body.write_text(json.dumps(har(capture, request, url=f"https://api.openai.com/v1/chat/completions?api-key={QUERY_SECRET}", wait_ms=420, receive_ms=900)))
    main(["import", str(body), "--out", str(tmp_path / "out")])
    (written,) = (tmp_path / "out").rglob("*.yaml")
    text = written.read_text()
    assert SECRET not in text and QUERY_SECRET not in text and "Bearer" not in text and "__cf_bm" not in text
    cassette = load_cassette(written)
    (interaction,) = cassette.interactions
    assert interaction.request.path == "/chat/completions?api-key=%3Credacted%3E"
    times = [e.t for e in interaction.response.events or []]
    assert times[0] == pytest.approx(0.423) and times[-1] == pytest.approx(1.323)
    assert "Timing from the capture" in cassette.comment and "HAR" in cassette.comment
    assert written.name.startswith("openai-")  # named from the prompt, as record mode names a fixture


def test_an_azure_capture_is_detected_and_paced_from_its_run_start(tmp_path: Path) -> None:
    run = next(i for i in load_cassette(REPO_ROOT / "labs/fixtures/sdk_smoke/azure_text.yaml").interactions if i.response.events)
    stream = "".join(f"event: {e.event}\ndata: {e.data}\n\n" for e in run.response.events or [])
    body, request = tmp_path / "run.sse", tmp_path / "run.json"
    body.write_text(stream)
    request.write_text(json.dumps({"method": "POST", "path": "/threads/thread_abc/runs", "body": {"assistant_id": "asst_x", "stream": True}}))
    main(["import", str(body), "--request", str(request), "--out", str(tmp_path / "out"), "--name", "mine/azure-run"])
    cassette = load_cassette(tmp_path / "out" / "mine" / "azure-run.yaml")
    events = cassette.interactions[0].response.events or []
    assert cassette.surface == "azure"
    step = next(e for e in events if e.event == "thread.run.step.created")
    before = [e.t for e in events[: events.index(step)]]
    assert max(before) < 0.1 < 1.5 < step.t


@pytest.mark.parametrize(
    ("files", "request_text", "message"),
    [
        ({"body.sse": "data: {}\n\n"}, '{"model": "m"}', "not a stream from Chat Completions"),
        ({"body.sse": 'data: {"object":"chat.completion.chunk","choices":[]}\n\n'}, None, "give --request"),
        ({"body.sse": 'event: thread.run.created\ndata: {"id":"run_1"}\n\n'}, '{"stream": true}', "does not say its path"),
        ({"body.sse": 'data: {"object":"chat.completion.chunk","choices":[]}\n\n'}, "not json", "is not JSON"),
        ({"body.har": '{"log": {"entries": []}}'}, None, "holds no call"),
    ],
)
def test_a_capture_that_cannot_be_a_fixture_is_a_clear_command_line_error(tmp_path: Path, capsys, files, request_text, message) -> None:
    (name, content), = files.items()
    (tmp_path / name).write_text(content)
    argv = ["import", str(tmp_path / name), "--out", str(tmp_path / "out")]
    if request_text is not None:
        (tmp_path / "request.json").write_text(request_text)
        argv += ["--request", str(tmp_path / "request.json")]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.yaml"))


def test_a_capture_with_crlf_line_ends_replays_as_lf_and_says_so(tmp_path: Path) -> None:
    lf = b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\ndata: [DONE]\n\n'
    (tmp_path / "crlf.sse").write_bytes(lf.replace(b"\n", b"\r\n"))
    (tmp_path / "request.json").write_text(json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}))
    main(["import", str(tmp_path / "crlf.sse"), "--request", str(tmp_path / "request.json"), "--out", str(tmp_path / "out"), "--name", "crlf"])
    cassette = load_cassette(tmp_path / "out" / "crlf.yaml")
    assert "replay sends them as LF" in cassette.comment
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(tmp_path / "out",)) as server:
        replayed = httpx.post(server.openai_base_url + "/chat/completions", json=json.loads((tmp_path / "request.json").read_text()))
    assert replayed.content == lf
