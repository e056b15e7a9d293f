"""Lesson 01: one question asked streamed (for the typing effect) and not streamed (for the timing)."""

from __future__ import annotations

from ... import clients
from .. import Reply, Scenario

MESSAGES = [
    {"role": "system", "content": "You are an outdoor gear advisor. Answer in under 80 words."},
    {"role": "user", "content": "Explain the three-layer clothing system for hiking."},
]

ANSWER = (
    "The three-layer system keeps you dry and warm by letting each layer do one job.\n\n"
    "1. **Base layer**: merino or synthetic fabric against the skin wicks sweat away.\n"
    "2. **Mid layer**: fleece or a light puffy traps warm air.\n"
    "3. **Outer layer**: a waterproof, breathable shell blocks wind and rain.\n\n"
    "Add or remove layers as you climb, rest or the weather turns."
)


def three_layers() -> None:
    client = clients.openai_client()
    for _ in client.chat.completions.create(model=clients.model(), messages=MESSAGES, stream=True):
        pass
    client.chat.completions.create(model=clients.model(), messages=MESSAGES)


SCENARIOS = [
    Scenario(
        "01_basic_streaming/three_layers",
        "The same question twice: first streamed (about 90 chunks over three seconds, Markdown with newlines inside "
        "chunks), then not streamed, so the lesson can compare time to first token with total time. The non-streamed "
        "answer arrives only when the whole text is ready.",
        [Reply(text=ANSWER, first_token=0.55, gap=0.03), Reply(text=ANSWER, first_token=0.55, gap=0.03)],
        three_layers,
    )
]
