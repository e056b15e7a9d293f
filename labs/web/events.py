"""The events the web app sends to the browser, and their one encoding on the wire.

Every kind is a dataclass with a `type` literal, so code branches on `event.type` and a type checker
knows which fields each kind has. Backends produce the three kinds that come from the model
(`TextDeltaEvent`, `ToolStart`, `ToolComplete`); the relay in `labs.web.app` adds the bookkeeping around
them (`SessionUpdate`, `TypingStart`, `ResponseComplete`, `Error`).

On the wire each event is a named Server-Sent Event whose `data:` is ONE line of JSON. JSON escapes the
newlines inside a delta, so a chunk holding "\\n\\n" cannot end the event early: the bug of writing
`data: {chunk}` by hand. The framing itself is sse-starlette's (`JSONServerSentEvent`), never ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from sse_starlette import JSONServerSentEvent

__all__ = [
    "SEPARATOR",
    "BackendEvent",
    "Error",
    "ResponseComplete",
    "SessionUpdate",
    "TextDeltaEvent",
    "ToolComplete",
    "ToolStart",
    "TypingStart",
    "WebEvent",
    "encode",
    "payload",
]

# Lines end in LF, as OpenAI and Azure send them (sse-starlette's default is CRLF; browsers accept both).
SEPARATOR = "\n"


@dataclass(frozen=True)
class SessionUpdate:
    """The stream has started: which session, backend and mode (replay, live or record) answer it."""

    session_id: str
    backend: str
    mode: str
    type: Literal["session_update"] = "session_update"


@dataclass(frozen=True)
class TypingStart:
    """The request went to the model; the page shows a typing indicator until text or a tool arrives."""

    backend: str
    type: Literal["typing_start"] = "typing_start"


@dataclass(frozen=True)
class TextDeltaEvent:
    """A piece of the answer for the browser, exactly as the SDK delivered it."""

    delta: str
    type: Literal["text_delta"] = "text_delta"


@dataclass(frozen=True)
class ToolStart:
    """The model asked for a tool call; its arguments are complete (a JSON string)."""

    name: str
    arguments: str
    type: Literal["tool_start"] = "tool_start"


@dataclass(frozen=True)
class ToolComplete:
    """A tool call returned; `output` is what went back to the model."""

    name: str
    output: str
    type: Literal["tool_complete"] = "tool_complete"


@dataclass(frozen=True)
class ResponseComplete:
    """The answer is finished; `final_response` is the concatenation of every `text_delta` sent."""

    final_response: str
    word_count: int
    character_count: int
    ttft_ms: float | None  # from the request to the first text_delta; None when no text came
    type: Literal["response_complete"] = "response_complete"


@dataclass(frozen=True)
class Error:
    """The stream failed; `code` is machine-readable (the service's error code when it gave one)."""

    message: str
    code: str
    type: Literal["error"] = "error"


BackendEvent = TextDeltaEvent | ToolStart | ToolComplete
WebEvent = SessionUpdate | TypingStart | TextDeltaEvent | ToolStart | ToolComplete | ResponseComplete | Error


def payload(event: WebEvent) -> dict[str, Any]:
    """The event's `data:` object: its fields without `type`, which travels as the SSE event name."""
    fields = asdict(event)
    del fields["type"]
    return fields


def encode(event: WebEvent, event_id: int) -> JSONServerSentEvent:
    """The event as sse-starlette frames it: `id:`, `event:`, then one `data:` line of compact JSON."""
    return JSONServerSentEvent(payload(event), event=event.type, id=str(event_id), sep=SEPARATOR)
