"""Where a submission runs: a fresh process per notebook, which reports to the grader over its own pipe.

The grader starts each submission in a new process forked from a `multiprocessing` fork server. The fork
server is started by the grader, imports the lesson modules and the SDKs once, and never runs a line of a
submission, so every process starts clean and quickly. In that process (`run_job`):

1. it leaves the grader's session, its output goes nowhere (fd 1 and 2 are /dev/null; `print` goes to a
   counter that stops the process past `output_limit` characters), it works in an empty temporary folder,
   in replay mode at full speed, with every credential-looking variable blanked and no core dumps;
2. it runs the lesson's steps in order: the instructor's set-up definitions (a statement that fails, such
   as a decorator needing the demonstrations' client, is skipped), the learner's exercise cells (nothing
   else of the submission), and at each check, the instructor's checker on the answers;
3. it sends each verdict as one JSON message over the pipe it was started with. The pipe is an anonymous
   file descriptor inherited from the grader: no file name, no environment variable. The grader parses the
   messages as JSON (never pickle), bounded in size, and accepts one verdict per exercise of the lesson.

The checkers are looked up before the first learner cell runs and called through those references. The
grader's modules (labs.checks, the lesson's checks module) are fingerprinted at the same moment; if a
submission's cell or function changes them, its verdict is "failed" with what changed. That is defence
in depth against a cell that swaps the checker, not a sandbox: code inside the exercise function runs
in this process, with the instructor's permissions (see the README's threat model).

The grader (`run_jobs`) keeps at most `workers` processes running, kills a process's whole session when
it passes the timeout (and each process ends itself at twice the timeout, should the grader be gone), and turns a process that died, hung or printed too much into "failed" with the
reason for each exercise it had not reported yet.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import json
import math
import multiprocessing
import os
import re
import resource
import signal
import sys
import tempfile
import time
import types
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any, NoReturn

from labs.grading.lessons import Lesson

__all__ = ["Job", "Outcome", "STATUSES", "run_job", "run_jobs"]

STATUSES = ("passed", "failed", "not_done")
MESSAGE_LIMIT = 1_000_000  # bytes per message from a submission's process
TEXT_LIMIT = 500  # characters kept of any text a submission's process reports
_SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|CONNECTION_STRING|ENDPOINT|^AZURE_", re.IGNORECASE)
_NOT_PRELOADED = ("matplotlib.pyplot",)  # imported by each process itself, after it chose the Agg backend


@dataclass(frozen=True)
class Job:
    """One notebook to grade: its lesson, and the learner's source for each exercise cell (None: missing)."""

    key: int
    lesson: Lesson
    learner_cells: dict[str, str | None]
    output_limit: int = 1_000_000
    secrets: tuple[str, ...] = ()  # variable names to blank besides those that look like credentials
    # Seconds after which the process ends itself, wall clock and CPU, even with no grader left to kill it
    # (one killed mid-run, say): `run_jobs` sets twice its timeout, plus one. 0: no such limit.
    lifetime: int = 0


@dataclass
class Outcome:
    """What the grader learned from one job: the verdicts it received, and why it stopped if not on its own."""

    results: list[dict[str, Any]] = field(default_factory=list)
    failure: str = ""
    seconds: float = 0.0


# -- the submission's process ----------------------------------------------------------------------


def run_job(job: Job, pipe: Connection) -> NoReturn:
    """The body of a submission's process: grade `job`, report over `pipe`, exit without running exit hooks."""
    _isolate(job)
    sent = _Sender(pipe)
    counter = _OutputCounter(job.output_limit, sent)
    sys.stdout, sys.stderr = _CountedText(counter), _CountedText(counter)
    try:
        _grade(job, sent)
        sent.send({"type": "done"})
    except BaseException as error:  # the grader's own failure: say so rather than die silently
        sent.send({"type": "abort", "reason": f"the grader failed: {_describe(error)}"})
    os._exit(0)


def _isolate(job: Job) -> None:
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if job.lifetime:  # SIGALRM and SIGXCPU end the process (no handler is installed for either)
        signal.alarm(job.lifetime)
        resource.setrlimit(resource.RLIMIT_CPU, (job.lifetime, job.lifetime + 1))
    os.chdir(tempfile.mkdtemp(prefix="labs-grading-"))
    for name in [*os.environ, *job.secrets]:
        if _SECRET.search(name) or name in job.secrets:
            os.environ[name] = ""  # empty rather than removed, so a .env file cannot fill it in again
    os.environ.pop("LABS_GRADE_REPORT", None)
    os.environ.update({"LABS_MODE": "replay", "LABS_REPLAY_SPEED": "0", "MPLBACKEND": "Agg"})


def _grade(job: Job, sent: _Sender) -> None:
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    namespace = main.__dict__
    checks = importlib.import_module("labs.checks")
    evaluate = checks.evaluate
    checkers: dict[str, Any] = {}
    fingerprint: Callable[[], dict[str, object]] | None = None
    cell_errors: dict[str, str] = {}
    for step in job.lesson.steps:
        if step.type == "setup":
            _run_setup(step.source, f"<set-up of {job.lesson.name}, cell {step.cell_id}>", namespace)
        elif step.type == "exercise":
            if fingerprint is None:
                checkers = _look_up_checkers(checks, job.lesson.exercise_ids)
                fingerprint = _fingerprinter(checks, checkers)
                before = fingerprint()
            cell_errors.update(dict.fromkeys(step.exercise_ids, _run_learner_cell(job.learner_cells.get(step.cell_id), namespace)))
        else:
            started = time.perf_counter()
            result = _check(step, checkers, evaluate, namespace, cell_errors.get(step.exercise_id, ""))
            if fingerprint is not None and (changed := _changes(before, fingerprint())):
                result = _failed(f"your code changed the grader ({changed}), so this exercise cannot be graded")
            sent.send({"type": "result", "exercise": step.exercise_id, **result, "seconds": time.perf_counter() - started})


def _run_setup(source: str, where: str, namespace: dict[str, Any]) -> None:
    """Run the instructor's definitions one statement at a time, skipping those that need a demonstration's results."""
    for statement in ast.parse(source).body:
        try:
            exec(compile(ast.Module(body=[statement], type_ignores=[]), where, "exec"), namespace)
        except Exception:  # a decorator or default value that needs a client the set-up does not create
            continue


def _look_up_checkers(checks: Any, exercise_ids: Iterable[str]) -> dict[str, Any]:
    found = {}
    for exercise_id in exercise_ids:
        try:
            found[exercise_id] = checks.checker_for(exercise_id)
        except LookupError as error:
            found[exercise_id] = error
    return found


def _run_learner_cell(source: str | None, namespace: dict[str, Any]) -> str:
    """Run one learner exercise cell; return what went wrong, or ""."""
    if source is None:
        return "the exercise cell is missing from your notebook"
    try:
        code = compile(source, "<your exercise cell>", "exec")
    except SyntaxError as error:
        return f"your exercise cell does not compile: {_describe(error)}"
    try:
        exec(code, namespace)
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: they must not end the grading
        return f"your exercise cell raised {_describe(error)}"
    return ""


def _check(step: Any, checkers: dict[str, Any], evaluate: Callable[..., Any], namespace: dict[str, Any], cell_error: str) -> dict[str, Any]:
    checker = checkers.get(step.exercise_id)
    if checker is None or isinstance(checker, Exception):
        return _failed(f"the grader has no checker for exercise {step.exercise_id}: {checker}")
    answers = []
    for expression in step.answers:
        try:
            answers.append(eval(expression, namespace))
        except BaseException as error:
            if cell_error:
                return _failed(f"{cell_error}, so it does not define {expression}")
            return _failed(f"your exercise cell does not define {expression} ({_describe(error)})")
    try:
        result = evaluate(step.exercise_id, *answers, checker=checker)
    except BaseException as error:  # SystemExit from the learner's function, say
        return _failed(f"your code raised {_describe(error)}")
    return {
        "status": result.status, "message": result.message,
        "cases": [{"name": c.name, "passed": c.passed, "message": c.message, "hint": c.hint} for c in result.cases],
    }


def _failed(message: str) -> dict[str, Any]:
    return {"status": "failed", "message": message, "cases": []}


def _fingerprinter(checks: Any, checkers: dict[str, Any]) -> Callable[[], dict[str, object]]:
    """A function returning the identity of everything the verdict depends on, to compare before and after."""
    modules = {checks.__name__: checks}
    for checker in checkers.values():
        module = sys.modules.get(getattr(checker, "__module__", ""))
        if module is not None and module.__name__ != "__main__":  # a checker a set-up cell registered: itself only
            modules[module.__name__] = module

    def fingerprint() -> dict[str, object]:
        found: dict[str, object] = {}
        for module_name, module in modules.items():
            found[f"sys.modules[{module_name!r}]"] = id(sys.modules.get(module_name))
            for name, value in list(vars(module).items()):
                found[f"{module_name}.{name}"] = (id(value), id(getattr(value, "__code__", None)))
                if isinstance(value, type) and value.__module__ == module_name:
                    found.update({f"{module_name}.{name}.{k}": id(v) for k, v in list(vars(value).items())})
        found.update({f"the checker of {i}": id(getattr(c, "__code__", c)) for i, c in checkers.items()})
        registered = getattr(checks, "_checkers", {})
        found.update({f"labs.checks registration of {i}": id(registered.get(i)) for i in checkers})
        return found

    return fingerprint


def _changes(before: dict[str, object], after: dict[str, object]) -> str:
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    return ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")


class _Sender:
    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe

    def send(self, message: dict[str, Any]) -> None:
        self._pipe.send_bytes(json.dumps(message, ensure_ascii=False, default=str).encode("utf-8"))


class _OutputCounter:
    def __init__(self, limit: int, sent: _Sender) -> None:
        self.limit, self.count, self._sent = limit, 0, sent

    def add(self, text: str) -> None:
        self.count += len(text)
        if self.count > self.limit:
            self._sent.send({"type": "abort", "reason": f"your code printed more than {_size(self.limit)}"})
            os._exit(0)


class _CountedText:
    """A stand-in for sys.stdout and sys.stderr that keeps nothing and counts everything."""

    encoding, errors, newlines = "utf-8", "strict", None

    def __init__(self, counter: _OutputCounter) -> None:
        self._counter = counter

    def write(self, text: str) -> int:
        self._counter.add(str(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Nothing is kept, so nothing to flush."""

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


# -- the grader's side -----------------------------------------------------------------------------


@dataclass
class _Running:
    job: Job
    process: Any
    pipe: Connection
    started: float
    outcome: Outcome = field(default_factory=Outcome)
    open: bool = True


def run_jobs(
    jobs: Sequence[Job], workers: int, timeout: float, on_done: Callable[[Job, Outcome], None] | None = None
) -> dict[int, Outcome]:
    """Grade every job, at most `workers` at a time, each in its own process, each within `timeout` seconds."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_preload(jobs))
    lifetime = math.ceil(2 * timeout) + 1
    pending = deque(job if job.lifetime else replace(job, lifetime=lifetime) for job in jobs)
    running, finished = list[_Running](), dict[int, Outcome]()
    while pending or running:
        while pending and len(running) < max(1, workers):
            running.append(_start(context, pending.popleft()))
        now = time.monotonic()
        deadline = min(r.started + timeout for r in running)
        handles = [r.pipe for r in running if r.open] + [r.process.sentinel for r in running]
        ready = set(wait(handles, timeout=max(0.0, deadline - now)))
        for run in list(running):
            if run.open and run.pipe in ready:
                _receive(run)
            over_time = time.monotonic() - run.started > timeout
            if run.process.sentinel in ready or over_time or run.outcome.failure:
                _finish(run, over_time, timeout)
                running.remove(run)
                finished[run.job.key] = run.outcome
                if on_done is not None:
                    on_done(run.job, run.outcome)
    return finished


def _preload(jobs: Sequence[Job]) -> list[str]:
    lessons = {job.lesson.name: job.lesson for job in jobs}.values()
    checkers = {f"labs.lessons.lesson_{int(i.split('.')[0]):02d}.checks" for lesson in lessons for i in lesson.exercise_ids}
    imports = [m for lesson in lessons for m in lesson.imports if not m.startswith(_NOT_PRELOADED)]
    return list(dict.fromkeys(["labs", "labs.checks", __name__, *sorted(checkers), *imports]))


def _start(context: Any, job: Job) -> _Running:
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(target=run_job, args=(job, writer), daemon=True)
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")  # so the new process does not import our __main__ again
    try:
        process.start()
    finally:
        sys.modules["__main__"] = main
    writer.close()
    return _Running(job, process, reader, time.monotonic())


def _receive(run: _Running) -> None:
    """Read every message waiting on the job's pipe, keeping the valid ones."""
    try:
        while run.pipe.poll():
            decoded = json.loads(run.pipe.recv_bytes(MESSAGE_LIMIT))
            message = decoded if isinstance(decoded, dict) else {}
            _accept(run, message)
            if run.outcome.failure or message.get("type") == "done":
                run.open = False
                return
    except (EOFError, OSError, ValueError):  # the process ended, or sent something that is not a message
        run.open = False


def _accept(run: _Running, message: dict[str, Any]) -> None:
    expected = run.job.lesson.exercise_ids
    received = {result["exercise"] for result in run.outcome.results}
    if message.get("type") == "abort":
        run.outcome.failure = _text(message.get("reason")) or "the grading process gave up"
    elif message.get("type") == "result" and message.get("exercise") in expected and message["exercise"] not in received:
        status = message.get("status")
        cases = message.get("cases") if isinstance(message.get("cases"), list) else []
        run.outcome.results.append({
            "exercise": message["exercise"],
            "status": status if status in STATUSES else "failed",
            "message": _text(message.get("message")),
            "cases": [_case(case) for case in cases if isinstance(case, dict)][:50],
            "seconds": float(message["seconds"]) if isinstance(message.get("seconds"), (int, float)) else 0.0,
        })
    elif message.get("type") == "done":
        missing = [i for i in expected if i not in received | {r["exercise"] for r in run.outcome.results}]
        if missing:
            run.outcome.failure = f"the grading process ended without a verdict for {', '.join(missing)}"


def _case(case: dict[str, Any]) -> dict[str, Any]:
    return {"name": _text(case.get("name")), "passed": case.get("passed") is True,
            "message": _text(case.get("message")), "hint": _text(case.get("hint"))}


def _finish(run: _Running, over_time: bool, timeout: float) -> None:
    if run.open:
        _receive(run)
    if run.process.is_alive() or over_time:
        _kill(run.process)
    run.process.join(5)
    run.outcome.seconds = time.monotonic() - run.started
    reported = {result["exercise"] for result in run.outcome.results}
    if run.outcome.failure or reported >= set(run.job.lesson.exercise_ids):
        pass
    elif over_time:
        run.outcome.failure = f"timed out after {timeout:g} s (an endless loop, or waiting for input?)"
    elif (code := run.process.exitcode) is not None and code < 0:
        run.outcome.failure = f"the grading process crashed ({signal.Signals(-code).name}) while running your code"
    else:
        run.outcome.failure = f"the grading process exited (code {code}) while running your code"
    run.pipe.close()


def _kill(process: Any) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the process and anything it started in its session
    except (ProcessLookupError, PermissionError):
        process.kill()


def _text(value: object) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _size(characters: int) -> str:
    return f"{characters / 1_000_000:g} MB" if characters >= 1_000_000 else f"{characters:,} characters"
