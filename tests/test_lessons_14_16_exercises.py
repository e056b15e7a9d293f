"""Exercises 14.1, 14.2 and 16.2: the right answers pass, each typical wrong answer gets the hint for its mistake.

14.1 is graded on the exceptions the real SDK raises from lesson 14's recorded faults; 14.2 (an answer that
survives those faults on the async client, played by a server of the check's own) and 16.2 (a writing-speed
meter) are challenges graded on behaviour, so each passes more than one right way. (Lesson 15's exercises,
among them the retry budget that was 14.2, are in tests/test_lesson_15_exercises.py.) Each wrong answer fails a named case with a phrase that only its mistake's hint holds (the
case's general hint does not, which a test checks), so a row fails when its mistake is no longer recognised.
An untouched stub is "not done".
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import tenacity

from labs import resilience
from tests.exercise_support import AnswerTable, assert_not_done



# -- 14.1: what is worth retrying -------------------------------------------------------------------------


def by_status(error: BaseException) -> bool:
    if isinstance(error, openai.APIStatusError):
        return error.status_code == 429 or error.status_code >= 500
    return isinstance(error, (openai.APIConnectionError, json.JSONDecodeError))


def by_the_lessons_helper(error: BaseException) -> bool:  # another right way
    return resilience.is_retryable(error)


def retries_everything(error: BaseException) -> bool:
    return True


def openai_errors_only(error: BaseException) -> bool:
    return isinstance(error, openai.APIError) and not isinstance(error, (openai.BadRequestError, openai.AuthenticationError))


def server_errors_only(error: BaseException) -> bool:
    return isinstance(error, openai.InternalServerError) or isinstance(error, (openai.APIConnectionError, json.JSONDecodeError))


def rate_limits_and_connections_only(error: BaseException) -> bool:  # a 500 taken for the request's own fault
    return isinstance(error, (openai.RateLimitError, openai.APIConnectionError, json.JSONDecodeError))


def status_errors_only(error: BaseException) -> bool:
    return isinstance(error, openai.APIStatusError) and (error.status_code == 429 or error.status_code >= 500)


# -- 14.2: an answer that survives, on the async client -------------------------------------------------


def _retrying(attempts: int, **options: Any) -> tenacity.AsyncRetrying:
    return tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(attempts), wait=tenacity.wait_exponential_jitter(multiplier=0.01, max=0.05, jitter=0.01),
        retry=tenacity.retry_if_exception(resilience.is_retryable), reraise=True, **options,
    )


async def with_tenacity(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    answer = resilience.ResumableAnswer(messages)
    try:
        async for attempt in _retrying(attempts):
            with attempt, answer.attempt() as request:
                async with await client.chat.completions.create(model=model, messages=request, stream=True) as stream:
                    async for chunk in stream:
                        answer.add(chunk)
    except resilience.STREAM_ERRORS:
        pass
    return answer.text


async def a_loop_of_its_own(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    # another right way: no tenacity, no ResumableAnswer; the overlap trimmed once per continuation
    text = ""
    for number in range(attempts):
        request = resilience.continuation_messages(messages, text) if text else messages
        piece, finished = "", False
        try:
            async for chunk in await client.chat.completions.create(model=model, messages=request, stream=True):
                if chunk.choices:
                    piece += chunk.choices[0].delta.content or ""
                    finished = finished or chunk.choices[0].finish_reason is not None
        except (openai.APIConnectionError, json.JSONDecodeError):
            pass
        text += resilience.merge_overlap(text, piece) if text else piece
        if finished:
            break
        await asyncio.sleep(0.01 * 2**number)
    return text


async def starts_over(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    text = ""
    try:
        async for attempt in _retrying(attempts):
            with attempt:
                async for chunk in await client.chat.completions.create(model=model, messages=messages, stream=True):
                    text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    except resilience.STREAM_ERRORS:
        pass
    return text


async def keeps_the_repeat(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    text = ""
    for _ in range(attempts):
        request = resilience.continuation_messages(messages, text) if text else messages
        try:
            async for chunk in await client.chat.completions.create(model=model, messages=request, stream=True):
                text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
            return text
        except (openai.APIConnectionError, json.JSONDecodeError):
            continue
    return text


async def openai_errors_only_async(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    answer = resilience.ResumableAnswer(messages)
    try:
        async for attempt in tenacity.AsyncRetrying(stop=tenacity.stop_after_attempt(attempts), retry=tenacity.retry_if_exception_type(openai.APIError), reraise=True):
            with attempt, answer.attempt() as request:
                async for chunk in await client.chat.completions.create(model=model, messages=request, stream=True):
                    answer.add(chunk)
    except openai.APIError:
        pass
    return answer.text


async def never_gives_up(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    answer = resilience.ResumableAnswer(messages)
    async for attempt in tenacity.AsyncRetrying(wait=tenacity.wait_fixed(0.01), retry=tenacity.retry_if_exception(resilience.is_retryable)):
        with attempt, answer.attempt() as request:
            async for chunk in await client.chat.completions.create(model=model, messages=request, stream=True):
                answer.add(chunk)
    return answer.text


async def raises_when_out_of_attempts(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    answer = resilience.ResumableAnswer(messages)
    async for attempt in _retrying(attempts):
        with attempt, answer.attempt() as request:
            async for chunk in await client.chat.completions.create(model=model, messages=request, stream=True):
                answer.add(chunk)
    return answer.text


async def untouched_answer(client: openai.AsyncOpenAI, model: str, messages: list[dict[str, Any]], attempts: int = 3) -> str:
    raise NotImplementedError("Exercise 14.2: complete answer_resiliently. Hint: the reader must see the whole answer once")


# -- 16.2: a writing-speed meter ---------------------------------------------------------------------------


class FromTheFirstText:
    def __init__(self) -> None:
        self.first: float | None = None
        self.last: float | None = None
        self.written = 0

    def record(self, t: float, text: str = "") -> None:
        if text:
            if self.first is None:
                self.first = t
            else:
                self.written += len(text)
            self.last = t

    def rate(self) -> float | None:
        if self.first is None or self.last is None or self.last == self.first:
            return None
        return self.written / (self.last - self.first)


class OverTheTextTimes:  # another right way: every character counted, over the span of the text events
    def __init__(self) -> None:
        self.pieces: list[tuple[float, int]] = []

    def record(self, t: float, text: str = "") -> None:
        if text:
            self.pieces.append((t, len(text)))

    def rate(self) -> float | None:
        if len(self.pieces) < 2:
            return None
        return sum(n for _, n in self.pieces) / (self.pieces[-1][0] - self.pieces[0][0])


class FromTheRequest(FromTheFirstText):
    def rate(self) -> float | None:
        return None if self.last is None or self.last == self.first else self.written / self.last


class CountsEvents(OverTheTextTimes):
    def rate(self) -> float | None:
        return None if len(self.pieces) < 2 else (len(self.pieces) - 1) / (self.pieces[-1][0] - self.pieces[0][0])


class EndsAtTheLastEvent(FromTheFirstText):
    def record(self, t: float, text: str = "") -> None:
        super().record(t, text)
        if self.first is not None:
            self.last = t


class DividesWithoutLooking(FromTheFirstText):
    def rate(self) -> float | None:
        return self.written / (self.last - self.first)  # type: ignore[operator]


class Untouched:
    def __init__(self) -> None:
        raise NotImplementedError("Exercise 16.2: complete __init__.")


class TestAnswers(AnswerTable):
    right_answers = [
        ("14.1", by_status), ("14.1", by_the_lessons_helper),
        ("14.2", with_tenacity), ("14.2", a_loop_of_its_own),
        ("16.2", FromTheFirstText), ("16.2", OverTheTextTimes),
    ]
    wrong_answers = [
        ("14.1", retries_everything, "a 400 bad request", "retrying only multiplies it"),
        ("14.1", openai_errors_only, "an event the SDK cannot parse (JSONDecodeError)", "not an openai error"),
        ("14.1", server_errors_only, "a 429 rate limit (RateLimitError)", "429 is a 4xx that succeeds later"),
        ("14.1", status_errors_only, "a connection dropped mid-stream (APIConnectionError)", "is not an openai.APIStatusError"),
        ("14.1", rate_limits_and_connections_only, "a 500 server error (InternalServerError)", "InternalServerError (500) is the service failing"),
        ("14.2", starts_over, "a connection dropped mid-stream", "starts the answer over"),
        ("14.2", keeps_the_repeat, "a connection dropped mid-stream", "repeats its last few words"),
        ("14.2", openai_errors_only_async, "an event the SDK cannot parse", "not an openai error"),
        ("14.2", never_gives_up, "a connection that keeps dropping (attempts=3)", "stop after `attempts` attempts"),
        ("14.2", raises_when_out_of_attempts, "a connection that keeps dropping (attempts=3)", "return the text kept instead of raising"),
        ("16.2", FromTheRequest, "a late first token is not slow writing (every time 2 s later)", "not from the request"),
        ("16.2", CountsEvents, "twice the text in the same time", "not the events"),
        ("16.2", EndsAtTheLastEvent, "a usage chunk a second after the last text", "end the writing time at the last text"),
        ("16.2", DividesWithoutLooking, "a stream with no text at all (a tool call)", "rather than divide by zero"),
    ]


def test_an_untouched_resilient_answer_is_not_done() -> None:
    assert_not_done("14.2", untouched_answer, "complete answer_resiliently")


def test_an_untouched_meter_is_not_done() -> None:
    assert_not_done("16.2", Untouched)
