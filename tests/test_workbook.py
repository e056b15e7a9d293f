"""The workbook pipeline: learner copies from solutions, the up-to-date check, grading, and strict nbval."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbval.plugin import get_sanitize_patterns

from labs.workbook import ANSWER_PROMPT, SolutionMarkerError, learner_copy, main

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "workbook"
NAME = "99_example.ipynb"

CHECKER = '''\
from labs.checks import Case, check, exercise


@exercise("99.1")
def check_total_tokens(total_tokens):
    yield Case("two chunks", lambda: total_tokens([{"tokens": 3}, {"tokens": 4}]), expected=7, hint="add every chunk")
    yield Case("no chunks", lambda: total_tokens([]), expected=0, hint="start from 0")'''

EXERCISE = '''\
def total_tokens(chunks: list[dict[str, int]]) -> int:
    """Add up the token counts of streamed chunks."""
    # BEGIN SOLUTION 99.1: add chunk["tokens"] for every chunk, starting from 0
    return sum(chunk["tokens"] for chunk in chunks)
    # END SOLUTION'''

STUB = '''\
def total_tokens(chunks: list[dict[str, int]]) -> int:
    """Add up the token counts of streamed chunks."""
    raise NotImplementedError('Exercise 99.1: complete total_tokens. Hint: add chunk["tokens"] for every chunk, starting from 0')'''


def solution_notebook() -> NotebookNode:
    """A tiny solution notebook: a registered test-only checker, one exercise, its check, a written answer."""
    timing = new_code_cell(
        'import time\nstarted = time.perf_counter()\n'
        'print(f"took {time.perf_counter() - started:.4f} s")\nprint(object())',
        id="timing", execution_count=2, metadata={"scrolled": True, "tags": ["demo"]},
        outputs=[new_output("stream", name="stdout", text="took 0.0001 s\n<object object at 0x7f3a2c1b5e10>\n")],
    )
    return new_notebook(
        cells=[
            new_markdown_cell("# Example\n> A test-only lesson.", id="title"),
            new_code_cell(CHECKER, id="checker", execution_count=1),
            timing,
            new_markdown_cell("## Exercise 99.1: add up tokens", id="exercise-heading"),
            new_code_cell(EXERCISE, id="exercise", execution_count=3),
            new_code_cell('check("99.1", total_tokens)', id="check", execution_count=4),
            new_markdown_cell("Why stream?\n\n<!-- BEGIN SOLUTION -->\nSooner.\n<!-- END SOLUTION -->", id="quiz"),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Py"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
    )


def write(notebook: NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


def build(tmp_path: Path, notebook: NotebookNode | None = None) -> Path:
    write(notebook or solution_notebook(), tmp_path / "solutions" / NAME)
    assert main(["build", "--solutions", str(tmp_path / "solutions"), "--notebooks", str(tmp_path / "notebooks")]) == 0
    return tmp_path / "notebooks" / NAME


def check(tmp_path: Path) -> int:
    return main(["check", "--solutions", str(tmp_path / "solutions"), "--notebooks", str(tmp_path / "notebooks")])


def test_learner_copy_stubs_solutions_and_clears_outputs(tmp_path: Path) -> None:
    learner = nbformat.read(build(tmp_path), as_version=4)
    cells = {cell.id: cell for cell in learner.cells}
    assert list(cells) == [cell.id for cell in solution_notebook().cells]
    assert cells["exercise"].source == STUB
    assert cells["checker"].source == CHECKER and cells["check"].source == 'check("99.1", total_tokens)'
    assert cells["quiz"].source == f"Why stream?\n\n{ANSWER_PROMPT}"
    code = [cell for cell in learner.cells if cell.cell_type == "code"]
    assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert cells["timing"].metadata == {"tags": ["demo"]}
    assert learner.metadata == {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }


def test_untouched_learner_copy_runs_top_to_bottom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, object] = {}
    for cell in nbformat.read(build(tmp_path), as_version=4).cells:
        if cell.cell_type == "code":
            exec(cell.source, namespace)
    printed = capsys.readouterr().out
    assert '⏳ Exercise 99.1 not done yet: complete total_tokens. Hint: add chunk["tokens"]' in printed


def test_build_is_byte_stable_and_rewrites_nothing_the_second_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = build(tmp_path).read_bytes()
    assert f"wrote notebooks/{NAME}" in capsys.readouterr().out.replace(str(tmp_path) + "/", "")
    second = build(tmp_path).read_bytes()
    assert first == second and first.endswith(b"}\n")
    assert "wrote" not in capsys.readouterr().out
    assert check(tmp_path) == 0


def test_cells_without_ids_get_ids_from_their_index() -> None:
    solution = solution_notebook()
    solution.nbformat_minor = 4
    for cell in solution.cells:
        del cell["id"]
    assert [cell.id for cell in learner_copy(solution).cells] == [f"cell-{index}" for index in range(7)]


def hand_edit(notebook: Path) -> None:
    notebook.write_text(notebook.read_text().replace("complete total_tokens", "return 7  # complete total_tokens"))


@pytest.mark.parametrize(
    ("spoil", "complaint"),
    [
        (hand_edit, f"{NAME} is not what .*{NAME} generates \\(first difference in cell 4, id exercise\\)"),
        (Path.unlink, f"{NAME} is missing"),
        (lambda path: shutil.copy(path, path.with_name("98_old.ipynb")), "98_old.ipynb has no solution notebook"),
        (lambda path: path.write_text(path.read_text().replace("\n ", "\n  ")), "its JSON formatting differs"),
    ],
    ids=["hand-edited", "missing", "extra", "reformatted"],
)
def test_check_names_the_notebook_that_is_out_of_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spoil: Callable[[Path], object], complaint: str
) -> None:
    spoil(build(tmp_path))
    capsys.readouterr()
    assert check(tmp_path) == 1
    assert re.search(complaint, capsys.readouterr().err)
    assert main(["build", "--solutions", str(tmp_path / "solutions"), "--notebooks", str(tmp_path / "notebooks")]) == 0
    assert check(tmp_path) == 0


def test_a_region_can_be_part_of_a_function_body(tmp_path: Path) -> None:
    solution = solution_notebook()
    solution.cells[4].source = (
        "async def collect(stream):\n    text = []\n    async for chunk in stream:\n"
        "        # BEGIN SOLUTION 99.2: keep only the delta text\n"
        "        text.append(chunk.delta)\n"
        "        # END SOLUTION\n"
        "    return ''.join(text)"
    )
    assert learner_copy(solution).cells[4].source == (
        "async def collect(stream):\n    text = []\n    async for chunk in stream:\n"
        '        raise NotImplementedError("Exercise 99.2: complete collect. Hint: keep only the delta text")\n'
        "    return ''.join(text)"
    )


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("# BEGIN SOLUTION 99.1: hint\nx = 1\n# END SOLUTION", ", line 1: the region for exercise 99.1 is not inside"),
        ("class A:\n    # BEGIN SOLUTION 99.1: hint\n    x = 1\n    # END SOLUTION", ", line 2: the region for"),
        ("def f():\n    # BEGIN SOLUTION 99.1\n    return 1\n    # END SOLUTION", ", line 2: write the marker as"),
        ("def f():\n    # BEGIN SOLUTION 99.1: hint\n    return 1", ", line 2: BEGIN SOLUTION is never closed"),
        ("def f():\n    return 1\n    # END SOLUTION", ", line 3: END SOLUTION without a BEGIN SOLUTION"),
        ("<!-- BEGIN SOLUTION -->\nanswer", ": each <!-- BEGIN SOLUTION --> needs its own <!-- END SOLUTION -->"),
    ],
    ids=["top-level", "class-body", "no-hint", "unclosed", "stray-end", "markdown-unclosed"],
)
def test_build_rejects_markers_it_cannot_stub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, error: str
) -> None:
    solution = solution_notebook()
    cell = new_markdown_cell(source, id="bad") if source.startswith("<!--") else new_code_cell(source, id="bad")
    solution.cells.insert(2, cell)
    with pytest.raises(SolutionMarkerError, match=re.escape(f"{NAME}, cell 2 (id bad){error}")):
        learner_copy(solution, NAME)
    write(solution, tmp_path / "solutions" / NAME)
    assert main(["build", "--solutions", str(tmp_path / "solutions"), "--notebooks", str(tmp_path / "notebooks")]) == 1
    assert "cell 2 (id bad)" in capsys.readouterr().err
    assert not (tmp_path / "notebooks" / NAME).exists()


def test_build_refuses_a_missing_solutions_folder(tmp_path: Path) -> None:
    write(solution_notebook(), tmp_path / "notebooks" / NAME)
    assert main(["build", "--solutions", str(tmp_path / "nowhere"), "--notebooks", str(tmp_path / "notebooks")]) == 2
    assert (tmp_path / "notebooks" / NAME).exists()


def test_data_learner_copy_is_current() -> None:
    """tests/data/workbook holds an executed solution and its learner copy, exactly as `build` writes it."""
    assert main(["check", "--solutions", str(DATA / "solutions"), "--notebooks", str(DATA / "notebooks")]) == 0


# Grading (python -m labs.workbook grade) is tested in tests/test_grading.py and tests/test_grade_class.py.


# Strict nbval on stored outputs


SANITIZED = [
    ("took 0.43 s, then 412 ms, 1.5 seconds, 12µs, 0:00:01.23", "took <TIME>, then <TIME>, <TIME>, <TIME>, <TIME>"),
    ("35.2 tokens/s over 3 steps", "<N> tokens/s over 3 steps"),
    ("id=chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "id=chatcmpl-<ID>"),
    ("call_abc123XYZdef456 resp_67ccd2bed1ec8190 run_Xa8b9c0d1e2f3g4h", "call_<ID> resp_<ID> run_<ID>"),
    ("Runner.run_streamed(agent) call_weather", "Runner.run_streamed(agent) call_weather"),
    ("http://127.0.0.1:43817/v1 localhost:8000 [::1]:9000", "http://127.0.0.1:<PORT>/v1 localhost:<PORT> [::1]:<PORT>"),
    ("<object object at 0x7f3a2c1b5e10>", "<object object at 0x<ADDRESS>>"),
    ("2025-01-31T12:34:56.789Z created=1712345678", "<TIMESTAMP> created=<EPOCH>"),
    ("id 123e4567-e89b-12d3-a456-426614174000", "id <UUID>"),
    ("gpt-4o-mini answered 2 of 3 in 1 try", "gpt-4o-mini answered 2 of 3 in 1 try"),
]


@pytest.mark.parametrize(("text", "expected"), SANITIZED)
def test_nbval_sanitize_patterns(text: str, expected: str) -> None:
    patterns = get_sanitize_patterns((REPO / "tests" / "nbval_sanitize.cfg").read_text(encoding="utf-8"))
    assert len(patterns) == 10
    for regex, replace in patterns:
        text = re.sub(regex, replace, text)
    assert text == expected


def run_nbval(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", *arguments]
    environment = {**os.environ, "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "0"}
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=300)


def test_strict_nbval_passes_stored_outputs_with_sanitizing_and_display_updates() -> None:
    result = run_nbval(
        "-p", "tests.nbval_support", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
        f"tests/data/workbook/solutions/{NAME}", "tests/data/workbook/displays.ipynb",
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_strict_nbval_without_support_fails_on_display_updates() -> None:
    result = run_nbval("tests/data/workbook/displays.ipynb")
    assert result.returncode == 1
    failed_cells = re.findall(r"^FAILED \S*displays\.ipynb::Cell (\d+)", result.stdout, flags=re.MULTILINE)
    assert failed_cells == ["0", "1"], result.stdout[-3000:]


# -- what an audit by mutation found unguarded in the stub generation (make mutate) --------------------------


def _stub(source: str) -> str:
    return learner_copy(new_notebook(cells=[new_code_cell(source, id="c")]), NAME).cells[0].source


def test_raw_and_markdown_cells_keep_their_source_id_tags_and_attachments() -> None:
    raw = nbformat.v4.new_raw_cell("%% raw text", id="r", metadata={"tags": ["keep"], "collapsed": True})
    picture = {"a.png": {"image/png": "iVBORw0KGgo="}}
    markdown = new_markdown_cell("![a](attachment:a.png)", id="m", metadata={"tags": ["shown"]}, attachments=picture)
    copy = learner_copy(new_notebook(cells=[raw, markdown]), NAME)
    assert [(c.cell_type, c.id, c.source, dict(c.metadata)) for c in copy.cells] == [
        ("raw", "r", "%% raw text", {"tags": ["keep"]}),
        ("markdown", "m", "![a](attachment:a.png)", {"tags": ["shown"]}),
    ]
    assert copy.cells[1].attachments == picture


@pytest.mark.parametrize(
    ("hint", "literal"),
    [
        ("say “café” as it is", '"Exercise 1.1: complete f. Hint: say “café” as it is"'),  # real characters, no \\u escapes
        ("""it's "quoted\"""", '"Exercise 1.1: complete f. Hint: it\'s \\"quoted\\""'),  # both quotes: double, escaped
        ('a "quoted" word', '\'Exercise 1.1: complete f. Hint: a "quoted" word\''),  # only double quotes: single
    ],
)
def test_a_stub_states_its_hint_as_a_plain_python_literal(hint: str, literal: str) -> None:
    stub = _stub(f"def f():\n    # BEGIN SOLUTION 1.1: {hint}\n    return 1\n    # END SOLUTION")
    assert stub == f"def f():\n    raise NotImplementedError({literal})"


@pytest.mark.parametrize(
    "source",
    [
        "def outer():\n    x = 1\n\n# a comment at the margin\n    # BEGIN SOLUTION 1.1: h\n    return x\n    # END SOLUTION",
        "def outer():\n    def helper():\n        return 1\n    # BEGIN SOLUTION 1.1: h\n    return helper()\n    # END SOLUTION",
        "def outer():\r\n    x = 1\r\n\r\n    # BEGIN SOLUTION 1.1: h\r\n    return x\r\n    # END SOLUTION\r\n",
    ],
    ids=["past a blank line and a comment", "past a nested def at the same depth", "with Windows line ends"],
)
def test_the_stub_names_the_function_the_region_is_in(source: str) -> None:
    assert "complete outer. Hint: h" in _stub(source)


def test_marker_errors_say_where_and_why() -> None:
    nested = "def f():\n    # BEGIN SOLUTION 1.1: a\n    # BEGIN SOLUTION 1.2: b\n    # END SOLUTION"
    with pytest.raises(SolutionMarkerError) as raised:
        learner_copy(new_notebook(cells=[new_code_cell(nested, id="c")]))  # no name given: "notebook"
    assert str(raised.value) == "notebook, cell 0 (id c), line 3: BEGIN SOLUTION inside the region opened on line 2"
    with pytest.raises(SolutionMarkerError) as raised:
        _stub("# BEGIN SOLUTION 1.1: h\nx = 1\n# END SOLUTION")
    assert str(raised.value).endswith(
        "the region for exercise 1.1 is not inside a function, so its stub would raise during 'Run all' of the learner"
        " copy; put the exercise code in a function body"
    )
