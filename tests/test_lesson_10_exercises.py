"""Exercise 10.2, an open-ended challenge graded on behaviour: stop a stream when the partial output fails a check.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from tests.exercise_support import AnswerTable


# -- 10.2: stop a stream when the partial output fails a check --------------------------------------------------


async def moderates(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown = ""
    async with aclosing(service.get_streaming_chat_message_content(chat_history=history, settings=settings)) as stream:
        async for chunk in stream:
            if not allowed(shown + chunk.content):
                print("\n[stopped]")
                break
            print(chunk.content, end="", flush=True)
            shown += chunk.content
    return shown


async def moderates_by_character(service: Any, history: Any, settings: Any, allowed: Any) -> str:  # finer than a chunk: also right
    shown = ""
    async for batch in service.get_streaming_chat_message_contents(chat_history=history, settings=settings):
        for character in batch[0].content if batch else "":
            if not allowed(shown + character):
                return shown
            print(character, end="", flush=True)
            shown += character
    return shown


async def checks_each_chunk(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown = ""
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        if not allowed(chunk.content):
            break
        print(chunk.content, end="", flush=True)
        shown += chunk.content
    return shown


async def prints_then_checks(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown = ""
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        print(chunk.content, end="", flush=True)
        shown += chunk.content
        if not allowed(shown):
            break
    return shown


async def reads_to_the_end(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown, stopped = "", False
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        stopped = stopped or not allowed(shown + chunk.content)
        if not stopped:
            print(chunk.content, end="", flush=True)
            shown += chunk.content
    return shown


async def returns_the_whole_answer(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown, whole = "", ""
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        whole += chunk.content
        if not allowed(whole):
            break
        print(chunk.content, end="", flush=True)
        shown += chunk.content
    return whole


PHRASE = "a banned phrase whose words arrive in two chunks"
LIMIT = "a length limit (half the answer)"


class TestAnswers(AnswerTable):
    right_answers = [("10.2", moderates), ("10.2", moderates_by_character)]
    wrong_answers = [
        ("10.2", checks_each_chunk, PHRASE, "give it the whole text so far"),
        ("10.2", checks_each_chunk, LIMIT, "give it the whole text so far"),
        ("10.2", prints_then_checks, PHRASE, "printed before it was checked"),
        ("10.2", reads_to_the_end, LIMIT, "break out of the async for"),
        ("10.2", returns_the_whole_answer, PHRASE, "return what the reader saw"),
    ]
