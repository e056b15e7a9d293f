"""The nbval plugin's set-up holds where the suite runs it: kernels over IPC, and the failed-cell summary under xdist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

from labs.config import REPO_ROOT
from labs.lessons.refresh import stream_text


def test_a_kernel_a_test_starts_talks_over_ipc_and_logs_no_tcp_warning(capfd: pytest.CaptureFixture[str]) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('up')")])
    client = nbclient.NotebookClient(notebook, kernel_name="python3", timeout=60)
    with client.setup_kernel():
        client.execute_cell(notebook.cells[0], 0)
        transport = client.km.transport
    assert stream_text(notebook.cells[0]) == "up\n" and transport == "ipc"
    assert "without encryption" not in capfd.readouterr().err  # the kernel's stderr is this process's


def test_under_xdist_a_failed_cell_is_summarised_by_its_id(tmp_path: Path) -> None:
    cells = [nbformat.v4.new_markdown_cell("# A broken notebook", id="t-01"), nbformat.v4.new_code_cell("raise ValueError('the broken cell')", id="t-02")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "a.ipynb")
    # One worker is enough: the cell fails in the worker, the summary is printed by the controller.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "1", "--dist", "loadfile", "-c", "pyproject.toml"]
    command += ["-p", "tests.nbval_support", "--nbval-lax", str(tmp_path)]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 1, result.stdout[-2000:]
    summary = result.stdout.split("failed notebook cells, by cell id", 1)[-1]
    assert "a.ipynb cell t-02 (Cell 0): ValueError: the broken cell" in summary, result.stdout[-2000:]
