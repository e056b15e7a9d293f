"""What the instructor gets from grading a class: a CSV gradebook, feedback per student, a summary, a chart.

- the gradebook: one CSV row per student and exercise: student, lesson, exercise, status, hint, seconds;
- `<student>.md` per student: what passed, every case still wrong with its hint, what is not done yet,
  and what could not be graded and why;
- the summary: per exercise, how many submissions passed and the most common way it failed (a case's
  name, or the reason the notebook could not be graded);
- a bar chart of the pass rate per exercise (matplotlib, Agg backend, so it needs no display).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from labs.grading.grader import GradeRow

__all__ = ["ExerciseSummary", "feedback", "plot_pass_rates", "print_summary", "summarise", "write_feedback", "write_gradebook"]

COLUMNS = ("student", "lesson", "exercise", "status", "hint", "seconds")
_MARKS = {"passed": "✅", "failed": "❌", "not_done": "⏳"}


@dataclass(frozen=True)
class ExerciseSummary:
    """How the class did on one exercise."""

    exercise: str
    lesson: str
    graded: int
    passed: int
    common_failure: str  # the most common failing case or reason, with how many submissions had it; "" if none

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


def write_gradebook(rows: Sequence[GradeRow], path: Path) -> None:
    """Write the CSV gradebook to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.student, row.lesson, row.exercise, row.status, row.hint, f"{row.seconds:.2f}"])


def feedback(student: str, rows: Sequence[GradeRow]) -> str:
    """A student's feedback in Markdown."""
    passed = [row for row in rows if row.status == "passed"]
    lines = [f"# Feedback for {student}", "", f"{len(passed)} of {len(rows)} exercises passed.", ""]
    for row in rows:
        title = f"Exercise {row.exercise} ({row.lesson})" if row.exercise != "-" else f"`{row.notebook}`"
        lines.append(f"## {_MARKS[row.status]} {title}: {row.status.replace('_', ' ')}")
        lines.append("")
        if row.status == "passed":
            lines += [f"- ✅ {case.name}" for case in row.cases] or ["- ✅ every case"]
        elif row.status == "not_done":
            lines.append(f"Not done yet: {row.hint}")
        elif row.failing_cases:
            for case in row.cases:
                lines.append(f"- ✅ {case.name}" if case.passed else f"- ❌ **{case.name}**: {case.message}")
                if not case.passed and case.hint:
                    lines.append(f"  - Hint: {case.hint}")
        else:
            lines.append(f"Could not be graded: {row.hint}")
        lines.append("")
    return "\n".join(lines)


def write_feedback(rows: Sequence[GradeRow], folder: Path) -> list[Path]:
    """Write `<student>.md` for every student in `rows` into `folder`; return the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[GradeRow]] = {}
    for row in rows:
        by_student.setdefault(row.student, []).append(row)
    written = []
    for student, student_rows in by_student.items():
        path = folder / f"{student}.md"
        path.write_text(feedback(student, student_rows), encoding="utf-8")
        written.append(path)
    return written


def summarise(rows: Sequence[GradeRow]) -> list[ExerciseSummary]:
    """Per exercise (in exercise order), its pass rate and most common failure."""
    graded = [row for row in rows if row.exercise != "-"]
    summaries = []
    for exercise in sorted({row.exercise for row in graded}, key=_exercise_order):
        of_exercise = [row for row in graded if row.exercise == exercise]
        common = _most_common_failure(of_exercise)
        passed = sum(row.status == "passed" for row in of_exercise)
        summaries.append(ExerciseSummary(exercise, of_exercise[0].lesson, len(of_exercise), passed, common))
    return summaries


def print_summary(summaries: Sequence[ExerciseSummary], rows: Sequence[GradeRow], console: object | None = None) -> None:
    """Print the summary table, then one line with the totals."""
    from rich.console import Console
    from rich.table import Table

    table = Table("Exercise", "Lesson", "Passed", "Pass rate", "Most common failing case", title="Class summary")
    for summary in summaries:
        table.add_row(summary.exercise, summary.lesson, f"{summary.passed}/{summary.graded}", f"{summary.pass_rate:.0%}", summary.common_failure or "-")
    students = len({row.student for row in rows})
    ungraded = sum(row.exercise == "-" for row in rows)
    out = console if isinstance(console, Console) else Console()
    out.print(table)
    line = f"{students} student{'s' if students != 1 else ''}, {sum(s.graded for s in summaries)} exercises graded"
    out.print(line + (f", {ungraded} submission files could not be graded." if ungraded else "."))


def plot_pass_rates(summaries: Sequence[ExerciseSummary], path: Path) -> None:
    """Save a bar chart of the pass rate per exercise to `path` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(max(4.0, 0.8 * len(summaries) + 2), 3.5))
    labels = [summary.exercise for summary in summaries]
    rates = [100 * summary.pass_rate for summary in summaries]
    bars = axes.bar(labels, rates, color="#4c9f70")
    axes.bar_label(bars, labels=[f"{s.passed}/{s.graded}" for s in summaries], padding=2)
    axes.set(ylim=(0, 110), ylabel="passed (%)", xlabel="exercise", title="Pass rate per exercise")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _most_common_failure(rows: Sequence[GradeRow]) -> str:
    """The failing case most rows share; else the most common reason a notebook could not be graded; else not done."""
    cases = Counter(case.name for row in rows if row.status == "failed" for case in row.failing_cases)
    reasons = Counter(_reason(row.hint) for row in rows if row.status == "failed" and not row.failing_cases)
    not_done = sum(row.status == "not_done" for row in rows)
    for counter in (cases, reasons):
        if counter:
            (reason, count), = counter.most_common(1)
            return f"{reason} ({count})"
    return f"not done yet ({not_done})" if not_done else ""


def _reason(hint: str) -> str:
    """A failure's reason without its details, so that like counts with like ("timed out after 60 s")."""
    return hint.split(": ")[0] if hint.startswith(("your exercise cell", "your code raised")) else hint


def _exercise_order(exercise: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in exercise.split("."))
