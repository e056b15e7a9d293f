"""`python -m labs.grading sample FOLDER` writes the generated class; `bench` grades it and prints the time."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from labs.grading.cli import REPO_ROOT
from labs.grading.grader import default_workers, grade_submissions
from labs.grading.lessons import load_lessons
from labs.grading.sample import write_sample_class
from labs.grading.submissions import find_submissions

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run `sample` or `bench`; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m labs.grading", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sample", help="write the generated class").add_argument("folder", type=Path)
    bench = commands.add_parser("bench", help="grade the generated class and print how long it took")
    bench.add_argument("--timeout", type=float, default=20, help="seconds allowed per notebook (the hanging one uses it all)")
    bench.add_argument("--workers", type=int, default=default_workers())
    arguments = parser.parse_args(argv)
    solutions = REPO_ROOT / "solutions"
    if arguments.command == "sample":
        students = write_sample_class(arguments.folder, solutions)
        print(f"wrote {len(students)} submissions in {arguments.folder}")
        return 0
    with tempfile.TemporaryDirectory(prefix="labs-class-") as folder:
        write_sample_class(Path(folder), solutions)
        started = time.perf_counter()
        submissions = find_submissions(Path(folder))
        rows = grade_submissions(submissions, load_lessons(solutions), workers=arguments.workers, timeout=arguments.timeout)
        elapsed = time.perf_counter() - started
    notebooks = sum(len(submission.notebooks) for submission in submissions)
    print(
        f"graded {len(submissions)} submissions ({notebooks} notebooks, {len(rows)} rows) in {elapsed:.1f} s "
        f"with {arguments.workers} workers and a {arguments.timeout:g} s timeout per notebook"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
