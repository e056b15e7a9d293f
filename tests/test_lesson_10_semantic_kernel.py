"""Lesson 10's fixtures replay through semantic-kernel, and exercise 10.1's check judges fairly (function calls: lesson 11's tests)."""

from __future__ import annotations

from functools import reduce
from operator import add

import pytest
from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
from semantic_kernel.contents import ChatHistory

import labs
from labs.checks import CheckResult, check
from labs.lessons.lesson_10.checks import CONVERSATION
from labs.lessons.lesson_10.scenarios import ADVISOR
from labs.recordings import chat_text, fixture

LESSON = "10_semantic_kernel_streaming"


async def stream(service, history, settings, **kwargs) -> list:
    return [chunk async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings, **kwargs)]


def plain() -> OpenAIChatPromptExecutionSettings:
    return OpenAIChatPromptExecutionSettings()


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
