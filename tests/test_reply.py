"""Collected replies: every lesson 02-04 stream, replayed through the SDK, collects to what the SDK assembles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openai.types.chat import ChatCompletionChunk

from labs.clients import openai_client
from labs.config import FIXTURES_DIR
from labs.recordings import chat_chunks
from labs.replay import ReplayServer
from labs.replay.cassette import Interaction, load_cassettes
from labs.reply import RefusalDelta, ReplyCollector, StreamedReply, TextDelta, ToolArgumentsDelta, ToolCallStarted, collect_reply, reference_reply

LESSONS = ("02_", "03_", "04_")
STREAMED = [
    pytest.param(interaction, id=f"{cassette.name}#{i}")
    for cassette in load_cassettes([FIXTURES_DIR])
    if cassette.name.startswith(LESSONS)
    for i, interaction in enumerate(cassette.interactions)
    if interaction.request.body.get("stream")
]


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    """One replay server for the module: loading every fixture once, not once per test."""
    # Its own server, not the kernel's default one, which the suite restarts (and reloads) for every test.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR,)) as running:
        yield running


def sdk_reply(chunks: list[ChatCompletionChunk], choice: int = 0) -> tuple[Any, ...]:
    """One choice as the openai SDK's own stream state assembles it: text, refusal, finish reason, usage, calls."""
    from openai.lib.streaming.chat import ChatCompletionStreamState

    state = ChatCompletionStreamState()
    for piece in chunks:
        state.handle_chunk(piece)
    snapshot = state.current_completion_snapshot
    picked = next(c for c in snapshot.choices if c.index == choice)
    calls = tuple((c.index, c.id, c.function.name, c.function.arguments) for c in picked.message.tool_calls or [])  # type: ignore[attr-defined]
    return picked.message.content or "", picked.message.refusal, picked.finish_reason, snapshot.usage, calls


def as_tuple(reply: StreamedReply) -> tuple[Any, ...]:
    return reply.text, reply.refusal, reply.finish_reason, reply.usage, tuple((c.index, c.id, c.name, c.arguments) for c in reply.tool_calls)


@pytest.mark.parametrize("interaction", STREAMED)
def test_every_stream_collects_to_what_the_sdk_assembles(interaction: Interaction, server: ReplayServer) -> None:
    client = openai_client(server=server, _strict_response_validation=True, max_retries=0)
    chunks = list(client.chat.completions.create(**interaction.request.body))
    reply = collect_reply(chunks)
    assert as_tuple(reply) == sdk_reply(chunks)
    assert reply.finish_reason in ("stop", "length", "tool_calls")
    assert reply.text or reply.refusal or reply.tool_calls


def test_there_are_streams_of_each_kind() -> None:
    assert len(STREAMED) >= 10


def test_usage_refusal_and_finish_reason() -> None:
    checklist = collect_reply(chat_chunks("02_collect_while_streaming/checklist"))
    assert checklist.text.startswith("## Two-day") and checklist.refusal is None and checklist.finish_reason == "stop"
    assert checklist.usage is not None and checklist.usage.total_tokens > 0 and not checklist.truncated
    refusal = collect_reply(chat_chunks("02_collect_while_streaming/refusal"))
    assert refusal.text == "" and (refusal.refusal or "").startswith("I'm sorry")
    cut = collect_reply(chat_chunks("02_collect_while_streaming/cut_short"))
    assert cut.truncated and cut.usage is not None and cut.usage.completion_tokens == 40
    assert collect_reply(chat_chunks("01_basic_streaming/three_layers")).usage is None


def test_events_come_in_stream_order_with_progress_before_arguments() -> None:
    events: list[Any] = []
    reply = collect_reply(chat_chunks("03_streamed_tool_calls/two_cities"), on_event=events.append)
    kinds = [e.type for e in events]
    assert kinds[0] == "tool_call_started" and kinds.count("tool_call_started") == 2
    second = kinds.index("tool_call_started", 1)
    assert all(isinstance(e, ToolArgumentsDelta) and e.index == 0 for e in events[1:second])
    assert [e for e in events if isinstance(e, ToolCallStarted)] == [ToolCallStarted(c.index, c.id, c.name) for c in reply.tool_calls]
    assert "".join(e.fragment for e in events if isinstance(e, ToolArgumentsDelta) and e.index == 1) == '{"city": "東京"}'


def test_text_and_refusal_events_carry_the_pieces() -> None:
    events: list[Any] = []
    text = collect_reply(chat_chunks("02_collect_while_streaming/checklist"), on_event=events.append).text
    assert all(isinstance(e, TextDelta) for e in events) and "".join(e.text for e in events) == text
    events.clear()
    refusal = collect_reply(chat_chunks("02_collect_while_streaming/refusal"), on_event=events.append).refusal
    assert all(isinstance(e, RefusalDelta) for e in events) and "".join(e.text for e in events) == refusal


def chunk(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate(
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices, "usage": usage}
    )


def test_one_choice_of_several_is_collected() -> None:
    chunks = [
        chunk([{"index": 0, "delta": {"content": "zero"}, "finish_reason": None}, {"index": 1, "delta": {"content": "one"}, "finish_reason": None}]),
        chunk([{"index": 1, "delta": {}, "finish_reason": "length"}, {"index": 0, "delta": {}, "finish_reason": "stop"}]),
        chunk([], {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
    ]
    usage = chunks[-1].usage
    assert collect_reply(chunks, choice=1) == StreamedReply(text="one", finish_reason="length", usage=usage)
    assert collect_reply(chunks) == StreamedReply(text="zero", finish_reason="stop", usage=usage)
    assert as_tuple(collect_reply(chunks, choice=1)) == sdk_reply(chunks, choice=1)


def test_the_reference_reply_is_what_the_sdk_assembles() -> None:
    # Mutations the old tests missed (they compared with reference_reply and never checked it): the usage dropped
    # for a choice the stream does not have, and `next(...)` without its default (StopIteration).
    chunks = [
        chunk([{"index": 0, "delta": {"content": "zero"}, "finish_reason": "stop"}]),
        chunk([], {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
    ]
    assert reference_reply(chunks) == StreamedReply(text="zero", finish_reason="stop", usage=chunks[-1].usage)
    assert reference_reply(chunks, choice=3) == StreamedReply(usage=chunks[-1].usage)
    assert reference_reply([]) == StreamedReply()
    # Its tool calls and refusal, against what the recordings hold (written out by hand).
    calls = reference_reply(chat_chunks("03_streamed_tool_calls/two_cities"))
    assert calls.text == "" and calls.refusal is None and calls.finish_reason == "tool_calls"
    assert [(c.index, c.name, c.arguments, c.id.startswith("call_")) for c in calls.tool_calls] == [
        (0, "get_weather", '{"city": "Z\\u00fcrich"}', True),
        (1, "get_weather", '{"city": "東京"}', True),
    ]
    refusal = reference_reply(chat_chunks("02_collect_while_streaming/refusal"))
    assert refusal.text == "" and (refusal.refusal or "").startswith("I'm sorry") and refusal.tool_calls == ()


def test_a_collector_fed_chunk_by_chunk_says_what_each_added() -> None:
    # Mutations the old tests missed: an empty ToolArgumentsDelta for a piece without argument text
    # (`function is not None or arguments`), and ReplyCollector() defaulting to another choice than 0.
    collector = ReplyCollector()
    opening = {"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    assert collector.add(chunk([{"index": 0, "delta": {"content": "Checking."}, "finish_reason": None}])) == [TextDelta("Checking.")]
    assert collector.add(chunk([{"index": 0, "delta": {"tool_calls": [opening]}, "finish_reason": None}])) == [ToolCallStarted(0, "call_a", "get_weather")]
    rest = {"index": 0, "function": {"arguments": '{"city": "Oslo"}'}}
    assert collector.add(chunk([{"index": 0, "delta": {"tool_calls": [rest]}, "finish_reason": "tool_calls"}])) == [ToolArgumentsDelta(0, '{"city": "Oslo"}')]
    assert collector.reply().tool_calls[0].arguments == '{"city": "Oslo"}' and collector.reply().finish_reason == "tool_calls"


def test_an_empty_stream_is_an_empty_reply() -> None:
    assert ReplyCollector().reply() == StreamedReply() == collect_reply([])
