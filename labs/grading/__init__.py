"""Grading learner notebooks with the instructor's checks, out of the learner's reach.

    python -m labs.workbook grade [PATH ...]                           # one learner, default workspace/ (`make grade`)
    python -m labs.workbook grade-class submissions/ --out gradebook.csv  # a class (`make grade-class`)
    python -m labs.grading bench                                        # time a generated class of 34

The verdict never comes from the learner's kernel. From each submitted notebook the grader takes only the
source of its exercise cells (`submissions`), runs them after the lesson's set-up taken from the
instructor's solution (`lessons`), in a fresh process per notebook that reports to the grader over an
anonymous pipe (`sandbox`), and writes the gradebook, the feedback and the summary (`gradebook`).
The README's instructor guide states the threat model.
"""

from labs.grading.cli import add_commands, run
from labs.grading.grader import GradeRow, grade_submissions
from labs.grading.lessons import Lesson, load_lessons
from labs.grading.submissions import Submission, find_submissions

__all__ = ["GradeRow", "Lesson", "Submission", "add_commands", "find_submissions", "grade_submissions", "load_lessons", "run"]
