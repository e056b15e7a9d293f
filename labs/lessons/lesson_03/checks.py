"""Checks for lesson 03 (streamed tool calls): the calls a learner reassembles must match the SDK's own.

The check recognises the typical wrong answers by running them itself on the same chunks (joining the
pieces by their position in the chunk's list, dropping the arguments that come with the id) and by the shape
of what came back (the lesson's `calls` dict pasted, dicts instead of `ToolCall`s, parsed arguments), so
the hint answers the mistake that was made.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...checks import Case, Mistake, exercise, watched
from ...clients import openai_client
from ...config import FIXTURES_DIR
from ...recordings import chat_chunks, chat_text, fixture
from ...reply import reference_reply
from ...toolcalls import ToolCall

_CASES = [
    ("two parallel calls, split inside a \\u00fc escape and between 東 and 京", "03_streamed_tool_calls/two_cities", 0),
    ("whole calls in their first piece ('{}' next to the id)", "03_streamed_tool_calls/whole_calls", 0),
    ("four calls, the last one cut short (finish_reason 'length')", "04_tool_progress/broken_calls", 0),
    ("a text answer ending in a usage chunk (no calls)", "02_collect_while_streaming/checklist", 0),
]

Shape = list[tuple[Any, Any, Any, Any]]


def _shape(calls: Any) -> Shape | None:
    """(index, id, name, arguments) for each call, whether the learner returned ToolCalls or dicts; None if neither."""
    if isinstance(calls, dict):
        calls = list(calls.values())
    if not isinstance(calls, list):
        return None
    shaped = []
    for call in calls:
        if isinstance(call, dict):
            shaped.append((call.get("index"), call.get("id"), call.get("name"), call.get("arguments")))
        else:
            shaped.append(tuple(getattr(call, field, None) for field in ("index", "id", "name", "arguments")))
    return shaped


def joined_by_position(chunks: list[Any]) -> Shape:
    """What joining the pieces by their position in each chunk's `tool_calls` list gives (the lesson's bug)."""
    calls: list[list[Any]] = []
    for chunk in chunks:
        for choice in chunk.choices:
            for position, tc in enumerate(choice.delta.tool_calls or []):
                if position == len(calls):
                    calls.append([position, tc.id or "", tc.function.name or "", ""])
                calls[position][3] += tc.function.arguments or ""
    return [tuple(call) for call in calls]  # type: ignore[misc]


def without_first_fragments(chunks: list[Any]) -> Shape:
    """What starting each call's arguments afresh at the piece that carries its id gives."""
    parts: dict[int, list[Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                if tc.id:
                    parts[tc.index] = [tc.index, tc.id, tc.function.name or "", ""]
                elif tc.index in parts:
                    parts[tc.index][3] += tc.function.arguments or ""
    return [tuple(part) for _, part in sorted(parts.items())]  # type: ignore[misc]


def tool_call_mistakes(chunks: list[Any], expected: tuple[ToolCall, ...]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 3.1 on these chunks, each recognised in what the learner returned or raised."""
    right = [(c.index, c.id, c.name, c.arguments) for c in expected]
    by_position, no_first = joined_by_position(chunks), without_first_fragments(chunks)

    def same_as(wrong: Shape) -> Callable[[Any], bool]:
        return lambda calls: wrong != right and _shape(calls) == wrong

    return (
        Mistake("this is the lesson's `calls` dict, keyed by index: return a list of ToolCall objects, in index order",
                lambda calls: isinstance(calls, dict)),
        Mistake("each call should be a labs.toolcalls.ToolCall(index=..., id=..., name=..., arguments=...), not a dict",
                lambda calls: isinstance(calls, list) and any(isinstance(c, dict) for c in calls)),
        Mistake("the pieces were joined by their position in delta.tool_calls, which is 0 for every call's pieces: "
                "each piece says which call it belongs to in tc.index", same_as(by_position)),
        Mistake("the arguments that came in the same piece as the id were dropped: a server may send a whole call in one piece",
                same_as(no_first)),
        Mistake("keep the arguments as the text that arrived and parse them later: a cut-short call's arguments are not valid JSON",
                lambda outcome: isinstance(outcome, json.JSONDecodeError)
                or (_shape(outcome) is not None and any(not isinstance(c[3], str) for c in _shape(outcome) or []))),
        Mistake("a usage chunk has an empty `choices` list, so `chunk.choices[0]` raises IndexError: go over the choices there are",
                lambda outcome: isinstance(outcome, IndexError)),
        Mistake("the calls are right but out of order: sort them by index",
                lambda calls: _shape(calls) != right and sorted(_shape(calls) or [], key=repr) == sorted(right, key=repr)),
    )


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


@exercise("3.1", hint=(
    "keep a dict from tc.index to the call being built; for every tc in choice.delta.tool_calls (for every choice in "
    "chunk.choices): take id and function.name from the first piece that has them, and append function.arguments of every "
    "piece, the first included; at the end return [ToolCall(index, id, name, arguments) for each index in sorted order]"
))
def check_accumulate_tool_calls(accumulate_tool_calls: Callable[[Iterator[Any]], list[ToolCall]]) -> Iterator[Case]:
    for name, fixture, request in _CASES:
        chunks = chat_chunks(fixture, request)
        expected = reference_reply(chunks).tool_calls
        yield Case(
            name,
            run=lambda chunks=chunks: accumulate_tool_calls(iter(chunks)),
            verify=_verify(expected),
            hint="every call must come out whole (id, name and all its arguments text), once, in index order",
            mistakes=tool_call_mistakes(chunks, expected),
        )


# Exercise 3.2: answer a question that needs tools, whatever number of rounds it takes.
#
# The learner's loop talks to a replay server of the check's own (always replay, at full speed, whatever
# LABS_MODE says), with only the recordings of the three conversations below. What is judged is behaviour
# true of any good loop against any healthy service: every round streamed, every call run with the arguments
# the model asked for and answered under its own id after the assistant message that asked, asking again until
# a round ends with text, and that text printed as it streamed and returned. The requests the loop sent are
# observed with an httpx event hook, so a wrong one is explained by what it carried.

ROUND_CASES = [
    ("two parallel calls, then the answer", "03_streamed_tool_calls/two_cities"),
    ("a conversation without a system message", "sdk_smoke/chat_tool_round"),
    ("two tool rounds before the answer", "04_tool_progress/streamed_rounds"),
]


def _weather(city: str) -> dict[str, Any]:
    return {"city": city, "temperature_c": 12, "conditions": "cloudy"}


def _trail_status(trail: str) -> dict[str, Any]:
    return {"trail": trail, "status": "open"}


@dataclass
class Rounds:
    """What the learner's loop did on one recorded conversation."""

    returned: Any = None
    printed: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    ran: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replay_miss: str = ""


def _recorded_rounds(name: str) -> tuple[dict[str, Any], list[tuple[ToolCall, ...]], str]:
    """The first request, the calls each round asked for (by the ids the replay hands out) and the final text."""
    interactions = fixture(name).interactions
    rounds = [reference_reply(chat_chunks(name, index)).tool_calls for index in range(len(interactions))]
    return interactions[0].request.body, rounds, chat_text(name, len(interactions) - 1)


def run_rounds(answer_with_tools: Callable[..., Any], name: str) -> Rounds:
    """Run `answer_with_tools(client, model, messages, tools, functions)` on the recording `name` and note what it did."""
    import httpx

    from ...replay import ReplayServer

    first, _, _ = _recorded_rounds(name)
    rounds = Rounds()

    def keep(request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            rounds.requests.append(json.loads(request.content))

    def traced(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(**arguments: Any) -> Any:
            rounds.ran.append((name, arguments))
            return function(**arguments)

        run.__name__ = name
        return run

    functions = {"get_weather": traced("get_weather", _weather), "get_trail_status": traced("get_trail_status", _trail_status)}
    folder = FIXTURES_DIR / name.split("/")[0]
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(folder,)) as server:
        with httpx.Client(event_hooks={"request": [keep]}) as http:
            client = openai_client(server=server, http_client=http, max_retries=0)
            with watched(rounds):
                rounds.returned = answer_with_tools(client, first["model"], list(first["messages"]), first["tools"], functions)
    return rounds


def _tool_answers(request: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The last assistant message's tool calls in `request`, and the tool messages after it."""
    messages = request.get("messages", [])
    asked_at = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if asked_at is None:
        return [], [m for m in messages if m.get("role") == "tool"]
    return messages[asked_at].get("tool_calls") or [], [m for m in messages[asked_at + 1:] if m.get("role") == "tool"]


def _verify_rounds(name: str) -> Callable[[Rounds], None]:
    _, recorded, text = _recorded_rounds(name)
    asked = [call for calls in recorded for call in calls]

    def verify(rounds: Rounds) -> None:
        assert isinstance(rounds, Rounds)
        assert all(r.get("stream") is True for r in rounds.requests), "a round was not streamed: every request needs stream=True"
        for number, (request, calls) in enumerate(zip(rounds.requests[1:], recorded), start=2):
            sent_calls, answers = _tool_answers(request)
            assert [c.get("id") for c in sent_calls] == [c.id for c in calls], (
                f"request {number} should carry the assistant message with the tool calls it answers, ids "
                f"{[c.id for c in calls]}; it carried {[c.get('id') for c in sent_calls]}")
            assert [a.get("tool_call_id") for a in answers] == [c.id for c in calls], (
                f"request {number} answered the calls {[a.get('tool_call_id') for a in answers]}, the model asked for {[c.id for c in calls]}")
            assert all(isinstance(a.get("content"), str) for a in answers), "a tool message's content must be text (JSON)"
        assert not rounds.replay_miss, f"a request matched no recording: {rounds.replay_miss[:200]}"
        assert len(rounds.requests) >= len(recorded), (
            f"your loop sent {len(rounds.requests)} request(s); this conversation needs {len(recorded)} before the model answers in text")
        wanted = [(c.name, c.parsed_arguments()) for c in asked]
        assert rounds.ran == wanted, f"the functions ran as {rounds.ran[:4]}; the model asked for {wanted[:4]}"
        assert rounds.returned == text, f"returned {rounds.returned!r:.60}, the model's answer was {text!r:.60}"
        assert text in rounds.printed, "print the answer as it streams, so the reader is not left waiting for the last round"

    return verify


def round_mistakes(name: str) -> tuple[Mistake, ...]:
    """The typical wrong answers to 3.2, recognised in the requests the loop sent and what it returned."""
    _, recorded, _ = _recorded_rounds(name)

    def requests(test: Callable[[list[dict[str, Any]]], bool]) -> Callable[[object], bool]:
        return lambda rounds: isinstance(rounds, Rounds) and test(rounds.requests)

    def follow_ups(test: Callable[[list[dict[str, Any]], list[dict[str, Any]]], bool]) -> Callable[[object], bool]:
        return requests(lambda sent: any(test(*_tool_answers(request)) for request in sent[1:]))

    return (
        Mistake("the tool messages went without the assistant message that asked for them: the model (and the API) needs its own "
                "tool_calls first, then one tool message per call", follow_ups(lambda calls, answers: answers != [] and calls == [])),
        Mistake("only some of the calls were answered: a round can ask for several at once, and each needs its own tool message",
                follow_ups(lambda calls, answers: 0 < len(answers) < len(calls))),
        Mistake("a tool message must name the call it answers: tool_call_id is the id of that call",
                follow_ups(lambda calls, answers: bool(answers) and any(not a.get("tool_call_id") for a in answers))),
        Mistake("the loop stopped too early: after the tool results the model may ask for more tools; keep asking until a round "
                "ends without tool calls", requests(lambda sent: 0 < len(sent) < len(recorded))),
        Mistake("a round was not streamed: pass stream=True on every request, the follow-ups included",
                requests(lambda sent: any(r.get("stream") is not True for r in sent))),
    )


@exercise("3.2", hint=(
    "loop: stream = client.chat.completions.create(model=model, messages=messages, tools=tools, stream=True); "
    "reply = collect_reply(stream, on_event=print the text events); if not reply.tool_calls: return reply.text; "
    "else messages.append(assistant_message(reply.tool_calls)), then for each result of run_tool_calls(reply.tool_calls, functions): "
    "messages.append(result.message()); and go round again"
))
def check_answer_with_tools(answer_with_tools: Callable[..., Any]) -> Iterator[Case]:
    for name, recording in ROUND_CASES:
        yield Case(
            name,
            run=lambda recording=recording: run_rounds(answer_with_tools, recording),
            verify=_verify_rounds(recording),
            hint="answer every call the model makes, under its id, after the message that asked, until the model answers in text",
            mistakes=round_mistakes(recording),
        )
