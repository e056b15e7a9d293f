"""Exercise checks: one line per case, "not done yet" for an untouched stub, and never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.formatters import DisplayFormatter

import labs.lessons
from labs import checks
from labs.checks import Case, CaseResult, CheckResult, Mistake, check, checker_for, evaluate, exercise, hint, hint_for


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register a test-only checker for exercise 99.1 in a registry of its own."""
    monkeypatch.setattr(checks, "_checkers", {})
    monkeypatch.setattr(checks, "_hints", {})
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


# -- hints that answer the mistake, and the second hint ----------------------------------------------------

DICTS = Mistake("return ToolCall objects, not dicts", lambda value: isinstance(value, dict))
NEGATIVE = Mistake("count up from 0", lambda value: value < 0)


def one_case(**fields: object) -> CaseResult:
    """The one case result of a checker made of a single case with these fields."""

    @exercise("99.4")
    def single(answer):  # type: ignore[no-untyped-def]
        yield Case("the case", **fields)  # type: ignore[arg-type]

    [result] = evaluate("99.4", None).cases
    return result


def test_a_mistake_that_sees_itself_replaces_the_cases_hint() -> None:
    result = one_case(run=lambda: {"id": 1}, expected=7, hint="general", mistakes=[NEGATIVE, DICTS])
    assert result == CaseResult("the case", False, "expected 7, got {'id': 1}", "return ToolCall objects, not dicts")


def test_the_first_mistake_that_sees_itself_wins_and_one_that_cannot_read_the_outcome_is_passed_over() -> None:
    crashes = Mistake("never shown", lambda value: value["missing"])  # a KeyError: it has not seen its mistake
    also_negative = Mistake("second", lambda value: value < 0)
    assert one_case(run=lambda: -1, expected=1, hint="general", mistakes=[crashes, NEGATIVE, also_negative]).hint == "count up from 0"
    assert one_case(run=lambda: 5, expected=1, hint="general", mistakes=[crashes, NEGATIVE]).hint == "general"  # none saw it
    assert one_case(run=lambda: 5, expected=1, mistakes=[NEGATIVE]).hint == ""


def test_a_mistake_sees_the_exception_the_learners_code_raised() -> None:
    index_error = Mistake("the list may be empty", lambda error: isinstance(error, IndexError))

    def empty_list() -> object:
        return [][0]

    result = one_case(run=empty_list, expected=1, hint="general", mistakes=[DICTS, index_error])
    assert result == CaseResult("the case", False, "your code raised IndexError: list index out of range", "the list may be empty")


def test_a_mistake_sees_the_value_a_failing_verify_was_given() -> None:
    def must_be_text(value: object) -> None:
        if not isinstance(value, str):
            raise AssertionError("the answer should be text")

    def crashes(value: object) -> None:
        raise TypeError("cannot read it")

    assert one_case(run=lambda: {"a": 1}, verify=must_be_text, hint="general", mistakes=[DICTS]) == CaseResult(
        "the case", False, "the answer should be text", "return ToolCall objects, not dicts"
    )
    assert one_case(run=lambda: {"a": 1}, verify=crashes, hint="general", mistakes=[DICTS]) == CaseResult(
        "the case", False, "checking the result raised TypeError: cannot read it", "return ToolCall objects, not dicts"
    )


def test_a_passing_case_has_no_hint_even_when_a_mistake_would_see_itself() -> None:
    always = Mistake("never shown", lambda value: True)
    assert one_case(run=lambda: 7, expected=7, hint="general", mistakes=[always]) == CaseResult("the case", True, "", "")


def test_the_second_hint_is_the_one_the_checker_registered_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    @exercise("99.5", hint="  add chunk['tokens']\n   for every   chunk ")
    def with_hint(answer):  # type: ignore[no-untyped-def]
        yield Case("anything", lambda: answer(), expected=1)

    assert hint_for("99.5") == "add chunk['tokens'] for every chunk"
    hint("99.5")
    assert capsys.readouterr().out == "💡 Exercise 99.5: add chunk['tokens'] for every chunk\n"


def test_a_checker_without_a_second_hint_says_how_to_give_one() -> None:
    with pytest.raises(LookupError) as info:
        hint_for("99.1")
    assert str(info.value) == "exercise 99.1 has no second hint: give its checker @exercise('99.1', hint=...)"

    @exercise("99.1", hint="first")
    def hinted(answer):  # type: ignore[no-untyped-def]
        yield Case("anything", lambda: 1, expected=1)

    assert hint_for("99.1") == "first"

    @exercise("99.1")
    def registered_again(answer):  # type: ignore[no-untyped-def]  # the latest registration wins, hint and all
        yield Case("anything", lambda: 1, expected=1)

    with pytest.raises(LookupError, match="^exercise 99.1 has no second hint"):
        hint_for("99.1")


def test_the_second_hint_of_an_unknown_exercise_names_the_module_it_looked_in() -> None:
    with pytest.raises(LookupError) as info:
        hint_for("98.2")
    assert str(info.value) == (
        "no checker for exercise 98.2: there is no module labs.lessons.lesson_98.checks; "
        "create it with a function decorated @exercise('98.2')"
    )


def test_the_second_hint_is_read_from_the_lesson_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lesson_95").mkdir()
    (tmp_path / "lesson_95" / "checks.py").write_text(
        "from labs.checks import Case, exercise\n\n"
        "@exercise('95.1', hint='call upper()')\ndef shout(answer):\n    yield Case('upper case', lambda: answer('hi'), expected='HI')\n"
    )
    monkeypatch.setattr(labs.lessons, "__path__", [*labs.lessons.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "labs.lessons.lesson_95.checks", raising=False)
    monkeypatch.delitem(sys.modules, "labs.lessons.lesson_95", raising=False)
    assert hint_for("95.1") == "call upper()"


# -- the exact lines and results of the rarer outcomes ------------------------------------------------------


def test_a_checker_that_tries_no_cases_is_one_failed_case() -> None:
    @exercise("99.6")
    def empty(answer):  # type: ignore[no-untyped-def]
        return []

    assert evaluate("99.6", None) == CheckResult("99.6", "failed", (CaseResult("run the checker", False, "the checker tried no cases"),))


def test_a_checker_that_raises_not_implemented_before_any_case_means_not_done() -> None:
    @exercise("99.7")
    def not_yet(answer):  # type: ignore[no-untyped-def]
        answer()  # a plain function, not a generator: the learner's stub raises while the checker is called
        return []

    def stub() -> None:
        raise NotImplementedError("Exercise 99.7: write the parser first")

    assert evaluate("99.7", stub) == CheckResult("99.7", "not_done", message="write the parser first")
    assert evaluate("99.7", lambda: (_ for _ in ()).throw(NotImplementedError())) == CheckResult(
        "99.7", "not_done", message="your code raises NotImplementedError"
    )


def test_a_checker_that_cannot_be_called_is_one_failed_case_naming_the_error() -> None:
    @exercise("99.8")
    def wants_two(first, second):  # type: ignore[no-untyped-def]
        return []

    [case] = evaluate("99.8", None).cases
    assert (case.name, case.passed) == ("load the checker", False)
    assert case.message.startswith("TypeError: ") and "second" in case.message
    assert evaluate("99.8", None).exercise == "99.8" and evaluate("99.8", None).status == "failed"


def test_a_broken_import_inside_a_lesson_module_is_reported_as_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lesson_94").mkdir()
    (tmp_path / "lesson_94" / "checks.py").write_text("import no_such_package_for_labs_tests\n")
    monkeypatch.setattr(labs.lessons, "__path__", [*labs.lessons.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "labs.lessons.lesson_94.checks", raising=False)
    monkeypatch.delitem(sys.modules, "labs.lessons.lesson_94", raising=False)
    assert evaluate("94.1", None) == CheckResult(
        "94.1", "failed", (CaseResult("load the checker", False, "ModuleNotFoundError: No module named 'no_such_package_for_labs_tests'"),)
    )


def test_verify_raising_not_implemented_means_not_done_and_an_empty_assertion_has_a_message() -> None:
    def not_yet(value: object) -> None:
        raise NotImplementedError("Exercise 99.4: finish the helper")

    def silent(value: object) -> None:
        raise AssertionError

    assert one_case(run=lambda: 1, verify=silent, hint="general", mistakes=[NEGATIVE]) == CaseResult(
        "the case", False, "the result is not what was expected", "general"
    )
    assert one_case(run=lambda: -1, verify=silent, hint="general", mistakes=[NEGATIVE]).hint == "count up from 0"

    @exercise("99.4")
    def checker(answer):  # type: ignore[no-untyped-def]
        yield Case("the case", lambda: 1, verify=not_yet)

    assert evaluate("99.4", None) == CheckResult("99.4", "not_done", message="finish the helper")


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    def bare() -> object:
        raise ValueError

    assert one_case(run=bare, expected=1).message == "your code raised ValueError"


@pytest.mark.parametrize(
    ("message", "hint_text", "line"),
    [
        ("the text is wrong.", "use ''.join", "the text is wrong. Hint: use ''.join"),  # one full stop, not two
        ("ends in X", "h", "ends in X. Hint: h"),
        ("...a leading ellipsis stays", "h", "...a leading ellipsis stays. Hint: h"),
        ("no hint here.", "", "no hint here"),
        ("spread\n  over   lines", "a\n hint", "spread over lines. Hint: a hint"),
    ],
)
def test_a_failing_line_is_one_sentence_and_its_hint(message: str, hint_text: str, line: str) -> None:
    def verify(value: object) -> None:
        raise AssertionError(message)

    @exercise("99.9")
    def checker(answer):  # type: ignore[no-untyped-def]
        yield Case("the case", lambda: 1, verify=verify, hint=hint_text)

    result = evaluate("99.9", None)
    assert result.hint == line
    assert result.lines() == [f"❌ Exercise 99.9 — the case: {line}"]


def test_a_result_as_json_for_the_grader() -> None:
    result = evaluate("99.1", lambda chunks: len(chunks))
    assert json.loads(json.dumps(result.to_json())) == {  # as the grader records it
        "exercise": "99.1",
        "status": "failed",
        "cases": [
            {"name": "two chunks", "passed": False, "message": "expected 7, got 2", "hint": "add every chunk"},
            {"name": "no chunks", "passed": True, "message": "", "hint": ""},
        ],
        "message": "",
        "hint": "expected 7, got 2. Hint: add every chunk",
    }
    assert evaluate("99.1", untouched).to_json()["hint"] == "complete untouched. Hint: add chunk['tokens'] for every chunk"


class FlushCounter(io.StringIO):
    """A stdout that counts how often it was flushed: a kernel shows printed text when it is flushed."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_check_and_hint_flush_their_lines_at_once() -> None:
    @exercise("99.5", hint="add them")
    def checker(answer):  # type: ignore[no-untyped-def]
        yield Case("anything", lambda: 1, expected=1)

    for show in (lambda: check("99.5", None), lambda: hint("99.5")):
        out = FlushCounter()
        with contextlib.redirect_stdout(out):
            show()
        assert out.getvalue() and out.flushes == 1, out.getvalue()


def test_watched_keeps_what_was_printed_and_a_replay_miss_and_lets_other_errors_through(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from labs.checks import watched
    from labs.clients import openai_client
    from labs.replay import ReplayServer

    outcome = SimpleNamespace(printed=None, replay_miss="")
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(tmp_path,)) as server, watched(outcome):
        print("asking", end="")
        openai_client(server=server, max_retries=0).chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    assert outcome.printed == "asking" and "No recording" in outcome.replay_miss  # the server's own explanation

    other = SimpleNamespace(printed=None, replay_miss="")
    with pytest.raises(KeyError), watched(other):
        print("half", end="")
        raise KeyError("a bug in the learner's code")
    assert other.printed == "half" and other.replay_miss == ""


def test_under_labs_lang_vi_each_text_of_a_check_is_its_exercises_own_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Case names, hints, a verify's message, the stub's hint and the second hint are looked up under their exercise."""
    import labs.i18n

    folder = tmp_path / "translations"
    (folder / "vi").mkdir(parents=True)
    texts = {
        "two chunks": "hai chunk", "add every chunk": "cộng mọi chunk", "the total of nothing is 0": "tổng của không gì là 0",
        "count chunk['tokens'] for every chunk": "đếm chunk['tokens'] của mọi chunk", "sum the tokens": "cộng các token",
    }  # fmt: skip
    pairs = [{"en": en, "vi": vi} for en, vi in texts.items()]
    (folder / "vi" / "99_demo.yaml").write_text(
        json.dumps({"language": "vi", "lesson": "99_demo", "cells": {}, "exercises": {"99.2": pairs, "99.3": []}}), encoding="utf-8"
    )  # JSON is YAML; 99.3 has the same texts untranslated, so a lookup under another exercise's id shows English
    monkeypatch.setattr(labs.i18n, "TRANSLATIONS_DIR", folder)
    monkeypatch.setenv("LABS_LANG", "vi")

    def verify_empty(value: object) -> None:
        if value != 0:
            raise AssertionError("the total of nothing is 0")  # as a checker in labs/ raises it (no pytest rewriting)

    @exercise("99.2", hint="sum the tokens")
    def check_tokens(total):  # type: ignore[no-untyped-def]
        yield Case("two chunks", lambda: total([{"tokens": 3}, {"tokens": 4}]), expected=7, hint="add every chunk")
        yield Case("no chunks", lambda: total([]), verify=verify_empty)

    wrong = str(evaluate("99.2", lambda chunks: 1)).splitlines()
    assert "hai chunk" in wrong[0] and wrong[0].endswith("cộng mọi chunk"), wrong
    assert "tổng của không gì là 0" in wrong[1], wrong
    stub = "Exercise 99.2: complete total. Hint: count chunk['tokens'] for every chunk"
    assert str(evaluate("99.2", lambda chunks: (_ for _ in ()).throw(NotImplementedError(stub)))).endswith("đếm chunk['tokens'] của mọi chunk")
    hint("99.2")
    assert capsys.readouterr().out.rstrip().endswith("cộng các token")
