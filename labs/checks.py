"""Exercise checks: the lines a learner reads under each exercise, and the verdicts the grader records.

A check cell reads `labs.check("3.1", accumulate_tool_calls)`. Its rules follow from one promise: a
check never stops "Run all".

- An untouched exercise still holds the stub `raise NotImplementedError(...)` that `labs.workbook`
  wrote, so a NotImplementedError from the learner's code means "not done yet": one ⏳ line, no
  traceback. Any other exception, from the learner's code or from the checker itself, fails the case
  it happened in and names its type and message.
- Checkers live with their lesson: `labs/lessons/lesson_03/checks.py` holds functions decorated with
  `@exercise("3.1")`. `check` imports `labs.lessons.lesson_<NN>.checks` on first use (NN from the id's lesson
  number), so a notebook needs nothing but `labs`. Tests and notebooks may register ids at runtime;
  the latest registration of an id wins, so re-running a cell or reloading a module is harmless.
- A checker receives the learner's objects and returns or yields `Case`s. A case's `run` is a thunk
  that calls the learner's code, so the runtime can tell a learner's error from a checker's; its
  result is compared with `expected`, or handed to `verify`, which asserts. An awaitable result is
  awaited on a fresh event loop in a worker thread, because in Jupyter the kernel's loop is running.
- A failing case's hint answers the mistake when the checker recognises it: each `Mistake` of a case
  looks at what the learner's code returned (or the exception it raised) and, when it sees itself, its
  hint replaces the case's general one. A checker thus says "return ToolCall objects, not dicts" to the
  learner who returned dicts, and "key the pieces by index" to the one who joined by position.
- A second, more explicit hint is one call away: `labs.hint("3.1")` prints the one its checker
  registered (`@exercise("3.1", hint=...)`), for the learner who is stuck after the first.
- `check` prints one line per case and returns a `CheckResult`, which displays as nothing so the
  lines are not repeated as `Out[n]`. It writes nothing else: the grader (`labs.grading`) never trusts
  what a learner's kernel reports. It runs the learner's exercise cells in a process of its own and
  calls `evaluate`, which is `check` without the printing, with the checker it looked up beforehand.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import importlib
import inspect
import io
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

from .errors import replay_miss_message
from .i18n import exercise_text, text

__all__ = [
    "Case", "CaseResult", "CheckResult", "Mistake", "Status", "check", "checker_for", "evaluate", "exercise", "hint", "hint_for",
    "watched",
]

Status = Literal["passed", "failed", "not_done"]
Checker = Callable[..., Iterable["Case"]]
C = TypeVar("C", bound=Checker)

_EXERCISE_ID = re.compile(r"^(\d+)\.(\d+)$")
_STUB_MESSAGE = re.compile(r"^complete (?P<function>\w+)\. Hint: (?P<hint>.*)$")
_checkers: dict[str, Checker] = {}
_hints: dict[str, str] = {}
_short = reprlib.Repr()
_short.maxlevel, _short.maxlist, _short.maxdict, _short.maxstring, _short.maxother = 3, 6, 6, 80, 80


class _Missing(enum.Enum):
    MISSING = enum.auto()


MISSING = _Missing.MISSING


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: `seen` recognises it from what the learner's code returned or the exception it raised."""

    hint: str
    seen: Callable[[Any], bool]


@dataclass(frozen=True)
class Case:
    """One thing a checker tries: `run` calls the learner's code; the result must equal `expected` or pass `verify`.

    When the case fails, the hint of the first of `mistakes` that sees itself in the outcome replaces `hint`.
    """

    name: str
    run: Callable[[], object]
    expected: object = MISSING
    verify: Callable[[Any], None] | None = None
    hint: str = ""
    mistakes: Sequence[Mistake] = ()


@dataclass(frozen=True)
class CaseResult:
    """How one case went: `message` says what is wrong when it did not pass."""

    name: str
    passed: bool
    message: str = ""
    hint: str = ""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one exercise's check, as printed under the exercise and recorded for grading."""

    exercise: str
    status: Status
    cases: tuple[CaseResult, ...] = ()
    message: str = ""

    @property
    def hint(self) -> str:
        """What to do next: the not-done message, or the first failing case's problem and hint."""
        if self.status == "not_done":
            return self.message
        failed = next((case for case in self.cases if not case.passed), None)
        return "" if failed is None else _sentence(failed.message, failed.hint)

    def lines(self) -> list[str]:
        """One line per case; a single ⏳ line when the exercise is not done yet."""
        if self.status == "not_done":
            return [text("check.not_done", exercise=self.exercise, message=self.message)]
        return [
            text("check.passed", exercise=self.exercise, case=case.name)
            if case.passed
            else text("check.failed", exercise=self.exercise, case=case.name, problem=_sentence(case.message, case.hint))
            for case in self.cases
        ]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "hint": self.hint}

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _ipython_display_(self) -> None:
        """Show nothing as a cell's value: `check` has already printed the lines."""


def exercise(exercise_id: str, *, hint: str = "") -> Callable[[C], C]:
    """Register the decorated function as the checker for `exercise_id` ("3.1"), and `hint` as its second hint."""
    _lesson_module(exercise_id)

    def register(checker: C) -> C:
        _checkers[exercise_id] = checker
        _hints[exercise_id] = _one_line(hint)
        return checker

    return register


def checker_for(exercise_id: str) -> Checker:
    """The checker registered for `exercise_id`, importing its lesson's module if needed."""
    module = _lesson_module(exercise_id)
    if exercise_id not in _checkers:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name is None or not module.startswith(error.name):  # a missing lesson folder or checks.py, not a broken import inside it
                raise
            raise LookupError(
                f"no checker for exercise {exercise_id}: there is no module {module}; "
                f"create it with a function decorated @exercise({exercise_id!r})"
            ) from None
    if exercise_id not in _checkers:
        raise LookupError(
            f"no checker for exercise {exercise_id}: {module} has no function decorated @exercise({exercise_id!r})"
        )
    return _checkers[exercise_id]


def hint_for(exercise_id: str) -> str:
    """The second, more explicit hint the checker of `exercise_id` registered."""
    checker_for(exercise_id)
    if not _hints.get(exercise_id):
        raise LookupError(f"exercise {exercise_id} has no second hint: give its checker @exercise({exercise_id!r}, hint=...)")
    return _hints[exercise_id]


def hint(exercise_id: str) -> None:
    """Print the second, more explicit hint for `exercise_id`: what to do, for a learner stuck after the first."""
    print(text("hint.line", exercise=exercise_id, hint=exercise_text(exercise_id, hint_for(exercise_id))), flush=True)


@contextlib.contextmanager
def watched(outcome: Any) -> Iterator[None]:
    """Run a learner's code with what it prints kept in `outcome.printed`, for a checker to judge what the reader saw.

    A request of theirs that no recording answers is kept as `outcome.replay_miss` (the replay server's
    explanation) instead of failing the checker; every other exception goes on.
    """
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            yield
    except Exception as error:
        miss = replay_miss_message(error)
        if miss is None:
            raise
        outcome.replay_miss = miss
    finally:
        outcome.printed = printed.getvalue()


def check(exercise_id: str, *answers: object) -> CheckResult:
    """Run the checker for `exercise_id` on the learner's `answers`, print one line per case, and return the result."""
    result = evaluate(exercise_id, *answers)
    print(result, flush=True)
    return result


class _NotDone(Exception):
    def __init__(self, error: NotImplementedError) -> None:
        super().__init__(str(error))


def evaluate(exercise_id: str, *answers: object, checker: Checker | None = None) -> CheckResult:
    """The result of checking `answers` for `exercise_id`, printing nothing; `checker` defaults to the registered one."""
    try:
        cases = iter((checker or checker_for(exercise_id))(*answers))
    except NotImplementedError as error:
        return _not_done(exercise_id, error)
    except Exception as error:
        return CheckResult(exercise_id, "failed", (CaseResult(text("check.load_checker"), False, _describe(error)),))
    results: list[CaseResult] = []
    while True:
        try:
            case = next(cases)
            results.append(_run_case(case, exercise_id))
        except StopIteration:
            break
        except (NotImplementedError, _NotDone) as error:
            return _not_done(exercise_id, error)
        except Exception as error:
            results.append(CaseResult(text("check.run_checker"), False, text("check.checker_crashed", error=_describe(error))))
            break
    if not results:
        results.append(CaseResult(text("check.run_checker"), False, text("check.no_cases")))
    status: Status = "passed" if all(result.passed for result in results) else "failed"
    return CheckResult(exercise_id, status, tuple(results))


def _run_case(case: Case, exercise_id: str) -> CaseResult:
    name = exercise_text(exercise_id, case.name)

    def failed(message: str, outcome: object) -> CaseResult:
        return CaseResult(name, False, message, exercise_text(exercise_id, _hint(case, outcome)))

    try:
        value = _resolve(case.run())
    except NotImplementedError as error:
        raise _NotDone(error) from error
    except Exception as error:
        return failed(text("check.your_code_raised", error=_describe(error)), error)
    try:
        if case.expected is not MISSING and value != case.expected:
            return failed(text("check.expected", expected=_short.repr(case.expected), got=_short.repr(value)), value)
        if case.verify is not None:
            case.verify(value)
    except NotImplementedError as error:
        raise _NotDone(error) from error
    except AssertionError as error:
        return failed(exercise_text(exercise_id, str(error)) or text("check.not_expected"), value)
    except Exception as error:
        return failed(text("check.checking_raised", error=_describe(error)), value)
    return CaseResult(name, True)


def _hint(case: Case, outcome: object) -> str:
    """The hint of the first mistake that sees itself in `outcome` (a value or an exception), else the case's own."""
    for mistake in case.mistakes:
        try:
            if mistake.seen(outcome):
                return mistake.hint
        except Exception:  # a recogniser that cannot read this outcome has not seen its mistake
            continue
    return case.hint


def _resolve(value: object) -> object:
    """Await `value` if it is awaitable, on a fresh loop in a worker thread when this thread's loop is running."""
    if not inspect.isawaitable(value):
        return value
    awaitable = value

    async def wait() -> object:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    with ThreadPoolExecutor() as worker:  # one task: one thread
        return worker.submit(asyncio.run, wait()).result()


def _not_done(exercise_id: str, error: BaseException) -> CheckResult:
    message = _one_line(str(error).removeprefix(f"Exercise {exercise_id}: ")) or text("check.raises_not_implemented")
    if stub := _STUB_MESSAGE.match(message):  # the stub labs.workbook wrote: its hint may have a translation
        message = text("check.stub", function=stub["function"], hint=exercise_text(exercise_id, stub["hint"]))
    return CheckResult(exercise_id, "not_done", message=message)


def _lesson_module(exercise_id: str) -> str:
    match = _EXERCISE_ID.match(exercise_id)
    if match is None:
        raise ValueError(f"exercise ids look like '3.1' (lesson.number), not {exercise_id!r}")
    return f"labs.lessons.lesson_{int(match[1]):02d}.checks"


def _describe(error: BaseException) -> str:
    text = str(error)
    return _one_line(f"{type(error).__name__}: {text}" if text else type(error).__name__)


def _sentence(message: str, hint: str) -> str:
    message = _one_line(message).rstrip(".")
    return text("check.hint", message=message, hint=_one_line(hint)) if hint else message


def _one_line(text: str) -> str:
    return " ".join(text.split())
