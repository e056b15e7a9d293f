"""Lesson 06: one trail-guide agent, four questions: every callback, the event order, a recipe's silent bug, polling vs streaming.

The scenario makes the notebook's calls in the notebook's order, so the whole lesson replays from one
fixture. Its polling part needs a service whose runs progress in time: the base Azure stand-in finishes
a run the moment it is created, so a `create_and_process` poll would see `completed` on its first GET and
polling would look as fast as streaming. `PacedAzureStandIn` answers `GET .../runs/{id}` for a run created
without `stream` with the state the run's stream would have reached by then, as the service does.

"By then" counts polls, not wall-clock time: the n-th GET sees the run as it is `n * polling_interval`
seconds after creation, the moments an ideal poller (sleep, then an instant GET) asks. Wall-clock time
would record the authoring machine's latency instead (the recording proxy rewrites the fixture after
every request, tens to hundreds of ms as the fixture grows) and replay, which answers GETs in order and
at once, would then finish polling early. Pacing depends only on a reply's text, so the question asked
twice streams at the same pace twice, and polling and streaming compare on equal terms.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ... import clients
from ...replay import default_server
from .. import Reply, Scenario
from ...replay.standins.azure import AzureStandIn

__all__ = [
    "CONTOURS_QUESTION",
    "GUIDE",
    "ORDER_QUESTION",
    "POLLING_INTERVAL",
    "PREPARE_QUESTION",
    "PacedAzureStandIn",
    "RECIPE_QUESTION",
    "SCENARIOS",
    "paced_azure_upstream",
]

GUIDE = {"name": "trail-guide", "instructions": "You are a mountain trail guide. Answer in two or three short sentences."}
PREPARE_QUESTION = "What should I check before setting out on a mountain hike?"
ORDER_QUESTION = "How long does it take to hike 10 km with 600 m of climbing?"
RECIPE_QUESTION = "Is it safe to cross a snowfield in trail runners?"
CONTOURS_QUESTION = "How do I read contour lines on a hiking map?"
POLLING_INTERVAL = 0.25  # seconds between polls; the SDK's default is 1

CONTOURS_REPLY = Reply(
    text="Contour lines join points of equal height, often 10 m apart. Close lines mean steep ground, widely "
    "spaced ones gentle slopes, and a V pointing uphill marks a valley.",
    first_token=0.5,
    gap=0.03,
)

REPLIES = [
    Reply(
        text="Check the forecast for the whole day — not just the morning — and when the sun sets. Tell someone "
        "your route and your turnaround time. Pack water, a warm layer and a headlamp, even for a short walk.",
        first_token=0.5,
        gap=0.03,
    ),
    Reply(text="About three and a half hours: an hour for every 5 km, plus an hour for every 600 m of climbing.", first_token=0.4, gap=0.03),
    Reply(text="Only on flat, soft snow. On a steep or icy slope one slip can send you into the rocks below — wear microspikes.", first_token=0.45),
    CONTOURS_REPLY,  # the same question, polled then streamed
    CONTOURS_REPLY,
]


class PacedAzureStandIn(AzureStandIn):
    """The Azure stand-in, where a run created without `stream` progresses in time for whoever polls it."""

    def __init__(self, polling_interval: float, seed: int = 6) -> None:
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

    async def _get_run(self, request: Request) -> Response:
        run_id = request.path_params["run_id"]
        timeline = self._timelines.get(run_id)
        if timeline is None:
            return await super()._get_run(request)
        self._log(request)
        self._polls[run_id] = self._polls.get(run_id, 0) + 1
        elapsed = self._polls[run_id] * self.polling_interval
        return JSONResponse([state for at, state in timeline if at <= elapsed][-1])


@contextmanager
def paced_azure_upstream(*replies: Reply) -> Iterator[PacedAzureStandIn]:
    """Record the Azure requests made inside the block against a `PacedAzureStandIn` scripted with `replies`."""
    with PacedAzureStandIn(POLLING_INTERVAL) as standin:
        standin.script(*replies)
        with default_server().upstream("azure", standin.upstream_url):
            yield standin
        if standin.replies:
            raise RuntimeError(f"{len(standin.replies)} scripted replies were not requested")


def _ask(client: Any, question: str) -> str:
    thread = client.threads.create()
    client.messages.create(thread_id=thread.id, role="user", content=question)
    return thread.id


def trail_guide() -> None:
    from azure.ai.agents.models import AgentEventHandler, MessageRole

    with paced_azure_upstream(*REPLIES), clients.azure_agents_client() as client:
        agent = client.create_agent(model=clients.azure_model(), **GUIDE)
        thread_id = _ask(client, PREPARE_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=AgentEventHandler()) as stream:
            stream.until_done()
        list(client.messages.list(thread_id=thread_id))
        thread_id = _ask(client, ORDER_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=AgentEventHandler()) as stream:
            list(stream)
        thread_id = _ask(client, RECIPE_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=AgentEventHandler()) as stream:
            stream.until_done()
        thread_id = _ask(client, CONTOURS_QUESTION)
        client.runs.create_and_process(thread_id=thread_id, agent_id=agent.id, polling_interval=POLLING_INTERVAL)
        client.messages.get_last_message_text_by_role(thread_id=thread_id, role=MessageRole.AGENT)
        thread_id = _ask(client, CONTOURS_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=AgentEventHandler()) as stream:
            stream.until_done()
        client.delete_agent(agent.id)


SCENARIOS = [
    Scenario(
        "06_azure_event_handlers/trail_guide",
        "One agent, five runs on five threads, in the notebook's order. Runs 1 to 3 stream (created and queued both "
        "carry status queued; a message_creation step wraps the message events; the answers of runs 1 and 3 hold em "
        "dashes, three bytes in UTF-8); run 1 is followed by listing its thread, two GETs because the SDK pages on last_id. Run 4 asks the "
        "question of run 5 without stream: the POST answers at once with the queued run, and create_and_process then "
        "polls GET .../runs/{id} every 0.25 s, seeing queued, in_progress and finally completed as the run's stream "
        "would have by each poll (recorded against a stand-in whose runs progress in time, as an ideal poller sees them), "
        "before one GET of the messages.",
        [],
        trail_guide,
        surface="azure",
    )
]
