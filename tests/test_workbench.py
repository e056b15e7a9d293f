"""The instructor's workbench, through the documented commands, on a copy of the workbook in a temp folder.

One instructor session on lesson 02 (a small lesson, about a minute and a half in all): scaffold exercise 2.3,
see `check` refuse the new cells until their outputs are stored, reword a prompt in its one place (the
notebook cell), re-author the fixtures with `make fixtures`, store outputs with `make outputs`, regenerate
the learner copy, and pass `make test-lesson`. Then the small pieces the commands rely on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from labs.lessons import lesson_tests
from labs.replay import load_cassette
from tests.nbval_support import failure_line

REPO = Path(__file__).resolve().parent.parent
VENV = Path(sys.prefix)  # the running venv, whose bin/ make uses instead of the copy's .venv
CHECKLIST = "labs/fixtures/02_collect_while_streaming/checklist.yaml"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "workbook"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints", "recorded", "test_workbench.py")
    for folder in ("labs", "solutions", "notebooks", "tests", "translations"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    for name in ("Makefile", "requirements.txt", "pyproject.toml"):
        shutil.copy2(REPO / name, root / name)
    (root / ".installed").touch()  # the shared .venv is set up: make's `setup` has nothing to do
    return root


def _run(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(root), "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "0"}
    if command[0] == "make":
        command = (*command, f"VENV={VENV}", f"STAMP={root / '.installed'}")
    else:
        command = (sys.executable, *command[1:])
    return subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=900)


def _user_prompt(root: Path) -> str:
    return load_cassette(root / CHECKLIST).interactions[0].request.body["messages"][1]["content"]


def test_an_instructor_adds_an_exercise_rewords_a_prompt_and_the_lesson_passes(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    scaffold = _run(root, "python", "-m", "labs.workbook", "new-exercise", "2.3")
    assert scaffold.returncode == 0, scaffold.stderr
    assert "wrote labs/lessons/lesson_02/checks.py" in scaffold.stdout and "wrote tests/test_lesson_02_checks.py" in scaffold.stdout

    check = _run(root, "python", "-m", "labs.workbook", "check")
    assert check.returncode == 1
    assert "02_collect_while_streaming.ipynb, cell" in check.stderr and "(id l02-26cb): no stored execution" in check.stderr

    solution = root / "solutions" / "02_collect_while_streaming.ipynb"
    notebook = nbformat.read(solution, as_version=4)
    (cell,) = [c for c in notebook.cells if c.get("id") == "l02-03"]
    assert "two-day" in cell.source
    cell.source = cell.source.replace("two-day", "three-day")  # the prompt's one place
    nbformat.write(notebook, solution)
    comment = load_cassette(root / CHECKLIST).comment

    fixtures = _run(root, "make", "fixtures", "LESSON=02")
    assert fixtures.returncode == 0, fixtures.stdout + fixtures.stderr
    assert "three-day" in _user_prompt(root) and load_cassette(root / CHECKLIST).comment == comment

    for step in (("make", "outputs", "LESSON=02"), ("make", "notebooks")):
        done = _run(root, *step)
        assert done.returncode == 0, f"{' '.join(step)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    untranslated = _run(root, "python", "-m", "labs.workbook", "check")  # the Vietnamese edition lacks the new exercise
    assert untranslated.returncode == 1 and "l02-26ca" in untranslated.stderr and "exercise 2.3" in untranslated.stderr, untranslated.stderr
    assert _run(root, "python", "-m", "labs.workbook", "translation", "02").returncode == 0  # adds its cells and texts, vi empty
    translation = root / "translations" / "vi" / "02_collect_while_streaming.yaml"
    data = yaml.safe_load(translation.read_text(encoding="utf-8"))
    for entry in [*data["cells"].values(), *(e for texts in data["exercises"].values() for e in texts)]:
        entry["vi"] = entry["vi"] or f"(vi) {entry['en']}"  # the translator's part
    translation.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for step in (("make", "notebooks"), ("python", "-m", "labs.workbook", "check")):
        done = _run(root, *step)
        assert done.returncode == 0, f"{' '.join(step)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"

    assert "tests/test_lesson_02_checks.py" in _run(root, "python", "-m", "labs.lessons", "tests", "02").stdout
    lesson = _run(root, "make", "test-lesson", "LESSON=02")
    assert lesson.returncode == 0, lesson.stdout[-4000:] + lesson.stderr[-2000:]
    assert len(re.findall(r"^\d+ passed", lesson.stdout, flags=re.MULTILINE)) == 3  # unit tests, strict and lax nbval


def test_check_fails_naming_notebook_and_cell_when_a_solution_cell_has_no_stored_execution(tmp_path: Path) -> None:
    for folder in ("solutions", "notebooks"):
        (tmp_path / folder).mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hi')", id="l09-04", execution_count=None)])
    nbformat.write(notebook, tmp_path / "solutions" / "09_demo.ipynb")
    built = _run(REPO, "python", "-m", "labs.workbook", "build", "--solutions", str(tmp_path / "solutions"), "--notebooks", str(tmp_path / "notebooks"))
    assert built.returncode == 0, built.stderr
    arguments = ("--solutions", str(tmp_path / "solutions"), "--notebooks", str(tmp_path / "notebooks"))
    unexecuted = _run(REPO, "python", "-m", "labs.workbook", "check", *arguments)
    assert unexecuted.returncode == 1
    assert "09_demo.ipynb, cell 0 (id l09-04): no stored execution" in unexecuted.stderr and "make outputs LESSON=09" in unexecuted.stderr
    notebook.cells[0].execution_count = 1
    nbformat.write(notebook, tmp_path / "solutions" / "09_demo.ipynb")
    assert _run(REPO, "python", "-m", "labs.workbook", "check", *arguments).returncode == 0


def test_lessons_without_a_lesson_lists_what_it_would_do_and_records_nothing() -> None:
    done = _run(REPO, "python", "-m", "labs.lessons")
    assert done.returncode == 2
    assert "Nothing recorded" in done.stderr and "02: 4 fixtures, 4 from its notebook" in done.stderr
    assert "03: 2 fixtures, 1 from its notebook and 1 by a run in its scenarios.py" in done.stderr
    assert "07: 1 fixture, 1 from its notebook" in done.stderr  # the Azure lessons too
    assert "08: 1 fixture, 1 from its notebook" in done.stderr
    assert "09: 3 fixtures, 1 from its notebook and 2 by a run in its scenarios.py" in done.stderr
    assert "12: 10 fixtures, 9 from its notebook and 1 by a run in its scenarios.py" in done.stderr  # the web app's backends too
    assert "13: 2 fixtures, 1 from its notebook and 1 by a run in its scenarios.py" in done.stderr
    assert "make fixtures LESSON=02" in done.stderr
    helped = _run(REPO, "python", "-m", "labs.lessons", "--help")
    assert "02_collect_while_streaming/refusal" in helped.stdout and "A PREFIX selects" in helped.stdout


def test_a_lessons_unit_tests_are_found_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    for name in ("test_lessons_02_04.py", "test_lesson_03_checks.py", "test_lesson_14.py", "test_lessons_runner.py", "test_reply.py"):
        (tmp_path / "tests" / name).touch()
    assert lesson_tests("03", tmp_path) == ["tests/test_lesson_03_checks.py", "tests/test_lessons_02_04.py"]
    assert lesson_tests("14", tmp_path) == ["tests/test_lesson_14.py"]
    assert lesson_tests("05", tmp_path) == []


@pytest.mark.parametrize(
    ("failure", "line"),
    [
        (
            "\x1b[31mNotFoundError\x1b[39m: Error code: 404 - No recorded response for POST /chat/completions in labs/fixtures. "
            "Closest recording: x.yaml (request 1).\nChanged a lesson's prompt? Re-author its fixtures: make fixtures LESSON=02.\n\nmore",
            "No recorded response for POST /chat/completions in labs/fixtures. Closest recording: x.yaml (request 1). "
            "Changed a lesson's prompt? Re-author its fixtures: make fixtures LESSON=02.",
        ),
        ("Notebook cell execution failed\nTraceback (most recent call last)\n  x = 1\nAssertionError: too few pieces\n", "AssertionError: too few pieces"),
    ],
)
def test_the_nbval_summary_line_is_the_miss_message_or_the_errors_first_line(failure: str, line: str) -> None:
    assert failure_line(failure) == line
