"""What the exercise tests share: a result's hints by case, and the two checks every wrong-answer table gets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from labs.checks import CheckResult, checker_for, evaluate

# One row of a wrong-answer table: (exercise id, the wrong answer, the case it must fail, a phrase of its hint).
WrongAnswer = tuple[str, Any, str, str]


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
