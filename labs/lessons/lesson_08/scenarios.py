"""Lesson 08: an agent with the trail guide's instructions asked one question twice, polled then streamed: when does the reader see text?

`contour_lines` is authored from the notebook (`make fixtures LESSON=08`): the agent and the question are
written once, in the notebook's cells. The names the unit tests use (`GUIDE`, `CONTOURS_QUESTION`) are read
from that fixture. The lesson's event reference reads lesson 07's and 09's recordings as well; its exercises
replay lesson 07's and 09's streams (`checks.py`).

Its polling part needs a service whose runs progress in time: the base Azure stand-in finishes
a run the moment it is created, so a `create_and_process` poll would see `completed` on its first GET and
polling would look as fast as streaming. `PacedAzureStandIn` (the lesson's `AZURE_STANDIN`, which authoring
plays the service with) answers `GET .../runs/{id}` for a run created without `stream` with the state the
run's stream would have reached by then, as the service does.

"By then" counts polls, not wall-clock time: the n-th GET sees the run as it is `n * polling_interval`
seconds after creation, the moments an ideal poller (sleep, then an instant GET) asks. Wall-clock time
would record the authoring machine's latency instead (the recording proxy rewrites the fixture after
every request, tens to hundreds of ms as the fixture grows) and replay, which answers GETs in order and
at once, would then finish polling early. Pacing depends only on a reply's text, so the question asked
twice streams at the same pace twice, and polling and streaming compare on equal terms.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...config import FIXTURES_DIR
from ...replay import load_cassette
from ...replay.standins.azure import AzureStandIn
from .. import Reply, Scenario

__all__ = ["AZURE_STANDIN", "CONTOURS_QUESTION", "GUIDE", "POLLING_INTERVAL", "PacedAzureStandIn", "SCENARIOS"]

CONTOUR_LINES = "08_azure_event_types_and_polling/contour_lines"
_RECORDED = load_cassette(FIXTURES_DIR / f"{CONTOUR_LINES}.yaml").interactions
# What the notebook last sent, read from its fixture, for the unit tests: the agent and the question, asked twice.
GUIDE = {key: _RECORDED[0].request.body[key] for key in ("name", "instructions")}
CONTOURS_QUESTION, _ = [i.request.body["content"] for i in _RECORDED if i.request.method == "POST" and i.request.path.endswith("/messages")]
POLLING_INTERVAL = 0.25  # seconds between polls, as cell l08-11 polls; the SDK's default is 1

CONTOURS_REPLY = Reply(
    text="Contour lines join points of equal height, often 10 m apart. Close lines mean steep ground, widely "
    "spaced ones gentle slopes, and a V pointing uphill marks a valley.",
    first_token=0.5,
    gap=0.03,
)


class PacedAzureStandIn(AzureStandIn):
    """The Azure stand-in, where a run created without `stream` progresses in time for whoever polls it."""

    def __init__(self, polling_interval: float = POLLING_INTERVAL, seed: int = 6) -> None:
        super().__init__(seed=seed)
        self.polling_interval = polling_interval
        self._timelines: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self._polls: dict[str, int] = {}

    def _answer(self, body: dict[str, Any], frames: list[Any], queued: dict[str, Any]) -> Response:
        if not body.get("stream"):
            self._timelines[queued["id"]] = self.run_states(frames, 0.0, queued)
        return super()._answer(body, frames, queued)

    def _next_reply(self) -> tuple[Reply, random.Random]:
        # Pacing seeded by the reply's text: asked twice, a question is answered at the same pace both times,
        # so polling and streaming compare on equal terms.
        reply, _ = super()._next_reply()
        return reply, random.Random(f"{self.seed}:{reply.text}")

    @staticmethod
    async def _paced(frames: list[Any]) -> AsyncIterator[bytes]:
        # Each frame at its moment counted from the first, not a pause after the previous one: the event loop's
        # small oversleeps would add up over a stream of forty events on a busy machine, and the recorded stream
        # would end later than the polls, which count ideal intervals, saw the run complete.
        loop = asyncio.get_running_loop()
        due = loop.time()
        for frame in frames:
            due += frame.delay
            await asyncio.sleep(max(0.0, due - loop.time()))
            yield frame.data

    async def _get_run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        timeline = self._timelines.get(run_id)
        if timeline is None:
            return await super()._get_run(request)
        self._log(request)
        self._polls[run_id] = self._polls.get(run_id, 0) + 1
        elapsed = self._polls[run_id] * self.polling_interval
        return JSONResponse([state for at, state in timeline if at <= elapsed][-1])


AZURE_STANDIN = PacedAzureStandIn  # the service authoring records the notebook against


SCENARIOS = [
    Scenario(
        CONTOUR_LINES,
        "One agent, the same question on two threads. Run 1 goes without stream: the POST answers at once with the "
        "queued run, and create_and_process then polls GET .../runs/{id} every 0.25 s, seeing queued, in_progress and "
        "finally completed as the run's stream would have by each poll (recorded against a stand-in whose runs "
        "progress in time, as an ideal poller sees them), before one GET of the messages. Run 2 streams the same "
        "answer at the same pace; the agent is deleted at the end.",
        [CONTOURS_REPLY, CONTOURS_REPLY],  # the same question, polled then streamed
        surface="azure",
    )
]
