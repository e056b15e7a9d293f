"""What the exercise tests share: a result's hints by case, the checks every wrong-answer table gets, and `AnswerTable`.

A lesson's test file subclasses `AnswerTable` once (`class TestAnswers(AnswerTable)`) with its exercises' right and
wrong answers; the tests every table gets then run on its rows, one test per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pytest

from labs.checks import CheckResult, checker_for, evaluate

# One row of a wrong-answer table: (exercise id, the wrong answer, the case it must fail, a phrase of its hint).
WrongAnswer = tuple[str, Any, str, str]
# One row of a right-answer table: (exercise id, the answer, which must pass).
RightAnswer = tuple[str, Any]


def hints(result: CheckResult) -> dict[str, str]:
    """The hint of each failed case, by case name."""
    return {case.name: case.hint for case in result.cases if not case.passed}


def assert_the_hint_names_the_mistake(exercise_id: str, answer: Any, case: str, phrase: str) -> None:
    """The wrong answer fails `case`, and that case's hint holds the phrase of its mistake."""
    failed = hints(evaluate(exercise_id, answer))
    assert case in failed, f"{answer.__name__} should fail {case!r}; it failed {list(failed)}"
    assert phrase in failed[case], failed[case]


def assert_each_mistake_has_its_own_hint(exercises: Iterable[str], wrong_answers: Sequence[WrongAnswer]) -> None:
    """Each exercise names at least two mistakes, and no case's general hint already holds a mistake's phrase."""
    exercises = tuple(exercises)
    general = {exercise_id: {case.name: case.hint for case in checker_for(exercise_id)(None)} for exercise_id in exercises}
    for exercise_id in exercises:
        assert len({phrase for e, _, _, phrase in wrong_answers if e == exercise_id}) >= 2, exercise_id
    for exercise_id, _, case, phrase in wrong_answers:
        assert phrase not in general[exercise_id][case], (exercise_id, case)


def lesson_01_loop(stream: Any) -> str:  # lesson 01's typing-effect loop, pasted as an answer to 1.1 or 1.2
    pieces = []
    for chunk in stream:
        text = chunk.choices[0].delta.content
        if text:
            print(text, end="", flush=True)
            pieces.append(text)
    return "".join(pieces)


def _name(value: Any) -> str | None:
    return getattr(value, "__name__", None)


class AnswerTable:
    """The tests every table of answers gets: each right answer passes, each wrong one gets its mistake's hint."""

    right_answers: Sequence[RightAnswer] = ()
    wrong_answers: Sequence[WrongAnswer] = ()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "phrase" in metafunc.fixturenames:
            metafunc.parametrize(("exercise_id", "answer", "case", "phrase"), self.wrong_answers, ids=_name)
        elif "answer" in metafunc.fixturenames:
            metafunc.parametrize(("exercise_id", "answer"), self.right_answers, ids=lambda v: _name(v) or v)

    def test_a_right_answer_passes(self, exercise_id: str, answer: Any) -> None:
        result = evaluate(exercise_id, answer)
        assert result.status == "passed", result

    def test_a_typical_wrong_answer_gets_the_hint_for_its_mistake(self, exercise_id: str, answer: Any, case: str, phrase: str) -> None:
        assert_the_hint_names_the_mistake(exercise_id, answer, case, phrase)

    def test_each_exercise_names_at_least_two_mistakes_and_only_the_mistake_hint_holds_its_phrase(self) -> None:
        exercises = dict.fromkeys(row[0] for row in (*self.right_answers, *self.wrong_answers))
        assert_each_mistake_has_its_own_hint(exercises, self.wrong_answers)


def assert_not_done(exercise_id: str, stub: Any, message_start: str = "") -> None:
    """An untouched stub is "not done yet", with a message that starts as the exercise's own does."""
    result = evaluate(exercise_id, stub)
    assert result.status == "not_done", result
    assert result.message.startswith(message_start), result.message
