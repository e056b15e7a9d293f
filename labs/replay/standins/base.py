"""What the scripted stand-ins share: scripted replies, their tokenisation, a loopback server to run on.

This workbook's fixtures are written by record mode itself: a lesson's real SDK calls go through the
replay server in record mode, and the "live service" upstream is a stand-in that answers from a script
of `Reply` objects in its service's wire format, paced like a model (a first-token wait, then a gap per
token, calibrated on public measurements: `FIRST_TOKEN`, `TOKEN_GAP`). One module per surface (`openai.py`, `azure.py`); this is their base.
With a key, `LABS_MODE=record` records from the real service instead. No notebook uses a stand-in.

Each model turn asks `next_reply(request)` for its answer; here that pops the script. A subclass may compute
the reply from the request instead: the drill services in `drill/` do, to play a live service that answers
whatever it is asked.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from ..loopback import ServedApp

__all__ = ["FIRST_TOKEN", "TOKEN_GAP", "Reply", "ScriptedServer", "ToolCall", "fragments", "tokens"]

_TOKEN = re.compile(r"\s*[^\s\w]+|\s*\w+|\s+")

# The calibrated pace of a model answer, with their sources in labs/fixtures/README.md ("Pacing"): seconds to
# the first token (gpt-4o-mini class models over the public API), and between tokens (about 59 a second).
FIRST_TOKEN = 0.6
TOKEN_GAP = 0.017


def tokens(text: str) -> list[str]:
    """Cut text the way a tokenizer roughly does: words with their leading space, punctuation apart."""
    return _TOKEN.findall(text)


@dataclass
class ToolCall:
    name: str
    arguments: str
    fragments: list[str] | None = None  # how the arguments arrive; default: cut into small pieces


@dataclass
class Reply:
    """One scripted answer: text, a refusal, or tool calls, with the pacing of a real model."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    refusal: str | None = None
    finish_reason: str | None = None
    first_token: float = FIRST_TOKEN
    gap: float = TOKEN_GAP
    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    reasoning_tokens: int = 0  # Responses API: a reasoning item first (output_index 0), counted in usage; 0: none
    more_choices: list[Reply] = field(default_factory=list)  # Chat Completions with `n` > 1: choices 1, 2, ...

    @property
    def finish(self) -> str:
        return self.finish_reason or ("tool_calls" if self.tool_calls else "stop")


def fragments(call: ToolCall, rng: random.Random) -> list[str]:
    """How a call's arguments arrive: the scripted fragments, or small seeded pieces of 2 to 7 characters."""
    if call.fragments is not None:
        return call.fragments
    out, text = [], call.arguments
    while text:
        size = rng.randint(2, 7)
        out.append(text[:size])
        text = text[size:]
    return out


class ScriptedServer(ServedApp):
    """What every stand-in shares: a queue of scripted replies, a log of requests, a loopback server to run on."""

    base_path = ""  # where the service's API sits below the stand-in's URL
    no_reply_left = "the stand-in has no scripted reply left"

    def __init__(self, app: Starlette, name: str) -> None:
        super().__init__(app, name=name)
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.app = app

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self, request: dict[str, Any]) -> Reply:
        """The answer to one model turn: the next scripted reply (a subclass may compute it from `request`).

        `request` is what the model reads: the JSON body for OpenAI; for Azure, the run's model, instructions,
        tools and options, the thread's messages and the tool results submitted in this run so far.
        """
        if not self.replies:
            raise LookupError(self.no_reply_left)
        return self.replies.popleft()

    @property
    def upstream_url(self) -> str:
        """What record mode forwards this stand-in's surface to (its base URL or project endpoint)."""
        return self.url + self.base_path
