"""Lesson 00: the first streamed answer a learner sees, to check the set-up."""

from __future__ import annotations

from ... import clients
from .. import Reply, Scenario

HELLO = "Say hello to a learner who is about to study streaming, in one sentence."


def hello() -> None:
    client = clients.openai_client()
    stream = client.chat.completions.create(model=clients.model(), messages=[{"role": "user", "content": HELLO}], stream=True)
    for _ in stream:
        pass


SCENARIOS = [
    Scenario(
        "00_setup_and_replay/hello",
        "The set-up check: one short streamed greeting, the first thing a learner replays. Plain text chunks, "
        "finish_reason stop, [DONE]; no usage chunk.",
        [Reply(text="Hello, and welcome: in a moment you'll watch answers appear word by word, just as the model writes them!", first_token=0.5, gap=0.035)],
        hello,
    )
]
