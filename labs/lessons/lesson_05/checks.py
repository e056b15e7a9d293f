"""Checks for lesson 05 (openai-agents streaming): exercise 5.1, one timeline row per stream event.

The check replays the lesson's three recorded runs through the real `Runner.run_streamed`, on a replay
server of its own (so it stays offline whatever LABS_MODE says), stamps each event with its time, and
compares the learner's row for every event with the row this module expects.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...checks import Case, Mistake, exercise
from ...clients import RECORDED_MODEL, async_openai_client
from ...config import FIXTURES_DIR
from ...replay import ReplayServer
from ...timeline import (
    AgentUpdatedRow,
    HandoffOccurredRow,
    HandoffRequestedRow,
    MessageRow,
    TextRow,
    TimedEvent,
    TimelineRow,
    ToolCalledRow,
    ToolOutputRow,
    timed,
)


def expected_row(at: float, event: Any) -> TimelineRow | None:
    """The row the timeline wants for one stream event (None: a raw event that carries no text)."""
    from agents import ItemHelpers
    from openai.types.responses import ResponseTextDeltaEvent

    if event.type == "agent_updated_stream_event":
        return AgentUpdatedRow(at, event.new_agent.name)
    if event.type == "raw_response_event":
        return TextRow(at, event.data.delta) if isinstance(event.data, ResponseTextDeltaEvent) else None
    item = event.item
    if event.name == "tool_called":
        return ToolCalledRow(at, item.raw_item.name, item.raw_item.arguments)
    if event.name == "tool_output":
        return ToolOutputRow(at, str(item.output))
    if event.name == "message_output_created":
        return MessageRow(at, item.agent.name, ItemHelpers.text_message_output(item))
    if event.name == "handoff_requested":
        return HandoffRequestedRow(at, item.raw_item.name)
    if event.name == "handoff_occured":
        return HandoffOccurredRow(at, item.source_agent.name, item.target_agent.name)
    return None


async def _replay_runs(runs: list[tuple[str, str, int | None]]) -> list[list[TimedEvent]]:
    """Each (agent, prompt, seed) streamed through the real runner from the recorded fixtures."""
    from agents import OpenAIProvider, RunConfig, Runner

    from .scenarios import game_master, storyteller

    agents = {"storyteller": storyteller, "game_master": game_master}
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / "05_agents_sdk_streaming",)) as server:
        client = async_openai_client(server=server)
        config = RunConfig(model_provider=OpenAIProvider(openai_client=client, use_responses=True), tracing_disabled=True)
        recorded = []
        for agent, prompt, seed in runs:
            context = random.Random(seed) if seed is not None else None
            result = Runner.run_streamed(agents[agent](RECORDED_MODEL), prompt, context=context, run_config=config)
            recorded.append([pair async for pair in timed(result.stream_events())])
        await client.close()
    return recorded


@functools.lru_cache(maxsize=1)
def recorded_runs() -> dict[str, list[TimedEvent]]:
    """The lesson's three runs as timed events, replayed once (on a fresh event loop in a worker thread)."""
    from .scenarios import CLIFF_PROMPT, ORACLE_PROMPT, SCENE_PROMPT, SEED

    runs = {"opening_scene": ("storyteller", SCENE_PROMPT, None), "cliff_climb": ("game_master", CLIFF_PROMPT, SEED),
            "oracle_handoff": ("game_master", ORACLE_PROMPT, SEED)}
    with ThreadPoolExecutor(max_workers=1) as worker:
        events = worker.submit(asyncio.run, _replay_runs(list(runs.values()))).result()
    return dict(zip(runs, events))


def _describe(row: object) -> str:
    if row is None:
        return "None"
    kind = getattr(row, "type", type(row).__name__)
    fields = {k: v for k, v in getattr(row, "__dict__", {}).items() if k not in ("type", "at")}
    shown = ", ".join(f"{k}={str(v)[:40]!r}" for k, v in fields.items())
    return f"{kind}({shown})" if fields else repr(row)[:80]


def _verify(events: list[TimedEvent]) -> Callable[[list[object]], None]:
    def verify(rows: list[object]) -> None:
        for (at, event), row in zip(events, rows):
            wanted = expected_row(at, event)
            kind = getattr(event, "name", None) or (event.data.type if event.type == "raw_response_event" else event.type)
            assert row == wanted, f"for a {kind} event you returned {_describe(row)}, expected {_describe(wanted)}"

    return verify


def _pairs(events: list[TimedEvent], rows: object) -> list[tuple[object, object]]:
    """(expected row, learner's row) for each event, when the learner returned a list."""
    if not isinstance(rows, list):
        return []
    return [(expected_row(at, event), row) for (at, event), row in zip(events, rows)]


def timeline_mistakes(events: list[TimedEvent]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 5.1 on one run's events, recognised in the rows returned or the exception raised."""

    def some(test: Callable[[object, object], bool]) -> Callable[[object], bool]:
        return lambda rows: any(test(want, got) for want, got in _pairs(events, rows))

    return (
        Mistake("not every raw_response_event carries text: only those whose event.data is a ResponseTextDeltaEvent have a .delta; "
                "return None for the others", lambda outcome: isinstance(outcome, AttributeError) and "delta" in str(outcome)),
        Mistake("return the row dataclasses of labs.timeline (TextRow(at, text), ToolCalledRow(...), ...), not dicts or tuples",
                some(lambda want, got: want is not None and isinstance(got, (dict, tuple)))),
        Mistake("the SDK spells the run item event 'handoff_occured' (one r): compare event.name with that spelling",
                some(lambda want, got: isinstance(want, HandoffOccurredRow) and got is None)),
        Mistake("a tool's output can be any object: the row holds str(event.item.output)",
                some(lambda want, got: isinstance(want, ToolOutputRow) and isinstance(got, ToolOutputRow) and not isinstance(got.output, str))),
        Mistake("the rows carry the time they were given (`at`), unchanged",
                some(lambda want, got: want is not None and type(want) is type(got) and getattr(got, "at", None) != getattr(want, "at", None))),
        Mistake("a raw event that carries no text gets no row: return None for it",
                some(lambda want, got: want is None and got is not None)),
    )


@exercise("5.1", hint=(
    "if event.type == 'agent_updated_stream_event': AgentUpdatedRow(at, event.new_agent.name); if event.type == 'raw_response_event': "
    "TextRow(at, event.data.delta) when event.data is a ResponseTextDeltaEvent, else None; otherwise it is a run item event: branch on "
    "event.name ('tool_called', 'tool_output', 'message_output_created', 'handoff_requested', 'handoff_occured') and build the row "
    "from event.item; None for any other event"
))
def check_timeline_row(timeline_row: Callable[[float, Any], object]) -> Iterator[Case]:
    runs = recorded_runs()
    cases = [
        ("narration only: agent_updated, text deltas, one message", "opening_scene",
         "return AgentUpdatedRow(at, event.new_agent.name) and TextRow(at, event.data.delta); None for other raw events"),
        ("tool calls between narration", "cliff_climb",
         "tool_called: event.item.raw_item.name and .arguments; tool_output: str(event.item.output)"),
        ("a handoff to another agent", "oracle_handoff",
         "handoff_requested: event.item.raw_item.name; handoff_occured: event.item.source_agent.name and target_agent.name"),
    ]
    for name, run, hint in cases:
        events = runs[run]
        yield Case(name, run=lambda events=events: [timeline_row(at, event) for at, event in events], verify=_verify(events), hint=hint,
                   mistakes=timeline_mistakes(events))
