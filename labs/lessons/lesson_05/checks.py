"""Checks for lesson 05 (openai-agents streaming): exercise 5.1, each message's text from the raw events; 5.2, a run
shown as it happens.

Both replay the lesson's recorded runs through the real `Runner.run_streamed`, on a replay server of its own (so
they stay offline whatever LABS_MODE says): the storyteller's scene, the reasoning model's riddle, the cliff climb
and the handoff to the oracle (recorded in lesson 06, with the same agents). 5.1 compares the learner's texts with
the run's own message items, so it holds for any recording; 5.2 watches what the learner's code prints while the
run goes on. Lesson 06's timeline exercise uses the same runs (`recorded_runs`).
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
from ...timeline import TimedEvent, timed

__all__ = ["check_message_texts", "check_show_run", "message_texts_mistakes", "recorded_runs", "run_screen_mistakes"]

FIXTURE_FOLDERS = (FIXTURES_DIR / "05_agents_sdk_streaming", FIXTURES_DIR / "06_agents_sdk_handoffs_and_chat")


async def _replay_runs(runs: list[tuple[str, str, int | None]]) -> list[list[TimedEvent]]:
    """Each (agent, prompt, seed) streamed through the real runner from the recorded fixtures."""
    from agents import OpenAIProvider, RunConfig, Runner

    from .scenarios import game_master, riddle_keeper, storyteller

    agents = {"storyteller": lambda: storyteller(RECORDED_MODEL), "game_master": lambda: game_master(RECORDED_MODEL), "riddle_keeper": riddle_keeper}
    with ReplayServer(mode="replay", speed=0, fixture_dirs=FIXTURE_FOLDERS) as server:
        client = async_openai_client(server=server)
        config = RunConfig(model_provider=OpenAIProvider(openai_client=client, use_responses=True), tracing_disabled=True)
        recorded = []
        for agent, prompt, seed in runs:
            context = random.Random(seed) if seed is not None else None
            result = Runner.run_streamed(agents[agent](), prompt, context=context, run_config=config)
            recorded.append([pair async for pair in timed(result.stream_events())])
        await client.close()
    return recorded


@functools.lru_cache(maxsize=1)
def recorded_runs() -> dict[str, list[TimedEvent]]:
    """The recorded runs as timed events, replayed once (on a fresh event loop in a worker thread)."""
    from .scenarios import CLIFF_PROMPT, ORACLE_PROMPT, RIDDLE_PROMPT, SCENE_PROMPT, SEED

    runs = {"opening_scene": ("storyteller", SCENE_PROMPT, None), "reasoning_riddle": ("riddle_keeper", RIDDLE_PROMPT, None),
            "cliff_climb": ("game_master", CLIFF_PROMPT, SEED), "oracle_handoff": ("game_master", ORACLE_PROMPT, SEED)}
    with ThreadPoolExecutor(max_workers=1) as worker:
        events = worker.submit(asyncio.run, _replay_runs(list(runs.values()))).result()
    return dict(zip(runs, events))


# Exercise 5.1: the text of each message a run streamed, keyed by its item. Graded against the run's own
# message_output_created items; the typical wrong answers are recognised by running them on the same events.


def _raw(events: list[TimedEvent]) -> list[Any]:
    return [event.data for _, event in events if event.type == "raw_response_event"]


def _texts(events: list[TimedEvent], key: Callable[[Any], Any], keep: Callable[[Any], bool] = lambda data: True) -> dict[Any, str]:
    texts: dict[Any, str] = {}
    for data in _raw(events):
        if data.type == "response.output_text.delta" and keep(data):
            texts[key(data)] = texts.get(key(data), "") + data.delta
    return texts


def expected_texts(events: list[TimedEvent]) -> dict[str, str]:
    """Each message item's id and text, as the run's message_output_created items hold them."""
    from agents import ItemHelpers

    return {event.item.raw_item.id: ItemHelpers.text_message_output(event.item) for _, event in events
            if event.type == "run_item_stream_event" and event.name == "message_output_created"}


def _verify_texts(events: list[TimedEvent]) -> Callable[[object], None]:
    wanted = expected_texts(events)

    def verify(texts: object) -> None:
        assert isinstance(texts, dict), f"returned a {type(texts).__name__}; return a dict: each message item's id → its text"
        missing = [item for item in wanted if item not in texts]
        assert not missing, f"the message item {missing[0]!r} is missing (you returned the keys {list(texts)[:3]})"
        extra = [key for key in texts if key not in wanted]
        assert not extra, f"{extra[0]!r} is not a message item of this run: the keys are the items' ids (event.data.item_id)"
        for item, text in wanted.items():
            assert texts[item] == text, f"the text of {item} was {str(texts[item])[:40]!r}, expected {text[:40]!r}"

    return verify


def message_texts_mistakes(events: list[TimedEvent]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 5.1 on one run's events, recognised by what they return or raise."""
    by_index = _texts(events, lambda data: data.output_index)
    first_item = _texts(events, lambda data: data.item_id, lambda data: data.output_index == 0)
    return (
        Mistake("not every raw_response_event carries text: only the response.output_text.delta events (event.data a "
                "ResponseTextDeltaEvent) have a .delta and an .item_id", lambda outcome: isinstance(outcome, AttributeError) and (
                    "delta" in str(outcome) or "item_id" in str(outcome))),
        Mistake("output_index numbers the items of one response and starts again at 0 in the next one: key each piece on "
                "the item it belongs to, event.data.item_id", lambda outcome: outcome == by_index or (
                    isinstance(outcome, dict) and any(isinstance(key, int) for key in outcome))),
        Mistake("a reasoning model's message is the response's second item (output_index 1, after the reasoning item): "
                "take every text delta, whatever its position", lambda outcome: outcome == first_item),
        Mistake("one entry per message: a run of several responses writes several messages, so return a dict of item id → text, "
                "not one string", lambda outcome: isinstance(outcome, str)),
    )


@exercise("5.1", hint=(
    "texts = {}; for event in events: if event.type == 'raw_response_event' and isinstance(event.data, ResponseTextDeltaEvent): "
    "texts[event.data.item_id] = texts.get(event.data.item_id, '') + event.data.delta; return texts"
))
def check_message_texts(message_texts: Callable[[list[Any]], object]) -> Iterator[Case]:
    runs = recorded_runs()
    cases = [
        ("one response, one message", "opening_scene", "gather the text deltas of each message item"),
        ("a reasoning model: the message comes after a reasoning item", "reasoning_riddle", "every text delta belongs to a message item"),
        ("three responses, a message in each, between tool calls", "cliff_climb", "each response writes a message of its own"),
    ]
    for name, run, hint in cases:
        events = runs[run]
        yield Case(name, run=lambda events=events: message_texts([event for _, event in events]), verify=_verify_texts(events), hint=hint,
                   mistakes=message_texts_mistakes(events))


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
