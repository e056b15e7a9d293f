"""Checks for lesson 11 (Semantic Kernel streaming through function calls).

Both exercises run the learner's code on a real semantic-kernel `OpenAIChatCompletion` service, whose kernel holds
the lesson's weather plugin (same name, description and signature, so SK sends the same tool schema), against
recordings on the check's own replay server at full speed, whatever `LABS_MODE` and `LABS_REPLAY_SPEED` say: quick,
no key, and known answers. The checks judge what the reader saw (what the code printed), what it returned and what
it left in the history; the requests it sent are observed with an httpx event hook, so an extra or a wrong request
is named. A recording answers only the requests it holds: a request that still requires a function, or one made
after the answer had come, matches nothing, and the mistake's hint says which it was.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Annotated, Any, Literal

from ...checks import Case, Mistake, exercise, watched
from ...clients import RECORDED_MODEL, async_openai_client
from ...config import FIXTURES_DIR
from ...recordings import chat_chunks, chat_text, fixture

__all__ = [
    "AUTO", "FORECASTS", "NO_CALL", "REQUIRED", "Recorded", "Streamed", "Weather", "check_keeps_the_answer", "check_always_answers",
    "stream_through_sk",
]

FOLDER = "11_semantic_kernel_functions"
AUTO = f"{FOLDER}/forecast_auto"  # the notebook's Auto() round: a call, then the answer
NO_CALL = f"{FOLDER}/exercise_no_call"  # functions offered, answered at once (attempt 0)
REQUIRED = f"{FOLDER}/exercise_required"  # Required(): the call, no answer; then the answer, asked for again

FORECASTS = {"Sintra": "14°C, fog until noon, then sunny", "Porto": "22°C, dry, light evening breeze", "Braga": "19°C, dry and bright"}
Behavior = Literal["auto", "required"]


@cache
def _weather_class() -> type:
    from semantic_kernel.functions import kernel_function

    class Weather:
        """The lesson's plugin, noting every city it is asked about."""

        def __init__(self) -> None:
            self.asked: list[str] = []

        @kernel_function(description="Tomorrow's weather forecast for a city.")
        def get_forecast(self, city: Annotated[str, "The city, e.g. Lisbon"]) -> str:
            self.asked.append(city)
            return FORECASTS.get(city, "18°C, changeable, a chance of showers")

    return Weather


def Weather() -> Any:  # noqa: N802 - reads as the plugin class it builds (semantic-kernel is imported on first use)
    """A new instance of the lesson's weather plugin."""
    return _weather_class()()


@dataclass(frozen=True)
class Recorded:
    """What a recording holds: the question, the calls its first stream spells out, the answer, and the requests it takes."""

    name: str
    system: str
    question: str
    calls: tuple[tuple[str, str], ...]  # (tool name, the arguments' values joined), in order
    answer: str
    requests: int = 0  # how many requests a right answer sends (11.2)

    @classmethod
    def of(cls, name: str, requests: int = 0) -> Recorded:
        messages = fixture(name).interactions[0].request.body["messages"]
        pieces: dict[int, list[str]] = {}
        for chunk in chat_chunks(name, 0):
            for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                slot = pieces.setdefault(call.index, ["", ""])
                slot[0] += call.function.name or ""
                slot[1] += call.function.arguments or ""
        calls = tuple((tool, " ".join(map(str, json.loads(arguments).values()))) for tool, arguments in pieces.values())
        answer = next(text for index in range(len(fixture(name).interactions)) if (text := chat_text(name, index)))
        return cls(name, messages[0]["content"], messages[1]["content"], calls, answer, requests)


@dataclass
class Streamed:
    """What the learner's code did: the history it left, what it returned and printed, the requests it sent."""

    history: Any
    asked: list[str]  # the cities the plugin was asked about
    returned: Any = None
    printed: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    replay_miss: str = ""


async def stream_through_sk(answer: Callable[..., Any], recorded: Recorded, behavior: Behavior) -> Streamed:
    """Run `answer(service, kernel, history, settings)` on a fresh replay server, `behavior` function calling on."""
    import httpx
    from semantic_kernel import Kernel
    from semantic_kernel.connectors.ai import FunctionChoiceBehavior
    from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion, OpenAIChatPromptExecutionSettings
    from semantic_kernel.contents import ChatHistory

    from ...replay import ReplayServer

    history = ChatHistory(system_message=recorded.system)
    history.add_user_message(recorded.question)
    plugin = Weather()
    outcome = Streamed(history, plugin.asked)

    async def keep(request: httpx.Request) -> None:
        if request.url.path.endswith("/chat/completions"):
            outcome.requests.append(json.loads(request.content))

    choice = FunctionChoiceBehavior.Auto() if behavior == "auto" else FunctionChoiceBehavior.Required()
    # Only this lesson's recordings: the check needs no others, and loading every fixture takes seconds.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / FOLDER,)) as server:
        client = async_openai_client(server=server, http_client=httpx.AsyncClient(event_hooks={"request": [keep]}), max_retries=0)
        service = OpenAIChatCompletion(ai_model_id=RECORDED_MODEL, service_id="chat", async_client=client)
        kernel = Kernel()
        kernel.add_service(service)
        kernel.add_plugin(plugin, plugin_name="weather")
        try:
            with watched(outcome):
                result = answer(service, kernel, history, OpenAIChatPromptExecutionSettings(function_choice_behavior=choice))
                outcome.returned = await result if inspect.isawaitable(result) else result
        finally:
            await client.close()
    return outcome


# What both exercises ask of the answer: printed, returned as text, and kept in the history alone.


def _last(outcome: Streamed) -> Any:
    return outcome.history.messages[-1] if outcome.history.messages else None


def _holds_a_call(message: Any) -> bool:
    from semantic_kernel.contents import FunctionCallContent

    return any(isinstance(item, FunctionCallContent) for item in getattr(message, "items", ()))


def _kept_the_answer(recorded: Recorded, outcome: Streamed) -> None:
    if outcome.replay_miss:
        raise AssertionError(f"request {len(outcome.requests)} matched no recording: {outcome.replay_miss[:160]}")
    if recorded.answer not in outcome.printed:
        raise AssertionError(f"the reader never saw the answer {recorded.answer[:40]!r}")
    if outcome.returned != recorded.answer:
        raise AssertionError(f"returned {outcome.returned!r:.80}, expected the answer's text {recorded.answer[:40]!r}")
    last = _last(outcome)
    if getattr(getattr(last, "role", None), "value", None) != "assistant" or last.content != recorded.answer or _holds_a_call(last):
        shown = [(m.role.value, (m.content or "")[:20], "call" if _holds_a_call(m) else "") for m in outcome.history.messages]
        raise AssertionError(f"the history ends {shown[-3:]}; it should end with the answer alone, as an assistant message")


def _is_streamed(outcome: object) -> bool:
    return not isinstance(outcome, Streamed) or all(request.get("stream") is True for request in outcome.requests)


def _answer_mistakes(recorded: Recorded) -> tuple[Mistake, ...]:
    """The mistakes of keeping the answer, common to 11.1 and 11.2."""
    return (
        Mistake("the tool message (the function's result) cannot be added to assistant chunks: add only the assistant chunks "
                "of the last model response", lambda error: "different role" in str(error)),
        Mistake("the reply holds the function call too, and SK sends such a message as the call alone (the answer lost, the call "
                "repeated): build it from the chunks of the last function_invoke_attempt only",
                lambda outcome: isinstance(outcome, Streamed) and _holds_a_call(_last(outcome))),
        Mistake("the history does not end with the answer: SK writes the call and its result there, never the final answer, so "
                "add it yourself", lambda outcome: isinstance(outcome, Streamed) and not outcome.replay_miss
                and getattr(getattr(_last(outcome), "role", None), "value", None) in {"tool", "user"}),
        Mistake("return the answer's text (reply.content), not the message or the chunks",
                lambda outcome: isinstance(outcome, Streamed) and not isinstance(outcome.returned, str | None)),
    )


# Exercise 11.1: show each function call as it streams, and keep only the answer.


def _showed_the_calls(recorded: Recorded, outcome: Streamed) -> None:
    _kept_the_answer(recorded, outcome)
    before = outcome.printed[: outcome.printed.find(recorded.answer)]
    for tool, values in recorded.calls:
        function = tool.split("-")[-1]
        if function not in before or values not in before:
            raise AssertionError(f"the reader saw no sign of the call {tool}({values}) before the answer: {before[-60:]!r}")


@exercise("11.1", hint=(
    "chunks = []; async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings, "
    "kernel=kernel): for each FunctionCallContent in chunk.items print its name (when set) and arguments; if chunk.role == "
    "AuthorRole.ASSISTANT print chunk.content; chunks.append(chunk). Then last = max(c.function_invoke_attempt for c in "
    "chunks); reply = reduce(add, [c for c in chunks if c.role == AuthorRole.ASSISTANT and c.function_invoke_attempt == last]); "
    "history.add_message(reply); return reply.content"
))
def check_keeps_the_answer(stream_answer: Callable[..., Any]) -> Iterator[Case]:
    for title, name in [("a forecast question: the call shown, then the answer", AUTO), ("a question answered without a call", NO_CALL)]:
        recorded = Recorded.of(name)
        called = bool(recorded.calls)
        yield Case(
            title,
            lambda recorded=recorded: stream_through_sk(stream_answer, recorded, "auto"),
            verify=partial(_showed_the_calls, recorded),
            hint="show each call as it streams, print the answer's text, and add the last response's assistant chunks to the history",
            mistakes=(
                *_answer_mistakes(recorded),
                Mistake("the call never showed: while the model calls a function its chunks' content is \"\"; the call is in "
                        "chunk.items, a FunctionCallContent with a name and argument fragments",
                        lambda outcome, recorded=recorded: isinstance(outcome, Streamed) and bool(recorded.calls)
                        and recorded.answer in outcome.printed
                        and recorded.calls[0][1] not in outcome.printed[: outcome.printed.find(recorded.answer)]),
                *(() if called else (
                    Mistake("with no function call the answer is the stream's first response (function_invoke_attempt 0): take "
                            "the last attempt the chunks have, not attempt 1",
                            lambda outcome: (isinstance(outcome, TypeError) and "empty" in str(outcome))
                            or (isinstance(outcome, Streamed) and outcome.returned == "")),
                )),
            ),
        )


# Exercise 11.2 (challenge): an answer however function calling is set. Graded on behaviour: with Auto() the stream
# answers and nothing more may be asked; with Required() SK stops after the function has run, and the answer must be
# asked for (streamed) without requiring a function again, in any of the ways the recording holds.


def _answered(recorded: Recorded, outcome: Streamed) -> None:
    _kept_the_answer(recorded, outcome)
    if not _is_streamed(outcome):
        raise AssertionError("a request was not streamed: the reader waits for the answer with nothing on screen")
    if len(outcome.requests) != recorded.requests:
        raise AssertionError(f"your code sent {len(outcome.requests)} requests; this answer takes {recorded.requests}")


def _asked_again(outcome: object) -> list[dict[str, Any]]:
    return outcome.requests[1:] if isinstance(outcome, Streamed) else []


@exercise("11.2", hint=(
    "stream with settings and kernel=kernel, printing and keeping the chunks; if the stream's last chunk is the function's "
    "result (chunks[-1].role == AuthorRole.TOOL: it stopped before any answer), stream the same history again with "
    "OpenAIChatPromptExecutionSettings() (no function calling) and keep those chunks instead; then reply = reduce(add, the "
    "assistant chunks of the last function_invoke_attempt), history.add_message(reply), return reply.content"
))
def check_always_answers(answer: Callable[..., Any]) -> Iterator[Case]:
    cases: list[tuple[str, str, Behavior, int]] = [
        ("Required(): the function runs, then the answer", REQUIRED, "required", 2),
        ("Auto(): the stream answers, nothing asked again", AUTO, "auto", 2),
        ("Auto(), answered without a call", NO_CALL, "auto", 1),
    ]
    for title, name, behavior, requests in cases:
        recorded = Recorded.of(name, requests)
        yield Case(
            title,
            lambda recorded=recorded, behavior=behavior: stream_through_sk(answer, recorded, behavior),
            verify=partial(_answered, recorded),
            hint="the reader must see an answer stream in whatever the settings, with no request more than it takes",
            mistakes=(
                Mistake("asked again with a function still required: the model must call one again and SK stops again; ask for "
                        "the answer without requiring one (no function calling, or FunctionChoiceBehavior.NoneInvoke())",
                        lambda outcome: any(request.get("tool_choice") == "required" for request in _asked_again(outcome))),
                Mistake("the stream ended on the function's result and nobody asked for the answer: when a stream stops there "
                        "(a tool message last, no text), stream the history once more",
                        lambda outcome, recorded=recorded: isinstance(outcome, Streamed) and len(outcome.requests) < recorded.requests),
                Mistake("the stream had already answered: ask again only when it ended without an answer (look at the stream, "
                        "not the history: SK leaves the function's result last in the history even when the answer streamed)",
                        lambda outcome, recorded=recorded: isinstance(outcome, Streamed) and len(outcome.requests) > recorded.requests),
                Mistake("the answer was asked for without streaming: stream it too, or the reader waits with nothing on screen",
                        lambda outcome: not _is_streamed(outcome)),
                *_answer_mistakes(recorded),
            ),
        )
