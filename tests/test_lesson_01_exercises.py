"""Exercise 1.2, an open-ended challenge graded on behaviour: whole words only, each as soon as it is complete.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
The first exercise, 1.1, is in tests/test_hints.py with the other lessons' first exercises.
"""

from __future__ import annotations

from typing import Any

from labs.checks import evaluate
from tests.exercise_support import AnswerTable, hints, lesson_01_loop


def words_by_regex(stream: Any) -> str:
    import re

    shown, pending = [], ""
    for chunk in stream:
        text = chunk.choices[0].delta.content if chunk.choices else None
        if text:
            ready, pending = re.match(r"(.*\s|)(\S*)$", pending + text, re.DOTALL).groups()  # type: ignore[union-attr]
            print(ready, end="", flush=True)
            shown.append(ready)
    print(pending, end="", flush=True)
    return "".join(shown) + pending


def words_by_characters(stream: Any) -> str:  # another right way: a word is out when a whitespace character follows it
    text, word = "", ""
    for chunk in stream:
        for character in (chunk.choices[0].delta.content or "") if chunk.choices else "":
            text += character
            if character.isspace():
                print(word + character, end="", flush=True)
                word = ""
            else:
                word += character
    print(word, end="")
    return text


def words_at_the_end(stream: Any) -> str:
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    print(text, end="")
    return text


def words_without_the_last(stream: Any) -> str:
    text, word = "", ""
    for chunk in stream:
        for character in (chunk.choices[0].delta.content or "") if chunk.choices else "":
            text += character
            word += character
            if character.isspace():
                print(word, end="", flush=True)
                word = ""
    return text


def words_split_at_spaces(stream: Any) -> str:
    text, pending = "", ""
    for chunk in stream:
        piece = (chunk.choices[0].delta.content or "") if chunk.choices else ""
        text, pending = text + piece, pending + piece
        *done, pending = pending.split(" ")
        for word in done:
            print(word, end=" ", flush=True)
    print(pending, end="")
    return text


USAGE = "a stream ending in a usage chunk (choices == [])"
SPLIT_WORDS = "words split across deltas ('three' '-' 'layer', Markdown lines)"


class TestAnswers(AnswerTable):
    right_answers = [("1.2", words_by_regex), ("1.2", words_by_characters)]
    wrong_answers = [
        ("1.2", lesson_01_loop, USAGE, "`chunk.choices[0]` raises IndexError"),
        ("1.2", words_at_the_end, SPLIT_WORDS, "waited for the end of the stream"),
        ("1.2", words_without_the_last, SPLIT_WORDS, "the last word has no whitespace after it"),
        ("1.2", words_split_at_spaces, SPLIT_WORDS, "a word ends at a newline too"),
    ]


def test_printing_each_delta_shows_half_a_word_and_says_so() -> None:
    def lesson_loop_per_pull(stream: Any) -> str:
        text = ""
        for chunk in stream:
            piece = (chunk.choices[0].delta.content or "") if chunk.choices else ""
            print(piece, end="", flush=True)
            text += piece
        return text

    failed = hints(evaluate("1.2", lesson_loop_per_pull))
    assert "hold back what follows the last whitespace" in failed[SPLIT_WORDS], failed
