"""The real azure-ai-agents client, sync and async, replays the Azure fixtures through the replay server.

The lesson-level tests drive `runs.stream` as a learner does and compare what the SDK reassembled with
what the fixture recorded. The per-fixture test re-sends every recorded request through the client's own
pipeline and feeds each streamed body to the SDK's event parser, so a fixture the SDK cannot read fails
here, not in a notebook.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from azure.ai.agents.models import (
    Agent,
    AgentEventHandler,
    AgentThread,
    AsyncAgentEventHandler,
    AsyncFunctionTool,
    AsyncToolSet,
    FunctionTool,
    MessageDeltaChunk,
    MessageRole,
    RunStep,
    RunStepDeltaChunk,
    ThreadMessage,
    ThreadRun,
    ToolSet,
)
from azure.ai.agents.models._models import AgentDeletionStatus, ThreadDeletionStatus  # not re-exported: delete_* return None
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

import labs
from labs.lessons.sdk_azure import scenarios as sdk_azure
from labs.replay.cassette import Cassette, load_cassettes
from labs.config import FIXTURES_DIR

CASSETTES = load_cassettes([FIXTURES_DIR])
AZURE = [c for c in CASSETTES if c.surface == "azure"]
TEXT = next(c for c in AZURE if c.name == "sdk_smoke/azure_text")
TOOL_ROUND = next(c for c in AZURE if c.name == "sdk_smoke/azure_tool_round")

# What a handler sees for one text run, as (callback, status) with the deltas collapsed into one entry.
# thread.run.created and thread.run.queued both carry status "queued"; the step and the message each
# report in_progress twice (created, then in_progress).
DOCUMENTED_ORDER = [
    ("run", "queued"),  # thread.run.created
    ("run", "queued"),  # thread.run.queued
    ("run", "in_progress"),
    ("step", "in_progress"),  # thread.run.step.created (message_creation)
    ("step", "in_progress"),
    ("message", "in_progress"),  # thread.message.created
    ("message", "in_progress"),
    ("delta", ""),
    ("message", "completed"),
    ("step", "completed"),
    ("run", "completed"),
    ("done", ""),
]
DOCUMENTED_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta",
    "thread.message.completed",
    "thread.run.step.completed",
    "thread.run.completed",
    "done",
]


def collapse(items: list[Any], repeated: Any) -> list[Any]:
    """Runs of `repeated` become one entry, so a sequence can be compared whatever the number of deltas."""
    return [x for i, x in enumerate(items) if not (x == repeated and i and items[i - 1] == repeated)]


def recorded_events(cassette: Cassette) -> list[tuple[str, Any]]:
    return [(e.event or "", e.json()) for i in cassette.interactions for e in i.response.events or []]


def recorded_answer(cassette: Cassette) -> str:
    """The text of the last assistant message the fixture completed."""
    done = [data for name, data in recorded_events(cassette) if name == "thread.message.completed"]
    return "".join(part["text"]["value"] for part in done[-1]["content"] if part["type"] == "text")


def recorded_tool_calls(cassette: Cassette) -> list[tuple[str, str]]:
    runs = [data for name, data in recorded_events(cassette) if name == "thread.run.requires_action"]
    return [(c["function"]["name"], c["function"]["arguments"]) for c in runs[0]["required_action"]["submit_tool_outputs"]["tool_calls"]]


class Transcript(AgentEventHandler):
    """Writes down every callback, the streamed text and the tool calls as the step deltas build them."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []
        self.text = ""
        self.calls: dict[int, dict[str, str]] = {}
        self.required: list[tuple[str, str]] = []

    def on_thread_run(self, run: ThreadRun) -> None:
        self.seen.append(("run", run.status))
        if run.status == "requires_action":
            self.required = [(c.function.name, c.function.arguments) for c in run.required_action.submit_tool_outputs.tool_calls]

    def on_run_step(self, step: RunStep) -> None:
        self.seen.append(("step", step.status))

    def on_run_step_delta(self, delta: RunStepDeltaChunk) -> None:
        self.seen.append(("step_delta", ""))
        for call in delta.delta.step_details.tool_calls:
            slot = self.calls.setdefault(call.index, {"name": "", "arguments": ""})
            slot["name"] += call.function.name or ""
            slot["arguments"] += call.function.arguments or ""

    def on_thread_message(self, message: ThreadMessage) -> None:
        self.seen.append(("message", message.status))

    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.seen.append(("delta", ""))
        self.text += delta.text

    def on_done(self) -> None:
        self.seen.append(("done", ""))

    def on_unhandled_event(self, event_type: str, event_data: Any) -> None:
        self.seen.append(("unhandled", event_type))


# -- the lessons' calls ------------------------------------------------------------------------------


def test_text_stream_with_a_handler_subclass() -> None:
    handler = Transcript()
    with labs.azure_agents_client() as client:
        agent = client.create_agent(model=labs.azure_model(), **sdk_azure.NARRATOR)
        thread = client.threads.create()
        client.messages.create(thread_id=thread.id, role="user", content=sdk_azure.TEXT_QUESTION)
        with client.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=handler) as stream:
            stream.until_done()
        messages = list(client.messages.list(thread_id=thread.id))
        client.delete_agent(agent.id)

    assert handler.text == recorded_answer(TEXT)
    assert handler.seen.count(("delta", "")) > 5, "the answer should arrive in many deltas"
    assert collapse(handler.seen, ("delta", "")) == DOCUMENTED_ORDER
    assert handler.seen[-1] == ("done", "")
    # The thread now holds the question and the answer, newest first.
    assert [m.role for m in messages] == [MessageRole.AGENT, MessageRole.USER]
    assert messages[0].text_messages[-1].text.value == recorded_answer(TEXT)
    assert messages[1].text_messages[-1].text.value == sdk_azure.TEXT_QUESTION


def test_iterating_the_stream_without_a_handler() -> None:
    events: list[str] = []
    text = ""
    with labs.azure_agents_client() as client:
        agent = client.create_agent(model=labs.azure_model(), **sdk_azure.NARRATOR)
        thread = client.threads.create()
        client.messages.create(thread_id=thread.id, role="user", content=sdk_azure.TEXT_QUESTION)
        with client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
            for event_type, event_data, _ in stream:
                events.append(event_type)
                if isinstance(event_data, MessageDeltaChunk):
                    text += event_data.text
                elif isinstance(event_data, ThreadRun) and event_data.status == "completed":
                    assert event_data.usage.total_tokens > 0

    assert collapse(events, "thread.message.delta") == DOCUMENTED_EVENTS
    assert text == recorded_answer(TEXT)


async def test_async_client_with_an_async_handler() -> None:
    class AsyncTranscript(AsyncAgentEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, str]] = []
            self.text = ""

        async def on_thread_run(self, run: ThreadRun) -> None:
            self.seen.append(("run", run.status))

        async def on_run_step(self, step: RunStep) -> None:
            self.seen.append(("step", step.status))

        async def on_thread_message(self, message: ThreadMessage) -> None:
            self.seen.append(("message", message.status))

        async def on_message_delta(self, delta: MessageDeltaChunk) -> None:
            self.seen.append(("delta", ""))
            self.text += delta.text

        async def on_done(self) -> None:
            self.seen.append(("done", ""))

    handler = AsyncTranscript()
    async with labs.async_azure_agents_client() as client:
        agent = await client.create_agent(model=labs.azure_model(), **sdk_azure.NARRATOR)
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content=sdk_azure.TEXT_QUESTION)
        async with await client.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=handler) as stream:
            await stream.until_done()
        roles = [m.role async for m in client.messages.list(thread_id=thread.id)]
        await client.delete_agent(agent.id)

    assert handler.text == recorded_answer(TEXT)
    assert collapse(handler.seen, ("delta", "")) == DOCUMENTED_ORDER
    assert roles == [MessageRole.AGENT, MessageRole.USER]


def traced(function: Callable[..., str], calls: list[dict[str, Any]]) -> Callable[..., str]:
    """The same tool (name, signature, docstring: the same definition on the wire), noting each call."""

    @functools.wraps(function)
    def wrapper(**kwargs: Any) -> str:
        calls.append(kwargs)
        return function(**kwargs)

    return wrapper


def test_tool_round_is_run_and_submitted_by_the_sdk() -> None:
    calls: list[dict[str, Any]] = []
    toolset = ToolSet()
    toolset.add(FunctionTool({traced(sdk_azure.get_weather, calls)}))
    handler = Transcript()
    with labs.azure_agents_client() as client:
        client.enable_auto_function_calls(toolset)
        agent = client.create_agent(model=labs.azure_model(), toolset=toolset, **sdk_azure.FORECASTER)
        thread = client.threads.create()
        client.messages.create(thread_id=thread.id, role="user", content=sdk_azure.WEATHER_QUESTION)
        with client.runs.stream(thread_id=thread.id, agent_id=agent.id, event_handler=handler) as stream:
            stream.until_done()
        last = client.messages.get_last_message_text_by_role(thread_id=thread.id, role=MessageRole.AGENT)
        client.delete_agent(agent.id)

    expected_calls = recorded_tool_calls(TOOL_ROUND)
    assert len(expected_calls) == 2, "the fixture should hold two parallel calls"
    assert handler.required == expected_calls
    assert [(c["name"], c["arguments"]) for _, c in sorted(handler.calls.items())] == expected_calls
    assert calls == [json.loads(arguments) for _, arguments in expected_calls], "the SDK itself should have run the tool"
    assert handler.text == recorded_answer(TOOL_ROUND)
    assert last is not None and last.text.value == recorded_answer(TOOL_ROUND)
    # One HTTP stream per request: the first ends at requires_action, the continuation at run completed.
    assert handler.seen.count(("done", "")) == 2
    assert handler.seen.index(("run", "requires_action")) < handler.seen.index(("run", "completed"))


async def test_async_tool_round() -> None:
    calls: list[dict[str, Any]] = []
    toolset = AsyncToolSet()
    toolset.add(AsyncFunctionTool({traced(sdk_azure.get_weather, calls)}))
    text = ""
    async with labs.async_azure_agents_client() as client:
        client.enable_auto_function_calls(toolset)
        agent = await client.create_agent(model=labs.azure_model(), toolset=toolset, **sdk_azure.FORECASTER)
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content=sdk_azure.WEATHER_QUESTION)
        async with await client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
            async for _, event_data, _ in stream:
                if isinstance(event_data, MessageDeltaChunk):
                    text += event_data.text
        await client.delete_agent(agent.id)

    assert sorted(c["city"] for c in calls) == ["Paris", "Tokyo"]
    assert text == recorded_answer(TOOL_ROUND)


# -- every Azure fixture, request by request ---------------------------------------------------------

_STREAM_MODELS: list[tuple[str, type]] = [
    ("thread.run.step.delta", RunStepDeltaChunk),
    ("thread.run.step.", RunStep),
    ("thread.run.", ThreadRun),
    ("thread.message.delta", MessageDeltaChunk),
    ("thread.message.", ThreadMessage),
]
_JSON_MODELS: list[tuple[str, str, type]] = [
    ("POST", r"/assistants", Agent),
    ("GET", r"/assistants/[^/]+", Agent),
    ("DELETE", r"/assistants/[^/]+", AgentDeletionStatus),
    ("POST", r"/threads", AgentThread),
    ("GET", r"/threads/[^/]+", AgentThread),
    ("DELETE", r"/threads/[^/]+", ThreadDeletionStatus),
    ("POST", r"/threads/[^/]+/messages", ThreadMessage),
    ("GET", r"/threads/[^/]+/messages/[^/]+", ThreadMessage),
    ("POST", r"/threads/[^/]+/runs(/[^/]+/(submit_tool_outputs|cancel))?", ThreadRun),
    ("GET", r"/threads/[^/]+/runs/[^/]+", ThreadRun),
]


def check_stream_event(where: str, event_type: str, obj: Any) -> None:
    """The SDK built the right model for the event, and the fields handlers read deserialize."""
    expected = next((model for prefix, model in _STREAM_MODELS if event_type.startswith(prefix)), str)
    assert isinstance(obj, expected), f"{where}: {event_type} parsed as {type(obj).__name__}, not {expected.__name__}"
    if isinstance(obj, ThreadRun):
        assert obj.id and obj.thread_id and obj.agent_id and obj.created_at, f"{where}: {event_type} lacks ids or created_at"
        assert obj.status in {"queued", "in_progress", "requires_action", "cancelling", "cancelled", "failed", "completed", "expired", "incomplete"}
        if obj.status == "requires_action":
            for call in obj.required_action.submit_tool_outputs.tool_calls:
                assert call.id and call.function.name, f"{where}: a required tool call has no id or name"
                json.loads(call.function.arguments)
        if obj.status == "completed":
            assert obj.usage is not None and obj.usage.total_tokens > 0, f"{where}: a completed run should carry usage"
    elif isinstance(obj, RunStep):
        assert obj.step_details.type == obj.type, f"{where}: step_details.type differs from the step type"
        if obj.type == "message_creation":
            assert obj.step_details.message_creation.message_id
        else:
            for call in obj.step_details.tool_calls:
                assert call.function.name is not None
        if obj.status == "completed":
            assert obj.usage is not None and obj.usage.total_tokens > 0, f"{where}: a completed step should carry usage"
    elif isinstance(obj, ThreadMessage):
        assert obj.role and obj.status and obj.created_at
        if obj.status == "completed":
            assert obj.text_messages, f"{where}: a completed message has no text"
    elif isinstance(obj, MessageDeltaChunk):
        assert isinstance(obj.text, str)
    elif isinstance(obj, RunStepDeltaChunk):
        for call in obj.delta.step_details.tool_calls:
            assert isinstance(call.index, int)
    elif event_type == "done":
        assert obj == "[DONE]"


def check_json_body(where: str, method: str, path: str, body: Any) -> None:
    if method == "GET" and re.fullmatch(r"/threads/[^/]+/messages", path):
        assert body["object"] == "list"
        for item in body["data"]:
            message = ThreadMessage(item)
            assert message.role and message.created_at and isinstance(message.text_messages, list)
        return
    model = next((m for verb, pattern, m in _JSON_MODELS if verb == method and re.fullmatch(pattern, path)), None)
    if model is not None:
        obj = model(body)
        assert obj.id, f"{where}: the {model.__name__} has no id"


@pytest.mark.parametrize("cassette", AZURE, ids=lambda c: c.name)
def test_every_azure_fixture_parses_in_the_sdk(cassette: Cassette) -> None:
    with labs.azure_agents_client() as client:
        api_version = client._config.api_version  # what the SDK puts in every request's query
        for n, interaction in enumerate(cassette.interactions, start=1):
            where = f"{cassette.where} request {n}"
            recorded = interaction.request
            request = HttpRequest(
                recorded.method,
                recorded.path,
                params={"api-version": api_version},
                json=recorded.body,
                headers={"Accept": "application/json"},
            )
            response = client.send_request(request, stream=True)
            assert response.status_code == interaction.response.status, f"{where}: {response.read()[:300]!r}"
            if interaction.response.events is None:
                body = json.loads(response.read())
                assert body == interaction.response.body, f"{where}: the replay server served another recording"
                if response.status_code == 200:
                    check_json_body(where, recorded.method, recorded.path, body)
                continue
            # The SDK's own SSE splitter and event parser, with no tool execution behind requires_action.
            handler = AgentEventHandler()
            handler.initialize(response.iter_bytes(), lambda run, handler, retry: [])
            parsed = [(event_type, obj) for event_type, obj, _ in handler]
            assert [t for t, _ in parsed] == [e.event for e in interaction.response.events], f"{where}: events differ from the fixture"
            for event_type, obj in parsed:
                check_stream_event(where, event_type, obj)
            assert parsed[-1][0] == "done", f"{where}: an Azure stream must end with event: done"


def test_the_per_fixture_check_catches_a_broken_event() -> None:
    # The check above must fail on what a broken fixture would hold: a run event the SDK reads as a string.
    with pytest.raises(AssertionError, match="parsed as str"):
        check_stream_event("broken.yaml", "thread.run.completed", "not json")
    with pytest.raises(AssertionError, match="usage"):
        check_stream_event("broken.yaml", "thread.run.completed", ThreadRun({"id": "run_1", "thread_id": "t", "assistant_id": "a", "created_at": 1, "status": "completed"}))


# -- a miss ------------------------------------------------------------------------------------------


def test_a_replay_miss_is_the_sdks_own_http_error_and_says_what_differed() -> None:
    with labs.azure_agents_client() as client:
        with pytest.raises(HttpResponseError) as caught:
            client.create_agent(model=labs.azure_model(), name=sdk_azure.NARRATOR["name"], instructions="Answer in haiku.")
    message = str(caught.value)
    assert caught.value.status_code == 404
    assert "labs/fixtures" in message
    assert "sdk_smoke/azure_text" in message, message
    assert "`instructions`" in message and "Answer in haiku." in message, message
