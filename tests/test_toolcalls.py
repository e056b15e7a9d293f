"""Tool calls: joined by index as the SDK joins them, run without ever raising, answered in the right shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI
from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall

from labs.clients import RECORDED_MODEL, openai_client
from labs.config import FIXTURES_DIR
from labs.recordings import chat_chunks
from labs.replay import ReplayServer
from labs.toolcalls import (
    ToolArgumentsError,
    ToolCall,
    ToolCallAccumulator,
    accumulate_tool_calls,
    assistant_message,
    run_tool_call,
    run_tool_calls,
    tool_calls_of,
)

TOOL_STREAMS = [
    ("03_streamed_tool_calls/two_cities", 0),
    ("03_streamed_tool_calls/whole_calls", 0),
    ("04_tool_progress/streamed_rounds", 0),
    ("04_tool_progress/streamed_rounds", 1),
    ("04_tool_progress/broken_calls", 0),
    ("sdk_smoke/chat_tool_round", 0),
]


def piece(index: int, arguments: str | None = None, id: str | None = None, name: str | None = None) -> ChoiceDeltaToolCall:
    function: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        function["name"] = name
    return ChoiceDeltaToolCall.model_validate({"index": index, "id": id, "type": "function" if id else None, "function": function})


def sdk_tool_calls(chunks: list[Any]) -> list[tuple[int, str, str, str]]:
    """The calls as the openai SDK's own stream state joins them (what `client.chat.completions.stream` uses)."""
    from openai.lib.streaming.chat import ChatCompletionStreamState

    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    message = state.current_completion_snapshot.choices[0].message
    return [(c.index, c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("fixture", "request_index"), TOOL_STREAMS)
def test_calls_match_what_the_sdk_assembles(fixture: str, request_index: int) -> None:
    chunks = chat_chunks(fixture, request_index)
    expected = sdk_tool_calls(chunks)
    assert expected, "a tool-call fixture with no calls tests nothing"
    assert [(c.index, c.id, c.name, c.arguments) for c in accumulate_tool_calls(chunks)] == expected


def test_parallel_calls_split_inside_an_escape_and_between_characters_parse_once_joined() -> None:
    calls = accumulate_tool_calls(chat_chunks("03_streamed_tool_calls/two_cities"))
    assert [c.index for c in calls] == [0, 1] and len({c.id for c in calls}) == 2
    assert calls[0].arguments == '{"city": "Z\\u00fcrich"}'
    assert [c.parsed_arguments() for c in calls] == [{"city": "Zürich"}, {"city": "東京"}]


def test_joining_by_list_position_merges_parallel_calls() -> None:
    """The bug lesson 03 shows: every piece sits at position 0 of its chunk's list."""
    merged: list[str] = []
    for chunk in chat_chunks("03_streamed_tool_calls/two_cities"):
        for position, tc in enumerate(chunk.choices[0].delta.tool_calls or []):
            if position == len(merged):
                merged.append("")
            merged[position] += tc.function.arguments or ""
    assert len(merged) == 1
    with pytest.raises(json.JSONDecodeError):
        json.loads(merged[0])


def test_arguments_in_the_first_piece_are_kept() -> None:
    calls = accumulate_tool_calls(chat_chunks("03_streamed_tool_calls/whole_calls"))
    assert [(c.name, c.arguments) for c in calls] == [("get_local_time", "{}"), ("get_weather", '{"city": "Chamonix"}')]


def test_pieces_of_two_calls_in_one_chunk_and_out_of_order_indexes() -> None:
    # Mutations the old test (which looked at the started call's name only) missed: the started call's index,
    # id or arguments left out.
    accumulator = ToolCallAccumulator()
    started = [accumulator.add(p) for p in (piece(1, "", id="call_b", name="second"), piece(0, '{"a"', id="call_a", name="first"))]
    assert started == [ToolCall(1, "call_b", "second", ""), ToolCall(0, "call_a", "first", '{"a"')]
    assert accumulator.add(piece(1, '{"b": 2}')) is None
    accumulator.add(piece(0, ": 1}"))
    assert accumulator.calls() == [ToolCall(0, "call_a", "first", '{"a": 1}'), ToolCall(1, "call_b", "second", '{"b": 2}')]


def test_a_repeated_id_or_name_is_not_doubled() -> None:
    accumulator = ToolCallAccumulator()
    accumulator.add(piece(0, "{", id="call_a", name="get_weather"))
    accumulator.add(piece(0, "}", id="call_a", name="get_weather"))
    assert accumulator.calls() == [ToolCall(0, "call_a", "get_weather", "{}")]


def test_the_first_id_and_name_of_a_call_are_kept() -> None:
    # Mutations: `delta.id or not part["id"]` and `function.name or not part["name"]` (a later id or name won).
    accumulator = ToolCallAccumulator()
    assert accumulator.add(piece(0, None)) is None  # a piece before the one that names the call
    accumulator.add(piece(0, "{", id="call_a", name="get_weather"))
    assert accumulator.add(piece(0, "}", id="call_z", name="book_hut")) is None
    assert accumulator.calls() == [ToolCall(0, "call_a", "get_weather", "{}")]


def test_a_text_stream_has_no_calls() -> None:
    assert accumulate_tool_calls(chat_chunks("02_collect_while_streaming/checklist")) == []


def weather(city: str) -> dict[str, Any]:
    return {"city": city, "high_c": 19}


def failing(city: str) -> str:
    raise ConnectionError("service unavailable")


TOOLS = {"get_weather": weather, "failing": failing, "echo": lambda text: text}


@pytest.mark.parametrize(
    ("call", "error_mentions"),
    [
        (ToolCall(0, "call_1", "book_hut", "{}"), "no tool named 'book_hut'"),
        (ToolCall(0, "call_1", "get_weather", '{"city": "Cour'), "not valid JSON"),
        (ToolCall(0, "call_1", "get_weather", '["Chamonix"]'), "not a JSON object"),
        (ToolCall(0, "call_1", "get_weather", '{"town": "Chamonix"}'), "TypeError"),
        (ToolCall(0, "call_1", "failing", '{"city": "Chamonix"}'), "ConnectionError: service unavailable"),
    ],
)
def test_a_failing_call_becomes_an_error_result_not_an_exception(call: ToolCall, error_mentions: str) -> None:
    result = run_tool_call(call, TOOLS)
    assert not result.ok and error_mentions in (result.error or "")
    assert result.content == f"Error: {result.error}"
    assert result.message() == {"role": "tool", "tool_call_id": "call_1", "content": result.content}


def test_an_unknown_tool_is_answered_with_the_tools_there_are() -> None:
    # Mutations: the list of known tools joined or defaulted differently ("known tools: none" for no tools).
    call = ToolCall(0, "call_1", "book_hut", "{}")
    assert run_tool_call(call, TOOLS).error == "there is no tool named 'book_hut' (known tools: echo, failing, get_weather)"
    assert run_tool_call(call, {}).error == "there is no tool named 'book_hut' (known tools: none)"


def test_results_are_json_unless_the_tool_returns_text() -> None:
    calls = [ToolCall(0, "call_1", "get_weather", '{"city": "Zürich"}'), ToolCall(1, "call_2", "echo", '{"text": "as is"}')]
    results = run_tool_calls(calls, TOOLS)
    assert [r.ok for r in results] == [True, True]
    assert results[0].content == '{"city": "Zürich", "high_c": 19}' and results[1].content == "as is"


def test_parsed_arguments_error_names_the_call_and_shows_the_text() -> None:
    with pytest.raises(ToolArgumentsError, match=r"get_trail_status \(call 3\).*'\{\"trail\": \"Col de la Se'"):
        accumulate_tool_calls(chat_chunks("04_tool_progress/broken_calls"))[3].parsed_arguments()


def test_empty_arguments_mean_no_arguments() -> None:
    assert ToolCall(0, "call_1", "get_local_time", "").parsed_arguments() == {}


def test_assistant_message_carries_the_calls_or_none() -> None:
    call = ToolCall(0, "call_1", "get_weather", '{"city": "Chamonix"}')
    assert assistant_message([call]) == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Chamonix"}'}}],
    }
    assert assistant_message([], "Hello") == {"role": "assistant", "content": "Hello"}


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    """One replay server for the module: loading every fixture once, not once per test."""
    # Its own server, not the kernel's default one, which the suite restarts (and reloads) for every test.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR,)) as running:
        yield running


def test_the_full_loop_replays_through_the_sdk(server: ReplayServer) -> None:
    """Lesson 03's loop: stream, join, run, send back, stream the answer that quotes the results."""
    from labs.lessons.lesson_03.scenarios import TWO_CITIES, WEATHER, WEATHER_TOOL, get_weather
    from labs.reply import collect_reply

    client = openai_client(server=server, max_retries=0)
    messages: list[dict[str, Any]] = list(TWO_CITIES)
    reply = collect_reply(client.chat.completions.create(model=RECORDED_MODEL, messages=messages, tools=[WEATHER_TOOL], stream=True))
    messages.append(assistant_message(reply.tool_calls))
    messages += [r.message() for r in run_tool_calls(reply.tool_calls, {"get_weather": get_weather})]
    answer = collect_reply(client.chat.completions.create(model=RECORDED_MODEL, messages=messages, tools=[WEATHER_TOOL], stream=True))
    assert answer.finish_reason == "stop"
    assert all(f"{w['temperature_c']}°C" in answer.text for w in WEATHER.values() if w["city"] != "Chamonix")


def test_tool_calls_of_a_non_streamed_answer(server: ReplayServer) -> None:
    from labs.lessons.lesson_04.scenarios import QUESTION, TOOLS

    completion = openai_client(server=server, max_retries=0).chat.completions.create(model=RECORDED_MODEL, messages=QUESTION, tools=TOOLS)
    calls = tool_calls_of(completion.choices[0].message)
    assert [c.id for c in calls] == [c.id for c in completion.choices[0].message.tool_calls or []]  # the SDK's own objects
    assert [(c.index, c.name, c.parsed_arguments()) for c in calls] == [
        (0, "get_weather", {"city": "Chamonix"}),
        (1, "get_weather", {"city": "Courmayeur"}),
    ]


def test_the_sdk_joins_an_event_split_inside_a_character_across_reads() -> None:
    """Below the JSON level the SDK's job: bytes cut inside 東 (three bytes in UTF-8) across network reads."""
    import httpx

    from labs.recordings import fixture
    from labs.replay.sse import SSEEvent, encode_event

    events = fixture("03_streamed_tool_calls/two_cities").interactions[0].response.events or []
    body = b"".join(encode_event(SSEEvent(data=e.data)) for e in events)
    cut = body.index("東".encode()) + 1
    reads = [body[:cut], body[cut : cut + 1], body[cut + 1 :]]
    assert all(reads) and "東".encode() not in reads[0] + reads[1]
    transport = httpx.MockTransport(lambda request: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=iter(reads)))
    client = OpenAI(base_url="http://wire.test/v1", api_key="x", http_client=httpx.Client(transport=transport), max_retries=0)
    stream = client.chat.completions.create(model=RECORDED_MODEL, messages=[{"role": "user", "content": "x"}], stream=True)
    assert [c.parsed_arguments() for c in accumulate_tool_calls(stream)] == [{"city": "Zürich"}, {"city": "東京"}]
