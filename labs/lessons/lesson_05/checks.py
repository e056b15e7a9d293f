"""Checks for lesson 05 (openai-agents streaming): exercise 5.1, one timeline row per stream event; 5.2, a run shown as it happens.

The check replays the lesson's three recorded runs through the real `Runner.run_streamed`, on a replay
server of its own (so it stays offline whatever LABS_MODE says), stamps each event with its time, and
compares the learner's row for every event with the row this module expects.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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


# Exercise 5.2: show a run as the reader should see it. Graded on behaviour, on the three recorded runs, at every
# moment the learner's handler asks the stream for its next event: by then the text that has arrived is on the
# screen (each message in one piece), every tool the run has called is named (counting, for each name, the times
# the text itself says it), and so is the agent a handoff went to, from the agent update that follows it.


@dataclass(frozen=True)
class Moment:
    """What had happened when the handler asked for the next event, and what the screen showed then."""

    text: str  # the text arrived so far
    tools: dict[str, int]  # the tools called so far, and how often
    agents: dict[str, int]  # the agents handed over to so far, and how often
    shown: str

    def unseen(self, screen: str | None = None) -> list[str]:
        """The tools and agents the screen names less often than the text says them plus the times they happened."""
        screen = self.shown if screen is None else screen
        due = {**self.tools, **self.agents}
        return sorted(name for name, count in due.items() if screen.count(name) < self.text.count(name) + count)


@dataclass
class RunScreen:
    """What the screen showed each time the learner's handler asked for the next event."""

    moments: list[Moment]
    messages: list[str]  # each message's text, whole
    printed: str


def _text_of(event: Any) -> str:
    from openai.types.responses import ResponseTextDeltaEvent

    return event.data.delta if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent) else ""


def _messages(events: list[TimedEvent]) -> list[str]:
    messages, current = [], ""
    for _, event in events:
        current += _text_of(event)
        if event.type == "run_item_stream_event" and event.name == "message_output_created" and current:
            messages, current = [*messages, current], ""
    return messages


async def _watch_run(show_run: Callable[[Any], Any], events: list[TimedEvent]) -> RunScreen:
    screen = io.StringIO()
    moments: list[Moment] = []

    async def pulled() -> Any:
        text, tools, agents, target = "", {}, {}, None
        for _, event in events:
            moments.append(Moment(text, dict(tools), dict(agents), screen.getvalue()))
            yield event
            text += _text_of(event)
            if event.type == "run_item_stream_event" and event.name == "tool_called":
                tools[event.item.raw_item.name] = tools.get(event.item.raw_item.name, 0) + 1
            elif event.type == "run_item_stream_event" and event.name == "handoff_occured":
                target = event.item.target_agent.name
            elif event.type == "agent_updated_stream_event" and target is not None:  # the update that follows a handoff
                agents[target], target = agents.get(target, 0) + 1, None
        moments.append(Moment(text, dict(tools), dict(agents), screen.getvalue()))

    with contextlib.redirect_stdout(screen):
        await show_run(pulled())
    return RunScreen(moments, _messages(events), screen.getvalue())


def _in_order(text: str, screen: str) -> bool:
    """Whether the characters of `text` appear on `screen` in order (other lines may come between them)."""
    rest = iter(screen)
    return all(character in rest for character in text)


def _verify_run_screen(outcome: RunScreen) -> None:
    for moment in outcome.moments:
        assert _in_order(moment.text, moment.shown), f"{moment.text[-30:]!r} had arrived but was not on the screen yet"
        unseen = moment.unseen()
        assert not unseen, f"the run had reached {unseen[0]} but the screen did not name it yet: the reader did not see it happen"
    for message in outcome.messages:
        assert message in outcome.printed, f"the message {message[:30]!r}... should read in one piece on the screen"


def run_screen_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 5.2, recognised in what the screen showed along the way or the exception raised."""

    def screens(test: Callable[[RunScreen], bool]) -> Callable[[object], bool]:
        return lambda outcome: isinstance(outcome, RunScreen) and test(outcome)

    def never(o: RunScreen) -> list[str]:
        return o.moments[-1].unseen(o.printed)

    def text_late(o: RunScreen) -> bool:
        return any(not _in_order(m.text, m.shown) for m in o.moments) and _in_order(o.moments[-1].text, o.printed)

    return (
        Mistake("not every raw_response_event carries text: only those whose event.data is a ResponseTextDeltaEvent have a .delta",
                lambda outcome: isinstance(outcome, AttributeError) and "delta" in str(outcome)),
        Mistake("the text waited for its message: print each delta of a ResponseTextDeltaEvent (end='', flush=True) as it arrives; "
                "message_output_created comes only once the response is complete", screens(text_late)),
        Mistake("the handoff went unseen: the SDK spells the run item 'handoff_occured' (one r), and the agent_updated_stream_event "
                "after it names the new agent too",
                screens(lambda o: any(name in o.moments[-1].agents for name in never(o)))),
        Mistake("a tool call went unseen: a run_item_stream_event named 'tool_called' carries it, and event.item.raw_item.name is the tool",
                screens(lambda o: any(name in o.moments[-1].tools for name in never(o)))),
        Mistake("the tool was named only after it had run: announce it on 'tool_called', before its 'tool_output'",
                screens(lambda o: not never(o) and any(m.unseen() for m in o.moments))),
    )


@exercise("5.2", hint=(
    "async for event in events: if event.type == 'raw_response_event' and isinstance(event.data, ResponseTextDeltaEvent): "
    "print(event.data.delta, end='', flush=True); elif event.type == 'run_item_stream_event' and event.name == 'tool_called': "
    "print(f'\\n🎲 {event.item.raw_item.name}({event.item.raw_item.arguments})', flush=True); elif event.type == "
    "'agent_updated_stream_event': print(f'\\n→ {event.new_agent.name}', flush=True)"
))
def check_show_run(show_run: Callable[[Any], Any]) -> Iterator[Case]:
    runs = recorded_runs()
    cases = [
        ("narration only", "opening_scene", "the reader should see the narration as it arrives"),
        ("tool calls between narration", "cliff_climb", "the reader should see each tool call as it happens, between the narration"),
        ("a handoff to another agent", "oracle_handoff", "the reader should see which agent takes over, and its tool calls"),
    ]
    for name, run, hint in cases:
        events = runs[run]
        yield Case(name, run=lambda events=events: _watch_run(show_run, events), verify=_verify_run_screen, hint=hint,
                   mistakes=run_screen_mistakes())
