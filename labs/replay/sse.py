"""The one place that knows the Server-Sent Events wire format, in both directions.

The replay server must hand each SDK the bytes its own parser expects: OpenAI's parser follows the
WHATWG rules, but azure-ai-agents splits the body on a literal ``b"\\n\\n"`` and reads only the last
``data:`` line of an event. So every event this package writes uses LF line endings, an ``event:``
line when the service sends one, and a single ``data:`` line. The parser below is the recorder's:
it cuts an upstream byte stream into events as they arrive, whatever line endings it uses, and reads
what the encoder wrote back to the same event (`tests/test_fuzz_sse.py` checks both for any event).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SSEEvent", "SSEParser", "encode_event"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class SSEEvent:
    """One event as it travels on the wire: its optional name and id, and its data text."""

    data: str
    event: str | None = None
    id: str | None = None


def encode_event(event: SSEEvent) -> bytes:
    """Frame one event the way OpenAI and Azure send it: `event:`, `id:`, then one `data:` line per line.

    The parser below reads these bytes back to the same event, except that a CR or CRLF in the data comes
    back as LF (the wire format has no way to tell them apart). A name or id cannot hold a line break at all.
    """
    lines: list[str] = []
    for field, value in (("event", event.event), ("id", event.id)):
        if value is not None:
            if _LINE_BREAK.search(value):
                raise ValueError(f"an SSE {field} cannot hold a line break: {value[:80]!r}")
            lines.append(f"{field}: {value}")
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(event.data))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


class SSEParser:
    """Incremental parser: feed it bytes as they arrive, get back the events that are now complete.

    It reads line by line as the WHATWG rules do: a line ends at LF, CRLF or CR (even mixed in one stream,
    even a CRLF cut between two chunks), a blank line ends the event, a line starting with `:` is a comment.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._scanned = 0  # where the search for the next line end resumes: a long line is not searched again
        self._name: str | None = None
        self._id: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        events: list[SSEEvent] = []
        start = 0
        while (match := _LINE_END.search(self._buffer, max(start, self._scanned))) is not None:
            if match.group() == b"\r" and match.end() == len(self._buffer):
                break  # maybe the first half of a CRLF: wait for the next byte
            self._read_line(self._buffer[start : match.start()], events)
            start = self._scanned = match.end()
        self._buffer = self._buffer[start:]
        self._scanned = max(0, len(self._buffer) - 1) if self._buffer.endswith(b"\r") else len(self._buffer)
        return events

    def flush(self) -> list[SSEEvent]:
        """Whatever is left when the stream ends without a final blank line."""
        events: list[SSEEvent] = []
        rest, self._buffer, self._scanned = self._buffer, b"", 0
        for line in _LINE_END.split(rest[:-1] if rest.endswith(b"\r") else rest):
            self._read_line(line, events)
        self._read_line(b"", events)
        return events

    def _read_line(self, raw: bytes, events: list[SSEEvent]) -> None:
        line = raw.decode("utf-8", errors="replace")
        if not line:
            if self._data or self._name is not None:
                events.append(SSEEvent(data="\n".join(self._data), event=self._name, id=self._id))
            self._name, self._id, self._data = None, None, []
            return
        if line.startswith(":"):
            return
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            self._name = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            self._id = value
