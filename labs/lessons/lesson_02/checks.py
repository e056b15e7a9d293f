"""Checks for lesson 02 (collect while streaming): the reply a learner collects must match the SDK's own."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any

from ...checks import Case, Mistake, exercise
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


def _reply(test: Callable[[StreamedReply], bool]) -> Callable[[object], bool]:
    def seen(outcome: object) -> bool:
        return isinstance(outcome, tuple) and isinstance(outcome[1], StreamedReply) and test(outcome[1])

    return seen


def reply_mistakes(expected: StreamedReply) -> tuple[Mistake, ...]:
    """The typical wrong answers to 2.1 on a stream whose reply is `expected`, recognised in what came back."""
    return (
        Mistake("the usage chunk at the end has an empty `choices` list, so `chunk.choices[0]` raises IndexError there",
                lambda outcome: isinstance(outcome, IndexError)),
        Mistake("return a labs.reply.StreamedReply(text=..., refusal=..., finish_reason=..., usage=...), not a dict",
                lambda outcome: isinstance(outcome, tuple) and isinstance(outcome[1], dict)),
        Mistake("the usage comes in a chunk of its own at the end, the one whose `choices` is empty: keep chunk.usage from it",
                _reply(lambda reply: reply.usage is None and expected.usage is not None)),
        Mistake("the finish reason was lost: the chunks after the one that carries it (the usage chunk) have none, so keep the last one that is not None",
                _reply(lambda reply: reply.finish_reason is None and expected.finish_reason is not None)),
        Mistake("a refusal streams in `delta.refusal`, not in `delta.content`: collect it apart from the text",
                _reply(lambda reply: expected.refusal is not None and reply.refusal != expected.refusal)),
        Mistake("text is '' (an empty string), not None, when no delta carries any",
                _reply(lambda reply: reply.text is None and expected.text == "")),
    )


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


@exercise("2.1", hint=(
    "start with text pieces, refusal pieces, finish_reason = None and usage = None; for every chunk: if chunk.usage, keep it; "
    "for choice in chunk.choices: append delta.content and delta.refusal when they are not None (and print them), and keep "
    "choice.finish_reason when it is not None; at the end return StreamedReply(''.join(text), ''.join(refusal) or None, finish_reason, usage)"
))
def check_collect_reply(collect_reply: Callable[[Iterator[Any]], StreamedReply]) -> Iterator[Case]:
    for name, fixture, request, hint in _CASES:
        chunks = chat_chunks(fixture, request)
        yield Case(
            name,
            run=lambda chunks=chunks: _printed_and_returned(collect_reply, chunks),
            verify=_verify(reference_reply(chunks)),
            hint=hint,
            mistakes=reply_mistakes(reference_reply(chunks)),
        )
