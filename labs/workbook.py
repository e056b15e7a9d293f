"""The workbook pipeline: learner notebooks generated from the solutions, kept current, and graded.

    python -m labs.workbook build    # write notebooks/ from solutions/
    python -m labs.workbook check    # fail, naming the notebook, when notebooks/ is not what build writes,
                                     # or a solution code cell has no stored execution (nbval would skip it)
    python -m labs.workbook new-exercise 2.2   # scaffold an exercise (labs/lessons/scaffold.py)
    python -m labs.workbook workspace  # copy into workspace/ the learner copies it does not hold yet
    python -m labs.workbook fresh 03   # a fresh workspace copy of lesson 03, the earlier one kept beside it
    python -m labs.workbook grade [workspace/] [--json]          # labs/grading/: one learner
    python -m labs.workbook grade-class FOLDER --out gradebook.csv  # a class

Authors edit only `solutions/NN_slug.ipynb`. Exercise code sits between marker lines that carry the
exercise id and a one-line hint for the learner:

    def accumulate_tool_calls(chunks):
        # BEGIN SOLUTION 3.1: accumulate by tc.index, not by list position
        ...
        # END SOLUTION

The learner copy gets, at the marker's indentation, `raise NotImplementedError("Exercise 3.1:
complete accumulate_tool_calls. Hint: accumulate by ...")`. The marker carries id and hint so they sit
by the code they describe; the id ties the stub to its check cell and its checker in `labs.lessons`.

An untouched learner notebook must run top to bottom, so a region must lie inside a function body:
the stub raises only when the check cell calls the function, and `labs.check` reports it as "not done
yet". `build` rejects a region that is not inside a `def` (top-level or class-level code would raise
during "Run all"), naming the notebook, cell and line. For the same reason, only check cells should
call an exercise function. Markdown written answers, `<!-- BEGIN SOLUTION -->` ... `<!-- END SOLUTION -->`,
become "*Write your answer here.*".

Generation is byte-stable, so `check` can compare bytes: outputs and execution counts are cleared, cell
metadata keeps only `tags` (nbval reads them), notebook metadata is replaced by a fixed python3
kernelspec, each cell keeps its solution cell's id (or `cell-<index>` when the solution has none), and
the JSON is nbformat's (sorted keys, one-space indent) with a final newline. `build` rewrites only the
notebooks whose bytes change and deletes `notebooks/*.ipynb` that no solution generates.

A learner works in `workspace/` (ignored by git), never in `notebooks/`: `build`, `make notebooks`,
`make test` and `make refresh` rewrite `notebooks/` freely, so answers written there would be lost.
`make lab` runs `workspace` first, which copies in each learner copy the workspace lacks and never
touches a file already there (a lesson added later arrives on the next `make lab`). `fresh NN` starts
one lesson over: it renames the workspace copy to `NN_slug.<date-time>.ipynb` beside it, then copies the
current learner copy in. It keeps rather than refuses because a learner asking for a fresh start
usually still wants the old answers to copy from, and a flag to remember protects less than a file
that cannot be lost. `grade` with no path grades the workspace's lesson notebooks (by their exact
names: the kept earlier copies are not graded twice). When lessons are renumbered, `workspace` first moves a
copy kept under a lesson's old name to its new one (`RENUMBERED`), so the answers follow their lesson.

`grade` and `grade-class` live in `labs.grading`; this module only dispatches them.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

__all__ = [
    "ANSWER_PROMPT",
    "WORKSPACE",
    "SolutionMarkerError",
    "build",
    "check",
    "fill_workspace",
    "fresh_copy",
    "learner_copy",
    "main",
    "migrate_workspace",
    "render",
    "unexecuted_cells",
    "workspace_lessons",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = REPO_ROOT / "workspace"  # where the learner works (ignored by git); notebooks/ is regenerated
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ANSWER_PROMPT = "*Write your answer here.*"
KEPT_CELL_METADATA = ("tags",)

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)#\s*BEGIN SOLUTION\b(?P<rest>.*)$")
_BEGIN_ARGUMENTS = re.compile(r"^\s+(?P<id>\d+\.\d+)\s*:\s*(?P<hint>\S.*?)\s*$")
_END = re.compile(r"^[ \t]*#\s*END SOLUTION\s*$")
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
_MARKDOWN_ANSWER = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.DOTALL)
_MARKDOWN_MARKER = re.compile(r"<!--\s*(?:BEGIN|END) SOLUTION\s*-->")
_CHECK_CALL = re.compile(r"\bcheck\(\s*[\"'](?P<id>\d+\.\d+)[\"']")


class SolutionMarkerError(ValueError):
    """A solution notebook's markers cannot be turned into a learner copy; the message says where and why."""


# Generation


def learner_copy(solution: NotebookNode, name: str = "notebook") -> NotebookNode:
    """The learner's notebook for `solution`: stubs for solution regions, no outputs, normalised metadata."""
    cells = []
    for index, cell in enumerate(solution.cells):
        cell_id = cell.get("id") or f"cell-{index}"
        where = f"{name}, cell {index} (id {cell_id})"
        metadata = {key: cell.metadata[key] for key in KEPT_CELL_METADATA if key in cell.metadata}
        if cell.cell_type == "code":
            new = new_code_cell(_stub_code(cell.source, where), id=cell_id, metadata=metadata)
        elif cell.cell_type == "markdown":
            new = new_markdown_cell(_stub_markdown(cell.source, where), id=cell_id, metadata=metadata)
            if "attachments" in cell:
                new.attachments = cell.attachments
        else:
            new = new_raw_cell(cell.source, id=cell_id, metadata=metadata)
        cells.append(new)
    return new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})


def render(solution_path: Path) -> str:
    """The exact text `build` writes for the solution notebook at `solution_path`."""
    solution = nbformat.read(solution_path, as_version=4)
    return nbformat.writes(learner_copy(solution, solution_path.name)) + "\n"


def _stub_code(source: str, where: str) -> str:
    lines: list[str] = []
    opened_at = 0
    for number, line in enumerate(source.split("\n"), start=1):
        at = f"{where}, line {number}"
        begin = _BEGIN.match(line)
        if begin:
            if opened_at:
                raise SolutionMarkerError(f"{at}: BEGIN SOLUTION inside the region opened on line {opened_at}")
            arguments = _BEGIN_ARGUMENTS.match(begin["rest"])
            if arguments is None:
                raise SolutionMarkerError(f"{at}: write the marker as '# BEGIN SOLUTION 3.1: one-line hint'")
            indent, exercise_id, hint = begin["indent"], arguments["id"], arguments["hint"]
            function = _enclosing_function(lines, len(indent))
            if function is None:
                raise SolutionMarkerError(
                    f"{at}: the region for exercise {exercise_id} is not inside a function, so its stub would "
                    "raise during 'Run all' of the learner copy; put the exercise code in a function body"
                )
            message = f"Exercise {exercise_id}: complete {function}. Hint: {hint}"
            lines.append(f"{indent}raise NotImplementedError({_string_literal(message)})")
            opened_at = number
        elif _END.match(line):
            if not opened_at:
                raise SolutionMarkerError(f"{at}: END SOLUTION without a BEGIN SOLUTION before it")
            opened_at = 0
        elif not opened_at:
            lines.append(line)
    if opened_at:
        raise SolutionMarkerError(f"{where}, line {opened_at}: BEGIN SOLUTION is never closed by '# END SOLUTION'")
    return "\n".join(lines)


def _enclosing_function(lines: list[str], indent: int) -> str | None:
    """The name of the `def` whose body contains a line indented by `indent`, judging by the lines above it."""
    level = indent
    for line in reversed(lines):
        code = line.lstrip(" \t")
        width = len(line) - len(code)
        if not code or code.startswith("#") or width >= level:
            continue
        if definition := _DEF.match(line):
            return definition["name"]
        level = width
    return None


def _string_literal(text: str) -> str:
    """`text` as a Python string literal, in double quotes unless only single quotes avoid escapes."""
    return repr(text) if '"' in text and "'" not in text else json.dumps(text, ensure_ascii=False)


def _stub_markdown(source: str, where: str) -> str:
    stubbed = _MARKDOWN_ANSWER.sub(ANSWER_PROMPT, source)
    if _MARKDOWN_MARKER.search(stubbed):
        raise SolutionMarkerError(f"{where}: each <!-- BEGIN SOLUTION --> needs its own <!-- END SOLUTION --> after it")
    return stubbed


# build and check


def build(solutions: Path, notebooks: Path) -> list[Path]:
    """Write the learner copy of every solution; return the files written or deleted."""
    expected = _learner_copies(solutions)
    notebooks.mkdir(parents=True, exist_ok=True)
    changed = [notebooks / name for name, data in expected.items() if not _holds(notebooks / name, data)]
    for target in changed:
        target.write_bytes(expected[target.name])
    extras = [extra for extra in _notebooks_in(notebooks) if extra.name not in expected]
    for extra in extras:
        extra.unlink()
    return changed + extras


def check(solutions: Path, notebooks: Path) -> list[str]:
    """What differs between `notebooks` and what `build` would write there, one problem per notebook."""
    expected = _learner_copies(solutions)
    problems = []
    for name, data in expected.items():
        target = notebooks / name
        if not target.exists():
            problems.append(f"{_show(target)} is missing")
        elif not _holds(target, data):
            why = _first_difference(data, target.read_bytes())
            problems.append(f"{_show(target)} is not what {_show(solutions / name)} generates ({why})")
    problems += [
        f"{_show(extra)} has no solution notebook {_show(solutions / extra.name)}"
        for extra in _notebooks_in(notebooks)
        if extra.name not in expected
    ]
    return problems + [problem for path in _notebooks_in(solutions) for problem in unexecuted_cells(path)]


def unexecuted_cells(solution: Path) -> list[str]:
    """One problem per code cell of `solution` with no stored execution: strict nbval would skip it unchecked."""
    notebook = nbformat.read(solution, as_version=4)
    lesson = solution.name.split("_", 1)[0]
    return [
        f"{_show(solution)}, cell {index} (id {cell.get('id')}): no stored execution (execution_count is null), so "
        f"strict nbval skips it; store the outputs with `make outputs LESSON={lesson}`"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and cell.source.strip() and cell.get("execution_count") is None
    ]


# The learner's workspace


def fill_workspace(notebooks: Path, workspace: Path) -> list[Path]:
    """Copy into `workspace` every learner copy it does not hold yet; never touch a file already there."""
    workspace.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in _notebooks_in(notebooks):
        target = workspace / source.name
        try:
            with target.open("xb") as written:  # "x": fails if the file exists, even if it appeared just now
                written.write(source.read_bytes())
        except FileExistsError:
            continue
        copied.append(target)
    return copied


# Lessons that changed number (December 2026: lessons 06 to 11 moved up to leave room for the second halves of
# the long ones). A workspace copy under its old name moves to its new name, with its answers.
RENUMBERED = {
    "11_latency_and_stop": "16_latency_and_stop",
    "10_resilience": "14_resilience",
    "09_sse_to_the_browser": "12_sse_to_the_browser",
    "08_semantic_kernel_streaming": "10_semantic_kernel_streaming",
    "07_azure_tools_and_async": "09_azure_tools_and_async",
    "06_azure_event_handlers": "07_azure_event_handlers",
}


def migrate_workspace(workspace: Path, renumbered: dict[str, str] | None = None) -> tuple[list[tuple[Path, Path]], list[tuple[Path, Path]]]:
    """Move each workspace lesson kept under an old number to its new name: (moved, left because both names exist).

    The learner's cells are kept as they are, outputs included; only what names the lesson changes: each cell id
    `lOLD-..` becomes `lNEW-..` (the grader finds an answer by its cell's id) and each quoted exercise id `"OLD.M"`
    and `Exercise OLD.M` in a cell becomes NEW.M (`labs.check("6.1", ...)` asks lesson 06's checker). A workspace
    holding both names is left alone: which copy holds the answers is the learner's call, and the message says so.
    """
    moved: list[tuple[Path, Path]] = []
    clashes: list[tuple[Path, Path]] = []
    for old_name, new_name in (renumbered or RENUMBERED).items():
        old, new = workspace / f"{old_name}.ipynb", workspace / f"{new_name}.ipynb"
        if not old.is_file():
            continue
        if new.exists():
            clashes.append((old, new))
            continue
        notebook = nbformat.read(old, as_version=4)
        _renumber_cells(notebook, int(old_name[:2]), int(new_name[:2]))
        with new.open("x", encoding="utf-8") as written:  # "x": never over a file that appeared just now
            nbformat.write(notebook, written)
        old.unlink()
        moved.append((old, new))
    return moved, clashes


def _renumber_cells(notebook: NotebookNode, old: int, new: int) -> None:
    cell_id = re.compile(rf"^l{old:02d}-")
    exercise_id = re.compile(rf"(?<=[\"'])({old})\.(\d+)(?=[\"'])|(?<=Exercise ){old}\.(?=\d)")
    for cell in notebook.cells:
        if cell.get("id"):
            cell["id"] = cell_id.sub(f"l{new:02d}-", cell["id"])
        cell.source = exercise_id.sub(lambda m: f"{new}.{m[2]}" if m[1] else f"{new}.", cell.source)


def fresh_copy(lesson: str, notebooks: Path, workspace: Path, now: float | None = None) -> tuple[Path, Path | None]:
    """A fresh workspace copy of `lesson` ("03", "3" or "03_streamed_tool_calls"): the copy, and where the earlier one went."""
    source = _lesson_notebook(lesson, notebooks)
    target = workspace / source.name
    workspace.mkdir(parents=True, exist_ok=True)
    kept = None
    if target.exists() and target.read_bytes() != source.read_bytes():
        stamp = time.strftime("%Y-%m-%d-%H%M%S", time.localtime(now))
        kept = workspace / f"{source.stem}.{stamp}.ipynb"
        number = 1
        while kept.exists():
            number += 1
            kept = workspace / f"{source.stem}.{stamp}-{number}.ipynb"
        target.rename(kept)
    shutil.copyfile(source, target)
    return target, kept


def workspace_lessons(solutions: Path, workspace: Path) -> list[Path]:
    """The workspace's lesson notebooks, by the solutions' file names (earlier copies kept beside them are left out)."""
    return [workspace / path.name for path in _notebooks_in(solutions) if (workspace / path.name).is_file()]


def _lesson_notebook(lesson: str, notebooks: Path) -> Path:
    prefix = lesson.split("_", 1)[0]
    number = prefix.zfill(2) if prefix.isdigit() else prefix
    found = [path for path in _notebooks_in(notebooks) if path.name.split("_", 1)[0] == number]
    if len(found) != 1:
        names = ", ".join(path.name.split("_", 1)[0] for path in _notebooks_in(notebooks))
        raise ValueError(f"no lesson {lesson!r} in {_show(notebooks)}: name one of {names}")
    return found[0]


def _learner_copies(solutions: Path) -> dict[str, bytes]:
    return {path.name: render(path).encode("utf-8") for path in _notebooks_in(solutions)}


def _holds(path: Path, data: bytes) -> bool:
    return path.exists() and path.read_bytes() == data


def _first_difference(expected: bytes, actual: bytes) -> str:
    try:
        found = json.loads(actual)
    except ValueError:
        return "it is not valid notebook JSON"
    wanted = json.loads(expected)
    found_cells = found.get("cells", []) if isinstance(found, dict) else []
    for index, (want, got) in enumerate(zip(wanted["cells"], found_cells)):
        if want != got:
            return f"first difference in cell {index}, id {want.get('id')}"
    if len(wanted["cells"]) != len(found_cells):
        return f"it has {len(found_cells)} cells instead of {len(wanted['cells'])}"
    return "its notebook metadata differs" if wanted != found else "its JSON formatting differs"


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.ipynb")) if folder.is_dir() else []


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# Command line


def main(argv: Sequence[str] | None = None) -> int:
    """Run `build`, `check` or `grade` as the command line asks; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m labs.workbook", description=(__doc__ or "").split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, summary in (("build", "write the learner notebooks"), ("check", "fail if they are out of date")):
        command = commands.add_parser(name, help=summary)
        command.add_argument("--solutions", type=Path, default=REPO_ROOT / "solutions")
        command.add_argument("--notebooks", type=Path, default=REPO_ROOT / "notebooks")
    for name, summary in (
        ("workspace", "copy into workspace/ the learner copies it lacks (make lab does this)"),
        ("fresh", "a fresh workspace copy of one lesson; the earlier copy is kept beside it"),
    ):
        command = commands.add_parser(name, help=summary)
        if name == "fresh":
            command.add_argument("lesson", metavar="NN", help="the lesson's number, e.g. 03")
        command.add_argument("--notebooks", type=Path, default=REPO_ROOT / "notebooks")
        command.add_argument("--workspace", type=Path, default=WORKSPACE)
    scaffold = commands.add_parser("new-exercise", help="scaffold exercise N.M: stub and check cells, checker, its tests")
    scaffold.add_argument("exercise_id", metavar="N.M", help="e.g. 2.2 (lesson 02's second exercise)")
    from labs import grading

    grading.add_commands(commands)
    grader = commands.choices["grade"]
    grader.add_argument("--workspace", type=Path, default=WORKSPACE, help="graded when no path is named: its lesson notebooks")
    grader.set_defaults(notebooks=None)  # no path and no --notebooks: the workspace, where the learner works
    arguments = parser.parse_args(argv)

    if arguments.command == "new-exercise":
        from labs.lessons.scaffold import new_exercise

        for path in new_exercise(arguments.exercise_id, REPO_ROOT):
            print(f"wrote {_show(path)}")
        print(f"Next: edit them, then `make outputs LESSON={arguments.exercise_id.split('.')[0].zfill(2)}` and `make notebooks`.")
        return 0

    if arguments.command in ("workspace", "fresh"):
        return _workspace_command(arguments)
    if arguments.command == "grade" and not arguments.paths:
        arguments.paths = [arguments.notebooks] if arguments.notebooks else workspace_lessons(arguments.solutions, arguments.workspace)
        if not arguments.paths:
            print(
                f"error: no lesson notebooks in {_show(arguments.workspace)} to grade: `make lab` copies them there, "
                "or name what to grade: `make grade NOTEBOOKS=path`",
                file=sys.stderr,
            )
            return 2
    if arguments.command not in ("build", "check"):
        return grading.run(arguments)
    if not arguments.solutions.is_dir():
        print(f"error: no solutions folder at {_show(arguments.solutions)}", file=sys.stderr)
        return 2

    try:
        if arguments.command == "build":
            for path in build(arguments.solutions, arguments.notebooks):
                print(f"{'wrote' if path.exists() else 'deleted'} {_show(path)}")
            return 0
        problems = check(arguments.solutions, arguments.notebooks)
    except SolutionMarkerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(
            "Run `python -m labs.workbook build` to regenerate the learner notebooks (each line says its fix). It never "
            "touches workspace/, where answers belong (`make lab` copies the lessons there; `make fresh LESSON=NN` starts one over).",
            file=sys.stderr,
        )
        return 1
    print(f"{_show(arguments.notebooks)} is up to date.")
    return 0


def _workspace_command(arguments: argparse.Namespace) -> int:
    if arguments.command == "workspace":
        moved, clashes = migrate_workspace(arguments.workspace)
        for before, after in moved:
            print(f"Renamed {_show(before)} to {after.name}: the lessons were renumbered, and your answers moved with it.")
        for before, after in clashes:
            print(f"Left {_show(before)} and {_show(after)} as they are: lesson {before.name[:2]} is now {after.name[:2]}, "
                  f"and both names are in your workspace. Keep your answers in {after.name}, the name the grader reads.")
        copied = fill_workspace(arguments.notebooks, arguments.workspace)
        if copied:
            print(f"Copied {len(copied)} lesson{'s' if len(copied) > 1 else ''} into {_show(arguments.workspace)}/: work there "
                  "(notebooks/ is regenerated by make notebooks).")
        return 0
    try:
        target, kept = fresh_copy(arguments.lesson, arguments.notebooks, arguments.workspace)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if kept is not None:
        print(f"Kept your earlier copy as {_show(kept)}.")
    print(f"Wrote a fresh {_show(target)}; if it is open in JupyterLab, use File > Reload Notebook from Disk.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
