"""Azure AI Agents run events as a handler meets them: their order, a reference of every type, recorded streams.

azure-ai-agents hands an `AgentEventHandler`'s callbacks the object an event carried (a `ThreadRun`, a
`RunStep`, a `MessageDeltaChunk`...) but not the event's name: `thread.run.created` and `thread.run.queued`
both reach `on_thread_run` with status "queued". Iterating the handler yields `(event_type, event_data,
callback_return)` as well. Lessons 07 and 09 show both; this module keeps their plumbing out of the notebooks.

- `EventOrder` lays out what one run streamed, in arrival order, as a table; each run of deltas folds
  into one row.
- `event_reference` runs every event of some recordings through the SDK's own parser and dispatch, so the
  table of event types, SDK objects and callbacks is generated from recordings, not typed by hand;
  `unseen_event_types` lists the types the SDK knows that the recordings never show.
- `recorded_streams`, `awkward_chunks` and `replay_into` feed recorded bytes, whole or cut mid-event and
  mid-character, to a real handler without a server (exercise checks and tests use them): the SDK
  splits on a literal blank line and decodes only whole events, so any cut must parse the same.
- `callbacks_never_called` names the `on_*` methods a handler defines that the SDK never calls, such as
  `on_thread_run_completed` from the older Assistants `AssistantEventHandler` that course material uses.
"""

from __future__ import annotations

import enum
import html
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.ai.agents.models import (
    AgentEventHandler,
    AgentStreamEvent,
    AsyncAgentEventHandler,
    BaseAgentEventHandler,
    MessageDeltaChunk,
    RunStep,
    RunStepDeltaChunk,
    ThreadMessage,
    ThreadRun,
)

from .display import shorten
from .recordings import fixture
from .replay.sse import SSEEvent, encode_event

__all__ = [
    "EventOrder",
    "EventReference",
    "EventType",
    "OrderRow",
    "awkward_chunks",
    "callbacks_never_called",
    "event_reference",
    "gist",
    "recorded_streams",
    "replay_into",
    "unseen_event_types",
]

FOLDED = frozenset({"thread.message.delta", "thread.run.step.delta", "on_message_delta", "on_run_step_delta"})
DETAIL_WIDTH = 44  # characters of folded delta text an `EventOrder` row shows
VALUE_WIDTH = 36  # characters of a recorded text value an `EventReference` row shows
H = TypeVar("H", bound=BaseAgentEventHandler)


def _plain(value: Any) -> str:
    """How a callback's return value reads in a table: enums by value, tuples joined, None as nothing."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return " ".join(part for part in map(_plain, value) if part)
    return str(value)


def _cell(text: str) -> str:
    """A table cell's text as Markdown that shows it: HTML escaped (model text is untrusted), pipes and newlines kept out."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class OrderRow:
    """One row of an `EventOrder`: an event (or callback) name, what came with it, how many in a row."""

    name: str
    detail: str
    count: int = 1


class EventOrder(Sequence[OrderRow]):
    """Names (events or callbacks) in arrival order with what each returned; consecutive deltas fold into one row."""

    def __init__(self, arrivals: Iterable[tuple[str, Any]], heading: tuple[str, str] = ("event", "callback returned")) -> None:
        rows: list[OrderRow] = []
        for name, value in arrivals:
            detail = _plain(value)
            if rows and name in FOLDED and rows[-1].name == name:
                rows[-1] = OrderRow(name, rows[-1].detail + detail, rows[-1].count + 1)
            else:
                rows.append(OrderRow(name, detail))
        self.rows = tuple(rows)
        self.heading = heading

    def __getitem__(self, index: Any) -> Any:
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def names(self) -> list[str]:
        """The names in order, each run of deltas once."""
        return [row.name for row in self.rows]

    def _label(self, row: OrderRow) -> tuple[str, str]:
        name = f"{row.name} ×{row.count}" if row.count > 1 else row.name
        detail = repr(shorten(row.detail, DETAIL_WIDTH)) if row.name in FOLDED and row.detail else row.detail
        return name, detail

    def _repr_markdown_(self) -> str:
        lines = [f"| # | {self.heading[0]} | {self.heading[1]} |", "|---:|---|---|"]
        for number, row in enumerate(self.rows, start=1):
            name, detail = self._label(row)
            lines.append(f"| {number} | `{name}` | {_cell(detail)} |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        labels = [self._label(row) for row in self.rows]
        width = max([len(self.heading[0])] + [len(name) for name, _ in labels])
        lines = [f"{'#':>3}  {self.heading[0]:<{width}}  {self.heading[1]}"]
        lines += [f"{n:>3}  {name:<{width}}  {detail}" for n, (name, detail) in enumerate(labels, start=1)]
        return "\n".join(line.rstrip() for line in lines)


def gist(event_data: Any) -> Any:
    """The short of what an event carried: a run's or message's status, a step's type and status, a delta's
    text or tool-call arguments fragment; None for the `done` sentinel."""
    if isinstance(event_data, (ThreadRun, ThreadMessage)):
        return event_data.status
    if isinstance(event_data, RunStep):
        return (event_data.type, event_data.status)
    if isinstance(event_data, MessageDeltaChunk):
        return event_data.text
    if isinstance(event_data, RunStepDeltaChunk):
        return "".join(call.function.arguments or "" for call in event_data.delta.step_details.tool_calls)
    return None if event_data == "[DONE]" else event_data


# -- recorded streams ---------------------------------------------------------------------------------


def recorded_streams(name: str) -> list[bytes]:
    """Every streamed response of a fixture, as the bytes the replay server sends, in request order."""
    streams = []
    for interaction in fixture(name).interactions:
        events = interaction.response.events
        if events is not None and interaction.request.streamed:
            streams.append(b"".join(encode_event(SSEEvent(data=e.data, event=e.event, id=e.id)) for e in events))
    return streams


def awkward_chunks(body: bytes) -> list[bytes]:
    """`body` cut where a naive reader breaks: inside the first `event:` line, between the two LFs ending the first
    event, right after the lead byte of the first multi-byte UTF-8 character, and inside the final `[DONE]`."""
    lead = next((i for i, byte in enumerate(body) if byte >= 0xC0), None)
    if lead is None:
        raise ValueError("this stream holds no multi-byte UTF-8 character to cut in half; pick one with non-ASCII text")
    cuts = sorted({body.index(b"event:") + 9, body.index(b"\n\n") + 1, lead + 1, len(body) - 5})
    return [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)])]


def _submit_nothing(run: ThreadRun, handler: Any, submit_with_error: bool) -> list[Any]:
    return []


def replay_into(handler: H, *streams: Iterable[bytes]) -> H:
    """`handler`, ready to iterate recorded streams chained as the SDK chains a tool-output continuation.

    Each stream is an iterable of byte chunks (`[body]`, or `awkward_chunks(body)`). Nothing is submitted
    at `requires_action`: the continuation, when there is one, is the next recorded stream.
    """
    for chunks in streams:
        handler.initialize(iter(chunks), _submit_nothing)
    return handler


# -- the reference of event types ---------------------------------------------------------------------


def _callbacks(handler_class: type) -> set[str]:
    """The names of the `on_*` callbacks a handler class has."""
    return {name for name in dir(handler_class) if name.startswith("on_")}


def _dispatch() -> AgentEventHandler:
    """A handler whose every callback returns its own name, so iterating it shows which callback the SDK called."""

    def returning(name: str) -> Callable[..., str]:
        return lambda handler, *data: name

    methods = {name: returning(name) for name in _callbacks(AgentEventHandler)}
    handler: AgentEventHandler = type("Dispatch", (AgentEventHandler,), methods)()
    return handler


def _readings(obj: Any) -> list[tuple[str, Any]]:
    """What a handler typically reads from an event's object, as (expression, value) pairs."""
    if isinstance(obj, ThreadRun):
        found: list[tuple[str, Any]] = [("run.status", obj.status)]
        if obj.required_action is not None:
            call = obj.required_action.submit_tool_outputs.tool_calls[0]
            found += [("run.required_action.submit_tool_outputs.tool_calls[0].function.name", call.function.name), ("….function.arguments", call.function.arguments)]
        if obj.usage is not None:
            found.append(("run.usage.total_tokens", obj.usage.total_tokens))
        return found
    if isinstance(obj, RunStep):
        found = [("step.type", obj.type), ("step.status", obj.status)]
        return found + ([("step.usage.total_tokens", obj.usage.total_tokens)] if obj.usage is not None else [])
    if isinstance(obj, RunStepDeltaChunk):
        call = obj.delta.step_details.tool_calls[0]
        return [("delta.delta.step_details.tool_calls[0].function.name", call.function.name), ("….function.arguments", call.function.arguments)]
    if isinstance(obj, ThreadMessage):
        found = [("message.status", obj.status)]
        return found + ([("message.text_messages[0].text.value", obj.text_messages[0].text.value)] if obj.text_messages else [])
    if isinstance(obj, MessageDeltaChunk):
        return [("delta.text", obj.text)]
    return [("event_data", obj)]


@dataclass(frozen=True)
class EventType:
    """One event type as the SDK handles it: the object it builds, the callback it calls, and what it carries."""

    event: str
    sdk_object: str
    callback: str
    seen: int
    readings: tuple[tuple[str, str], ...]  # (expression, the first recorded value as a Python literal)


class EventReference(Sequence[EventType]):
    """Every event type found in some recordings, in first-seen order; displays as a table."""

    def __init__(self, types: Iterable[EventType], sources: Sequence[str]) -> None:
        self.types = tuple(types)
        self.sources = tuple(sources)

    def __getitem__(self, index: Any) -> Any:
        return self.types[index]

    def __len__(self) -> int:
        return len(self.types)

    def find(self, event: str) -> EventType:
        """The row for `event`; KeyError naming the recordings when they never show it."""
        for row in self.types:
            if row.event == event:
                return row
        raise KeyError(f"{event} does not occur in {', '.join(self.sources)}")

    def _repr_markdown_(self) -> str:
        lines = ["| event | SDK object | callback | seen | what to read: first recorded value |", "|---|---|---|---:|---|"]
        for row in self.types:
            reads = "<br>".join(f"`{expr}`: {_cell(value)}" for expr, value in row.readings)
            lines.append(f"| `{row.event}` | `{row.sdk_object}` | `{row.callback}` | {row.seen} | {reads} |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        lines = [f"{len(self.types)} event types in {', '.join(self.sources)}:"]
        lines += [f"  {row.event} -> {row.sdk_object} -> {row.callback} (x{row.seen})" for row in self.types]
        return "\n".join(lines)


def _literal(value: Any) -> str:
    value = value.value if isinstance(value, enum.Enum) else value
    return repr(shorten(value, VALUE_WIDTH) if isinstance(value, str) else value)


def event_reference(fixtures: Iterable[str]) -> EventReference:
    """Run every recorded stream of `fixtures` through the SDK's parser and dispatch; one row per event type,
    in the order the SDK lists the types (`AgentStreamEvent`: run, step, message, then error and done)."""
    names = list(fixtures)
    first: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {}
    seen: Counter[str] = Counter()
    for name in names:
        for body in recorded_streams(name):
            for event_type, obj, callback in replay_into(_dispatch(), [body]):
                seen[event_type] += 1
                if event_type not in first:
                    readings = tuple((expr, _literal(value)) for expr, value in _readings(obj))
                    first[event_type] = (type(obj).__name__, str(callback), readings)
    known = [event.value for event in AgentStreamEvent]
    order = sorted(first, key=lambda event: known.index(event) if event in known else len(known))
    return EventReference((EventType(event, *first[event][:2], seen[event], first[event][2]) for event in order), names)


def unseen_event_types(reference: EventReference) -> list[str]:
    """The event types the SDK knows (`AgentStreamEvent`) that `reference`'s recordings never show."""
    shown = {row.event for row in reference}
    return [event.value for event in AgentStreamEvent if event.value not in shown]


def callbacks_never_called(handler_class: type) -> list[str]:
    """The `on_*` methods `handler_class` defines that its SDK base class never calls (misspelt or from another SDK)."""
    base = AsyncAgentEventHandler if issubclass(handler_class, AsyncAgentEventHandler) else AgentEventHandler
    known = _callbacks(base)
    defined: Iterator[str] = (name for klass in handler_class.__mro__ if klass not in base.__mro__ for name in vars(klass))
    return sorted({name for name in defined if name.startswith("on_") and name not in known})
