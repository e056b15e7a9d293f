"""Checks for lesson 01 (basic streaming).

Each case's hint answers the mistake the check recognises in what the learner's code printed, returned or
raised (reading `choices[0]` on the usage chunk, joining a `None`, printing a newline per piece); a case
whose failure it does not recognise gets the case's own hint.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ...checks import Case, Mistake, exercise
from ...recordings import chat_chunks, chat_text


def _printed_and_returned(collect: Callable[[Iterator[object]], str], chunks: list) -> tuple[str, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = collect(iter(chunks))
    return printed.getvalue(), returned


def _returned(test: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda outcome: isinstance(outcome, tuple) and test(outcome[1])


def _printed(test: Callable[[str], bool]) -> Callable[[object], bool]:
    return lambda outcome: isinstance(outcome, tuple) and test(outcome[0])


def collect_mistakes(text: str) -> tuple[Mistake, ...]:
    """The typical wrong answers to 1.1 on a stream whose text is `text`."""
    return (
        Mistake("a usage chunk has an empty `choices` list, so `chunk.choices[0]` raises IndexError: look before you take the first choice",
                lambda outcome: isinstance(outcome, IndexError)),
        Mistake("some deltas carry no text at all (`delta.content is None`, as in a tool call): keep only the pieces that are text",
                lambda outcome: isinstance(outcome, TypeError) and "None" in str(outcome)),
        Mistake("`None` was printed: a delta whose content is None has no text to show, so skip it",
                _printed(lambda printed: "None" in printed and "None" not in text)),
        Mistake("return the answer as one string (join the pieces), not a list of pieces", _returned(lambda value: isinstance(value, list))),
        Mistake("the function printed but returned nothing: return the text you printed", _returned(lambda value: value is None)),
        Mistake("nothing was printed: print each piece as it arrives, so the reader sees the answer being written",
                _printed(lambda printed: printed == "" and text != "")),
        Mistake("each piece went on a line of its own: print(text, end=\"\", flush=True) keeps the pieces on one line",
                _printed(lambda printed: printed != text and printed.replace("\n", "") == text.replace("\n", ""))),
    )


@exercise("1.1", hint=(
    "for chunk in stream: skip the chunk when chunk.choices is empty; text = chunk.choices[0].delta.content; "
    "if text: print(text, end='', flush=True) and keep it in a list; return ''.join(pieces) at the end"
))
def check_collect_stream(collect_stream: Callable[[Iterator[object]], str]) -> Iterator[Case]:
    cases = [
        ("a plain text stream", "01_basic_streaming/three_layers", 0),
        ("a stream ending in a usage chunk (choices == [])", "sdk_smoke/chat_text", 0),
        ("a stream whose deltas carry no text (content None)", "sdk_smoke/chat_tool_round", 0),
    ]
    for name, fixture, request in cases:
        chunks = chat_chunks(fixture, request)
        text = chat_text(fixture, request)
        yield Case(
            name,
            run=lambda chunks=chunks: _printed_and_returned(collect_stream, chunks),
            expected=(text, text),
            hint="print every piece of text as it arrives and return exactly the text you printed",
            mistakes=collect_mistakes(text),
        )


# Exercise 1.2: print the answer in whole words. Graded on behaviour, at every moment the learner's code asks the
# stream for its next chunk: what is on the screen then is a prefix of the answer that ends between words (never
# half a word), and it holds every word already complete in what has arrived (no word waits for the end).


class _Screen(io.StringIO):
    """Standard output while the learner's code runs."""


def _boundary(text: str, shown: str) -> bool:
    """Whether `shown` is a beginning of `text` that stops between two words (or at the end)."""
    return text.startswith(shown) and (not shown or len(shown) == len(text) or shown[-1].isspace() or text[len(shown)].isspace())


def _complete_words(arrived: str) -> int:
    """How much of `arrived` is made of words already followed by whitespace."""
    last_space = max((i for i, c in enumerate(arrived) if c.isspace()), default=0)
    return len(arrived[:last_space].rstrip())


@dataclass
class WordsOutcome:
    """What the screen showed each time the learner's code asked for the next chunk, and what it returned."""

    seen: list[tuple[str, str]]  # (text arrived so far, what was on the screen), one per pull
    printed: str
    returned: object


def _watch_words(print_whole_words: Callable[[Iterator[object]], str], chunks: list) -> WordsOutcome:
    screen = _Screen()
    seen: list[tuple[str, str]] = []

    def pulled() -> Iterator[object]:
        arrived = ""
        for chunk in chunks:
            seen.append((arrived, screen.getvalue()))
            yield chunk
            if chunk.choices and chunk.choices[0].delta.content:
                arrived += chunk.choices[0].delta.content
        seen.append((arrived, screen.getvalue()))

    with contextlib.redirect_stdout(screen):
        returned = print_whole_words(pulled())
    return WordsOutcome(seen, screen.getvalue(), returned)


def _verify_words(text: str) -> Callable[[WordsOutcome], None]:
    def verify(outcome: WordsOutcome) -> None:
        for arrived, shown in outcome.seen:
            assert _boundary(text, shown), f"the screen showed {shown[-30:]!r}, half a word: the answer goes on {text[len(shown):len(shown) + 15]!r}"
            assert len(shown) >= _complete_words(arrived), (
                f"{arrived[len(shown):_complete_words(arrived)][:40]!r} had arrived whole but was not on the screen yet")
        assert outcome.printed == text, f"printed {outcome.printed[-40:]!r} at the end; the answer ends {text[-40:]!r}"
        assert outcome.returned == text, f"returned {outcome.returned!r:.50}, not the whole answer"

    return verify


def words_mistakes(text: str) -> tuple[Mistake, ...]:
    """The typical wrong answers to 1.2, recognised in what the screen showed along the way."""

    def screens(test: Callable[[WordsOutcome], bool]) -> Callable[[object], bool]:
        return lambda outcome: isinstance(outcome, WordsOutcome) and test(outcome)

    return (
        Mistake("a delta can end in the middle of a word (' three', '-', 'layer'): hold back what follows the last whitespace "
                "until more whitespace arrives", screens(lambda o: any(not _boundary(text, shown) for _, shown in o.seen))),
        Mistake("the words waited for the end of the stream: print each one as soon as the whitespace after it has arrived",
                screens(lambda o: bool(text.strip()) and all(shown == "" for _, shown in o.seen[:-1]))),
        Mistake("a word ends at a newline too, not only at a space: look for any whitespace (str.isspace, or \\s in a regex)",
                screens(lambda o: any(len(shown) < _complete_words(arrived) and "\n" in arrived[len(shown):]
                                      and " " not in arrived[len(shown):_complete_words(arrived)] for arrived, shown in o.seen))),
        Mistake("the last word has no whitespace after it: print what is left when the stream ends",
                screens(lambda o: o.printed != text and text.startswith(o.printed) and text[len(o.printed):].strip() != "")),
        Mistake("keep the whitespace as it came (newlines too): print the text up to the whitespace, not words joined by spaces",
                screens(lambda o: o.printed != text and o.printed.split() == text.split())),
        Mistake("a usage chunk has an empty `choices` list, so `chunk.choices[0]` raises IndexError: look before you take the first choice",
                lambda outcome: isinstance(outcome, IndexError)),
    )


@exercise("1.2", hint=(
    "keep a `pending` string; for each piece of text: pending += piece, then split pending at its last whitespace character "
    "(pending.rstrip() tells you where the last word starts, or use re.match(r'(.*\\s)(\\S*)$', pending, re.S)); print the part "
    "up to and including that whitespace (end='', flush=True) and keep the rest in pending; after the loop print pending"
))
def check_print_whole_words(print_whole_words: Callable[[Iterator[object]], str]) -> Iterator[Case]:
    cases = [
        ("words split across deltas ('three' '-' 'layer', Markdown lines)", "01_basic_streaming/three_layers", 0),
        ("a stream ending in a usage chunk (choices == [])", "sdk_smoke/chat_text", 0),
        ("a stream whose deltas carry no text (content None)", "sdk_smoke/chat_tool_round", 0),
    ]
    for name, fixture, request in cases:
        chunks = chat_chunks(fixture, request)
        text = chat_text(fixture, request)
        yield Case(
            name,
            run=lambda chunks=chunks: _watch_words(print_whole_words, chunks),
            verify=_verify_words(text),
            hint="the reader must never see half a word, and never wait for a word that has arrived whole",
            mistakes=words_mistakes(text),
        )
