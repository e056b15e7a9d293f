"""Exercises 14.1, 14.2 and 16.2: the right answers pass, each typical wrong answer gets the hint for its mistake.

14.1 is graded on the exceptions the real SDK raises from lesson 14's recorded faults; 14.2 (a retry budget that
respects Retry-After) and 16.2 (a writing-speed meter) are challenges graded on behaviour, so each passes more
than one right way. Each wrong answer fails a named case with a phrase that only its mistake's hint holds (the
case's general hint does not, which a test checks), so a row fails when its mistake is no longer recognised.
An untouched stub is "not done".
"""

from __future__ import annotations

import json
import time
from typing import Any

import openai

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


def status_errors_only(error: BaseException) -> bool:
    return isinstance(error, openai.APIStatusError) and (error.status_code == 429 or error.status_code >= 500)


# -- 14.2: a retry budget that respects Retry-After -------------------------------------------------------


def _retry_after(error: BaseException) -> float | None:
    asked = error.response.headers.get("retry-after") if isinstance(error, openai.APIStatusError) else None
    return float(asked) if asked else None


def doubling_backoff(call: Any, budget: float, sleep: Any = time.sleep) -> Any:
    waited, backoff = 0.0, 0.5
    while True:
        try:
            return call()
        except Exception as error:
            if not resilience.is_retryable(error):
                raise
            wait = _retry_after(error) or backoff
            if waited + wait > budget:
                raise
            sleep(wait)
            waited, backoff = waited + wait, backoff * 2


def fixed_pause_with_margin(call: Any, budget: float, sleep: Any = time.sleep) -> Any:  # another right way
    waited = 0.0
    for _ in range(10):
        try:
            return call()
        except (openai.RateLimitError, openai.InternalServerError) as error:
            wait = max(_retry_after(error) or 0.0, 0.25) + 0.1
            if waited + wait > budget:
                raise
            sleep(wait)
            waited += wait
    return call()


def ignores_the_budget(call: Any, budget: float, sleep: Any = time.sleep) -> Any:
    while True:
        try:
            return call()
        except (openai.RateLimitError, openai.InternalServerError) as error:
            sleep(_retry_after(error) or 0.5)


def ignores_retry_after(call: Any, budget: float, sleep: Any = time.sleep) -> Any:
    waited = 0.0
    while True:
        try:
            return call()
        except (openai.RateLimitError, openai.InternalServerError):
            if waited + 0.5 > budget:
                raise
            sleep(0.5)
            waited += 0.5


def returns_none_when_out_of_budget(call: Any, budget: float, sleep: Any = time.sleep) -> Any:
    waited = 0.0
    while True:
        try:
            return call()
        except (openai.RateLimitError, openai.InternalServerError) as error:
            wait = _retry_after(error) or 0.5
            if waited + wait > budget:
                return None
            sleep(wait)
            waited += wait


def retries_a_bad_request(call: Any, budget: float, sleep: Any = time.sleep) -> Any:
    waited = 0.0
    while True:
        try:
            return call()
        except openai.APIStatusError as error:
            wait = _retry_after(error) or 0.5
            if waited + wait > budget:
                raise
            sleep(wait)
            waited += wait


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
        ("14.2", doubling_backoff), ("14.2", fixed_pause_with_margin),
        ("16.2", FromTheFirstText), ("16.2", OverTheTextTimes),
    ]
    wrong_answers = [
        ("14.1", retries_everything, "a 400 bad request", "retrying only multiplies it"),
        ("14.1", openai_errors_only, "an event the SDK cannot parse (JSONDecodeError)", "not an openai error"),
        ("14.1", server_errors_only, "a 429 rate limit (RateLimitError)", "429 is a 4xx that succeeds later"),
        ("14.1", status_errors_only, "a connection dropped mid-stream (APIConnectionError)", "is not an openai.APIStatusError"),
        ("14.2", ignores_the_budget, "429s with Retry-After: 3 (budget 5 s): one wait, then give up", "look at the budget before you sleep"),
        ("14.2", ignores_retry_after, "two 429s with Retry-After: 1, then the answer (budget 5 s)", "headers['retry-after']"),
        ("14.2", returns_none_when_out_of_budget, "429s with Retry-After: 3 (budget 5 s): one wait, then give up", "returning None hides"),
        ("14.2", retries_a_bad_request, "a 400 bad request (budget 10 s): no retry", "raise it at once"),
        ("16.2", FromTheRequest, "a late first token is not slow writing (every time 2 s later)", "not from the request"),
        ("16.2", CountsEvents, "twice the text in the same time", "not the events"),
        ("16.2", EndsAtTheLastEvent, "a usage chunk a second after the last text", "end the writing time at the last text"),
        ("16.2", DividesWithoutLooking, "a stream with no text at all (a tool call)", "rather than divide by zero"),
    ]


def test_an_untouched_meter_is_not_done() -> None:
    assert_not_done("16.2", Untouched)
