"""Checks for lesson 15 (error budgets and bad tool JSON): a tool call's arguments checked before the tool runs, and a
retry budget that respects Retry-After.

15.1 is graded on the arguments the real openai SDK streams from recorded tool calls, replayed by a server of its
own: lesson 14's tool round (the first call's arguments miss a quote, the second's are whole) and this lesson's
call that leaves out a required property; beside them, arguments made from those the way models get them wrong:
cut short by the token limit, not an object, a property the schema does not declare, a value of the wrong type,
and "" for a tool without parameters (some servers send it).

15.2 is an open-ended challenge, graded on behaviour: the learner's `call_with_budget(call, budget, sleep)` is
handed calls that fail as a rate-limited or failing service does and a `sleep` that records each wait instead
of sleeping. Any backoff passes that waits at least what Retry-After says, keeps the waits within the budget,
gives up with the service's error, and never retries what cannot succeed. (It was exercise 14.2 before lesson 14
was split.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import openai

from ... import clients
from ...checks import Case, Mistake, exercise
from ...config import FIXTURES_DIR
from ...replay import ReplayServer
from ...toolcalls import accumulate_tool_calls, assistant_message
from ..lesson_14.checks import service_error
from ..lesson_14.scenarios import FOLDER, FORECAST_QUESTION, FORECAST_TOOL
from .scenarios import FOLDER as OWN_FOLDER
from .scenarios import MISSING_DAY

__all__ = ["BudgetOutcome", "check_arguments_for", "check_call_with_budget", "recorded_arguments"]

# -- 15.1: check a tool call's arguments before the tool runs ---------------------------------------------------

CLOCK_TOOL = {"type": "function", "function": {
    "name": "get_local_time", "description": "The time now at the trailhead.", "parameters": {"type": "object", "properties": {}},
}}


def recorded_arguments() -> list[str]:
    """The arguments the SDK streams: lesson 14's tool round (a quote missing, then whole), then this lesson's call without `day`."""
    arguments = []
    # A server of its own, in every mode: the round starts from its first recorded answer, at once.
    with ReplayServer(mode="replay", speed=0, fixture_dirs=(FIXTURES_DIR / FOLDER, FIXTURES_DIR / OWN_FOLDER)) as server:
        client = clients.openai_client(server=server)
        messages: list[dict[str, Any]] = list(FORECAST_QUESTION)
        for _ in range(2):
            with client.chat.completions.create(model=clients.model(server=server), messages=messages, tools=[FORECAST_TOOL], stream=True) as stream:
                (call,) = accumulate_tool_calls(stream)
            arguments.append(call.arguments)
            messages += [assistant_message([call]), {"role": "tool", "tool_call_id": call.id, "content": "Error: not valid JSON"}]
        with client.chat.completions.create(model=clients.model(server=server), messages=MISSING_DAY, tools=[FORECAST_TOOL], stream=True) as stream:
            (call,) = accumulate_tool_calls(stream)
        arguments.append(call.arguments)
    return arguments


def _outcome(arguments_for: Callable[[str, dict[str, Any]], Any], arguments: str, tool: dict[str, Any]) -> Callable[[], object]:
    def run() -> object:
        try:
            return arguments_for(arguments, tool)
        except ValueError as error:  # the refusal the exercise asks for: part of the behaviour graded
            return error

    return run


def _refused(naming: str | None = None) -> Callable[[object], None]:
    def verify(got: object) -> None:
        assert isinstance(got, ValueError), f"expected a ValueError the model can read, got {got!r}"
        assert str(got).strip(), "say in the ValueError's message what is wrong: the model reads it"
        if naming:
            assert naming in str(got), f"name {naming!r} in the message, so the model knows what to fix: {str(got)!r}"

    return verify


def _accepted(expected: dict[str, Any]) -> Callable[[object], None]:
    def verify(got: object) -> None:
        assert not isinstance(got, ValueError), f"these arguments are valid, but your code raised ValueError: {got}"
        assert got == expected, f"expected {expected!r}, got {got!r}"

    return verify


def _let_through(got: object) -> bool:
    return not isinstance(got, BaseException)


@exercise("15.1", hint=(
    "json.loads(arguments or '{}') inside try/except json.JSONDecodeError (raise ValueError(...) from it); then the value "
    "must be a dict; schema = tool['function']['parameters']: each name in schema.get('required', []) must be there, each key "
    "must be in schema['properties'], and each value must be of its property's JSON type (string: str, integer: int but not "
    "bool, number: int or float, boolean: bool, array: list, object: dict); raise ValueError naming the property otherwise"
))
def check_arguments_for(arguments_for: Callable[[str, dict[str, Any]], Any]) -> Iterator[Case]:
    bad, good, without_day = recorded_arguments()
    whole = json.loads(good)
    required = FORECAST_TOOL["function"]["parameters"]["required"]
    name, day = required[0], required[-1]  # "location" (a string) and "day", which the third recording leaves out
    general = "return the arguments as a dict when they are a JSON object the tool's schema accepts; otherwise raise ValueError saying why"
    cases = [
        ("the recorded arguments with a quote missing", bad, FORECAST_TOOL, _refused(),
         [Mistake("arguments that are not JSON must not reach the tool: raise ValueError saying so, and the model calls again",
                  _let_through)]),
        ("the recorded arguments that the model sent next", good, FORECAST_TOOL, _accepted(whole), []),
        ("arguments cut short by the token limit", good[: len(good) // 2], FORECAST_TOOL, _refused(),
         [Mistake("JSON cut short does not parse: raise ValueError, do not guess the rest", _let_through)]),
        ("a JSON array, not an object", json.dumps(list(whole.values())), FORECAST_TOOL, _refused(),
         [Mistake("the arguments must be a JSON object (a dict) to become keyword arguments: refuse a list", lambda got: isinstance(got, list))]),
        (f"the recorded arguments without {day!r}, which the tool requires", without_day, FORECAST_TOOL, _refused(day),
         [Mistake("the schema's `required` list names what the tool cannot do without: check that each one is there",
                  lambda got: isinstance(got, dict) and day not in got)]),
        ("a property the tool does not declare ('units')", json.dumps({**whole, "units": "metric"}), FORECAST_TOOL, _refused("units"),
         [Mistake("a property the schema does not declare would reach the tool as an unexpected keyword: refuse it",
                  lambda got: isinstance(got, dict) and "units" in got)]),
        (f"a value of the wrong type ({name!r} a number)", json.dumps({**whole, name: 7}), FORECAST_TOOL, _refused(name),
         [Mistake("check each value against its property's `type` in the schema: a string property given a number is wrong",
                  lambda got: isinstance(got, dict) and got.get(name) == 7)]),
        ('"" for a tool without parameters', "", CLOCK_TOOL, _accepted({}),
         [Mistake('some servers send "" for a function without parameters: take it as {}', lambda got: isinstance(got, ValueError))]),
    ]
    for case, arguments, tool, verify, mistakes in cases:
        yield Case(case, run=_outcome(arguments_for, arguments, tool), verify=verify, hint=general, mistakes=mistakes)


# -- 15.2: a retry budget that respects Retry-After ----------------------------------------------------------


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
    """The typical wrong answers to 15.2, recognised in the waits asked for and what came back."""
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


@exercise("15.2", hint=(
    "loop: try `return call()`; except an error worth retrying (resilience.is_retryable, or your 14.1): wait = float(header) when "
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
