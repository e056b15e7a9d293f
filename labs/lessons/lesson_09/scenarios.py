"""Lesson 09: function tools while streaming (automatic, never submitted, iterated), the async client, and the manual submitter.

`weather_desk` is authored from the notebook (`make fixtures LESSON=09`): the agent, its instructions and the
questions are written once, in the notebook's cells; the names the unit tests and exercise 9.2's check use
(`DESK`, the questions) are read from its fixture. The two `manual_*` scenarios keep their `run`: they are
the runs exercise 9.1's check makes with the learner's handler, against a replay server of its own, so the
notebook only replays them. `manual_round` drives them, here with `ToolRunner` (the exercise's solution) to
record them, and in `labs.lessons.lesson_09.checks` with the learner's class, so both send the same requests.
Tool outputs are `ToolOutput` objects, as the lesson teaches, so the recorded `tool_outputs` entries carry
`"type": "function_call_output"`; the automatic path sends plain dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk, SubmitToolOutputsAction, ThreadRun, ToolOutput

from ... import clients
from ...config import FIXTURES_DIR
from ...replay import load_cassette
from .. import Reply, Scenario, ToolCall

__all__ = [
    "BIKE_QUESTION",
    "DESK",
    "MANUAL_CASES",
    "ManualCase",
    "OSLO_QUESTION",
    "SCENARIOS",
    "ToolRunner",
    "UMBRELLA_QUESTION",
    "WARMER_QUESTION",
    "WEATHER",
    "get_weather",
    "manual_round",
]

WEATHER_DESK = "09_azure_tools_and_async/weather_desk"
_RECORDED = load_cassette(FIXTURES_DIR / f"{WEATHER_DESK}.yaml").interactions
# What the notebook last sent, read from its fixture: the agent and the questions, in the notebook's order.
DESK = {key: _RECORDED[0].request.body[key] for key in ("name", "instructions")}
UMBRELLA_QUESTION, OSLO_QUESTION, WARMER_QUESTION, BIKE_QUESTION = [
    i.request.body["content"] for i in _RECORDED if i.request.method == "POST" and i.request.path.endswith("/messages")
]
WEATHER = {
    "Amsterdam": "16°C, dry, light breeze",
    "Bergen": "11°C, steady rain",
    "Lisbon": "21°C, sunny",
    "Oslo": "4°C, sleet",
    "Seville": "27°C, sunny",
}


def get_weather(city: str) -> str:
    """Current weather for a city.

    :param city: The city's name, for example "Bergen".
    :return: The weather as a JSON string.
    """
    return json.dumps({"city": city, "weather": WEATHER.get(city, "unknown")})


def _weather_calls(*cities: str) -> Reply:
    return Reply(tool_calls=[ToolCall("get_weather", json.dumps({"city": city}, separators=(",", ":"))) for city in cities])


def _ask(client: Any, question: str) -> str:
    thread = client.threads.create()
    client.messages.create(thread_id=thread.id, role="user", content=question)
    return thread.id


# -- exercise 9.1 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ManualCase:
    """One run the 9.1 check streams through the learner's handler, and what the stand-in answered."""

    scenario: str
    description: str
    agent: dict[str, str]
    question: str
    replies: list[Reply] = field(default_factory=list)


MANUAL_CASES = [
    ManualCase(
        "09_azure_tools_and_async/manual_parallel",
        "two calls in one required action",
        {"name": "weather-desk-by-hand", "instructions": DESK["instructions"]},
        "Compare the weather in Bergen and in Lisbon.",
        [_weather_calls("Bergen", "Lisbon"), Reply(text="Bergen is 11°C in steady rain, while Lisbon is sunny and 21°C.")],
    ),
    ManualCase(
        "09_azure_tools_and_async/manual_two_rounds",
        "a second required action in the continuation stream",
        {"name": "weather-desk-one-by-one", "instructions": "Call get_weather for one city at a time, then answer in one sentence."},
        "Where is it warmer right now, Seville or Amsterdam?",
        [_weather_calls("Seville"), _weather_calls("Amsterdam"), Reply(text="Seville, at 27°C and sunny; Amsterdam is 16°C.")],
    ),
]


def manual_round(client: Any, case: ManualCase, handler: Any, model: str) -> Any:
    """Create the case's agent (tool definitions only: nothing runs them automatically), stream one run through `handler`."""
    from azure.ai.agents.models import FunctionTool, ToolSet

    toolset = ToolSet()
    toolset.add(FunctionTool({get_weather}))
    agent = client.create_agent(model=model, toolset=toolset, **case.agent)
    try:
        thread_id = _ask(client, case.question)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=handler) as stream:
            stream.until_done()
    finally:
        client.delete_agent(agent.id)
    return handler


class ToolRunner(AgentEventHandler):
    """Exercise 9.1's solution: on requires_action, run the functions and submit their outputs on this same handler."""

    def __init__(self, client: Any, functions: Iterable[Callable[..., Any]]) -> None:
        super().__init__()
        self.client = client
        self.functions = {function.__name__: function for function in functions}
        self.text = ""

    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.text += delta.text

    def on_thread_run(self, run: ThreadRun) -> None:
        if run.status == "requires_action" and isinstance(run.required_action, SubmitToolOutputsAction):
            outputs = [
                ToolOutput(tool_call_id=call.id, output=self.functions[call.function.name](**json.loads(call.function.arguments)))
                for call in run.required_action.submit_tool_outputs.tool_calls
            ]
            self.client.runs.submit_tool_outputs_stream(thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs, event_handler=self)


def _record_manual(case: ManualCase) -> Callable[[], None]:
    def run() -> None:
        with clients.azure_agents_client() as client:
            handler = manual_round(client, case, ToolRunner(client, {get_weather}), clients.azure_model())
        if not handler.text:
            raise RuntimeError(f"{case.scenario}: the run streamed no answer")

    return run


SCENARIOS = [
    Scenario(
        WEATHER_DESK,
        "One agent with a get_weather function tool, four runs in the notebook's order. Run 1: automatic function "
        "calling (enable_auto_function_calls): two parallel calls stream as thread.run.step.delta fragments, the run "
        "stops at requires_action, the SDK POSTs submit_tool_outputs (plain dicts, no type) with stream=true and the "
        "continuation streams the answer. Run 2: a client without automatic calls and a handler that submits "
        "nothing: the stream ends at requires_action + done, GET shows the run still requires_action, then it is "
        "cancelled (answered with status cancelling). Run 3: the same automatic round, iterated without a handler. "
        "Run 4: the async client, one call, with an AsyncAgentEventHandler.",
        [
            _weather_calls("Bergen", "Seville"),
            Reply(text="Pack it for Bergen: 11°C and steady rain. Seville is sunny and 27°C, so you won't need it there."),
            _weather_calls("Oslo"),
            _weather_calls("Lisbon", "Oslo"),
            Reply(text="Lisbon, by far: 21°C and sunny, against 4°C and sleet in Oslo."),
            _weather_calls("Amsterdam"),
            Reply(text="Yes: Amsterdam is dry at 16°C with a light breeze, good weather for a ride."),
        ],
        surface="azure",
    ),
    # Kept as runs: exercise 9.1's check streams these through the learner's handler against a replay server of
    # its own, so no cell of the notebook makes their requests; recorded here with the exercise's solution.
    *[
        Scenario(
            case.scenario,
            f"Exercise 9.1's check, {case.description}: a client without automatic function calls streams the run "
            "through a handler that, on thread.run.requires_action, runs get_weather and calls "
            "submit_tool_outputs_stream with ToolOutput objects (so each output carries type function_call_output) "
            "and event_handler=self; each continuation stream is chained onto the same handler.",
            case.replies,
            _record_manual(case),
            surface="azure",
        )
        for case in MANUAL_CASES
    ],
]
