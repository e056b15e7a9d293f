"""Exercise 2.2, an open-ended challenge graded on behaviour: show the first answer live, keep every answer.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
An untouched stub is "not done".
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from labs.reply import ReplyCollector, StreamedReply
from tests.exercise_support import AnswerTable, assert_not_done


# -- 2.2: show the first answer live, keep every answer --------------------------------------------------------


def collects_by_index(stream: Any) -> list[StreamedReply]:
    answers: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            answer = answers.setdefault(choice.index, {"text": "", "refusal": None, "finish_reason": None})
            for field in ("content", "refusal"):
                piece = getattr(choice.delta, field)
                if piece:
                    if choice.index == 0:
                        print(piece, end="", flush=True)
                    key = "text" if field == "content" else "refusal"
                    answer[key] = (answer[key] or "") + piece
            answer["finish_reason"] = choice.finish_reason or answer["finish_reason"]
    return [StreamedReply(**answers[index], usage=usage) for index in sorted(answers)]


def collects_with_collectors(stream: Any) -> list[StreamedReply]:  # another right way: one ReplyCollector per choice
    collectors: dict[int, ReplyCollector] = {}
    for chunk in stream:
        for index in sorted({choice.index for choice in chunk.choices} | {0}):
            collectors.setdefault(index, ReplyCollector(index))
        for index, collector in collectors.items():
            for event in collector.add(chunk):
                if index == 0 and event.type in ("text", "refusal"):
                    print(event.text, end="", flush=True)
    return [collectors[index].reply() for index in sorted(collectors)]


def first_choice_always(stream: Any) -> list[StreamedReply]:
    text, finish_reason = "", None
    for chunk in stream:
        choice = chunk.choices[0]
        print(choice.delta.content or "", end="", flush=True)
        text += choice.delta.content or ""
        finish_reason = choice.finish_reason or finish_reason
    return [StreamedReply(text=text, finish_reason=finish_reason)]


def prints_every_choice(stream: Any) -> list[StreamedReply]:
    return _quiet(collects_by_index, list(_echo_every_choice(stream)))  # collected right, shown wrong


def _echo_every_choice(stream: Any) -> Any:
    for chunk in stream:
        for choice in chunk.choices:
            print((choice.delta.content or "") + (choice.delta.refusal or ""), end="", flush=True)
        yield chunk


def _quiet(collect: Any, chunks: list[Any]) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return collect(iter(chunks))


def prints_at_the_end(stream: Any) -> list[StreamedReply]:
    replies = _quiet(collects_by_index, list(stream))
    print(replies[0].text or replies[0].refusal, flush=True)
    return replies


def one_reply_for_all(stream: Any) -> list[StreamedReply]:
    text, refusal, finish_reason, usage = "", None, None, None
    for chunk in stream:
        usage = chunk.usage or usage
        for choice in chunk.choices:
            if choice.index == 0:
                print((choice.delta.content or "") + (choice.delta.refusal or ""), end="", flush=True)
            text += choice.delta.content or ""
            if choice.delta.refusal:
                refusal = (refusal or "") + choice.delta.refusal
            finish_reason = choice.finish_reason or finish_reason
    return [StreamedReply(text, refusal, finish_reason, usage)]


def returns_a_dict(stream: Any) -> dict[int, StreamedReply]:
    return dict(enumerate(collects_by_index(stream)))


def loses_the_usage(stream: Any) -> list[StreamedReply]:
    return [StreamedReply(r.text, r.refusal, r.finish_reason) for r in collects_by_index(stream)]


CHECKLIST = "a Markdown answer ending in a usage chunk (choices == [])"
CUT_SHORT = "an answer cut short (finish_reason 'length')"
TWO = "two answers in one stream (n=2)"


class TestAnswers(AnswerTable):
    right_answers = [("2.2", collects_by_index), ("2.2", collects_with_collectors)]
    wrong_answers = [
        ("2.2", first_choice_always, CUT_SHORT, "`chunk.choices[0]` raises IndexError"),
        ("2.2", prints_every_choice, TWO, "print only the deltas whose choice.index is 0"),
        ("2.2", prints_at_the_end, CHECKLIST, "appeared only once the stream was over"),
        ("2.2", one_reply_for_all, TWO, "keep text, refusal and finish_reason per index"),
        ("2.2", returns_a_dict, CHECKLIST, "not a dict"),
        ("2.2", loses_the_usage, CUT_SHORT, "give its usage to every reply"),
    ]


def untouched_collector(stream: Any) -> list[StreamedReply]:
    raise NotImplementedError("Exercise 2.2: show the first answer live")


def test_an_untouched_stub_is_not_done() -> None:
    assert_not_done("2.2", untouched_collector, "show the ")
