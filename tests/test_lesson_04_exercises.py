"""Exercise 4.2, an open-ended challenge graded on behaviour: show a streamed round as the reader should see it.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
"""

from __future__ import annotations

from typing import Any

from labs.reply import ReplyCollector
from labs.toolcalls import ToolCall, accumulate_tool_calls
from tests.exercise_support import AnswerTable


# -- 4.2: show a streamed round as the reader should see it --------------------------------------------------


def shows_each_name(stream: Any) -> list[ToolCall]:
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta and delta.content:
            print(delta.content, end="", flush=True)
        for call in (delta.tool_calls or []) if delta else []:
            if call.function and call.function.name:
                print(f"\n⏳ {call.function.name}...", flush=True)
    return accumulate_tool_calls(chunks)


def shows_collector_events(stream: Any) -> list[ToolCall]:  # another right way: the lesson's ReplyCollector
    collector = ReplyCollector()
    for chunk in stream:
        for event in collector.add(chunk):
            if event.type == "text":
                print(event.text, end="", flush=True)
            elif event.type == "tool_call_started":
                print(f"[{event.name}]", flush=True)
    return list(collector.reply().tool_calls)


def names_at_the_end(stream: Any) -> list[ToolCall]:
    chunks = list(stream)
    calls = accumulate_tool_calls(chunks)
    for call in calls:
        print(f"⏳ {call.name}...")
    return calls


def names_every_fragment(stream: Any) -> list[ToolCall]:
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.tool_calls:
            print(f"⏳ {accumulate_tool_calls(chunks)[-1].name}...", flush=True)
    return accumulate_tool_calls(chunks)


def text_at_the_end(stream: Any) -> list[ToolCall]:
    chunks = list(stream)
    print("".join(c.choices[0].delta.content or "" for c in chunks if c.choices), end="")
    return accumulate_tool_calls(chunks)


def first_choice_always(stream: Any) -> list[ToolCall]:
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    return accumulate_tool_calls(chunks)


def returns_dicts(stream: Any) -> list[dict[str, str]]:
    return [{"name": call.name, "arguments": call.arguments} for call in shows_each_name(stream)]


PARALLEL = "two parallel calls to the same tool"
TEXT = "a round that answers in text"
USAGE = "a stream ending in a usage chunk (choices == [])"


class TestAnswers(AnswerTable):
    right_answers = [("4.2", shows_each_name), ("4.2", shows_collector_events)]
    wrong_answers = [
        ("4.2", names_at_the_end, PARALLEL, "shown only once the round was over"),
        ("4.2", names_every_fragment, PARALLEL, "once per argument fragment"),
        ("4.2", text_at_the_end, TEXT, "the text waited for the end of the round"),
        ("4.2", first_choice_always, USAGE, "`chunk.choices[0]` raises IndexError"),
        ("4.2", returns_dicts, PARALLEL, "return the calls as ToolCall objects"),
    ]
