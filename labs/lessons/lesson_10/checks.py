"""Checks for lesson 10 (Semantic Kernel streaming).

Exercise 10.1 runs the learner's `converse` against a real semantic-kernel `OpenAIChatCompletion` service
and a recorded two-turn conversation. The check starts its own replay server at full speed, whatever
`LABS_MODE` and `LABS_REPLAY_SPEED` say, so it is quick, needs no key, and compares against known
answers. The recording is also the strictest judge of the history: its second request only matches a
request that carries the first question and the first answer word for word. The requests the learner's
code sent are observed with an httpx event hook, so a mismatch can be explained turn by turn.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ...checks import Case, Mistake, exercise, watched
from ...clients import RECORDED_MODEL, async_openai_client
from ...config import FIXTURES_DIR
from ...recordings import chat_text, fixture

__all__ = [
    "CONVERSATION", "Conversation", "Moderated", "Moderation", "Turns", "WatchedService", "check_converse", "check_moderated",
    "converse_through_sk", "moderate_through_sk", "moderations",
]

CONVERSATION = "10_semantic_kernel_streaming/exercise_two_turns"


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
        try:
            with watched(conversation):
                result = converse(service, history, list(turns.questions))
                conversation.answers = await result if inspect.isawaitable(result) else result
        finally:
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
    """The typical wrong answers to 10.1, recognised in the requests the learner's code sent and what it returned."""
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


@exercise("10.1", hint=(
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


# Exercise 10.2: moderate partial output. The learner's `moderated(service, history, settings, allowed)` streams an
# answer through a real SK service on the check's own replay server and must stop as soon as the text so far
# fails `allowed`. Graded on behaviour, with three checks built from the recorded answer itself: one that always
# passes, a banned phrase whose two words arrive in two chunks, and a length limit. The service the learner
# gets delegates to the real one and notes every chunk pulled after the text had already failed the check.

MODERATED = "10_semantic_kernel_streaming/two_turns"


class WatchedService:
    """The SK chat service, noting how many chunks were pulled after the text so far had failed the check."""

    def __init__(self, service: Any, allowed: Callable[[str], bool]) -> None:
        self._service, self._allowed = service, allowed
        self.after_failure = 0
        self.streams: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def get_streaming_chat_message_content(self, *args: Any, **kwargs: Any) -> Any:
        return self._watch(self._service.get_streaming_chat_message_content(*args, **kwargs), lambda chunk: chunk.content)

    def get_streaming_chat_message_contents(self, *args: Any, **kwargs: Any) -> Any:
        return self._watch(self._service.get_streaming_chat_message_contents(*args, **kwargs), lambda batch: batch[0].content if batch else "")

    def _watch(self, stream: Any, text_of: Callable[[Any], str | None]) -> Any:
        async def watched() -> Any:
            text = ""
            try:
                async for item in stream:
                    self.after_failure += not self._allowed(text)
                    text += text_of(item) or ""
                    yield item
            finally:
                await stream.aclose()

        self.streams.append(watched())
        return self.streams[-1]

    async def close(self) -> None:
        """Close the streams a learner left half read (a `break` leaves them open until garbage collection)."""
        for stream in self.streams:
            await stream.aclose()


@dataclass
class Moderated:
    """What the learner's code printed and returned, and how far it read the stream."""

    printed: str
    returned: Any
    after_failure: int
    replay_miss: str = ""


@dataclass(frozen=True)
class Moderation:
    """One check on the partial output, and what the recorded stream means for it."""

    name: str
    allowed: Callable[[str], bool]
    pieces: tuple[str, ...]

    @property
    def answer(self) -> str:
        return "".join(self.pieces)

    @property
    def safe(self) -> str:
        """The text of the chunks before the one that makes the text so far fail the check."""
        text = ""
        for piece in self.pieces:
            if not self.allowed(text + piece):
                break
            text += piece
        return text

    @property
    def failing_piece(self) -> str:
        """The chunk whose text makes the text so far fail the check ("" when none does)."""
        return self.answer[len(self.safe):][: len(next((p for i, p in enumerate(self.pieces) if not self.allowed("".join(self.pieces[: i + 1]))), ""))]

    def reached(self, printed: str) -> str:
        """The part of the answer the reader saw: the longest beginning of the answer that the screen starts with."""
        return os.path.commonprefix([self.answer, printed])


def _pieces() -> tuple[str, ...]:
    from ...recordings import chat_chunks

    return tuple(chunk.choices[0].delta.content or "" for chunk in chat_chunks(MODERATED, 0) if chunk.choices)


def _split_phrase(pieces: tuple[str, ...]) -> str:
    """Two words, from the middle of the recorded answer on, that arrive in two chunks one after the other (else the text around a cut)."""
    word = re.compile(r" [A-Za-z]{4,}")
    for index in range(len(pieces) // 2, len(pieces) - 1):
        if word.fullmatch(pieces[index]) and word.fullmatch(pieces[index + 1]):
            return (pieces[index] + pieces[index + 1]).strip()
    answer, boundary = "".join(pieces), sum(len(piece) for piece in pieces[: len(pieces) // 2])
    return answer[max(0, boundary - 4) : boundary + 4].strip()  # a re-recorded answer cut mid-word: the text around a cut


def moderations() -> list[Moderation]:
    pieces = _pieces()
    phrase = _split_phrase(pieces).lower()
    limit = len("".join(pieces)) // 2
    return [
        Moderation("a check that always passes: the whole answer", lambda text: True, pieces),
        Moderation("a banned phrase whose words arrive in two chunks", lambda text: phrase not in text.lower(), pieces),
        Moderation("a length limit (half the answer)", lambda text: len(text) <= limit, pieces),
    ]


def _quiet_half_read_streams(loop: asyncio.AbstractEventLoop) -> None:
    """On the check's own loop, drop the complaints about closing the HTTP stream a `break` left half read, and only those."""

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not str(context.get("message", "")).startswith("an error occurred during closing of asynchronous generator"):
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


async def moderate_through_sk(moderated: Callable[..., Any], moderation: Moderation) -> Moderated:
    """Run `moderated(service, history, settings, allowed)` on a fresh replay server and note what it did."""
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion, OpenAIChatPromptExecutionSettings
    from semantic_kernel.contents import ChatHistory

    from ...replay import ReplayServer

    _quiet_half_read_streams(asyncio.get_running_loop())
    recorded = fixture(MODERATED).interactions[0].request.body["messages"]
    history = ChatHistory(system_message=recorded[0]["content"])
    history.add_user_message(recorded[1]["content"])
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / MODERATED.split("/")[0],)) as server:
        client = async_openai_client(server=server, max_retries=0)
        service = WatchedService(OpenAIChatCompletion(ai_model_id=RECORDED_MODEL, service_id="chat", async_client=client), moderation.allowed)
        outcome = Moderated("", None, 0)
        try:
            with watched(outcome):
                result = moderated(service, history, OpenAIChatPromptExecutionSettings(), moderation.allowed)
                outcome.returned = await result if inspect.isawaitable(result) else result
        finally:
            outcome.after_failure = service.after_failure
            await service.close()
            await client.close()
    return outcome


def _verify_moderated(moderation: Moderation) -> Callable[[Moderated], None]:
    def verify(outcome: Moderated) -> None:
        assert not outcome.replay_miss, f"a request matched no recording: {outcome.replay_miss[:200]}"
        seen = moderation.reached(outcome.printed)
        assert moderation.allowed(seen), f"the reader saw {seen[-40:]!r}, which fails the check"
        assert moderation.answer.startswith(moderation.safe) and len(seen) >= len(moderation.safe), (
            f"the screen stopped at {seen[-30:]!r}, but the text up to {moderation.safe[-30:]!r} passed the check")
        rest = moderation.answer[len(seen):]
        assert not rest or rest[:12] not in outcome.printed[len(seen):], "more of the answer was printed after the check failed"
        assert outcome.after_failure == 0, (
            f"{outcome.after_failure} chunk(s) were read after the text so far had failed the check: stop reading the stream")
        assert outcome.returned == seen, f"returned {str(outcome.returned)[-40:]!r}; the reader saw {seen[-40:]!r}"

    return verify


def moderation_mistakes(moderation: Moderation) -> tuple[Mistake, ...]:
    """The typical wrong answers to 10.2, recognised in what the reader saw and how far the stream was read."""

    def seen_past(extra: Callable[[int], bool]) -> Callable[[object], bool]:
        def test(outcome: object) -> bool:
            if not isinstance(outcome, Moderated) or moderation.safe == moderation.answer:
                return False
            return extra(len(moderation.reached(outcome.printed)) - len(moderation.safe) - len(moderation.failing_piece))

        return test

    return (
        Mistake("each chunk passed on its own, but the check is on the partial output: give it the whole text so far "
                "(a banned phrase can arrive in two chunks, and a length counts every chunk)", seen_past(lambda beyond: beyond > 0)),
        Mistake("the chunk that failed the check was printed before it was checked: check the text so far plus the new chunk, "
                "and print the chunk only if it passes", seen_past(lambda beyond: beyond == 0)),
        Mistake("printing stopped but the stream was read to its end: break out of the async for when the check fails "
                "(the rest costs time and tokens, and nobody reads it)",
                lambda outcome: isinstance(outcome, Moderated) and outcome.after_failure > 0
                and moderation.allowed(moderation.reached(outcome.printed))),
        Mistake("return what the reader saw, not the text that failed the check (nor the whole answer)",
                lambda outcome: isinstance(outcome, Moderated) and isinstance(outcome.returned, str)
                and len(outcome.returned) > len(moderation.reached(outcome.printed)) and moderation.answer.startswith(outcome.returned)),
    )


@exercise("10.2", hint=(
    "shown = ''; async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings): "
    "if not allowed(shown + chunk.content): print a notice and break; print(chunk.content, end='', flush=True); "
    "shown += chunk.content; after the loop return shown"
))
def check_moderated(moderated: Callable[..., Any]) -> Iterator[Case]:
    for moderation in moderations():
        yield Case(
            moderation.name,
            lambda moderation=moderation: moderate_through_sk(moderated, moderation),
            verify=_verify_moderated(moderation),
            hint="show the answer as it streams, but never text that fails the check, and stop the stream as soon as it fails",
            mistakes=moderation_mistakes(moderation),
        )
