"""Exercise 12.2's harness: a recorded answer framed as the web app frames it, cut into pieces, read as a browser reads it.

The learner writes `read_events(chunks)`: from `bytes` pieces cut anywhere, each event as `(event, data)` as soon as
the blank line that ends it has arrived. What the check needs, and where it comes from:
- the bytes: a recorded answer (`reader_layers`, replayed on a server of its own in every mode, through the real
  `AsyncOpenAI` client), its deltas framed by sse-starlette as `labs.web` frames them, after a tool round's two
  events (so the stream always holds a character UTF-8 writes in two bytes, whatever the model answered); with
  `\\n` line ends as `labs.web` sends them, or `\\r\\n` as sse-starlette does by default; and, for one case,
  with pings, an event without a name and a data field of two lines;
- what a browser makes of them: `parse_sse`, the algorithm of the HTML standard, on the whole text at once;
- the cuts: one piece per event (what loopback delivers), every byte apart, seeded random points, and between
  every `\\r` and its `\\n`. `Fed` hands the pieces over one at a time and notes how many the reader had taken
  when each event came out.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sse_starlette import JSONServerSentEvent

from ...clients import model, openai_client
from ...replay import fault_server
from ...web.events import ResponseComplete, TextDeltaEvent, ToolComplete, ToolStart, WebEvent, payload
from .scenarios import READER_PROMPT

__all__ = ["PING", "SSE", "Fed", "ReadEvents", "cut_at", "cut_randomly", "fed", "framed_answer", "parse_sse", "recorded_deltas"]

ReadEvents = Callable[[Iterable[bytes]], Iterable[tuple[str, str]]]
PING = ": ping - 2026-12-01 09:30:00.000000"  # the comment sse-starlette sends on a quiet connection


@dataclass(frozen=True)
class SSE:
    """One event as a browser's EventSource dispatches it: `event` is "message" when the stream named none."""

    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(body: str) -> list[SSE]:
    """The events a browser would dispatch from `body` (an event counts only once a blank line ends it)."""
    events: list[SSE] = []
    name, data, last_id = "", [], None
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:-1]:  # the last piece has no line end yet
        if not line:
            if data:
                events.append(SSE(name or "message", "\n".join(data), last_id))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
        elif key == "id" and "\0" not in value:
            last_id = value
    return events


def recorded_deltas() -> list[str]:
    """The text pieces of the recorded answer to `READER_PROMPT`, as the SDK delivers them (replayed in every mode)."""
    server = fault_server()
    with openai_client(server=server, max_retries=0) as client:
        messages = [{"role": "user", "content": READER_PROMPT}]
        stream = client.chat.completions.create(model=model(server=server), messages=messages, stream=True)  # type: ignore[call-overload]
        with stream:
            return [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]


def framed_answer(deltas: list[str], *, sep: str = "\n", extras: bool = False) -> list[bytes]:
    """The answer as the web app sends it, one frame per item: a tool round, each delta, then `response_complete`.

    With `extras`, a ping before the text and in its middle, and an event without a name whose data has two lines.
    """
    final = "".join(deltas)
    events: list[WebEvent] = [
        ToolStart("weather", '{"place":"Zürich"}'), ToolComplete("weather", "2 °C, light snow"),
        *(TextDeltaEvent(delta) for delta in deltas), ResponseComplete(final, len(final.split()), len(final), None),
    ]  # fmt: skip
    frames = [JSONServerSentEvent(payload(event), event=event.type, id=str(number), sep=sep).encode() for number, event in enumerate(events, 1)]
    if extras:
        middle = 2 + len(deltas) // 2
        frames[middle:middle] = [f"{PING}{sep}{sep}".encode(), f"data: an event without a name,{sep}data: in two lines{sep}{sep}".encode()]
        frames.insert(2, f"{PING}{sep}{sep}".encode())
    return frames


def cut_at(raw: bytes, points: Iterable[int]) -> list[bytes]:
    """`raw` cut at each of `points` (byte offsets), in order; empty pieces are dropped."""
    edges = [0, *sorted(set(points)), len(raw)]
    return [raw[start:end] for start, end in zip(edges, edges[1:]) if end > start]


def cut_randomly(raw: bytes, rng: random.Random, pieces: int) -> list[bytes]:
    """`raw` cut at `pieces - 1` points drawn from `rng`."""
    return cut_at(raw, rng.sample(range(1, len(raw)), min(pieces - 1, len(raw) - 1)))


@dataclass
class Fed:
    """The pieces, handed to the learner's reader one at a time; what it yielded, and how many pieces it had taken then."""

    pieces: list[bytes]
    expected: list[tuple[str, str]]  # what a browser dispatches from the same bytes
    taken: int = 0
    events: list[Any] = field(default_factory=list)
    taken_at: list[int] = field(default_factory=list)  # for each event, the pieces taken when it came out

    def chunks(self) -> Iterator[bytes]:
        for piece in self.pieces:
            self.taken += 1
            yield piece

    def read(self, read_events: ReadEvents) -> Fed:
        for event in read_events(self.chunks()):
            self.events.append(event)
            self.taken_at.append(self.taken)
        return self

    def due(self) -> list[int]:
        """For each event a browser dispatches, the pieces it needs: up to the one holding its blank line's end."""
        due: list[int] = []
        text = b""
        for number, piece in enumerate(self.pieces, 1):
            text += piece
            while len(parse_sse(text.decode("utf-8", errors="ignore"))) > len(due):
                due.append(number)
        return due


def fed(pieces: list[bytes]) -> Fed:
    """The pieces, and what a browser dispatches from them."""
    return Fed(pieces, [(event.event, event.data) for event in parse_sse(b"".join(pieces).decode())])
