"""Checks for lesson 02 (collect while streaming): the reply collected in 2.1 must match the SDK's own; 2.2 shows the first answer live and keeps every answer."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


# Exercise 2.2: show the first answer live, keep every answer. Graded on behaviour, at every moment the learner's
# code asks the stream for its next chunk: by then all of choice 0's text (or refusal) that has arrived is on the
# screen in one piece, never mixed with another choice's. What comes back is compared, choice by choice, with
# what the SDK's own stream helper assembles from the same recorded chunks.


@dataclass
class ChoicesScreen:
    """What the screen showed each time the learner's code asked for the next chunk, and what it returned."""

    seen: list[tuple[str, str]]  # (choice 0's text and refusal arrived so far, what was on the screen)
    printed: str
    returned: object


def _first_choice_so_far(chunk: Any) -> str:
    return "".join((c.delta.content or "") + (c.delta.refusal or "") for c in chunk.choices if c.index == 0)


def _watch_choices(collect: Callable[[Iterator[Any]], Any], chunks: list[Any]) -> ChoicesScreen:
    screen = io.StringIO()
    seen: list[tuple[str, str]] = []

    def pulled() -> Iterator[Any]:
        arrived = ""
        for chunk in chunks:
            seen.append((arrived, screen.getvalue()))
            yield chunk
            arrived += _first_choice_so_far(chunk)
        seen.append((arrived, screen.getvalue()))

    with contextlib.redirect_stdout(screen):
        returned = collect(pulled())
    return ChoicesScreen(seen, screen.getvalue(), returned)


def _indexes(chunks: list[Any]) -> list[int]:
    return sorted({choice.index for chunk in chunks for choice in chunk.choices})


def _verify_choices(chunks: list[Any]) -> Callable[[ChoicesScreen], None]:
    expected = [reference_reply(chunks, index) for index in _indexes(chunks)]

    def verify(outcome: ChoicesScreen) -> None:
        for arrived, shown in outcome.seen:
            assert arrived in shown, f"{arrived[-30:]!r} of the first answer had arrived but the screen was not on the screen yet, in one piece"
        returned = outcome.returned
        assert isinstance(returned, list) and all(isinstance(reply, StreamedReply) for reply in returned), (
            f"return a list of StreamedReply, one per choice, not {type(returned).__name__}")
        assert len(returned) == len(expected), f"the stream held {len(expected)} choice(s); you returned {len(returned)} replies"
        for index, (got, want) in enumerate(zip(returned, expected)):
            for field in ("text", "refusal", "finish_reason"):
                assert getattr(got, field) == getattr(want, field), (
                    f"choice {index}: {field} should be {getattr(want, field)!r:.60}, got {getattr(got, field)!r:.60}")
            tokens = [None if reply.usage is None else reply.usage.total_tokens for reply in (got, want)]
            assert tokens[0] == tokens[1], f"choice {index}: usage.total_tokens should be {tokens[1]}, got {tokens[0]}"

    return verify


def choices_mistakes(chunks: list[Any]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 2.2, recognised in what the screen showed along the way and what came back."""
    expected = [reference_reply(chunks, index) for index in _indexes(chunks)]

    def screens(test: Callable[[ChoicesScreen], bool]) -> Callable[[object], bool]:
        return lambda outcome: isinstance(outcome, ChoicesScreen) and test(outcome)

    def live_late(o: ChoicesScreen) -> bool:
        return any(arrived not in shown for arrived, shown in o.seen) and o.seen[-1][0] in o.printed

    def returned(test: Callable[[list[Any]], bool]) -> Callable[[ChoicesScreen], bool]:
        return lambda o: isinstance(o.returned, list) and test(o.returned)

    return (
        Mistake("the usage chunk at the end has an empty `choices` list, so `chunk.choices[0]` raises IndexError there",
                lambda outcome: isinstance(outcome, IndexError)),
        Mistake("the answer appeared only once the stream was over: print each piece of choice 0 (flush=True) in the chunk that brings it",
                screens(live_late)),
        Mistake("the pieces of another choice were printed into the first answer: with n > 1 the choices arrive interleaved, "
                "so print only the deltas whose choice.index is 0",
                screens(lambda o: o.seen[-1][0] not in o.printed and not live_late(o))),
        Mistake("return a list of StreamedReply in choice.index order, not a dict",
                screens(lambda o: isinstance(o.returned, dict))),
        Mistake("each choice.index is an answer of its own: keep text, refusal and finish_reason per index, one StreamedReply each",
                screens(returned(lambda replies: len(replies) != len(expected)))),
        Mistake("the usage chunk counts the whole stream: give its usage to every reply (None when no chunk carries it)",
                screens(returned(lambda replies: any(getattr(r, "usage", None) is None for r in replies) and expected[0].usage is not None))),
    )


@exercise("2.2", hint=(
    "keep a dict of labs.reply.ReplyCollector(choice=i), one per choice.index (or your own text, refusal and finish_reason per index) and "
    "usage = None; for every chunk: usage = chunk.usage or usage; for choice in chunk.choices: collect it under choice.index, and if "
    "choice.index == 0 print its delta.content or delta.refusal (end='', flush=True); at the end return one StreamedReply per index, "
    "sorted by index, each with the usage"
))
def check_collect_choices(collect_choices: Callable[[Iterator[Any]], list[StreamedReply]]) -> Iterator[Case]:
    cases = [
        ("a Markdown answer ending in a usage chunk (choices == [])", "02_collect_while_streaming/checklist",
         "show the first answer as it arrives, and return its reply with the usage of the last chunk"),
        ("an answer cut short (finish_reason 'length')", "02_collect_while_streaming/cut_short",
         "a cut-short answer is still an answer: return it with its finish_reason"),
        ("a refusal (delta.refusal, content None)", "02_collect_while_streaming/refusal",
         "the reader must see the refusal too, and the reply keeps it apart from the text"),
        ("two answers in one stream (n=2)", "02_collect_while_streaming/two_choices",
         "show one answer, whole and readable, and return a reply for each answer of the stream"),
    ]
    for name, recording, hint in cases:
        chunks = chat_chunks(recording, 0)
        yield Case(name, run=lambda chunks=chunks: _watch_choices(collect_choices, chunks), verify=_verify_choices(chunks), hint=hint,
                   mistakes=choices_mistakes(chunks))
