"""Recorded streams as the SDK's own objects, for exercise checks and demonstrations.

A check should feed a learner's code the same objects the SDK yields, parsed from the same fixtures the
replay server serves, so a learner who passes the check handles the real stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .replay.cassette import Cassette, load_cassette
from .config import FIXTURES_DIR

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionChunk

__all__ = ["chat_chunks", "chat_text", "fixture"]


def fixture(name: str) -> Cassette:
    """A fixture by its name below labs/fixtures, e.g. `01_basic_streaming/three_layers`."""
    return load_cassette(FIXTURES_DIR / f"{name}.yaml", name=name)


def chat_chunks(name: str, request: int = 0) -> list[ChatCompletionChunk]:
    """The chunks of a recorded Chat Completions stream, parsed as `openai` parses them."""
    from openai.types.chat import ChatCompletionChunk

    events = fixture(name).interactions[request].response.events or []
    return [ChatCompletionChunk.model_validate(e.json()) for e in events if isinstance(e.json(), dict)]


def chat_text(name: str, request: int = 0) -> str:
    """The text a recorded Chat Completions stream spells out."""
    return "".join(c.choices[0].delta.content or "" for c in chat_chunks(name, request) if c.choices)
