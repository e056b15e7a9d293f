"""Lesson 08's polling and streaming through the real azure-ai-agents client, and the stand-in its polls were recorded against.

The lesson asks one question twice, polled with `create_and_process` then streamed: both must give the
recorded answer, the recorded polls must see the run progress at the pace of its stream, and the paced
stand-in (`labs.lessons.lesson_08.scenarios.PacedAzureStandIn`) must reveal a polled run poll by poll.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk, MessageRole, ThreadRun

import labs
from labs.lessons import Reply
from labs.lessons.lesson_08 import scenarios as guide
from labs.recordings import fixture
from tests.azure_support import answers, ask

CONTOURS = "08_azure_event_types_and_polling/contour_lines"


class Noting(AgentEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[str] = []
        self.text = ""

    def on_thread_run(self, run: ThreadRun) -> None:
        self.statuses.append(run.status)

    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.text += delta.text


def test_lesson_08_polling_and_streaming_give_the_same_answer() -> None:
    with labs.azure_agents_client() as client:
        agent = client.create_agent(model=labs.azure_model(), **guide.GUIDE)
        thread_id = ask(client, guide.CONTOURS_QUESTION)
        run = client.runs.create_and_process(thread_id=thread_id, agent_id=agent.id, polling_interval=0)
        polled = client.messages.get_last_message_text_by_role(thread_id=thread_id, role=MessageRole.AGENT)
        noting = Noting()
        thread_id = ask(client, guide.CONTOURS_QUESTION)
        with client.runs.stream(thread_id=thread_id, agent_id=agent.id, event_handler=noting) as stream:
            stream.until_done()
        client.delete_agent(agent.id)

    assert run.status == "completed" and run.usage.total_tokens > 0
    assert polled is not None and polled.text.value == noting.text == answers(CONTOURS)[-1]




def test_the_recorded_polls_keep_the_pace_of_the_stream_of_the_same_question() -> None:
    interactions = fixture(CONTOURS).interactions
    polls = [i.response.body["status"] for i in interactions if i.request.method == "GET" and "/runs/" in i.request.path]
    assert polls[-1] == "completed" and set(polls[:-1]) <= {"queued", "in_progress"}
    assert polls == sorted(polls[:-1], key=["queued", "in_progress"].index) + ["completed"], "a run's status never goes back"
    streamed = [i.response.events for i in interactions if i.request.streamed][-1]
    # The n-th poll sees the run as it was n intervals after creation: the run completed in the last interval.
    assert (len(polls) - 1) * guide.POLLING_INTERVAL < streamed[-1].t <= len(polls) * guide.POLLING_INTERVAL + 0.05


def test_the_paced_stand_in_reveals_a_polled_run_poll_by_poll() -> None:
    reply = Reply(text="One two three four five six seven eight nine ten.", first_token=0.3, gap=0.05)
    with guide.PacedAzureStandIn(polling_interval=0.1) as standin, httpx.Client(base_url=standin.endpoint) as http:
        standin.script(reply, reply)
        agent = http.post("/assistants", json={"model": standin.deployment, "name": "pacing"}).json()
        thread = http.post("/threads", json={}).json()
        started = time.monotonic()
        with http.stream("POST", f"/threads/{thread['id']}/runs", json={"assistant_id": agent["id"], "stream": True}) as response:
            for _ in response.iter_bytes():
                pass
        streamed = time.monotonic() - started  # at least the sum of the stream's pauses
        thread = http.post("/threads", json={}).json()
        run = http.post(f"/threads/{thread['id']}/runs", json={"assistant_id": agent["id"]}).json()
        statuses = [run["status"]]
        while statuses[-1] != "completed" and len(statuses) < 100:
            statuses.append(http.get(f"/threads/{thread['id']}/runs/{run['id']}").json()["status"])

    assert statuses[0] == "queued" and "in_progress" in statuses and statuses[-1] == "completed"
    polls = len(statuses) - 1
    # Paced by its text, the polled run completes when the streamed one did: within the last poll interval.
    assert (polls - 1) * 0.1 < streamed and polls * 0.1 < streamed + 0.1




async def test_lesson_08_polling_with_the_async_client() -> None:
    async with labs.async_azure_agents_client() as client:
        agent = await client.create_agent(model=labs.azure_model(), **guide.GUIDE)
        thread = await client.threads.create()
        await client.messages.create(thread_id=thread.id, role="user", content=guide.CONTOURS_QUESTION)
        run = await client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0)
        polled = await client.messages.get_last_message_text_by_role(thread_id=thread.id, role=MessageRole.AGENT)

    assert run.status == "completed" and polled is not None and polled.text.value == answers(CONTOURS)[0]
