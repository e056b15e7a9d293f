"""Grading submissions: every notebook of every student, in parallel, one row per exercise.

`grade_submissions` reads each submission's notebooks in this process (reading runs nothing), turns each
into a `Job` for `labs.grading.sandbox`, and turns what the sandbox reports into `GradeRow`s. A submission
that cannot be graded at all (not a notebook, no notebook, no lesson) gets one "failed" row saying why; a
notebook whose process hung, crashed or printed too much gets a "failed" row, with the reason, for each
exercise it did not report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labs.checks import CaseResult, Status
from labs.grading.lessons import Lesson
from labs.grading.sandbox import Job, Outcome, run_jobs
from labs.grading.submissions import Notebook, Submission, read_notebook

__all__ = ["GradeRow", "default_workers", "grade_submissions"]


@dataclass(frozen=True)
class GradeRow:
    """One exercise of one student's notebook: what the gradebook, the feedback and the summary show."""

    student: str
    lesson: str
    exercise: str
    status: Status
    hint: str = ""
    seconds: float = 0.0
    notebook: str = ""
    cases: tuple[CaseResult, ...] = ()

    @property
    def failing_cases(self) -> tuple[CaseResult, ...]:
        return tuple(case for case in self.cases if not case.passed)


def default_workers() -> int:
    """One grading process per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def grade_submissions(
    submissions: Sequence[Submission],
    lessons: Mapping[str, Lesson],
    *,
    workers: int | None = None,
    timeout: float = 60.0,
    output_limit: int = 1_000_000,
    secrets: tuple[str, ...] = (),
    show: Callable[[Path], str] = str,
    progress: Callable[[str], None] | None = None,
) -> list[GradeRow]:
    """Grade every notebook of every submission; rows come in submission order, then lesson order."""
    rows: dict[tuple[int, int], list[GradeRow]] = {}
    jobs: list[Job] = []
    placed: dict[int, tuple[tuple[int, int], Submission, Notebook]] = {}
    for number, submission in enumerate(submissions):
        if submission.problem:
            rows[(number, 0)] = [GradeRow(submission.student, "-", "-", "failed", submission.problem, notebook=show(submission.path))]
        for index, path in enumerate(submission.notebooks):
            started = time.monotonic()
            notebook = read_notebook(path, lessons)
            if isinstance(notebook, str):
                seconds = time.monotonic() - started
                rows[(number, index)] = [GradeRow(submission.student, "-", "-", "failed", notebook, seconds, show(path))]
                continue
            if not notebook.lesson.exercise_ids:
                continue  # a lesson without exercises, such as 00_setup_and_replay
            job = Job(len(jobs), notebook.lesson, notebook.cells, output_limit, secrets)
            jobs.append(job)
            placed[job.key] = ((number, index), submission, notebook)

    def done(job: Job, outcome: Outcome) -> None:
        where, submission, notebook = placed[job.key]
        rows[where] = _rows(submission.student, notebook, outcome, show)
        if progress is not None:
            progress(f"{submission.student}: {notebook.lesson.name} graded")

    run_jobs(jobs, workers or default_workers(), timeout, done)
    return [row for where in sorted(rows) for row in rows[where]]


def _rows(student: str, notebook: Notebook, outcome: Outcome, show: Callable[[Path], str]) -> list[GradeRow]:
    results = {result["exercise"]: result for result in outcome.results}
    rows = []
    for exercise_id in notebook.lesson.exercise_ids:
        result = results.get(exercise_id)
        if result is None:
            rows.append(GradeRow(student, notebook.lesson.name, exercise_id, "failed", outcome.failure, round(outcome.seconds, 2), show(notebook.path)))
            continue
        cases = tuple(CaseResult(c["name"], c["passed"], c["message"], c["hint"]) for c in result["cases"])
        row = GradeRow(student, notebook.lesson.name, exercise_id, result["status"], "", round(result["seconds"], 2), show(notebook.path), cases)
        rows.append(_with_hint(row, result["message"]))
    return rows


def _with_hint(row: GradeRow, message: str) -> GradeRow:
    """The row with its hint: the not-done message, or every failing case with its problem and hint."""
    failing = row.failing_cases
    hint = "; ".join(f"{case.name}: {_sentence(case.message, case.hint)}" for case in failing) if failing else message
    fields: dict[str, Any] = {**row.__dict__, "hint": hint}
    return GradeRow(**fields)


def _sentence(message: str, hint: str) -> str:
    message = " ".join(message.split()).rstrip(".")
    return f"{message}. Hint: {' '.join(hint.split())}" if hint else message
