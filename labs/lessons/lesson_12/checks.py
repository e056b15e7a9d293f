"""Checks for lesson 12 (SSE to the browser): one event framed by hand (12.1), and events read back from bytes cut anywhere
(12.2, a challenge; harness in `reader.py`). Lesson 13's checks grade the route and the page."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from ...checks import Case, Mistake, exercise
from ...web.events import ResponseComplete, TextDeltaEvent, ToolStart, WebEvent, encode, payload
from .reader import PING, Fed, ReadEvents, cut_at, cut_randomly, fed, framed_answer, recorded_deltas

Frame = Callable[[str, dict[str, Any], int], bytes]


def _verify(expected: bytes) -> Callable[[object], None]:
    def verify(got: object) -> None:
        assert isinstance(got, bytes), f"return bytes (encode the text as UTF-8), not {type(got).__name__}"
        if got != expected:
            raise AssertionError(f"expected {expected!r}, got {got!r}")

    return verify


def frame_mistakes(event_type: str, data: dict[str, Any], event_id: int) -> tuple[Mistake, ...]:
    """The typical wrong answers to 12.1 for one event: each is the frame that mistake writes, compared byte for byte."""

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


@exercise("12.1", hint=(
    "text = f'id: {event_id}\\nevent: {event}\\ndata: ' + json.dumps(data, separators=(',', ':'), ensure_ascii=False) "
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


# -- exercise 12.2 (challenge): the events, from bytes cut anywhere --------------------------------------------------

RANDOM_CUTS = 8  # seeded: the same cuts on every run, so a verdict never changes between two runs


def _pairs(got: Fed) -> list[object]:
    return [tuple(event) if isinstance(event, list) else event for event in got.events]


def _first_difference(got: Fed) -> str:
    """What the reader yielded against what a browser dispatches, at the first event where they differ."""
    pairs = _pairs(got)
    at = next((i for i, (mine, theirs) in enumerate(zip(pairs, got.expected)) if mine != theirs), min(len(pairs), len(got.expected)))
    if at < len(pairs) and at < len(got.expected):
        return f"event {at + 1} is {pairs[at]!r}, where a browser dispatches {got.expected[at]!r}"
    if at < len(got.expected):
        return f"{len(pairs)} events came out, a browser dispatches {len(got.expected)}: event {at + 1} should be {got.expected[at]!r}"
    return f"{len(pairs)} events came out, a browser dispatches {len(got.expected)}: the first extra one is {pairs[at]!r}"


def _verify_events(runs: list[Fed]) -> None:
    for number, got in enumerate(runs, 1):
        pairs = _pairs(got)
        assert all(isinstance(pair, tuple) and len(pair) == 2 for pair in pairs), (
            f"yield each event as a pair (event, data), not {pairs[0]!r}" if pairs else "no event came out"
        )
        cut = f" (cut {number} of {len(runs)}, {len(got.pieces)} pieces)" if len(runs) > 1 else ""
        assert pairs == got.expected, _first_difference(got) + cut


def _verify_prompt(runs: list[Fed]) -> None:
    _verify_events(runs)
    for got in runs:
        late = [(number, taken, due) for number, (taken, due) in enumerate(zip(got.taken_at, got.due()), 1) if taken > due]
        assert not late, (
            f"event {late[0][0]} came out after {late[0][1]} of {len(got.pieces)} pieces; its blank line was complete after {late[0][2]}"
        )


def _every(runs: object, seen: Callable[[Fed], bool]) -> bool:
    return isinstance(runs, list) and any(isinstance(got, Fed) and seen(got) for got in runs)


def _raised(outcome: object, kind: type[BaseException]) -> bool:
    seen = [outcome] if isinstance(outcome, BaseException) else []
    while seen:
        error = seen.pop()
        if isinstance(error, kind):
            return True
        seen += [cause for cause in (error.__cause__, error.__context__) if cause is not None]
    return False


def _texts(got: Fed) -> list[str]:
    return [str(part) for pair in _pairs(got) if isinstance(pair, tuple) for part in pair]


def reader_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 12.2, from the events a reader yielded (the first that sees itself gives the hint)."""
    return (
        Mistake("a piece can end inside a character UTF-8 writes in two bytes (the ° of 2 °C): decode with an incremental "
                "decoder, codecs.getincrementaldecoder('utf-8')(), which keeps half a character for the next piece",
                lambda got: _raised(got, UnicodeDecodeError) or _every(got, lambda run: any("\ufffd" in text for text in _texts(run)))),
        Mistake("lines may end in \\r\\n (sse-starlette's default) as well as \\n: split the lines on \\n and drop a \\r at the end of "
                "each, so an event ends at an empty line either way",
                lambda got: _every(got, lambda run: b"\r\n" in b"".join(run.pieces) and (not run.events or any(text.endswith("\r") for text in _texts(run))))),
        Mistake("a line starting with ':' is a comment (a ping): skip it, it is not an event",
                lambda got: _every(got, lambda run: any(PING[2:] in text for text in _texts(run)))),
        Mistake('an event without an `event:` line is a "message" event: its name is "message", not ""',
                lambda got: _every(got, lambda run: any(pair[0] == "" for pair in _pairs(run) if isinstance(pair, tuple)))),
        Mistake("an event may hold several `data:` lines: join their values with \\n",
                lambda got: _every(got, lambda run: any(pair[1] == "in two lines" for pair in _pairs(run) if isinstance(pair, tuple)))),
        Mistake("yield each event as soon as its blank line has arrived: the reader waits for it, so do not read the whole "
                "stream first", lambda got: _every(got, lambda run: len(run.pieces) > 2 and bool(run.taken_at) and run.taken_at[0] == len(run.pieces))),
        Mistake("an event is complete only once its blank line has arrived: one cut off at the end of the stream is dropped, as a "
                "browser drops it", lambda got: _every(got, lambda run: len(run.events) == len(run.expected) + 1)),
        Mistake("a piece can end anywhere, in the middle of a line or of an event: keep the text after the last line end and "
                "put the next piece after it", lambda got: _every(got, lambda run: len(run.events) < len(run.expected))),
    )


@exercise("12.2", hint=(
    "decoder = codecs.getincrementaldecoder('utf-8')(); buffer, name, data = '', '', []; for each chunk: *lines, buffer = "
    "(buffer + decoder.decode(chunk)).split('\\n'); for each line, line = line.removesuffix('\\r'); an empty line yields "
    "(name or 'message', '\\n'.join(data)) if data, then resets name and data; a line starting with ':' is skipped; otherwise "
    "field, _, value = line.partition(':'), value = value.removeprefix(' '), and `event` sets name, `data` appends to data."
))
def check_reader(read_events: ReadEvents) -> Iterator[Case]:
    deltas = recorded_deltas()
    lf, crlf = framed_answer(deltas), framed_answer(deltas, sep="\r\n")
    with_extras = framed_answer(deltas, extras=True)
    raw, raw_crlf = b"".join(lf), b"".join(crlf)
    rng = random.Random(12_2)
    mistakes = reader_mistakes()

    def reads(*cuts: list[bytes]) -> Callable[[], list[Fed]]:
        return lambda: [fed(pieces).read(read_events) for pieces in cuts]

    yield Case("a recorded answer as the web app sends it, one piece per event", run=reads(lf), verify=_verify_events,
               hint="split the text into lines; an empty line ends an event: yield (event, data) then", mistakes=mistakes)
    yield Case("the same bytes, one byte at a time", run=reads(cut_at(raw, range(1, len(raw)))), verify=_verify_events,
               hint="a piece can end anywhere, even inside a character: keep what is not a whole line yet for the next piece", mistakes=mistakes)
    yield Case(f"the same bytes cut at random points, {RANDOM_CUTS} times", run=reads(*(cut_randomly(raw, rng, rng.randint(3, 80)) for _ in range(RANDOM_CUTS))),
               verify=_verify_events, hint="keep the text after the last line end, and the name and data lines seen so far, between pieces", mistakes=mistakes)
    middles = [index + 1 for index in range(len(raw_crlf)) if raw_crlf.startswith(b"\r\n", index)]
    yield Case("lines ending in \\r\\n, cut between every \\r and its \\n", run=reads(crlf, cut_at(raw_crlf, middles)), verify=_verify_events,
               hint="a line ends at \\n or \\r\\n; a \\r at the end of a piece may be the first half of one", mistakes=mistakes)
    yield Case("pings, an event without a name, and a data field of two lines", run=reads(with_extras, cut_randomly(b"".join(with_extras), rng, 30)),
               verify=_verify_events, hint="skip comment lines (':'), name an unnamed event 'message', join data lines with \\n", mistakes=mistakes)
    yield Case("each event comes out as soon as its blank line has arrived", run=reads(cut_randomly(raw, rng, 40)), verify=_verify_prompt,
               hint="yield inside the loop over the pieces, the moment a blank line ends an event", mistakes=mistakes)
    cut_short = raw[: raw.rindex(b"\n\n", 0, len(raw) - 2) + 2] + b"id: 99\nevent: text_delta\ndata: {\"delta\":\"never finished\"}\n"
    yield Case("an event cut off at the end, without its blank line, is not an event", run=reads(cut_randomly(cut_short, rng, 12)),
               verify=_verify_events, hint="dispatch an event only at the empty line that ends it", mistakes=mistakes)
