"""Lessons 07 and 09 through the real azure-ai-agents client, sync and async, and every Azure fixture request by request.

The lesson tests make the notebooks' calls and compare what the SDK reassembled with what the fixtures
recorded. The per-fixture tests re-send every recorded request of every Azure fixture through the async
client's own pipeline (tests/test_azure_replay.py does the same with the sync client) and parse each
streamed body with `AsyncAgentEventHandler`, whole and cut at awkward byte offsets. Lesson 08's polling is
tested in tests/test_lesson_08_polling.py.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from azure.ai.agents.models import (
    AgentEventHandler,
    AsyncAgentEventHandler,
    AsyncFunctionTool,
    AsyncToolSet,
    FunctionTool,
    MessageDeltaChunk,
    MessageRole,
    RunStep,
    ThreadMessage,
    ThreadRun,
    ToolSet,
)
from azure.core.rest import HttpRequest

import labs
from labs.lessons.lesson_07 import scenarios as guide
from labs.lessons.lesson_09 import scenarios as desk
from labs.azure_events import awkward_chunks
from labs.replay.cassette import Cassette, load_cassettes
from labs.checks import check
from labs.config import FIXTURES_DIR
from labs.recordings import fixture
from tests.azure_support import answers, ask

AZURE = [c for c in load_cassettes([FIXTURES_DIR]) if c.surface == "azure"]
GUIDE = "07_azure_event_handlers/trail_guide"
DESK = "09_azure_tools_and_async/weather_desk"
TEXT_RUN = [
    "thread.run.created", "thread.run.queued", "thread.run.in_progress",
    "thread.run.step.created", "thread.run.step.in_progress",
    "thread.message.created", "thread.message.in_progress", "thread.message.delta",
    "thread.message.completed", "thread.run.step.completed", "thread.run.completed", "done",
]  # fmt: skip


def collapse(items: list[str], repeated: str = "thread.message.delta") -> list[str]:
    return [x for i, x in enumerate(items) if not (x == repeated and i and items[i - 1] == repeated)]


class Noting(AgentEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []
        self.text = ""

    def on_thread_run(self, run: ThreadRun) -> str:
        self.calls.append(("run", run.status))
        return run.status

    def on_run_step(self, step: RunStep) -> None:
        self.calls.append(("step", step.status))

    def on_thread_message(self, message: ThreadMessage) -> None:
        self.calls.append(("message", message.status))

    def on_message_delta(self, delta: MessageDeltaChunk) -> str:
        self.text += delta.text
        return delta.text

    def on_done(self) -> None:
        self.calls.append(("done", ""))


# -- lesson 07 ------------------------------------------------------------------------------------------


def test_lesson_07_every_callback_then_the_event_order_then_a_silent_recipe() -> None:
    with labs.azure_agents_client() as client:
        agent = client.create_agent(model=labs.azure_model(), **guide.GUIDE)
        noting = Noting()
        thread_id = ask(client, guide.PREPARE_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=noting) as stream:
            stream.until_done()
        roles = [m.role for m in client.messages.list(thread_id=thread_id)]

        thread_id = ask(client, guide.ORDER_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=Noting()) as stream:
            arrivals = [(event_type, returned) for event_type, _, returned in stream]

        class Recipe(AgentEventHandler):
            def on_message_delta(self, delta: MessageDeltaChunk) -> None:
                raise AttributeError("as delta.text.value does")

        thread_id = ask(client, guide.RECIPE_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=Recipe()) as stream:
            silent = [event_type for event_type, _, _ in stream]

    recorded = answers(GUIDE)
    assert noting.text == recorded[0] and "—" in noting.text
    assert noting.calls[:3] == [("run", "queued"), ("run", "queued"), ("run", "in_progress")] and noting.calls[-2:] == [("run", "completed"), ("done", "")]
    assert roles == [MessageRole.AGENT, MessageRole.USER]
    assert collapse([event_type for event_type, _ in arrivals]) == TEXT_RUN
    assert "".join(r for t, r in arrivals if t == "thread.message.delta") == recorded[1], "the iteration hands back each callback's return value"
    assert collapse(silent) == TEXT_RUN, "a callback that raises loses its events but not the stream"


async def test_lesson_07_with_the_async_client() -> None:
    class AsyncNoting(AsyncAgentEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.text = ""

        async def on_message_delta(self, delta: MessageDeltaChunk) -> None:
            self.text += delta.text

    async with labs.async_azure_agents_client() as client:
        agent = await client.create_agent(model=labs.azure_model(), **guide.GUIDE)
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content=guide.ORDER_QUESTION)
        noting = AsyncNoting()
        async with await client.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=noting) as stream:
            events = [event_type async for event_type, _, _ in stream]

    assert collapse(events) == TEXT_RUN and noting.text == answers(GUIDE)[1]


# -- lesson 09 ------------------------------------------------------------------------------------------


def traced(function: Callable[..., str], calls: list[dict[str, Any]]) -> Callable[..., str]:
    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> str:
        calls.append(kwargs)
        return function(**kwargs)

    return wrapper


def required_calls(name: str) -> list[dict[str, Any]]:
    events = [e for i in fixture(name).interactions for e in i.response.events or []]
    return [
        json.loads(c["function"]["arguments"])
        for e in events
        if e.event == "thread.run.requires_action"
        for c in e.json()["required_action"]["submit_tool_outputs"]["tool_calls"]
    ]


def desk_toolset(calls: list[dict[str, Any]]) -> ToolSet:
    toolset = ToolSet()
    toolset.add(FunctionTool({traced(desk.get_weather, calls)}))
    return toolset


def test_lesson_09_automatic_calls_nobody_submitting_and_iterating_without_a_handler() -> None:
    calls: list[dict[str, Any]] = []
    toolset = desk_toolset(calls)
    with labs.azure_agents_client() as client, labs.azure_agents_client() as plain:
        client.enable_auto_function_calls(toolset)
        agent = client.create_agent(model=labs.azure_model(), toolset=toolset, **desk.DESK)
        noting = Noting()
        thread_id = ask(client, desk.UMBRELLA_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=noting) as stream:
            stream.until_done()

        thread_id = ask(client, desk.OSLO_QUESTION)
        with plain.runs.stream(thread_id=thread_id, agent_id=agent.id) as stream:
            abandoned = [(event_type, data) for event_type, data, _ in stream]
        run_id = abandoned[0][1].id
        waiting = plain.runs.get(thread_id=thread_id, run_id=run_id)
        cancelled = plain.runs.cancel(thread_id=thread_id, run_id=run_id)

        thread_id = ask(client, desk.WARMER_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id) as stream:
            iterated = [(event_type, data) for event_type, data, _ in stream]

    expected = required_calls(DESK)
    recorded = answers(DESK)
    # Required: Bergen and Seville (run 1), Oslo (run 2, never submitted), Lisbon and Oslo (run 3), Amsterdam (async).
    assert len(expected) == 6
    assert calls == expected[:2] + expected[3:5], "the SDK ran the functions of runs 1 and 3, and nothing ran run 2's"
    assert noting.text == recorded[0] and noting.calls.count(("done", "")) == 2
    assert [t for t, _ in abandoned[-2:]] == ["thread.run.requires_action", "done"]
    assert waiting.status == "requires_action" and cancelled.status == "cancelling"
    assert iterated[0][0] == "thread.run.created" and run_id.startswith("run_")
    assert "".join(d.text for t, d in iterated if isinstance(d, MessageDeltaChunk)) == recorded[1]
    assert [t for t, _ in iterated].count("done") == 2


async def test_lesson_09_with_the_async_client() -> None:
    calls: list[dict[str, Any]] = []
    toolset = AsyncToolSet()
    toolset.add(AsyncFunctionTool({traced(desk.get_weather, calls)}))
    async with labs.async_azure_agents_client() as client:
        client.enable_auto_function_calls(toolset)
        agent = await client.create_agent(model=labs.azure_model(), toolset=toolset, **desk.DESK)
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content=desk.BIKE_QUESTION)
        async with await client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
            events = [(event_type, data) async for event_type, data, _ in stream]
        await client.delete_agent(agent.id)

    assert calls == [{"city": "Amsterdam"}]
    assert "".join(d.text for _, d in events if isinstance(d, MessageDeltaChunk)) == answers(DESK)[-1]
    assert [t for t, _ in events].count("done") == 2


# -- the exercise checks ----------------------------------------------------------------------------------


def test_check_6_1_passes_a_tally_and_says_what_a_wrong_one_missed() -> None:
    def tally(stream: AgentEventHandler) -> tuple[dict[str, int], str]:
        counts: dict[str, int] = {}
        text = ""
        for event_type, data, _ in stream:
            counts[event_type] = counts.get(event_type, 0) + 1
            text += data.text if isinstance(data, MessageDeltaChunk) else ""
        return counts, text

    def first_stream_only(stream: AgentEventHandler) -> tuple[dict[str, int], str]:
        counts, text = {}, ""
        for event_type, data, _ in stream:
            counts[event_type] = counts.get(event_type, 0) + 1
            text += data.text if isinstance(data, MessageDeltaChunk) else ""
            if event_type == "done":
                break
        return counts, text

    def recipe_text(stream: AgentEventHandler) -> tuple[dict[str, int], str]:
        return {}, "".join(data.text.value for _, data, _ in stream if isinstance(data, MessageDeltaChunk))

    def untouched(stream: AgentEventHandler) -> tuple[dict[str, int], str]:
        raise NotImplementedError("Exercise 7.1: complete tally. Hint: iterate the stream")

    assert check("7.1", tally).status == "passed"
    broken = check("7.1", first_stream_only)
    assert [c.passed for c in broken.cases] == [True, True, False]
    assert "done: 1 instead of 2" in broken.cases[2].message
    assert "AttributeError" in check("7.1", recipe_text).cases[0].message
    assert check("7.1", untouched).status == "not_done"


def test_check_7_1_passes_the_solution_and_names_each_way_to_get_it_wrong() -> None:
    class NeverSubmits(desk.ToolRunner):
        def on_thread_run(self, run: ThreadRun) -> None:
            return None

    class AnotherHandler(desk.ToolRunner):
        def on_thread_run(self, run: ThreadRun) -> None:
            runner = desk.ToolRunner(self.client, self.functions.values())
            desk.ToolRunner.on_thread_run(runner, run)  # submits, but streams the rest into `runner`

    class NoStatusCheck(desk.ToolRunner):
        def on_thread_run(self, run: ThreadRun) -> None:
            run.required_action.submit_tool_outputs  # noqa: B018  (None while the run is in progress)

    class Untouched(desk.ToolRunner):
        def on_thread_run(self, run: ThreadRun) -> None:
            raise NotImplementedError("Exercise 9.1: complete on_thread_run. Hint: submit")

    assert check("9.1", desk.ToolRunner).status == "passed"
    never = check("9.1", NeverSubmits)
    assert [c.passed for c in never.cases] == [True, False, False]
    assert "nothing ran and no answer streamed" in never.cases[1].message
    another = check("9.1", AnotherHandler)
    assert not another.cases[1].passed and "pass event_handler=self" in another.cases[1].message
    assert "AttributeError" in check("9.1", NoStatusCheck).cases[0].message
    assert check("9.1", Untouched).status == "not_done"


# -- every Azure fixture, request by request, through the async client ----------------------------------


async def parse_async(chunks: AsyncIterator[bytes]) -> list[tuple[str, Any]]:
    handler = AsyncAgentEventHandler()

    async def submit_nothing(run: ThreadRun, handler: Any, retry: bool) -> list[Any]:
        return []

    handler.initialize(chunks, submit_nothing)
    return [(event_type, obj) async for event_type, obj, _ in handler]


async def from_list(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.parametrize("cassette", AZURE, ids=lambda c: c.name)
async def test_every_azure_fixture_replays_through_the_async_client(cassette: Cassette) -> None:
    async with labs.async_azure_agents_client() as client:
        api_version = client._config.api_version
        for n, interaction in enumerate(cassette.interactions, start=1):
            where = f"{cassette.where} request {n}"
            recorded = interaction.request
            request = HttpRequest(recorded.method, recorded.path, params={"api-version": api_version}, json=recorded.body, headers={"Accept": "application/json"})
            response = await client.send_request(request, stream=True)
            assert response.status_code == interaction.response.status, where
            if interaction.response.events is None:
                assert json.loads(await response.read()) == interaction.response.body, f"{where}: the replay server served another recording"
                continue
            body = b""

            async def arrive() -> AsyncIterator[bytes]:
                nonlocal body
                async for chunk in response.iter_bytes():
                    body += chunk
                    yield chunk

            parsed = await parse_async(arrive())
            assert [t for t, _ in parsed] == [e.event for e in interaction.response.events], f"{where}: events differ from the fixture"
            assert parsed[-1] == ("done", "[DONE]"), f"{where}: an Azure stream ends with event: done / data: [DONE]"
            if max(body) >= 0xC0:
                cut = await parse_async(from_list(awkward_chunks(body)))
                assert [(t, repr(o)) for t, o in cut] == [(t, repr(o)) for t, o in parsed], f"{where}: cut at awkward offsets, the stream parses differently"
