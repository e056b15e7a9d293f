"""Four backends behind one web page: each streams an answer through a real SDK as typed events.

The page does not care which SDK answers. Each backend turns its SDK's own stream into the same three
events (`TextDeltaEvent`, `ToolStart`, `ToolComplete` from `labs.web.events`), running its tool round the
way that SDK does it:

- `chat`: `client.chat.completions.create(..., stream=True)` with a function tool; the tool round is
  ours, with `labs.toolcalls` (accumulate the call by index, run it, send the result, stream again).
- `agents`: `Runner.run_streamed` (openai-agents over the Responses API); the runner calls the tool.
- `azure`: `client.runs.stream` (azure-ai-agents, async) over an agent, a thread and a message created
  for the request; the SDK submits the tool outputs itself (`enable_auto_function_calls`).
- `sk`: `get_streaming_chat_message_content` (semantic-kernel) with automatic function calling.

Why each stream sits inside `async with`: when the browser goes away, the relay closes the backend's
generator, and the SDK's HTTP response and client must close with it, at once. An `async for` alone
would leave the upstream request running (and, live, billing) to the end of the answer. Two SDKs need
more: openai-agents reads the model in a task of its own (`result.cancel()`, then wait for it), and
semantic-kernel does not close its inner generators when closed at a `yield`, so it is read in a task
this module cancels. azure-ai-agents' stream `__aexit__` never closes its HTTP response (it calls
`close()` on an async generator, which has only `aclose()`), and closing the client closes the socket
but not aiohttp's record of the connection, which then logs "Unclosed connection" when the garbage
collector gets to it; so the Azure backend keeps every response its client opens and closes each one.

Why `warm`: each SDK costs seconds the first time it is used in a process (importing it, and building its
agent, tool or kernel objects, whose pydantic schemas are compiled on first use). Paid inside the first
request, that is seconds of blank page before the first word. The app calls every backend's `warm` at
start-up: the work that needs neither the network nor a credential, so a live app without a key still
starts, and says what is missing on the first request as before.
Cleanup runs shielded from the cancellation that stopped the stream (`_finish`): under anyio, every
await in a cancelled scope is cancelled again, cleanup included. Each backend opens its SDK client per
request with `connect`, so a test can hand it a client that watches its connections.
"""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx

from .. import clients
from ..config import settings
from ..toolcalls import ToolCallAccumulator, Tools, assistant_message, run_tool_call
from .events import BackendEvent, TextDeltaEvent, ToolComplete, ToolStart
from .tools import TRAIL_TOOL, get_forecast, jacket_size, stock_level, trail_conditions

if TYPE_CHECKING:
    from azure.ai.agents.aio import AgentsClient as AsyncAgentsClient
    from openai import AsyncOpenAI

    from ..replay.cassette import Cassette

__all__ = [
    "AgentsBackend",
    "AzureBackend",
    "Backend",
    "BackendName",
    "ChatBackend",
    "OpenAIBackend",
    "SKBackend",
    "default_backends",
    "openai_connection",
]

BackendName = Literal["chat", "agents", "azure", "sk"]
_MAX_TOOL_ROUNDS = 4
_CLEANUP_SECONDS = 10


@functools.cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()  # what httpx builds by default (certifi, SSL_CERT_FILE), built once


def openai_connection() -> AsyncOpenAI:
    """A new `AsyncOpenAI` from the labs factory for one request, sharing one TLS context between requests.

    Building a TLS context reads the whole CA bundle: about 0.1 s of CPU, which 200 concurrent requests
    would spend one after the other on the event loop. The client stays per request, so closing it
    closes that request's connections and nothing else.
    """
    from openai import DefaultAsyncHttpxClient

    return clients.async_openai_client(http_client=DefaultAsyncHttpxClient(verify=_tls()))


class Backend(ABC):
    """One way of answering: a name, the instructions its model gets, and a stream of typed events."""

    name: BackendName
    title: str
    instructions: str

    @abstractmethod
    def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        """Answer `message`, yielding text deltas and tool progress as the SDK delivers them."""

    @abstractmethod
    def prompt_in(self, cassette: Cassette) -> str | None:
        """The user prompt of a fixture recorded through this backend, or None if it is another's."""

    def warm(self) -> None:
        """Do now what the first answer would otherwise wait for: import the SDK, build what needs no network."""


class OpenAIBackend(Backend):
    """A backend whose SDK talks through an `AsyncOpenAI` client, which `connect` opens for each request."""

    def __init__(self, connect: Callable[[], AsyncOpenAI] = openai_connection) -> None:
        self.connect = connect

    def warm(self) -> None:
        import openai.resources.chat.completions  # noqa: F401  (the client loads its resources on first use)
        import openai.resources.responses  # noqa: F401
        from openai._models import construct_type  # the SDK's own parser of stream events (openai is pinned)
        from openai.types.chat import ChatCompletionChunk
        from openai.types.responses import ResponseStreamEvent

        # The parser builds and caches a pydantic adapter per union type on first use: 0.2 to 0.6 s for the
        # Responses API's stream events. A sample of each kind of event the backends read builds them now.
        construct_type(type_=ResponseStreamEvent, value={})
        construct_type(type_=ChatCompletionChunk, value={"usage": None, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {}}]}}]})
        _tls()
        if settings().mode == "replay":
            from ..replay import default_server

            default_server()  # started on first use otherwise: by the first request


async def _finish(cleanup: Awaitable[object]) -> None:
    """Await `cleanup` even while the stream is being cancelled, for at most `_CLEANUP_SECONDS`."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(_CLEANUP_SECONDS):
        await cleanup


async def _close_each(responses: list[Any]) -> None:
    """Close every azure-core HTTP response that is still open (closing one twice is harmless)."""
    for response in responses:
        await response.close()


def _first_body(cassette: Cassette, surface: str) -> dict[str, Any]:
    if cassette.surface != surface or not cassette.interactions:
        return {}
    body = cassette.interactions[0].request.body
    return body if isinstance(body, dict) else {}


def _chat_prompt(cassette: Cassette, instructions: str) -> str | None:
    messages = _first_body(cassette, "openai").get("messages") or []
    if not messages or messages[0] != {"role": "system", "content": instructions}:
        return None
    return next((m["content"] for m in messages if m.get("role") == "user" and isinstance(m.get("content"), str)), None)


# -- chat: Chat Completions, our own tool round ------------------------------------------------------


class ChatBackend(OpenAIBackend):
    name: BackendName = "chat"
    title = "Chat Completions (openai)"
    instructions = "You are the trail desk of an outdoor shop. Use trail_conditions for any named trail. Answer in Markdown, briefly."
    tools = [TRAIL_TOOL]
    functions: Tools = {"trail_conditions": trail_conditions}  # what runs each tool `tools` declares

    async def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.instructions}, {"role": "user", "content": message}]
        async with self.connect() as client:
            for _ in range(_MAX_TOOL_ROUNDS):
                accumulator = ToolCallAccumulator()
                stream = await client.chat.completions.create(model=clients.model(), messages=messages, tools=self.tools, stream=True)
                async with stream:
                    async for chunk in stream:
                        if not chunk.choices:
                            continue
                        delta = chunk.choices[0].delta
                        if delta.content:
                            yield TextDeltaEvent(delta.content)
                        for part in delta.tool_calls or []:
                            accumulator.add(part)
                calls = accumulator.calls()
                if not calls:
                    return
                messages.append(assistant_message(calls))
                for call in calls:
                    yield ToolStart(call.name, call.arguments)
                    result = run_tool_call(call, self.functions)
                    yield ToolComplete(call.name, result.content)
                    messages.append(result.message())

    def prompt_in(self, cassette: Cassette) -> str | None:
        first = cassette.interactions[0].request if cassette.interactions else None
        if first is None or not first.path.endswith("/chat/completions") or _first_body(cassette, "openai").get("tools") != self.tools:
            return None
        return _chat_prompt(cassette, self.instructions)


# -- agents: openai-agents Runner.run_streamed -------------------------------------------------------


@functools.cache
def _stock_tool() -> Any:
    """`stock_level` as an openai-agents tool, built once: its JSON schema takes a while to generate."""
    from agents import function_tool

    return function_tool(stock_level)


class AgentsBackend(OpenAIBackend):
    name: BackendName = "agents"
    title = "Agents SDK (openai-agents)"
    instructions = "You are the gear guide of an outdoor shop. Use stock_level before promising a product. Answer in Markdown, briefly."

    def warm(self) -> None:
        from agents import Agent, RunConfig, Runner  # noqa: F401
        from agents.models.openai_responses import OpenAIResponsesModel  # noqa: F401

        super().warm()
        Agent(name="Gear guide", instructions=self.instructions, tools=[_stock_tool()])

    async def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        from agents import Agent, RunConfig, Runner
        from agents.models.openai_responses import OpenAIResponsesModel

        async with self.connect() as client:
            agent = Agent(
                name="Gear guide",
                instructions=self.instructions,
                tools=[_stock_tool()],
                model=OpenAIResponsesModel(clients.model(), client),
            )
            result = Runner.run_streamed(agent, message, run_config=RunConfig(tracing_disabled=settings().mode != "live"))
            names: dict[str, str] = {}  # call_id -> tool name, since a tool's output item does not carry the name
            try:
                async with aclosing(result.stream_events()) as events:
                    async for event in events:
                        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
                            if event.data.delta:
                                yield TextDeltaEvent(event.data.delta)
                        elif event.type == "run_item_stream_event" and event.name == "tool_called":
                            call = event.item.raw_item
                            names[getattr(call, "call_id", "")] = getattr(call, "name", "")
                            yield ToolStart(getattr(call, "name", ""), getattr(call, "arguments", ""))
                        elif event.type == "run_item_stream_event" and event.name == "tool_output":
                            call_id = event.item.raw_item.get("call_id", "") if isinstance(event.item.raw_item, dict) else ""
                            yield ToolComplete(names.get(call_id, ""), str(event.item.output))
            finally:
                # Stop the runner's background task and wait until it has let go of the HTTP stream.
                result.cancel()
                if result.run_loop_task is not None:
                    await _finish(asyncio.wait({result.run_loop_task}))

    def prompt_in(self, cassette: Cassette) -> str | None:
        body = _first_body(cassette, "openai")
        if body.get("instructions") != self.instructions or not isinstance(body.get("input"), list) or not body["input"]:
            return None
        first = body["input"][0]
        return first.get("content") if isinstance(first, dict) and isinstance(first.get("content"), str) else None


# -- azure: azure-ai-agents runs.stream, the SDK submits tool outputs --------------------------------


class AzureBackend(Backend):
    name: BackendName = "azure"
    title = "Azure AI Agents (azure-ai-agents)"
    instructions = "You are the trip planner of an outdoor shop. Use get_forecast for any place the user names. Answer in Markdown, briefly."
    agent_name = "trip-planner"

    def __init__(self, connect: Callable[..., AsyncAgentsClient] = clients.async_azure_agents_client) -> None:
        self.connect = connect  # called with `raw_response_hook=`, which it hands to the client

    def warm(self) -> None:
        from azure.ai.agents.aio import AgentsClient  # noqa: F401
        from azure.ai.agents.models import AsyncFunctionTool, AsyncToolSet, MessageDeltaChunk, RunStep, ThreadMessageOptions, ThreadRun  # noqa: F401

        AsyncToolSet().add(AsyncFunctionTool({get_forecast}))
        if settings().mode == "replay":
            from ..replay import default_server

            default_server()

    async def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        from azure.ai.agents.models import AsyncFunctionTool, AsyncToolSet, MessageDeltaChunk, RunStep, ThreadMessageOptions, ThreadRun

        toolset = AsyncToolSet()
        toolset.add(AsyncFunctionTool({get_forecast}))
        opened: list[Any] = []  # every HTTP response of this request, the SDK's own tool-output streams included
        async with self.connect(raw_response_hook=lambda pipeline: opened.append(pipeline.http_response)) as client:
            try:
                client.enable_auto_function_calls(toolset)
                # The thread comes first, holding the question: then the first request of each recorded chain
                # differs from the others', and replay finds the right recording from the start.
                thread = await client.threads.create(messages=[ThreadMessageOptions(role="user", content=message)])
                agent = await client.create_agent(model=clients.azure_model(), name=self.agent_name, instructions=self.instructions, toolset=toolset)
                try:
                    async with await client.runs.stream(thread_id=thread.id, agent_id=agent.id) as stream:
                        async for _kind, data, _ in stream:
                            if isinstance(data, MessageDeltaChunk) and data.text:
                                yield TextDeltaEvent(data.text)
                            elif isinstance(data, ThreadRun) and data.status == "requires_action" and data.required_action is not None:
                                # The SDK has already run the tools and submitted their outputs by the time it hands us this run.
                                for call in data.required_action.submit_tool_outputs.tool_calls:
                                    yield ToolStart(call.function.name, call.function.arguments)
                            elif isinstance(data, RunStep) and data.type == "tool_calls" and data.status == "completed":
                                for call in data.step_details.tool_calls:
                                    # This SDK version keeps `output` as untyped data on the function details.
                                    yield ToolComplete(call.function.name, str(call.function.get("output") or ""))
                finally:
                    await _finish(client.delete_agent(agent.id))
            finally:
                await _finish(_close_each(opened))

    def prompt_in(self, cassette: Cassette) -> str | None:
        requests = [i.request for i in cassette.interactions] if cassette.surface == "azure" else []
        agents = [r.body for r in requests if r.method == "POST" and r.path.rstrip("/") == "/assistants" and isinstance(r.body, dict)]
        if not requests or requests[0].path.rstrip("/") != "/threads" or not agents or agents[0].get("instructions") != self.instructions:
            return None
        messages = requests[0].body.get("messages") if isinstance(requests[0].body, dict) else None
        content = messages[0].get("content") if messages and isinstance(messages[0], dict) else None
        return content if isinstance(content, str) else None


# -- sk: semantic-kernel streaming with automatic function calling -----------------------------------


@functools.cache
def _gear() -> type:
    """The semantic-kernel plugin class that sizes jackets, defined once semantic-kernel is imported."""
    from semantic_kernel.functions import kernel_function

    class Gear:
        @kernel_function(name="jacket_size", description="The Summit jacket size for a chest measurement in centimetres.")
        def size(self, chest_cm: int) -> str:
            return jacket_size(chest_cm)

    return Gear


class SKBackend(OpenAIBackend):
    """semantic-kernel, read in a task of its own: see `stream` for why."""

    name: BackendName = "sk"
    title = "Semantic Kernel (semantic-kernel)"
    instructions = "You are the fitting room of an outdoor shop. Use the gear plugin to size jackets. Answer in Markdown, briefly."

    async def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        # SK's streaming methods are generators nested three deep that do not close their inner generators
        # (nor the HTTP stream) when closed at a `yield`: those would wait for the garbage collector. So a task
        # reads SK and this generator yields from a queue; leaving cancels the task, and a cancellation raised
        # inside SK's innermost await unwinds every level and closes the HTTP response on its way out.
        events: asyncio.Queue[BackendEvent | BaseException | None] = asyncio.Queue()
        async with self.connect() as client:
            reader = asyncio.create_task(self._read(client, message, events))
            try:
                while (item := await events.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    yield item
            finally:
                reader.cancel()
                await _finish(asyncio.wait({reader}))

    async def _read(self, client: AsyncOpenAI, message: str, events: asyncio.Queue[BackendEvent | BaseException | None]) -> None:
        from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion
        from semantic_kernel.contents import FunctionCallContent, FunctionResultContent

        kernel, execution, history = self._kernel(message)
        service = OpenAIChatCompletion(ai_model_id=clients.model(), service_id="chat", async_client=client)
        kernel.add_service(service)
        calls: dict[int, FunctionCallContent] = {}
        try:
            async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=execution, kernel=kernel):
                if chunk is None:
                    continue
                for item in chunk.items:
                    if isinstance(item, FunctionCallContent):  # fragments of a call, merged by index
                        calls[item.index or 0] = calls[item.index or 0] + item if (item.index or 0) in calls else item
                    elif isinstance(item, FunctionResultContent):
                        events.put_nowait(ToolComplete(item.name or "", str(item.result)))
                if calls and chunk.finish_reason is not None and chunk.finish_reason.value == "tool_calls":
                    # The fragments are complete; the kernel runs the functions before its next chunk.
                    for call in calls.values():
                        arguments = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
                        events.put_nowait(ToolStart(call.name or "", arguments or ""))
                    calls.clear()
                if chunk.role == "assistant" and chunk.content:
                    events.put_nowait(TextDeltaEvent(chunk.content))
        except Exception as exc:  # handed to the consumer, which raises it where the relay can report it
            events.put_nowait(exc)
            return
        events.put_nowait(None)

    def _kernel(self, message: str) -> tuple[Any, Any, Any]:
        """A kernel with the gear plugin, automatic function calling, and a history holding `message`."""
        from semantic_kernel import Kernel
        from semantic_kernel.connectors.ai import FunctionChoiceBehavior
        from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
        from semantic_kernel.contents import ChatHistory

        kernel = Kernel()
        kernel.add_plugin(_gear()(), plugin_name="gear")
        execution = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.Auto())
        history = ChatHistory(system_message=self.instructions)
        history.add_user_message(message)
        return kernel, execution, history

    def warm(self) -> None:
        from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion  # noqa: F401
        from semantic_kernel.contents import FunctionCallContent, FunctionResultContent  # noqa: F401

        super().warm()
        self._kernel("warm-up")

    def prompt_in(self, cassette: Cassette) -> str | None:
        body = _first_body(cassette, "openai")
        if not body.get("tools") or body.get("tools") == ChatBackend.tools:
            return None
        return _chat_prompt(cassette, self.instructions)


def default_backends() -> dict[str, Backend]:
    """One backend of each kind, talking through the `labs` client factories (replay, live or record)."""
    return {b.name: b for b in (ChatBackend(), AgentsBackend(), AzureBackend(), SKBackend())}
