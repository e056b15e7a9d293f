"""Checks for lesson 06 (handoffs, timing and the terminal chat): exercise 6.1, one timeline row per stream event;
6.2, the terminal chat kept within a token budget.

6.1 replays lesson 05's agents through the real `Runner.run_streamed` on the recorded runs (`recorded_runs`, on a
replay server of its own, so it stays offline whatever LABS_MODE says), stamps each event with its time, and
compares the learner's row for every event with the row this module expects.

6.2 runs `labs.chat` itself: its `Chat` over its openai-agents backend (`Runner.run_streamed`), on a replay server
of its own holding the two budget conversations, with the learner's function choosing what each request carries.
It reads the requests as they leave the client and judges them on behaviour, whatever the recorded wording: each
one ends with the new question, carries whole messages of the conversation, its newest turns, complete turns only,
within the budget, and leaves out no turn that would have fit; and the chat's own history stays whole.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...checks import Case, Mistake, exercise
from ...clients import RECORDED_MODEL, async_openai_client
from ...config import FIXTURES_DIR
from ...recordings import fixture
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
)
from ..lesson_05.checks import recorded_runs

__all__ = ["BudgetedChat", "budget_mistakes", "check_fit_to_budget", "check_timeline_row", "expected_row", "timeline_mistakes"]


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
    """The typical wrong answers to 6.1 on one run's events, recognised in the rows returned or the exception raised."""

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


@exercise("6.1", hint=(
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


# Exercise 6.2: keep the chat within a token budget.

Said = tuple[str, str]  # (role, text) of one message


@dataclass
class BudgetedChat:
    """What the chat sent with the learner's function choosing, and what it kept."""

    budget: int
    conversation: list[Said]  # the whole conversation: every question with its recorded answer
    sent: list[list[Said]] = field(default_factory=list)  # each request's messages, as they left the client
    history: list[Said] = field(default_factory=list)  # the chat's own history at the end
    answers: int = 0
    returned: list[object] = field(default_factory=list)  # what the learner's function returned, turn by turn

    def full(self, request: int) -> list[Said]:
        """The conversation as it stood when request `request` (from 0) was sent: the earlier turns and its question."""
        return self.conversation[: 2 * request + 1]


def _recorded_conversation(budget: int) -> list[Said]:
    from ...chat import RECORDED_PROMPTS
    from .scenarios import budget_fixture

    conversation: list[Said] = []
    for prompt, interaction in zip(RECORDED_PROMPTS, fixture(budget_fixture(budget)).interactions):
        events = interaction.response.events or []
        conversation += [("user", prompt), ("assistant", "".join(e.json()["delta"] for e in events if e.event == "response.output_text.delta"))]
    return conversation


def _cost(messages: Sequence[Said]) -> int:
    from ...chat import Message
    from .scenarios import tokens

    return sum(tokens(Message(role, text)) for role, text in messages)  # type: ignore[arg-type]


async def chat_within_budget(fit: Callable[..., Any], budget: int) -> BudgetedChat:
    """Run the recorded questions through `labs.chat` with `fit(history, budget, tokens)` choosing what each request carries."""
    import agents
    import httpx
    from rich.console import Console

    from ...chat import RECORDED_PROMPTS, AgentsChatBackend, Chat
    from ...replay import ReplayServer
    from .scenarios import BudgetedBackend, budget_instructions, tokens

    outcome = BudgetedChat(budget, _recorded_conversation(budget))
    raised: list[BaseException] = []

    async def keep(request: httpx.Request) -> None:
        if request.url.path.endswith("/responses"):
            outcome.sent.append([(item.get("role", ""), item.get("content", "")) for item in json.loads(request.content)["input"]])

    def learners(history: Any, budget: int, count: Any) -> Any:
        try:
            chosen = fit(history, budget, count)
        except BaseException as error:  # the chat would swallow it; the check reports it
            raised.append(error)
            raise
        outcome.returned.append(chosen)
        return chosen

    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / "06_agents_sdk_handoffs_and_chat",)) as server:
        http = httpx.AsyncClient(event_hooks={"request": [keep]})
        inner = AgentsChatBackend(async_openai_client(server=server, http_client=http, max_retries=0), RECORDED_MODEL, budget_instructions(budget))
        chat = Chat(BudgetedBackend(inner, learners, budget, tokens), Console(file=io.StringIO(), width=200, force_jupyter=False))  # type: ignore[arg-type]
        try:
            with agents.trace("labs check 6.2", disabled=True), _quiet("openai.agents"):  # a miss is judged, not logged
                for prompt in RECORDED_PROMPTS:
                    await chat.submit(prompt)
                    if raised:
                        raise raised[0]
        finally:
            await inner.aclose()
    outcome.history = [(m.role, m.text) for m in chat.history]
    outcome.answers = len(chat.answers)
    return outcome


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _is_list_of_messages(outcome: BudgetedChat) -> bool:
    from ...chat import Message

    return all(isinstance(chosen, list) and all(isinstance(m, Message) for m in chosen) for chosen in outcome.returned)


def _problems(outcome: BudgetedChat) -> Iterator[tuple[str, str]]:
    """(kind, what is wrong) for each request that breaks a rule, in the order the rules are checked."""
    if not _is_list_of_messages(outcome):
        bad = next(chosen for chosen in outcome.returned if not isinstance(chosen, list) or not all(hasattr(m, "role") for m in chosen))
        yield "type", f"your function returned {type(bad).__name__} {str(bad)[:40]}; return a list of labs.chat.Message"
        return
    for number, sent in enumerate(outcome.sent):
        full, question = outcome.full(number), outcome.full(number)[-1]
        said = f"the request for question {number + 1} ({question[1][:30]!r}…)"
        if not sent or sent[-1] != question:
            yield "question", f"{said} did not end with that question"
            continue
        if any(message not in full for message in sent):
            cut = next(message for message in sent if message not in full)
            yield "cut", f"{said} carried {cut[0]} text that is not a whole message of the conversation: {cut[1][:40]!r}"
            continue
        if sent != full[len(full) - len(sent):]:
            yield "older", f"{said} kept older messages and left out newer ones"
            continue
        if sent[0][0] != "user":
            yield "half", f"{said} starts with an answer whose question was left out: half a turn"
            continue
        if _cost(sent) > outcome.budget:
            yield "over", f"{said} carried {_cost(sent)} tokens, over the budget of {outcome.budget}"
            continue
        before = full[len(full) - len(sent) - 2: len(full) - len(sent)]
        if len(before) == 2 and _cost(before + sent) <= outcome.budget:
            yield "too_little", f"{said} left out the turn before it, which fits ({_cost(before + sent)} of {outcome.budget} tokens)"
    if outcome.history != outcome.conversation[: len(outcome.history)] or len(outcome.history) < 2 * len(outcome.sent):
        yield "history", f"the chat's own history ended with {len(outcome.history)} messages; the conversation had {2 * len(outcome.sent)}"
    if outcome.answers < len(outcome.conversation) // 2:
        yield "answers", f"{outcome.answers} of {len(outcome.conversation) // 2} questions were answered: a request matched no recording"


def _verify_budget(outcome: BudgetedChat) -> None:
    assert isinstance(outcome, BudgetedChat)
    for _, problem in _problems(outcome):
        raise AssertionError(problem)
    assert len(outcome.sent) == len(outcome.conversation) // 2, f"{len(outcome.sent)} requests for {len(outcome.conversation) // 2} questions"


def budget_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 6.2, recognised by the first rule the requests they made break."""

    def first(kind: str) -> Callable[[object], bool]:
        return lambda outcome: isinstance(outcome, BudgetedChat) and next((k for k, _ in _problems(outcome)), None) == kind

    return (
        Mistake("return the messages to send as a list of labs.chat.Message (oldest first, the new question last)", first("type")),
        Mistake("the new question goes last in every request, whatever else is left out", first("question")),
        Mistake("a message was cut short to fit: leave out whole turns instead, so the model never reads half a sentence", first("cut")),
        Mistake("the newest turns matter most: leave out the oldest turns first and keep the ones just before the question", first("older")),
        Mistake("a turn is a question and its answer: leave both out together, so no answer goes without the question it answers",
                first("half")),
        Mistake("what you send must fit the budget with the new question counted in", first("over")),
        Mistake("keep as much of the conversation as fits: a turn that fits beside the newer ones goes too", first("too_little")),
        Mistake("choose what to send in a new list: the chat's own history (the list you are given) must stay whole, "
                "/history still shows every turn", first("history")),
    )


@exercise("6.2", hint=(
    "start from the question, history[-1], and its cost; then walk back over the earlier messages two at a time "
    "(history[i], history[i + 1]: a question and its answer), adding a turn while the total with it stays within budget "
    "and stopping at the first that does not; return the kept turns oldest first, the question last, in a new list"
))
def check_fit_to_budget(fit_to_budget: Callable[..., Any]) -> Iterator[Case]:
    from .scenarios import CHAT_BUDGETS

    roomy, tight = CHAT_BUDGETS
    cases = [
        (f"a budget of {roomy} tokens: the first turn gives way at the third question", roomy),
        (f"a budget of {tight} tokens: every question goes alone", tight),
    ]
    for name, budget in cases:
        yield Case(name, run=lambda budget=budget: chat_within_budget(fit_to_budget, budget), verify=_verify_budget,
                   hint="each request: the new question last, whole turns before it, newest first, within the budget, nothing left out that fits",
                   mistakes=budget_mistakes())
