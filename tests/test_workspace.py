"""A learner's work is theirs: answers written in workspace/ survive the make targets that write files.

Each test works on a copy of the workbook (lessons 00 and 01 only, to stay fast) that shares this checkout's
`.venv`. The copy holds `labs/` too, so `python -m labs.workbook` there works on the copy's folders. Every make
runs with `-o .venv/.installed`: the set-up must never run from the copy, it would reinstall `labs` from there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from labs.config import REPO_ROOT
from labs.grading.lessons import load_lessons
from labs.grading.submissions import read_notebook
from labs.workbook import fill_workspace, fresh_copy, main, workspace_lessons

LESSONS = ("00_setup_and_replay.ipynb", "01_basic_streaming.ipynb")
EXERCISE = "l01-15"  # lesson 01's exercise cell: collect_stream
JUPYTER_VERSION = "LAB_FLAGS=--version"  # `make lab` as a learner runs it, but JupyterLab prints its version and exits


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    root = tmp_path / "workbook"
    root.mkdir()
    shutil.copytree(REPO_ROOT / "labs", root / "labs", ignore=shutil.ignore_patterns("__pycache__", "recorded"))
    for name in ("Makefile", "pyproject.toml", "requirements.txt"):
        shutil.copy2(REPO_ROOT / name, root / name)
    for folder in ("solutions", "notebooks"):
        (root / folder).mkdir()
        for lesson in LESSONS:
            shutil.copy2(REPO_ROOT / folder / lesson, root / folder / lesson)
    (root / ".venv").symlink_to(REPO_ROOT / ".venv")
    return root


def make(root: Path, *arguments: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "0", "COLUMNS": "200"}
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", *arguments], cwd=root, env=environment, capture_output=True, text=True, timeout=300
    )
    if ok:
        assert done.returncode == 0, f"make {' '.join(arguments)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def write_answer(notebook: Path) -> bytes:
    """Fill in exercise 1.1 with the solution's code, as a learner would, save it, and return the saved bytes."""
    solution = nbformat.read(REPO_ROOT / "solutions" / notebook.name, as_version=4)
    answer = next(cell.source for cell in solution.cells if cell.get("id") == EXERCISE)
    answer = "\n".join(line for line in answer.split("\n") if "SOLUTION" not in line)
    learner = nbformat.read(notebook, as_version=4)
    cell = next(cell for cell in learner.cells if cell.get("id") == EXERCISE)
    assert "NotImplementedError" in cell.source and "NotImplementedError" not in answer
    cell.source = answer
    nbformat.write(learner, notebook)
    return notebook.read_bytes()


def test_answers_in_the_workspace_survive_make_lab_notebooks_and_check(workbook: Path) -> None:
    make(workbook, "lab", JUPYTER_VERSION)
    workspace, notebooks = workbook / "workspace", workbook / "notebooks"
    assert sorted(path.name for path in workspace.iterdir()) == list(LESSONS)
    assert all((workspace / name).read_bytes() == (notebooks / name).read_bytes() for name in LESSONS)
    answered = write_answer(workspace / LESSONS[1])

    (notebooks / LESSONS[1]).unlink()  # so that `make notebooks` does write the learner copy again
    assert "wrote notebooks/01_basic_streaming.ipynb" in make(workbook, "notebooks").stdout
    assert "notebooks is up to date" in make(workbook, "check").stdout  # make test's check: the tracked copies
    (workspace / LESSONS[0]).unlink()
    make(workbook, "lab", JUPYTER_VERSION)  # a later `make lab`: copies the lesson missing, leaves the others
    assert (workspace / LESSONS[0]).read_bytes() == (notebooks / LESSONS[0]).read_bytes()
    assert (workspace / LESSONS[1]).read_bytes() == answered

    done = make(workbook, "grade", ok=False)  # grades the workspace by default: the answer passes
    assert re.search(r"01_basic_streaming.*\b1\.1\b.*passed", done.stdout), done.stdout
    assert re.search(r"\b1\.2\b.*not done", done.stdout) and done.returncode != 0, done.stdout  # 1.2 is still to do


def test_a_fresh_copy_keeps_the_earlier_one_beside_it(workbook: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace, notebooks = workbook / "workspace", workbook / "notebooks"
    fill_workspace(notebooks, workspace)
    answered = write_answer(workspace / LESSONS[1])

    said = make(workbook, "fresh", "LESSON=01").stdout
    kept = list(workspace.glob("01_basic_streaming.*.ipynb"))
    assert len(kept) == 1 and kept[0].read_bytes() == answered
    assert f"Kept your earlier copy as workspace/{kept[0].name}" in said
    assert (workspace / LESSONS[1]).read_bytes() == (notebooks / LESSONS[1]).read_bytes()
    folders = ["--notebooks", str(notebooks), "--workspace", str(workspace)]
    assert main(["fresh", "1", *folders]) == 0  # an untouched copy: nothing to keep
    assert list(workspace.glob("01_basic_streaming.*.ipynb")) == kept

    graded = make(workbook, "grade", ok=False).stdout  # the lessons' own names only: the kept copy is not graded
    assert re.search(r"1\.1\b.*not done", graded) and "in 2 notebooks" in graded, graded
    refused = make(workbook, "fresh", ok=False)
    assert refused.returncode == 2 and "usage: make fresh LESSON=NN" in refused.stderr
    assert main(["fresh", "42", *folders]) == 2
    assert "no lesson '42' in " in capsys.readouterr().err


def test_two_fresh_copies_in_the_same_second_keep_both_earlier_ones(tmp_path: Path) -> None:
    notebooks, workspace = tmp_path / "notebooks", tmp_path / "workspace"
    notebooks.mkdir()
    (notebooks / "03_tools.ipynb").write_text("generated", encoding="utf-8")
    kept = []
    for answer in ("first try", "second try"):
        (workspace / "03_tools.ipynb").parent.mkdir(exist_ok=True)
        (workspace / "03_tools.ipynb").write_text(answer, encoding="utf-8")
        target, earlier = fresh_copy("03", notebooks, workspace, now=1_700_000_000)
        assert target.read_text(encoding="utf-8") == "generated" and earlier is not None
        kept.append(earlier.read_text(encoding="utf-8"))
    assert kept == ["first try", "second try"]
    assert [path.name for path in workspace_lessons(notebooks, workspace)] == ["03_tools.ipynb"]
    assert fill_workspace(notebooks, workspace) == []  # the lesson is there: nothing copied, nothing overwritten


def as_before_renumbering(notebook: nbformat.NotebookNode, old: int, new: int) -> nbformat.NotebookNode:
    """A learner copy as it was when lesson `new` was numbered `old`: its cell ids and exercise ids."""
    for cell in notebook.cells:
        cell["id"] = re.sub(rf"^l{new:02d}-", f"l{old:02d}-", cell["id"])
        cell.source = re.sub(rf"([\"']|Exercise ){new}\.(\d)", rf"\g<1>{old}.\2", cell.source)
    return notebook


def test_a_lesson_kept_under_its_old_number_moves_to_its_new_name_with_its_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebooks, workspace = tmp_path / "notebooks", tmp_path / "workspace"
    notebooks.mkdir()
    workspace.mkdir()
    name = "16_latency_and_stop.ipynb"  # lesson 11 before the renumbering
    shutil.copy2(REPO_ROOT / "notebooks" / name, notebooks / name)
    current = nbformat.read(notebooks / name, as_version=4)
    old = as_before_renumbering(nbformat.read(notebooks / name, as_version=4), 11, 16)
    (stub,) = [cell for cell in old.cells if 'NotImplementedError("Exercise 11.1' in cell.source]
    stub.source = "def stream_metrics(stream):\n    return 'my answer'  # exercise 11.1\n"
    assert any('labs.check("11.1"' in cell.source for cell in old.cells)
    nbformat.write(old, workspace / "11_latency_and_stop.ipynb")

    assert main(["workspace", "--notebooks", str(notebooks), "--workspace", str(workspace)]) == 0
    assert "11_latency_and_stop.ipynb to 16_latency_and_stop.ipynb" in capsys.readouterr().out
    assert sorted(path.name for path in workspace.iterdir()) == [name]  # moved, not copied beside a blank one
    moved = nbformat.read(workspace / name, as_version=4)
    assert [cell["id"] for cell in moved.cells] == [cell["id"] for cell in current.cells]
    answers = [cell for cell in moved.cells if cell.source != next(c.source for c in current.cells if c["id"] == cell["id"])]
    assert [cell.source for cell in answers] == [stub.source]  # the answer, word for word; every other cell as the lesson has it
    lessons = load_lessons(REPO_ROOT / "solutions")
    found = read_notebook(workspace / name, lessons)
    assert not isinstance(found, str) and found.lesson.name == "16_latency_and_stop"
    assert stub.source in found.cells.values()  # the grader finds the answer in the exercise's cell


def test_a_workspace_holding_both_numbers_of_a_lesson_is_left_as_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebooks, workspace = tmp_path / "notebooks", tmp_path / "workspace"
    notebooks.mkdir()
    workspace.mkdir()
    (notebooks / "14_resilience.ipynb").write_text("generated", encoding="utf-8")
    (workspace / "10_resilience.ipynb").write_text("answers from before", encoding="utf-8")
    (workspace / "14_resilience.ipynb").write_text("answers since", encoding="utf-8")
    assert main(["workspace", "--notebooks", str(notebooks), "--workspace", str(workspace)]) == 0
    said = capsys.readouterr().out
    assert "Left workspace/10_resilience.ipynb" in said or "10_resilience.ipynb and" in said
    assert "Keep your answers in 14_resilience.ipynb" in said
    assert (workspace / "10_resilience.ipynb").read_text(encoding="utf-8") == "answers from before"
    assert (workspace / "14_resilience.ipynb").read_text(encoding="utf-8") == "answers since"


def test_make_lab_lang_vi_copies_the_vietnamese_lessons_into_workspace_vi_and_grade_reads_them(workbook: Path) -> None:
    shutil.copytree(REPO_ROOT / "translations", workbook / "translations")  # the exercises' Vietnamese texts
    (workbook / "notebooks" / "vi").mkdir()
    for lesson in LESSONS:
        shutil.copy2(REPO_ROOT / "notebooks" / "vi" / lesson, workbook / "notebooks" / "vi" / lesson)
    assert "--LabApp.default_url=/lab/tree/workspace/vi/00_setup_and_replay.ipynb" in make(workbook, "-n", "lab", "LANG=vi").stdout
    make(workbook, "lab", "LANG=vi", JUPYTER_VERSION)
    workspace, translated = workbook / "workspace", workbook / "workspace" / "vi"
    assert sorted(path.name for path in translated.iterdir()) == list(LESSONS)
    assert all((translated / name).read_bytes() == (workbook / "notebooks" / "vi" / name).read_bytes() for name in LESSONS)
    assert all((workspace / name).read_bytes() == (workbook / "notebooks" / name).read_bytes() for name in LESSONS)  # the English too
    answered = write_answer(translated / LESSONS[1])
    make(workbook, "lab", "LANG=vi", JUPYTER_VERSION)  # a later run never overwrites the learner's copy
    assert (translated / LESSONS[1]).read_bytes() == answered

    done = make(workbook, "grade", "LANG=vi", ok=False)  # workspace/vi/, the check lines in Vietnamese
    assert re.search(r"vi/01_basic_streaming.*\b1\.1\b.*passed", done.stdout), done.stdout
    assert re.search(r"\b1\.2\b.*not done.*hãy viết tiếp", done.stdout) and done.returncode != 0, done.stdout
