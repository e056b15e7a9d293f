"""Lesson 04: one agent question answered with two tool rounds, run two ways, and a round of broken calls.

`streamed_rounds` is the question with every round streamed. `blocking_rounds` is the same question
the way the course material runs it: each round without `stream` (progress lines between them), and
when a round comes back with no tool calls, its answer is thrown away and the question asked again,
streamed and without tools, to stream "the final answer". `broken_calls` is a round whose calls go
wrong in each way a tool runner must survive.

`streamed_rounds` and `blocking_rounds` are authored from the notebook (`make fixtures LESSON=04`): the
question and the tools are written once, in its cells. `broken_calls` keeps its `run`: the notebook never
asks it, its checkers (exercises 3.1, 4.1 and 4.2) only replay it.
"""

from __future__ import annotations

from typing import Any

from ... import clients
from ...reply import collect_reply
from .. import Reply, Scenario, ToolCall, recorded_body


def _tool(name: str, description: str, **properties: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {p: {"type": "string", "description": d} for p, d in properties.items()}, "required": list(properties)}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}


# What the notebook last sent, read from its fixture, for the unit tests.
QUESTION = recorded_body("04_tool_progress/streamed_rounds")["messages"]
TOOLS = recorded_body("04_tool_progress/streamed_rounds")["tools"]
SYSTEM = QUESTION[0]
MORE_TOOLS = [
    *TOOLS,
    _tool("get_avalanche_risk", "Today's avalanche bulletin for a massif.", massif="the massif"),
    _tool("book_hut", "Book a bed in a mountain hut.", hut="the hut", night="the night to book"),
]
PLAN = [
    SYSTEM,
    {"role": "user", "content": "Plan tomorrow's crossing: weather in Chamonix, the avalanche risk, a bed at Rifugio Elisabetta, and the Col de la Seigne's status."},
]

FORECASTS = {
    "Chamonix": {"city": "Chamonix", "forecast": "sunny morning, thunderstorms from mid-afternoon", "high_c": 19},
    "Courmayeur": {"city": "Courmayeur", "forecast": "clouding over, snow above 2500 m overnight", "high_c": 17},
}
TRAILS = {"Col de la Seigne": {"trail": "Col de la Seigne", "status": "open", "warning": "snow patches above 2400 m; microspikes advised"}}

ANSWER = (
    "Start early. Chamonix is sunny in the morning (19°C) but thunderstorms build from mid-afternoon, and "
    "Courmayeur clouds over (17°C) with snow above 2500 m overnight. The Col de la Seigne is **open**, with snow "
    "patches above 2400 m: pack microspikes and aim to be over the pass by early afternoon."
)
HIDDEN_ANSWER = (
    "Go early: Chamonix has a sunny morning (19°C) and thunderstorms from mid-afternoon, while Courmayeur "
    "clouds over (17°C) with snow above 2500 m overnight. The Col de la Seigne is **open**, but carry microspikes "
    "for the snow patches above 2400 m and cross before the storms."
)


def get_weather(city: str) -> dict[str, Any]:
    return FORECASTS[city]


def get_trail_status(trail: str) -> dict[str, Any]:
    return TRAILS[trail]


FUNCTIONS = {"get_weather": get_weather, "get_trail_status": get_trail_status}


def _tool_rounds() -> list[Reply]:
    weather = [ToolCall("get_weather", '{"city": "Chamonix"}'), ToolCall("get_weather", '{"city": "Courmayeur"}')]
    return [
        Reply(tool_calls=weather, first_token=0.7, gap=0.03),
        Reply(tool_calls=[ToolCall("get_trail_status", '{"trail": "Col de la Seigne"}')], first_token=0.65, gap=0.03),
    ]


def broken_calls() -> None:
    client = clients.openai_client()
    collect_reply(client.chat.completions.create(model=clients.model(), messages=PLAN, tools=MORE_TOOLS, max_completion_tokens=60, stream=True))


SCENARIOS = [
    Scenario(
        "04_tool_progress/streamed_rounds",
        "Every round streamed: two parallel get_weather calls, then get_trail_status, then the answer (about 70 "
        "chunks). The tool names arrive within a second of each request, long before the round ends, so a "
        "progress line can appear as soon as the model decides to call a tool.",
        [*_tool_rounds(), Reply(text=ANSWER, first_token=0.55, gap=0.03)],
    ),
    Scenario(
        "04_tool_progress/blocking_rounds",
        "The same question run the course material's way: three rounds without stream (JSON answers that arrive "
        "only when each round is complete), the third already holding a full answer, which is thrown away; then "
        "the question is asked again, streamed and without tools, and a different answer streams.",
        [*_tool_rounds(), Reply(text=HIDDEN_ANSWER, first_token=0.55, gap=0.03), Reply(text=ANSWER, first_token=0.55, gap=0.03)],
    ),
    Scenario(
        "04_tool_progress/broken_calls",
        "One round of four calls that go wrong in every way a tool runner must survive: get_weather is fine, "
        "get_avalanche_risk is a tool whose service will fail, book_hut is declared but (in the exercise) not "
        "registered, and get_trail_status's arguments are cut off mid-string by max_completion_tokens "
        "(finish_reason length), so they are not valid JSON.",
        [
            Reply(
                tool_calls=[
                    ToolCall("get_weather", '{"city": "Chamonix"}'),
                    ToolCall("get_avalanche_risk", '{"massif": "Mont Blanc"}'),
                    ToolCall("book_hut", '{"hut": "Rifugio Elisabetta", "night": "tomorrow"}'),
                    ToolCall("get_trail_status", '{"trail": "Col de la Se'),
                ],
                finish_reason="length",
                first_token=0.6,
                gap=0.03,
            )
        ],
        broken_calls,  # kept: no cell asks it; the checkers of exercises 3.1, 4.1 and 4.2 replay it
    ),
]
