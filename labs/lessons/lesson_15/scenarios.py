"""Lesson 15: one fixture of its own; the rest it replays from lesson 14 (labs/fixtures/14_resilience/).

Lesson 15 goes on from lesson 14 with the same recorded faults: the 429, the 500, the dropped, stalled and
malformed streams, the connection that keeps dropping, and the tool call whose arguments are not JSON. Its
cells ask `labs.fault_server()`, which serves every fixture folder in every mode. Those scenarios stay in
`labs/lessons/lesson_14/scenarios.py`, where lesson 14's checkers and lesson 16's (which reads that tool round as
a stream with no text) find them; `make fixtures LESSON=14` re-authors them.

Its own is the tool call exercise 15.1's check replays: arguments that parse but leave out a property the
schema requires. No cell asks it, so the scenario keeps a `run` that makes its one SDK call. Its question
differs from lesson 14's tool round, so the two recordings never answer each other's requests.
"""

from __future__ import annotations

from ... import clients
from ...toolcalls import accumulate_tool_calls
from .. import Reply, Scenario, ToolCall
from ..lesson_14.scenarios import FORECAST_TOOL, ask

FOLDER = "15_error_budgets_and_bad_tool_json"

MISSING_DAY = ask("Will it rain on Ben Nevis?")
MISSING_DAY_ARGUMENTS = '{"location": "Ben Nevis"}'


def missing_argument() -> None:
    client = clients.openai_client()
    with client.chat.completions.create(model=clients.model(), messages=MISSING_DAY, tools=[FORECAST_TOOL], stream=True) as stream:
        accumulate_tool_calls(stream)


SCENARIOS = [
    Scenario(
        f"{FOLDER}/missing_argument",
        "A tool call whose arguments are valid JSON but leave out `day`, which the tool's schema requires (the "
        "question names no day). Exercise 15.1's check replays it: the arguments must be refused, naming `day`.",
        [Reply(tool_calls=[ToolCall("get_forecast", MISSING_DAY_ARGUMENTS)])],
        missing_argument,
    ),
]
