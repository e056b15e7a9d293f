"""Lesson 07: one trail-guide agent, three questions: every callback, the event order, a recipe's silent bug.

`trail_guide` is authored from the notebook (`make fixtures LESSON=07`): the agent, its instructions and the
questions are written once, in the notebook's cells, and the whole lesson replays from the one conversation
it records. The names the unit tests use (`GUIDE`, the questions) are read from that fixture. Lesson 08 asks
the same agent its polling-versus-streaming question in a conversation of its own
(`labs/lessons/lesson_08/scenarios.py`, with the stand-in whose runs progress for a poller).
"""

from __future__ import annotations

from ...config import FIXTURES_DIR
from ...replay import load_cassette
from .. import Reply, Scenario

__all__ = ["GUIDE", "ORDER_QUESTION", "PREPARE_QUESTION", "RECIPE_QUESTION", "SCENARIOS"]

TRAIL_GUIDE = "07_azure_event_handlers/trail_guide"
_RECORDED = load_cassette(FIXTURES_DIR / f"{TRAIL_GUIDE}.yaml").interactions
# What the notebook last sent, read from its fixture, for the unit tests: the agent and the questions, in order.
GUIDE = {key: _RECORDED[0].request.body[key] for key in ("name", "instructions")}
PREPARE_QUESTION, ORDER_QUESTION, RECIPE_QUESTION = [
    i.request.body["content"] for i in _RECORDED if i.request.method == "POST" and i.request.path.endswith("/messages")
]

REPLIES = [
    Reply(
        text="Check the forecast for the whole day — not just the morning — and when the sun sets. Tell someone "
        "your route and your turnaround time. Pack water, a warm layer and a headlamp, even for a short walk.",
        first_token=0.5,
        gap=0.03,
    ),
    Reply(text="About three and a half hours: an hour for every 5 km, plus an hour for every 600 m of climbing.", first_token=0.4, gap=0.03),
    Reply(text="Only on flat, soft snow. On a steep or icy slope one slip can send you into the rocks below — wear microspikes.", first_token=0.45),
]


SCENARIOS = [
    Scenario(
        TRAIL_GUIDE,
        "One agent, three streamed runs on three threads, in the notebook's order: created and queued both carry "
        "status queued; a message_creation step wraps the message events; the answers of runs 1 and 3 hold em "
        "dashes, three bytes in UTF-8. Run 1 is followed by listing its thread, two GETs because the SDK pages on "
        "last_id; the agent is deleted at the end.",
        REPLIES,
        surface="azure",
    )
]
