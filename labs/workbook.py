"""The workbook pipeline: learner notebooks generated from the solutions, kept current, and graded.

    python -m labs.workbook build    # write notebooks/ from solutions/
    python -m labs.workbook check    # fail, naming the notebook, when notebooks/ is not what build writes,
                                     # or a solution code cell has no stored execution (nbval would skip it)
    python -m labs.workbook new-exercise 2.2   # scaffold an exercise (labs/lessons/scaffold.py)
    python -m labs.workbook translation 01     # write or update translations/vi/01_basic_streaming.yaml
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

Translations (`labs.i18n`): the English solutions stay the single source of code. A lesson with a translation file
`translations/vi/NN_slug.yaml` also gets `notebooks/vi/NN_slug.ipynb`: the English learner copy, cell for cell and
id for id, with each markdown cell's Vietnamese, and `%env LABS_LANG=vi` as the first line of its first code cell
(so the check lines and hints are Vietnamese in that kernel; every other line of code is the English copy's). A cell
whose translation is missing, or was made from English that has changed since (its `fingerprint` is the English
source's), stays English there, and `check` names it. `translation NN` writes the file's skeleton (every markdown
cell's id, fingerprint and English, and every text of the lesson's exercises, the translations empty) or adds what
a lesson gained to an existing one, keeping what is translated; `--accept ID` records that cell ID's translation
as made from the current English. `build` cleans `notebooks/vi/` by the same rule as `notebooks/`, and
`notebooks/` cleaning never reaches into it. A lesson without a translation file is listed, not an error, for now.

`grade` and `grade-class` live in `labs.grading`; this module only dispatches them.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
import yaml
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from . import i18n

__all__ = [
    "ANSWER_PROMPT",
    "WORKSPACE",
    "SolutionMarkerError",
    "build",
    "check",
    "exercise_texts",
    "fill_workspace",
    "fresh_copy",
    "learner_copy",
    "main",
    "migrate_workspace",
    "render",
    "translated_copy",
    "translation_problems",
    "unexecuted_cells",
    "workspace_lessons",
    "write_translation",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = REPO_ROOT / "workspace"  # where the learner works (ignored by git); notebooks/ is regenerated
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ANSWER_PROMPT = "*Write your answer here.*"
TRANSLATIONS = REPO_ROOT / "translations"  # translations/<language>/NN_slug.yaml (labs.i18n)
ANSWER_PROMPTS: dict[i18n.Language, str] = {"en": ANSWER_PROMPT, "vi": "*Viết câu trả lời của bạn ở đây.*"}
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
    # A cell written on Windows may end its lines with \r\n: its blank lines are then "\r", not empty (Jupyter writes \n)
    for number, line in enumerate(source.replace("\r\n", "\n").split("\n"), start=1):
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


def _stub_markdown(source: str, where: str, prompt: str = ANSWER_PROMPT) -> str:
    stubbed = _MARKDOWN_ANSWER.sub(lambda _: prompt, source)
    if _MARKDOWN_MARKER.search(stubbed):
        raise SolutionMarkerError(f"{where}: each <!-- BEGIN SOLUTION --> needs its own <!-- END SOLUTION --> after it")
    return stubbed


# Translated learner copies (labs.i18n)


def translated_copy(solution: NotebookNode, translation: i18n.LessonTranslation, name: str = "notebook") -> NotebookNode:
    """The learner copy of `solution` in the translation's language: same cells, ids and code, its markdown translated.

    A markdown cell with no translation, or one made from English that has changed since, keeps its English.
    The first code cell starts with `%env LABS_LANG=<language>`, so the kernel speaks the notebook's language.
    """
    copy = learner_copy(solution, name)
    prompt = ANSWER_PROMPTS.get(translation.language, ANSWER_PROMPT)
    for index, (cell, original) in enumerate(zip(copy.cells, solution.cells)):
        entry = translation.cells.get(cell.id)
        current = entry is not None and entry.translated.strip() and entry.fingerprint == i18n.fingerprint(original.source)
        if cell.cell_type == "markdown" and entry is not None and current:
            cell.source = _stub_markdown(entry.translated, f"{_show(translation.path)}, cell {index} (id {cell.id})", prompt)
    first_code = next((cell for cell in copy.cells if cell.cell_type == "code"), None)
    if first_code is not None:
        first_code.source = f"%env LABS_LANG={translation.language}\n{first_code.source}"
    return copy


def _translated_copies(solutions: Path, translations: Path | None) -> dict[Path, bytes]:
    """Each translated learner copy by its path relative to notebooks/ (`vi/01_basic_streaming.ipynb`)."""
    copies: dict[Path, bytes] = {}
    for path, translation in _translations(solutions, translations):
        solution = nbformat.read(path, as_version=4)
        notebook = translated_copy(solution, translation, path.name)
        copies[Path(translation.language) / path.name] = (nbformat.writes(notebook) + "\n").encode("utf-8")
    return copies


def _translations(solutions: Path, translations: Path | None) -> list[tuple[Path, i18n.LessonTranslation]]:
    """(solution, its translation) for every lesson with a readable translation file, in every language."""
    found = []
    for folder in _language_folders(translations):
        for path in _notebooks_in(solutions):
            file = folder / f"{path.stem}.yaml"
            if file.is_file():
                try:
                    found.append((path, i18n.load_translation(file)))
                except ValueError:  # check names it; build writes the other lessons
                    continue
    return found


def _language_folders(translations: Path | None) -> list[Path]:
    if translations is None or not translations.is_dir():
        return []
    return [folder for folder in sorted(translations.iterdir()) if folder.is_dir() and folder.name in i18n.LANGUAGES[1:]]


def translation_problems(solutions: Path, translations: Path | None) -> tuple[list[str], list[str]]:
    """What is missing or stale in the translation files, one problem per cell or text; and the lessons with none."""
    problems: list[str] = []
    untranslated: list[str] = []
    lessons = {path.stem: path for path in _notebooks_in(solutions)}
    for folder in _language_folders(translations):
        for file in sorted(folder.glob("*.yaml")):
            if file.stem not in lessons:
                problems.append(f"{_show(file)} has no solution notebook {_show(solutions / (file.stem + '.ipynb'))}")
        for stem, path in lessons.items():
            file = folder / f"{stem}.yaml"
            if not file.is_file():
                untranslated.append(f"{folder.name}/{stem}")
                problems.append(f"{_show(file)} is missing: every lesson has a {folder.name} edition; "
                                f"`python -m labs.workbook translation {stem[:2]}` writes its skeleton")
                continue
            try:
                translation = i18n.load_translation(file)
            except ValueError as error:
                problems.append(str(error))
                continue
            problems += _cell_problems(path, translation) + _exercise_problems(path, translation)
    return problems, untranslated


def _cell_problems(solution_path: Path, translation: i18n.LessonTranslation) -> list[str]:
    solution = nbformat.read(solution_path, as_version=4)
    file, lang, lesson = _show(translation.path), translation.language, solution_path.name[:2]
    problems = []
    markdown = {cell.get("id") or f"cell-{index}": cell for index, cell in enumerate(solution.cells) if cell.cell_type == "markdown"}
    for cell_id, cell in markdown.items():
        entry = translation.cells.get(cell_id)
        where = f"{file}, cell {cell_id} (the {lang} copy of {solution_path.name})"
        now = i18n.fingerprint(cell.source)
        if entry is None or not entry.translated.strip():
            problems.append(f"{where}: no {lang} translation yet (write it under `{lang}:`; "
                            f"`python -m labs.workbook translation {lesson}` adds the cell if it is not in the file)")
        elif entry.fingerprint != now:
            problems.append(f"{where}: the English changed since it was translated (fingerprint {entry.fingerprint or 'none'} in the "
                            f"file, {now} now): update `{lang}:`, then `python -m labs.workbook translation {lesson} --accept {cell_id}`")
    problems += [
        f"{file}, cell {cell_id}: {_show(solution_path)} has no markdown cell with that id "
        f"(`python -m labs.workbook translation {lesson}` drops it)"
        for cell_id in translation.cells
        if cell_id not in markdown
    ]
    return problems


def _exercise_problems(solution_path: Path, translation: i18n.LessonTranslation) -> list[str]:
    file, lang, lesson = _show(translation.path), translation.language, solution_path.name[:2]
    problems = []
    wanted = exercise_texts(nbformat.read(solution_path, as_version=4))
    for exercise_id, texts in wanted.items():
        have = translation.exercises.get(exercise_id, {})
        problems += [f"{file}, exercise {exercise_id}: no {lang} translation of {english!r}" for english in texts if not have.get(english)]
    for exercise_id, have in translation.exercises.items():
        problems += [
            f"{file}, exercise {exercise_id}: {english!r} is no longer one of the exercise's texts (its English changed, or it "
            f"went): `python -m labs.workbook translation {lesson}` drops it and adds the current ones"
            for english in have
            if english not in wanted.get(exercise_id, ())
        ]
    return problems


def exercise_texts(solution: NotebookNode) -> dict[str, list[str]]:
    """Every text a learner reads about each exercise of `solution`: its stub's hint, its checker's cases' names,
    hints and mistakes, and its second hint, each on one line, by exercise id."""
    from .checks import checker_for, hint_for

    stub_hints: dict[str, list[str]] = {}
    for cell in solution.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.split("\n"):
            if (begin := _BEGIN.match(line)) and (arguments := _BEGIN_ARGUMENTS.match(begin["rest"])):
                stub_hints.setdefault(arguments["id"], []).append(arguments["hint"])
        for call in _CHECK_CALL.finditer(cell.source):
            stub_hints.setdefault(call["id"], [])
    texts: dict[str, list[str]] = {}
    for exercise_id, hints in stub_hints.items():
        found = list(hints)
        try:
            checker = checker_for(exercise_id)
            answers = [None] * sum(1 for parameter in inspect.signature(checker).parameters.values() if parameter.default is parameter.empty
                                   and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD))
            for case in checker(*answers):  # a case's run is a thunk: making the cases calls no answer
                found += [case.name, case.hint, *(mistake.hint for mistake in case.mistakes)]
        except Exception:  # a checker that needs real answers to make its cases: its later texts stay English
            pass
        try:
            found.append(hint_for(exercise_id))
        except LookupError:
            pass
        texts[exercise_id] = list(dict.fromkeys(_one_line(text) for text in found if text and text.strip()))
    return texts


def write_translation(solution_path: Path, lang: i18n.Language = "vi", translations: Path = TRANSLATIONS,
                      accept: Sequence[str] = ()) -> tuple[Path, list[str]]:
    """Write the translation file of one lesson: a skeleton, or the existing file with what the lesson gained.

    Translations are kept; a cell id in `accept` is recorded as translated from the current English. Returns the
    file and one line per change (cells added, dropped or accepted, exercise texts added or dropped).
    """
    solution = nbformat.read(solution_path, as_version=4)
    file = i18n.translation_path(solution_path.stem, lang, translations)
    old = i18n.load_translation(file) if file.is_file() else i18n.LessonTranslation(file, lang)
    markdown = [(cell.get("id") or f"cell-{index}", cell.source) for index, cell in enumerate(solution.cells) if cell.cell_type == "markdown"]
    unknown = [cell_id for cell_id in accept if cell_id not in dict(markdown)]
    if unknown:
        raise ValueError(f"{_show(solution_path)} has no markdown cell {', '.join(unknown)}")
    changes: list[str] = []
    cells: dict[str, dict[str, str]] = {}
    for cell_id, source in markdown:
        entry = old.cells.get(cell_id)
        if entry is None:
            changes.append(f"added cell {cell_id}")
            entry = i18n.CellTranslation(i18n.fingerprint(source), source, "")
        elif cell_id in accept:
            changes.append(f"accepted cell {cell_id}: its {lang} text is now recorded as translated from the current English")
            entry = i18n.CellTranslation(i18n.fingerprint(source), source, entry.translated)
        cells[cell_id] = {"fingerprint": entry.fingerprint, "en": entry.en, lang: entry.translated}
    changes += [f"dropped cell {cell_id} (no such markdown cell)" for cell_id in old.cells if cell_id not in cells]
    exercises: dict[str, list[dict[str, str]]] = {}
    for exercise_id, texts in exercise_texts(solution).items():
        have = old.exercises.get(exercise_id, {})
        changes += [f"added exercise {exercise_id} text {english!r:.70}" for english in texts if english not in have]
        changes += [f"dropped exercise {exercise_id} text {english!r:.70}" for english in have if english not in texts]
        exercises[exercise_id] = [{"en": english, lang: have.get(english, "")} for english in texts]
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(_translation_yaml(solution_path, lang, cells, exercises), encoding="utf-8")
    return file, changes


class _TranslationDumper(yaml.SafeDumper):
    """Multi-line texts as literal blocks, so a translator reads and edits the Markdown as it is."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_TranslationDumper.add_representer(str, _represent_text)


def _translation_yaml(solution_path: Path, lang: str, cells: dict[str, dict[str, str]], exercises: dict[str, list[dict[str, str]]]) -> str:
    header = (
        f"# The {lang} prose of {_show(solution_path)}, one entry per markdown cell (by cell id), and the texts a learner\n"
        f"# reads about each exercise. Write the translation under `{lang}:`; keep code, inline code, links' targets and the\n"
        f"# Markdown and Mermaid structure as they are. `fingerprint` is the English the translation was made from: when\n"
        f"# the English changes, `python -m labs.workbook check` names the cell; update `{lang}:`, then\n"
        f"# `python -m labs.workbook translation {solution_path.name[:2]} --accept CELL_ID`. `en` is there to read.\n"
    )
    data = {"language": lang, "lesson": solution_path.stem, "cells": cells, "exercises": exercises}
    return header + yaml.dump(data, Dumper=_TranslationDumper, allow_unicode=True, sort_keys=False, width=10_000)


# build and check


def build(solutions: Path, notebooks: Path, translations: Path | None = None) -> list[Path]:
    """Write the learner copy of every solution, and each translated one; return the files written or deleted."""
    expected = _learner_copies(solutions)
    notebooks.mkdir(parents=True, exist_ok=True)
    changed = [notebooks / name for name, data in expected.items() if not _holds(notebooks / name, data)]
    for target in changed:
        target.write_bytes(expected[target.name])
    extras = [extra for extra in _notebooks_in(notebooks) if extra.name not in expected]
    translated = _translated_copies(solutions, translations)
    for relative, data in translated.items():
        if not _holds(notebooks / relative, data):
            (notebooks / relative).parent.mkdir(parents=True, exist_ok=True)
            (notebooks / relative).write_bytes(data)
            changed.append(notebooks / relative)
    extras += [extra for extra in _translated_notebooks_in(notebooks, translations) if extra.relative_to(notebooks) not in translated]
    for extra in extras:
        extra.unlink()
    return changed + extras


def _translated_notebooks_in(notebooks: Path, translations: Path | None) -> list[Path]:
    """The translated copies in notebooks/<language>/, for the languages `translations` has a folder for."""
    return [path for folder in _language_folders(translations) for path in _notebooks_in(notebooks / folder.name)]


def _stale(target: Path, data: bytes, made_by: str) -> list[str]:
    """Why the notebook at `target` is not `data`, what `made_by` generates (nothing if it is)."""
    if not target.exists():
        return [f"{_show(target)} is missing"]
    if not _holds(target, data):
        return [f"{_show(target)} is not what {made_by} ({_first_difference(data, target.read_bytes())})"]
    return []


def check(solutions: Path, notebooks: Path, translations: Path | None = None) -> list[str]:
    """What differs between `notebooks` and what `build` would write there, one problem per notebook; and with
    `translations`, every cell or exercise text whose translation is missing or stale."""
    expected = _learner_copies(solutions)
    problems = []
    for name, data in expected.items():
        problems += _stale(notebooks / name, data, f"{_show(solutions / name)} generates")
    problems += [
        f"{_show(extra)} has no solution notebook {_show(solutions / extra.name)}"
        for extra in _notebooks_in(notebooks)
        if extra.name not in expected
    ]
    translated = _translated_copies(solutions, translations)
    for relative, data in translated.items():
        problems += _stale(notebooks / relative, data, f"{_show(solutions / relative.name)} and its translation generate")
    problems += [
        f"{_show(extra)} has no translation file {_show(translations / extra.relative_to(notebooks).with_suffix('.yaml'))}"
        for extra in _translated_notebooks_in(notebooks, translations)
        if translations is not None and extra.relative_to(notebooks) not in translated
    ]
    problems += translation_problems(solutions, translations)[0]
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
        command.add_argument("--translations", type=Path, help="default: translations/ beside the solutions folder")
    translate = commands.add_parser("translation", help="write a lesson's translation skeleton, or add what it gained")
    translate.add_argument("lesson", metavar="NN", help="the lesson's number, e.g. 01")
    translate.add_argument("--lang", choices=i18n.LANGUAGES[1:], default="vi")
    translate.add_argument("--accept", metavar="CELL_ID", nargs="+", default=[],
                           help="record these cells' translations as made from the current English")
    translate.add_argument("--solutions", type=Path, default=REPO_ROOT / "solutions")
    translate.add_argument("--translations", type=Path, help="default: translations/ beside the solutions folder")
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
    if arguments.command in ("build", "check", "translation") and arguments.translations is None:
        arguments.translations = arguments.solutions.resolve().parent / TRANSLATIONS.name  # the workbook's own, for its solutions
    if arguments.command == "translation":
        return _translation_command(arguments)
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
            for path in build(arguments.solutions, arguments.notebooks, arguments.translations):
                print(f"{'wrote' if path.exists() else 'deleted'} {_show(path)}")
            return 0
        problems = check(arguments.solutions, arguments.notebooks, arguments.translations)
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


def _translation_command(arguments: argparse.Namespace) -> int:
    try:
        solution = _lesson_notebook(arguments.lesson, arguments.solutions)
        file, changes = write_translation(solution, arguments.lang, arguments.translations, arguments.accept)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for change in changes:
        print(f"  {change}")
    print(f"wrote {_show(file)}: fill in each empty `{arguments.lang}:`, then `make notebooks` and `python -m labs.workbook check`.")
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
