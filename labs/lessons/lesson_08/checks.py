"""Checks for lesson 08 (Semantic Kernel streaming).

Exercise 8.1 runs the learner's `converse` against a real semantic-kernel `OpenAIChatCompletion` service
and a recorded two-turn conversation. The check starts its own replay server at full speed, whatever
`LABS_MODE` and `LABS_REPLAY_SPEED` say, so it is quick, needs no key, and compares against known
answers. The recording is also the strictest judge of the history: its second request only matches a
request that carries the first question and the first answer word for word. The requests the learner's
code sent are observed with an httpx event hook, so a mismatch can be explained turn by turn.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ...checks import Case, Mistake, exercise
from ...clients import RECORDED_MODEL, async_openai_client
from ...config import FIXTURES_DIR
from ...errors import replay_miss_message
from ...recordings import chat_text, fixture

__all__ = ["CONVERSATION", "Conversation", "Turns", "check_converse", "converse_through_sk"]

CONVERSATION = "08_semantic_kernel_streaming/exercise_two_turns"


@dataclass
class Conversation:
    """What the learner's `converse` did: its history, its return value, what it printed and the requests it sent."""

    history: Any
    answers: Any = None
    printed: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    replay_miss: str = ""  # the replay server's explanation when a request matched no recording


@dataclass(frozen=True)
class Turns:
    """The recorded conversation: its system message, questions, answers and the messages each request carried."""

    system: str
    questions: list[str]
    answers: list[str]
    sent: list[list[dict[str, Any]]]

    @classmethod
    def recorded(cls) -> Turns:
        sent = [interaction.request.body["messages"] for interaction in fixture(CONVERSATION).interactions]
        answers = [chat_text(CONVERSATION, index) for index in range(len(sent))]
        return cls(sent[0][0]["content"], [messages[-1]["content"] for messages in sent], answers, sent)


async def converse_through_sk(converse: Callable[..., Any], turns: Turns) -> Conversation:
    """Run `converse(service, history, questions)` on a fresh replay server and record what it did."""
    import httpx
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion
    from semantic_kernel.contents import ChatHistory

    from ...replay import ReplayServer

    history = ChatHistory(system_message=turns.system)
    conversation = Conversation(history=history)

    async def keep(request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            conversation.requests.append(json.loads(request.content))

    # Only this lesson's recordings: the check needs no others, and loading every fixture takes seconds.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / CONVERSATION.split("/")[0],)) as server:
        http = httpx.AsyncClient(event_hooks={"request": [keep]})
        client = async_openai_client(server=server, http_client=http, max_retries=0)
        service = OpenAIChatCompletion(ai_model_id=RECORDED_MODEL, service_id="chat", async_client=client)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                result = converse(service, history, list(turns.questions))
                conversation.answers = await result if inspect.isawaitable(result) else result
        except Exception as error:
            miss = replay_miss_message(error)
            if miss is None:
                raise
            conversation.replay_miss = miss
        finally:
            conversation.printed = printed.getvalue()
            await client.close()
    return conversation


def _carried_every_turn(turns: Turns, conversation: Conversation) -> None:
    if len(conversation.requests) < len(turns.sent):
        raise AssertionError(f"your code sent {len(conversation.requests)} request(s); {len(turns.questions)} questions need {len(turns.sent)}")
    for number, (request, recorded) in enumerate(zip(conversation.requests, turns.sent), start=1):
        found = [(m.get("role"), m.get("content")) for m in request.get("messages", [])]
        wanted = [(m["role"], m.get("content")) for m in recorded]
        if [role for role, _ in found] != [role for role, _ in wanted]:
            raise AssertionError(
                f"request {number} carried the roles {', '.join(map(str, (role for role, _ in found)))}, "
                f"but the conversation so far is {', '.join(role for role, _ in wanted)}"
            )
        for index, ((role, content), (_, expected)) in enumerate(zip(found, wanted)):
            if content != expected:
                raise AssertionError(f"request {number}, message {index} ({role}) was {str(content)[:40]!r}, expected {expected[:40]!r}")
    if conversation.replay_miss:
        raise AssertionError(f"a request matched no recording: {conversation.replay_miss[:200]}")


def _streamed_both_answers(turns: Turns, conversation: Conversation) -> None:
    if not all(request.get("stream") is True for request in conversation.requests):
        raise AssertionError("a request was not streamed; use get_streaming_chat_message_content")
    returned = conversation.answers
    if not isinstance(returned, list) or returned != turns.answers:
        raise AssertionError(f"returned {returned!r:.120}, expected the two answers' texts in a list")


def _history_holds_every_turn(turns: Turns, conversation: Conversation) -> None:
    wanted = [("system", turns.system)]
    for question, answer in zip(turns.questions, turns.answers):
        wanted += [("user", question), ("assistant", answer)]
    found = [(m.role.value, m.content) for m in conversation.history.messages]
    if found != wanted:
        shown = [f"{role}: {content[:30]!r}" for role, content in found]
        expected = ", ".join(role for role, _ in wanted)
        raise AssertionError(f"the history holds {shown}; expected {expected}, with the questions and the streamed answers")


def _printed_both_answers(turns: Turns, conversation: Conversation) -> None:
    missing = [answer for answer in turns.answers if answer not in conversation.printed]
    if missing:
        raise AssertionError(f"the printed output lacks the answer {missing[0][:40]!r}")


def _second_request(conversation: object) -> list[dict[str, Any]] | None:
    if not isinstance(conversation, Conversation) or len(conversation.requests) < 2:
        return None
    return conversation.requests[1].get("messages", [])


def converse_mistakes(turns: Turns) -> tuple[Mistake, ...]:
    """The typical wrong answers to 8.1, recognised in the requests the learner's code sent and what it returned."""
    first_answer = turns.answers[0]

    def assistant_said(test: Callable[[list[Any]], bool]) -> Callable[[object], bool]:
        def seen(conversation: object) -> bool:
            messages = _second_request(conversation)
            return messages is not None and test([m.get("content") for m in messages if m.get("role") == "assistant"])

        return seen

    return (
        Mistake("the second question went without the first answer: the model remembers only what the history carries, so add "
                "the reply to it before asking again", assistant_said(lambda said: not said)),
        Mistake("the history got one chunk, not the whole reply: the chunks add up with + into one message, whose content is the "
                "whole answer", assistant_said(lambda said: bool(said) and said[0] != first_answer)),
        Mistake("a request was not streamed: the chunks come from service.get_streaming_chat_message_content",
                lambda conversation: isinstance(conversation, Conversation) and any(r.get("stream") is not True for r in conversation.requests)),
        Mistake("return the answers' texts (reply.content), not the message objects or the chunks",
                lambda conversation: isinstance(conversation, Conversation) and isinstance(conversation.answers, list)
                and any(not isinstance(answer, str) for answer in conversation.answers)),
    )


@exercise("8.1", hint=(
    "for question in questions: history.add_user_message(question); chunks = []; async for chunk in "
    "service.get_streaming_chat_message_content(chat_history=history, settings=OpenAIChatPromptExecutionSettings()): "
    "print(chunk.content, end='', flush=True); chunks.append(chunk); then reply = functools.reduce(operator.add, chunks), "
    "history.add_message(reply) and answers.append(reply.content); return answers"
))
def check_converse(converse: Callable[..., Any]) -> Iterator[Case]:
    turns = Turns.recorded()
    mistakes = converse_mistakes(turns)
    outcome: list[Conversation] = []

    async def run() -> Conversation:
        outcome.append(await converse_through_sk(converse, turns))
        return outcome[-1]

    yield Case(
        "every request carried the conversation so far",
        run,
        verify=partial(_carried_every_turn, turns),
        hint="after each stream, add the reply (the chunks added together with +) to the history before the next question",
        mistakes=mistakes,
    )
    if not outcome or outcome[-1].replay_miss:
        return
    conversation = outcome[-1]
    yield Case(
        "both answers streamed and returned",
        lambda: conversation,
        verify=partial(_streamed_both_answers, turns),
        hint="stream with service.get_streaming_chat_message_content and return [reply.content, ...] in order",
        mistakes=mistakes,
    )
    yield Case(
        "the history holds every turn",
        lambda: conversation,
        verify=partial(_history_holds_every_turn, turns),
        hint="history.add_user_message(question) before each request, history.add_message(reply) after it",
        mistakes=mistakes,
    )
    yield Case(
        "each answer printed as it streamed",
        lambda: conversation,
        verify=partial(_printed_both_answers, turns),
        hint='print(chunk.content, end="", flush=True) for every chunk',
        mistakes=mistakes,
    )
