"""Each real SDK streams a recorded scenario from the replay server and reassembles what was recorded."""

from __future__ import annotations

import json

import labs
from labs.lessons.sdk_smoke.scenarios import WEATHER_TOOL
from labs.replay.cassette import Cassette, load_cassette
from labs.config import FIXTURES_DIR


def fixture(name: str) -> Cassette:
    return load_cassette(FIXTURES_DIR / f"sdk_smoke/{name}.yaml")


def chat_text_of(cassette: Cassette, index: int = -1) -> str:
    chunks = [e.json() for e in cassette.interactions[index].response.events if isinstance(e.json(), dict)]
    return "".join((c["choices"][0]["delta"].get("content") or "") for c in chunks if c["choices"])


def responses_text_of(cassette: Cassette) -> str:
    return "".join(e.json()["delta"] for e in cassette.interactions[-1].response.events if e.event == "response.output_text.delta")


def test_openai_chat_completions_stream() -> None:
    client = labs.openai_client()
    stream = client.chat.completions.create(
        model=labs.model(),
        messages=[{"role": "user", "content": "In one sentence, what does streaming a model response mean?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == chat_text_of(fixture("chat_text")) and len(text) > 20
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_openai_chat_completions_tool_round() -> None:
    client = labs.openai_client()
    messages: list[dict] = [{"role": "user", "content": "What's the weather in Paris and in Tokyo?"}]
    calls: dict[int, dict] = {}
    for chunk in client.chat.completions.create(model=labs.model(), messages=messages, tools=[WEATHER_TOOL], stream=True):
        for tc in chunk.choices[0].delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            slot["id"] = tc.id or slot["id"]
            slot["name"] += tc.function.name or ""
            slot["arguments"] += tc.function.arguments or ""
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Tokyo"}),
    ]
    messages.append({"role": "assistant", "content": None, "tool_calls": [
        {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls.values()
    ]})
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": "sunny"} for c in calls.values()]
    stream = client.chat.completions.create(model=labs.model(), messages=messages, tools=[WEATHER_TOOL], stream=True)
    answer = "".join(c.choices[0].delta.content or "" for c in stream)
    assert answer == chat_text_of(fixture("chat_tool_round")) and "Tokyo" in answer


async def test_openai_agents_run_streamed_text() -> None:
    from agents import Agent, Runner
    from openai.types.responses import ResponseTextDeltaEvent

    client = labs.configure_agents_sdk()
    agent = Agent(name="Narrator", instructions="Answer in one short sentence.", model=labs.model())
    result = Runner.run_streamed(agent, "Describe a sunrise over the sea.")
    deltas = [e.data.delta async for e in result.stream_events() if e.type == "raw_response_event" and isinstance(e.data, ResponseTextDeltaEvent)]
    assert "".join(deltas) == responses_text_of(fixture("agents_text")) == result.final_output
    await client.close()


async def test_openai_agents_tool_call_and_output() -> None:
    from agents import Agent, Runner, function_tool

    rolled: list[int] = []

    @function_tool
    def roll_die(sides: int) -> int:
        """Roll a die with the given number of sides."""
        rolled.append(sides)
        return 14

    client = labs.configure_agents_sdk()
    agent = Agent(name="Game master", instructions="Use the tools to play.", tools=[roll_die], model=labs.model())
    result = Runner.run_streamed(agent, "Roll a d20 for my attack.")
    names = [e.name async for e in result.stream_events() if e.type == "run_item_stream_event"]
    assert rolled == [20]
    assert names.index("tool_called") < names.index("tool_output") < names.index("message_output_created")
    assert result.final_output == responses_text_of(fixture("agents_tool"))
    await client.close()


async def test_semantic_kernel_streaming_text() -> None:
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
    from semantic_kernel.contents import ChatHistory

    service = labs.sk_chat_completion()
    history = ChatHistory()
    history.add_user_message("Name three things to pack for a day hike.")
    chunks = [c async for c in service.get_streaming_chat_message_content(chat_history=history, settings=OpenAIChatPromptExecutionSettings())]
    assert "".join(c.content or "" for c in chunks) == chat_text_of(fixture("sk_text"))
    assert chunks[-1].metadata["usage"].completion_tokens > 0


async def test_semantic_kernel_auto_function_calling() -> None:
    from semantic_kernel import Kernel
    from semantic_kernel.connectors.ai import FunctionChoiceBehavior
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
    from semantic_kernel.contents import ChatHistory
    from semantic_kernel.functions import kernel_function

    asked: list[str] = []

    class Weather:
        @kernel_function(description="Current weather for a city.")
        def get_forecast(self, city: str) -> str:
            asked.append(city)
            return f"{city}: 21°C and sunny"

    kernel = Kernel()
    service = labs.sk_chat_completion()
    kernel.add_service(service)
    kernel.add_plugin(Weather(), plugin_name="weather")
    settings = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.Auto())
    history = ChatHistory()
    history.add_user_message("Is it a good day for a picnic in Lisbon?")
    chunks = [c async for c in service.get_streaming_chat_message_content(chat_history=history, settings=settings, kernel=kernel)]
    assert asked == ["Lisbon"]
    assert "".join(c.content or "" for c in chunks if c.role == "assistant") == chat_text_of(fixture("sk_function"))
