"""Randomness for tools, seeded when replaying so a replayed run says what the recording said.

A tool that rolls a die returns a new number on every run. Live, that is the point. In replay it is a
problem of honesty rather than of matching: the replay server ignores tool results when it looks for
the recorded follow-up request (labs/fixtures/README.md), so an unseeded roll of 3 would still be
answered by a recorded narration that says "you rolled a 14". With a generator seeded as it was when
the fixture was authored, the roll sent in the follow-up request is the roll that was recorded, and
the narration agrees with the tool output printed next to it.

Give each run its own generator (`Runner.run_streamed(agent, prompt, context=replay_random(7))`), so
re-running one cell replays the same rolls whatever ran before it.
"""

from __future__ import annotations

import random

from .config import settings

__all__ = ["replay_random"]


def replay_random(seed: int) -> random.Random:
    """`random.Random(seed)` when replaying; an unseeded `random.Random()` live or when recording."""
    if settings().mode == "replay":
        return random.Random(seed)
    return random.Random()
