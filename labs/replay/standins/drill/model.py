"""The drill's model: one request in, one `Reply` out, whatever the surface.

Each surface turns its request into a `Conversation` (instructions, the last user message, the offered
function tools, the tool results that came back after that message, and the options a healthy service
honours). `DrillModel.answer` then decides as a model would: call one or two offered tools while none has
answered yet (or when `tool_choice` requires it), otherwise write text, quoting the tool results when there
are some, cut at the token limit with finish reason `length`. Answers are seeded by the drill's seed and a
digest of the request's content, so two runs with the same seed answer alike (and do so whatever order
concurrent requests arrive in); asked the same thing twice in one run, the model answers differently,
as it does at temperature 1 (at temperature 0 it repeats itself).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..base import Reply, ToolCall, tokens
from .text import answer_text, argument_fragments, arguments_for, relevance, results_text, value_for

__all__ = ["Conversation", "DrillModel", "DrillReply", "FunctionSpec", "Pace", "ToolResult", "digest"]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolResult:
    name: str
    arguments: str
    output: str


@dataclass
class Conversation:
    """What the model reads from one request, whatever the surface."""

    key: str  # a digest of the request's content: with the seed, it decides the answer
    instructions: str = ""
    question: str = ""  # the last user message
    tools: list[FunctionSpec] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)  # tool outputs after the last user message
    tool_choice: str = "auto"  # auto, none or required
    forced: str | None = None  # the function `tool_choice` names, if it names one
    parallel_tool_calls: bool = True
    max_tokens: int | None = None
    json_schema: dict[str, Any] | None = None  # structured output: the schema the text must follow
    temperature: float | None = None


@dataclass(frozen=True)
class Pace:
    """How one answer streams: a first-token wait, then gaps around a per-answer speed with bursts and stalls."""

    first_token: float
    tokens_per_second: float
    seed: str
    scale: float = 1.0

    def delays(self, count: int) -> list[float]:
        """The pause before each of `count` frames, in seconds (the same list every time it is asked)."""
        rng = random.Random(self.seed)
        mean = 1.0 / self.tokens_per_second
        out = [self.first_token]
        for _ in range(count - 1):
            roll = rng.random()
            if roll < 0.18:
                gap = rng.uniform(0.0, 0.002)  # several tokens in one network read
            elif roll < 0.22:
                gap = rng.uniform(5, 14) * mean  # a stall
            else:
                gap = rng.gammavariate(2.5, mean / 2.5)
            out.append(gap)
        return [d * self.scale for d in out]


@dataclass
class DrillReply(Reply):
    """A reply the drill computed, with what its wire format needs to know about the request."""

    key: str = ""  # the seed it was drawn from: ids and frame padding derive from it
    pace: Pace | None = None
    created: int = 0
    wire: dict[str, Any] = field(default_factory=dict)  # request options the encoding honours (usage, obfuscation...)
    noise: random.Random = field(default_factory=random.Random)  # obfuscation padding, drawn in frame order


def digest(*parts: Any) -> str:
    """A short stable digest of JSON-able parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:20]


class DrillModel:
    """Answers conversations in its own words, seeded, as described in the module docstring."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._asked: Counter[str] = Counter()

    def _seed(self, conversation: Conversation, choice: int) -> str:
        repeat = 0 if conversation.temperature == 0 else self._asked[f"{conversation.key}:{choice}"]
        self._asked[f"{conversation.key}:{choice}"] += 1
        return f"drill:{self.seed}:{conversation.key}:{choice}:{repeat}"

    @staticmethod
    def _pace(seed: str, scale: float) -> Pace:
        """First token after 0.15 s plus a long-tailed wait (median about 0.7 s in all), then 35 to 110 tokens a second."""
        rng = random.Random(f"pace:{seed}")
        first = 0.15 + rng.lognormvariate(math.log(0.55), 0.65)
        return Pace(first_token=first, tokens_per_second=rng.uniform(35, 110), seed=f"{seed}:gaps", scale=scale)

    @staticmethod
    def calls_tools(conversation: Conversation) -> bool:
        """Whether this turn calls tools: while none has answered since the user spoke, or whenever `tool_choice` insists."""
        if not conversation.tools or conversation.tool_choice == "none":
            return False
        return conversation.tool_choice == "required" or conversation.forced is not None or not conversation.results

    def answer(self, conversation: Conversation, *, choice: int = 0, reasoning: bool = False, pace: float = 1.0) -> DrillReply:
        """The model's answer: tool calls, or text (JSON when a schema is asked for), cut at `max_tokens`."""
        seed = self._seed(conversation, choice)
        rng = random.Random(seed)
        reply = DrillReply(key=seed, pace=self._pace(seed, pace), noise=random.Random(f"noise:{seed}"))
        reply.reasoning_tokens = rng.randint(40, 400) if reasoning else 0
        if self.calls_tools(conversation):
            reply.tool_calls = self._calls(conversation, rng)
            return reply
        if conversation.json_schema is not None:
            text = json.dumps(value_for(conversation.json_schema, rng), ensure_ascii=False)
        elif conversation.results:
            text = results_text([(r.name, r.output) for r in conversation.results], conversation.question, rng)
        else:
            text = answer_text(conversation.instructions, conversation.question, rng)
        if conversation.max_tokens is not None:
            if reasoning:
                reply.reasoning_tokens = min(reply.reasoning_tokens, max(1, conversation.max_tokens // 3))
            budget = max(0, conversation.max_tokens - reply.reasoning_tokens)
            pieces = tokens(text)
            if len(pieces) > budget:
                text, reply.finish_reason = "".join(pieces[:budget]), "length"
        reply.text = text
        return reply

    @staticmethod
    def _calls(conversation: Conversation, rng: random.Random) -> list[ToolCall]:
        by_name = {tool.name: tool for tool in conversation.tools}
        offered = list(conversation.tools)
        weights = [relevance(tool.name, tool.description, conversation.instructions, conversation.question) for tool in offered]
        first = rng.choices(offered, weights)[0]
        if conversation.forced is not None:
            picked = [by_name[conversation.forced]]
        elif conversation.parallel_tool_calls and rng.random() < 0.45:
            # Two different tools, or one tool twice with other arguments (two cities, say).
            others = [(t, w) for t, w in zip(offered, weights) if t is not first]
            second = rng.choices([t for t, _ in others], [w for _, w in others])[0] if others else first
            picked = [first, second] if second is not first or first.parameters.get("properties") else [first]
        else:
            picked = [first]
        calls = []
        for tool in picked:
            arguments = arguments_for(tool.parameters, rng)
            calls.append(ToolCall(tool.name, arguments, fragments=argument_fragments(arguments, rng)))
        return calls
