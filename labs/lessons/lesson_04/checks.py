"""Checks for lesson 04 (tool progress): a tool runner that shows progress first and never raises."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...checks import Case, Mistake, exercise
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


def _announced_late(outcome: object) -> bool:
    return isinstance(outcome, _Outcome) and any(f"⏳ Looking up: {name}..." not in printed for name, printed in outcome.seen)


def _messages(test: Callable[[list[Any]], bool]) -> Callable[[object], bool]:
    return lambda outcome: isinstance(outcome, _Outcome) and isinstance(outcome.messages, list) and test(outcome.messages)


def runner_mistakes(calls: list[ToolCall]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 4.1 on a round of `calls`, recognised in what the runner printed, returned or raised."""
    return (
        Mistake("a tool can fail: catch what it raises and answer the model with an 'Error: ...' content instead of stopping the round",
                lambda outcome: isinstance(outcome, ConnectionError)),
        Mistake("the model may ask for a tool that is not in `tools`: look the name up first and answer 'Error: unknown tool ...'",
                lambda outcome: isinstance(outcome, KeyError)),
        Mistake("arguments cut short are not JSON, so json.loads raises too: parse inside the same try as the call",
                lambda outcome: isinstance(outcome, json.JSONDecodeError)),
        Mistake("the progress line came after the tool had run, so the reader waited in silence: print it (flush=True) before the call",
                _announced_late),
        Mistake("a failed call still needs its tool message: the model must get an answer for every call it made",
                _messages(lambda messages: len(messages) < len(calls))),
        Mistake("a message's content must be text: json.dumps the tool's result",
                _messages(lambda messages: any(isinstance(m, dict) and not isinstance(m.get("content"), str) for m in messages))),
    )


@exercise("4.1", hint=(
    "for each call: print(f'⏳ Looking up: {call.name}...', end='', flush=True); then in one try: the function = tools[call.name] "
    "(an unknown name is an error), arguments = json.loads(call.arguments), result = the function(**arguments), content = json.dumps(result), "
    "print ' ✅'; except Exception as error: content = f'Error: {error}', print ' ❌ ...'; append "
    "{'role': 'tool', 'tool_call_id': call.id, 'content': content}; return the list"
))
def check_run_with_progress(run_with_progress: Runner) -> Iterator[Case]:
    lookups = accumulate_tool_calls(chat_chunks("04_tool_progress/streamed_rounds", 0))
    broken = accumulate_tool_calls(chat_chunks("04_tool_progress/broken_calls", 0))
    by_name = {call.name: call for call in broken}
    yield Case("two parallel lookups", lambda: _run(run_with_progress, lookups), verify=_verify_lookups(lookups),
               hint="show the reader which tool runs before it runs, and answer each call with its result as JSON text",
               mistakes=runner_mistakes(lookups))
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
        yield Case(name, lambda calls=calls: _run(run_with_progress, calls), verify=_verify_failure(calls, mention, not_run), hint=hint,
                   mistakes=runner_mistakes(calls))
    yield Case("a round of four, three failing: one message per call, in order", lambda: _run(run_with_progress, broken),
               verify=_verify_round(broken), hint="never raise: answer every call, in the order of the calls", mistakes=runner_mistakes(broken))


# Exercise 4.2: show a streamed round as the reader should see it. Graded on behaviour, at every moment the
# learner's code asks the stream for its next chunk: by then every tool the model has named so far is on the
# screen (once per call, never once per argument fragment), and every piece of text that has arrived is too.
# The expected names, text and calls come from the recorded chunks, read by the check itself.


@dataclass
class RoundScreen:
    """What the screen showed each time the learner's code asked for the next chunk, and what it returned."""

    seen: list[tuple[list[str], str, str]]  # (tool names arrived so far, text arrived so far, what was on the screen)
    printed: str
    returned: object


def _named_and_text(chunk: Any) -> tuple[list[str], str]:
    if not chunk.choices:
        return [], ""
    delta = chunk.choices[0].delta
    names = [call.function.name for call in delta.tool_calls or [] if call.function and call.function.name]
    return names, delta.content or ""


def _watch_round(show_round: Callable[[Iterator[Any]], Any], chunks: list[Any]) -> RoundScreen:
    screen = io.StringIO()
    seen: list[tuple[list[str], str, str]] = []

    def pulled() -> Iterator[Any]:
        names: list[str] = []
        text = ""
        for chunk in chunks:
            seen.append((list(names), text, screen.getvalue()))
            yield chunk
            new_names, new_text = _named_and_text(chunk)
            names, text = names + new_names, text + new_text
        seen.append((list(names), text, screen.getvalue()))

    with contextlib.redirect_stdout(screen):
        returned = show_round(pulled())
    return RoundScreen(seen, screen.getvalue(), returned)


def _in_order(text: str, screen: str) -> bool:
    """Whether the characters of `text` appear on `screen` in order (other lines may come between them)."""
    rest = iter(screen)
    return all(character in rest for character in text)


def _late_names(names: list[str], shown: str) -> list[str]:
    """The names among `names` (one per call) that the screen does not show as often as they were named."""
    return sorted({name for name in names if shown.count(name) < names.count(name)})


def _verify_round_screen(chunks: list[Any]) -> Callable[[RoundScreen], None]:
    calls = accumulate_tool_calls(chunks)
    names = [call.name for call in calls]

    def verify(outcome: RoundScreen) -> None:
        for arrived, text, shown in outcome.seen:
            late = _late_names(arrived, shown)
            assert not late, f"the model had named {late[0]} but the screen did not show it yet: the reader was left waiting"
            assert _in_order(text, shown), f"{text[-30:]!r} had arrived but was not on the screen yet"
        too_often = sorted({name for name in names if outcome.printed.count(name) > names.count(name)})
        assert not too_often, f"{too_often[0]} was shown {outcome.printed.count(too_often[0])} times for {names.count(too_often[0])} call(s)"
        returned = outcome.returned
        assert isinstance(returned, list) and all(isinstance(call, ToolCall) for call in returned), (
            f"return the round's calls as a list of ToolCall objects, not {type(returned).__name__}")
        assert [(c.id, c.name, c.arguments) for c in returned] == [(c.id, c.name, c.arguments) for c in calls], (
            f"returned the calls {[(c.name, c.arguments) for c in returned]}, the round asked for {[(c.name, c.arguments) for c in calls]}")

    return verify


def round_screen_mistakes(chunks: list[Any]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 4.2, recognised in what the screen showed along the way."""
    names = [call.name for call in accumulate_tool_calls(chunks)]

    def screens(test: Callable[[RoundScreen], bool]) -> Callable[[object], bool]:
        return lambda outcome: isinstance(outcome, RoundScreen) and test(outcome)

    return (
        Mistake("a usage chunk has an empty `choices` list, so `chunk.choices[0]` raises IndexError: look before you take the first choice",
                lambda outcome: isinstance(outcome, IndexError)),
        Mistake("the tools were shown only once the round was over: the model names a tool in the first delta of its call, "
                "so announce it there, while its arguments are still streaming",
                screens(lambda o: any(_late_names(arrived, shown) for arrived, _, shown in o.seen) and not _late_names(names, o.printed))),
        Mistake("the text waited for the end of the round: print each piece of text (flush=True) in the chunk that brings it",
                screens(lambda o: any(not _in_order(text, shown) for _, text, shown in o.seen) and _in_order(o.seen[-1][1], o.printed))),
        Mistake("a tool was shown once per argument fragment: only the delta that starts a call carries function.name; "
                "the fragments after it carry arguments alone",
                screens(lambda o: any(o.printed.count(name) > names.count(name) for name in names))),
        Mistake("return the calls as ToolCall objects (labs.toolcalls.accumulate_tool_calls builds them from the chunks you kept)",
                screens(lambda o: isinstance(o.returned, list) and any(not isinstance(call, ToolCall) for call in o.returned))),
    )


@exercise("4.2", hint=(
    "keep every chunk in a list; for each chunk with choices: print delta.content (end='', flush=True) when it is text, and for each "
    "call in delta.tool_calls or []: if call.function.name: print(f'\\n⏳ {call.function.name}...', flush=True); after the loop "
    "return accumulate_tool_calls(chunks)"
))
def check_show_round(show_round: Callable[[Iterator[Any]], list[ToolCall]]) -> Iterator[Case]:
    cases = [
        ("two parallel calls to the same tool", "04_tool_progress/streamed_rounds", 0),
        ("four tools, one of them cut off", "04_tool_progress/broken_calls", 0),
        ("a round that answers in text", "01_basic_streaming/three_layers", 0),
        ("a stream ending in a usage chunk (choices == [])", "sdk_smoke/chat_text", 0),
    ]
    for name, recording, request in cases:
        chunks = chat_chunks(recording, request)
        yield Case(
            name,
            run=lambda chunks=chunks: _watch_round(show_round, chunks),
            verify=_verify_round_screen(chunks),
            hint="the reader should see each tool the moment the model names it, and each piece of text as it arrives",
            mistakes=round_screen_mistakes(chunks),
        )
