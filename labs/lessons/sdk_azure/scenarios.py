"""The Azure AI Agents smoke scenarios: `runs.stream` with an event handler, with and without a tool round.

Each scenario makes the calls a lesson makes with `azure-ai-agents`: create an agent, a thread and a
message, stream a run through an `AgentEventHandler`, read the thread's messages, delete the agent.
"""

from __future__ import annotations

import json

from ... import clients
from .. import Reply, Scenario
from ..sdk_smoke.scenarios import WEATHER, WEATHER_QUESTION, weather_round

__all__ = ["FORECASTER", "NARRATOR", "SCENARIOS", "TEXT_QUESTION", "WEATHER_QUESTION", "get_weather"]

# What the lessons send; replay matches requests on these, so tests import them rather than retyping them.
NARRATOR = {"name": "narrator", "instructions": "Answer in one short sentence."}
TEXT_QUESTION = "What does it mean to stream an agent's answer?"
FORECASTER = {"name": "forecaster", "instructions": "Use get_weather for every city the user names, then answer in one sentence."}


def get_weather(city: str) -> str:
    """Current weather for a city.

    :param city: The city to look up, for example "Paris".
    :return: The weather as a JSON string.
    """
    return json.dumps({"city": city, "weather": WEATHER.get(city, "unknown")})


def azure_text() -> None:
    from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk

    class Printer(AgentEventHandler):
        def on_message_delta(self, delta: MessageDeltaChunk) -> None:
            print(delta.text, end="", flush=True)

    with clients.azure_agents_client() as client:
        agent = client.create_agent(model=clients.azure_model(), **NARRATOR)
        thread = client.threads.create()
        client.messages.create(thread_id=thread.id, role="user", content=TEXT_QUESTION)
        with client.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=Printer()) as stream:
            stream.until_done()
        print()
        for message in client.messages.list(thread_id=thread.id):
            print(f"{message.role}: {message.text_messages[-1].text.value}")
        client.delete_agent(agent.id)


def azure_tool_round() -> None:
    from azure.ai.agents.models import AgentEventHandler, FunctionTool, MessageDeltaChunk, MessageRole, ToolSet

    class Printer(AgentEventHandler):
        def on_message_delta(self, delta: MessageDeltaChunk) -> None:
            print(delta.text, end="", flush=True)

    toolset = ToolSet()
    toolset.add(FunctionTool({get_weather}))
    with clients.azure_agents_client() as client:
        client.enable_auto_function_calls(toolset)
        agent = client.create_agent(model=clients.azure_model(), toolset=toolset, **FORECASTER)
        thread = client.threads.create()
        client.messages.create(thread_id=thread.id, role="user", content=WEATHER_QUESTION)
        with client.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=Printer()) as stream:
            stream.until_done()
        print()
        last = client.messages.get_last_message_text_by_role(thread_id=thread.id, role=MessageRole.AGENT)
        print(last.text.value if last else "(no answer)")
        client.delete_agent(agent.id)


SCENARIOS = [
    Scenario(
        "sdk_smoke/azure_text",
        "azure-ai-agents runs.stream with an AgentEventHandler: the run goes created (status queued) → queued → "
        "in_progress, a message_creation step wraps thread.message.created/in_progress, the text deltas and "
        "thread.message.completed, then step and run complete with usage, and the stream ends with event: done / "
        "data: [DONE]. Listing the messages afterwards takes two GETs: the SDK pages on last_id until a page is empty.",
        [Reply(text="Streaming means the agent's answer reaches you in small pieces as the model writes it, instead of all at once.")],
        azure_text,
        surface="azure",
    ),
    Scenario(
        "sdk_smoke/azure_tool_round",
        "azure-ai-agents automatic function calling while streaming: the first run stream has a tool_calls step whose "
        "thread.run.step.delta events name two parallel get_weather calls and stream their arguments in fragments, "
        "then thread.run.requires_action and done. The SDK runs get_weather itself and POSTs submit_tool_outputs "
        "with stream=true; that continuation stream opens with the tool step completed (outputs filled in), queues "
        "the run again and streams the final answer. get_last_message_text_by_role reads only the first page.",
        weather_round(""),  # the Azure model writes its arguments without spaces
        azure_tool_round,
        surface="azure",
    ),
]
