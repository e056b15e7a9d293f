"""Grading a generated class of 36 submissions: every verdict is the real one, whatever the submission tried.

The submissions come from `labs.grading.sample` (one per kind, named after it); the verdicts below are
written by hand from what each kind does, not computed by the grader. One grading run serves every test
of the class (under a minute on two cores; one of them waits out the hanging notebook's 20 s timeout); the time a class
takes is measured by `python -m labs.grading bench`, not asserted here.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from pathlib import Path

import pytest

from labs.grading.sample import write_sample_class
from labs.workbook import main

REPO = Path(__file__).resolve().parent.parent
BASIC, TOOLS, SSE = "01_basic_streaming", "03_streamed_tool_calls", "12_sse_to_the_browser"

# The cases of the instructor's checkers (labs/lessons/lesson_01/checks.py and lesson_12/checks.py).
PLAIN, USAGE_CHUNK, NO_TEXT = (
    "a plain text stream", "a stream ending in a usage chunk (choices == [])", "a stream whose deltas carry no text (content None)",
)
SSE_CASES = ("a text delta", "a delta holding newlines", "a delta with non-ASCII text", "a tool call with JSON arguments", "the final event, ttft_ms null")

NOT_DONE_1 = (BASIC, "1.1", "not_done", "complete collect_stream")
NOT_DONE_2 = (BASIC, "1.2", "not_done", "complete print_whole_words")  # the lesson's second exercise, untouched
SOLVED_1 = [(BASIC, "1.1", "passed", ""), (BASIC, "1.2", "passed", "")]  # a solved notebook answers both
SSE_NOT_DONE = [(SSE, "12.2", "not_done", "complete read_events")]
SSE_SOLVED = [(SSE, f"12.{n}", "passed", "") for n in (1, 2)]
ALL_EXERCISES = {  # every exercise of every lesson, in lesson order
    "01_basic_streaming": ("1.1", "1.2"), "02_collect_while_streaming": ("2.1", "2.2"), "03_streamed_tool_calls": ("3.1", "3.2"),
    "04_tool_progress": ("4.1", "4.2"), "05_agents_sdk_streaming": ("5.1", "5.2"), "06_agents_sdk_handoffs_and_chat": ("6.1", "6.2"),
    "07_azure_event_handlers": ("7.1", "7.2"), "08_azure_event_types_and_polling": ("8.1", "8.2"),
    "09_azure_tools_and_async": ("9.1", "9.2"), "10_semantic_kernel_streaming": ("10.1", "10.2"), "11_semantic_kernel_functions": ("11.1", "11.2"),
    "12_sse_to_the_browser": ("12.1", "12.2"), "13_sse_route_and_page": ("13.1", "13.2"),
    "14_resilience": ("14.1", "14.2"), "15_error_budgets_and_bad_tool_json": ("15.1", "15.2"), "16_latency_and_stop": ("16.1", "16.2"),
}


def basic(first: tuple[str, str, str, str | tuple[str, ...]], second: tuple[str, str, str, str] = NOT_DONE_2) -> list[tuple[str, str, str, str | tuple[str, ...]]]:
    """A lesson 01 submission: its verdict on 1.1, and on 1.2 (untouched unless said)."""
    return [first, second]


def notebook_failed(reason: str) -> list[tuple[str, str, str, str]]:
    """A lesson 01 notebook whose process died in 1.1: every exercise it did not report fails with the reason."""
    return [(BASIC, "1.1", "failed", reason), (BASIC, "1.2", "failed", reason)]


# student: (lesson, exercise, status, words the hint must hold, or the names of every case that must fail)
EXPECTED: dict[str, list[tuple[str, str, str, str | tuple[str, ...]]]] = {
    "all_lessons_solved": [(lesson, exercise, "passed", "") for lesson, ids in ALL_EXERCISES.items() for exercise in ids],
    "solved": SOLVED_1,
    "solved_folder": [*SOLVED_1, (TOOLS, "3.1", "passed", ""), (TOOLS, "3.2", "passed", ""), *SSE_SOLVED],
    "retyped_exercise_cell": SOLVED_1,
    "untouched": basic(NOT_DONE_1),
    "untouched_folder": [NOT_DONE_1, NOT_DONE_2, (SSE, "12.1", "not_done", "complete frame"), *SSE_NOT_DONE],
    "mixed_folder": [
        *SOLVED_1, (TOOLS, "3.1", "not_done", "complete accumulate_tool_calls"), (TOOLS, "3.2", "not_done", "complete answer_with_tools"),
        (SSE, "12.1", "failed", (SSE_CASES[2],)), *SSE_NOT_DONE,
    ],
    "wrong_no_empty_choices": basic((BASIC, "1.1", "failed", (USAGE_CHUNK,))),
    "wrong_none_content": basic((BASIC, "1.1", "failed", (PLAIN, USAGE_CHUNK, NO_TEXT))),
    "wrong_no_print": basic((BASIC, "1.1", "failed", (PLAIN, USAGE_CHUNK))),  # a stream with no text prints nothing anyway
    "wrong_spaced_json": [(SSE, "12.1", "failed", SSE_CASES), *SSE_NOT_DONE],
    "wrong_ascii_json": [(SSE, "12.1", "failed", (SSE_CASES[2],)), *SSE_NOT_DONE],
    "wrong_text_not_bytes": [(SSE, "12.1", "failed", SSE_CASES), *SSE_NOT_DONE],
    "tamper_report_file": basic(NOT_DONE_1),
    "tamper_report_file_in_exercise_cell": basic(NOT_DONE_1),
    "tamper_check_deleted": basic(NOT_DONE_1),
    "tamper_check_prints_pass": basic(NOT_DONE_1),
    "tamper_fake_labs_check": basic(NOT_DONE_1),
    "tamper_fake_checker": basic(NOT_DONE_1),
    # A cell that changes the grader spoils the grading of the whole notebook, not only its own exercise.
    "tamper_checker_swap_in_exercise_cell": notebook_failed("changed the grader"),
    "tamper_evaluate_patch_in_exercise_cell": notebook_failed("changed the grader (labs.checks._run_case)"),
    "tamper_prints_pass_lines": basic((BASIC, "1.1", "failed", (PLAIN, USAGE_CHUNK, NO_TEXT))),
    "exercise_cell_deleted": basic((BASIC, "1.1", "failed", "the exercise cell is missing from your notebook")),
    "syntax_error": basic((BASIC, "1.1", "failed", "your exercise cell does not compile: SyntaxError")),
    "hang": notebook_failed("timed out after 20 s"),
    "asks_for_input": basic((BASIC, "1.1", "failed", (PLAIN, USAGE_CHUNK, NO_TEXT))),
    "crash_kill": notebook_failed("crashed (SIGKILL)"),
    "crash_segfault": notebook_failed("crashed (SIGSEGV)"),
    "crash_os_exit": notebook_failed("exited (code 3)"),
    "sys_exit": basic((BASIC, "1.1", "failed", "your code raised SystemExit: bye")),
    "huge_output": [(SSE, f"12.{n}", "failed", "your code printed more than 1 MB") for n in (1, 2)],
    "not_json": [("-", "-", "failed", "not_json.ipynb is not a notebook")],
    "json_not_notebook": [("-", "-", "failed", "01_basic_streaming.ipynb is not a notebook")],
    "unknown_lesson": [("-", "-", "failed", "matches no lesson")],
    "report": [("-", "-", "failed", "report.pdf is not a notebook (.ipynb)")],
    "empty_folder": [("-", "-", "failed", "the folder holds no .ipynb notebook (found notes.txt)")],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    folder = tmp_path_factory.mktemp("class")
    write_sample_class(folder / "submissions", REPO / "solutions")
    out = folder / "results" / "gradebook.csv"
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setenv("COLUMNS", "200")
        code = main(["grade-class", str(folder / "submissions"), "--out", str(out), "--timeout", "20"])
    return code, printed.getvalue(), out


def gradebook(out: Path) -> list[dict[str, str]]:
    with out.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def test_the_class_is_big_enough_and_every_student_is_in_the_gradebook(graded: tuple[int, str, Path]) -> None:
    code, _, out = graded
    rows = gradebook(out)
    assert code == 0
    assert len(EXPECTED) >= 30
    assert list(rows[0]) == ["student", "lesson", "exercise", "status", "hint", "seconds"]
    assert sorted({row["student"] for row in rows}) == sorted(EXPECTED)


@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_every_verdict_is_the_real_one(graded: tuple[int, str, Path], student: str) -> None:
    rows = [row for row in gradebook(graded[2]) if row["student"] == student]
    assert [(row["lesson"], row["exercise"], row["status"]) for row in rows] == [e[:3] for e in EXPECTED[student]], rows
    for row, (_, _, _, wanted) in zip(rows, EXPECTED[student]):
        if isinstance(wanted, tuple):  # every failing case is named, and only those
            named = [case for case in (*SSE_CASES, PLAIN, USAGE_CHUNK, NO_TEXT) if f"{case}: " in row["hint"]]
            assert sorted(named) == sorted(wanted), row["hint"]
        else:
            assert wanted in row["hint"], row["hint"]
        assert float(row["seconds"]) >= 0


def test_feedback_lists_what_passed_and_every_case_still_wrong_with_its_hint(graded: tuple[int, str, Path]) -> None:
    folder = graded[2].parent / "gradebook_feedback"
    wrong = (folder / "wrong_no_print.md").read_text(encoding="utf-8")
    assert wrong.startswith("# Feedback for wrong_no_print\n\n0 of 2 exercises passed.")
    assert f"- ❌ **{PLAIN}**" in wrong and f"- ❌ **{USAGE_CHUNK}**" in wrong and f"- ✅ {NO_TEXT}" in wrong
    assert wrong.count("  - Hint: ") == 2
    mixed = (folder / "mixed_folder.md").read_text(encoding="utf-8")
    assert "2 of 6 exercises passed." in mixed and "Not done yet: complete accumulate_tool_calls" in mixed
    assert "Could not be graded: timed out after 20 s" in (folder / "hang.md").read_text(encoding="utf-8")
    assert sorted(path.stem for path in folder.glob("*.md")) == sorted(EXPECTED)


def test_summary_table_and_chart(graded: tuple[int, str, Path]) -> None:
    _, printed, out = graded
    # 1.1 is in 27 submissions, 5 of them passing; 5 fail the usage chunk case, the most of any 1.1 case.
    def row(*cells: str) -> str:  # a table row, whatever width the longest lesson name gives its columns
        return r"│ " + r"\s+│ ".join(re.escape(cell) for cell in cells)

    assert re.search(row("1.1", "01_basic_streaming", "5/27", "19%", "a stream ending in a usage chunk (choices == []) (5)"), printed), printed
    assert re.search(row("3.1", "03_streamed_tool_calls", "2/3", "67%", "not done yet (1)"), printed), printed
    graded_rows = sum(1 for rows in EXPECTED.values() for row in rows if row[0] != "-")
    assert f"36 students, {graded_rows} exercises graded, 5 submission files could not be graded." in printed
    chart = out.with_name("gradebook_pass_rates.png")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_to_grade_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade-class", str(tmp_path), "--out", str(tmp_path / "gradebook.csv")]) == 1
    assert "error: nothing to grade in" in capsys.readouterr().err
    assert not (tmp_path / "gradebook.csv").exists()
    assert main(["grade-class", str(tmp_path / "missing"), "--out", str(tmp_path / "gradebook.csv")]) == 2
