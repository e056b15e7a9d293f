"""Exercises 11.1 and 11.2 (a challenge graded on behaviour): function calls shown and kept out of the answer, and an
answer that arrives whatever the function choice.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
"""

from __future__ import annotations

from functools import reduce
from operator import add
from typing import Any

from semantic_kernel.connectors.ai import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
from semantic_kernel.contents import AuthorRole, FunctionCallContent
from semantic_kernel.filters import FilterTypes

from tests.exercise_support import AnswerTable, assert_not_done

FORECAST, NO_CALL = "a forecast question: the call shown, then the answer", "a question answered without a call"
REQUIRED, AUTO, AUTO_NO_CALL = (
    "Required(): the function runs, then the answer", "Auto(): the stream answers, nothing asked again", "Auto(), answered without a call",
)


async def chunks_of(service: Any, kernel: Any, history: Any, settings: Any, show_calls: bool = True) -> list:
    chunks = []
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings, kernel=kernel):
        for item in chunk.items if show_calls else ():
            if isinstance(item, FunctionCallContent):
                print(f"🔧 {item.name} " if item.name else "", item.arguments or "", sep="", end="", flush=True)
        print(chunk.content, end="", flush=True)
        chunks.append(chunk)
    return chunks


def last_answer(chunks: list) -> list:
    last = max(chunk.function_invoke_attempt for chunk in chunks)
    return [c for c in chunks if c.role == AuthorRole.ASSISTANT and c.function_invoke_attempt == last]


# -- 11.1: show each function call, then keep only the answer -------------------------------------------------


async def stream_answer(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    answer = reduce(add, last_answer(await chunks_of(service, kernel, history, settings)))
    history.add_message(answer)
    return answer.content


async def shows_calls_with_a_filter(service: Any, kernel: Any, history: Any, settings: Any) -> str:  # a filter, and the text: also right
    @kernel.filter(FilterTypes.AUTO_FUNCTION_INVOCATION)
    async def show(context: Any, next: Any) -> None:
        print(f"\n[calling {context.function_call_content.name}({context.function_call_content.arguments})]")
        await next(context)

    text = ""
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings, kernel=kernel):
        print(chunk.content, end="", flush=True)
        text += chunk.content if chunk.role == AuthorRole.ASSISTANT else ""
    history.add_assistant_message(text)
    return text


async def prints_only_the_text(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    answer = reduce(add, last_answer(await chunks_of(service, kernel, history, settings, show_calls=False)))
    history.add_message(answer)
    return answer.content


async def adds_every_chunk(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    answer = reduce(add, await chunks_of(service, kernel, history, settings))
    history.add_message(answer)
    return answer.content


async def glues_the_call_on(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    chunks = await chunks_of(service, kernel, history, settings)
    answer = reduce(add, [c for c in chunks if c.role == AuthorRole.ASSISTANT])
    history.add_message(answer)
    return answer.content


async def takes_attempt_one(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    chunks = await chunks_of(service, kernel, history, settings)
    answer = reduce(add, [c for c in chunks if c.role == AuthorRole.ASSISTANT and c.function_invoke_attempt == 1])
    history.add_message(answer)
    return answer.content


async def leaves_the_history(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    return reduce(add, last_answer(await chunks_of(service, kernel, history, settings))).content


async def returns_the_message(service: Any, kernel: Any, history: Any, settings: Any) -> Any:
    answer = reduce(add, last_answer(await chunks_of(service, kernel, history, settings)))
    history.add_message(answer)
    return answer


# -- 11.2 (challenge): an answer whatever the function choice ----------------------------------------------------


async def always_answers(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    chunks = await chunks_of(service, kernel, history, settings)
    if chunks[-1].role == AuthorRole.TOOL:  # the function ran and the stream stopped
        chunks = await chunks_of(service, kernel, history, OpenAIChatPromptExecutionSettings())
    history.add_message(reduce(add, last_answer(chunks)))
    return history.messages[-1].content


async def asks_again_when_no_text_came(service: Any, kernel: Any, history: Any, settings: Any) -> str:  # another test, NoneInvoke: also right
    text = "".join(c.content for c in await chunks_of(service, kernel, history, settings, show_calls=False) if c.role == AuthorRole.ASSISTANT)
    if not text:
        again = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.NoneInvoke())
        text = "".join(c.content for c in await chunks_of(service, kernel, history, again, show_calls=False))
    history.add_assistant_message(text)
    return text


async def asks_again_with_auto(service: Any, kernel: Any, history: Any, settings: Any) -> str:  # Auto() for the second stream: also right
    answer = reduce(add, last_answer(await chunks_of(service, kernel, history, settings)))
    if not answer.content:
        again = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.Auto())
        answer = reduce(add, last_answer(await chunks_of(service, kernel, history, again)))
    history.add_message(answer)
    return answer.content


async def never_asks_again(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    text = "".join(c.content for c in await chunks_of(service, kernel, history, settings) if c.role == AuthorRole.ASSISTANT)
    history.add_assistant_message(text)
    return text


async def asks_again_when_the_history_ends_on_a_tool(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    answer = last_answer(await chunks_of(service, kernel, history, settings))
    if history.messages[-1].role == AuthorRole.TOOL:  # true after every function call, answered or not
        answer = last_answer(await chunks_of(service, kernel, history, OpenAIChatPromptExecutionSettings()))
    history.add_message(reduce(add, answer))
    return history.messages[-1].content


async def asks_again_with_the_same_settings(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    answer = last_answer(await chunks_of(service, kernel, history, settings))
    if not "".join(chunk.content for chunk in answer):
        answer = last_answer(await chunks_of(service, kernel, history, settings))
    history.add_message(reduce(add, answer))
    return history.messages[-1].content


async def always_asks_again(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    await chunks_of(service, kernel, history, settings)
    answer = reduce(add, await chunks_of(service, kernel, history, OpenAIChatPromptExecutionSettings()))
    history.add_message(answer)
    return answer.content


async def asks_for_the_answer_twice(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    chunks = await chunks_of(service, kernel, history, settings)
    if chunks[-1].role == AuthorRole.TOOL:
        await chunks_of(service, kernel, history, OpenAIChatPromptExecutionSettings())  # answered, but not kept
        again = OpenAIChatPromptExecutionSettings(function_choice_behavior=FunctionChoiceBehavior.NoneInvoke())
        chunks = await chunks_of(service, kernel, history, again)
    history.add_message(reduce(add, last_answer(chunks)))
    return history.messages[-1].content


async def asks_again_without_streaming(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    answer = last_answer(await chunks_of(service, kernel, history, settings))
    if not "".join(chunk.content for chunk in answer):
        reply = await service.get_chat_message_content(chat_history=history, settings=OpenAIChatPromptExecutionSettings())
        print(reply.content)
        history.add_message(reply)
        return reply.content
    history.add_message(reduce(add, answer))
    return history.messages[-1].content


class TestAnswers(AnswerTable):
    right_answers = [
        ("11.1", stream_answer), ("11.1", shows_calls_with_a_filter),
        ("11.2", always_answers), ("11.2", asks_again_when_no_text_came), ("11.2", asks_again_with_auto),
    ]
    wrong_answers = [
        ("11.1", prints_only_the_text, FORECAST, "the call is in chunk.items"),
        ("11.1", adds_every_chunk, FORECAST, "cannot be added to assistant chunks"),
        ("11.1", glues_the_call_on, FORECAST, "the reply holds the function call too"),
        ("11.1", takes_attempt_one, NO_CALL, "function_invoke_attempt 0"),
        ("11.1", leaves_the_history, FORECAST, "never the final answer"),
        ("11.1", returns_the_message, NO_CALL, "not the message"),
        ("11.2", never_asks_again, REQUIRED, "nobody asked for the answer"),
        ("11.2", asks_again_with_the_same_settings, REQUIRED, "a function still required"),
        ("11.2", always_asks_again, AUTO, "ask again only when it ended without an answer"),
        ("11.2", always_asks_again, AUTO_NO_CALL, "ask again only when it ended without an answer"),
        ("11.2", asks_again_when_the_history_ends_on_a_tool, AUTO, "look at the stream, not the history"),
        ("11.2", asks_for_the_answer_twice, REQUIRED, "ask again only when it ended without an answer"),
        ("11.2", asks_again_without_streaming, REQUIRED, "without streaming"),
    ]


async def untouched_11_1(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    raise NotImplementedError("Exercise 11.1: the reader sees each call as it streams, then the answer")


async def untouched_11_2(service: Any, kernel: Any, history: Any, settings: Any) -> str:
    raise NotImplementedError("Exercise 11.2: the reader always gets a streamed answer")


def test_an_untouched_exercise_is_not_done() -> None:
    assert_not_done("11.1", untouched_11_1, "the reader sees each call")
    assert_not_done("11.2", untouched_11_2, "the reader always gets")
