"""Checks for lesson 03 (streamed tool calls): the calls a learner reassembles must match the SDK's own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ...checks import Case, exercise
from ...recordings import chat_chunks
from ...reply import reference_reply
from ...toolcalls import ToolCall

_CASES = [
    ("two parallel calls, split inside a \\u00fc escape and between 東 and 京", "03_streamed_tool_calls/two_cities", 0,
     "key the pieces by tc.index, not by their position in delta.tool_calls"),
    ("whole calls in their first piece ('{}' next to the id)", "03_streamed_tool_calls/whole_calls", 0,
     "append the arguments of every piece, including the one that carries the id"),
    ("four calls, the last one cut short (finish_reason 'length')", "04_tool_progress/broken_calls", 0,
     "keep the arguments as they arrived, even when they are not valid JSON; parse later"),
    ("a text answer ending in a usage chunk (no calls)", "02_collect_while_streaming/checklist", 0,
     "go over chunk.choices (empty on the usage chunk) and return [] when there are no calls"),
]


def _verify(expected: tuple[ToolCall, ...]) -> Callable[[Any], None]:
    def verify(calls: Any) -> None:
        assert isinstance(calls, list), f"return a list of ToolCall, not {type(calls).__name__}"
        assert all(isinstance(c, ToolCall) for c in calls), "each item should be a labs.toolcalls.ToolCall"
        assert len(calls) == len(expected), f"expected {len(expected)} calls, got {len(calls)}"
        for got, want in zip(calls, expected):
            assert got.index == want.index, f"calls should be in index order: expected index {want.index}, got {got.index}"
            assert got.id == want.id, f"call {want.index}: id should be {want.id!r}, got {got.id!r}"
            assert got.name == want.name, f"call {want.index}: name should be {want.name!r}, got {got.name!r}"
            assert got.arguments == want.arguments, f"call {want.index}: arguments should be {want.arguments!r}, got {got.arguments!r}"
    return verify


@exercise("3.1")
def check_accumulate_tool_calls(accumulate_tool_calls: Callable[[Iterator[Any]], list[ToolCall]]) -> Iterator[Case]:
    for name, fixture, request, hint in _CASES:
        chunks = chat_chunks(fixture, request)
        yield Case(
            name,
            run=lambda chunks=chunks: accumulate_tool_calls(iter(chunks)),
            verify=_verify(reference_reply(chunks).tool_calls),
            hint=hint,
        )
