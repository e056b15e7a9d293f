"""Checks for lesson 02 (collect while streaming): the reply a learner collects must match the SDK's own."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any

from ...checks import Case, exercise
from ...recordings import chat_chunks
from ...reply import StreamedReply, reference_reply

_CASES = [
    ("a Markdown answer ending in a usage chunk (choices == [])", "02_collect_while_streaming/checklist", 0,
     "go over chunk.choices instead of reading choices[0], and take usage from the chunk that has it"),
    ("an answer cut short (finish_reason 'length')", "02_collect_while_streaming/cut_short", 0,
     "keep the finish_reason of the last delta that has one"),
    ("a refusal (delta.refusal, content None)", "02_collect_while_streaming/refusal", 0,
     "join delta.refusal separately from delta.content, and print it too"),
    ("a stream without a usage chunk", "01_basic_streaming/three_layers", 0,
     "usage stays None when no chunk carries it"),
    ("a stream of tool calls with no text", "sdk_smoke/chat_tool_round", 0,
     "text is '' and refusal None when no delta carries them"),
]


def _printed_and_returned(collect: Callable[[Iterator[Any]], Any], chunks: list[Any]) -> tuple[str, Any]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = collect(iter(chunks))
    return printed.getvalue(), returned


def _verify(expected: StreamedReply) -> Callable[[tuple[str, Any]], None]:
    def verify(outcome: tuple[str, Any]) -> None:
        printed, reply = outcome
        assert isinstance(reply, StreamedReply), f"return a StreamedReply, not {type(reply).__name__}"
        for field in ("text", "refusal", "finish_reason", "usage"):
            got, want = getattr(reply, field), getattr(expected, field)
            if field == "usage":
                got, want = (None if u is None else u.total_tokens for u in (got, want))
                assert got == want, f"usage.total_tokens should be {want}, got {got}"
            else:
                assert got == want, f"{field} should be {want!r:.60}, got {got!r:.60}"
        assert expected.text in printed, "print the text as it arrives (end='', flush=True)"
        assert expected.refusal is None or expected.refusal in printed, "print the refusal too: otherwise the reader sees nothing"

    return verify


@exercise("2.1")
def check_collect_reply(collect_reply: Callable[[Iterator[Any]], StreamedReply]) -> Iterator[Case]:
    for name, fixture, request, hint in _CASES:
        chunks = chat_chunks(fixture, request)
        yield Case(
            name,
            run=lambda chunks=chunks: _printed_and_returned(collect_reply, chunks),
            verify=_verify(reference_reply(chunks)),
            hint=hint,
        )
