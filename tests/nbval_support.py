"""A pytest plugin that makes nbval 0.11 honour `update_display_data` and `clear_output` as Jupyter does.

nbval collects each cell's iopub messages itself. It merges split stream messages (all `stdout`
text of a cell becomes one string, `\\r` and `\\b` applied, on both sides), so printing a stream
token by token needs nothing. But it ignores `update_display_data` and `clear_output`, while the
stored outputs it compares with (saved by Jupyter or nbclient) hold an updated display's final
content and only what came after the last clear. A demo that redraws one display as text streams
in, `handle = display(..., display_id=True)` then `handle.update(...)`, or a `clear_output(wait=True)`
loop, would fail strict `--nbval` on every run. This plugin replays those two messages onto the
outputs nbval is collecting, within the cell that sent them; a display updated from a later cell
is not followed (nbval has already compared the earlier cell), so update a display in its own cell.
What no plugin can fix: output written by a background thread after its cell has finished (a server's
access log, say) lands in whichever cell is running then, or nowhere; keep such threads silent.

It also ends a failing run with a short summary, one line per failed cell: the notebook, the cell's id
(what an author searches for, unlike nbval's "Cell 12", which counts code cells only), and the first line
of the error; for a replay miss, the miss message itself, which says which fixture and field differ and
how to re-author the lesson's fixtures. Under pytest-xdist (`-n 4 --dist loadfile`: each notebook in one
worker, with its own kernel) the line is made in the worker and carried to the summary in the report.

And it starts every kernel over IPC (`kernels_over_ipc`), as JupyterLab's own settings do (`jupyter-config/`):
over TCP, each kernel logs "Kernel is running over TCP without encryption" into the test output.

Load it from the repository root with `python -m pytest -p tests.nbval_support ...`.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import tempfile
from collections.abc import Generator
from typing import Any

import pytest
from jupyter_client.manager import KernelManager
from nbval.kernel import RunningKernel
from nbval.plugin import IPyNbCell, IPyNbFile

_OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "error"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Miss|Failed|Interrupt|Exit)\b:?.*")
_MISS = "No recorded response for"
_failures: list[str] = []
_FAILED_CELL = "labs_failed_cell"  # the report's user property that carries a failed cell's summary line


class _CellState:
    """What this plugin knows about the cell nbval is running: its outputs, displays and pending clear."""

    def __init__(self, cell: IPyNbCell) -> None:
        self.cell = cell
        self.displays: dict[str, list[int]] = {}
        self.clear_pending = False


_states: dict[int, _CellState] = {}
_original_get_kernel_message = IPyNbFile.get_kernel_message
_original_execute_cell_input = RunningKernel.execute_cell_input


def _execute_cell_input(self: RunningKernel, cell_input: str, allow_stdin: bool | None = None) -> str:
    message_id: str = _original_execute_cell_input(self, cell_input, allow_stdin=allow_stdin)
    self._labs_message_id = message_id  # type: ignore[attr-defined]
    return message_id


def _get_kernel_message(self: IPyNbFile, timeout: float | None = None, stream: str = "iopub") -> dict[str, Any]:
    message: dict[str, Any] = _original_get_kernel_message(self, timeout=timeout, stream=stream)
    state = _states.get(id(self))
    current = getattr(self.kernel, "_labs_message_id", None)
    if stream == "iopub" and state is not None and message["parent_header"].get("msg_id") == current:
        _apply(state, message)
    return message


def _apply(state: _CellState, message: dict[str, Any]) -> None:
    """Bring the cell's collected outputs to what Jupyter would show before nbval appends `message`."""
    outputs = state.cell.test_outputs
    if outputs is None:
        return
    kind, content = message["msg_type"], message["content"]
    if kind == "clear_output":
        state.clear_pending = bool(content.get("wait"))
        if not state.clear_pending:
            outputs.clear()
            state.displays.clear()
        return
    if kind in _OUTPUT_MESSAGES and state.clear_pending:
        outputs.clear()
        state.displays.clear()
        state.clear_pending = False
    display_id = content.get("transient", {}).get("display_id")
    if not display_id:
        return
    if kind == "update_display_data":
        for index in state.displays.get(display_id, []):
            outputs[index]["data"] = content["data"]
            outputs[index]["metadata"] = content["metadata"]
    elif kind in ("display_data", "execute_result"):
        state.displays.setdefault(display_id, []).append(len(outputs))


def kernels_over_ipc() -> None:
    """Every kernel this process starts talks over Unix sockets in the temp folder instead of TCP (once per process).

    The socket path is absolute: a kernel runs in its notebook's folder, its client in the repository.
    """
    original = KernelManager.__init__
    if sys.platform == "win32" or getattr(original, "labs_over_ipc", False):
        return
    numbers = itertools.count()

    def __init__(self: KernelManager, *args: Any, **kwargs: Any) -> None:
        if "transport" not in kwargs:
            kwargs["transport"] = "ipc"
            kwargs.setdefault("ip", os.path.join(tempfile.gettempdir(), f"labs-kernel-{os.getpid()}-{next(numbers)}"))
        original(self, *args, **kwargs)

    __init__.labs_over_ipc = True  # type: ignore[attr-defined]
    KernelManager.__init__ = __init__  # type: ignore[method-assign]


# `make bench` (labs.bench, P1) sets this to a file: each notebook's kernel appends, before it stops, one JSON line
# naming the notebook and every module it had loaded by then (its own imports and those its calls made).
MODULES_LOG_ENV = "LABS_MODULES_LOG"  # labs.bench.MODULES_LOG_ENV (not imported: it would load the replay server here)
_original_teardown = IPyNbFile.teardown


def _teardown(self: IPyNbFile) -> None:
    log = os.environ.get(MODULES_LOG_ENV)
    if log and self.kernel is not None and self.kernel.is_alive():
        code = (
            "import json as _labs_json, sys as _labs_sys\n"
            f"with open({log!r}, 'a', encoding='utf-8') as _labs_log:\n"
            f"    _labs_log.write(_labs_json.dumps({{'notebook': {str(self.fspath)!r}, 'modules': sorted(_labs_sys.modules)}}) + '\\n')"
        )
        self.kernel.await_idle(self.kernel.execute_cell_input(code, allow_stdin=False), 60)
    _original_teardown(self)


def pytest_configure(config: pytest.Config) -> None:
    kernels_over_ipc()
    if config.option.nbval or config.option.nbval_lax:
        IPyNbFile.get_kernel_message = _get_kernel_message  # type: ignore[method-assign]
        RunningKernel.execute_cell_input = _execute_cell_input  # type: ignore[method-assign]
        IPyNbFile.teardown = _teardown  # type: ignore[method-assign]


# The notebooks that hold a browser or deliberate recorded pace longest start first, so that the workers of
# `make test-notebooks` (--dist loadfile: a notebook stays whole on one worker) finish together.
LONG_FIRST = ("12_", "04_", "05_", "08_", "07_", "01_")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not (config.option.nbval or config.option.nbval_lax):
        return

    def rank(item: pytest.Item) -> int:
        return next((place for place, prefix in enumerate(LONG_FIRST) if item.path.name.startswith(prefix)), len(LONG_FIRST))

    items.sort(key=rank)  # stable: a notebook's cells keep their order


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    if isinstance(item, IPyNbCell):
        _states[id(item.parent)] = _CellState(item)
    try:
        return (yield)
    finally:
        _states.pop(id(item.parent), None)


def failure_line(text: str) -> str:
    """The line that says what went wrong in nbval's failure text: a replay miss in full, else the error's first line."""
    plain = _ANSI.sub("", text)
    if _MISS in plain:
        start = plain.rindex(_MISS)
        return " ".join(plain[start:].split("\n\n", 1)[0].split())
    if "Notebook cell execution failed" not in plain and "Traceback" not in plain:
        mismatch = next((line.strip() for line in plain.splitlines() if "mismatch" in line.lower() or "differ" in line.lower()), "")
        return mismatch or "its outputs differ from the stored ones"
    errors = [line.strip() for line in plain.splitlines() if _ERROR_LINE.match(line.strip())]
    return errors[-1] if errors else next((line.strip() for line in plain.splitlines() if line.strip()), "failed")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, IPyNbCell) and report.failed:
        cell_id = item.cell.get("id") or "(no id)"
        report.user_properties.append((_FAILED_CELL, f"{item.fspath.basename} cell {cell_id} ({item.name}): {failure_line(report.longreprtext)}"))
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the failed cells' lines where the summary is printed: here, or in the xdist controller."""
    _failures.extend(value for name, value in report.user_properties if name == _FAILED_CELL)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _failures:
        terminalreporter.section("failed notebook cells, by cell id")
        for line in _failures:
            terminalreporter.write_line(line)
