"""Lesson 06: the game master's handoff to the oracle, the terminal chat's recorded conversation (once per
backend), and that conversation kept within a token budget (exercise 6.2).

The handoff is authored from the notebook (`make fixtures LESSON=06`): its prompt is written once, in its cell;
the agents are lesson 05's (`labs.lessons.lesson_05.scenarios.game_master`), and the oracle's 8-ball draws from
a `random.Random(SEED)` as the dice do there, so the scripted interpretation is written from the recorded answer.

The chat's fixtures keep their `run`: they are recorded by driving `labs.chat.Chat` itself, the code path
`python -m labs.chat` runs, through all three recorded prompts (the notebook runs the chat on two of them),
so each turn's request carries the history exactly as the chat sends it. The two budget conversations keep
theirs too: only exercise 6.2's check asks them, on a server of its own. They are the same three prompts through
the chat's agents backend with `fit_newest_turns` choosing what each request carries, under a budget of
`CHAT_BUDGETS` tokens counted by `tokens`, and with instructions of their own, so that no request of theirs is
one the chat's own recording also holds.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from rich.console import Console

from ... import clients
from ...chat.backends import INSTRUCTIONS as CHAT_INSTRUCTIONS
from ...chat import RECORDED_PROMPTS, AgentsChatBackend, Chat, Message, Piece, make_backend
from .. import Reply, Scenario, ToolCall
from ..lesson_05.scenarios import HANDOFF_FIXTURE, ORACLE_PROMPT, PACE, PROPHECY, SEED

__all__ = [
    "budget_instructions",
    "CHAT_ANSWERS",
    "CHAT_BUDGETS",
    "SCENARIOS",
    "BudgetedBackend",
    "budget_fixture",
    "fit_newest_turns",
    "tokens",
]

CHAT_ANSWERS = (
    "Lovely! For one day in Lisbon:\n1. **Alfama**: wander its steep lanes up to the Miradouro de Santa Luzia.\n"
    "2. **Belém**: the Jerónimos Monastery, then a pastel de nata at the old bakery nearby.\n"
    "3. **Tram 28**: ride it through the old town (go early to beat the queue).",
    "Belém: the Jerónimos Monastery and the museums around it keep you dry, and a warm pastel de nata is even better "
    "with rain outside. Save Alfama's slippery cobbles and the tram's open windows for a sunny day.",
    "Lisbon's trams began in 1873 as horse-drawn cars on rails along the river, nicknamed \"americanos\" after the "
    "American company that built them. Carris electrified the network in 1901, and the yellow eléctricos were soon "
    "climbing hills that horses had struggled with. Buses, and from 1959 the Metro, then took over route after route, "
    "until only a handful of lines were left: the narrow, steep ones through the old quarters. The most famous is "
    "line 28, which winds through Graça, Alfama, Baixa and Chiado in small wooden cars built in the 1930s. A tip: "
    "ride it early in the morning, before the crowds, and hold on tight on the hills.",
)
_CHAT_PACE = ({"first_token": 0.4, "gap": 0.03}, {"first_token": 0.4, "gap": 0.03}, {"first_token": 0.5, "gap": 0.04})

# Exercise 6.2: the budgets the check plays (the roomier one drops the first turn for the third question, the
# tight one sends each question alone), and the instructions that keep these recordings apart from the chat's.
CHAT_BUDGETS = (100, 70)
def budget_instructions(budget: int) -> str:
    """The instructions of a budget conversation: its budget named, so the two recordings never answer each other's requests."""
    return f"{CHAT_INSTRUCTIONS} Earlier turns may be left out: the chat keeps to a {budget}-token budget."


def tokens(message: Message) -> int:
    """About four characters a token, OpenAI's rule of thumb for English text (tiktoken counts exactly)."""
    return len(message.text) // 4 + 1


def budget_fixture(budget: int) -> str:
    return f"06_agents_sdk_handoffs_and_chat/chat_budget_{budget}"


def fit_newest_turns(history: Sequence[Message], budget: int, count: Callable[[Message], int]) -> list[Message]:
    """The newest question and as many whole turns before it, newest first, as fit in `budget` together."""
    question, earlier = history[-1], list(history[:-1])
    kept, used = [question], count(question)
    while len(earlier) >= 2 and used + count(earlier[-2]) + count(earlier[-1]) <= budget:
        kept[:0], used = earlier[-2:], used + count(earlier[-2]) + count(earlier[-1])
        del earlier[-2:]
    return kept


class BudgetedBackend:
    """A chat backend that sends what `fit(history, budget, tokens)` keeps of the conversation, through another backend."""

    def __init__(self, inner: AgentsChatBackend, fit: Callable[..., Any], budget: int, count: Callable[[Message], int] = tokens) -> None:
        self.inner, self.fit, self.budget, self.count = inner, fit, budget, count
        self.name, self.description = inner.name, f"{inner.description}, within {budget} tokens"

    def stream(self, history: Sequence[Message]) -> AsyncIterator[Piece]:
        return self.inner.stream(self.fit(history, self.budget, self.count))

    async def aclose(self) -> None:
        await self.inner.aclose()


async def chat_conversation(backend: str) -> None:
    """The recorded prompts, asked in order through the chat's own code path (history included)."""
    chat = Chat(make_backend(backend), Console(file=io.StringIO()))  # type: ignore[arg-type]
    await _converse(chat, backend)


async def _converse(chat: Chat, what: str) -> None:
    for prompt in RECORDED_PROMPTS:
        await chat.submit(prompt)
    await chat.backend.aclose()
    if len(chat.answers) != len(RECORDED_PROMPTS) or any(a.interrupted for a in chat.answers):
        raise RuntimeError(f"the {what} conversation did not record every answer: {chat.answers}")


async def chat_backend() -> None:
    await chat_conversation("chat")


async def agents_backend() -> None:
    await chat_conversation("agents")


def _budgeted(budget: int) -> Callable[[], Any]:
    async def run() -> None:
        clients.configure_agents_sdk()  # tracing off, as the chat's own backend has it
        inner = AgentsChatBackend(clients.async_openai_client(), clients.model(), instructions=budget_instructions(budget))
        chat = Chat(BudgetedBackend(inner, fit_newest_turns, budget), Console(file=io.StringIO()))  # type: ignore[arg-type]
        await _converse(chat, f"{budget}-token")

    return run


SCENARIOS = [
    Scenario(
        HANDOFF_FIXTURE,
        "A handoff: the game master's only output is a transfer_to_oracle call, the runner switches agents "
        "(agent_updated_stream_event), and the Oracle's request carries the handoff call and its output, its own "
        f"instructions and tools. The Oracle streams a sentence, calls magic_8_ball (seeded with {SEED}: "
        f"{PROPHECY!r}), then interprets the answer.",
        [
            Reply(tool_calls=[ToolCall("transfer_to_oracle", "{}")], **PACE),
            Reply(
                text="The Oracle closes her eyes and shakes the ancient sphere.",
                tool_calls=[ToolCall("magic_8_ball", json.dumps({"question": ORACLE_PROMPT}))],
                **PACE,
            ),
            Reply(
                text=f"\u201c{PROPHECY}.\u201d The crown is not where you think it is: look for it where the light "
                "in the window is coming from.",
                **PACE,
            ),
        ],
    ),
    Scenario(
        "06_terminal_chat/chat_backend",
        "The terminal chat's conversation over Chat Completions (python -m labs.chat --backend chat): three turns, "
        "each request carrying the whole history as messages, so the second question (\"which of those...\") only "
        "makes sense after the first answer. Every stream ends with a usage chunk (include_usage). The third answer "
        "is the longest (about five seconds at speed 1), for interrupting with Ctrl-C.",
        [Reply(text=text, **pace) for text, pace in zip(CHAT_ANSWERS, _CHAT_PACE)],
        chat_backend,
    ),
    Scenario(
        "06_terminal_chat/agents_backend",
        "The same conversation through openai-agents (python -m labs.chat --backend agents): each request sends the "
        "history as Responses API input items (user and assistant messages), and each stream ends with "
        "response.completed carrying the usage. The third answer is the longest, for interrupting with Ctrl-C.",
        [Reply(text=text, **pace) for text, pace in zip(CHAT_ANSWERS, _CHAT_PACE)],
        agents_backend,
    ),
    *(
        Scenario(
            budget_fixture(budget),
            f"Exercise 6.2's check: the chat's conversation through openai-agents kept within {budget} tokens (about "
            f"four characters a token): each request carries the newest question and as many whole turns before it as "
            f"fit, so {what}. Instructions of its own, naming the budget, keep it apart from the chat's recording and the other budget's.",
            [Reply(text=text, **pace) for text, pace in zip(CHAT_ANSWERS, _CHAT_PACE)],  # paced as the chat's own recordings
            _budgeted(budget),
        )
        for budget, what in zip(
            CHAT_BUDGETS,
            ("the second question still carries the first turn and the third leaves the first turn out",
             "every question goes alone: no earlier turn fits beside it"),
        )
    ),
]
