"""The grading commands of `python -m labs.workbook`: `grade` (one learner) and `grade-class` (a class).

    python -m labs.workbook grade [PATH ...] [--json]     # default: the lessons in workspace/
    python -m labs.workbook grade-class submissions/ --out gradebook.csv

Both take the lessons from `--solutions` (default: the repository's `solutions/`) and grade through
`labs.grading.grader`, so a single learner's grade is as tamper-proof as a class's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from labs.grading.gradebook import plot_pass_rates, print_summary, summarise, write_feedback, write_gradebook
from labs.grading.grader import GradeRow, default_workers, grade_submissions
from labs.grading.lessons import load_lessons
from labs.grading.submissions import find_submissions, submission_of

__all__ = ["add_commands", "run", "shown"]

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
_STYLES = {"passed": "green", "failed": "red", "not_done": "yellow"}


def add_commands(commands: Any) -> None:
    """Add `grade` and `grade-class` to the workbook's command line (`commands` is argparse's subparsers)."""
    grader = commands.add_parser("grade", help="grade one learner's notebooks, each exercise by the instructor's checks")
    grader.add_argument("paths", nargs="*", type=Path, help="notebooks or folders (default: --notebooks)")
    grader.add_argument("--notebooks", type=Path, default=REPO_ROOT / "notebooks")
    grader.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _common(grader)
    grade_class = commands.add_parser("grade-class", help="grade a class folder: a gradebook, feedback and a summary")
    grade_class.add_argument("folder", type=Path, help="one .ipynb or one folder of notebooks per student")
    grade_class.add_argument("--out", type=Path, default=Path("gradebook.csv"), help="the CSV gradebook (default: gradebook.csv)")
    grade_class.add_argument("--feedback", type=Path, help="the folder for <student>.md (default: <out>_feedback/ beside it)")
    _common(grade_class)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--solutions", type=Path, default=REPO_ROOT / "solutions", help="the instructor's solution notebooks")
    parser.add_argument("--timeout", type=float, default=60, help="seconds allowed per notebook (default: 60)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="notebooks graded at once (default: one per core)")
    parser.add_argument("--output-limit", type=int, default=1_000_000, help="characters a notebook may print (default: 1000000)")


def run(arguments: argparse.Namespace) -> int:
    """Run `grade` or `grade-class` as parsed; return the exit code."""
    if not arguments.solutions.is_dir():
        print(f"error: no solutions folder at {shown(arguments.solutions)}", file=sys.stderr)
        return 2
    lessons = load_lessons(arguments.solutions)
    options = {"workers": arguments.workers, "timeout": arguments.timeout, "output_limit": arguments.output_limit, "show": shown}
    if arguments.command == "grade":
        return _grade(arguments, lessons, options)
    return _grade_class(arguments, lessons, options)


def _grade(arguments: argparse.Namespace, lessons: Any, options: dict[str, Any]) -> int:
    paths = arguments.paths or [arguments.notebooks]
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        print(f"error: no such notebook or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    submission = submission_of(paths)
    if not submission.notebooks:
        print(f"error: no notebook (.ipynb) found in {', '.join(map(shown, paths))}: nothing to grade", file=sys.stderr)
        return 1
    rows = grade_submissions([submission], lessons, **options)
    if arguments.json:
        print(json.dumps([{"notebook": r.notebook, "exercise": r.exercise, "status": r.status, "hint": r.hint} for r in rows], indent=2, ensure_ascii=False))
    else:
        _print_table(rows, len(submission.notebooks))
    return 0 if rows and all(row.status == "passed" for row in rows) else 1


def _grade_class(arguments: argparse.Namespace, lessons: Any, options: dict[str, Any]) -> int:
    folder, out = arguments.folder, arguments.out
    if not folder.is_dir():
        print(f"error: {shown(folder)} is not a folder of submissions", file=sys.stderr)
        return 2
    feedback = arguments.feedback or out.with_name(f"{out.stem}_feedback")
    chart = out.with_name(f"{out.stem}_pass_rates.png")
    submissions = find_submissions(folder, skip=(out, feedback, chart))
    if not submissions:
        print(f"error: nothing to grade in {shown(folder)}: put one .ipynb or one folder of notebooks per student there", file=sys.stderr)
        return 1
    started = time.monotonic()
    rows = grade_submissions(submissions, lessons, **options)
    elapsed = time.monotonic() - started
    write_gradebook(rows, out)
    written = write_feedback(rows, feedback)
    summaries = summarise(rows)
    plot_pass_rates(summaries, chart)
    print_summary(summaries, rows)
    print(f"Graded {len(submissions)} submissions in {elapsed:.1f} s with {options['workers']} workers.")
    print(f"Wrote {shown(out)}, {len(written)} feedback files in {shown(feedback)}/ and {shown(chart)}.")
    return 0


def _print_table(rows: list[GradeRow], notebook_count: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("Notebook", "Exercise", "Status", "Hint", title="Workbook grades")
    for row in rows:
        table.add_row(row.notebook, row.exercise, f"[{_STYLES[row.status]}]{row.status.replace('_', ' ')}", row.hint)
    passed = sum(row.status == "passed" for row in rows)
    notebooks = f"{notebook_count} notebook{'' if notebook_count == 1 else 's'}"
    Console().print(table, f"{passed} of {len(rows)} exercises passed, in {notebooks}.")


def shown(path: Path) -> str:
    """`path` relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
