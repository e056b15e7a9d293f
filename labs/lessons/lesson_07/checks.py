"""Checks for lesson 07 (Azure AI Agents event handlers).

The learner's `tally` iterates streams the SDK parses from recorded bytes (`labs.azure_events.replay_into`):
a text run, the same kind of run delivered in chunks cut mid-event and mid-character, and a tool round whose
two HTTP streams are chained on one handler as the SDK chains them. The expected counts and text come from
the fixtures' events, not from the SDK.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk, ThreadRun

from ...azure_events import awkward_chunks, recorded_streams, replay_into
from ...checks import Case, Mistake, exercise
from ...recordings import fixture

GUIDE = "07_azure_event_handlers/trail_guide"
DESK = "09_azure_tools_and_async/weather_desk"


def _recorded(name: str, streams: list[int]) -> tuple[Counter[str], str]:
    """The event types the fixture's chosen streams hold, and the text of the last message they complete."""
    bodies = [i.response.events for i in fixture(name).interactions if i.response.events is not None and i.request.streamed]
    events = [event for index in streams for event in bodies[index] or []]
    completed = [event.json() for event in events if event.event == "thread.message.completed"]
    text = "".join(part["text"]["value"] for part in completed[-1]["content"] if part["type"] == "text")
    return Counter(event.event or "" for event in events), text


def _compare(expected: tuple[Counter[str], str]) -> Callable[[Any], None]:
    counts, text = expected

    def verify(result: Any) -> None:
        assert isinstance(result, tuple) and len(result) == 2, f"return (counts, text), not {type(result).__name__}"
        got, got_text = result
        wrong = [f"{name}: {dict(got).get(name, 0)} instead of {counts.get(name, 0)}" for name in sorted(set(counts) | set(dict(got))) if dict(got).get(name, 0) != counts.get(name, 0)]
        assert not wrong, "counted " + "; ".join(wrong[:3]) + (f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else "")
        assert got_text == text, f"the text is {got_text[:40]!r}, the run streamed {text[:40]!r}"

    return verify


def _tallied(test: Callable[[dict[Any, int], str], bool]) -> Callable[[object], bool]:
    def seen(outcome: object) -> bool:
        if not (isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], dict)):
            return False
        return test(outcome[0], outcome[1])

    return seen


def tally_mistakes(expected: tuple[Counter[str], str]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 7.1 on one recording, recognised in the tally returned or the exception raised."""
    counts, text = expected
    return (
        Mistake("only a MessageDeltaChunk carries .text: look at the kind of event_data before reading its text",
                lambda outcome: isinstance(outcome, AttributeError) and "text" in str(outcome)),
        Mistake("each item of the stream is a tuple (event_type, event_data, what the handler returned): count the event_type",
                _tallied(lambda got, _: any(isinstance(key, tuple) for key in got))),
        Mistake("'done' comes once per HTTP stream, and a tool round has two: keep iterating until the stream itself stops",
                _tallied(lambda got, _: counts.get("done", 0) > 1 and got.get("done", 0) == 1)),
        Mistake("the text was counted twice: take it from the deltas or from the completed message, not from both",
                _tallied(lambda _, got_text: bool(text) and got_text == text * 2)),
        Mistake("return the counts as a dict (a Counter is one): event type → how many times it came",
                lambda outcome: isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[0], list)),
    )


@exercise("7.1", hint=(
    "counts = Counter(); text = ''; for event_type, event_data, _ in stream: counts[event_type] += 1; "
    "if isinstance(event_data, MessageDeltaChunk): text += event_data.text; return counts, text"
))
def check_tally(tally: Callable[[AgentEventHandler], tuple[Any, str]]) -> Iterator[Case]:
    cases = [
        ("a text run", GUIDE, [1], False, "count every event_type you iterate, and join the text of each MessageDeltaChunk"),
        (
            "a run delivered in chunks cut mid-event and mid-character",
            GUIDE,
            [0],
            True,
            "iterate the stream itself; the SDK reassembles events, so never split or decode bytes yourself",
        ),
        (
            "a tool round: two HTTP streams chained on one handler",
            DESK,
            [0, 1],
            False,
            "keep iterating until the stream stops: 'done' comes once per HTTP stream, and the text comes after the tool round",
        ),
    ]
    for name, recording, streams, cut, hint in cases:
        bodies = recorded_streams(recording)
        chunked = [awkward_chunks(bodies[i]) if cut else [bodies[i]] for i in streams]
        yield Case(
            name,
            run=lambda chunked=chunked: tally(replay_into(AgentEventHandler(), *chunked)),
            verify=_compare(_recorded(recording, streams)),
            hint=hint,
            mistakes=tally_mistakes(_recorded(recording, streams)),
        )


# Exercise 7.2: a handler that always knows the partial answer and the run's status. Graded on behaviour: the
# check iterates the learner's handler over recorded streams itself and, after every event, compares what the
# handler holds with what the SDK parsed so far (the text of every MessageDeltaChunk, the status of the last
# ThreadRun). Any healthy run streams deltas and run statuses, so nothing depends on the recorded wording.


MISSING_ATTRIBUTE = "<no such attribute>"  # what the check notes when the handler has no text or status at all


def _status(value: Any) -> Any:
    return getattr(value, "value", value)


@dataclass
class Watched:
    """After each event: its type, the text and run status the SDK had delivered so far, and what the handler held."""

    steps: list[tuple[str, str, Any, Any, Any]]  # (event type, text so far, last run status, handler.text, handler.status)


def noting_errors(watcher_class: type) -> type:
    """The learner's handler, noting what its callbacks raise: the SDK swallows it, so an untouched stub would look like a wrong answer."""

    def noting(name: str) -> Callable[..., Any]:
        def callback(self: Any, *data: Any) -> Any:
            try:
                return getattr(super(watcher, self), name)(*data)
            except Exception as error:
                self.raised_in_callbacks.append(error)
                raise

        return callback

    names = [name for name in dir(AgentEventHandler) if name.startswith("on_")]
    watcher = type(watcher_class.__name__, (watcher_class,), {name: noting(name) for name in names})
    return watcher


def _watch_run(watcher_class: type, chunked: list[list[bytes]]) -> Watched:
    handler = noting_errors(watcher_class)()
    handler.raised_in_callbacks = []
    replay_into(handler, *chunked)
    steps: list[tuple[str, str, Any, Any, Any]] = []
    text, status = "", None
    for event_type, event_data, _ in handler:
        if isinstance(event_data, MessageDeltaChunk):
            text += event_data.text
        if isinstance(event_data, ThreadRun):
            status = _status(event_data.status)
        steps.append((event_type, text, status, getattr(handler, "text", MISSING_ATTRIBUTE), getattr(handler, "status", MISSING_ATTRIBUTE)))
    not_done = [error for error in handler.raised_in_callbacks if isinstance(error, NotImplementedError)]
    if not_done:
        raise not_done[0]
    return Watched(steps)


def _verify_watched(watched: Watched) -> None:
    assert isinstance(watched, Watched)
    for event_type, text, status, held_text, held_status in watched.steps:
        assert held_text is not MISSING_ATTRIBUTE and held_status is not MISSING_ATTRIBUTE, "give the handler the attributes text and status"
        assert held_text == text, f"after {event_type}, handler.text was {str(held_text)[-30:]!r}; the run had streamed {text[-30:]!r}"
        if status is not None:
            assert _status(held_status) == status, f"after {event_type}, handler.status was {_status(held_status)!r:.40}; the run's status was {status!r}"


def _steps(test: Callable[[list[tuple[str, str, Any, Any, Any]]], bool]) -> Callable[[object], bool]:
    def seen(outcome: object) -> bool:
        if not isinstance(outcome, Watched) or any(MISSING_ATTRIBUTE in (held_text, held_status) for *_, held_text, held_status in outcome.steps):
            return False
        return test(outcome.steps)

    return seen


def watcher_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 7.2, recognised in what the handler held after each event."""
    return (
        Mistake("the text stayed empty while deltas arrived: delta.text is already the string (delta.text.value raises, and the SDK "
                "swallows what a callback raises, without a word)",
                _steps(lambda steps: any(text and held == "" for _, text, _, held, _ in steps) and all(held == "" for _, _, _, held, _ in steps))),
        Mistake("the status never changed: the SDK has no on_thread_run_completed (or _created, _queued...); every thread.run.* event "
                "reaches on_thread_run, with the status in run.status",
                _steps(lambda steps: any(status is not None for _, _, status, _, _ in steps)
                       and len({str(held) for *_, held in steps}) == 1)),
        Mistake("the text came all at once, when the message completed: the reader needs the partial answer, so add each delta as it arrives",
                _steps(lambda steps: any(text and held == "" for _, text, _, held, _ in steps) and steps[-1][3] == steps[-1][1] != "")),
        Mistake("keep the run's status (run.status), not the ThreadRun object",
                _steps(lambda steps: any(isinstance(held, ThreadRun) for *_, held in steps))),
    )


@exercise("7.2", hint=(
    "in __init__: super().__init__(); self.text = ''; self.status = None. def on_message_delta(self, delta): self.text += delta.text. "
    "def on_thread_run(self, run): self.status = run.status (a RunStatus, which compares equal to its string)"
))
def check_run_watcher(watcher_class: type) -> Iterator[Case]:
    cases = [
        ("a text run", GUIDE, [1], False),
        ("a run delivered in chunks cut mid-event and mid-character", GUIDE, [0], True),
        ("a tool round: two HTTP streams, requires_action in between", DESK, [0, 1], False),
    ]
    for name, recording, streams, cut in cases:
        bodies = recorded_streams(recording)
        chunked = [awkward_chunks(bodies[i]) if cut else [bodies[i]] for i in streams]
        yield Case(
            name,
            run=lambda chunked=chunked: _watch_run(watcher_class, chunked),
            verify=_verify_watched,
            hint="after every event, text must be the answer streamed so far and status the run's latest status",
            mistakes=watcher_mistakes(),
        )
