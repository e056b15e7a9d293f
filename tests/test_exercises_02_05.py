"""The second exercises of lessons 02 and 05, open-ended challenges graded on behaviour.

As in tests/test_exercises_04_08.py: each challenge passes more than one right way, and each typical wrong answer
fails a named case with the hint for its own mistake, a phrase that only that mistake's hint holds (the case's
general hint does not, which the last test checks), so a row fails when its mistake is no longer recognised.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from agents import ItemHelpers
from openai.types.responses import ResponseTextDeltaEvent

from labs.checks import evaluate
from labs.reply import ReplyCollector, StreamedReply
from tests.exercise_support import assert_each_mistake_has_its_own_hint, assert_the_hint_names_the_mistake



# -- 2.2: show the first answer live, keep every answer --------------------------------------------------------


def collects_by_index(stream: Any) -> list[StreamedReply]:
    answers: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            answer = answers.setdefault(choice.index, {"text": "", "refusal": None, "finish_reason": None})
            for field in ("content", "refusal"):
                piece = getattr(choice.delta, field)
                if piece:
                    if choice.index == 0:
                        print(piece, end="", flush=True)
                    key = "text" if field == "content" else "refusal"
                    answer[key] = (answer[key] or "") + piece
            answer["finish_reason"] = choice.finish_reason or answer["finish_reason"]
    return [StreamedReply(**answers[index], usage=usage) for index in sorted(answers)]


def collects_with_collectors(stream: Any) -> list[StreamedReply]:  # another right way: one ReplyCollector per choice
    collectors: dict[int, ReplyCollector] = {}
    for chunk in stream:
        for index in sorted({choice.index for choice in chunk.choices} | {0}):
            collectors.setdefault(index, ReplyCollector(index))
        for index, collector in collectors.items():
            for event in collector.add(chunk):
                if index == 0 and event.type in ("text", "refusal"):
                    print(event.text, end="", flush=True)
    return [collectors[index].reply() for index in sorted(collectors)]


def first_choice_always(stream: Any) -> list[StreamedReply]:
    text, finish_reason = "", None
    for chunk in stream:
        choice = chunk.choices[0]
        print(choice.delta.content or "", end="", flush=True)
        text += choice.delta.content or ""
        finish_reason = choice.finish_reason or finish_reason
    return [StreamedReply(text=text, finish_reason=finish_reason)]


def prints_every_choice(stream: Any) -> list[StreamedReply]:
    return _quiet(collects_by_index, list(_echo_every_choice(stream)))  # collected right, shown wrong


def _echo_every_choice(stream: Any) -> Any:
    for chunk in stream:
        for choice in chunk.choices:
            print((choice.delta.content or "") + (choice.delta.refusal or ""), end="", flush=True)
        yield chunk


def _quiet(collect: Any, chunks: list[Any]) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return collect(iter(chunks))


def prints_at_the_end(stream: Any) -> list[StreamedReply]:
    replies = _quiet(collects_by_index, list(stream))
    print(replies[0].text or replies[0].refusal, flush=True)
    return replies


def one_reply_for_all(stream: Any) -> list[StreamedReply]:
    text, refusal, finish_reason, usage = "", None, None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            if choice.index == 0:
                print((choice.delta.content or "") + (choice.delta.refusal or ""), end="", flush=True)
            text += choice.delta.content or ""
            if choice.delta.refusal:
                refusal = (refusal or "") + choice.delta.refusal
            finish_reason = choice.finish_reason or finish_reason
    return [StreamedReply(text, refusal, finish_reason, usage)]


def returns_a_dict(stream: Any) -> dict[int, StreamedReply]:
    return dict(enumerate(collects_by_index(stream)))


def loses_the_usage(stream: Any) -> list[StreamedReply]:
    return [StreamedReply(r.text, r.refusal, r.finish_reason) for r in collects_by_index(stream)]


# -- 5.2: show a run as the reader should see it -----------------------------------------------------------------


def is_text(event: Any) -> bool:
    return event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)


async def shows_the_run(events: Any) -> None:
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            print(f"\n🎲 {event.item.raw_item.name}({event.item.raw_item.arguments})", flush=True)
        elif event.type == "agent_updated_stream_event":
            print(f"\n→ {event.new_agent.name}", flush=True)


async def shows_raw_calls_and_handoffs(events: Any) -> None:  # another right way: tools from the raw stream, handoffs as run items
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "raw_response_event" and event.data.type == "response.output_item.added" and event.data.item.type == "function_call":
            print(f"\n[{event.data.item.name}]", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "handoff_occured":
            print(f"\n[{event.item.source_agent.name} hands over to {event.item.target_agent.name}]", flush=True)


async def text_when_the_message_is_done(events: Any) -> None:
    async for event in events:
        if event.type == "run_item_stream_event" and event.name == "message_output_created":
            print(ItemHelpers.text_message_output(event.item), flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            print(f"🎲 {event.item.raw_item.name}", flush=True)
        elif event.type == "agent_updated_stream_event":
            print(f"→ {event.new_agent.name}", flush=True)


async def text_only(events: Any) -> None:
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)


async def handoff_spelled_right(events: Any) -> None:  # 'handoff_occurred' as English spells it: the SDK never sends it
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            print(f"\n🎲 {event.item.raw_item.name}", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "handoff_occurred":
            print(f"\n→ {event.item.target_agent.name}", flush=True)


async def delta_of_every_raw_event(events: Any) -> None:
    async for event in events:
        if event.type == "raw_response_event":
            print(event.data.delta, end="", flush=True)


async def tool_after_it_ran(events: Any) -> None:
    called = {}
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            called[event.item.raw_item.call_id] = event.item.raw_item.name
        elif event.type == "run_item_stream_event" and event.name == "tool_output":
            print(f"\n🎲 {called[event.item.raw_item['call_id']]} → {event.item.output}", flush=True)
        elif event.type == "agent_updated_stream_event":
            print(f"\n→ {event.new_agent.name}", flush=True)


# -- the table of answers ---------------------------------------------------------------------------------------

RIGHT_ANSWERS = [
    ("2.2", collects_by_index), ("2.2", collects_with_collectors),
    ("5.2", shows_the_run), ("5.2", shows_raw_calls_and_handoffs),
]

CHECKLIST = "a Markdown answer ending in a usage chunk (choices == [])"
CUT_SHORT = "an answer cut short (finish_reason 'length')"
TWO = "two answers in one stream (n=2)"
NARRATION = "narration only"
TOOLS = "tool calls between narration"
HANDOFF = "a handoff to another agent"

WRONG_ANSWERS = [
    ("2.2", first_choice_always, CUT_SHORT, "`chunk.choices[0]` raises IndexError"),
    ("2.2", prints_every_choice, TWO, "print only the deltas whose choice.index is 0"),
    ("2.2", prints_at_the_end, CHECKLIST, "appeared only once the stream was over"),
    ("2.2", one_reply_for_all, TWO, "keep text, refusal and finish_reason per index"),
    ("2.2", returns_a_dict, CHECKLIST, "not a dict"),
    ("2.2", loses_the_usage, CUT_SHORT, "give its usage to every reply"),
    ("5.2", text_when_the_message_is_done, NARRATION, "the text waited for its message"),
    ("5.2", text_only, TOOLS, "a tool call went unseen"),
    ("5.2", handoff_spelled_right, HANDOFF, "spells the run item 'handoff_occured'"),
    ("5.2", delta_of_every_raw_event, NARRATION, "not every raw_response_event carries text"),
    ("5.2", tool_after_it_ran, TOOLS, "named only after it had run"),
]


@pytest.mark.parametrize(("exercise_id", "answer"), RIGHT_ANSWERS, ids=lambda v: getattr(v, "__name__", v))
def test_the_challenges_pass_more_than_one_right_way(exercise_id: str, answer: Any) -> None:
    result = evaluate(exercise_id, answer)
    assert result.status == "passed", result


@pytest.mark.parametrize(("exercise_id", "answer", "case", "phrase"), WRONG_ANSWERS, ids=lambda v: getattr(v, "__name__", None))
def test_a_typical_wrong_answer_gets_the_hint_for_its_mistake(exercise_id: str, answer: Any, case: str, phrase: str) -> None:
    assert_the_hint_names_the_mistake(exercise_id, answer, case, phrase)


def test_each_challenge_names_at_least_two_mistakes_and_only_the_mistake_hint_holds_its_phrase() -> None:
    assert_each_mistake_has_its_own_hint(("2.2", "5.2"), WRONG_ANSWERS)


def untouched_collector(stream: Any) -> list[StreamedReply]:
    raise NotImplementedError("Exercise 2.2: show the first answer live")


async def untouched_handler(events: Any) -> None:
    raise NotImplementedError("Exercise 5.2: show the run as it happens")


@pytest.mark.parametrize(("exercise_id", "stub"), [("2.2", untouched_collector), ("5.2", untouched_handler)])
def test_an_untouched_stub_is_not_done(exercise_id: str, stub: Any) -> None:
    result = evaluate(exercise_id, stub)
    assert result.status == "not_done", result
    assert result.message.startswith("show the "), result.message
