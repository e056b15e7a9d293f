"""The Vietnamese edition: generated from the English solutions and translation files, kept in sync, spoken by the checks.

The sync tests work on a copy of lesson 01 (its solution and its translation file) in tmp_path; the learner's path
runs the Vietnamese copy's own cells in a kernel, and grades it in a process of its own, as `make grade LANG=vi` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbclient
import nbformat
import pytest
import yaml

from labs.checks import CheckResult, evaluate
from labs.config import REPO_ROOT, environment
from labs.i18n import load_translation
from labs.workbook import build, check, main, translated_copy, translation_problems, write_translation

LESSONS = ("00_setup_and_replay", "01_basic_streaming")
SOLUTIONS, NOTEBOOKS, TRANSLATIONS = REPO_ROOT / "solutions", REPO_ROOT / "notebooks", REPO_ROOT / "translations"
INLINE_CODE = re.compile(r"`[^`\n]+`")


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """Lesson 01's solution and translation, with both learner copies built from them."""
    (tmp_path / "solutions").mkdir()
    (tmp_path / "translations" / "vi").mkdir(parents=True)
    shutil.copy2(SOLUTIONS / "01_basic_streaming.ipynb", tmp_path / "solutions")
    shutil.copy2(TRANSLATIONS / "vi" / "01_basic_streaming.yaml", tmp_path / "translations" / "vi")
    build(tmp_path / "solutions", tmp_path / "notebooks", tmp_path / "translations")
    return tmp_path


def problems(root: Path) -> list[str]:
    return check(root / "solutions", root / "notebooks", root / "translations")


def edit_solution(root: Path, cell_id: str, edit: str) -> None:
    path = root / "solutions" / "01_basic_streaming.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = next(cell for cell in notebook.cells if cell.get("id") == cell_id)
    cell.source = cell.source.replace("flush=True", edit, 1)
    nbformat.write(notebook, path)


def edit_translation(root: Path, change: Callable[[dict], None]) -> None:
    path = root / "translations" / "vi" / "01_basic_streaming.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def vietnamese(root: Path) -> nbformat.NotebookNode:
    return nbformat.read(root / "notebooks" / "vi" / "01_basic_streaming.ipynb", as_version=4)


# Kept in sync


def test_the_copy_is_current_and_check_names_the_one_cell_whose_english_changed(workbook: Path) -> None:
    assert problems(workbook) == []
    edit_solution(workbook, "l01-09", "flush=True (always)")
    build(workbook / "solutions", workbook / "notebooks", workbook / "translations")
    found = problems(workbook)
    assert len(found) == 1 and "cell l01-09" in found[0] and "English changed" in found[0], found
    assert "01_basic_streaming" in found[0] and "--accept l01-09" in found[0]
    stale = next(cell for cell in vietnamese(workbook).cells if cell.id == "l01-09")
    assert "flush=True (always)" in stale.source  # the learner reads the current English, not a stale translation
    assert main(["translation", "01", "--solutions", str(workbook / "solutions"), "--accept", "l01-09"]) == 0
    build(workbook / "solutions", workbook / "notebooks", workbook / "translations")
    assert problems(workbook) == []


def test_check_names_every_cell_whose_translation_is_missing(workbook: Path) -> None:
    def blank(data: dict) -> None:
        data["cells"]["l01-03"]["vi"] = ""
        del data["cells"]["l01-13a"]

    edit_translation(workbook, blank)
    build(workbook / "solutions", workbook / "notebooks", workbook / "translations")
    found = [problem for problem in problems(workbook) if "no vi translation yet" in problem]
    assert [re.search(r"cell (l01-\w+)", problem)[1] for problem in found] == ["l01-03", "l01-13a"], found
    assert all("01_basic_streaming" in problem for problem in found)


def test_check_names_an_exercise_text_whose_english_changed(workbook: Path) -> None:
    def reword(data: dict) -> None:
        data["exercises"]["1.1"][1]["en"] = "a plain stream of text"

    edit_translation(workbook, reword)
    found = problems(workbook)
    assert any("exercise 1.1: no vi translation of 'a plain text stream'" in problem for problem in found), found
    assert any("'a plain stream of text' is no longer one of the exercise's texts" in problem for problem in found), found


def test_a_lesson_without_a_translation_file_is_an_error_naming_it(workbook: Path) -> None:
    shutil.copy2(SOLUTIONS / "00_setup_and_replay.ipynb", workbook / "solutions")
    build(workbook / "solutions", workbook / "notebooks", workbook / "translations")
    found, untranslated = translation_problems(workbook / "solutions", workbook / "translations")
    assert untranslated == ["vi/00_setup_and_replay"]
    missing = f"{workbook / 'translations' / 'vi' / '00_setup_and_replay.yaml'} is missing: every lesson has a vi edition; "
    assert [problem for problem in problems(workbook) if "00_setup_and_replay" in problem] == found == [
        missing + "`python -m labs.workbook translation 00` writes its skeleton"
    ]
    assert not (workbook / "notebooks" / "vi" / "00_setup_and_replay.ipynb").exists()
    shutil.copy2(TRANSLATIONS / "vi" / "00_setup_and_replay.yaml", workbook / "translations" / "vi")
    build(workbook / "solutions", workbook / "notebooks", workbook / "translations")
    assert problems(workbook) == [] and (workbook / "notebooks" / "vi" / "00_setup_and_replay.ipynb").exists()


def test_build_keeps_notebooks_vi_and_deletes_only_copies_nothing_generates(workbook: Path) -> None:
    english, stray = workbook / "notebooks" / "01_basic_streaming.ipynb", workbook / "notebooks" / "vi" / "98_old.ipynb"
    stray.write_text("{}")
    written = build(workbook / "solutions", workbook / "notebooks", workbook / "translations")
    assert written == [stray] and not stray.exists()
    assert english.exists() and (workbook / "notebooks" / "vi" / "01_basic_streaming.ipynb").exists()


def test_the_skeleton_holds_every_markdown_cell_its_english_and_fingerprint(tmp_path: Path) -> None:
    file, changes = write_translation(SOLUTIONS / "01_basic_streaming.ipynb", "vi", tmp_path)
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    solution = nbformat.read(SOLUTIONS / "01_basic_streaming.ipynb", as_version=4)
    markdown = {cell.id: cell.source for cell in solution.cells if cell.cell_type == "markdown"}
    assert list(data["cells"]) == list(markdown) and len(changes) >= len(markdown)
    for cell_id, entry in data["cells"].items():
        assert entry == {"fingerprint": hashlib.sha256(markdown[cell_id].encode()).hexdigest()[:12], "en": markdown[cell_id], "vi": ""}
    texts = {pair["en"] for pair in data["exercises"]["1.1"]}
    assert {"a plain text stream", "a stream ending in a usage chunk (choices == [])"} <= texts
    assert all(pair["vi"] == "" for pairs in data["exercises"].values() for pair in pairs)
    data["cells"]["l01-03"]["vi"] = "## Một stream là một iterator của các chunk"
    file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _, again = write_translation(SOLUTIONS / "01_basic_streaming.ipynb", "vi", tmp_path)
    assert again == [] and yaml.safe_load(file.read_text(encoding="utf-8"))["cells"]["l01-03"]["vi"].startswith("## Một stream")


# The Vietnamese copies in the workbook


@pytest.mark.parametrize("lesson", LESSONS)
def test_the_vietnamese_copy_has_the_english_copys_cells_ids_and_code(lesson: str) -> None:
    english = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4).cells
    translated = nbformat.read(NOTEBOOKS / "vi" / f"{lesson}.ipynb", as_version=4).cells
    assert [(c.id, c.cell_type) for c in translated] == [(c.id, c.cell_type) for c in english]
    code = [(e.source, v.source) for e, v in zip(english, translated) if e.cell_type == "code"]
    assert code[0][1] == "%env LABS_LANG=vi\n" + code[0][0] and all(e == v for e, v in code[1:])
    for e, v in zip(english, translated):
        if e.cell_type == "markdown":
            assert e.source != v.source, f"{e.id} is not translated"
            assert set(INLINE_CODE.findall(e.source)) <= set(INLINE_CODE.findall(v.source)), f"{e.id} lost inline code"
            assert e.source.count("```") == v.source.count("```") and e.source.count("\n#") == v.source.count("\n#"), e.id


def test_every_lesson_is_fully_translated() -> None:
    found, untranslated = translation_problems(SOLUTIONS, TRANSLATIONS)
    assert found == [] and untranslated == []
    assert len(list((TRANSLATIONS / "vi").glob("[0-9][0-9]_*.yaml"))) == len(list(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))) >= 17


# The learner's path in Vietnamese


def stub(stream: object) -> str:
    raise NotImplementedError("Exercise 1.1: complete stub. Hint: the reader sees every piece of text as it arrives, on any stream; "
                              'labs.hint("1.1") says more')


def no_print(stream: object) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


@pytest.mark.parametrize("value", [None, "", "en", "fr"])
def test_without_labs_lang_vi_every_check_line_stays_english(value: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABS_LANG", raising=False)
    if value is not None:
        monkeypatch.setenv("LABS_LANG", value)
    assert str(evaluate("1.1", stub)) == (
        '⏳ Exercise 1.1 not done yet: complete stub. Hint: the reader sees every piece of text as it arrives, on any stream; '
        'labs.hint("1.1") says more'
    )
    assert str(evaluate("1.1", no_print)).splitlines()[0] == (
        "❌ Exercise 1.1 — a plain text stream: expected ('The three-layer system keeps you dry ... you climb, rest or the weather "
        "turns.', 'The three-layer system keeps you dry ... you climb, rest or the weather turns.'), got ('', 'The three-layer system "
        "keeps you dry ... you climb, rest or the weather turns.'). Hint: nothing was printed: print each piece as it arrives, so the "
        "reader sees the answer being written"
    )


def test_labs_lang_vi_puts_the_check_lines_hints_and_workbook_errors_in_vietnamese(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import labs
    from labs.errors import _show

    monkeypatch.setenv("LABS_LANG", "vi")
    monkeypatch.setenv("LABS_MODE", "replay")
    assert str(evaluate("1.1", stub)).startswith("⏳ Bài tập 1.1 chưa làm xong: hãy viết tiếp stub. Gợi ý: người đọc thấy từng mảnh text")
    failed = str(evaluate("1.1", no_print)).splitlines()
    assert failed[0].startswith("❌ Bài tập 1.1 — một stream chỉ có text: cần (")
    assert failed[0].endswith("Gợi ý: không có gì được in ra: hãy in từng mảnh ngay khi nó tới, để người đọc thấy câu trả lời đang được viết")
    labs.hint("1.2")
    assert capsys.readouterr().out.startswith("💡 Bài tập 1.2: giữ một string `pending`")
    with environment({"LABS_MODE": "live"}, unset=("OPENAI_API_KEY", "GITHUB_TOKEN")):
        with pytest.raises(labs.MissingCredentialError, match=r"^LABS_MODE=live cần OPENAI_API_KEY \(OpenAI key của bạn") as raised:
            labs.openai_client()
    assert "hoặc, để làm việc offline," in str(raised.value)

    class Shell:
        def _showtraceback(self, etype: type, value: BaseException, lines: list[str]) -> None:
            self.lines = lines

    miss = labs.openai_client()
    with pytest.raises(Exception) as error:
        miss.chat.completions.create(model=labs.model(), messages=[{"role": "user", "content": "nothing recorded asks this"}])
    shell = Shell()
    _show(shell, type(error.value), error.value, None)
    assert shell.lines[0] == "NotFoundError: replay server không có bản ghi (recording) nào cho request này."
    assert any("Closest recording" in line for line in shell.lines[1:])  # the miss's details stay the server's English


def vietnamese_copy(lesson: str) -> nbformat.NotebookNode:
    """The Vietnamese learner copy as `build` makes it (`make check` keeps notebooks/vi/ equal to it)."""
    solution = nbformat.read(SOLUTIONS / f"{lesson}.ipynb", as_version=4)
    return translated_copy(solution, load_translation(TRANSLATIONS / "vi" / f"{lesson}.yaml"))


def answered(lesson: str, cell_ids: tuple[str, ...]) -> nbformat.NotebookNode:
    """The Vietnamese learner copy with the solution's code pasted into the given exercise cells."""
    solution = {cell.id: cell.source for cell in nbformat.read(SOLUTIONS / f"{lesson}.ipynb", as_version=4).cells}
    notebook = vietnamese_copy(lesson)
    for cell in notebook.cells:
        if cell.id in cell_ids:
            assert "NotImplementedError" in cell.source
            cell.source = "\n".join(line for line in solution[cell.id].split("\n") if "SOLUTION" not in line)
    return notebook


def test_a_pasted_answer_passes_with_vietnamese_lines_in_the_copys_own_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = answered("01_basic_streaming", ("l01-15",))
    keep = {"l01-02", "l01-15", "l01-16", "l01-16b", "l01-16c"}  # set-up, the two exercises and their checks
    notebook.cells = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.id in keep]
    monkeypatch.setenv("LABS_MODE", "replay")
    monkeypatch.setenv("LABS_REPLAY_SPEED", "0")
    monkeypatch.delenv("LABS_LANG", raising=False)  # the notebook sets it itself
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = {cell.id: "".join(output.get("text", "") for output in cell.outputs) for cell in notebook.cells}
    assert printed["l01-02"].startswith("env: LABS_LANG=vi")
    assert printed["l01-16"].splitlines() == [
        "✅ Bài tập 1.1 — một stream chỉ có text",
        "✅ Bài tập 1.1 — một stream kết thúc bằng usage chunk (choices == [])",
        "✅ Bài tập 1.1 — một stream có các delta không mang text (content None)",
    ]
    assert printed["l01-16c"].startswith("⏳ Bài tập 1.2 chưa làm xong: hãy viết tiếp print_whole_words. Gợi ý: đừng bao giờ hiện nửa từ")


def test_make_grade_lang_vi_grades_the_copies_not_done_untouched_and_passed_answered(tmp_path: Path) -> None:
    untouched, solved = tmp_path / "untouched", tmp_path / "solved"
    for folder in (untouched, solved):
        folder.mkdir()
        nbformat.write(vietnamese_copy("00_setup_and_replay"), folder / "00_setup_and_replay.ipynb")
    nbformat.write(vietnamese_copy("01_basic_streaming"), untouched / "01_basic_streaming.ipynb")
    nbformat.write(answered("01_basic_streaming", ("l01-15", "l01-16b")), solved / "01_basic_streaming.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "labs.workbook", "grade", "--json", str(untouched), str(solved)],
        cwd=REPO_ROOT, env={**os.environ, "LABS_LANG": "vi", "LABS_MODE": "replay"}, capture_output=True, text=True, timeout=240,
    )
    rows = {(Path(row["notebook"]).parent.name, row["exercise"]): row for row in json.loads(done.stdout)}
    assert set(rows) == {(folder, exercise) for folder in ("untouched", "solved") for exercise in ("1.1", "1.2")}, done.stderr
    assert [rows["untouched", e]["status"] for e in ("1.1", "1.2")] == ["not_done", "not_done"]
    assert rows["untouched", "1.1"]["hint"].startswith("hãy viết tiếp collect_stream. Gợi ý: người đọc thấy từng mảnh text")
    assert [rows["solved", e]["status"] for e in ("1.1", "1.2")] == ["passed", "passed"]
    assert done.returncode == 1  # the untouched copy's exercises are not passed


def test_a_check_result_is_the_same_verdict_in_either_language(monkeypatch: pytest.MonkeyPatch) -> None:
    results: list[CheckResult] = []
    for value in ("en", "vi"):
        monkeypatch.setenv("LABS_LANG", value)
        results.append(evaluate("1.1", no_print))
    english, translated = results
    assert english.status == translated.status == "failed"
    assert [case.passed for case in english.cases] == [case.passed for case in translated.cases]
    assert [case.name for case in english.cases] != [case.name for case in translated.cases]


def test_the_vietnamese_readme_names_cells_that_exist() -> None:
    from tests.test_readme import missing_cells

    text = (REPO_ROOT / "README.vi.md").read_text(encoding="utf-8")
    assert "make lab LANG=vi" in text and missing_cells(text) == []
