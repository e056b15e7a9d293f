"""Workbook errors in a notebook: their message and what to do, without thirty lines of traceback.

A learner's cell fails for workbook reasons in two ways. A setting is wrong (`labs.ConfigError`, which shows
itself as one line through IPython's `_render_traceback_`), or the replay server has no recording for the
request. A replay miss reaches the notebook as the SDK's own exception (`openai.NotFoundError`,
azure-core's `ResourceNotFoundError`, or Semantic Kernel's wrapper around the openai one), because replay
answers as the service would; the code that catches those exceptions keeps working. Only the way IPython
*shows* an uncaught one changes: `register_error_display()` installs a handler that prints the miss message
alone, and shows every other exception exactly as IPython would.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from .i18n import text
from .replay.matching import MISS_CODE

__all__ = ["register_error_display", "replay_miss_message"]


def replay_miss_message(error: BaseException) -> str | None:
    """The replay server's miss message if `error` (or an exception it was raised from) is a miss, else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        body = getattr(current, "body", None)  # openai.APIStatusError: the parsed error object
        if isinstance(body, dict) and body.get("code") == MISS_CODE:
            return str(body.get("message") or current)
        detail = getattr(current, "error", None)  # azure-core HttpResponseError: an ODataV4Format
        if detail is not None and getattr(detail, "code", None) == MISS_CODE:
            return str(getattr(detail, "message", None) or current)
        current = current.__cause__ or current.__context__
    return None


def _show(shell: Any, etype: type[BaseException], value: BaseException, tb: TracebackType | None, tb_offset: int | None = None) -> list[str]:
    miss = replay_miss_message(value)
    if miss is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
        return []
    lines = [text("replay.miss", error=etype.__name__), *miss.splitlines()]
    shell._showtraceback(etype, value, lines)
    return lines


def register_error_display() -> None:
    """In a running IPython kernel, show replay misses as their message alone (nothing outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is installed with the workbook
        return
    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((Exception,), _show)
