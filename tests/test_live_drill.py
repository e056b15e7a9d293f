"""The live drill: every solution notebook runs in LABS_MODE=live against services that are not our recordings.

The drill services (`labs.replay.standins.drill`) play OpenAI and Azure AI Agents with their own wording,
lengths, pacing, ids and tool arguments. Each notebook runs top to bottom in a real kernel with the drill's
environment, through the live code path of `labs.clients` unchanged; any cell that raises fails the test,
named by its cell id. A cell that asserts the recorded wording or counts fails here, as it would live.

The drill streams in real time, so a kernel spends most of a run waiting for its next token. The notebooks
therefore run `AT_ONCE` at a time, each in its own kernel, from the moment the module starts; each test waits
for its own notebook's result.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import nbclient
import nbformat
import pytest

from labs.replay.standins.drill import DrillServices, drill_services

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
AT_ONCE = 3


# Run first in every kernel: the kernel really is live, against the drill (an environment that did not reach it fails).
GUARD = "import os\nassert os.environ['LABS_MODE'] == 'live' and os.environ['OPENAI_BASE_URL'] == {base_url!r}"


@pytest.fixture(scope="module")
def drill() -> Iterator[DrillServices]:
    with drill_services() as services:
        yield services


def kernel_environment(drill: DrillServices) -> dict[str, str]:
    """This process's environment with the drill's in place of anything that would send a client elsewhere."""
    # Not os.environ as it is during a test: conftest sets replay there, and the kernels outlive one test.
    environment = {name: value for name, value in os.environ.items() if name not in drill.cleared}
    return {**environment, **drill.environment}


async def run_live(notebook: nbformat.NotebookNode, environment: dict[str, str]) -> list[str]:
    """Run every cell in a fresh kernel with `environment`; one line per cell that raised."""
    guard = nbformat.v4.new_code_cell(GUARD.format(base_url=environment["OPENAI_BASE_URL"]), id="drill-guard")
    notebook.cells.insert(0, guard)
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=180, allow_errors=True, resources={"metadata": {"path": str(SOLUTIONS)}}
    )
    await client.async_execute(env=environment)
    return [
        f"{cell.get('id')}: {output['ename']}: {output['evalue'][:300]}"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    ]


def run_in_background(
    notebooks: list[nbformat.NotebookNode], environment: dict[str, str], at_once: int
) -> list[Future[list[str]]]:
    """Start running the notebooks, `at_once` at a time, on an event loop of their own; one future each."""
    futures: list[Future[list[str]]] = [Future() for _ in notebooks]

    async def one(notebook: nbformat.NotebookNode, future: Future[list[str]], gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                future.set_result(await run_live(notebook, environment))
            except BaseException as error:  # noqa: BLE001 - handed to the test that waits for this notebook
                future.set_exception(error)

    async def every() -> None:
        gate = asyncio.Semaphore(at_once)
        await asyncio.gather(*(one(notebook, future, gate) for notebook, future in zip(notebooks, futures)))

    threading.Thread(target=asyncio.run, args=(every(),), name="live-drill", daemon=True).start()
    return futures


@pytest.fixture(scope="module")
def runs(drill: DrillServices, request: pytest.FixtureRequest) -> dict[Path, Future[list[str]]]:
    """The selected notebooks' runs, started together (`-k 05_` runs lesson 05 alone)."""
    selected = {item.callspec.params.get("path") for item in request.session.items if hasattr(item, "callspec")}
    chosen = [path for path in NOTEBOOKS if path in selected]
    notebooks = [nbformat.read(path, as_version=4) for path in chosen]
    return dict(zip(chosen, run_in_background(notebooks, kernel_environment(drill), AT_ONCE)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_solution_runs_live_against_the_drill(path: Path, runs: dict[Path, Future[list[str]]]) -> None:
    errors = runs[path].result(timeout=600)
    assert not errors, "cells that raised live:\n" + "\n".join(errors)


def test_the_drill_fails_a_cell_that_asserts_the_recorded_wording(drill: DrillServices) -> None:
    notebook = nbformat.read(SOLUTIONS / "01_basic_streaming.ipynb", as_version=4)
    last = next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == "l01-08")
    notebook.cells = notebook.cells[: last + 1]
    cell = notebook.cells[last]
    assert "answer.strip()" in cell.source
    recorded = json.dumps("The three-layer system")  # what the recording says, put back as the content assert it was
    cell.source = cell.source.replace("answer.strip()", f"answer.startswith({recorded})")
    (errors,) = run_in_background([notebook], kernel_environment(drill), 1)
    errors = errors.result(timeout=300)
    assert len(errors) == 1 and errors[0].startswith("l01-08: AssertionError")


def test_a_kernel_without_the_drills_environment_fails_the_guard(drill: DrillServices) -> None:
    notebook = nbformat.v4.new_notebook()
    replay = {**kernel_environment(drill), "LABS_MODE": "replay"}  # as conftest has it during a test
    (errors,) = run_in_background([notebook], replay, 1)
    assert [line.split(":")[:2] for line in errors.result(timeout=120)] == [["drill-guard", " AssertionError"]]
