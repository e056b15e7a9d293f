"""Grading one learner (`grade`): the real workbook, the test-only lesson 99, and how submissions are read."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from labs.grading.lessons import load_lesson
from labs.grading.submissions import find_submissions
from labs.workbook import main

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "workbook"
NAME = "99_example.ipynb"


def grade(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    code = main(["grade", "--json", *arguments])
    return code, json.loads(capsys.readouterr().out)


def test_solutions_pass_and_learner_copies_are_not_done(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    solved_code, solved = grade(["solutions"], capsys)
    untouched_code, untouched = grade(["notebooks"], capsys)
    exercises = {row["exercise"] for row in solved}
    lessons = sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))
    assert len(lessons) >= 17
    for path in lessons[1:]:  # from lesson 01 on: two graded exercises each, one of them an open-ended challenge
        number = int(path.name[:2])
        assert len({e for e in exercises if e.split(".")[0] == str(number)}) >= 2, path.name
        headings = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"]
        assert any(re.search(rf"^## Exercise {number}\.\d+ \(challenge\): ", text, re.M) for text in headings), path.name
    assert exercises == {row["exercise"] for row in untouched}
    failing = [row for row in solved if row["status"] != "passed"]  # only the rows at fault: pytest cuts a whole list short
    assert solved_code == 0 and not failing, failing
    done = [row for row in untouched if row["status"] != "not_done"]
    assert untouched_code != 0 and not done, done
    assert all("Hint:" in row["hint"] for row in untouched)


def test_grade_passes_the_solution_with_a_checker_the_lesson_registers(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(DATA)
    assert main(["grade", f"solutions/{NAME}", "--solutions", "solutions"]) == 0
    table = capsys.readouterr().out
    assert re.search(rf"solutions/{NAME}\s*│\s*99\.1\s*│\s*passed\s*│", table), table
    assert "1 of 1 exercises passed, in 1 notebook." in table


def test_grade_reports_untouched_and_unknown_notebooks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(DATA / "notebooks" / NAME, tmp_path / NAME)
    nbformat.write(new_notebook(cells=[new_code_cell("from labs.checks import check\n\ncheck('99.2', missing)")]), tmp_path / "98_broken.ipynb")
    code, rows = grade([str(tmp_path), "--solutions", str(DATA / "solutions")], capsys)
    assert code == 1
    assert rows == [
        {"notebook": str(tmp_path / "98_broken.ipynb"), "exercise": "-", "status": "failed",
         "hint": "98_broken.ipynb matches no lesson: no cell of a lesson's notebook, no name starting with a lesson number, no exercise's functions"},
        {"notebook": str(tmp_path / NAME), "exercise": "99.1", "status": "not_done",
         "hint": 'complete total_tokens. Hint: add chunk["tokens"] for every chunk, starting from 0'},
    ]


def test_a_report_file_written_by_the_notebook_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's attack: a cell appends a "passed" record to LABS_GRADE_REPORT instead of solving 99.1."""
    learner = nbformat.read(DATA / "notebooks" / NAME, as_version=4)
    forged = json.dumps({"exercise": "99.1", "status": "passed", "cases": [], "message": "", "hint": ""})
    learner.cells.append(new_code_cell(f"import os\nopen(os.environ['LABS_GRADE_REPORT'], 'a').write({forged!r} + '\\n')"))
    nbformat.write(learner, tmp_path / NAME)
    monkeypatch.setenv("LABS_GRADE_REPORT", str(tmp_path / "report.jsonl"))
    (tmp_path / "report.jsonl").write_text(forged + "\n", encoding="utf-8")
    code, rows = grade([str(tmp_path / NAME), "--solutions", str(DATA / "solutions")], capsys)
    assert code == 1 and [row["status"] for row in rows] == ["not_done"]


def test_nothing_to_grade_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "student").mkdir()
    assert main(["grade", str(tmp_path)]) == 1
    assert "error: no notebook (.ipynb) found in" in capsys.readouterr().err


def test_a_lesson_is_its_set_up_its_exercise_cell_and_its_check() -> None:
    lesson = load_lesson(DATA / "solutions" / NAME)
    assert [(step.type, step.cell_id) for step in lesson.steps] == [("setup", "checker"), ("setup", "timing"), ("exercise", "exercise"), ("check", "check")]
    exercise, check = lesson.steps[2], lesson.steps[3]
    assert exercise.exercise_ids == ("99.1",) and exercise.defines == ("total_tokens",)  # type: ignore[union-attr]
    assert check.answers == ("total_tokens",)  # type: ignore[union-attr]
    timing = lesson.steps[1].source  # type: ignore[union-attr]
    assert timing == "import time"  # the demonstration's calls and prints are left out
    assert lesson.exercise_ids == ("99.1",) and "time" in lesson.imports


def test_submissions_are_named_by_file_or_folder_and_stray_entries_are_kept_or_skipped(tmp_path: Path) -> None:
    for name in ("alice.ipynb", "bob/lessons/01_basic_streaming.ipynb", "bob/.ipynb_checkpoints/01_basic_streaming-checkpoint.ipynb",
                 "carol/notes.txt", "dave.pdf", ".hidden.ipynb", "__MACOSX/alice.ipynb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    found = {s.student: (tuple(p.relative_to(tmp_path).as_posix() for p in s.notebooks), s.problem) for s in find_submissions(tmp_path)}
    assert found == {
        "alice": (("alice.ipynb",), ""),
        "bob": (("bob/lessons/01_basic_streaming.ipynb",), ""),
        "carol": ((), "the folder holds no .ipynb notebook (found notes.txt)"),
        "dave": ((), "dave.pdf is not a notebook (.ipynb)"),
    }


# -- a grader killed mid-run leaves nothing running -------------------------------------------------------

GRADER = """
import sys
from pathlib import Path
from labs.grading.lessons import load_lesson
from labs.grading.sandbox import Job, run_jobs
lesson = load_lesson(Path(sys.argv[1]))
loop = "import os\\nopen(%r, 'w').write(str(os.getpid()))\\nwhile True:\\n    pass" % sys.argv[2]
cells = {step.cell_id: loop for step in lesson.exercise_cells}
run_jobs([Job(0, lesson, cells, lifetime=int(sys.argv[3]))], workers=1, timeout=600)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_endless_loop_ends_itself_when_its_grader_is_killed(tmp_path: Path) -> None:
    """Ctrl-C twice, or a closed terminal, kills the grader before it can kill an endless submission (which left
    the grader's session, so the terminal's signal never reaches it): the submission ends itself, at `lifetime`."""
    pid_file = tmp_path / "pid"
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(REPO / "solutions" / "01_basic_streaming.ipynb"), str(pid_file), "2"])
    child = None
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(pid_file.read_text())
        grader.kill()
        grader.wait()
        looped = time.monotonic()
        assert _running(child), "the submission's loop should still be running once its grader is gone"
        while _running(child) and time.monotonic() - looped < 15:
            time.sleep(0.1)
        assert not _running(child), "the submission's endless loop outlived its grader by 15 s"
    finally:
        grader.kill()
        if child is not None and _running(child):
            os.kill(child, signal.SIGKILL)
