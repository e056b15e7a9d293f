"""Lesson 10's fixtures replay through semantic-kernel, function-calling rounds included, and exercise 10.1's check judges fairly."""

from __future__ import annotations

import json
from functools import reduce
from operator import add
from typing import Annotated

import pytest
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
from semantic_kernel.contents import AuthorRole, ChatHistory, FunctionCallContent
from semantic_kernel.functions import kernel_function

import labs
from labs.lessons.lesson_10.scenarios import ADVISOR, FORECASTS, PORTO, SINTRA
from labs.checks import CheckResult, check
from labs.lessons.lesson_10.checks import CONVERSATION
from labs.recordings import chat_chunks, chat_text, fixture

LESSON = "10_semantic_kernel_streaming"


class RecordingWeather:
    """The lesson's plugin (same name, description and signature), noting every city it is asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @kernel_function(description="Tomorrow's weather forecast for a city.")
    def get_forecast(self, city: Annotated[str, "The city, e.g. Lisbon"]) -> str:
        self.asked.append(city)
        return FORECASTS[city]


def weather_kernel() -> tuple[Kernel, object, RecordingWeather]:
    kernel, service, plugin = Kernel(), labs.sk_chat_completion(), RecordingWeather()
    kernel.add_service(service)
    kernel.add_plugin(plugin, plugin_name="weather")
    return kernel, service, plugin


def recorded_calls(name: str, request: int = 0) -> list[tuple[str, dict]]:
    """The (name, arguments) of each tool call a recorded stream spells out."""
    calls: dict[int, list[str]] = {}
    for chunk in chat_chunks(name, request):
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            slot = calls.setdefault(call.index, ["", ""])
            slot[0] += call.function.name or ""
            slot[1] += call.function.arguments or ""
    return [(call_name, json.loads(arguments)) for call_name, arguments in calls.values()]


async def stream(service, history, settings, **kwargs) -> list:
    return [chunk async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings, **kwargs)]


def plain() -> OpenAIChatPromptExecutionSettings:
    return OpenAIChatPromptExecutionSettings()


def with_functions(behavior: FunctionChoiceBehavior) -> OpenAIChatPromptExecutionSettings:
    return OpenAIChatPromptExecutionSettings(function_choice_behavior=behavior)


# The fixtures, through semantic-kernel


async def test_two_turns_replay_with_the_first_reply_in_the_second_request() -> None:
    name = f"{LESSON}/two_turns"
    questions = [interaction.request.body["messages"][-1]["content"] for interaction in fixture(name).interactions]
    service = labs.sk_chat_completion()
    history = ChatHistory(system_message=ADVISOR)
    replies = []
    for question in questions:
        history.add_user_message(question)
        chunks = await stream(service, history, plain())
        assert chunks[-1].content == "" and chunks[-1].metadata["usage"].completion_tokens > 0
        replies.append(reduce(add, chunks))
        history.add_message(replies[-1])
    assert [reply.content for reply in replies] == [chat_text(name, 0), chat_text(name, 1)]
    assert replies[1].metadata["usage"].prompt_tokens > replies[0].metadata["usage"].prompt_tokens
    await service.client.close()


async def test_a_reply_left_out_of_the_history_matches_no_recording() -> None:
    from semantic_kernel.exceptions import ServiceResponseException

    name = f"{LESSON}/two_turns"
    questions = [interaction.request.body["messages"][-1]["content"] for interaction in fixture(name).interactions]
    service = labs.sk_chat_completion()
    history = ChatHistory(system_message=ADVISOR)
    history.add_user_message(questions[0])
    await stream(service, history, plain())
    history.add_user_message(questions[1])
    with pytest.raises(ServiceResponseException) as raised:
        await stream(service, history, plain())
    assert "messages[2].role" in str(raised.value.__cause__)
    await service.client.close()


async def test_auto_function_calling_streams_the_call_runs_the_function_and_streams_the_answer() -> None:
    name = f"{LESSON}/forecast_auto"
    [(tool, arguments)] = recorded_calls(name)
    kernel, service, plugin = weather_kernel()
    history = ChatHistory(system_message=ADVISOR)
    history.add_user_message(SINTRA)
    chunks = await stream(service, history, with_functions(FunctionChoiceBehavior.Auto()), kernel=kernel)

    assert plugin.asked == [arguments["city"]]
    first = [c for c in chunks if c.function_invoke_attempt == 0 and c.role == AuthorRole.ASSISTANT]
    assert all(c.content == "" for c in first), "the function-call round carries no text"
    call = reduce(add, first).items[0]
    assert isinstance(call, FunctionCallContent) and (call.name, call.parse_arguments()) == (tool, arguments)
    answer = reduce(add, [c for c in chunks if c.function_invoke_attempt == 1 and c.role == AuthorRole.ASSISTANT])
    assert answer.content == chat_text(name, 1)
    assert [m.role for m in history.messages] == [AuthorRole.SYSTEM, AuthorRole.USER, AuthorRole.ASSISTANT, AuthorRole.TOOL]
    assert history.messages[-1].to_dict()["content"] == fixture(name).interactions[1].request.body["messages"][-1]["content"]
    await service.client.close()


async def test_required_streams_no_answer_while_the_blocking_call_answers() -> None:
    name = f"{LESSON}/forecast_required"
    [(_, arguments)] = recorded_calls(name)
    kernel, service, plugin = weather_kernel()
    settings = with_functions(FunctionChoiceBehavior.Required())

    streamed = ChatHistory(system_message=ADVISOR)
    streamed.add_user_message(PORTO)
    chunks = await stream(service, streamed, settings, kernel=kernel)
    assert plugin.asked == [arguments["city"]]
    assert "".join(c.content for c in chunks) == "" and streamed.messages[-1].role == AuthorRole.TOOL

    blocking = ChatHistory(system_message=ADVISOR)
    blocking.add_user_message(PORTO)
    result = await service.get_chat_message_content(chat_history=blocking, settings=settings, kernel=kernel)
    assert result.content == chat_text(name, 1) and plugin.asked == [arguments["city"]] * 2

    follow_up = reduce(add, await stream(service, streamed, plain()))
    assert follow_up.content == result.content
    await service.client.close()


@pytest.mark.parametrize("name", [f"{LESSON}/forecast_auto", f"{LESSON}/forecast_required", "sdk_smoke/sk_function"])
def test_sk_fixtures_name_tools_plugin_dash_function(name: str) -> None:
    advertised = {tool["function"]["name"] for tool in fixture(name).interactions[0].request.body["tools"]}
    for tool, _ in recorded_calls(name):
        call = FunctionCallContent(id="call_1", name=tool)
        assert tool in advertised and f"{call.plugin_name}-{call.function_name}" == tool, f"{name}: {tool!r} is not plugin-function"


# Exercise 10.1's check


async def converse(service, history, questions):
    answers = []
    for question in questions:
        history.add_user_message(question)
        chunks = []
        async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=plain()):
            print(chunk.content, end="", flush=True)
            chunks.append(chunk)
        history.add_message(reduce(add, chunks))
        answers.append(history.messages[-1].content)
    return answers


async def forgets_the_replies(service, history, questions):
    answers = []
    for question in questions:
        history.add_user_message(question)
        reply = reduce(add, await stream(service, history, plain()))
        print(reply.content)
        answers.append(reply.content)
    return answers


async def prints_nothing(service, history, questions):
    answers = []
    for question in questions:
        history.add_user_message(question)
        history.add_message(reduce(add, await stream(service, history, plain())))
        answers.append(history.messages[-1].content)
    return answers


async def does_not_stream(service, history, questions):
    answers = []
    for question in questions:
        history.add_user_message(question)
        reply = await service.get_chat_message_content(chat_history=history, settings=plain())
        print(reply.content)
        history.add_message(reply)
        answers.append(reply.content)
    return answers


async def returns_the_history(service, history, questions):
    await converse(service, history, questions)
    return history


async def stores_the_reply_as_a_user_message(service, history, questions):
    answers = []
    for question in questions:
        history.add_user_message(question)
        reply = reduce(add, await stream(service, history, plain()))
        print(reply.content)
        history.add_user_message(reply.content)
        answers.append(reply.content)
    return answers


async def not_done(service, history, questions):
    raise NotImplementedError("Exercise 10.1: complete converse. Hint: add each reply to the history")


def failed(result: CheckResult) -> dict[str, str]:
    return {case.name: case.message for case in result.cases if not case.passed}


def test_the_solution_passes_every_case() -> None:
    result = check("10.1", converse)
    assert result.status == "passed" and len(result.cases) == 4


def test_the_check_replays_even_when_the_workbook_is_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    assert check("10.1", converse).status == "passed"


def test_a_conversation_without_the_replies_is_explained_turn_by_turn() -> None:
    result = check("10.1", forgets_the_replies)
    assert result.status == "failed" and len(result.cases) == 1
    assert "request 2 carried the roles system, user, user" in result.cases[0].message
    assert "add the reply" in result.hint


def test_a_reply_stored_as_the_wrong_role_fails() -> None:
    assert "request 2 carried the roles system, user, user, user" in failed(check("10.1", stores_the_reply_as_a_user_message))["every request carried the conversation so far"]


@pytest.mark.parametrize(
    ("answer", "case", "words"),
    [
        (prints_nothing, "each answer printed as it streamed", "printed output lacks"),
        (does_not_stream, "both answers streamed and returned", "not streamed"),
        (returns_the_history, "both answers streamed and returned", "expected the two answers"),
    ],
    ids=["prints nothing", "does not stream", "returns the history"],
)
def test_each_broken_answer_fails_its_own_case(answer, case: str, words: str) -> None:
    problems = failed(check("10.1", answer))
    assert list(problems) == [case] and words in problems[case]


def test_an_untouched_exercise_is_not_done() -> None:
    assert check("10.1", not_done).status == "not_done"


def test_the_check_uses_the_recorded_conversation() -> None:
    messages = fixture(CONVERSATION).interactions[1].request.body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == chat_text(CONVERSATION, 0)
