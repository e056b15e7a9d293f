"""Checks for lesson 09 (SSE to the browser): one event framed by hand, byte for byte as sse-starlette frames it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from ...checks import Case, Mistake, exercise
from ...web.events import ResponseComplete, TextDeltaEvent, ToolStart, WebEvent, encode, payload

Frame = Callable[[str, dict[str, Any], int], bytes]


def _verify(expected: bytes) -> Callable[[object], None]:
    def verify(got: object) -> None:
        assert isinstance(got, bytes), f"return bytes (encode the text as UTF-8), not {type(got).__name__}"
        if got != expected:
            raise AssertionError(f"expected {expected!r}, got {got!r}")

    return verify


def frame_mistakes(event_type: str, data: dict[str, Any], event_id: int) -> tuple[Mistake, ...]:
    """The typical wrong answers to 9.1 for one event: each is the frame that mistake writes, compared byte for byte."""

    def framed(body: str, end: str = "\n\n") -> bytes:
        return f"id: {event_id}\nevent: {event_type}\ndata: {body}{end}".encode()

    compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    right = framed(compact)

    def writes(wrong: bytes) -> Callable[[object], bool]:
        return lambda got: wrong != right and got == wrong

    return (
        Mistake("return bytes: encode the frame's text as UTF-8", lambda got: isinstance(got, str)),
        Mistake("an event ends with a blank line: the browser dispatches it only after the empty line that follows the data",
                writes(framed(compact, "\n"))),
        Mistake("json.dumps puts a space after ',' and ':' unless you pass separators=(',', ':')", writes(framed(json.dumps(data, ensure_ascii=False)))),
        Mistake("json.dumps escapes every non-ASCII character unless told not to: the stream is UTF-8, keep the text as it is",
                writes(framed(json.dumps(data, separators=(",", ":"))))),
        Mistake("the frame's lines end in '\\n' alone, not '\\r\\n'",
                writes(right.replace(b"\n", b"\r\n"))),
    )


@exercise("9.1", hint=(
    "text = f'id: {event_id}\\nevent: {event_type}\\ndata: ' + json.dumps(data, separators=(',', ':'), ensure_ascii=False) "
    "+ '\\n\\n'; return text.encode('utf-8')"
))
def check_frame(frame: Frame) -> Iterator[Case]:
    cases: list[tuple[str, WebEvent, int, str]] = [
        ("a text delta", TextDeltaEvent("Hello"), 3, "write id:, event: and data: lines, each ending in \\n, then a blank line; the data is compact JSON (separators=(',', ':'))"),
        ("a delta holding newlines", TextDeltaEvent("\n\n- Water"), 4, "put JSON after data:, so the newlines travel escaped"),
        ("a delta with non-ASCII text", TextDeltaEvent("6\u00b0C, snow"), 5, "json.dumps(..., ensure_ascii=False) keeps the text as UTF-8"),
        ("a tool call with JSON arguments", ToolStart("trail_conditions", '{"trail":"Ridge Trail"}'), 6, "compact JSON: separators=(',', ':')"),
        ("the final event, ttft_ms null", ResponseComplete("Hi.", 1, 3, None), 7, "None becomes null in JSON"),
    ]
    for name, event, event_id, hint in cases:
        expected = encode(event, event_id).encode()  # sse-starlette's own bytes for this event
        yield Case(name, run=lambda event=event, event_id=event_id: frame(event.type, payload(event), event_id), verify=_verify(expected), hint=hint,
                   mistakes=frame_mistakes(event.type, payload(event), event_id))
