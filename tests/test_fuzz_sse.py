"""Properties of the SSE wire format (hypothesis): whatever an event holds, the parser reads back what the encoder wrote.

The events are generated with what breaks hand-written framing: line breaks of every kind in the data,
leading spaces (the parser drops exactly one), colons, unicode, empty values; the wire is cut into chunks
anywhere (inside a CRLF, inside a character), and an upstream's wire may use any mix of line endings.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from labs.replay.sse import SSEEvent, SSEParser, encode_event

FUZZED = {"exact": 300, "line_breaks": 300, "chunks": 150, "endings": 150, "refused": 100}
PROFILE = {"deadline": None, "derandomize": True, "database": None}

# One line of text: any character but a line break or a lone surrogate (which UTF-8 cannot carry).
line_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n") | st.sampled_from([" ", ":", "\t", "é", "🙂", "\u2028", "\x00"]),
    max_size=20,
)
names = st.none() | line_text
lf_data = st.lists(line_text, min_size=1, max_size=5).map("\n".join)
any_data = st.lists(st.tuples(line_text, st.sampled_from(["\n", "\r", "\r\n"])), min_size=1, max_size=5).map(
    lambda parts: "".join(text + brk for text, brk in parts[:-1]) + parts[-1][0]
)
lf_events = st.builds(SSEEvent, data=lf_data, event=names, id=names)


def parse(wire: bytes, cuts: list[int] = []) -> list[SSEEvent]:  # noqa: B006 - read only
    parser, events, start = SSEParser(), [], 0
    for cut in sorted(cuts) + [len(wire)]:
        events += parser.feed(wire[start:cut])
        start = cut
    return events + parser.flush()


@settings(max_examples=FUZZED["exact"], **PROFILE)
@given(lf_events)
def test_an_event_round_trips_exactly(event: SSEEvent) -> None:
    wire = encode_event(event)
    assert parse(wire) == [event]
    assert encode_event(parse(wire)[0]) == wire


@settings(max_examples=FUZZED["line_breaks"], **PROFILE)
@given(any_data, names, names)
def test_any_data_comes_back_with_its_line_breaks_as_lf_and_the_same_bytes(data: str, name: str | None, event_id: str | None) -> None:
    # The wire cannot tell CR, LF and CRLF apart inside data: each comes back as LF, and is sent the same.
    event = SSEEvent(data=data, event=name, id=event_id)
    [back] = parse(encode_event(event))
    assert back == SSEEvent(data=re.sub(r"\r\n|\r", "\n", data), event=name, id=event_id)
    assert encode_event(back) == encode_event(event)


@settings(max_examples=FUZZED["chunks"], **PROFILE)
@given(st.lists(lf_events, min_size=1, max_size=6), st.data())
def test_a_stream_parses_back_whatever_chunks_it_arrives_in(events: list[SSEEvent], draw: st.DataObject) -> None:
    wire = b"".join(encode_event(e) for e in events)
    cuts = draw.draw(st.lists(st.integers(0, len(wire)), max_size=12))
    assert parse(wire, cuts) == events


@st.composite
def upstream_wires(draw: st.DrawFn) -> tuple[bytes, list[SSEEvent]]:
    """Events as an upstream may write them: any line endings, comments and unknown fields between the lines."""
    events = draw(st.lists(lf_events, min_size=1, max_size=5))
    out, previous = [], ""

    def end_line(text: str) -> None:
        nonlocal previous
        # A CR then an LF would read as one CRLF: an upstream that ends a line with CR never starts the next end with LF.
        choices = ["\r", "\r\n"] if previous == "\r" and not text else ["\n", "\r", "\r\n"]
        previous = draw(st.sampled_from(choices))
        out.append(text + previous)

    for event in events:
        lines = [f"event: {event.event}"] * (event.event is not None) + [f"id: {event.id}"] * (event.id is not None)
        lines += [f"data: {line}" for line in event.data.split("\n")]
        for line in lines:
            for extra in draw(st.lists(st.sampled_from([": keep-alive", "retry: 100", ":"]), max_size=1)):
                end_line(extra)
            end_line(line)
        end_line("")
    wire = "".join(out).encode()
    return wire, events


@settings(max_examples=FUZZED["endings"], **PROFILE)
@given(upstream_wires(), st.data())
def test_an_upstream_with_any_line_endings_is_read_as_sent(upstream: tuple[bytes, list[SSEEvent]], draw: st.DataObject) -> None:
    wire, events = upstream
    cuts = draw.draw(st.lists(st.integers(0, len(wire)), max_size=8))
    assert parse(wire, cuts) == events


@settings(max_examples=FUZZED["refused"], **PROFILE)
@given(line_text, st.sampled_from(["\n", "\r", "\r\n"]), line_text, st.sampled_from(["event", "id"]))
def test_a_name_or_id_with_a_line_break_is_refused_not_framed(before: str, brk: str, after: str, field: str) -> None:
    try:
        encode_event(SSEEvent(data="x", **{field: before + brk + after}))
    except ValueError as exc:
        assert "line break" in str(exc)
    else:
        raise AssertionError("an event whose name or id holds a line break was framed")
