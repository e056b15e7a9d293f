"""Checks for lesson 14 (resilience): what is worth retrying, and a retry budget that respects Retry-After.

14.1 is graded on the exceptions the real openai SDK raises from the lesson's recorded faults (a 429, a 500, a
dropped connection, a stall, a malformed event), played by a replay server of its own with the SDK's own retries
off, beside errors the service sends for a bad request or a bad key and a bug in the caller's code.

14.2 is an open-ended challenge, graded on behaviour: the learner's `answer_resiliently(client, model, messages,
attempts)`, a coroutine, gets a real `openai.AsyncOpenAI` client on a replay server of its own (a short read
timeout) and each recorded fault in turn. Any way of doing it passes (tenacity or a loop of one's own,
`ResumableAnswer` or another way to trim the join) that returns the whole answer, each word once, or, when the
connection keeps dropping, the text kept after exactly `attempts` requests. The recordings answer the lesson's
continuation request (`labs.resilience.continuation_messages`), so a retry that asks the question again is
served the same fault again, as a real service would fail it again.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import openai

from ... import clients
from ...checks import Case, Mistake, exercise
from ...config import FIXTURES_DIR
from ...recordings import chat_text
from ...replay import ReplayServer
from .scenarios import DROPPED, FOLDER, GIVES_UP, MALFORMED, RATE_LIMITED, SERVER_ERROR, STALLED

if TYPE_CHECKING:
    import httpx2

__all__ = ["Survival", "check_answer_resiliently", "check_worth_retrying", "service_error", "sdk_errors"]

URL = "http://127.0.0.1/v1/chat/completions"


def service_error(status: int, retry_after: float | None = None) -> openai.APIStatusError:
    """The exception the openai SDK raises for an HTTP error from the service, with its Retry-After header if any."""
    headers = {"retry-after": f"{retry_after:g}"} if retry_after is not None else {}
    response = httpx.Response(status, headers=headers, request=httpx.Request("POST", URL))
    classes = {400: openai.BadRequestError, 401: openai.AuthenticationError, 429: openai.RateLimitError, 500: openai.InternalServerError}
    return classes[status](f"Error code: {status}", response=response, body=None)


def _raised_by(client: openai.OpenAI, messages: list[dict[str, str]]) -> BaseException:
    try:
        for _ in client.chat.completions.create(model=clients.model(), messages=messages, stream=True):
            pass
    except Exception as error:  # the checker keeps whatever the SDK raised, to hand it to the learner
        return error
    raise AssertionError("the recorded fault did not happen: the stream ended normally")


def sdk_errors() -> dict[str, BaseException]:
    """The exceptions the SDK raises from the lesson's recorded faults, its own retries off (so the 429 reaches us)."""
    faults = {"a 429 rate limit": RATE_LIMITED, "a 500 server error": SERVER_ERROR, "a connection dropped mid-stream": DROPPED,
              "a stream that stalls (read timeout)": STALLED, "an event the SDK cannot parse": MALFORMED}
    # A server of its own, in every mode: each check starts every scenario from its first recorded answer (the 429,
    # not the 200 after it), and plays at once, since only the exceptions matter.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / FOLDER,)) as server:
        client = clients.openai_client(server=server, max_retries=0, timeout=openai.Timeout(10.0, read=0.3))
        return {name: _raised_by(client, messages) for name, messages in faults.items()}


def _said(verdict: bool) -> Callable[[object], bool]:
    return lambda got: got is verdict


@exercise("14.1", hint=(
    "return True for what may succeed next time: openai.RateLimitError, openai.InternalServerError (any status >= 500), "
    "openai.APIConnectionError (which includes APITimeoutError) and json.JSONDecodeError; False for other 4xx "
    "(openai.APIStatusError with status_code < 500 and not 429) and for everything else (a bug in your own code)"
))
def check_worth_retrying(worth_retrying: Callable[[BaseException], bool]) -> Iterator[Case]:
    for name, error in sdk_errors().items():
        if isinstance(error, openai.APIStatusError):  # the 429 and the 500: the service failing, not the request
            mistakes = [Mistake(f"{type(error).__name__} ({error.status_code}) is the service failing, not the request: the next "
                                "attempt may succeed, so it is worth another try", _said(False))]
        else:
            mistakes = [Mistake(f"{type(error).__name__} is not an openai.APIStatusError: a failure on the connection or in the "
                                "stream is worth another try too", _said(False))]
        if isinstance(error, json.JSONDecodeError):
            mistakes.insert(0, Mistake("a broken event raises json.JSONDecodeError, not an openai error: the next attempt may "
                                       "arrive whole", _said(False)))
        if isinstance(error, openai.RateLimitError):
            mistakes.insert(0, Mistake("429 is a 4xx that succeeds later: the service says when (Retry-After)", _said(False)))
        yield Case(f"{name} ({type(error).__name__})", run=lambda error=error: worth_retrying(error), expected=True,
                   hint="this failure may not happen on the next attempt", mistakes=mistakes)
    permanent = {"a 400 bad request": service_error(400), "a 401 bad key": service_error(401),
                 "a bug in your own code (TypeError)": TypeError("unsupported operand type(s) for +: 'int' and 'str'")}
    for name, error in permanent.items():
        yield Case(name, run=lambda error=error: worth_retrying(error), expected=False,
                   hint="the same request fails the same way again: do not retry it",
                   mistakes=[Mistake("not every error is worth retrying: a bad request, a bad key or a bug fails the same way "
                                     "again, and retrying only multiplies it", _said(True))])


# -- 14.2: an answer that survives, on the async client -------------------------------------------------------

READ_TIMEOUT = 0.5  # the check's read timeout: the stalled fixture's silence lasts far longer
CASE_SECONDS = 5.0  # the most one case may take; an answer that never stops retrying is cut there
ATTEMPTS = 3


@dataclass
class Survival:
    """What `answer_resiliently` returned for one recorded fault, the HTTP requests it took, and how long."""

    text: object = None
    whole: str = ""
    requests: int = 0
    seconds: float = 0.0


async def _survive(answer_resiliently: Callable[..., Any], name: str, messages: list[dict[str, str]]) -> Survival:
    outcome = Survival(whole=chat_text(f"{FOLDER}/{name}", 1 if name == "rate_limited" else 0))

    async def counted(request: httpx2.Request) -> None:
        outcome.requests += 1

    # A server of its own for each case, in every mode: each scenario starts from its first recorded answer.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / FOLDER,)) as server:
        client = clients.async_openai_client(
            server=server, timeout=openai.Timeout(10.0, read=READ_TIMEOUT),
            http_client=openai.DefaultAsyncHttpxClient(event_hooks={"request": [counted]}),
        )
        started = time.perf_counter()
        try:
            outcome.text = await asyncio.wait_for(answer_resiliently(client, clients.model(server=server), messages, attempts=ATTEMPTS),
                                                  CASE_SECONDS)
        finally:
            outcome.seconds = time.perf_counter() - started
            await client.close()
    return outcome


def _whole_once(got: Survival) -> None:
    assert isinstance(got, Survival) and isinstance(got.text, str), f"return the answer's text (a str), not {got.text!r}"
    assert got.text == got.whole, f"expected the whole answer, each word once ({len(got.whole)} characters), got {_short(got.text)}"


def _kept_when_out_of_attempts(got: Survival) -> None:
    assert isinstance(got, Survival) and isinstance(got.text, str), f"return the text kept (a str), not {got.text!r}"
    assert got.text and got.whole.startswith(got.text), f"expected the text received before the drops, got {_short(got.text)}"
    assert got.requests == ATTEMPTS, f"with attempts={ATTEMPTS}, expected {ATTEMPTS} requests, sent {got.requests}"


def _short(text: object, size: int = 60) -> str:
    return repr(text) if not isinstance(text, str) or len(text) <= size else f"{text[:size]!r}… ({len(text)} characters)"


def _starts_over(got: object) -> bool:
    """The text received before the fault appears twice: a retry asked the question again."""
    if not isinstance(got, Survival) or not isinstance(got.text, str) or not got.whole:
        return False
    opening = got.whole[:30]
    return got.text.count(opening) > 1


def _repeats_the_join(got: object) -> bool:
    """Longer than the whole answer and not a restart: the words the model repeated when it continued were kept."""
    return isinstance(got, Survival) and isinstance(got.text, str) and len(got.text) > len(got.whole) and not _starts_over(got)


SURVIVAL_MISTAKES = (
    Mistake("sending the question again starts the answer over, and the reader sees the first part twice: keep the text "
            "received and ask the model to continue from it", _starts_over),
    Mistake("a model asked to continue repeats its last few words: keep only what is new (resilience.merge_overlap, "
            "or ResumableAnswer.add)", _repeats_the_join),
    Mistake("a broken event raises json.JSONDecodeError, not an openai error: it is worth another attempt too",
            lambda got: isinstance(got, json.JSONDecodeError)),
    Mistake(f"the answer was still retrying after {CASE_SECONDS:g} s: stop after `attempts` attempts",
            lambda got: isinstance(got, TimeoutError)),
    Mistake("when the attempts run out, return the text kept instead of raising: the reader has already read it",
            lambda got: isinstance(got, openai.APIConnectionError)),
)


@exercise("14.2", hint=(
    "the lesson's stream_with_recovery, made async: answer = resilience.ResumableAnswer(messages); "
    "async for attempt in tenacity.AsyncRetrying(stop=tenacity.stop_after_attempt(attempts), wait=..., "
    "retry=tenacity.retry_if_exception(resilience.is_retryable), reraise=True): with attempt, answer.attempt() as request: "
    "async for chunk in await client.chat.completions.create(model=model, messages=request, stream=True): answer.add(chunk); "
    "catch resilience.STREAM_ERRORS around the loop, and return answer.text"
))
def check_answer_resiliently(answer_resiliently: Callable[..., Any]) -> Iterator[Case]:
    cases = [
        ("a connection dropped mid-stream", "dropped", DROPPED, _whole_once),
        (f"a stream that stalls longer than the {READ_TIMEOUT:g} s read timeout", "stalled", STALLED, _whole_once),
        ("an event the SDK cannot parse", "malformed", MALFORMED, _whole_once),
        ("a 429 before the stream (the SDK retries it)", "rate_limited", RATE_LIMITED, _whole_once),
        (f"a connection that keeps dropping (attempts={ATTEMPTS})", "gives_up", GIVES_UP, _kept_when_out_of_attempts),
    ]
    for name, fixture_name, messages, verify in cases:
        yield Case(name, run=lambda fixture_name=fixture_name, messages=messages: _survive(answer_resiliently, fixture_name, messages),
                   verify=verify, hint="show each word of the answer once, continuing after a failure during the stream; "
                   "out of attempts, return what you kept", mistakes=SURVIVAL_MISTAKES)
