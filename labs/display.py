"""How streamed text shows: a live Markdown view redrawn at most ten times a second, and one-line summaries.

`print(text, end="", flush=True)` only appends: Markdown stays raw (`**bold**` shows its asterisks)
and nothing already printed can change. An updatable display can redraw the whole answer, rendered,
as it grows: `display(Markdown(...), display_id=True)` once, then `handle.update(...)`. But each update
sends the whole text so far to the front end, so updating on every chunk sends a long answer's text
hundreds of times (the cost grows with the square of its length) and can freeze the browser tab.
`LiveMarkdown` redraws at most once per `interval` (0.1 s: faster than a reader notices) plus once
at the end, so what it sends stays proportional to the time the answer takes, not to its chunk count.
It counts its redraws and the characters it sent, so a lesson can measure it against plain print.

Model text is untrusted. JupyterLab trusts what a live session displays, so Markdown handed to it as
`text/markdown` would let an answer holding `<img onerror=...>` run script on the JupyterLab page. The
view therefore renders the Markdown itself (`safe_markdown_html`: markdown-it-py with raw HTML off, so
tags show as text and `javascript:` links are dropped) and displays that HTML, with the plain text beside it.

A terminal is a medium too: an escape sequence in a model's answer can set the window title, clear the
screen or plant a clickable link. `terminal_text` removes every escape sequence and control character but
newline and tab before model text reaches one.

Outside Jupyter there is nothing to redraw, so it degrades to printing each piece as it arrives.

`shorten` fits a text on one line of a table, a timeline or a terminal: the one shortener the learner
modules share, so every summary cuts the same way.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from markdown_it import MarkdownIt

__all__ = [
    "CURSOR",
    "ELLIPSIS",
    "DisplayTarget",
    "LiveMarkdown",
    "notebook_target",
    "safe_markdown_html",
    "shorten",
    "terminal_text",
]

# CommonMark with GitHub's tables and strikethrough, and raw HTML off: a tag in the text is shown, never run.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def safe_markdown_html(markdown: str) -> str:
    """Markdown rendered to HTML that holds no markup of the text's own: tags escaped, unsafe links dropped."""
    return _MARKDOWN.render(markdown)


# ESC sequences (CSI `ESC [ ... final` or its one-byte form 0x9b, OSC `ESC ] ... BEL|ST`, and two-character ones), then any other C0 or
# C1 control character or DEL, newline and tab excepted.
_ESCAPES = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_text(text: str) -> str:
    """Text as a terminal may show it: no escape sequence and no control character but newline and tab."""
    return _ESCAPES.sub("", text)


def _bundle(markdown: str) -> dict[str, Any]:
    return {"text/html": safe_markdown_html(markdown), "text/plain": markdown}

CURSOR = " ▌"
"""Marks the growing end of the text while it streams; the last redraw drops it."""

class DisplayTarget(Protocol):
    """Where redraws go: `draw` replaces what is shown with the given Markdown text."""

    def draw(self, markdown: str) -> None: ...


class _NotebookTarget:
    """One updatable Jupyter display, created on the first draw."""

    def __init__(self) -> None:
        self._handle: object | None = None

    def draw(self, markdown: str) -> None:
        from IPython.display import display

        if self._handle is None:
            self._handle = display(_bundle(markdown), raw=True, display_id=True)
        else:
            self._handle.update(_bundle(markdown), raw=True)  # type: ignore[attr-defined]


class _PrintTarget:
    """A terminal cannot redraw: print only what is new, and drop the cursor."""

    def __init__(self) -> None:
        self._printed = ""

    def draw(self, markdown: str) -> None:
        text = markdown.removesuffix(CURSOR)
        if text.startswith(self._printed):
            sys.stdout.write(text[len(self._printed) :])
            sys.stdout.flush()
            self._printed = text


def notebook_target() -> DisplayTarget:
    """An updatable display when running in a Jupyter kernel, plain printing elsewhere."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is pinned in requirements.txt
        return _PrintTarget()
    shell = get_ipython()
    in_kernel = shell is not None and getattr(shell, "kernel", None) is not None
    return _NotebookTarget() if in_kernel else _PrintTarget()


class LiveMarkdown:
    """A Markdown display that grows as text streams in, redrawn at most every `interval` seconds.

    Use it as a context manager, so the last redraw happens even if the stream fails:

        with LiveMarkdown() as view:
            for chunk in stream:
                view.append(chunk.choices[0].delta.content or "")
    """

    def __init__(
        self,
        *,
        interval: float = 0.1,
        target: DisplayTarget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must be zero or more seconds, not {interval}")
        self.interval = interval
        self.target = target if target is not None else notebook_target()
        self.clock = clock
        self.text = ""
        self.appends = 0
        self.updates = 0
        self.sent_chars = 0
        self.closed = False
        self._drawn: str | None = None
        self._drawn_at = 0.0

    def append(self, piece: str) -> None:
        """Add a piece of text; redraw if the last redraw is at least `interval` old."""
        if self.closed:
            raise RuntimeError("this LiveMarkdown is closed; start a new one for a new answer")
        if not piece:
            return
        self.text += piece
        self.appends += 1
        if self._drawn is None or self.clock() - self._drawn_at >= self.interval:
            self._draw(self.text + CURSOR)

    def close(self) -> str:
        """Show the whole text, without the cursor, and return it."""
        if not self.closed:
            self.closed = True
            if self._drawn != self.text and (self.text or self._drawn is not None):
                self._draw(self.text)
        return self.text

    def _draw(self, markdown: str) -> None:
        self.target.draw(markdown)
        self._drawn, self._drawn_at = markdown, self.clock()
        self.updates += 1
        self.sent_chars += len(markdown)

    def __enter__(self) -> LiveMarkdown:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()


# -- one-line summaries ------------------------------------------------------------------------------

ELLIPSIS = "…"
"""Ends a shortened text: one character, so a cut text is exactly as wide as asked."""


def shorten(text: str, width: int) -> str:
    """`text` on one line (each run of whitespace one space), cut to `width` characters, the last an ellipsis."""
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + ELLIPSIS
