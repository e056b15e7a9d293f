"""Tool calls streamed by Chat Completions: put back together, run, and answered.

A streamed tool call arrives in pieces. The first delta for a call carries its `index`, `id` and
function `name`; the argument text follows in fragments that carry only the `index`. Several calls
can be in flight in one answer (parallel tool calls), so fragments must be joined per `index`, never
by their position in a chunk's `tool_calls` list (each chunk's list usually holds one entry, always at
position 0). The arguments are JSON text that parses only once it is complete: a fragment can end
anywhere, even inside an escape such as `\\u00fc` that the model wrote for "ü". Some OpenAI-compatible
servers send a whole call, arguments included, in its first delta, so the first delta's arguments
count too.

After the stream, each call runs against a registry of plain Python functions, and the results go
back to the model as one `tool` message per call, after the assistant message that asked for them.
A call that cannot run (unknown tool, arguments that are not a JSON object, a tool that raises)
becomes an error result the model can read and recover from, instead of an exception that loses the
conversation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionChunk, ChatCompletionMessage
    from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall

__all__ = [
    "ToolArgumentsError",
    "ToolCall",
    "ToolCallAccumulator",
    "ToolResult",
    "Tools",
    "accumulate_tool_calls",
    "assistant_message",
    "run_tool_call",
    "run_tool_calls",
    "tool_calls_of",
]

Tools = Mapping[str, Callable[..., object]]
"""The tools a model may call: function name → the Python function that runs it."""


class ToolArgumentsError(ValueError):
    """A tool call's arguments are not a JSON object; the message names the call and shows the text."""


@dataclass(frozen=True)
class ToolCall:
    """One complete function call the model asked for."""

    index: int
    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict, or a `ToolArgumentsError` that says what is wrong with them."""
        try:
            # Some servers send "" for a function without parameters; OpenAI sends "{}".
            value = json.loads(self.arguments or "{}")
        except ValueError as error:
            raise ToolArgumentsError(
                f"the arguments of {self.name} (call {self.index}) are not valid JSON ({error}): {self.arguments!r}"
            ) from None
        if not isinstance(value, dict):
            raise ToolArgumentsError(f"the arguments of {self.name} (call {self.index}) are not a JSON object: {self.arguments!r}")
        return value

    def to_param(self) -> dict[str, Any]:
        """The call as the `tool_calls` entry of an assistant message."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


class ToolCallAccumulator:
    """Joins tool-call deltas by `index` into complete `ToolCall`s."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, str]] = {}

    def add(self, delta: ChoiceDeltaToolCall) -> ToolCall | None:
        """Take one delta; return the call so far when this delta made its function name known."""
        part = self._parts.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
        # OpenAI sends the id and the name whole, once, in a call's first delta; keep the first we see.
        if delta.id and not part["id"]:
            part["id"] = delta.id
        function = delta.function
        named = False
        if function is not None:
            if function.name and not part["name"]:
                part["name"], named = function.name, True
            if function.arguments:
                part["arguments"] += function.arguments
        return ToolCall(delta.index, part["id"], part["name"], part["arguments"]) if named else None

    def calls(self) -> list[ToolCall]:
        """The calls so far, in `index` order."""
        return [ToolCall(index, p["id"], p["name"], p["arguments"]) for index, p in sorted(self._parts.items())]


def accumulate_tool_calls(chunks: Iterable[ChatCompletionChunk], choice: int = 0) -> list[ToolCall]:
    """The complete tool calls in a stream of chunks (of one choice; usage chunks have none)."""
    accumulator = ToolCallAccumulator()
    for chunk in chunks:
        for streamed in chunk.choices:
            if streamed.index == choice:
                for delta in streamed.delta.tool_calls or []:
                    accumulator.add(delta)
    return accumulator.calls()


def tool_calls_of(message: ChatCompletionMessage) -> list[ToolCall]:
    """The function calls in a non-streamed answer's message, as `ToolCall`s."""
    return [
        ToolCall(index, call.id, call.function.name, call.function.arguments)
        for index, call in enumerate(message.tool_calls or [])
        if call.type == "function"
    ]


def assistant_message(tool_calls: Sequence[ToolCall], text: str | None = None) -> dict[str, Any]:
    """The assistant message that asked for `tool_calls`, to put in the history before their results."""
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if tool_calls:
        message["tool_calls"] = [call.to_param() for call in tool_calls]
    return message


@dataclass(frozen=True)
class ToolResult:
    """What one call produced: the text the model reads, and the error when the call failed."""

    call: ToolCall
    content: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def message(self) -> dict[str, Any]:
        """The `tool` message that answers the call."""
        return {"role": "tool", "tool_call_id": self.call.id, "content": self.content}


def _failed(call: ToolCall, error: str) -> ToolResult:
    return ToolResult(call, f"Error: {error}", error)


def run_tool_call(call: ToolCall, tools: Tools) -> ToolResult:
    """Run one call; a failure becomes an error result for the model to read, never an exception."""
    function = tools.get(call.name)
    if function is None:
        known = ", ".join(sorted(tools)) or "none"
        return _failed(call, f"there is no tool named {call.name!r} (known tools: {known})")
    try:
        arguments = call.parsed_arguments()
    except ToolArgumentsError as error:
        return _failed(call, str(error))
    try:
        value = function(**arguments)
    except Exception as error:  # the model must hear about any failure, whatever its type
        return _failed(call, f"{call.name} raised {type(error).__name__}: {error}")
    content = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return ToolResult(call, content)


def run_tool_calls(calls: Iterable[ToolCall], tools: Tools) -> list[ToolResult]:
    """Run each call in order."""
    return [run_tool_call(call, tools) for call in calls]
