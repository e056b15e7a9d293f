"""One small scenario per SDK, so a unit test can prove each real SDK parses what the replay server sends."""

from __future__ import annotations

import json

from ... import clients
from .. import Reply, Scenario, ToolCall

__all__ = ["SCENARIOS", "WEATHER", "WEATHER_ANSWER", "WEATHER_QUESTION", "WEATHER_TOOL", "weather_round"]

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

# The tool round both surfaces record: Chat Completions here, Azure AI Agents in `sdk_azure`.
WEATHER_QUESTION = "What's the weather in Paris and in Tokyo?"
WEATHER = {"Paris": "18°C, light rain", "Tokyo": "24°C, clear"}
WEATHER_ANSWER = "Paris is 18°C with light rain, so bring an umbrella; Tokyo is 24°C and clear."


def weather_round(space: str) -> list[Reply]:
    """Two parallel get_weather calls, Tokyo's split inside the key, then the answer; `space` follows each colon of the arguments."""
    return [
        Reply(
            tool_calls=[
                ToolCall("get_weather", f'{{"city":{space}"Paris"}}'),
                ToolCall("get_weather", f'{{"city":{space}"Tokyo"}}', fragments=['{"ci', f'ty":{space}"To', 'kyo"}']),
            ]
        ),
        Reply(text=WEATHER_ANSWER),
    ]


def chat_text() -> None:
    client = clients.openai_client()
    stream = client.chat.completions.create(
        model=clients.model(),
        messages=[{"role": "user", "content": "In one sentence, what does streaming a model response mean?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    for _ in stream:
        pass


def chat_tool_round() -> None:
    client = clients.openai_client()
    messages: list[dict] = [{"role": "user", "content": WEATHER_QUESTION}]
    stream = client.chat.completions.create(model=clients.model(), messages=messages, tools=[WEATHER_TOOL], stream=True)
    calls: dict[int, dict] = {}
    for chunk in stream:
        for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] = tc.id or slot["id"]
            slot["name"] += tc.function.name or ""
            slot["arguments"] += tc.function.arguments or ""
    messages.append(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls.values()
            ],
        }
    )
    for c in calls.values():
        city = json.loads(c["arguments"])["city"]
        messages.append({"role": "tool", "tool_call_id": c["id"], "content": WEATHER[city]})
    for _ in client.chat.completions.create(model=clients.model(), messages=messages, tools=[WEATHER_TOOL], stream=True):
        pass


async def agents_text() -> None:
    from agents import Agent, Runner

    client = clients.configure_agents_sdk()
    agent = Agent(name="Narrator", instructions="Answer in one short sentence.", model=clients.model())
    result = Runner.run_streamed(agent, "Describe a sunrise over the sea.")
    async for _ in result.stream_events():
        pass
    await client.close()


async def agents_tool() -> None:
    from agents import Agent, Runner, function_tool

    @function_tool
    def roll_die(sides: int) -> int:
        """Roll a die with the given number of sides."""
        return 14

    client = clients.configure_agents_sdk()
    agent = Agent(name="Game master", instructions="Use the tools to play.", tools=[roll_die], model=clients.model())
    result = Runner.run_streamed(agent, "Roll a d20 for my attack.")
    async for _ in result.stream_events():
        pass
    await client.close()


async def sk_text() -> None:
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
    from semantic_kernel.contents import ChatHistory

    service = clients.sk_chat_completion()
    history = ChatHistory()
    history.add_user_message("Name three things to pack for a day hike.")
    async for _ in service.get_streaming_chat_message_content(chat_history=history, settings=OpenAIChatPromptExecutionSettings()):
        pass
    await service.client.close()


async def sk_function() -> None:
    from semantic_kernel import Kernel
    from semantic_kernel.connectors.ai import FunctionChoiceBehavior
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
    from semantic_kernel.contents import ChatHistory
    from semantic_kernel.functions import kernel_function

    class Weather:
        @kernel_function(description="Current weather for a city.")
        def get_forecast(self, city: str) -> str:
            return f"{city}: 21°C and sunny"

    kernel = Kernel()
    service = clients.sk_chat_completion()
    kernel.add_service(service)
    kernel.add_plugin(Weather(), plugin_name="weather")
    settings = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.Auto())
    history = ChatHistory()
    history.add_user_message("Is it a good day for a picnic in Lisbon?")
    async for _ in service.get_streaming_chat_message_content(chat_history=history, settings=settings, kernel=kernel):
        pass
    await service.client.close()


SCENARIOS = [
    Scenario(
        "sdk_smoke/chat_text",
        "The smallest Chat Completions stream: a role chunk, text deltas, a finish chunk, the usage chunk "
        "(choices: []) that stream_options.include_usage asks for, then [DONE].",
        [Reply(text="Streaming means the model's answer arrives token by token as it is generated, so you can show it before it is finished.")],
        chat_text,
    ),
    Scenario(
        "sdk_smoke/chat_tool_round",
        "A full tool round over Chat Completions: two parallel get_weather calls whose arguments arrive in fragments "
        "keyed by index (the first fragment of Tokyo's splits inside the key), then the follow-up request with both tool "
        "results and the streamed answer. No usage chunk: the request did not ask for one.",
        weather_round(" "),
        chat_tool_round,
    ),
    Scenario(
        "sdk_smoke/agents_text",
        "openai-agents over the Responses API: the full event sequence from response.created to response.completed, "
        "which the runner needs to finish.",
        [Reply(text="The sun lifts out of the sea, gilding every wave.")],
        agents_text,
    ),
    Scenario(
        "sdk_smoke/agents_tool",
        "openai-agents with a function tool: the first response is a roll_die function call (arguments streamed as "
        "response.function_call_arguments.delta), the second request carries its function_call_output.",
        [Reply(tool_calls=[ToolCall("roll_die", '{"sides":20}')]), Reply(text="You rolled a 14: your attack hits!")],
        agents_tool,
    ),
    Scenario(
        "sdk_smoke/sk_text",
        "semantic-kernel streaming: it always asks for include_usage, so the stream ends with a usage chunk that SK turns "
        "into an empty message carrying metadata['usage'].",
        [Reply(text="Water, a warm layer and a map.")],
        sk_text,
    ),
    Scenario(
        "sdk_smoke/sk_function",
        "semantic-kernel automatic function calling while streaming: the tool is named weather-get_forecast on the wire "
        "(plugin-function), the kernel runs it, and the second request streams the answer.",
        [
            Reply(tool_calls=[ToolCall("weather-get_forecast", '{"city":"Lisbon"}')]),
            Reply(text="Yes: Lisbon is 21°C and sunny, a fine day for a picnic."),
        ],
        sk_function,
    ),
]
