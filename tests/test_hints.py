"""Hints that answer the mistake: each checker recognises the typical wrong answers and says what each one got wrong.

Each row is a wrong answer a learner writes, the case it fails and a phrase that only the hint for that mistake
holds; the case's general hint does not, so a row fails when its mistake is no longer recognised. A second,
more explicit hint is one call away, `labs.hint("N.M")`, for every graded exercise.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import reduce
from operator import add
from pathlib import Path
from typing import Any

import pytest
from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk, SubmitToolOutputsAction, ThreadRun, ToolOutput

import labs
from labs.checks import Case, Mistake, evaluate, exercise, hint_for
from labs.grading.lessons import load_lessons
from labs.lessons.lesson_06.checks import expected_row
from labs.lessons.lesson_09.scenarios import ToolRunner
from labs.toolcalls import ToolCall, accumulate_tool_calls, run_tool_call
from tests.exercise_support import hints, lesson_01_loop

REPO = Path(__file__).resolve().parent.parent



# -- 1.1: collect a stream while printing it ---------------------------------------------------------------


def joins_none(stream: Any) -> str:
    pieces = [chunk.choices[0].delta.content for chunk in stream if chunk.choices]
    print(*pieces, sep="", end="")
    return "".join(pieces)


def a_line_per_piece(stream: Any) -> str:
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    for piece in pieces:
        print(piece)
    return "".join(pieces)


def returns_the_pieces(stream: Any) -> list[str]:
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    print("".join(pieces), end="")
    return pieces


# -- 2.1: collect a reply ---------------------------------------------------------------------------------


def reply_from_the_first_choice(stream: Any) -> Any:
    from labs.reply import StreamedReply

    text, reason = "", None
    for chunk in stream:
        delta = chunk.choices[0].delta
        text += delta.content or ""
        reason = chunk.choices[0].finish_reason or reason
    print(text, end="")
    return StreamedReply(text, None, reason, None)


def reply_as_a_dict(stream: Any) -> Any:
    from labs.reply import collect_reply

    reply = collect_reply(stream)
    print(reply.text + (reply.refusal or ""), end="")
    return {"text": reply.text, "refusal": reply.refusal, "finish_reason": reply.finish_reason, "usage": reply.usage}


def reply_without_usage(stream: Any) -> Any:
    from dataclasses import replace

    from labs.reply import collect_reply

    reply = collect_reply(stream)
    print(reply.text + (reply.refusal or ""), end="")
    return replace(reply, usage=None, tool_calls=())


# -- 3.1: accumulate tool calls by index ------------------------------------------------------------------


def lesson_03_calls_dict(chunks: Any) -> Any:  # the lesson's cell l03-12, with the choices looked at first
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                call = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = call["id"] or tc.id or ""
                call["name"] = call["name"] or tc.function.name or ""
                call["arguments"] += tc.function.arguments or ""
    return calls


def by_position(chunks: Any) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for chunk in chunks:
        for choice in chunk.choices:
            for position, tc in enumerate(choice.delta.tool_calls or []):
                if position == len(calls):
                    calls.append(ToolCall(position, tc.id or "", tc.function.name or "", ""))
                old = calls[position]
                calls[position] = ToolCall(old.index, old.id, old.name, old.arguments + (tc.function.arguments or ""))
    return calls


def as_dicts(chunks: Any) -> list[dict[str, Any]]:
    return [{"index": c.index, "id": c.id, "name": c.name, "arguments": c.arguments} for c in accumulate_tool_calls(chunks)]


def parses_the_arguments(chunks: Any) -> list[ToolCall]:
    return [ToolCall(c.index, c.id, c.name, json.loads(c.arguments)) for c in accumulate_tool_calls(chunks)]


# -- 4.1: run tools with progress -------------------------------------------------------------------------


def runs_without_try(calls: list[ToolCall], tools: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    for call in calls:
        print(f"⏳ Looking up: {call.name}...", end="", flush=True)
        content = json.dumps(tools[call.name](**json.loads(call.arguments)))
        print(" ✅")
        messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    return messages


def announces_after(calls: list[ToolCall], tools: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    for call in calls:
        result = run_tool_call(call, tools)
        print(f"⏳ Looking up: {call.name}...", " ✅" if result.ok else f" ❌ {result.error}")
        messages.append(result.message())
    return messages


def drops_failures(calls: list[ToolCall], tools: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    for call in calls:
        print(f"⏳ Looking up: {call.name}...", end="", flush=True)
        result = run_tool_call(call, tools)
        print(" ✅" if result.ok else f" ❌ {result.error}")
        if result.ok:
            messages.append(result.message())
    return messages


# -- 6.1: a timeline row per event ------------------------------------------------------------------------


def spells_occurred(at: float, event: Any) -> Any:
    if getattr(event, "name", None) == "handoff_occured":
        return None  # compared with "handoff_occurred", the English spelling, so never matched
    return expected_row(at, event)


def text_for_every_raw_event(at: float, event: Any) -> Any:
    from labs.timeline import TextRow

    return TextRow(at, event.data.delta) if event.type == "raw_response_event" else expected_row(at, event)


# -- 7.1: tally a run's events ----------------------------------------------------------------------------


def stops_at_done(stream: AgentEventHandler) -> tuple[Counter[str], str]:
    counts: Counter[str] = Counter()
    text = ""
    for event_type, data, _ in stream:
        counts[event_type] += 1
        text += data.text if isinstance(data, MessageDeltaChunk) else ""
        if event_type == "done":
            break
    return counts, text


def counts_whole_items(stream: AgentEventHandler) -> tuple[Counter[Any], str]:
    items = list(stream)
    return Counter((item[0], type(item[1]).__name__) for item in items), "".join(d.text for _, d, _ in items if isinstance(d, MessageDeltaChunk))


# -- 9.1: submit tool outputs by hand ---------------------------------------------------------------------


class AnswersTheFirstCall(ToolRunner):
    def on_thread_run(self, run: ThreadRun) -> None:
        if run.status == "requires_action" and isinstance(run.required_action, SubmitToolOutputsAction):
            call = run.required_action.submit_tool_outputs.tool_calls[0]
            output = ToolOutput(tool_call_id=call.id, output=self.functions[call.function.name](**json.loads(call.function.arguments)))
            self.client.runs.submit_tool_outputs_stream(thread_id=run.thread_id, run_id=run.id, tool_outputs=[output], event_handler=self)


class StreamsIntoAnotherHandler(ToolRunner):
    def on_thread_run(self, run: ThreadRun) -> None:
        ToolRunner.on_thread_run(ToolRunner(self.client, self.functions.values()), run)


class PassesTheArgumentsText(ToolRunner):
    def on_thread_run(self, run: ThreadRun) -> None:
        if run.status == "requires_action" and isinstance(run.required_action, SubmitToolOutputsAction):
            for call in run.required_action.submit_tool_outputs.tool_calls:
                self.functions[call.function.name](call.function.arguments)


# -- 10.1: a two-turn conversation -------------------------------------------------------------------------


async def streamed(service: Any, history: Any) -> list[Any]:
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings

    chunks = []
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=OpenAIChatPromptExecutionSettings()):
        print(chunk.content, end="", flush=True)
        chunks.append(chunk)
    return chunks


async def forgets_the_replies(service: Any, history: Any, questions: list[str]) -> list[str]:
    answers = []
    for question in questions:
        history.add_user_message(question)
        answers.append(reduce(add, await streamed(service, history)).content)
    return answers


async def keeps_the_last_chunk(service: Any, history: Any, questions: list[str]) -> list[str]:
    answers = []
    for question in questions:
        history.add_user_message(question)
        chunks = await streamed(service, history)
        history.add_message(chunks[-1] if chunks[-1].content else chunks[-2])
        answers.append(reduce(add, chunks).content)
    return answers


async def returns_the_messages(service: Any, history: Any, questions: list[str]) -> list[Any]:
    answers = []
    for question in questions:
        history.add_user_message(question)
        reply = reduce(add, await streamed(service, history))
        history.add_message(reply)
        answers.append(reply)
    return answers


# -- 12.1: frame one event ---------------------------------------------------------------------------------


def frame_spaced(event_type: str, data: dict[str, Any], event_id: int) -> bytes:
    return f"id: {event_id}\nevent: {event_type}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def frame_as_text(event_type: str, data: dict[str, Any], event_id: int) -> str:
    return f"id: {event_id}\nevent: {event_type}\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n"


def frame_ascii(event_type: str, data: dict[str, Any], event_id: int) -> bytes:
    return f"id: {event_id}\nevent: {event_type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


# -- 16.1: stream metrics ---------------------------------------------------------------------------------


class Metrics:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.text_times: list[float] = []

    def record(self, t: float, text: str) -> None:
        self.times.append(t)
        if text:
            self.text_times.append(t)

    def summary(self) -> dict[str, Any]:
        gaps = [b - a for a, b in zip(self.text_times, self.text_times[1:])]
        return {"ttft": self.text_times[0] if self.text_times else None, "total": self.times[-1] if self.times else 0.0,
                "events": len(self.times), "text_events": len(self.text_times), "max_gap": max(gaps, default=0.0)}


class FirstEventMetrics(Metrics):
    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "ttft": self.times[0]}


class EveryEventMetrics(Metrics):
    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "text_events": len(self.times)}


USAGE = "a stream ending in a usage chunk (choices == [])"
PLAIN = "a plain text stream"
TWO_CITIES = "two parallel calls, split inside a \\u00fc escape and between 東 and 京"
CUT_SHORT_CALLS = "four calls, the last one cut short (finish_reason 'length')"
CHECKLIST = "a Markdown answer ending in a usage chunk (choices == [])"

WRONG_ANSWERS = [
    ("1.1", lesson_01_loop, USAGE, "`chunk.choices[0]` raises IndexError"),
    ("1.1", joins_none, PLAIN, "`delta.content is None`"),
    ("1.1", a_line_per_piece, PLAIN, 'end=""'),
    ("1.1", returns_the_pieces, PLAIN, "not a list of pieces"),
    ("2.1", reply_from_the_first_choice, CHECKLIST, "raises IndexError"),
    ("2.1", reply_as_a_dict, CHECKLIST, "not a dict"),
    ("2.1", reply_without_usage, CHECKLIST, "keep chunk.usage"),
    ("3.1", lesson_03_calls_dict, TWO_CITIES, "the lesson's `calls` dict"),
    ("3.1", by_position, TWO_CITIES, "each piece says which call it belongs to in tc.index"),
    ("3.1", as_dicts, TWO_CITIES, "not a dict"),
    ("3.1", parses_the_arguments, CUT_SHORT_CALLS, "keep the arguments as the text"),
    ("4.1", runs_without_try, "a tool that raises ConnectionError", "catch what it raises"),
    ("4.1", runs_without_try, "a tool nobody registered (book_hut)", "not in `tools`"),
    ("4.1", runs_without_try, "arguments cut off mid-string (finish_reason 'length')", "parse inside the same try"),
    ("4.1", announces_after, "two parallel lookups", "after the tool had run"),
    ("4.1", drops_failures, "a round of four, three failing: one message per call, in order", "still needs its tool message"),
    ("6.1", spells_occurred, "a handoff to another agent", "'handoff_occured' (one r)"),
    ("6.1", text_for_every_raw_event, "narration only: agent_updated, text deltas, one message", "ResponseTextDeltaEvent have a .delta"),
    ("7.1", stops_at_done, "a tool round: two HTTP streams chained on one handler", "'done' comes once per HTTP stream"),
    ("7.1", counts_whole_items, "a text run", "count the event_type"),
    ("9.1", AnswersTheFirstCall, "two calls in one required action", "answer every call in tool_calls"),
    ("9.1", StreamsIntoAnotherHandler, "two calls in one required action", "went to another handler or to none"),
    ("9.1", PassesTheArgumentsText, "two calls in one required action", "function(**arguments)"),
    ("10.1", forgets_the_replies, "every request carried the conversation so far", "went without the first answer"),
    ("10.1", keeps_the_last_chunk, "every request carried the conversation so far", "one chunk, not the whole reply"),
    ("10.1", returns_the_messages, "both answers streamed and returned", "not the message objects"),
    ("12.1", frame_spaced, "a text delta", "space after ',' and ':'"),
    ("12.1", frame_as_text, "a text delta", "encode the frame's text"),
    ("12.1", frame_ascii, "a delta with non-ASCII text", "escapes every non-ASCII character"),
    ("16.1", FirstEventMetrics, "a stream that opens with a role chunk (no text)", "a role chunk or a tool call's first piece comes earlier"),
    ("16.1", EveryEventMetrics, "a stream that ends with a usage chunk", "text_events counts only the events that carry text"),
]


@pytest.mark.parametrize(("exercise_id", "answer", "case", "phrase"), WRONG_ANSWERS, ids=lambda v: getattr(v, "__name__", None))
def test_a_typical_wrong_answer_gets_the_hint_for_its_mistake(exercise_id: str, answer: Any, case: str, phrase: str) -> None:
    failed = hints(evaluate(exercise_id, answer))
    assert case in failed, f"{answer.__name__} should fail {case!r}; it failed {list(failed)}"
    assert phrase in failed[case], failed[case]


def test_every_checker_has_a_hint_for_at_least_two_mistakes() -> None:
    seen: dict[str, set[str]] = {}
    for exercise_id, answer, case, _ in WRONG_ANSWERS:
        seen.setdefault(exercise_id, set()).add(hints(evaluate(exercise_id, answer)).get(case, ""))
    assert all(len(found) >= 2 for found in seen.values()), seen


def test_the_first_mistake_that_sees_itself_gives_the_hint_and_a_broken_recogniser_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from labs import checks

    monkeypatch.setattr(checks, "_checkers", {})
    mistakes = (
        Mistake("cannot read it", lambda outcome: outcome["missing"]),
        Mistake("you counted the chunks", lambda outcome: outcome == 2),
        Mistake("also two", lambda outcome: outcome == 2),
        Mistake("raised a KeyError", lambda outcome: isinstance(outcome, KeyError)),
    )

    @exercise("99.3")
    def check_total(total: Any) -> Any:
        yield Case("two chunks", lambda: total([{"tokens": 3}, {"tokens": 4}]), expected=7, hint="add every chunk", mistakes=mistakes)

    assert hints(evaluate("99.3", len)) == {"two chunks": "you counted the chunks"}
    assert hints(evaluate("99.3", lambda chunks: chunks[0]["count"])) == {"two chunks": "raised a KeyError"}
    assert hints(evaluate("99.3", lambda chunks: 8)) == {"two chunks": "add every chunk"}


def test_every_graded_exercise_has_a_second_hint_one_call_away(capsys: pytest.CaptureFixture[str]) -> None:
    graded = [exercise_id for lesson in load_lessons(REPO / "solutions").values() for exercise_id in lesson.exercise_ids]
    assert "3.1" in graded
    for exercise_id in graded:
        second = hint_for(exercise_id)
        labs.hint(exercise_id)
        assert capsys.readouterr().out == f"💡 Exercise {exercise_id}: {second}\n"
        assert len(second) > 40, f"{exercise_id}: {second!r} is not more explicit than a first hint"


def test_an_exercise_without_a_second_hint_says_where_to_add_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from labs import checks

    monkeypatch.setattr(checks, "_checkers", {})
    monkeypatch.setattr(checks, "_hints", {})
    exercise("99.4")(lambda answer: iter(()))
    with pytest.raises(LookupError, match=r"@exercise\('99.4', hint=\.\.\.\)"):
        hint_for("99.4")
