"""Checks for lesson 04 (tool progress): a tool runner that shows progress first and never raises."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...checks import Case, exercise
from ...recordings import chat_chunks
from ...toolcalls import ToolCall, accumulate_tool_calls

Runner = Callable[[list[ToolCall], dict[str, Callable[..., object]]], list[dict[str, Any]]]


@dataclass
class _Outcome:
    printed: str
    messages: Any
    seen: list[tuple[str, str]] = field(default_factory=list)  # (tool, what was printed when it ran)


def _run(runner: Runner, calls: list[ToolCall]) -> _Outcome:
    printed = io.StringIO()
    seen: list[tuple[str, str]] = []

    def get_weather(city: str) -> dict[str, Any]:
        seen.append(("get_weather", printed.getvalue()))
        return {"city": city, "forecast": "sunny", "high_c": 19}

    def get_avalanche_risk(massif: str) -> dict[str, Any]:
        seen.append(("get_avalanche_risk", printed.getvalue()))
        raise ConnectionError("the avalanche bulletin service is unavailable")

    def get_trail_status(trail: str) -> dict[str, Any]:
        seen.append(("get_trail_status", printed.getvalue()))
        return {"trail": trail, "status": "open"}

    # book_hut is declared to the model but, like a tool someone forgot to register, missing here.
    tools = {"get_weather": get_weather, "get_avalanche_risk": get_avalanche_risk, "get_trail_status": get_trail_status}
    with contextlib.redirect_stdout(printed):
        messages = runner(list(calls), tools)
    return _Outcome(printed.getvalue(), messages, seen)


def _answers(outcome: _Outcome, calls: list[ToolCall]) -> list[str]:
    messages = outcome.messages
    assert isinstance(messages, list), f"return a list of tool messages, not {type(messages).__name__}"
    assert len(messages) == len(calls), f"answer every call: expected {len(calls)} tool messages, got {len(messages)}"
    for message, call in zip(messages, calls):
        assert isinstance(message, dict) and message.get("role") == "tool", f"each message should be a dict with role 'tool', got {message!r:.80}"
        assert message.get("tool_call_id") == call.id, f"the message for {call.name} should carry tool_call_id {call.id!r}, in the calls' order"
        assert isinstance(message.get("content"), str), "content should be a string (json.dumps the result)"
    return [m["content"] for m in messages]


def _progress_first(outcome: _Outcome, calls: list[ToolCall]) -> None:
    for name, printed_then in outcome.seen:
        line = f"⏳ Looking up: {name}..."
        assert line in printed_then, f"print {line!r} (flush=True) before running the tool, so the reader sees it while waiting"
    lines = outcome.printed.count("⏳ Looking up: ")
    assert lines == len(calls), f"print one '⏳ Looking up: <name>...' per call; printed {lines} for {len(calls)} calls"


def _verify_lookups(calls: list[ToolCall]) -> Callable[[_Outcome], None]:
    def verify(outcome: _Outcome) -> None:
        contents = _answers(outcome, calls)
        for content, call in zip(contents, calls):
            try:
                result = json.loads(content)
            except ValueError:
                raise AssertionError(f"the content for a call that worked should be its result as JSON, got {content!r:.80}") from None
            assert result == {"city": call.parsed_arguments()["city"], "forecast": "sunny", "high_c": 19}, f"the content should be what the tool returned, got {content!r:.80}"
        _progress_first(outcome, calls)
        assert outcome.printed.count("✅") == len(calls), "print ' ✅' after each call that worked"

    return verify


def _verify_failure(calls: list[ToolCall], must_mention: str, tool_not_run: str | None = None) -> Callable[[_Outcome], None]:
    def verify(outcome: _Outcome) -> None:
        (content,) = _answers(outcome, calls)
        assert content.startswith("Error"), f"a failed call's content should start with 'Error:', got {content!r:.80}"
        assert must_mention in content, f"say what went wrong: the message should mention {must_mention!r}, got {content!r:.80}"
        assert "❌" in outcome.printed, "print ' ❌ <what went wrong>' after a call that failed"
        if tool_not_run is not None:
            assert all(name != tool_not_run for name, _ in outcome.seen), f"do not run {tool_not_run} with arguments that are not valid JSON"
        _progress_first(outcome, calls)

    return verify


def _verify_round(calls: list[ToolCall]) -> Callable[[_Outcome], None]:
    def verify(outcome: _Outcome) -> None:
        contents = _answers(outcome, calls)
        failed = [call.name for call, content in zip(calls, contents) if content.startswith("Error")]
        assert failed == ["get_avalanche_risk", "book_hut", "get_trail_status"], f"only get_weather should work here; these failed: {failed}"
        _progress_first(outcome, calls)

    return verify


@exercise("4.1")
def check_run_with_progress(run_with_progress: Runner) -> Iterator[Case]:
    lookups = accumulate_tool_calls(chat_chunks("04_tool_progress/streamed_rounds", 0))
    broken = accumulate_tool_calls(chat_chunks("04_tool_progress/broken_calls", 0))
    by_name = {call.name: call for call in broken}
    yield Case("two parallel lookups", lambda: _run(run_with_progress, lookups), verify=_verify_lookups(lookups),
               hint="print the progress line with flush=True before calling the tool; content = json.dumps(result)")
    cases = [
        ("a tool that raises ConnectionError", "get_avalanche_risk", "unavailable", None,
         "catch the exception and put its message in an 'Error: ...' content"),
        ("a tool nobody registered (book_hut)", "book_hut", "book_hut", None,
         "check that the name is in tools; say which name is unknown"),
        ("arguments cut off mid-string (finish_reason 'length')", "get_trail_status", "Error", "get_trail_status",
         "json.loads the arguments before calling, and treat a JSONDecodeError as a failure"),
    ]
    for name, tool, mention, not_run, hint in cases:
        calls = [by_name[tool]]
        yield Case(name, lambda calls=calls: _run(run_with_progress, calls), verify=_verify_failure(calls, mention, not_run), hint=hint)
    yield Case("a round of four, three failing: one message per call, in order", lambda: _run(run_with_progress, broken),
               verify=_verify_round(broken), hint="never raise: answer every call, in the order of the calls")
