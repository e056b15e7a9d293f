"""A generated class of submissions, one per way a submission can go: to try `grade-class` and to time it.

    python -m labs.grading sample /tmp/class    # write it
    python -m labs.grading bench                # write it to a temporary folder, grade it, print the time

Each student is named by what their submission does (`solved`, `tamper_fake_checker`, `hang`, ...), built
from the learner copy that `labs.workbook.learner_copy` makes of the instructor's solution: solved,
untouched, wrong in the usual ways, tampered with in each way the grader must ignore, hanging, crashing,
printing megabytes, and not a notebook at all. `tests/test_grade_class.py` grades it and states, by hand,
the verdict each kind must get.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

from labs.grading.lessons import load_lesson
from labs.workbook import learner_copy

__all__ = ["ALL_LESSONS", "KINDS", "OTHER_FILES", "write_sample_class"]

BASIC, SSE, TOOLS = "01_basic_streaming", "12_sse_to_the_browser", "03_streamed_tool_calls"

NO_EMPTY_CHOICES = '''\
def collect_stream(stream) -> str:
    pieces = []
    for chunk in stream:
        text = chunk.choices[0].delta.content
        if text:
            print(text, end="", flush=True)
            pieces.append(text)
    return "".join(pieces)'''

NONE_CONTENT = '''\
def collect_stream(stream) -> str:
    pieces = []
    for chunk in stream:
        if chunk.choices:
            text = chunk.choices[0].delta.content
            print(text, end="", flush=True)
            pieces.append(text)
    return "".join(pieces)'''

NO_PRINT = '''\
def collect_stream(stream) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)'''

FAKE_LINES = '''\
def collect_stream(stream) -> str:
    print("✅ Exercise 1.1 — a plain text stream")
    print("✅ Exercise 1.1 — a stream ending in a usage chunk (choices == [])")
    return ""'''

SPACED_JSON = '''\
def frame(event: str, data: dict, event_id: int) -> bytes:
    return f"id: {event_id}\\nevent: {event}\\ndata: {json.dumps(data, ensure_ascii=False)}\\n\\n".encode()'''

ASCII_JSON = '''\
def frame(event: str, data: dict, event_id: int) -> bytes:
    return f"id: {event_id}\\nevent: {event}\\ndata: {json.dumps(data, separators=(',', ':'))}\\n\\n".encode()'''

TEXT_NOT_BYTES = '''\
def frame(event: str, data: dict, event_id: int) -> bytes:
    return f"id: {event_id}\\nevent: {event}\\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\\n\\n"'''

HUGE_OUTPUT = '''\
def frame(event: str, data: dict, event_id: int) -> bytes:
    print("x" * 3_000_000)
    return b""'''

REPORT_FILE = '''\
import json, os
for report in (os.environ.get("LABS_GRADE_REPORT"), "report.jsonl"):
    if report:
        with open(report, "a") as file:
            file.write(json.dumps({"exercise": "1.1", "status": "passed", "cases": [], "message": "", "hint": ""}) + "\\n")'''

FAKE_CHECK = '''\
import labs
labs.check = lambda exercise_id, *answers: print(f"✅ Exercise {exercise_id} — every case")'''

FAKE_CHECKER = '''\
from labs.checks import Case, exercise

@exercise("1.1")
def always_right(collect_stream):
    yield Case("anything", lambda: 1, expected=1)'''

CHECKER_SWAP_IN_EXERCISE_CELL = '''
import labs.checks
labs.checks._checkers["1.1"] = lambda collect_stream: iter([labs.checks.Case("anything", lambda: 1, expected=1)])'''

EVALUATE_PATCH_IN_EXERCISE_CELL = '''
import labs.checks
labs.checks._run_case = lambda case: labs.checks.CaseResult(case.name, True)'''


def _body(statement: str) -> str:
    return f"def collect_stream(stream) -> str:\n    {statement}\n    return ''"


def _notebook(lesson: str, solutions: Path) -> NotebookNode:
    return learner_copy(nbformat.read(solutions / f"{lesson}.ipynb", as_version=4), lesson)


def _cells(lesson: str, solutions: Path) -> tuple[str, str]:
    """The ids of the lesson's exercise cell and check cell."""
    steps = load_lesson(solutions / f"{lesson}.ipynb").steps
    exercise = next(step.cell_id for step in steps if step.type == "exercise")
    check = next(step.cell_id for step in steps if step.type == "check")
    return exercise, check


def _solved(lesson: str, solutions: Path) -> NotebookNode:
    """The learner copy with every exercise of the lesson answered as its solution does."""
    notebook = _notebook(lesson, solutions)
    solution = nbformat.read(solutions / f"{lesson}.ipynb", as_version=4)
    for step in load_lesson(solutions / f"{lesson}.ipynb").steps:
        if step.type == "exercise":
            _cell(notebook, step.cell_id).source = _cell(solution, step.cell_id).source
    return notebook


def _cell(notebook: NotebookNode, cell_id: str) -> NotebookNode:
    return next(cell for cell in notebook.cells if cell.get("id") == cell_id)


def _edited(lesson: str, solutions: Path, edit: Callable[[NotebookNode, str, str], None], base: str = "untouched") -> NotebookNode:
    notebook = _solved(lesson, solutions) if base == "solved" else _notebook(lesson, solutions)
    exercise, check = _cells(lesson, solutions)
    edit(notebook, exercise, check)
    return notebook


def _replace(source: str) -> Callable[[NotebookNode, str, str], None]:
    def edit(notebook: NotebookNode, exercise: str, check: str) -> None:
        _cell(notebook, exercise).source = source
    return edit


def _append_to_exercise(source: str) -> Callable[[NotebookNode, str, str], None]:
    def edit(notebook: NotebookNode, exercise: str, check: str) -> None:
        _cell(notebook, exercise).source += "\n" + source
    return edit


def _before_check(source: str) -> Callable[[NotebookNode, str, str], None]:
    def edit(notebook: NotebookNode, exercise: str, check: str) -> None:
        index = notebook.cells.index(_cell(notebook, check))
        notebook.cells.insert(index, new_code_cell(source, id="learner-extra"))
    return edit


def _delete_check(notebook: NotebookNode, exercise: str, check: str) -> None:
    notebook.cells.remove(_cell(notebook, check))


def _fake_check_output(notebook: NotebookNode, exercise: str, check: str) -> None:
    cell = _cell(notebook, check)
    cell.source = 'print("✅ Exercise 1.1 — a plain text stream")'
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✅ Exercise 1.1 — a plain text stream\n")]


def _retyped(notebook: NotebookNode, exercise: str, check: str) -> None:
    cell = _cell(notebook, exercise)
    index = notebook.cells.index(cell)
    notebook.cells[index] = new_code_cell(cell.source, id="retyped-by-the-learner")


def _no_exercise_cell(notebook: NotebookNode, exercise: str, check: str) -> None:
    notebook.cells.remove(_cell(notebook, exercise))


def _solved_notebook(lesson: str) -> Callable[[Path], NotebookNode]:
    return lambda solutions: _solved(lesson, solutions)


def _lesson_edit(lesson: str, edit: Callable[[NotebookNode, str, str], None], base: str = "untouched") -> Callable[[Path], NotebookNode]:
    return lambda solutions: _edited(lesson, solutions, edit, base)


# What each student hands in: a notebook (a file named after the student), a folder of notebooks, or raw bytes.
Maker = Callable[[Path], NotebookNode]
KINDS: dict[str, Maker | dict[str, Maker] | bytes] = {
    "solved": _solved_notebook(BASIC),
    "solved_folder": {BASIC: _solved_notebook(BASIC), TOOLS: _solved_notebook(TOOLS), SSE: _solved_notebook(SSE)},
    "untouched": lambda solutions: _notebook(BASIC, solutions),
    "untouched_folder": {BASIC: lambda s: _notebook(BASIC, s), SSE: lambda s: _notebook(SSE, s)},
    "mixed_folder": {BASIC: _solved_notebook(BASIC), TOOLS: lambda s: _notebook(TOOLS, s), SSE: _lesson_edit(SSE, _replace(ASCII_JSON))},
    "wrong_no_empty_choices": _lesson_edit(BASIC, _replace(NO_EMPTY_CHOICES)),
    "wrong_none_content": _lesson_edit(BASIC, _replace(NONE_CONTENT)),
    "wrong_no_print": _lesson_edit(BASIC, _replace(NO_PRINT)),
    "wrong_spaced_json": _lesson_edit(SSE, _replace(SPACED_JSON)),
    "wrong_ascii_json": _lesson_edit(SSE, _replace(ASCII_JSON)),
    "wrong_text_not_bytes": _lesson_edit(SSE, _replace(TEXT_NOT_BYTES)),
    "tamper_report_file": _lesson_edit(BASIC, _before_check(REPORT_FILE)),
    "tamper_check_deleted": _lesson_edit(BASIC, _delete_check),
    "tamper_check_prints_pass": _lesson_edit(BASIC, _fake_check_output),
    "tamper_fake_labs_check": _lesson_edit(BASIC, _before_check(FAKE_CHECK)),
    "tamper_fake_checker": _lesson_edit(BASIC, _before_check(FAKE_CHECKER)),
    "tamper_checker_swap_in_exercise_cell": _lesson_edit(BASIC, _append_to_exercise(CHECKER_SWAP_IN_EXERCISE_CELL)),
    "tamper_evaluate_patch_in_exercise_cell": _lesson_edit(BASIC, _append_to_exercise(EVALUATE_PATCH_IN_EXERCISE_CELL)),
    "tamper_report_file_in_exercise_cell": _lesson_edit(BASIC, _append_to_exercise(REPORT_FILE)),
    "tamper_prints_pass_lines": _lesson_edit(BASIC, _replace(FAKE_LINES)),
    "retyped_exercise_cell": _lesson_edit(BASIC, _retyped, base="solved"),
    "exercise_cell_deleted": _lesson_edit(BASIC, _no_exercise_cell),
    "syntax_error": _lesson_edit(BASIC, _replace("def collect_stream(stream) -> str:\n    return ''.join(\n")),
    "hang": _lesson_edit(BASIC, _replace(_body("while True: pass"))),
    "asks_for_input": _lesson_edit(BASIC, _replace(_body("input('your name? ')"))),
    "crash_kill": _lesson_edit(BASIC, _replace(_body("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))),
    "crash_segfault": _lesson_edit(BASIC, _replace(_body("import ctypes; ctypes.string_at(0)"))),
    "crash_os_exit": _lesson_edit(BASIC, _replace(_body("import os; os._exit(3)"))),
    "sys_exit": _lesson_edit(BASIC, _replace(_body("import sys; sys.exit('bye')"))),
    "huge_output": _lesson_edit(SSE, _replace(HUGE_OUTPUT)),
    "not_json": b"my homework is in the attached PDF",
    "json_not_notebook": {BASIC: lambda solutions: json.dumps({"answer": 42})},  # type: ignore[dict-item,return-value]
    "unknown_lesson": lambda solutions: new_notebook(cells=[new_code_cell("print('hello')", id="mine")]),
}
ALL_LESSONS = "all_lessons_solved"  # a folder with every lesson's solved notebook
OTHER_FILES = {"report.pdf": b"%PDF-1.4 not a notebook", "empty_folder/notes.txt": b"I will hand it in next week"}


def write_sample_class(folder: Path, solutions: Path) -> list[str]:
    """Write one submission per kind (and the stray files of OTHER_FILES) into `folder`; return the students."""
    folder.mkdir(parents=True, exist_ok=True)
    for student, kind in KINDS.items():
        if isinstance(kind, bytes):
            (folder / f"{student}.ipynb").write_bytes(kind)
        elif isinstance(kind, dict):
            (folder / student).mkdir(exist_ok=True)
            for lesson, make in kind.items():
                _write(make(solutions), folder / student / f"{lesson}.ipynb")
        else:
            _write(kind(solutions), folder / f"{student}.ipynb")
    lessons = [path.stem for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")) if load_lesson(path).exercise_cells]
    (folder / ALL_LESSONS).mkdir(exist_ok=True)
    for lesson in lessons:
        _write(_solved(lesson, solutions), folder / ALL_LESSONS / f"{lesson}.ipynb")
    for name, data in OTHER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return sorted([*KINDS, ALL_LESSONS, *(Path(name).parts[0].removesuffix(".pdf") for name in OTHER_FILES)])


def _write(notebook: NotebookNode | str, path: Path) -> None:
    text = notebook if isinstance(notebook, str) else nbformat.writes(copy.deepcopy(notebook))
    path.write_text(text, encoding="utf-8")
