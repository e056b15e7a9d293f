"""Checks for lesson 06 (Azure AI Agents event handlers).

The learner's `tally` iterates streams the SDK parses from recorded bytes (`labs.azure_events.replay_into`):
a text run, the same kind of run delivered in chunks cut mid-event and mid-character, and a tool round whose
two HTTP streams are chained on one handler as the SDK chains them. The expected counts and text come from
the fixtures' events, not from the SDK.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from azure.ai.agents.models import AgentEventHandler

from ...azure_events import awkward_chunks, recorded_streams, replay_into
from ...checks import Case, Mistake, exercise
from ...recordings import fixture

GUIDE = "06_azure_event_handlers/trail_guide"
DESK = "07_azure_tools_and_async/weather_desk"


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
    """The typical wrong answers to 6.1 on one recording, recognised in the tally returned or the exception raised."""
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


@exercise("6.1", hint=(
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
