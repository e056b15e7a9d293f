"""The live drill: every solution notebook runs in LABS_MODE=live against services that are not our recordings.

The drill services (`labs.replay.standins.drill`) play OpenAI and Azure AI Agents with their own wording,
lengths, pacing, ids and tool arguments. Each notebook runs top to bottom in a real kernel with the drill's
environment, through the live code path of `labs.clients` unchanged; any cell that raises fails the test,
named by its cell id. A cell that asserts the recorded wording or counts fails here, as it would live.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbclient
import nbformat
import pytest

from labs.replay.standins.drill import DrillServices, drill_services

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"
NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def drill() -> Iterator[DrillServices]:
    with drill_services() as services:
        yield services


def run_live(notebook: nbformat.NotebookNode, drill: DrillServices) -> list[str]:
    """Run every cell in a fresh kernel with the drill's environment; one line per cell that raised."""
    with drill.applied():
        client = nbclient.NotebookClient(
            notebook, kernel_name="python3", timeout=180, allow_errors=True, resources={"metadata": {"path": str(SOLUTIONS)}}
        )
        client.execute()
    return [
        f"{cell.get('id')}: {output['ename']}: {output['evalue'][:300]}"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_solution_runs_live_against_the_drill(path: Path, drill: DrillServices) -> None:
    errors = run_live(nbformat.read(path, as_version=4), drill)
    assert not errors, "cells that raised live:\n" + "\n".join(errors)


def test_the_drill_fails_a_cell_that_asserts_the_recorded_wording(drill: DrillServices) -> None:
    notebook = nbformat.read(SOLUTIONS / "01_basic_streaming.ipynb", as_version=4)
    last = next(i for i, cell in enumerate(notebook.cells) if cell.get("id") == "l01-08")
    notebook.cells = notebook.cells[: last + 1]
    cell = notebook.cells[last]
    assert "answer.strip()" in cell.source
    recorded = json.dumps("The three-layer system")  # what the recording says, put back as the content assert it was
    cell.source = cell.source.replace("answer.strip()", f"answer.startswith({recorded})")
    errors = run_live(notebook, drill)
    assert len(errors) == 1 and errors[0].startswith("l01-08: AssertionError")
