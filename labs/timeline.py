"""An agent run as a compact timeline: one typed row per stream event, with the time it arrived.

`Runner.run_streamed(...).stream_events()` interleaves three kinds of events: raw Responses API events
(dozens of text deltas, plus lifecycle events such as `response.created`), run items (`tool_called`,
`tool_output`, `message_output_created`, `handoff_requested`, `handoff_occured`) and agent switches. A
timeline keeps what a reader cares about, a row per event with its time since the run started, its kind
and a one-line summary, and merges consecutive text deltas into one row, so a whole run fits on a screen.

Rows are one dataclass per kind with a `type` field, as openai-agents' own stream events are; code
that consumes them branches on `row.type`. `timed()` stamps events as they arrive, `compact()` merges
text rows, and `render()` lays the rows out as fixed-width text.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeAlias

from .display import shorten

__all__ = [
    "AgentUpdatedRow",
    "HandoffOccurredRow",
    "HandoffRequestedRow",
    "MessageRow",
    "TextRow",
    "TimedEvent",
    "TimelineRow",
    "ToolCalledRow",
    "ToolOutputRow",
    "compact",
    "render",
    "timed",
]

TimedEvent: TypeAlias = tuple[float, Any]
"""`(seconds since the run started, stream event)`, as `timed()` yields them."""

SUMMARY_WIDTH = 72  # characters in a row's summary


@dataclass(frozen=True)
class TextRow:
    """Text the model streamed (`ResponseTextDeltaEvent.delta`), merged with its neighbours by `compact`."""

    at: float
    text: str
    type: Literal["text"] = "text"

    @property
    def summary(self) -> str:
        return repr(shorten(self.text, SUMMARY_WIDTH - 2))  # two characters fewer, for the quotes


@dataclass(frozen=True)
class ToolCalledRow:
    """The model asked for a tool (`tool_called`): the tool's name and its JSON arguments."""

    at: float
    tool: str
    arguments: str
    type: Literal["tool_called"] = "tool_called"

    @property
    def summary(self) -> str:
        return shorten(f"{self.tool}({self.arguments})", SUMMARY_WIDTH)


@dataclass(frozen=True)
class ToolOutputRow:
    """A tool returned (`tool_output`): what it returned, as text."""

    at: float
    output: str
    type: Literal["tool_output"] = "tool_output"

    @property
    def summary(self) -> str:
        return shorten(f"→ {self.output}", SUMMARY_WIDTH)


@dataclass(frozen=True)
class MessageRow:
    """A complete message (`message_output_created`): which agent wrote it, and its text."""

    at: float
    agent: str
    text: str
    type: Literal["message_output_created"] = "message_output_created"

    @property
    def summary(self) -> str:
        return shorten(f"{self.agent}: {self.text}", SUMMARY_WIDTH)


@dataclass(frozen=True)
class HandoffRequestedRow:
    """The model called a handoff tool (`handoff_requested`), e.g. `transfer_to_oracle`."""

    at: float
    tool: str
    type: Literal["handoff_requested"] = "handoff_requested"

    @property
    def summary(self) -> str:
        return shorten(self.tool, SUMMARY_WIDTH)


@dataclass(frozen=True)
class HandoffOccurredRow:
    """The runner handed the conversation over (`handoff_occured`, spelt as the SDK spells it)."""

    at: float
    source: str
    target: str
    type: Literal["handoff_occured"] = "handoff_occured"

    @property
    def summary(self) -> str:
        return shorten(f"{self.source} → {self.target}", SUMMARY_WIDTH)


@dataclass(frozen=True)
class AgentUpdatedRow:
    """A new agent is running (`agent_updated_stream_event`): at the start, and after each handoff."""

    at: float
    agent: str
    type: Literal["agent_updated"] = "agent_updated"

    @property
    def summary(self) -> str:
        return shorten(self.agent, SUMMARY_WIDTH)


TimelineRow: TypeAlias = (
    TextRow | ToolCalledRow | ToolOutputRow | MessageRow | HandoffRequestedRow | HandoffOccurredRow | AgentUpdatedRow
)


async def timed(events: AsyncIterable[Any]) -> AsyncIterator[TimedEvent]:
    """Yield `(seconds since the first request, event)` for each event of `result.stream_events()`."""
    started = time.perf_counter()
    async for event in events:
        yield time.perf_counter() - started, event


def compact(rows: Iterable[TimelineRow | None]) -> list[TimelineRow]:
    """Drop `None`s and merge consecutive text rows into one (at the time of the first)."""
    merged: list[TimelineRow] = []
    for row in rows:
        if row is None:
            continue
        last = merged[-1] if merged else None
        if row.type == "text" and last is not None and last.type == "text":
            merged[-1] = replace(last, text=last.text + row.text)
        else:
            merged.append(row)
    return merged


def render(rows: Iterable[TimelineRow]) -> str:
    """The rows as a fixed-width table: time since start, kind, summary."""
    rows = list(rows)
    kind_width = max((len(row.type) for row in rows), default=4)
    return "\n".join(f"{row.at:6.2f} s  {row.type:<{kind_width}}  {row.summary}" for row in rows)
