"""`python -m labs.chat`: the chat in a terminal, with Ctrl-C wired to stop the answer being streamed.

The loop reads a line (blocking, with readline's line editing where available), then runs the
session's coroutine for it on one long-lived event loop (`asyncio.Runner`), so the SDK clients and
their connection pools live as long as the chat. While a line is being handled, SIGINT no longer
raises KeyboardInterrupt: it asks the loop to cancel the answer's task, which closes the stream and
returns to the prompt. At the prompt, Ctrl-C only explains how to leave; Ctrl-D or /quit leave.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.text import Text

from ..config import ConfigError, settings
from .backends import BACKENDS, make_backend
from .session import Chat

__all__ = ["main", "parse_arguments"]

PROMPT = "[bold cyan]you ›[/] "


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m labs.chat", description="A streaming chat in the terminal.")
    parser.add_argument("--backend", choices=BACKENDS, default="chat", help="chat: Chat Completions; agents: openai-agents (default: chat)")
    parser.add_argument("--speed", type=float, default=None, help="replay speed: 1 as recorded, 0 no delay (default: LABS_REPLAY_SPEED or 1)")
    args = parser.parse_args(argv)
    if args.speed is not None:
        if args.speed < 0:
            parser.error(f"--speed {args.speed:g} is negative: use 1 (as recorded), 0 (no delay) or another factor")
        os.environ["LABS_REPLAY_SPEED"] = f"{args.speed:g}"
    try:
        settings()
    except ConfigError as error:
        parser.error(str(error))
    return args


@contextmanager
def _sigint_stops_answer(loop: asyncio.AbstractEventLoop, chat: Chat) -> Iterator[None]:
    """While a line is handled, Ctrl-C stops the streamed answer instead of raising KeyboardInterrupt."""

    def on_sigint(signum: int, frame: Any) -> None:
        loop.call_soon_threadsafe(chat.interrupt)

    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _read_line(console: Console) -> str | None:
    """The next line typed, or None at end of input (Ctrl-D, or the end of a piped script)."""
    while True:
        try:
            line = console.input(PROMPT)
        except EOFError:
            console.print()
            return None
        except KeyboardInterrupt:
            console.print("\n[dim](Ctrl-C stops an answer while it streams; /quit or Ctrl-D leaves the chat)[/]")
            continue
        if not sys.stdin.isatty():
            console.print(line, markup=False, highlight=False)  # a piped script: show what was "typed"
        return line


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        import readline  # noqa: F401  (line editing and ↑ history for input(), where available)
    except ImportError:
        pass
    console = Console(highlight=False)
    try:
        backend = make_backend(args.backend)
    except ConfigError as error:  # live or record mode without a key, say
        console.print(Text(f"✗ {error}", style="red"))
        return 2
    chat = Chat(backend, console)
    # A process started with SIGINT ignored (a shell's `cmd &` without job control, and all it starts) would never see
    # Ctrl-C; the chat's promise about Ctrl-C holds however it was started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    chat.greet()
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        while True:
            line = _read_line(console)
            with _sigint_stops_answer(loop, chat):
                keep_going = runner.run(chat.submit("/quit" if line is None else line))
            if not keep_going:
                break
        runner.run(chat.backend.aclose())
    return 0
