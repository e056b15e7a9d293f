"""Checks for lesson 14 (resilience): what is worth retrying, and a retry budget that respects Retry-After.

14.1 is graded on the exceptions the real openai SDK raises from the lesson's recorded faults (a 429, a 500, a
dropped connection, a stall, a malformed event), played by a replay server of its own with the SDK's own retries
off, beside errors the service sends for a bad request or a bad key and a bug in the caller's code.

14.2 is an open-ended challenge, graded on behaviour: the learner's `call_with_budget(call, budget, sleep)` is
handed calls that fail as a rate-limited or failing service does and a `sleep` that records each wait instead
of sleeping. Any backoff passes that waits at least what Retry-After says, keeps the waits within the budget,
gives up with the service's error, and never retries what cannot succeed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai

from ... import clients
from ...checks import Case, Mistake, exercise
from ...config import FIXTURES_DIR
from ...replay import ReplayServer
from .scenarios import DROPPED, MALFORMED, RATE_LIMITED, SERVER_ERROR, STALLED

__all__ = ["BudgetOutcome", "check_call_with_budget", "check_worth_retrying", "service_error", "sdk_errors"]

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
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / "14_resilience",)) as server:
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
        mistakes = [Mistake(f"{type(error).__name__} is not an openai.APIStatusError: a failure on the connection or in the stream "
                            "is worth another try too", _said(False))]
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


# -- 14.2: a retry budget that respects Retry-After ----------------------------------------------------------


@dataclass
class BudgetOutcome:
    """What `call_with_budget` did: what it returned or raised, the waits it asked for, and how many calls it made."""

    returned: object = None
    raised: BaseException | None = None
    waits: list[float] = field(default_factory=list)
    calls: int = 0


def _scripted(failures: list[BaseException], answer: str = "the answer") -> tuple[Callable[[], str], BudgetOutcome]:
    outcome = BudgetOutcome()

    def call() -> str:
        outcome.calls += 1
        if outcome.calls <= len(failures):
            raise failures[outcome.calls - 1]
        return answer

    return call, outcome


def _run(call_with_budget: Callable[..., Any], failures: list[BaseException], budget: float) -> Callable[[], BudgetOutcome]:
    def run() -> BudgetOutcome:
        call, outcome = _scripted(failures)
        try:
            outcome.returned = call_with_budget(call, budget, outcome.waits.append)
        except openai.APIError as error:  # the service's error, given up on: part of the behaviour graded
            outcome.raised = error
        return outcome

    return run


def _verify(budget: float, answers: bool, retry_after: list[float | None], calls: int) -> Callable[[BudgetOutcome], None]:
    def verify(got: BudgetOutcome) -> None:
        assert isinstance(got, BudgetOutcome)
        assert sum(got.waits) <= budget + 1e-9, f"waited {sum(got.waits):g} s in all, over the budget of {budget:g} s"
        assert len(got.waits) == len(retry_after), f"expected {len(retry_after)} wait(s) before giving up or succeeding, got {got.waits}"
        for wait, said in zip(got.waits, retry_after):
            assert wait >= (said or 0.001), f"waited {wait:g} s where the service said Retry-After: {said}" if said else "back off before a retry"
        assert got.calls == calls, f"expected {calls} call(s), made {got.calls}"
        if answers:
            assert got.returned == "the answer" and got.raised is None, "return what the call returned once it succeeds"
        else:
            assert isinstance(got.raised, openai.APIStatusError), f"give up by raising the service's error, not by returning {got.returned!r}"

    return verify


def budget_mistakes(budget: float, retry_after: list[float | None]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 14.2, recognised in the waits asked for and what came back."""
    def seen(test: Callable[[BudgetOutcome], bool]) -> Callable[[object], bool]:
        return lambda got: isinstance(got, BudgetOutcome) and test(got)

    return (
        Mistake("look at the budget before you sleep: if this wait would take the total past it, raise the error instead",
                seen(lambda got: sum(got.waits) > budget + 1e-9)),
        Mistake("the service says how long to wait: read error.response.headers['retry-after'] (seconds) and wait at least that",
                seen(lambda got: any(said and wait < said for wait, said in zip(got.waits, retry_after)))),
        Mistake("out of budget, raise the last error (a bare `raise` in the except block): returning None hides the failure",
                seen(lambda got: got.raised is None and got.returned is None)),
        Mistake("a 400 fails the same way every time: raise it at once, without waiting",
                seen(lambda got: not retry_after and (got.waits or got.calls > 1))),
    )


@exercise("14.2", hint=(
    "loop: try `return call()`; except an error worth retrying (resilience.is_retryable, 14.1): wait = float(header) when "
    "error.response.headers has 'retry-after', else your backoff (0.5, 1, 2 ...); if waited + wait > budget: raise; "
    "sleep(wait); waited += wait. Errors not worth retrying: raise at once"
))
def check_call_with_budget(call_with_budget: Callable[..., Any]) -> Iterator[Case]:
    cases = [
        ("two 429s with Retry-After: 1, then the answer (budget 5 s)", [service_error(429, 1), service_error(429, 1)], 5.0, True, [1, 1], 3),
        ("429s with Retry-After: 3 (budget 5 s): one wait, then give up", [service_error(429, 3)] * 3, 5.0, False, [3], 2),
        ("two 500s without Retry-After, then the answer (budget 10 s)", [service_error(500), service_error(500)], 10.0, True, [None, None], 3),
        ("a 400 bad request (budget 10 s): no retry", [service_error(400)], 10.0, False, [], 1),
        ("the answer at once", [], 5.0, True, [], 1),
    ]
    for name, failures, budget, answers, retry_after, calls in cases:
        yield Case(name, run=_run(call_with_budget, failures, budget), verify=_verify(budget, answers, retry_after, calls),
                   hint="retry what is worth it, waiting what Retry-After says, within the budget; then give up with the error",
                   mistakes=budget_mistakes(budget, retry_after))
