"""Exercise checks: one line per case, "not done yet" for an untouched stub, and never a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.formatters import DisplayFormatter

import labs.lessons
from labs import checks
from labs.checks import Case, CaseResult, CheckResult, check, checker_for, exercise


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register a test-only checker for exercise 99.1 in a registry of its own."""
    monkeypatch.setattr(checks, "_checkers", {})
    monkeypatch.delenv("LABS_GRADE_REPORT", raising=False)

    @exercise("99.1")
    def check_total_tokens(total_tokens):  # type: ignore[no-untyped-def]
        two_chunks = [{"tokens": 3}, {"tokens": 4}]
        yield Case("two chunks", lambda: total_tokens(two_chunks), expected=7, hint="add every chunk")
        yield Case("no chunks", lambda: total_tokens([]), expected=0, hint="start from 0")

    yield


def untouched(chunks: list[dict[str, int]]) -> int:
    raise NotImplementedError("Exercise 99.1: complete untouched. Hint: add chunk['tokens'] for every chunk")


def right(chunks: list[dict[str, int]]) -> int:
    return sum(chunk["tokens"] for chunk in chunks)


def test_untouched_exercise_is_not_done_and_does_not_raise(capsys: pytest.CaptureFixture[str]) -> None:
    result = check("99.1", untouched)
    assert (result.status, result.cases) == ("not_done", ())
    assert capsys.readouterr().out == (
        "⏳ Exercise 99.1 not done yet: complete untouched. Hint: add chunk['tokens'] for every chunk\n"
    )


def test_right_answer_passes_every_case(capsys: pytest.CaptureFixture[str]) -> None:
    result = check("99.1", right)
    assert result.status == "passed" and result.hint == ""
    assert capsys.readouterr().out == "✅ Exercise 99.1 — two chunks\n✅ Exercise 99.1 — no chunks\n"


def test_wrong_answer_says_what_is_wrong_with_the_hint(capsys: pytest.CaptureFixture[str]) -> None:
    result = check("99.1", lambda chunks: len(chunks))
    assert result.status == "failed"
    assert result.hint == "expected 7, got 2. Hint: add every chunk"
    assert capsys.readouterr().out == (
        "❌ Exercise 99.1 — two chunks: expected 7, got 2. Hint: add every chunk\n"
        "✅ Exercise 99.1 — no chunks\n"
    )


def test_crashing_answer_fails_with_the_exception_and_runs_the_other_cases(capsys: pytest.CaptureFixture[str]) -> None:
    result = check("99.1", lambda chunks: sum(chunk["count"] for chunk in chunks))
    assert [case.passed for case in result.cases] == [False, True]
    assert capsys.readouterr().out.splitlines()[0] == (
        "❌ Exercise 99.1 — two chunks: your code raised KeyError: 'count'. Hint: add every chunk"
    )


def test_checker_crash_is_a_failed_case() -> None:
    @exercise("99.2")
    def broken(answer):  # type: ignore[no-untyped-def]
        yield Case("first", lambda: answer(), expected=1)
        raise ZeroDivisionError("division by zero")

    result = check("99.2", lambda: 1)
    assert result.status == "failed"
    assert result.cases == (
        CaseResult("first", True),
        CaseResult("run the checker", False, "the checker crashed with ZeroDivisionError: division by zero"),
    )


def test_verify_reports_the_assertion_message() -> None:
    def verify(text: object) -> None:
        if text != "Hello":  # not an assert: pytest would rewrite its message
            raise AssertionError(f"the text should be 'Hello', not {text!r}")

    @exercise("99.3")
    def check_join(join):  # type: ignore[no-untyped-def]
        return [Case("joins deltas", lambda: join(["He", "llo"]), verify=verify, hint="use ''.join")]

    result = check("99.3", lambda parts: " ".join(parts))
    assert result.hint == "the text should be 'Hello', not 'He llo'. Hint: use ''.join"
    assert check("99.3", "".join).status == "passed"


def test_async_answers_are_awaited_even_inside_a_running_loop() -> None:
    async def total(chunks: list[dict[str, int]]) -> int:
        await asyncio.sleep(0)
        return right(chunks)

    async def as_in_jupyter() -> CheckResult:
        return check("99.1", total)

    assert check("99.1", total).status == "passed"
    assert asyncio.run(as_in_jupyter()).status == "passed"


def test_unknown_exercise_fails_naming_the_module_it_looked_in() -> None:
    result = check("98.1", right)
    assert result.status == "failed"
    assert "no checker for exercise 98.1: there is no module labs.lessons.lesson_98.checks" in result.hint
    with pytest.raises(ValueError, match="exercise ids look like '3.1'"):
        exercise("lesson three")


def test_checkers_are_imported_from_the_lesson_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lesson_97").mkdir()
    (tmp_path / "lesson_97" / "checks.py").write_text(
        "from labs.checks import Case, exercise\n\n"
        "@exercise('97.1')\ndef shout(answer):\n    yield Case('upper case', lambda: answer('hi'), expected='HI')\n"
    )
    monkeypatch.setattr(labs.lessons, "__path__", [*labs.lessons.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "labs.lessons.lesson_97.checks", raising=False)
    monkeypatch.delitem(sys.modules, "labs.lessons.lesson_97", raising=False)
    assert check("97.1", str.upper).status == "passed"
    assert checker_for("97.1").__module__ == "labs.lessons.lesson_97.checks"
    with pytest.raises(LookupError, match="labs.lessons.lesson_97.checks has no function decorated @exercise\\('97.2'\\)"):
        checker_for("97.2")


def test_evaluate_prints_nothing_and_uses_the_checker_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    """What the grader calls: a checker looked up before the learner's code ran wins over any registered later."""
    genuine = checker_for("99.1")

    @exercise("99.1")
    def always_right(answer):  # type: ignore[no-untyped-def]
        yield Case("anything", lambda: 1, expected=1)

    assert checks.evaluate("99.1", untouched, checker=genuine).status == "not_done"
    wrong = checks.evaluate("99.1", lambda chunks: 7, checker=genuine)
    assert [case.passed for case in wrong.cases] == [True, False]
    assert checks.evaluate("99.1", untouched).status == "passed"  # without checker=, the latest registration
    assert capsys.readouterr().out == ""


def test_result_shows_nothing_as_a_cell_value_so_lines_are_not_repeated() -> None:
    result = check("99.1", right)
    assert DisplayFormatter().format(result) == ({}, {})
    assert str(result) == "✅ Exercise 99.1 — two chunks\n✅ Exercise 99.1 — no chunks"
