"""Lesson 13: the plain request of the route the learner writes, and the hostile answer the page must show as text.

`route_pack_list` is the request the notebook's async-client cell sends (one user message, no tools), authored
from the notebook (`make fixtures LESSON=13`); exercise 13.1's check replays it. `route_hostile` keeps its `run`:
only exercise 13.2's check asks it, replaying it on a server of its own; no cell sends it. The web app's own
recordings, which the lesson's cells also ask, are lesson 12's (`labs/fixtures/12_sse_to_the_browser/`, `BORROWED`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from .. import Reply, Scenario, recorded_body
from ..lesson_12.scenarios import ANSWERS, PROMPTS
from ..lesson_12.scenarios import SCENARIOS as WEB_APP_SCENARIOS

__all__ = ["BORROWED", "ROUTE_PROMPTS", "SCENARIOS"]

# The exercises' plain requests (one user message, no tools): what a route written in the lesson sends.
ROUTE_PROMPTS = {"route_pack_list": recorded_body("13_sse_route_and_page/route_pack_list")["messages"][0]["content"], "route_hostile": PROMPTS["chat_xss"]}


def _plain(key: str) -> Callable[[], Coroutine[Any, Any, None]]:
    async def run() -> None:
        from ...clients import async_openai_client, model

        async with async_openai_client() as client:
            messages = [{"role": "user", "content": ROUTE_PROMPTS[key]}]
            stream = await client.chat.completions.create(model=model(), messages=messages, stream=True)  # type: ignore[call-overload]
            async with stream:
                async for _ in stream:
                    pass

    return run


SCENARIOS = [
    Scenario(
        "13_sse_route_and_page/route_pack_list",
        "The route the learner writes (exercise 13.1): one user message, no tools, paced as a model (half a second to the "
        "first token, then a piece every 20 ms), so a reader can leave in the middle and a blocking client shows its pause.",
        [Reply(text=ANSWERS["chat_pack_list"], first_token=0.5, gap=0.02)],
    ),
    # Kept as a run: only exercise 13.2's check asks this, replaying it on a server of its own; no cell sends it.
    Scenario(
        "13_sse_route_and_page/route_hostile",
        "The same plain request for the answer carrying <img onerror> and <script>: the page the learner writes "
        "(exercise 13.2) must show it as text and run nothing.",
        [Reply(text=ANSWERS["chat_xss"])],
        _plain("route_hostile"),
    ),
]

# The web app's recording the lesson's cells ask again (`l13-04` streams lesson 12's pack list through the app):
# it answers while `make fixtures LESSON=13` records, and only lesson 12 writes it.
BORROWED = [scenario for scenario in WEB_APP_SCENARIOS if scenario.name == "12_sse_to_the_browser/chat_pack_list"]
