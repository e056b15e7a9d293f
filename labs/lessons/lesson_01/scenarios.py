"""Lesson 01: one question asked streamed (for the typing effect) and not streamed (for the timing).

Authored from the notebook (`make fixtures LESSON=01`): the question is written once, in cell l01-02.
"""

from __future__ import annotations

from .. import Reply, Scenario

ANSWER = (
    "The three-layer system keeps you dry and warm by letting each layer do one job.\n\n"
    "1. **Base layer**: merino or synthetic fabric against the skin wicks sweat away.\n"
    "2. **Mid layer**: fleece or a light puffy traps warm air.\n"
    "3. **Outer layer**: a waterproof, breathable shell blocks wind and rain.\n\n"
    "Add or remove layers as you climb, rest or the weather turns."
)

SCENARIOS = [
    Scenario(
        "01_basic_streaming/three_layers",
        "The same question twice: first streamed (about 90 chunks over three seconds, Markdown with newlines inside "
        "chunks), then not streamed, so the lesson can compare time to first token with total time. The non-streamed "
        "answer arrives only when the whole text is ready.",
        [Reply(text=ANSWER, first_token=0.55, gap=0.03), Reply(text=ANSWER, first_token=0.55, gap=0.03)],
    )
]
