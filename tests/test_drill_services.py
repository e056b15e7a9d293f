"""The drill services play the live services: the real SDKs, in live mode through the project's client factories,
get healthy answers of the drill's own (never a fixture's), tool rounds, the options they ask for, over https.

Each test sets the environment `drill_services()` gives, with monkeypatch, then builds its client with the same
factory a notebook uses, so the live code path is what runs. aiohttp reads `SSL_CERT_FILE` once, at import, so
the async Azure client is tried in a fresh interpreter started with the drill's environment, as a kernel is.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import openai
import pytest
from azure.ai.agents.models import AgentEventHandler, FunctionTool, MessageDeltaChunk, MessageRole, SubmitToolOutputsAction, ThreadRun, ToolOutput, ToolSet
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
from semantic_kernel.contents import AuthorRole, ChatHistory
from semantic_kernel.functions import kernel_function

import labs
from labs.config import FIXTURES_DIR
from labs.replay import load_cassettes
from labs.replay.standins.drill import Conversation, DrillAzure, DrillModel, DrillOpenAI, DrillServices, drill_services
from tests.azure_support import ask

SEED = 31
FAST = {"openai_pace": 0.01, "azure_pace": 0.01}
CASSETTES = load_cassettes([FIXTURES_DIR])
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"]},
    },
}
TRAIL_TOOL = {"type": "function", "function": {"name": "get_trail", "parameters": {"type": "object", "properties": {"trail": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 3}}, "required": ["trail", "days"]}}}
ASK = [{"role": "system", "content": "You are an outdoor gear advisor."}, {"role": "user", "content": "What should I pack for a day in the hills?"}]


def weather(city: str, unit: str = "celsius") -> str:
    """What the tests' weather tool returns."""
    return json.dumps({"city": city, "conditions": "drizzle", "temperature": "6 °C"}, ensure_ascii=False)


@pytest.fixture(scope="module")
def drill() -> Iterator[DrillServices]:
    with drill_services(SEED, **FAST) as services:
        yield services


@pytest.fixture
def live(drill: DrillServices, monkeypatch: pytest.MonkeyPatch) -> DrillServices:
    for name in drill.cleared:
        monkeypatch.delenv(name, raising=False)
    for name, value in drill.environment.items():
        monkeypatch.setenv(name, value)
    return drill


def fixture_texts() -> tuple[set[str], set[str]]:
    """Every answer text the fixtures hold, reassembled, and every tool-call argument string."""
    texts, arguments = set(), set()
    for cassette in CASSETTES:
        for interaction in cassette.interactions:
            events = [e.json() for e in interaction.response.events or []]
            chat = "".join((c.get("delta") or {}).get("content") or "" for e in events if isinstance(e, dict) for c in e.get("choices") or [])
            texts.add(chat)
            for e in filter(lambda e: isinstance(e, dict), events):
                if e.get("type") == "response.output_text.done":
                    texts.add(e["text"])
                if e.get("type") == "response.function_call_arguments.done":
                    arguments.add(e["arguments"])
                if e.get("object") == "thread.message" and e.get("content"):
                    texts.add(e["content"][0]["text"]["value"])
                for call in ((e.get("required_action") or {}).get("submit_tool_outputs") or {}).get("tool_calls") or []:
                    arguments.add(call["function"]["arguments"])
            streamed: dict[int, str] = {}
            for c in (c for e in events if isinstance(e, dict) for c in e.get("choices") or []):
                for tc in (c.get("delta") or {}).get("tool_calls") or []:
                    streamed[tc["index"]] = streamed.get(tc["index"], "") + (tc["function"].get("arguments") or "")
            arguments.update(streamed.values())
    return texts - {""}, arguments - {"{}"}  # a tool without parameters is called with {} by anyone


def sentences(text: str) -> set[str]:
    return {s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if len(s.split()) >= 6}


def accumulate(chunks: list[Any]) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                call = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = call["id"] or tc.id or ""
                call["name"] = call["name"] or tc.function.name or ""
                call["arguments"] += tc.function.arguments or ""
    return calls


# -- OpenAI Chat Completions ------------------------------------------------------------------------


def test_a_streamed_chat_answer_reassembles_and_has_the_blocking_answers_shape(live: DrillServices) -> None:
    client = labs.openai_client()
    assert str(client.base_url).startswith("https://127.0.0.1")
    chunks = list(client.chat.completions.create(model=labs.model(), messages=ASK, stream=True))
    blocking = client.chat.completions.create(model=labs.model(), messages=ASK)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant" and text.strip() and any(ord(ch) > 127 for ch in text)
    assert chunks[-1].choices[0].finish_reason == "stop" and len({c.id for c in chunks}) == 1
    assert blocking.object == "chat.completion" and blocking.choices[0].finish_reason == "stop" and blocking.choices[0].message.content.strip()


def test_a_chat_tool_round_calls_offered_tools_then_quotes_their_output(live: DrillServices) -> None:
    client, messages = labs.openai_client(), list(ASK)
    chunks = list(client.chat.completions.create(model=labs.model(), messages=messages, tools=[WEATHER_TOOL, TRAIL_TOOL], stream=True))
    calls = accumulate(chunks)
    assert chunks[-1].choices[0].finish_reason == "tool_calls" and 1 <= len(calls) <= 2
    offered = {"get_weather": WEATHER_TOOL, "get_trail": TRAIL_TOOL}
    for call in calls.values():
        arguments = json.loads(call["arguments"])
        assert call["id"].startswith("call_") and set(arguments) >= set(offered[call["name"]]["function"]["parameters"]["required"])
    messages.append({"role": "assistant", "tool_calls": [{"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls.values()]})
    outputs = [weather(**json.loads(c["arguments"])) if c["name"] == "get_weather" else "open, snow above 2400 m" for c in calls.values()]
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": out} for c, out in zip(calls.values(), outputs)]
    answer = list(client.chat.completions.create(model=labs.model(), messages=messages, tools=[WEATHER_TOOL, TRAIL_TOOL], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in answer)
    assert answer[-1].choices[0].finish_reason == "stop" and all(out in text for out in outputs)


def test_usage_comes_last_with_no_choices_and_adds_up(live: DrillServices) -> None:
    chunks = list(labs.openai_client().chat.completions.create(model=labs.model(), messages=ASK, stream=True, stream_options={"include_usage": True}))
    *answer, last = chunks
    assert last.choices == [] and last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None and c.choices for c in answer)


def test_max_completion_tokens_cuts_the_answer_with_finish_reason_length(live: DrillServices) -> None:
    chunks = list(labs.openai_client().chat.completions.create(model=labs.model(), messages=ASK, max_completion_tokens=8, stream=True, stream_options={"include_usage": True}))
    assert chunks[-2].choices[0].finish_reason == "length" and chunks[-1].usage.completion_tokens == 8


def test_n_choices_tool_choice_and_parallel_tool_calls_are_honoured(live: DrillServices) -> None:
    client, tools = labs.openai_client(), [WEATHER_TOOL, TRAIL_TOOL]
    two = client.chat.completions.create(model=labs.model(), messages=ASK, n=2)
    assert [c.index for c in two.choices] == [0, 1] and two.choices[0].message.content != two.choices[1].message.content
    chunks = list(client.chat.completions.create(model=labs.model(), messages=ASK, n=2, stream=True))
    texts = ["".join(c.choices[0].delta.content or "" for c in chunks if c.choices[0].index == i) for i in (0, 1)]
    assert all(texts) and [c.choices[0].index for c in chunks[:2]] == [0, 1]  # the two choices arrive interleaved
    assert client.chat.completions.create(model=labs.model(), messages=ASK, tools=tools, tool_choice="none").choices[0].message.tool_calls is None
    named = client.chat.completions.create(model=labs.model(), messages=ASK, tools=tools, tool_choice={"type": "function", "function": {"name": "get_trail"}})
    assert {c.function.name for c in named.choices[0].message.tool_calls} == {"get_trail"}
    for question in ("Where next?", "Which pass?", "How far?", "Which hut?", "When?", "Why?"):
        single = client.chat.completions.create(model=labs.model(), messages=[{"role": "user", "content": question}], tools=tools, parallel_tool_calls=False)
        assert len(single.choices[0].message.tool_calls) == 1


def test_strict_pydantic_validation_accepts_every_answer(live: DrillServices) -> None:
    client = labs.openai_client(_strict_response_validation=True)
    assert client.chat.completions.create(model=labs.model(), messages=ASK).choices[0].message.content
    list(client.chat.completions.create(model=labs.model(), messages=ASK, tools=[WEATHER_TOOL], stream=True, stream_options={"include_usage": True}))
    response = client.responses.create(model=labs.model(), input="Where should I hike?", tools=[{"type": "function", **WEATHER_TOOL["function"]}])
    events = list(client.responses.create(model=labs.model(), input="Where should I hike?", stream=True))
    assert response.output[0].type == "reasoning" and {item.type for item in response.output[1:]} == {"function_call"}
    assert events[-1].type == "response.completed" and events[-1].response.output_text.strip()


def test_the_service_refuses_a_wrong_key_and_a_tool_result_without_a_call(live: DrillServices) -> None:
    with pytest.raises(openai.AuthenticationError):
        labs.openai_client(api_key="drill-some-other-credential").chat.completions.create(model=labs.model(), messages=ASK)
    with pytest.raises(openai.BadRequestError, match="preceeding message with 'tool_calls'"):
        labs.openai_client().chat.completions.create(model=labs.model(), messages=[*ASK, {"role": "tool", "tool_call_id": "call_x", "content": "?"}])


# -- Responses, openai-agents, semantic-kernel ---------------------------------------------------------


def test_max_output_tokens_makes_the_response_incomplete(live: DrillServices) -> None:
    response = labs.openai_client().responses.create(model=labs.model(), input="Describe a long walk.", max_output_tokens=24)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[0].type == "reasoning" and response.usage.output_tokens == 24


async def test_the_agents_runner_streams_a_reasoning_item_a_tool_round_and_a_final_output(live: DrillServices) -> None:
    import agents
    from agents import Agent, Runner, function_tool

    client = labs.configure_agents_sdk()
    agents.set_tracing_disabled(True)  # live mode exports traces to api.openai.com; the drill is not that
    rolled: list[int] = []

    @function_tool
    def roll_die(sides: int) -> int:
        """Roll a die with the given number of sides."""
        rolled.append(sides)
        return 4

    result = Runner.run_streamed(Agent(name="Game master", instructions="Roll for every skill check.", tools=[roll_die], model=labs.model()), "I climb the wall.")
    events = [event async for event in result.stream_events()]
    await client.close()
    names = [e.name for e in events if e.type == "run_item_stream_event"]
    added = [e.data for e in events if e.type == "raw_response_event" and e.data.type == "response.output_item.added"]
    assert "reasoning_item_created" in names and names.index("tool_called") < names.index("tool_output") and rolled
    assert added[0].item.type == "reasoning" and added[0].output_index == 0 and added[1].output_index == 1
    assert result.final_output and "4" in result.final_output


async def test_semantic_kernel_streams_text_and_runs_an_automatic_function_round(live: DrillServices) -> None:
    asked: list[str] = []

    class Weather:
        @kernel_function(description="Tomorrow's weather forecast for a city.")
        def get_forecast(self, city: Annotated[str, "The city"]) -> str:
            asked.append(city)
            return f"{city}: 3 °C and clear"

    service, kernel = labs.sk_chat_completion(), Kernel()
    kernel.add_service(service)
    kernel.add_plugin(Weather(), plugin_name="weather")
    history = ChatHistory(system_message="You are an outdoor gear advisor.")
    history.add_user_message("What should I look for in a hiking backpack?")
    chunks = [c async for c in service.get_streaming_chat_message_content(chat_history=history, settings=OpenAIChatPromptExecutionSettings())]
    assert "".join(c.content for c in chunks).strip() and chunks[-1].metadata.get("usage")
    auto = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.Auto())
    history.add_user_message("And the weather tomorrow?")
    chunks = [c async for c in service.get_streaming_chat_message_content(chat_history=history, settings=auto, kernel=kernel)]
    answer = "".join(c.content for c in chunks if c.role == AuthorRole.ASSISTANT and c.function_invoke_attempt == 1)
    assert asked and all(f"{city}: 3 °C and clear" in answer for city in asked)


# -- Azure AI Agents ------------------------------------------------------------------------------------

DOCUMENTED = ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created", "thread.run.step.in_progress",
              "thread.message.created", "thread.message.in_progress", "thread.message.delta", "thread.message.completed",
              "thread.run.step.completed", "thread.run.completed", "done"]  # fmt: skip


class Collector(AgentEventHandler):
    """Keeps the text and the run statuses; with `client`, submits tool outputs itself (exercise 9.1's way)."""

    def __init__(self, client: Any = None) -> None:
        super().__init__()
        self.client, self.text, self.statuses, self.outputs = client, "", [], []

    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.text += delta.text

    def on_thread_run(self, run: ThreadRun) -> None:
        self.statuses.append(run.status.value)
        if self.client is not None and run.status == "requires_action" and isinstance(run.required_action, SubmitToolOutputsAction):
            calls = run.required_action.submit_tool_outputs.tool_calls
            outputs = [ToolOutput(tool_call_id=c.id, output=weather(**json.loads(c.function.arguments))) for c in calls]
            self.outputs += [o.output for o in outputs]
            self.client.runs.submit_tool_outputs_stream(thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs, event_handler=self)


def test_azure_streams_a_text_run_in_the_documented_order_over_https(live: DrillServices) -> None:
    with labs.azure_agents_client() as client:
        assert client._config.endpoint.startswith("https://127.0.0.1")  # noqa: SLF001  (the live factory's endpoint)
        agent = client.create_agent(model=labs.azure_model(), name="guide", instructions="Answer in two or three short sentences.")
        thread_id, handler = ask(client, "What should I check before a mountain hike?"), Collector()
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=handler) as stream:
            names = [event_type for event_type, _, _ in stream]
        latest = client.messages.get_last_message_text_by_role(thread_id=thread_id, role=MessageRole.AGENT)
        client.delete_agent(agent.id)
    assert [n for i, n in enumerate(names) if n != "thread.message.delta" or names[i - 1] != n] == DOCUMENTED
    assert handler.text.strip() and latest.text.value == handler.text and agent.id.startswith("asst_") and len(agent.id) == 29


def test_azure_tool_rounds_automatic_and_submitted_by_the_handler(live: DrillServices) -> None:
    toolset = ToolSet()
    toolset.add(FunctionTool({weather}))
    with labs.azure_agents_client() as client, labs.azure_agents_client() as plain:
        client.enable_auto_function_calls(toolset)
        agent = client.create_agent(model=labs.azure_model(), toolset=toolset, name="desk", instructions="Use weather for every city.")
        automatic = Collector()
        with client.runs.stream(thread_id=ask(client, "Is it cold in the Alps?"), agent_id=agent.id, event_handler=automatic) as stream:
            stream.until_done()
        manual = Collector(plain)
        with plain.runs.stream(thread_id=ask(plain, "And by the sea?"), agent_id=agent.id, event_handler=manual) as stream:
            stream.until_done()
        client.delete_agent(agent.id)
    for handler in (automatic, manual):
        assert "requires_action" in handler.statuses and handler.statuses[-1] == "completed" and handler.text.strip()
    assert manual.outputs and all(output in manual.text for output in manual.outputs)


def test_azure_polling_sees_the_run_progress_in_wall_clock_time(monkeypatch: pytest.MonkeyPatch) -> None:
    with drill_services(SEED, openai_pace=0, azure_pace=0.25) as services:
        for name in services.cleared:
            monkeypatch.delenv(name, raising=False)
        for name, value in services.environment.items():
            monkeypatch.setenv(name, value)
        with labs.azure_agents_client() as client:
            agent = client.create_agent(model=labs.azure_model(), name="poller", instructions="Be brief.")
            thread_id = ask(client, "How do I read contour lines?")
            started = time.perf_counter()
            created = client.runs.create(thread_id=thread_id, agent_id=agent.id)
            early = client.runs.get(thread_id=thread_id, run_id=created.id)
            run = client.runs.create_and_process(thread_id=ask(client, "And hachures?"), agent_id=agent.id, polling_interval=0.05)
            elapsed = time.perf_counter() - started
            reply = client.messages.get_last_message_text_by_role(thread_id=run.thread_id, role=MessageRole.AGENT)
    assert early.status in ("queued", "in_progress") and run.status == "completed" and reply.text.value.strip()
    assert elapsed > 0.8 * 2.0 * 0.25  # the first step comes about 2 s (scaled by the pace) after the run starts


def test_the_async_azure_client_trusts_the_drill_through_ssl_cert_file(drill: DrillServices) -> None:
    script = """
import asyncio, json, labs
from azure.ai.agents.models import AsyncAgentEventHandler, FunctionTool

def weather(city: str) -> str:
    \"\"\"Weather for a city.

    :param city: The city.
    :return: The weather.
    \"\"\"
    return city + ": 2 °C, fog"

async def main():
    async with labs.async_azure_agents_client() as client:
        client.enable_auto_function_calls({weather})
        agent = await client.create_agent(model=labs.azure_model(), name="async", tools=FunctionTool({weather}).definitions)
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content="Foggy?")
        async with await client.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=AsyncAgentEventHandler()) as stream:
            events = [(kind, getattr(data, "text", None)) async for kind, data, _ in stream]
        await client.delete_agent(agent.id)
    await client._config.credential.close()
    print(json.dumps(events))

asyncio.run(main())
"""
    environment = {k: v for k, v in os.environ.items() if k not in drill.cleared} | drill.environment
    done = subprocess.run([sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    events = json.loads(done.stdout.strip().splitlines()[-1])
    kinds, text = [k for k, _ in events], "".join(t for k, t in events if k == "thread.message.delta")
    assert kinds.count("done") == 2 and "thread.run.requires_action" in kinds and kinds[-2] == "thread.run.completed"
    assert ": 2 °C, fog" in text


def test_without_the_drills_ca_bundle_the_sync_client_refuses_the_certificate(live: DrillServices, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with labs.azure_agents_client() as client, pytest.raises(Exception, match="(?i)certificate"):
        client.create_agent(model=labs.azure_model(), name="untrusted")


# -- never a fixture's words, timing or arguments; the same seed, the same answers ------------------------


def test_the_drill_paces_answers_unlike_the_fixtures() -> None:
    recorded = [i.response.events for c in CASSETTES if c.surface == "openai" for i in c.interactions if i.response.events and not i.response.fault]
    drilled = [DrillModel(SEED).answer(Conversation(key=f"pace-{n}")).pace.delays(60) for n in range(60)]  # type: ignore[union-attr]
    recorded_gaps = [b.t - a.t for events in recorded for a, b in zip(events, events[1:])]
    drilled_gaps = [gap for delays in drilled for gap in delays[1:]]
    assert statistics.median(d[0] for d in drilled) > 1.25 * statistics.median(e[0].t for e in recorded)
    assert statistics.median(drilled_gaps) < 0.5 * statistics.median(recorded_gaps)
    bursts = [sum(g < 0.003 for g in gaps) / len(gaps) for gaps in (drilled_gaps, recorded_gaps)]  # tokens sharing one network read
    assert bursts[0] > 0.1 and bursts[1] < 0.01


def test_no_drill_answer_repeats_a_fixture(live: DrillServices) -> None:
    texts, arguments = fixture_texts()
    recorded = set().union(*map(sentences, texts))
    assert len(texts) > 40 and len(recorded) > 60
    client, answers, drilled_arguments = labs.openai_client(), [], []
    for cassette in (c for c in CASSETTES if c.surface == "openai"):
        for interaction in cassette.interactions:
            body = {**interaction.request.body, "stream": False}
            body.pop("stream_options", None)
            if interaction.request.path.endswith("/chat/completions"):
                message = client.chat.completions.create(**body).choices[0].message
                answers.append(message.content or "")
                drilled_arguments += [c.function.arguments for c in message.tool_calls or []]
            else:
                response = client.responses.create(**body)
                answers.append(response.output_text)
                drilled_arguments += [item.arguments for item in response.output if item.type == "function_call"]
    with labs.azure_agents_client() as azure:
        for cassette in (c for c in CASSETTES if c.surface == "azure"):
            bodies = [i.request.body or {} for i in cassette.interactions if i.request.method == "POST"]
            instructions = next((b.get("instructions") for b in bodies if "model" in b), "") or ""
            for question in [b["content"] for b in bodies if isinstance(b.get("content"), str)]:
                agent = azure.create_agent(model=labs.azure_model(), name="fixture-check", instructions=instructions)
                run = azure.runs.create_and_process(thread_id=ask(azure, question), agent_id=agent.id, polling_interval=0.02)
                answers.append(azure.messages.get_last_message_text_by_role(thread_id=run.thread_id, role=MessageRole.AGENT).text.value)
                azure.delete_agent(agent.id)
    assert len([a for a in answers if a]) > 40
    assert not texts & set(answers)
    assert not recorded & set().union(*map(sentences, answers))
    assert len(arguments) > 5 and drilled_arguments and not arguments & set(drilled_arguments)


async def test_the_same_seed_gives_the_same_answers_and_another_seed_others() -> None:
    async def answers(seed: int) -> list[Any]:
        openai_drill, azure_drill = DrillOpenAI(seed=seed, pace=0), DrillAzure(seed=seed, pace=0)
        out: list[Any] = []
        headers = {"Authorization": f"Bearer {openai_drill.api_key}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=openai_drill.app), base_url="http://drill/v1", headers=headers) as http:
            for question in ("What should I pack?", "Plan a two-day walk.", "What should I pack?"):
                body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}], "tools": [WEATHER_TOOL] if "walk" in question else []}
                out.append((await http.post("/chat/completions", json=body)).json()["choices"][0]["message"])
            out.append((await http.post("/responses", json={"model": "gpt-5", "input": "Describe a ridge walk."})).json()["output"][1]["content"][0]["text"])
        headers = {"Authorization": f"Bearer {azure_drill.token}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=azure_drill.app), base_url=f"http://drill{azure_drill.base_path}", headers=headers) as http:
            agent = (await http.post("/assistants", json={"model": azure_drill.deployment, "instructions": "Be brief."})).json()
            thread = (await http.post("/threads", json={"messages": [{"role": "user", "content": "Fog on the ridge?"}]})).json()
            await http.post(f"/threads/{thread['id']}/runs", json={"assistant_id": agent["id"], "stream": True})
            out.append((await http.get(f"/threads/{thread['id']}/messages")).json()["data"][0]["content"])
        return out

    first, again, other = await answers(5), await answers(5), await answers(6)
    assert first == again and first[0] != first[2]  # asked twice in one run, the model words it differently
    assert all(a != b for a, b in zip(first, other))
