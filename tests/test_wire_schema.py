"""The wire schema (`labs/replay/wire_schema.json`, facts read from real captures) and every fixture against it.

A fixture whose stream has a field no real capture has (an invented one) or lacks one the service sends every
time fails, naming the fixture, the event and the field. The real captures live beside the clone in
`../shared/wire-samples/` (CI always has them); a learner's fresh clone does not, and then the one test that
needs them says so, except on CI, where a missing folder is a failure.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import httpx
import pytest

from labs.config import FIXTURES_DIR, REPO_ROOT
from labs.replay import load_cassette, load_cassettes
from labs.replay.sse import SSEEvent, SSEParser
from labs.replay.standins import OpenAIStandIn, Reply, ToolCall
from labs.replay.wire_schema import build_schema, check_cassette, check_events, load_schema, read_captures

SAMPLES = REPO_ROOT.parent / "shared" / "wire-samples"
FIXTURES = load_cassettes([FIXTURES_DIR])


def samples_folder() -> Path:
    if SAMPLES.is_dir():
        return SAMPLES
    if os.environ.get("CI"):
        pytest.fail(f"CI must have the real captures at {SAMPLES}: the wire schema is checked against them there")
    pytest.skip(f"no real captures at {SAMPLES} (a fresh clone has none): nothing to regenerate the schema from")


def fixture(name: str):
    return load_cassette(FIXTURES_DIR / f"{name}.yaml")


def stream(name: str, index: int = 0) -> list[SSEEvent]:
    return [SSEEvent(data=e.data, event=e.event) for e in fixture(name).interactions[index].response.events or []]


@pytest.mark.parametrize("cassette", FIXTURES, ids=lambda c: c.name)
def test_every_fixture_streams_what_the_service_sends(cassette) -> None:
    assert check_cassette(cassette) == []


def test_the_committed_schema_is_what_the_captures_say() -> None:
    regenerated = build_schema(read_captures(samples_folder()))
    assert regenerated == load_schema(), f"regenerate it: python -m labs.replay schema --from {SAMPLES}"


def test_the_schema_knows_the_real_responses_and_chat_facts() -> None:
    responses = load_schema()["apis"]["responses"]["event"]["variants"]
    done = responses["response.function_call_arguments.done"]["fields"]
    assert "name" not in done and done["arguments"]["always"]
    assert responses["response.output_text.delta"]["fields"]["obfuscation"]["always"]
    chunk = load_schema()["apis"]["chat.completions"]["event"]["variants"][""]["fields"]
    assert all(chunk[key]["always"] for key in ("service_tier", "usage", "obfuscation"))


def test_an_invented_field_fails() -> None:
    events = stream("sdk_smoke/agents_tool")
    at = next(i for i, e in enumerate(events) if json.loads(e.data)["type"] == "response.function_call_arguments.done")
    payload = json.loads(events[at].data)
    events[at] = SSEEvent(data=json.dumps({**payload, "name": "roll_die"}), event=events[at].event)
    problems = check_events("responses", events)
    assert [(p.kind, p.event, p.path) for p in problems] == [("invented", at + 1, "name")]
    assert "not sent by the service" in problems[0].message


def test_a_field_the_service_always_sends_missing_fails() -> None:
    events = stream("sdk_smoke/agents_text")
    at = next(i for i, e in enumerate(events) if json.loads(e.data)["type"] == "response.output_text.delta")
    payload = json.loads(events[at].data)
    del payload["obfuscation"]
    events[at] = SSEEvent(data=json.dumps(payload), event=events[at].event)
    problems = check_events("responses", events)
    assert [(p.kind, p.event, p.path) for p in problems] == [("missing", at + 1, "obfuscation")]


def test_a_nested_field_is_checked_in_its_own_variant() -> None:
    events = stream("sdk_smoke/agents_tool")
    last = json.loads(events[-1].data)
    call = next(item for item in last["response"]["output"] if item["type"] == "function_call")
    del call["call_id"]
    events[-1] = SSEEvent(data=json.dumps(last), event=events[-1].event)
    paths = [p.path for p in check_events("responses", events)]
    assert paths == ["response.output[]<function_call>.call_id"]


def test_a_chat_chunk_without_the_2026_fields_fails_and_usage_is_asked_for() -> None:
    cassette = fixture("sdk_smoke/chat_text")
    request = cassette.interactions[0].request.body
    events = stream("sdk_smoke/chat_text")
    first = json.loads(events[0].data)
    bare = {k: v for k, v in first.items() if k not in ("service_tier", "usage", "obfuscation")}
    events[0] = SSEEvent(data=json.dumps(bare))
    asked = {**request, "stream_options": {"include_usage": True}}
    unasked = {k: v for k, v in request.items() if k != "stream_options"}
    assert sorted(p.path for p in check_events("chat.completions", events, asked)) == ["obfuscation", "service_tier", "usage"]
    assert sorted(p.path for p in check_events("chat.completions", events, unasked)) == ["obfuscation", "service_tier"]


def test_an_event_line_on_chat_completions_is_a_framing_problem() -> None:
    events = stream("sdk_smoke/chat_text")
    events[0] = SSEEvent(data=events[0].data, event="chunk")
    assert [p.kind for p in check_events("chat.completions", events, fixture("sdk_smoke/chat_text").interactions[0].request.body)] == ["framing"]



STANDIN_REPLIES = {
    "text": Reply(text="Two short sentences. Then the end."),
    "tool_call": Reply(tool_calls=[ToolCall("get_weather", '{"city": "Oslo"}')]),
    "two_choices": Reply(text="First answer.", more_choices=[Reply(text="Second answer.")]),
    "reasoning": Reply(text="Thought it through.", reasoning_tokens=12),
}


# n and stream_options.include_usage are Chat Completions options; the Responses API has neither.
STANDIN_CASES = [("chat.completions", reply, usage) for reply in STANDIN_REPLIES for usage in (True, False)]
STANDIN_CASES += [("responses", reply, True) for reply in STANDIN_REPLIES if reply != "two_choices"]


@pytest.mark.parametrize(("api", "reply", "usage"), STANDIN_CASES, ids=lambda v: str(v))
def test_the_openai_stand_in_streams_what_the_service_sends(api: str, reply: str, usage: bool) -> None:
    with OpenAIStandIn() as standin:
        standin.script(dataclasses.replace(STANDIN_REPLIES[reply], first_token=0, gap=0))
        if api == "chat.completions":
            body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}], **({"stream_options": {"include_usage": True}} if usage else {})}
            raw = httpx.post(f"{standin.base_url}/chat/completions", json=body).content
        else:
            body = {"model": "gpt-4o-mini", "stream": True, "input": "hi", "tools": [{"type": "function", "name": "get_weather", "parameters": {}}]}
            raw = httpx.post(f"{standin.base_url}/responses", json=body).content
    parser = SSEParser()
    events = parser.feed(raw) + parser.flush()
    assert len(events) > 3
    assert check_events(api, events, body) == []  # type: ignore[arg-type]
