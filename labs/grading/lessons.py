"""The instructor's side of grading: what each lesson asks, read from its solution notebook.

A lesson is graded as a list of steps in the order of its solution notebook:

- an **exercise** step is a code cell that `labs.workbook.learner_copy` stubs (its exercise ids are the ones
  its stubs name); the grader runs the learner's version of that cell, found by the cell's id, which the
  learner copy keeps, or else by the names the cell defines (a learner who retyped the cell);
- a **check** step is a `labs.check("N.M", answer, ...)` call of the instructor's check cell: the grader
  evaluates the same answer expressions and runs the instructor's checker on them;
- a **setup** step is the lesson's context from the other cells, the instructor's own: every top-level
  `import`, `def`, `class` and literal constant. Demonstrations (calls that stream, print or plot) are left
  out, which makes a lesson's context cost its imports only, and exercise functions take what they work on
  as arguments, so they need nothing else. An exercise that did would fail its own solution, which
  `tests/test_grading.py` grades through this path for every lesson.

Nothing here runs a notebook: it parses the instructor's notebooks and, for submissions, only reads them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import nbformat

from labs.workbook import learner_copy

__all__ = [
    "CheckStep", "ExerciseStep", "Lesson", "SetupStep", "Step",
    "defined_names", "ipython_to_python", "load_lesson", "load_lessons",
]

_STUB = re.compile(r"NotImplementedError\(\s*[\"']Exercise (?P<id>\d+\.\d+):")
_LITERAL_KINDS = (ast.Constant, ast.Tuple, ast.List, ast.Dict, ast.Set, ast.UnaryOp)
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@dataclass(frozen=True)
class SetupStep:
    """The definitions of one instructor cell, as Python source."""

    cell_id: str
    source: str
    type: Literal["setup"] = "setup"


@dataclass(frozen=True)
class ExerciseStep:
    """An exercise cell: the learner's version of it runs here."""

    cell_id: str
    exercise_ids: tuple[str, ...]
    defines: tuple[str, ...]  # the top-level names the instructor's cell defines, to find a retyped cell
    type: Literal["exercise"] = "exercise"


@dataclass(frozen=True)
class CheckStep:
    """One `labs.check(exercise_id, *answers)` call of a check cell; `answers` are Python expressions."""

    cell_id: str
    exercise_id: str
    answers: tuple[str, ...]
    type: Literal["check"] = "check"


Step = SetupStep | ExerciseStep | CheckStep


@dataclass(frozen=True)
class Lesson:
    """A solution notebook as the grader sees it: its name ("01_basic_streaming") and its steps."""

    name: str
    steps: tuple[Step, ...]
    cell_ids: frozenset[str] = frozenset()  # every cell's id, which the learner copy keeps: how a notebook is recognised

    @property
    def exercise_ids(self) -> tuple[str, ...]:
        """The exercises graded, in the order their checks run."""
        return tuple(dict.fromkeys(step.exercise_id for step in self.steps if step.type == "check"))

    @property
    def exercise_cells(self) -> tuple[ExerciseStep, ...]:
        return tuple(step for step in self.steps if step.type == "exercise")

    @property
    def imports(self) -> tuple[str, ...]:
        """The modules the set-up imports, so a grading pool can import them once, before any submission."""
        found = []
        for step in self.steps:
            if step.type == "setup":
                for node in ast.parse(step.source).body:
                    if isinstance(node, ast.Import):
                        found += [alias.name for alias in node.names]
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        found.append(node.module)
        return tuple(dict.fromkeys(module for module in found if module != "__future__"))


def load_lessons(solutions: Path) -> dict[str, Lesson]:
    """Every lesson in the `solutions` folder, by name (a lesson without exercises has nothing to grade)."""
    lessons = (load_lesson(path) for path in sorted(solutions.glob("*.ipynb")))
    return {lesson.name: lesson for lesson in lessons}


def load_lesson(path: Path) -> Lesson:
    """The grading steps of the solution notebook at `path`."""
    solution = nbformat.read(path, as_version=4)
    learner = learner_copy(solution, path.name)
    steps: list[Step] = []
    for index, (cell, stubbed) in enumerate(zip(solution.cells, learner.cells)):
        if cell.cell_type != "code":
            continue
        cell_id = cell.get("id") or f"cell-{index}"
        if stubbed.source != cell.source:
            ids = tuple(dict.fromkeys(match["id"] for match in _STUB.finditer(stubbed.source)))
            steps.append(ExerciseStep(cell_id, ids, defined_names(cell.source)))
        elif checks := list(_check_calls(cell.source)):
            steps += [CheckStep(cell_id, exercise_id, answers) for exercise_id, answers in checks]
        elif definitions := _definitions(cell.source):
            steps.append(SetupStep(cell_id, definitions))
    cell_ids = frozenset(cell.get("id") or f"cell-{index}" for index, cell in enumerate(solution.cells))
    return Lesson(path.stem, tuple(steps), cell_ids)


def ipython_to_python(source: str) -> str:
    """`source` with IPython syntax (magics, `!shell`) turned into the plain Python IPython itself runs."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def parse_cell(source: str) -> ast.Module:
    """A notebook cell's syntax tree; top-level `await` is allowed, as in Jupyter."""
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree: Any = compile(ipython_to_python(source), "<cell>", "exec", flags=flags, dont_inherit=True)
    return tree


def defined_names(source: str) -> tuple[str, ...]:
    """The functions and classes a cell defines at its top level; none when it does not parse."""
    try:
        tree = parse_cell(source)
    except SyntaxError:
        return ()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return tuple(node.name for node in tree.body if isinstance(node, kinds))


def _check_calls(source: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    try:
        tree = parse_cell(source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        first = node.args[0]
        if name == "check" and isinstance(first, ast.Constant) and isinstance(first.value, str):
            yield first.value, tuple(ast.unparse(argument) for argument in node.args[1:])


def _definitions(source: str) -> str:
    """The imports, definitions and literal constants of an instructor's cell, as source; "" when none."""
    try:
        tree = parse_cell(source)
    except SyntaxError:
        return ""
    kept = [node for node in tree.body if isinstance(node, _DEFINITIONS) or _is_literal_constant(node)]
    return ast.unparse(ast.Module(body=kept, type_ignores=[])) if kept else ""


def _is_literal_constant(node: ast.stmt) -> bool:
    value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
    if value is None or not isinstance(value, _LITERAL_KINDS):
        return False
    try:
        ast.literal_eval(value)
    except ValueError:
        return False
    return True
