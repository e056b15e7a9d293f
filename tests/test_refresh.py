"""The instructor's refresh loop, end to end, on a copy of the workbook with the drill services as the live service.

For one OpenAI lesson and one Azure lesson: `refresh` records the lesson against the drill, rewrites its
fixtures from the new recording, stores new outputs and regenerates the learner copy; then strict nbval of
that lesson passes on the refreshed fixtures, in the copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labs.clients import RECORDED_AZURE_MODEL
from labs.lessons.refresh import refresh, stream_text
from labs.replay import Cassette, load_cassette
from labs.replay.matching import normalise_path
from labs.replay.surfaces import surface
from labs.replay.standins.drill import drill_services

REPO = Path(__file__).resolve().parent.parent
NBVAL = ["--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "--nbval-current-env", "-p", "tests.nbval_support"]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "workbook"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints", "recorded")
    for folder in ("labs", "solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    (root / "tests").mkdir()
    for name in ("nbval_sanitize.cfg", "nbval_support.py"):
        shutil.copy(REPO / "tests" / name, root / "tests" / name)
    return root


def _streamed(cassette: Cassette) -> list[str]:
    return [event.data for interaction in cassette.interactions for event in interaction.response.events or []]


@pytest.mark.parametrize(("lesson", "fixture"), [("01", "01_basic_streaming/three_layers"), ("07", "07_azure_event_handlers/trail_guide")])
def test_refresh_rerecords_a_lesson_and_its_strict_nbval_passes(lesson: str, fixture: str, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    before = load_cassette(root / "labs" / "fixtures" / f"{fixture}.yaml")
    # Replay names the recorded deployment, so a refresh records against a deployment of that name.
    with drill_services(azure_deployment=RECORDED_AZURE_MODEL) as drill, drill.applied():
        report = refresh(lesson, root)
    assert fixture.split("/", 1)[1] in report.refreshed and not report.added, str(report)
    after = load_cassette(root / "labs" / "fixtures" / f"{fixture}.yaml")
    on = surface(after.surface)
    assert {normalise_path(i.request.path, on) for i in after.interactions} == {normalise_path(i.request.path, on) for i in before.interactions}
    assert _streamed(after) and _streamed(after) != _streamed(before)  # the drill's answers, not the old recording's
    assert "Re-recorded from the live service on" in after.comment and after.comment.startswith(before.comment)
    notebook = next((root / "solutions").glob(f"{lesson}_*.ipynb"))
    assert notebook.read_bytes() != (REPO / "solutions" / notebook.name).read_bytes()  # new outputs stored
    environment = {**os.environ, "LABS_MODE": "replay", "LABS_REPLAY_SPEED": "0", "PYTHONPATH": str(root)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NBVAL, "--nbval", str(notebook.relative_to(root))],
        cwd=root, env=environment, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    check = subprocess.run([sys.executable, "-m", "labs.workbook", "check"], cwd=root, env=environment, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_notebook_runs_in_a_kernel_over_ipc_and_is_shut_down(tmp_path: Path) -> None:
    # In a process of its own: this suite's conftest puts every kernel it starts over IPC already.
    import nbformat

    path = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nprint(os.getpid())")]), path)
    script = f"from pathlib import Path\nfrom labs.lessons.refresh import run_notebook, stream_text\nprint(stream_text(run_notebook(Path({str(path)!r}), Path.cwd(), 'replay').cells[0]))"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert "without encryption" not in run.stderr
    with pytest.raises(ProcessLookupError):  # shut down with the run, not left to notice its parent exited
        os.kill(int(run.stdout.split()[0]), 0)


def test_stream_text_joins_a_print_the_kernel_flushed_in_pieces() -> None:
    # The kernel flushes stdout on a timer (0.2 s); a pause inside one line, as a loaded machine makes between
    # print's writes, sends it as two outputs. make bench's P5 read only the first and failed in a CI run.
    import nbclient
    import nbformat

    cell = nbformat.v4.new_code_cell("import sys, time\nsys.stdout.write('12')\nsys.stderr.write('a warning')\ntime.sleep(0.6)\nprint(' 34')")
    client = nbclient.NotebookClient(nbformat.v4.new_notebook(cells=[cell]), kernel_name="python3", timeout=60)
    with client.setup_kernel():
        client.execute_cell(cell, 0)
    assert [o.text for o in cell.outputs if o.name == "stdout"] == ["12", " 34\n"], cell.outputs  # the split itself
    assert stream_text(cell) == "12 34\n" and stream_text(cell, "stderr") == "a warning"
