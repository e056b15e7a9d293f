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


@pytest.mark.parametrize(
    ("wire", "events"),
    [
        (b"data: a\n\r\ndata: b\n\n", [SSEEvent(data="a"), SSEEvent(data="b")]),  # LF, then a CRLF blank line
        (b"data: a\r\n\ndata: b\r\r", [SSEEvent(data="a"), SSEEvent(data="b")]),  # CRLF then LF; CR CR
        (b"data: a\rdata: b\n\n", [SSEEvent(data="a\nb")]),  # a lone CR ends a line, not the event
    ],
)
def test_parser_reads_mixed_line_endings_at_any_split(wire: bytes, events: list[SSEEvent]) -> None:
    for cut in range(len(wire) + 1):
        parser = SSEParser()
        assert parser.feed(wire[:cut]) + parser.feed(wire[cut:]) + parser.flush() == events, cut


@pytest.mark.parametrize("event", [SSEEvent(data="x", event="a\nb"), SSEEvent(data="x", event="a\r"), SSEEvent(data="x", id="1\r\n2")])
def test_a_name_or_id_with_a_line_break_cannot_be_framed(event: SSEEvent) -> None:
    with pytest.raises(ValueError, match="cannot hold a line break"):
        encode_event(event)
