"""The SSE wire format, as exact bytes, and the recorder's incremental parser."""

from __future__ import annotations

import pytest

from labs.replay.sse import SSEEvent, SSEParser, encode_event


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (SSEEvent(data='{"a":1}'), b'data: {"a":1}\n\n'),
        (SSEEvent(data="[DONE]"), b"data: [DONE]\n\n"),
        (SSEEvent(data="{}", event="thread.run.created"), b"event: thread.run.created\ndata: {}\n\n"),
        (SSEEvent(data="x", event="e", id="7"), b"event: e\nid: 7\ndata: x\n\n"),
        (SSEEvent(data="two\nlines"), b"data: two\ndata: lines\n\n"),
        (SSEEvent(data="caf\u00e9"), "data: caf\u00e9\n\n".encode()),
    ],
)
def test_encode_event_exact_bytes(event: SSEEvent, wire: bytes) -> None:
    assert encode_event(event) == wire


def test_parser_handles_any_split_and_line_ending() -> None:
    wire = "event: a\r\ndata: {\"t\":\"h\u00e9\"}\r\n\r\n: ping\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n".encode()
    for cut in range(1, len(wire)):
        parser = SSEParser()
        events = parser.feed(wire[:cut]) + parser.feed(wire[cut:]) + parser.flush()
        assert events == [SSEEvent(data='{"t":"h\u00e9"}', event="a"), SSEEvent(data="line1\nline2"), SSEEvent(data="[DONE]")], cut


def test_parser_keeps_a_final_event_without_blank_line() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: partial") == []
    assert parser.flush() == [SSEEvent(data="partial")]
