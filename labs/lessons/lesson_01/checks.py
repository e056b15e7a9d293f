"""Checks for lesson 01 (basic streaming)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator

from ...checks import Case, exercise
from ...recordings import chat_chunks, chat_text


def _printed_and_returned(collect: Callable[[Iterator[object]], str], chunks: list) -> tuple[str, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = collect(iter(chunks))
    return printed.getvalue(), returned


@exercise("1.1")
def check_collect_stream(collect_stream: Callable[[Iterator[object]], str]) -> Iterator[Case]:
    cases = [
        ("a plain text stream", "01_basic_streaming/three_layers", 0, "print each delta's content and join them all"),
        ("a stream ending in a usage chunk (choices == [])", "sdk_smoke/chat_text", 0, "check `chunk.choices` before reading `choices[0]`"),
        ("a stream whose deltas carry no text (content None)", "sdk_smoke/chat_tool_round", 0, "skip deltas whose content is None"),
    ]
    for name, fixture, request, hint in cases:
        chunks = chat_chunks(fixture, request)
        text = chat_text(fixture, request)
        yield Case(
            name,
            run=lambda chunks=chunks: _printed_and_returned(collect_stream, chunks),
            expected=(text, text),
            hint=f"{hint}; return the same text you printed",
        )
