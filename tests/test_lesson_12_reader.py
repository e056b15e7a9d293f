"""Exercise 12.2, an open-ended challenge graded on behaviour: the events of an SSE stream, from bytes cut anywhere.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake
(tests/exercise_support.py: `AnswerTable`). The bytes are a recorded answer replayed through the real SDK on a
server of the check's own, framed by sse-starlette as the web app frames it; the expected events are what a
browser dispatches from them (`parse_sse`), so no row depends on the recorded wording.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

from labs.lessons.lesson_12.reader import fed, framed_answer, parse_sse
from tests.exercise_support import AnswerTable, assert_not_done

Events = Iterator[tuple[str, str]]


def _fields(lines: Iterable[str]) -> Events:
    """The events of complete lines, for the answers below that differ only in how they find the lines."""
    name, data = "", []
    for line in lines:
        if not line:
            if data:
                yield name or "message", "\n".join(data)
            name, data = "", []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            if field == "event":
                name = value.removeprefix(" ")
            elif field == "data":
                data.append(value.removeprefix(" "))


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    buffer = ""
    for chunk in chunks:
        *complete, buffer = (buffer + decoder.decode(chunk)).split("\n")
        yield from (line.removesuffix("\r") for line in complete)


def read_events(chunks: Iterable[bytes]) -> Events:
    yield from _fields(_lines(chunks))


def bytes_until_line_ends(chunks: Iterable[bytes]) -> Events:  # another right way: cut bytes at b"\n", decode whole lines
    def lines() -> Iterator[str]:
        held = b""
        for chunk in chunks:
            *complete, held = (held + chunk).split(b"\n")
            yield from (re.sub("\r$", "", line.decode()) for line in complete)

    yield from _fields(lines())


def decodes_each_piece(chunks: Iterable[bytes]) -> Events:
    def lines() -> Iterator[str]:
        held = ""
        for chunk in chunks:
            *complete, held = (held + chunk.decode()).split("\n")
            yield from (line.removesuffix("\r") for line in complete)

    yield from _fields(lines())


def reads_the_whole_stream_first(chunks: Iterable[bytes]) -> Events:
    yield from _fields(line.removesuffix("\r") for line in b"".join(chunks).decode().split("\n")[:-1])


def blocks_of_each_piece(chunks: Iterable[bytes]) -> Events:  # each piece parsed as if it held whole events
    decoder = codecs.getincrementaldecoder("utf-8")()
    for chunk in chunks:
        yield from _fields(decoder.decode(chunk).replace("\r\n", "\n").split("\n"))


def blank_line_is_lf_lf(chunks: Iterable[bytes]) -> Events:  # events found at "\n\n" only
    decoder = codecs.getincrementaldecoder("utf-8")()
    held = ""
    for chunk in chunks:
        *blocks, held = (held + decoder.decode(chunk)).split("\n\n")
        for block in blocks:
            yield from _fields([*block.split("\n"), ""])


def comments_are_events(chunks: Iterable[bytes]) -> Events:
    for name, data in read_events(chunks):
        yield name, data
        if name == "tool_complete":
            yield "ping", "ping - 2026-12-01 09:30:00.000000"  # as a reader that keeps ':' lines would


def unnamed_is_empty(chunks: Iterable[bytes]) -> Events:
    for name, data in read_events(chunks):
        yield ("" if name == "message" else name), data


def keeps_the_last_data_line(chunks: Iterable[bytes]) -> Events:
    for name, data in read_events(chunks):
        yield name, data.split("\n")[-1]


def flushes_at_the_end(chunks: Iterable[bytes]) -> Events:  # an event still open when the stream ends is sent anyway
    def lines() -> Iterator[str]:
        yield from _lines(chunks)
        yield ""

    yield from _fields(lines())


def untouched(chunks: Iterable[bytes]) -> Events:
    raise NotImplementedError("Exercise 12.2: complete read_events. Hint: every event, whole and in order")


BYTE_BY_BYTE = "the same bytes, one byte at a time"
CRLF = "lines ending in \\r\\n, cut between every \\r and its \\n"
EXTRAS = "pings, an event without a name, and a data field of two lines"


class TestReadEvents(AnswerTable):
    right_answers = [("12.2", read_events), ("12.2", bytes_until_line_ends)]
    wrong_answers = [
        ("12.2", decodes_each_piece, BYTE_BY_BYTE, "incremental decoder"),
        ("12.2", reads_the_whole_stream_first, "each event comes out as soon as its blank line has arrived", "do not read the whole stream first"),
        ("12.2", blocks_of_each_piece, BYTE_BY_BYTE, "keep the text after the last line end"),
        ("12.2", blank_line_is_lf_lf, CRLF, "drop a \\r at the end"),
        ("12.2", comments_are_events, EXTRAS, "is a comment"),
        ("12.2", unnamed_is_empty, EXTRAS, 'its name is "message"'),
        ("12.2", keeps_the_last_data_line, EXTRAS, "join their values"),
        ("12.2", flushes_at_the_end, "an event cut off at the end, without its blank line, is not an event", "one cut off at the end of the stream is dropped"),
    ]


def test_the_untouched_stub_is_not_done() -> None:
    assert_not_done("12.2", untouched, "complete read_events")


def test_the_expected_events_are_a_browsers_and_hold_every_delta_whatever_the_cut() -> None:
    deltas = ["At 2 °C", "\n\n-", " a layer", "\n"]
    frames = framed_answer(deltas, sep="\r\n", extras=True)
    expected = fed(frames).expected
    assert [name for name, _ in expected].count("text_delta") == len(deltas)
    assert ("message", "an event without a name,\nin two lines") in expected
    assert not any(name.startswith(":") or "ping" in data for name, data in expected)
    assert parse_sse(b"".join(frames).decode()[:-2])[-1].event != "response_complete"  # an unfinished event is not dispatched
