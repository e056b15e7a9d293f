"""Lesson 05's (and 06's handoff) Responses API fixtures replay through openai-agents, and a stream cut before response.completed is refused."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from agents import ModelBehaviorError, OpenAIProvider, RunConfig, Runner

import labs
from labs.lessons.lesson_05.scenarios import CLIFF_PROMPT, HANDOFF_FIXTURE, ORACLE_PROMPT, SCENE_PROMPT, SEED, game_master, storyteller
from labs.replay.cassette import Cassette, dump_cassette
from labs.randomness import replay_random
from labs.recordings import fixture
from labs.replay import ReplayServer

RUNS = {
    "opening_scene": (storyteller, SCENE_PROMPT, False),
    "cliff_climb": (game_master, CLIFF_PROMPT, True),
    "oracle_handoff": (game_master, ORACLE_PROMPT, True),  # recorded in lesson 06, with lesson 05's agents
}
FIXTURES = {"opening_scene": "05_agents_sdk_streaming/opening_scene", "cliff_climb": "05_agents_sdk_streaming/cliff_climb",
            "oracle_handoff": HANDOFF_FIXTURE}


def recorded_text(cassette: Cassette, request: int) -> str:
    events = cassette.interactions[request].response.events or []
    return "".join(e.json()["delta"] for e in events if e.event == "response.output_text.delta")


def recorded_tool_outputs(cassette: Cassette) -> list[str]:
    inputs = cassette.interactions[-1].request.body["input"]
    return [item["output"] for item in inputs if item.get("type") == "function_call_output"]


@pytest.mark.parametrize("name", RUNS)
async def test_lesson_run_replays_through_the_agents_sdk(name: str) -> None:
    make_agent, prompt, seeded = RUNS[name]
    cassette = fixture(FIXTURES[name])
    client = labs.configure_agents_sdk()
    result = Runner.run_streamed(make_agent(), prompt, context=replay_random(SEED) if seeded else None)
    events = [event async for event in result.stream_events()]
    await client.close()

    assert result.final_output == recorded_text(cassette, -1)
    assert len(result.raw_responses) == len(cassette.interactions)
    assert all(r.usage.total_tokens > 0 for r in result.raw_responses)
    outputs = [str(e.item.output) for e in events if e.type == "run_item_stream_event" and e.name == "tool_output"]
    handoff_outputs = 1 if name == "oracle_handoff" else 0  # the handoff's own function_call_output is not a tool_output
    # Seeded like the authoring run, the tools return exactly what the recorded follow-up requests carried.
    assert outputs == recorded_tool_outputs(cassette)[handoff_outputs:]


def test_the_narration_agrees_with_the_seeded_rolls() -> None:
    roll, coin = (lambda r: (r.randint(1, 20), r.choice(["heads", "tails"])))(random.Random(SEED))
    cassette = fixture("05_agents_sdk_streaming/cliff_climb")
    assert recorded_tool_outputs(cassette) == [str(roll), coin]
    assert recorded_text(cassette, 1).startswith(f"{roll}!") and recorded_text(cassette, 2).lower().startswith(coin)


def _copy_without(cassette: Cassette, folder: Path, dropped: set[str]) -> None:
    interaction = cassette.interactions[0]
    events = [e for e in interaction.response.events or [] if e.event not in dropped]
    interaction.response.events = events
    cassette.comment = f"{cassette.comment} Test copy without {', '.join(sorted(dropped)) or 'nothing'}."
    dump_cassette(cassette, folder / "copy.yaml")


async def _run_storyteller(folder: Path) -> Any:
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(folder,)) as server:
        client = labs.async_openai_client(server=server, max_retries=0)
        config = RunConfig(model_provider=OpenAIProvider(openai_client=client, use_responses=True), tracing_disabled=True)
        try:
            result = Runner.run_streamed(storyteller(), SCENE_PROMPT, run_config=config)
            async for _ in result.stream_events():
                pass
            return result.final_output
        finally:
            await client.close()


async def test_a_stream_without_response_completed_is_refused(tmp_path: Path) -> None:
    cassette = fixture("05_agents_sdk_streaming/opening_scene")
    _copy_without(cassette, tmp_path, {"response.completed"})
    with pytest.raises(ModelBehaviorError, match="did not produce a final response"):
        await _run_storyteller(tmp_path)


async def test_the_same_stream_with_response_completed_is_accepted(tmp_path: Path) -> None:
    cassette = fixture("05_agents_sdk_streaming/opening_scene")
    _copy_without(cassette, tmp_path, set())
    assert await _run_storyteller(tmp_path) == recorded_text(cassette, 0)


def test_every_lesson_stream_ends_with_response_completed() -> None:
    for name in RUNS:
        for interaction in fixture(FIXTURES[name]).interactions:
            last = (interaction.response.events or [])[-1]
            assert last.event == "response.completed" and json.loads(last.data)["response"]["usage"]["total_tokens"] > 0
