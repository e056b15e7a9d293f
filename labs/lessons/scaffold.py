"""`python -m labs.workbook new-exercise 2.2`: the cells, checker and tests of a new exercise, ready to edit.

It writes, for exercise N.M of lesson NN:
- into `solutions/NN_*.ipynb`, before "Summary and takeaways": a `## Exercise N.M: ...` heading, a function
  whose body sits between `# BEGIN SOLUTION N.M: <hint>` and `# END SOLUTION`, and the check cell
  `labs.check("N.M", exercise_N_M)`; their ids follow the lesson's convention (`lNN-MMa` after cell `lNN-MM`);
- into `labs/lessons/lesson_NN/checks.py`, a checker `@exercise("N.M")` with one `Case`;
- into `tests/test_lesson_NN_checks.py`, its tests: the right answer passes, a wrong one fails naming the
  case, the learner's untouched stub is "not done yet".

The placeholder exercise works end to end (capitalise a text), so the lesson's tests pass at once; replace
its function, hint, cases and tests with the real exercise. The new code cells have no stored execution
until `make outputs LESSON=NN` runs the solution, and `python -m labs.workbook check` says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from ..config import REPO_ROOT
from .refresh import solution_path

__all__ = ["new_exercise"]

_ID = re.compile(r"^(\d+)\.(\d+)$")
_SUMMARY = "## Summary and takeaways"

_CHECKS_HEADER = '''"""Checks for lesson {lesson}."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ...checks import Case, exercise
'''

_CHECKER = '''

@exercise("{id}")
def check_exercise_{us}(exercise_{us}: Callable[[str], str]) -> Iterator[Case]:
    """Exercise {id}, a placeholder: replace the cases with what the exercise asks (see labs/checks.py for Case)."""
    for text, capitals in [("pack light", "PACK LIGHT"), ("Col de Balme", "COL DE BALME")]:
        yield Case(f"capitalise {{text!r}}", run=lambda text=text: exercise_{us}(text), expected=capitals, hint="use str.upper()")
'''

_TESTS_HEADER = '''"""Lesson {lesson}'s exercise checkers tell right answers from wrong ones (`make test-lesson LESSON={lesson}` runs them)."""

from __future__ import annotations

import pytest

from labs.checks import check


@pytest.fixture(autouse=True)
def no_grade_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABS_GRADE_REPORT", raising=False)
'''

_TESTS = '''

def test_{us}_passes_a_right_answer() -> None:
    assert check("{id}", lambda text: text.upper()).status == "passed"


def test_{us}_fails_a_wrong_answer_naming_the_case() -> None:
    result = check("{id}", lambda text: text.title())
    assert result.status == "failed" and "got 'Pack Light'" in result.hint
    assert [case.name for case in result.cases if not case.passed] == ["capitalise 'pack light'", "capitalise 'Col de Balme'"]


def test_{us}_untouched_stub_is_not_done() -> None:
    def stub(text: str) -> str:
        raise NotImplementedError("Exercise {id}: complete exercise_{us}.")

    assert check("{id}", stub).status == "not_done"
'''


def _cell_id(after: str, taken: set[str]) -> str:
    for letter in "abcdefghijklmnopqrstuvwxyz":
        if f"{after}{letter}" not in taken:
            return f"{after}{letter}"
    raise ValueError(f"no free cell id after {after}")


def new_exercise(exercise_id: str, root: Path = REPO_ROOT) -> list[Path]:
    """Scaffold exercise `exercise_id` ("2.2") in its lesson below `root`; return the files written."""
    match = _ID.match(exercise_id)
    if match is None:
        raise SystemExit(f"name the exercise as lesson.number, e.g. 2.2, not {exercise_id!r}")
    lesson, us = f"{int(match[1]):02d}", exercise_id.replace(".", "_")
    path = solution_path(root, lesson)
    notebook = nbformat.read(path, as_version=4)
    if any(f'check("{exercise_id}"' in cell.source for cell in notebook.cells):
        raise SystemExit(f"{path.name} already checks exercise {exercise_id}")
    at = next((i for i, cell in enumerate(notebook.cells) if _SUMMARY in cell.source), len(notebook.cells))
    taken = {cell.get("id", "") for cell in notebook.cells}
    previous = notebook.cells[at - 1].get("id") or f"l{lesson}-{at - 1:02d}"
    ids = []
    for _ in range(3):
        ids.append(_cell_id(previous, taken | set(ids)))
    heading = (
        f"## Exercise {exercise_id}: capitalise a text\n\n"
        f"A placeholder written by `python -m labs.workbook new-exercise {exercise_id}`: say what to build and why, "
        "then replace the function, its hint and the checker's cases."
    )
    code = (
        f"def exercise_{us}(text: str) -> str:\n"
        '    """Return `text` in capitals."""\n'
        f"    # BEGIN SOLUTION {exercise_id}: use str.upper()\n"
        "    return text.upper()\n"
        "    # END SOLUTION"
    )
    notebook.cells[at:at] = [
        new_markdown_cell(heading, id=ids[0]),
        new_code_cell(code, id=ids[1]),
        new_code_cell(f'labs.check("{exercise_id}", exercise_{us})', id=ids[2]),
    ]
    nbformat.write(notebook, path)

    checks = root / "labs" / "lessons" / f"lesson_{lesson}" / "checks.py"
    text = checks.read_text(encoding="utf-8") if checks.exists() else _CHECKS_HEADER.format(lesson=lesson)
    for name, line in (("Callable", "from collections.abc import Callable"), ("Iterator", "from collections.abc import Iterator"), ("Case", "from ...checks import Case"), ("exercise", "from ...checks import exercise")):
        if not re.search(rf"^(from|import) .*\b{name}\b", text, re.MULTILINE):
            text = text.replace("from __future__ import annotations\n", f"from __future__ import annotations\n\n{line}\n", 1)
    checks.write_text(text.rstrip("\n") + "\n" + _CHECKER.format(id=exercise_id, us=us), encoding="utf-8")

    tests = root / "tests" / f"test_lesson_{lesson}_checks.py"
    existing = tests.read_text(encoding="utf-8") if tests.exists() else _TESTS_HEADER.format(lesson=lesson)
    tests.write_text(existing.rstrip("\n") + "\n" + _TESTS.format(id=exercise_id, us=us), encoding="utf-8")
    return [path, checks, tests]
