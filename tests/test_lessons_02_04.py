"""Lessons 02-04: their recorded scenarios replay through the real SDK, and their checks tell right from wrong."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from openai import OpenAI

from labs.lessons.lesson_02 import scenarios as lesson_02
from labs.lessons.lesson_04 import scenarios as lesson_04
from labs.checks import CheckResult, check
from labs.clients import RECORDED_MODEL, openai_client
from labs.config import FIXTURES_DIR
from labs.replay import ReplayServer
from labs.reply import StreamedReply, collect_reply
from labs.toolcalls import ToolCall, accumulate_tool_calls, assistant_message, run_tool_call, tool_calls_of


@pytest.fixture(autouse=True)
def no_grade_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABS_GRADE_REPORT", raising=False)


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    # Its own server, not the kernel's default one, which the suite restarts (and reloads) for every test.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR,)) as server:
        yield openai_client(server=server, max_retries=0)


# -- the scenarios, replayed as the lessons make them ---------------------------------------------


def test_checklist_ends_with_a_finish_chunk_then_a_usage_chunk(client: OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=RECORDED_MODEL, messages=lesson_02.CHECKLIST, stream=True, stream_options=lesson_02.USAGE))
    *_, finish, usage = chunks
    assert finish.choices[0].finish_reason == "stop" and not finish.choices[0].delta.content
    assert usage.choices == [] and usage.usage is not None and usage.usage.completion_tokens > 0
    assert collect_reply(chunks).text == lesson_02.CHECKLIST_ANSWER


def test_the_sdk_helper_raises_on_a_cut_short_plain_answer(client: OpenAI) -> None:
    with client.chat.completions.stream(model=RECORDED_MODEL, messages=lesson_02.STAGES, max_completion_tokens=40, stream_options=lesson_02.USAGE) as stream:
        assert "content.delta" in {event.type for event in stream}
        with pytest.raises(openai.LengthFinishReasonError):
            stream.get_final_completion()
        assert stream.current_completion_snapshot.choices[0].message.content == lesson_02.STAGES_CUT


def test_a_refusal_streams_in_its_own_field(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model=RECORDED_MODEL, messages=lesson_02.STOVE, response_format=lesson_02.STEPS_FORMAT, stream=True, stream_options=lesson_02.USAGE
    )
    reply = collect_reply(stream)
    assert (reply.text, reply.refusal, reply.finish_reason) == ("", lesson_02.STOVE_REFUSAL, "stop")


def test_blocking_rounds_hide_an_answer_then_ask_again(client: OpenAI) -> None:
    messages: list[dict[str, Any]] = list(lesson_04.QUESTION)
    rounds = 0
    while True:
        completion = client.chat.completions.create(model=RECORDED_MODEL, messages=messages, tools=lesson_04.TOOLS)
        assert completion.object == "chat.completion"
        calls = tool_calls_of(completion.choices[0].message)
        if not calls:
            break
        rounds += 1
        messages.append(assistant_message(calls))
        messages += [run_tool_call(call, lesson_04.FUNCTIONS).message() for call in calls]
    assert rounds == 2 and completion.choices[0].message.content == lesson_04.HIDDEN_ANSWER
    shown = collect_reply(client.chat.completions.create(model=RECORDED_MODEL, messages=messages, stream=True))
    assert shown.text == lesson_04.ANSWER != completion.choices[0].message.content


def test_streamed_rounds_name_each_tool_in_their_first_chunk(client: OpenAI) -> None:
    messages: list[dict[str, Any]] = list(lesson_04.QUESTION)
    named: list[str] = []
    while True:
        chunks = list(client.chat.completions.create(model=RECORDED_MODEL, messages=messages, tools=lesson_04.TOOLS, stream=True))
        reply = collect_reply(chunks)
        if not reply.tool_calls:
            break
        first = chunks[0].choices[0].delta.tool_calls or []
        assert first and first[0].function is not None and first[0].function.name == reply.tool_calls[0].name
        named += [call.name for call in reply.tool_calls]
        messages.append(assistant_message(reply.tool_calls))
        messages += [run_tool_call(call, lesson_04.FUNCTIONS).message() for call in reply.tool_calls]
    assert named == ["get_weather", "get_weather", "get_trail_status"] and reply.text == lesson_04.ANSWER


# -- exercise 2.1 --------------------------------------------------------------------------------


def collect_right(stream: Any) -> StreamedReply:
    return collect_reply(stream, on_event=lambda event: print(getattr(event, "text", ""), end=""))


def collect_content_only(stream: Any) -> StreamedReply:
    reply = collect_reply(stream, on_event=lambda event: print(getattr(event, "text", ""), end=""))
    return StreamedReply(reply.text, None, reply.finish_reason, reply.usage)


def collect_silently(stream: Any) -> StreamedReply:
    return collect_reply(stream)


def collect_from_choices_0(stream: Any) -> StreamedReply:
    text = ""
    for chunk in stream:
        text += chunk.choices[0].delta.content or ""
    return StreamedReply(text)


def run(exercise: str, answer: Callable[..., Any]) -> CheckResult:
    return check(exercise, answer)


def failed(result: CheckResult) -> dict[str, str]:
    return {case.name: case.message for case in result.cases if not case.passed}


def test_2_1_passes_a_right_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("2.1", collect_right).status == "passed"


@pytest.mark.parametrize(
    ("answer", "failing_case", "message"),
    [
        (collect_content_only, "a refusal (delta.refusal, content None)", "refusal should be"),
        (collect_silently, "a Markdown answer ending in a usage chunk (choices == [])", "print the text"),
        (collect_from_choices_0, "a Markdown answer ending in a usage chunk (choices == [])", "IndexError"),
    ],
)
def test_2_1_fails_wrong_answers(answer: Callable[..., Any], failing_case: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run("2.1", answer)
    assert result.status == "failed" and message in failed(result)[failing_case]


# -- exercise 3.1 --------------------------------------------------------------------------------


def accumulate_by_position(chunks: Any) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for chunk in chunks:
        for choice in chunk.choices:
            for position, tc in enumerate(choice.delta.tool_calls or []):
                if position == len(calls):
                    calls.append(ToolCall(position, tc.id or "", tc.function.name or "", ""))
                old = calls[position]
                calls[position] = ToolCall(old.index, old.id, old.name, old.arguments + (tc.function.arguments or ""))
    return calls


def accumulate_resetting_at_the_id(chunks: Any) -> list[ToolCall]:
    parts: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                if tc.id:
                    parts[tc.index] = {"id": tc.id, "name": tc.function.name or "", "arguments": ""}
                else:
                    parts[tc.index]["arguments"] += tc.function.arguments or ""
    return [ToolCall(i, p["id"], p["name"], p["arguments"]) for i, p in sorted(parts.items())]


def test_3_1_passes_a_right_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("3.1", accumulate_tool_calls).status == "passed"


@pytest.mark.parametrize(
    ("answer", "failing_case", "message"),
    [
        (accumulate_by_position, "two parallel calls, split inside a \\u00fc escape and between 東 and 京", "expected 2 calls, got 1"),
        (accumulate_resetting_at_the_id, "whole calls in their first piece ('{}' next to the id)", "arguments should be '{}'"),
        (lambda chunks: list(reversed(accumulate_tool_calls(chunks))), "two parallel calls, split inside a \\u00fc escape and between 東 and 京", "index order"),
        (lambda chunks: {c.index: c for c in accumulate_tool_calls(chunks)}, "a text answer ending in a usage chunk (no calls)", "return a list"),
    ],
)
def test_3_1_fails_wrong_answers(answer: Callable[..., Any], failing_case: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run("3.1", answer)
    assert result.status == "failed" and message in failed(result)[failing_case]


# -- exercise 4.1 --------------------------------------------------------------------------------


def run_right(calls: list[ToolCall], tools: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    for call in calls:
        print(f"⏳ Looking up: {call.name}...", end="", flush=True)
        result = run_tool_call(call, tools)
        print(" ✅" if result.ok else f" ❌ {result.error}")
        messages.append(result.message())
    return messages


def run_raising(calls: list[ToolCall], tools: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    for call in calls:
        print(f"⏳ Looking up: {call.name}...", end="", flush=True)
        content = json.dumps(tools[call.name](**json.loads(call.arguments)))
        print(" ✅")
        messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    return messages


def run_announcing_late(calls: list[ToolCall], tools: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    for call in calls:
        result = run_tool_call(call, tools)
        print(f"⏳ Looking up: {call.name}...", " ✅" if result.ok else f" ❌ {result.error}")
        messages.append(result.message())
    return messages


def run_dropping_failures(calls: list[ToolCall], tools: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in run_right(calls, tools) if not m["content"].startswith("Error")]


def test_4_1_passes_a_right_answer(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("4.1", run_right).status == "passed"


@pytest.mark.parametrize(
    ("answer", "failing_case", "message"),
    [
        (run_raising, "a tool that raises ConnectionError", "your code raised ConnectionError"),
        (run_raising, "arguments cut off mid-string (finish_reason 'length')", "JSONDecodeError"),
        (run_announcing_late, "two parallel lookups", "before running the tool"),
        (run_dropping_failures, "a round of four, three failing: one message per call, in order", "answer every call"),
    ],
)
def test_4_1_fails_wrong_answers(answer: Callable[..., Any], failing_case: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = run("4.1", answer)
    assert result.status == "failed" and message in failed(result)[failing_case]
