"""The learner's JupyterLab, in a real browser: started as `make lab` starts it, driven as a learner drives it.

JupyterLab runs on a copy of the workbook (the learner copies, the solutions, the README, the Makefile and
its JupyterLab settings, with this checkout's `.venv`), so running cells never writes into the tracked
notebooks; as for a learner, `make lab` copies the lessons into the copy's `workspace/`, and the steps run
those. The replay plays at the recorded pace, as it does for a learner. Screenshots of every step go to the
folder the test names in its output.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from labs.config import REPO_ROOT
from labs.recordings import chat_text
from lab_support import URL, copy_workbook, started_lab
from test_web_browser import CHROMIUM_FLAGS, chromium_path

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook on show (JupyterLab keeps other tabs hidden in the page)


@dataclass
class Lab:
    url: str  # the URL `make lab` printed, token included
    root: Path
    shots: Path

    def open(self, notebook: str) -> str:
        base, token = self.url.split("/lab/", 1)[0], self.url.split("?token=", 1)[1]
        # workspace/: where `make lab` has the learner work; reset: only this notebook open, no tabs of earlier tests
        return f"{base}/lab/tree/workspace/{notebook}?reset&token={token}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("workbook")
    shots = tmp_path_factory.mktemp("jupyterlab-screenshots")
    state = tmp_path_factory.mktemp("jupyterlab-state")
    copy_workbook(root)
    environment = {
        **os.environ, "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "1",
        # a fresh JupyterLab: no tabs restored from another session, none of this machine's own settings
        "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"), "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
    }
    with started_lab(root, environment, "--no-browser --allow-root --ServerApp.port=0") as running:
        assert re.match(r"http://127\.0\.0\.1:\d+/lab/", running.url), running.url  # no base URL: JupyterLab as make lab starts it
        print(f"\nJupyterLab screenshots: {shots}")
        yield Lab(running.url, root, shots)
    log = running.log
    assert "Kernel started" in log  # the tests above did run kernels: what follows is about their start-up
    assert "Skipped non-installed server" not in log and "jupyter_lsp" not in log
    assert "without encryption" not in log  # kernels talk over IPC: no TCP warning per kernel
    assert len(URL.findall(log)) <= 2, "the URL is printed once in the log and once in the banner"


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"), executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            context.close()


def _open_notebook(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(f"{PANEL} .jp-Cell")
    page.wait_for_selector(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']")  # the kernel is up


PROMPT = """([panel, index, pattern]) => new RegExp(pattern).test(document.querySelector(
    `${panel} .jp-Cell[data-windowed-list-index="${index}"] .jp-InputPrompt`).textContent)"""


def _cell_state(page: Any) -> str:
    """What the notebook on show looks like, for a failure message: kernel status, open dialogs, each cell's prompt."""
    return page.evaluate(
        """(panel) => JSON.stringify({
            kernel: (document.querySelector(`${panel} .jp-Notebook-ExecutionIndicator`) || {dataset: {}}).dataset.status,
            focused: document.activeElement && document.activeElement.className,
            dialogs: [...document.querySelectorAll('.jp-Dialog')].map(d => d.textContent.slice(0, 200)),
            cells: [...document.querySelectorAll(`${panel} .jp-Cell`)].map(c => [c.dataset.windowedListIndex,
                (c.querySelector('.jp-InputPrompt') || {}).textContent, c.classList.contains('jp-mod-active')]),
        })""",
        PANEL,
    )


def _run_cells(page: Any, count: int) -> None:
    """Shift+Enter `count` times from the active cell, each time waiting until a code cell has run (its [n] prompt).

    A cell must be queued ([*]) or done within 15 s of the key press. If it is neither and no dialog is open, the key
    press did not reach the notebook (headless Chromium on a loaded machine can drop focus): the cell is selected by a
    click in its margin, as a learner would, and Shift+Enter pressed once more. Any other stall fails with the state
    of every cell and a screenshot.
    """
    for _ in range(count):
        cell = page.locator(f"{PANEL} .jp-Cell.jp-mod-active")
        index, classes = cell.get_attribute("data-windowed-list-index"), cell.get_attribute("class") or ""
        page.keyboard.press("Shift+Enter")
        if "jp-CodeCell" not in classes:
            continue
        try:
            page.wait_for_function(PROMPT, arg=[PANEL, index, r"\[(\*|\d+)\]"], timeout=15_000)
        except PlaywrightTimeout:
            if page.locator(".jp-Dialog").count():
                pytest.fail(f"a dialog stopped cell {index} from running: {_cell_state(page)}")
            print(f"cell {index}: Shift+Enter did not reach the notebook; pressed again: {_cell_state(page)}")
            _select(page, int(index))
            page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(PROMPT, arg=[PANEL, index, r"\[\d+\]"], timeout=120_000)
        except PlaywrightTimeout:
            shot = Path(os.environ.get("TMPDIR", "/tmp")) / f"jupyterlab-cell-{index}-did-not-run.png"
            page.screenshot(path=shot)
            pytest.fail(f"cell {index} did not finish within 120 s (screenshot {shot}): {_cell_state(page)}")


def _cell(index: int) -> str:
    return f"{PANEL} .jp-Cell[data-windowed-list-index='{index}']"


def _select(page: Any, index: int) -> None:
    """Select the cell at `index` as a learner does, by a click in its margin."""
    page.locator(_cell(index)).scroll_into_view_if_needed()
    page.locator(f"{_cell(index)} .jp-InputPrompt").click()
    page.wait_for_selector(f"{_cell(index)}.jp-mod-active")


def _run_cell(page: Any, index: int) -> None:
    """Select the cell at `index` by a click in its margin, then Shift+Enter it and wait until it ran."""
    _select(page, index)
    _run_cells(page, 1)


def _cell_index(notebook: str, cell_id: str) -> int:
    cells = json.loads((REPO_ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]
    return next(i for i, cell in enumerate(cells) if cell["id"] == cell_id)


def test_make_lab_opens_lesson_00_and_shows_the_whole_workbook(lab: Lab, page: Any) -> None:
    assert "/lab/tree/workspace/00_setup_and_replay.ipynb?" in lab.url  # the learner's own copy, in workspace/
    _open_notebook(page, lab.url)
    assert page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").text_content().startswith("00_setup")
    page.screenshot(path=lab.shots / "01-lesson-00.png")
    assert page.locator(".jp-Notification-Toast, .jp-toast-message").count() == 0  # no "get notified about news?" pop-up
    page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").click()
    page.wait_for_selector(".jp-FileBrowser .jp-DirListing-item[title^='Name: README.md']", state="attached")
    names = set(page.locator(".jp-FileBrowser .jp-DirListing-itemName").all_text_contents())
    page.screenshot(path=lab.shots / "02-file-browser.png")
    assert {"workspace", "notebooks", "solutions", "README.md", ".env.example"} <= names
    assert not names & {".venv", ".git", "__pycache__", "mutants"}


def test_the_typing_effect_shows_at_reading_pace(lab: Lab, page: Any) -> None:
    notebook = "01_basic_streaming.ipynb"
    typing = _cell_index(notebook, "l01-08")
    _open_notebook(page, lab.open(notebook))
    page.locator(f"{PANEL} .jp-Cell").first.click()
    _run_cells(page, typing)  # everything above the typing cell, the first request included
    page.wait_for_timeout(8_000)  # a learner reads the markdown before running the next cell
    page.evaluate(
        """([panel, index]) => {
            window.renders = [];
            const cell = document.querySelector(`${panel} .jp-Cell[data-windowed-list-index="${index}"]`);
            new MutationObserver(() => {
                const length = (cell.querySelector('.jp-OutputArea') || {textContent: ''}).textContent.length;
                const last = window.renders[window.renders.length - 1];
                if (!last || last[1] !== length) window.renders.push([performance.now(), length]);
            }).observe(cell, {subtree: true, childList: true, characterData: true});
        }""",
        [PANEL, typing],
    )
    _run_cells(page, 1)
    renders = page.evaluate("window.renders")
    page.screenshot(path=lab.shots / "03-typing-effect.png")
    growing = [(at, length) for at, length in renders if length > 0]
    assert len(growing) >= 10, f"the answer appeared in {len(growing)} renders: {renders}"
    assert growing[-1][0] - growing[0][0] >= 1000, f"the answer appeared within {growing[-1][0] - growing[0][0]:.0f} ms"


def test_an_untouched_exercise_reports_not_done(lab: Lab, page: Any) -> None:
    notebook = "01_basic_streaming.ipynb"
    check = _cell_index(notebook, "l01-16")
    _open_notebook(page, lab.open(notebook))
    page.locator(f"{PANEL} .jp-Cell").first.click()
    _run_cells(page, check + 1)
    shown = page.locator(f"{PANEL} .jp-Cell[data-windowed-list-index='{check}'] .jp-OutputArea").text_content()
    page.screenshot(path=lab.shots / "04-exercise-not-done.png")
    assert "⏳ Exercise 1.1 not done yet" in shown


def test_stop_keeps_the_partial_text_when_pressed_by_hand(lab: Lab, page: Any) -> None:
    notebook = "16_latency_and_stop.ipynb"
    widget, starting, collecting = (_cell_index(notebook, cell_id) for cell_id in ("l16-18", "l16-21", "l16-22"))
    _open_notebook(page, lab.open(notebook))
    for cell_id in ("l16-02", "l16-04", "l16-18", "l16-19"):  # the imports, the client, the button, the reader
        _run_cell(page, _cell_index(notebook, cell_id))
    # As the notebook says: set PRESS_STOP_AFTER = None and run the two cells again.
    page.locator(f"{_cell(starting)} .cm-content").click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("Shift+End")
    page.keyboard.type("PRESS_STOP_AFTER = None")
    _run_cells(page, 1)
    page.keyboard.press("Shift+Enter")  # the collecting cell: it runs until the reader is done
    text = page.locator(f"{_cell(widget)} .widget-html-content")
    page.wait_for_function("element => element.textContent.trim().length >= 40", arg=text.element_handle())  # a line or so
    button = page.locator(f"{_cell(widget)} button.jupyter-button")
    button.click()  # a reader's click, mid-answer
    page.wait_for_selector(f"{_cell(collecting)} .jp-OutputArea-output:has-text('HTTP response closed')")
    page.locator(_cell(widget)).evaluate("cell => cell.scrollIntoView({block: 'start'})")  # the button, the text, the print
    page.screenshot(path=lab.shots / "05-stop-keeps-the-partial-text.png")
    printed = page.locator(f"{_cell(collecting)} .jp-OutputArea").text_content()
    shown, whole = text.text_content().strip(), chat_text("16_latency_and_stop/stopped_by_reader").strip()
    assert "Stopped: kept" in printed and "HTTP response closed: True" in printed and "Error" not in printed, printed
    assert button.text_content().strip() == "Stopped" and button.is_disabled()
    assert 0 < len(shown) < len(whole) and whole.startswith(shown), shown
