"""Lesson 00's set-up check through the real openai SDK: the greeting replays as recorded, and a miss explains itself.

The requests are the notebook's own (cells l00-05, l00-11 and l00-16), taken from the recording of the greeting.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI

from labs.clients import openai_client
from labs.config import FIXTURES_DIR
from labs.recordings import chat_text, fixture
from labs.replay import ReplayServer

HELLO = "00_setup_and_replay/hello"


@pytest.fixture(scope="module")
def client() -> Iterator[OpenAI]:
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR,)) as server:
        yield openai_client(server=server, max_retries=0)


@pytest.fixture
def greeting() -> dict:
    return fixture(HELLO).interactions[0].request.body


def test_the_greeting_streams_in_text_chunks_then_stop_without_a_usage_chunk(client: OpenAI, greeting: dict) -> None:
    chunks = list(client.chat.completions.create(model=greeting["model"], messages=greeting["messages"], stream=True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) > 1 and "".join(pieces) == chat_text(HELLO)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices and c.usage is None for c in chunks)


def test_the_raw_bytes_are_server_sent_events_ending_in_done(client: OpenAI, greeting: dict) -> None:
    with httpx.stream("POST", f"{client.base_url}chat/completions", json=greeting, headers={"Authorization": f"Bearer {client.api_key}"}) as response:
        raw = b"".join(response.iter_bytes())
    assert response.headers["content-type"].startswith("text/event-stream")
    assert raw.startswith(b"data: {") and raw.endswith(b"data: [DONE]\n\n")


def test_a_question_with_no_recording_is_a_miss_naming_the_closest_recording(client: OpenAI, greeting: dict) -> None:
    goodbye = [{"role": "user", "content": "Say goodbye to a learner who has finished the course."}]
    with pytest.raises(openai.NotFoundError) as miss:
        client.chat.completions.create(model=greeting["model"], messages=goodbye, stream=True)
    assert "Closest recording" in miss.value.message and "messages[0].content" in miss.value.message
