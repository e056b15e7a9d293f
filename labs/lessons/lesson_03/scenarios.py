"""Lesson 03: parallel tool calls whose arguments arrive in fragments, then the follow-up answer.

The wire carries raw UTF-8 (the service writes "東京" as the characters themselves, never split inside
an SSE event), but the model's own argument text may spell a character as a JSON escape (`\\u00fc` for
"ü"), and a fragment boundary can fall inside that escape. `two_cities` records both. `whole_calls`
records what some OpenAI-compatible servers send instead: every call whole in its first delta,
arguments included (`"{}"` for a function without parameters), with no fragments after it.

`two_cities` is authored from the notebook (`make fixtures LESSON=03`): its prompt and tool are written once,
in the notebook's cells. `whole_calls` keeps its `run`: the notebook only replays it (exercise 3.1's checker
reads its chunks), and its wire form is another server's (`WholeCallsStandIn`), not the stand-in's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ... import clients
from ...reply import collect_reply
from ...replay import default_server
from ...replay.standins import OpenAIStandIn
from .. import Reply, Scenario, ToolCall, recorded_body

TIME_TOOL = {
    "type": "function",
    "function": {"name": "get_local_time", "description": "The local time at the trailhead.", "parameters": {"type": "object", "properties": {}}},
}
# What the notebook last sent, read from its fixture, for the unit tests and for `whole_calls`.
TWO_CITIES = recorded_body("03_streamed_tool_calls/two_cities")["messages"]
(WEATHER_TOOL,) = recorded_body("03_streamed_tool_calls/two_cities")["tools"]
SYSTEM = TWO_CITIES[0]
TRAILHEAD = [SYSTEM, {"role": "user", "content": "What time is it at the Chamonix trailhead, and what's the weather there?"}]

WEATHER = {
    "Zürich": {"city": "Zürich", "temperature_c": 9, "conditions": "light rain"},
    "東京": {"city": "東京", "temperature_c": 21, "conditions": "clear"},
    "Chamonix": {"city": "Chamonix", "temperature_c": 14, "conditions": "sunny"},
}

TWO_CITIES_ANSWER = (
    "Zürich has light rain and 9°C, so take a waterproof shell. Tokyo (東京) is clear and 21°C: "
    "a fine day for a walk, with a light layer for the evening."
)


def get_weather(city: str) -> dict[str, Any]:
    return WEATHER[city]


class WholeCallsStandIn(OpenAIStandIn):
    """The stand-in, sending each tool call whole in its first delta, as some compatible servers do."""

    async def _chat(self, request: Request) -> Response:
        reply = self.replies[0] if self.replies else None
        response = await super()._chat(request)
        if reply is not None and isinstance(response, StreamingResponse):
            response.body_iterator = self._whole(response.body_iterator, [call.arguments for call in reply.tool_calls])
        return response

    @staticmethod
    async def _whole(frames: AsyncIterator[Any], arguments: list[str]) -> AsyncIterator[bytes]:
        async for frame in frames:
            text = frame.decode("utf-8") if isinstance(frame, bytes) else str(frame)
            data = text.removeprefix("data: ").rstrip("\n")
            if data.startswith("{"):
                chunk = json.loads(data)
                for choice in chunk["choices"]:
                    for call in choice["delta"].get("tool_calls") or []:
                        if call.get("id"):
                            call["function"]["arguments"] = arguments[call["index"]]
                text = "data: " + json.dumps(chunk, separators=(",", ":"), ensure_ascii=False) + "\n\n"
            yield text.encode("utf-8")


def whole_calls() -> None:
    with WholeCallsStandIn() as standin, default_server().upstream("openai", standin.upstream_url):
        standin.script(
            Reply(
                tool_calls=[ToolCall("get_local_time", "{}", fragments=[]), ToolCall("get_weather", '{"city": "Chamonix"}', fragments=[])],
                first_token=0.5,
                gap=0.04,
            )
        )
        client = clients.openai_client()
        collect_reply(client.chat.completions.create(model=clients.model(), messages=TRAILHEAD, tools=[WEATHER_TOOL, TIME_TOOL], stream=True))
        if standin.replies:
            raise RuntimeError("whole_calls: the scripted reply was not requested")


SCENARIOS = [
    Scenario(
        "03_streamed_tool_calls/two_cities",
        "Two parallel get_weather calls, then the follow-up with both results and the streamed answer. Each call's "
        "first delta carries index, id and name with empty arguments; the fragments follow keyed by index. Zürich's "
        "arguments spell ü as the JSON escape \\u00fc and a fragment ends inside it ('Z\\u00' + 'fcrich'); "
        "東京's fragments split between its two characters. The SSE data itself is raw UTF-8.",
        [
            Reply(
                tool_calls=[
                    ToolCall("get_weather", '{"city": "Z\\u00fcrich"}', fragments=['{"ci', 'ty": "Z\\u00', 'fcrich"}']),
                    ToolCall("get_weather", '{"city": "東京"}', fragments=['{"city', '": "東', '京"}']),
                ],
                first_token=0.55,
                gap=0.035,
            ),
            Reply(text=TWO_CITIES_ANSWER, first_token=0.5, gap=0.03),
        ],
    ),
    Scenario(
        "03_streamed_tool_calls/whole_calls",
        "What some OpenAI-compatible servers send (OpenAI itself sends empty arguments first): two calls, each whole "
        "in its first delta with id, name and complete arguments, no fragments after. get_local_time takes no "
        "parameters, so its only arguments are '{}', in the same delta as its id. An accumulator that resets the "
        "arguments when an id arrives loses them.",
        [],
        whole_calls,  # kept: the notebook only replays it (exercise 3.1), in another server's wire form
    ),
]
