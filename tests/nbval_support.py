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

Load it from the repository root with `python -m pytest -p tests.nbval_support ...`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from nbval.kernel import RunningKernel
from nbval.plugin import IPyNbCell, IPyNbFile

_OUTPUT_MESSAGES = {"stream", "display_data", "execute_result", "error"}


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


def pytest_configure(config: pytest.Config) -> None:
    if config.option.nbval or config.option.nbval_lax:
        IPyNbFile.get_kernel_message = _get_kernel_message  # type: ignore[method-assign]
        RunningKernel.execute_cell_input = _execute_cell_input  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    if isinstance(item, IPyNbCell):
        _states[id(item.parent)] = _CellState(item)
    try:
        return (yield)
    finally:
        _states.pop(id(item.parent), None)
