"""Demonstrations that need one particular recording, and the local server that plays the faults.

Every cell of the workbook runs in replay, live and record mode. A few cells show something only a
recording can produce on demand: a replay miss, a refusal, an answer cut short at a chosen length, a seeded
game. Such a cell starts with the cell magic

    %%only_in_replay a live model may answer this instead of refusing

and in live or record mode prints one line saying what it would show and why, then skips its body. In
replay it runs as written. `import labs` registers the magic in a notebook; `only_in_replay(why)` is the
same test for code outside a notebook.

A real service cannot drop a connection or send a malformed event on request, so the resilience lesson
serves its fault fixtures from `fault_server()`, a local replay server started whatever `LABS_MODE` says;
the recovery code it teaches is the same code a learner then points at the live client.
"""

from __future__ import annotations

from typing import Any

from .config import settings
from .replay import fault_server

__all__ = ["fault_server", "only_in_replay", "register_magics", "skip_message"]


def skip_message(why: str) -> str:
    """The one line a replay-only cell prints in live or record mode."""
    mode = settings().mode
    return f"⏭ Replay only, skipped in LABS_MODE={mode}: {why.strip().rstrip('.')}."


def only_in_replay(why: str) -> bool:
    """True in replay mode; otherwise print why this demonstration needs its recording and return False."""
    if settings().mode == "replay":
        return True
    print(skip_message(why), flush=True)
    return False


def _only_in_replay_magic(line: str, cell: str) -> None:
    """`%%only_in_replay <why>`: run the cell in replay mode; in live or record mode say why it is skipped."""
    if not line.strip():
        raise ValueError("say why the cell needs its recording: %%only_in_replay <why>")
    if only_in_replay(line):
        from IPython import get_ipython

        shell: Any = get_ipython()
        result = shell.run_cell(cell, store_history=False, silent=False)
        if not result.success:  # the body's traceback is shown already; fail the cell without a second one
            raise _CellFailed(result.error_in_exec or result.error_before_exec)


class _CellFailed(Exception):
    """The body of a replay-only cell raised: the cell fails, and its traceback is not shown twice."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__(f"{type(error).__name__}: {error}" if error else "the cell failed")

    def _render_traceback_(self) -> list[str]:
        return []


def register_magics() -> None:
    """Register `%%only_in_replay` in the running IPython kernel (nothing outside one)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is installed with the workbook
        return
    shell = get_ipython()
    if shell is not None:
        shell.register_magic_function(_only_in_replay_magic, magic_kind="cell", magic_name="only_in_replay")
