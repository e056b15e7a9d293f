"""Many clients at once: each concurrent stream gets the answer recorded for its own prompt.

The web app's four backends (`labs.web`) run 50 streams at the same time in one event loop, through
the real SDKs and the replay server over loopback. A scenario's position is kept per conversation (the
Azure thread, the chat history), so steps that look alike once ids are neutral (every Azure chain
creates the same agent and starts a run the same way) are still served from the client's own recording.
The expected answers come from the scenarios that recorded the fixtures, never from the code under test.
"""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from httpx_sse import aconnect_sse

import labs
from labs.lessons.lesson_12.scenarios import ANSWERS, PROMPTS
from labs.web import create_app

STREAMS = 50
# Every backend's every recorded prompt, round-robin, so each prompt runs several times alongside the others.
MIX = list(itertools.islice(itertools.cycle(sorted(PROMPTS, key=lambda k: (k.split("_")[1:], k))), STREAMS))


async def _answer(client: httpx.AsyncClient, key: str) -> str:
    params = {"message": PROMPTS[key], "backend": key.split("_")[0]}
    async with aconnect_sse(client, "GET", "/chat/stream", params=params) as source:
        events = [event async for event in source.aiter_sse()]
    last = events[-1]
    return last.json()["final_response"] if last.event == "response_complete" else f"<{last.event}: {last.data}>"


async def _wrong_answers(speed: float) -> list[tuple[str, str]]:
    app = create_app()
    limits = httpx.Limits(max_connections=STREAMS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web", limits=limits, timeout=120) as client:
        with labs.replay_speed(speed):
            answers = await asyncio.gather(*(_answer(client, key) for key in MIX))
    return [(key, answer) for key, answer in zip(MIX, answers, strict=True) if answer != ANSWERS[key]]


def test_the_mix_covers_every_backend_several_times() -> None:
    assert {key.split("_")[0] for key in MIX} == {"chat", "agents", "azure", "sk"}
    assert min(MIX.count(key) for key in PROMPTS) >= 5


@pytest.mark.parametrize("speed", [0, 1], ids=["speed-0", "speed-1"])
async def test_fifty_concurrent_mixed_streams_each_get_their_own_answer(speed: float) -> None:
    wrong = await _wrong_answers(speed)
    assert not wrong, f"{len(wrong)} of {STREAMS} concurrent streams got another answer: {wrong[:3]}"
