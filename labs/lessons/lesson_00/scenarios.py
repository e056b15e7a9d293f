"""Lesson 00: the first streamed answer a learner sees, to check the set-up.

Authored from the notebook (`make fixtures LESSON=00`): the greeting's prompt is written in cells l00-05 and
l00-11 (the second shows the raw bytes of the same request).
"""

from __future__ import annotations

from .. import Reply, Scenario

SCENARIOS = [
    Scenario(
        "00_setup_and_replay/hello",
        "The set-up check: one short streamed greeting, the first thing a learner replays. Plain text chunks, "
        "finish_reason stop, [DONE]; no usage chunk.",
        [Reply(text="Hello, and welcome: in a moment you'll watch answers appear word by word, just as the model writes them!", first_token=0.5, gap=0.035)],
    )
]
