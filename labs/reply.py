"""Everything a Chat Completions stream tells you, collected while you show it.

A stream is more than its text. One choice's deltas carry text (`content`) or a refusal (`refusal`,
which a loop reading only `content` silently drops) or tool-call pieces; its last delta carries the
`finish_reason` ("length" means the answer was cut, not finished); and with
`stream_options={"include_usage": True}` one more chunk, with an empty `choices` list, carries the
token usage. `ReplyCollector` takes chunks one at a time and says what each one added, as typed events
a display can branch on (`event.type`), and at the end hands back the whole `StreamedReply`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Union

from .toolcalls import ToolCall, ToolCallAccumulator

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionChunk
    from openai.types.completion_usage import CompletionUsage

__all__ = [
    "RefusalDelta",
    "ReplyCollector",
    "ReplyEvent",
    "StreamedReply",
    "TextDelta",
    "ToolArgumentsDelta",
    "ToolCallStarted",
    "collect_reply",
    "reference_reply",
]


@dataclass(frozen=True)
class TextDelta:
    """New answer text."""

    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True)
class RefusalDelta:
    """New refusal text: the model declined, and says why in `refusal` instead of `content`."""

    text: str
    type: Literal["refusal"] = "refusal"


@dataclass(frozen=True)
class ToolCallStarted:
    """The model began a tool call: its name is known, its arguments are still coming."""

    index: int
    id: str
    name: str
    type: Literal["tool_call_started"] = "tool_call_started"


@dataclass(frozen=True)
class ToolArgumentsDelta:
    """A fragment of a tool call's argument text (JSON that parses only once complete)."""

    index: int
    fragment: str
    type: Literal["tool_arguments"] = "tool_arguments"


ReplyEvent = Union[TextDelta, RefusalDelta, ToolCallStarted, ToolArgumentsDelta]


@dataclass(frozen=True)
class StreamedReply:
    """One choice of a finished stream: its text, refusal, finish reason, usage and tool calls."""

    text: str = ""
    refusal: str | None = None
    finish_reason: str | None = None
    usage: CompletionUsage | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def truncated(self) -> bool:
        """The answer stopped at the token limit, not because it was finished."""
        return self.finish_reason == "length"


class ReplyCollector:
    """Collects one choice of a Chat Completions stream, chunk by chunk."""

    def __init__(self, choice: int = 0) -> None:
        self.choice = choice
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._finish_reason: str | None = None
        self._usage: CompletionUsage | None = None
        self._tools = ToolCallAccumulator()

    def add(self, chunk: ChatCompletionChunk) -> list[ReplyEvent]:
        """Take one chunk; return what it added to this choice, in order."""
        if chunk.usage is not None:
            self._usage = chunk.usage
        events: list[ReplyEvent] = []
        for streamed in chunk.choices:
            if streamed.index != self.choice:
                continue
            delta = streamed.delta
            if delta.content:
                self._text.append(delta.content)
                events.append(TextDelta(delta.content))
            if delta.refusal is not None:
                self._refusal.append(delta.refusal)
                if delta.refusal:
                    events.append(RefusalDelta(delta.refusal))
            for call in delta.tool_calls or []:
                started = self._tools.add(call)
                if started is not None:
                    events.append(ToolCallStarted(started.index, started.id, started.name))
                if call.function is not None and call.function.arguments:
                    events.append(ToolArgumentsDelta(call.index, call.function.arguments))
            if streamed.finish_reason:
                self._finish_reason = streamed.finish_reason
        return events

    def reply(self) -> StreamedReply:
        """Everything collected so far."""
        return StreamedReply(
            text="".join(self._text),
            refusal="".join(self._refusal) or None,
            finish_reason=self._finish_reason,
            usage=self._usage,
            tool_calls=tuple(self._tools.calls()),
        )


def collect_reply(chunks: Iterable[ChatCompletionChunk], on_event: Callable[[ReplyEvent], object] | None = None, choice: int = 0) -> StreamedReply:
    """Collect a whole stream, handing each event to `on_event` (to print or display it) as it arrives."""
    collector = ReplyCollector(choice)
    for chunk in chunks:
        for event in collector.add(chunk):
            if on_event is not None:
                on_event(event)
    return collector.reply()


def reference_reply(chunks: Iterable[ChatCompletionChunk], choice: int = 0) -> StreamedReply:
    """The same reply as the SDK's own `ChatCompletionStreamState` assembles it: the reference checks compare with."""
    from openai.lib.streaming.chat import ChatCompletionStreamState

    chunks = list(chunks)
    if not chunks:
        return StreamedReply()
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    # The snapshot, not get_final_completion(): that raises LengthFinishReasonError on a cut-short answer.
    snapshot = state.current_completion_snapshot
    picked = next((c for c in snapshot.choices if c.index == choice), None)
    if picked is None:
        return StreamedReply(usage=snapshot.usage)
    message = picked.message
    calls = tuple(
        ToolCall(call.index, call.id, call.function.name, call.function.arguments)  # type: ignore[attr-defined]
        for call in message.tool_calls or []
        if call.type == "function"
    )
    return StreamedReply(message.content or "", message.refusal, picked.finish_reason, snapshot.usage, calls)
