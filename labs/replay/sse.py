"""The one place that knows the Server-Sent Events wire format, in both directions.

The replay server must hand each SDK the bytes its own parser expects: OpenAI's parser follows the
WHATWG rules, but azure-ai-agents splits the body on a literal ``b"\\n\\n"`` and reads only the last
``data:`` line of an event. So every event this package writes uses LF line endings, an ``event:``
line when the service sends one, and a single ``data:`` line. The parser below is the recorder's:
it cuts an upstream byte stream into events as they arrive, whatever line endings it uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SSEEvent", "SSEParser", "encode_event"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass(frozen=True)
class SSEEvent:
    """One event as it travels on the wire: its optional name and id, and its data text."""

    data: str
    event: str | None = None
    id: str | None = None


def encode_event(event: SSEEvent) -> bytes:
    """Frame one event the way OpenAI and Azure send it: `event:`, `id:`, then one `data:` line per line."""
    lines: list[str] = []
    if event.event is not None:
        lines.append(f"event: {event.event}")
    if event.id is not None:
        lines.append(f"id: {event.id}")
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(event.data))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


class SSEParser:
    """Incremental parser: feed it bytes as they arrive, get back the events that are now complete."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        events: list[SSEEvent] = []
        while (match := _EVENT_END.search(self._buffer)) is not None:
            block, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
            event = _parse_block(block.decode("utf-8"))
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[SSEEvent]:
        """Whatever is left when the stream ends without a final blank line."""
        rest, self._buffer = self._buffer, b""
        event = _parse_block(rest.decode("utf-8", errors="replace")) if rest.strip() else None
        return [event] if event is not None else []


def _parse_block(block: str) -> SSEEvent | None:
    name: str | None = None
    event_id: str | None = None
    data: list[str] = []
    for line in _LINE_BREAK.split(block):
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
    if not data and name is None:
        return None
    return SSEEvent(data="\n".join(data), event=name, id=event_id)
