"""Checks for lesson 08 (Azure AI Agents: event types and polling).

Exercise 8.1 iterates the learner's `BaseAgentEventHandler` subclass over recorded streams
(`labs.azure_events.replay_into`, the SDK's own byte handling, whole and cut mid-event and mid-character) and
compares what it yields with the events the fixtures hold. Exercise 8.2 is graded on behaviour: the check
iterates the learner's handler itself, reads the clock just before and just after each event, and requires
that each moment the handler noted falls inside the event it belongs to. The callbacks run inside that
event's `next()`, so the window holds at any replay speed and for any run, recorded or live.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from azure.ai.agents.models import MessageDeltaChunk, ThreadRun

from ...azure_events import awkward_chunks, recorded_streams, replay_into
from ...checks import Case, Mistake, exercise
from ...recordings import fixture
from ..lesson_07.checks import noting_errors

__all__ = ["FINAL_STATUSES", "Clocked", "check_plain_events", "check_wait_clock", "plain_event_mistakes", "wait_clock_mistakes"]

GUIDE = "07_azure_event_handlers/trail_guide"
CONTOURS = "08_azure_event_types_and_polling/contour_lines"
DESK = "09_azure_tools_and_async/weather_desk"
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})  # a run ends in one of these


# -- 8.1: a run's events as plain data -------------------------------------------------------------------


def _recorded_events(name: str, streams: list[int]) -> list[tuple[str, Any]]:
    """The (event type, data) pairs the fixture's chosen streams hold: JSON parsed, `[DONE]` kept as text."""
    bodies = [i.response.events or [] for i in fixture(name).interactions if i.response.events is not None and i.request.streamed]
    return [(event.event or "", event.data if event.data == "[DONE]" else json.loads(event.data)) for index in streams for event in bodies[index]]


def _compare_events(expected: list[tuple[str, Any]]) -> Callable[[Any], None]:
    def verify(result: Any) -> None:
        assert isinstance(result, list), f"the check collects what iterating your handler yields; got {type(result).__name__}"
        for number, (got, want) in enumerate(zip(result, expected), start=1):
            assert isinstance(got, tuple) and len(got) == 2, f"event {number}: yield (event_type, data), not {got!r:.60}"
            assert got[0] == want[0], f"event {number}: the type is {got[0]!r:.50}, the stream sent {want[0]!r}"
            assert type(got[1]) is type(want[1]), f"event {number} ({want[0]}): the data is a {type(got[1]).__name__}, not a {type(want[1]).__name__}"
            assert got[1] == want[1], f"event {number} ({want[0]}): the data is {got[1]!r:.60}, the stream sent {want[1]!r:.60}"
        assert len(result) == len(expected), f"{len(result)} events yielded, the stream sent {len(expected)}"

    return verify


def _yielded(test: Callable[[list[Any]], bool]) -> Callable[[object], bool]:
    def seen(outcome: object) -> bool:
        return isinstance(outcome, list) and bool(outcome) and all(isinstance(item, tuple) and len(item) == 2 for item in outcome) and test(outcome)

    return seen


def plain_event_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 8.1, recognised in what the handler yielded or the exception it raised."""
    return (
        Mistake("the done event carries the text [DONE], which is not JSON: hand it on as that string",
                lambda outcome: isinstance(outcome, json.JSONDecodeError) and outcome.doc.strip() == "[DONE]"),
        Mistake("split each line once, at its first colon: the JSON after data: holds colons of its own",
                lambda outcome: isinstance(outcome, json.JSONDecodeError) and outcome.doc.strip() != "[DONE]"),
        Mistake("the event type is what follows 'event:', without the space (and without 'event:' itself)",
                _yielded(lambda items: any(isinstance(t, str) and t != t.strip() or str(t).startswith("event") for t, _ in items))),
        Mistake("parse the JSON of the data line: a relay hands on a dict, not the text of the line",
                _yielded(lambda items: all(isinstance(data, str) for _, data in items))),
        Mistake("hand on plain data (the parsed JSON), not the objects the SDK builds from it",
                _yielded(lambda items: any(isinstance(data, (ThreadRun, MessageDeltaChunk)) or hasattr(data, "as_dict") for _, data in items))),
    )


@exercise("8.1", hint=(
    "event_data_str is one event, 'event: <type>' then 'data: <json>' on the next line: for each line, "
    "name, _, value = line.partition(':'); keep value.strip(); return (event_type, data if data == '[DONE]' else json.loads(data))"
))
def check_plain_events(handler_class: type) -> Iterator[Case]:
    cases = [
        ("a text run", GUIDE, [1], False, "yield one (event_type, data) per event, the data parsed from its JSON"),
        (
            "a run delivered in chunks cut mid-event and mid-character",
            GUIDE,
            [0],
            True,
            "work on the one event the SDK hands _process_event; the SDK has already joined the chunks and decoded the bytes",
        ),
        ("a tool round: two HTTP streams chained on one handler", DESK, [0, 1], False, "every event of both streams, requires_action and both done events included"),
    ]
    for name, recording, streams, cut, hint in cases:
        bodies = recorded_streams(recording)
        chunked = [awkward_chunks(bodies[i]) if cut else [bodies[i]] for i in streams]
        yield Case(
            name,
            run=lambda chunked=chunked: list(replay_into(handler_class(), *chunked)),
            verify=_compare_events(_recorded_events(recording, streams)),
            hint=hint,
            mistakes=plain_event_mistakes(),
        )


# -- 8.2: how long the reader waited -------------------------------------------------------------------


@dataclass
class Step:
    """One event as the check saw it: its type, the clock's window around it (seconds after `started`), what the handler held after it."""

    event: str
    text: bool  # the event carried a piece of text
    final: bool  # the event carried the run in a final status
    opened: float
    closed: float
    first_text: Any
    finished: Any


@dataclass
class Clocked:
    """What the check saw while iterating the learner's handler over one run."""

    steps: list[Step]


MISSING = "<no such attribute>"


def _clock_run(clock_class: type, chunked: list[list[bytes]]) -> Clocked:
    started = time.perf_counter()
    handler = noting_errors(clock_class)(started)
    handler.raised_in_callbacks = []
    replay_into(handler, *chunked)
    steps: list[Step] = []
    iterator = iter(handler)
    while True:
        opened = time.perf_counter() - started
        try:
            event_type, event_data, _ = next(iterator)
        except StopIteration:
            break
        closed = time.perf_counter() - started
        final = isinstance(event_data, ThreadRun) and getattr(event_data.status, "value", event_data.status) in FINAL_STATUSES
        steps.append(Step(event_type, isinstance(event_data, MessageDeltaChunk), final, opened, closed,
                          getattr(handler, "first_text", MISSING), getattr(handler, "finished", MISSING)))
    not_done = [error for error in handler.raised_in_callbacks if isinstance(error, NotImplementedError)]
    if not_done:
        raise not_done[0]
    return Clocked(steps)


def _seconds(value: Any) -> str:
    return f"{value:.6f} s" if isinstance(value, float) else repr(value)[:40]


def _verify_clocked(clocked: Clocked) -> None:
    assert isinstance(clocked, Clocked)
    steps = clocked.steps
    assert all(MISSING not in (s.first_text, s.finished) for s in steps), "give the handler the attributes first_text and finished"
    first = next(i for i, s in enumerate(steps) if s.text)
    final = max(i for i, s in enumerate(steps) if s.final)
    for s in steps[:first]:
        assert s.first_text is None, f"first_text was {_seconds(s.first_text)} after {s.event}, before any text had arrived"
    noted = steps[first].first_text
    assert isinstance(noted, (int, float)), f"after the first piece of text, first_text was {_seconds(noted)}, not a number of seconds"
    assert steps[first].opened <= noted <= steps[first].closed, (
        f"first_text was {_seconds(noted)}; the first text arrived between {_seconds(steps[first].opened)} and {_seconds(steps[first].closed)} after started"
    )
    moved = next((s for s in steps[first:] if s.first_text != noted), None)
    assert moved is None, f"first_text moved from {_seconds(noted)} to {_seconds(moved.first_text)} at {moved.event}"
    for s in steps[:final]:
        assert s.finished is None, f"finished was {_seconds(s.finished)} after {s.event}, before the run reached its final status"
    ended = next((s.finished for s in steps[final:] if s.finished is not None), None)
    assert isinstance(ended, (int, float)), f"finished was {_seconds(steps[-1].finished)} once the run was {steps[final].event.rsplit('.', 1)[-1]}"
    assert steps[final].opened <= ended <= steps[-1].closed, (
        f"finished was {_seconds(ended)}; the run reached its final status between {_seconds(steps[final].opened)} and {_seconds(steps[-1].closed)} after started"
    )
    moved = next((s for s in steps[final:] if s.finished is not None and s.finished != ended), None)
    assert moved is None, f"finished moved from {_seconds(ended)} to {_seconds(moved.finished)} at {moved.event}"


def _clocked(test: Callable[[list[Step]], bool]) -> Callable[[object], bool]:
    def seen(outcome: object) -> bool:
        if not isinstance(outcome, Clocked) or any(MISSING in (s.first_text, s.finished) for s in outcome.steps):
            return False
        return test(outcome.steps)

    return seen


def _before_text(steps: list[Step]) -> bool:
    first = next(i for i, s in enumerate(steps) if s.text)
    return any(s.first_text is not None for s in steps[:first])


def _first_text_moves(steps: list[Step]) -> bool:
    first = next(i for i, s in enumerate(steps) if s.text)
    return len({s.first_text for s in steps[first:]}) > 1


def _finished_early(steps: list[Step]) -> bool:
    final = max(i for i, s in enumerate(steps) if s.final)
    return any(s.finished is not None for s in steps[:final])


def _clock_readings(steps: list[Step]) -> bool:
    # A reading of time.perf_counter() (or time.time()) itself, not seconds after `started`: far beyond the whole run.
    values = [v for s in steps for v in (s.first_text, s.finished) if isinstance(v, (int, float))]
    return bool(values) and min(values) > steps[-1].closed + 1


def wait_clock_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 8.2, recognised in what the handler held after each event."""
    return (
        Mistake("store seconds after started (time.perf_counter() - started), not a reading of the clock itself",
                _clocked(_clock_readings)),
        Mistake("the clock stopped before any text arrived: thread.message.created and the run's own events carry no text yet; "
                "the first MessageDeltaChunk does",
                _clocked(_before_text)),
        Mistake("first_text kept moving: each new piece of text overwrote it; keep the first moment only",
                _clocked(_first_text_moves)),
        Mistake("finished was set before the run's final status: 'done' ends each HTTP stream and requires_action only pauses "
                "the run; wait for completed (or failed, cancelled, expired, incomplete)",
                _clocked(_finished_early)),
    )


@exercise("8.2", hint=(
    "def on_message_delta(self, delta): if self.first_text is None: self.first_text = time.perf_counter() - self.started. "
    "def on_thread_run(self, run): if run.status in ('completed', 'failed', 'cancelled', 'expired', 'incomplete'): "
    "self.finished = time.perf_counter() - self.started"
))
def check_wait_clock(clock_class: type) -> Iterator[Case]:
    cases = [
        ("a text run", CONTOURS, [0]),
        ("a tool round: the text comes after the tools, in a second HTTP stream", DESK, [0, 1]),
    ]
    for name, recording, streams in cases:
        bodies = recorded_streams(recording)
        yield Case(
            name,
            run=lambda chunked=[[bodies[i]] for i in streams]: _clock_run(clock_class, chunked),
            verify=_verify_clocked,
            hint="first_text: seconds after started when the first piece of text reached the handler; finished: when the run "
            "reached its final status; each None until then, and never moved after",
            mistakes=wait_clock_mistakes(),
        )
