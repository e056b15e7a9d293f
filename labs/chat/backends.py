"""Where the chat's answers come from: Chat Completions or openai-agents, both streamed.

A backend turns the conversation so far (its `Message`s) into a stream of typed pieces, `TextDelta`s as
the text arrives and one `Finished` with the token usage the service reported. The chat does not care
which SDK produced them; the two backends show the same conversation through the two APIs a learner meets:

- `chat`: `client.chat.completions.create(..., stream=True)`, the history sent as `messages`;
- `agents`: `Runner.run_streamed(agent, input)`, the history sent as Responses API input items.

A backend must stop the service's stream when the chat stops listening (Ctrl-C): each `stream()` closes
its stream in a `finally`, so an interrupted answer does not keep downloading in the background. (A
cancellation usually closes it already: httpcore drops a connection cancelled mid-read, and openai-agents
cancels the run when the task reading `stream_events()` is cancelled. The `finally` also covers a reader
that simply stops iterating, and says in the code what must happen.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

from ..reply import TextDelta

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "BACKENDS",
    "INSTRUCTIONS",
    "AgentsChatBackend",
    "Backend",
    "BackendName",
    "ChatCompletionsBackend",
    "Finished",
    "Message",
    "Piece",
    "TextDelta",
    "make_backend",
]

BackendName = Literal["chat", "agents"]
BACKENDS: tuple[BackendName, ...] = ("chat", "agents")
INSTRUCTIONS = "You are a friendly travel assistant chatting in a terminal. Keep answers short unless asked for detail."


@dataclass(frozen=True)
class Message:
    """One turn of the conversation as it is sent to the model."""

    role: Literal["user", "assistant"]
    text: str
    interrupted: bool = False


@dataclass(frozen=True)
class Finished:
    """The answer is complete; the token counts are the service's own (None when it reported none)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    type: Literal["finished"] = "finished"


Piece: TypeAlias = TextDelta | Finished


class Backend(Protocol):
    name: BackendName
    description: str

    def stream(self, history: Sequence[Message]) -> AsyncIterator[Piece]:
        """Stream the answer to the last message of `history` (the user's)."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...


class ChatCompletionsBackend:
    """Answers through `chat.completions.create(stream=True)`; the history travels as `messages`."""

    name: BackendName = "chat"
    description = "Chat Completions, stream=True"

    def __init__(self, client: AsyncOpenAI, model: str, instructions: str = INSTRUCTIONS) -> None:
        self.client, self.model, self.instructions = client, model, instructions

    async def stream(self, history: Sequence[Message]) -> AsyncIterator[Piece]:
        messages = [{"role": "system", "content": self.instructions}, *({"role": m.role, "content": m.text} for m in history)]
        stream = await self.client.chat.completions.create(
            model=self.model, messages=messages, stream=True, stream_options={"include_usage": True}  # type: ignore[arg-type]
        )
        try:
            usage = None
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    yield TextDelta(chunk.choices[0].delta.content)
                usage = chunk.usage or usage
            yield Finished(usage.prompt_tokens, usage.completion_tokens) if usage else Finished()
        finally:
            await stream.close()  # on Ctrl-C this closes the connection mid-answer

    async def aclose(self) -> None:
        await self.client.close()


class AgentsChatBackend:
    """Answers through `Runner.run_streamed`; the history travels as Responses API input items."""

    name: BackendName = "agents"
    description = "openai-agents, Runner.run_streamed"

    def __init__(self, client: AsyncOpenAI, model: str, instructions: str = INSTRUCTIONS) -> None:
        from agents import Agent, OpenAIResponsesModel

        self.client = client
        self.agent = Agent(name="Assistant", instructions=instructions, model=OpenAIResponsesModel(model=model, openai_client=client))

    async def stream(self, history: Sequence[Message]) -> AsyncIterator[Piece]:
        from agents import Runner
        from openai.types.responses import ResponseTextDeltaEvent

        result = Runner.run_streamed(self.agent, [{"role": m.role, "content": m.text} for m in history])
        try:
            async for event in result.stream_events():
                if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
                    yield TextDelta(event.data.delta)
            usage = result.context_wrapper.usage
            yield Finished(usage.input_tokens, usage.output_tokens) if usage.requests else Finished()
        finally:
            if not result.is_complete:
                result.cancel()  # on Ctrl-C: stop the run and close its model stream

    async def aclose(self) -> None:
        await self.client.close()


def make_backend(name: BackendName) -> Backend:
    """The named backend with the workbook's client for the current mode (replay, live or record)."""
    from .. import clients

    if name == "chat":
        return ChatCompletionsBackend(clients.async_openai_client(), clients.model())
    if name == "agents":
        return AgentsChatBackend(clients.configure_agents_sdk(), clients.model())
    raise ValueError(f"unknown backend {name!r}: use one of {', '.join(BACKENDS)}")
