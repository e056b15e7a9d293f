"""What the students handed in: who they are, which notebooks, and the exercise cells taken from each.

A class folder holds one submission per student: a file (`alice.ipynb`, the student is the file's stem)
or a folder (`bob/`, holding any of the lesson notebooks, searched recursively; the student is the
folder's name). Hidden entries, `.ipynb_checkpoints` and `__MACOSX` are skipped. A file that is not a
`.ipynb`, or a folder without one, is still a submission: it is graded "failed" with the reason.

A notebook is matched to its lesson by its cell ids (the learner copy keeps the solution's: the lesson
sharing the most ids wins), then by its file name (`01_...`), then by the functions its cells define. From it
the grader takes only the source of each exercise cell, by id, or, when the learner retyped the cell,
the last code cell defining the same functions. Nothing else of the notebook (its check cells, other
cells, stored outputs or metadata) is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labs.grading.lessons import Lesson, defined_names, ipython_to_python

__all__ = ["NOTEBOOK_SIZE_LIMIT", "Notebook", "Submission", "find_submissions", "read_notebook", "submission_of"]

NOTEBOOK_SIZE_LIMIT = 20_000_000  # bytes; a bigger file is not graded
_SKIPPED = {".ipynb_checkpoints", "__MACOSX", "__pycache__"}


@dataclass(frozen=True)
class Submission:
    """One student's work: the notebooks found, or why there is nothing to grade."""

    student: str
    path: Path
    notebooks: tuple[Path, ...] = ()
    problem: str = ""


@dataclass(frozen=True)
class Notebook:
    """A submitted notebook matched to its lesson, with the learner's exercise cells (None: not found)."""

    path: Path
    lesson: Lesson
    cells: dict[str, str | None]


def find_submissions(folder: Path, skip: tuple[Path, ...] = ()) -> list[Submission]:
    """Every student's submission in `folder`, by student name; `skip` names outputs to leave alone."""
    skipped = {path.resolve() for path in skip}
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in _SKIPPED or entry.resolve() in skipped:
            continue
        if entry.is_dir():
            notebooks = tuple(path for path in sorted(entry.rglob("*.ipynb")) if _visible(path, entry) and path.is_file())
            problem = "" if notebooks else f"the folder holds no .ipynb notebook ({_contents(entry)})"
            found.append(Submission(entry.name, entry, notebooks, problem))
        elif entry.suffix == ".ipynb":
            found.append(Submission(entry.stem, entry, (entry,)))
        else:
            found.append(Submission(entry.stem, entry, problem=f"{entry.name} is not a notebook (.ipynb)"))
    return found


def submission_of(paths: list[Path], student: str = "") -> Submission:
    """One learner's notebooks given as files or folders (what `grade PATH...` takes)."""
    notebooks: list[Path] = []
    for path in paths:
        notebooks += sorted(p for p in path.rglob("*.ipynb") if _visible(p, path)) if path.is_dir() else [path]
    return Submission(student, paths[0] if len(paths) == 1 else Path("."), tuple(notebooks))


def read_notebook(path: Path, lessons: Mapping[str, Lesson]) -> Notebook | str:
    """The notebook at `path` with its lesson and exercise cells, or why it cannot be graded."""
    try:
        size = path.stat().st_size
        if size > NOTEBOOK_SIZE_LIMIT:
            return f"{path.name} is {size / 1e6:.0f} MB, too big to be a notebook (over {NOTEBOOK_SIZE_LIMIT / 1e6:.0f} MB)"
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        return f"{path.name} is not a notebook: it is not readable JSON ({type(error).__name__})"
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or data.get("nbformat") != 4:
        return f"{path.name} is not a notebook: JSON without nbformat 4 cells"
    cells = [cell for cell in cells if isinstance(cell, dict)]
    code = [(str(cell.get("id", "")), _source(cell)) for cell in cells if cell.get("cell_type") == "code"]
    lesson = _lesson_of(path, {str(cell.get("id", "")) for cell in cells}, code, lessons)
    if lesson is None:
        return f"{path.name} matches no lesson: no cell of a lesson's notebook, no name starting with a lesson number, no exercise's functions"
    return Notebook(path, lesson, {step.cell_id: _exercise_source(step.cell_id, step.defines, code) for step in lesson.exercise_cells})


def _lesson_of(path: Path, ids: set[str], code: list[tuple[str, str]], lessons: Mapping[str, Lesson]) -> Lesson | None:
    shared = sorted(((len(ids & lesson.cell_ids), lesson.name) for lesson in lessons.values()), reverse=True)
    if shared and shared[0][0] and (len(shared) == 1 or shared[1][0] < shared[0][0]):
        return lessons[shared[0][1]]
    by_name = [lesson for lesson in lessons.values() if path.name.startswith(lesson.name.split("_")[0] + "_")]
    if len(by_name) == 1:
        return by_name[0]
    names = {name for _, source in code for name in defined_names(source)}
    by_definition = [
        lesson for lesson in lessons.values()
        if lesson.exercise_cells and all(set(step.defines) <= names for step in lesson.exercise_cells)
    ]
    return by_definition[0] if len(by_definition) == 1 else None


def _exercise_source(cell_id: str, defines: tuple[str, ...], code: list[tuple[str, str]]) -> str | None:
    by_id = [source for found_id, source in code if found_id == cell_id]
    if by_id:
        return _python(by_id[0])
    retyped = [source for _, source in code if defines and set(defines) <= set(defined_names(source))]
    return _python(retyped[-1]) if retyped else None


def _python(source: str) -> str:
    try:
        return ipython_to_python(source)
    except Exception:  # the compiler will say what is wrong with it
        return source


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(str(line) for line in source) if isinstance(source, list) else str(source)


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith(".") or part in _SKIPPED for part in path.relative_to(root).parts)


def _contents(folder: Path) -> str:
    names = sorted(p.name for p in folder.rglob("*") if p.is_file() and _visible(p, folder))
    return "it is empty" if not names else "found " + ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
