"""Exercises 15.1 and 15.2: the right answers pass, each typical wrong answer gets the hint for its mistake.

15.1 is graded on the tool-call arguments the real SDK streams from lesson 14's recorded tool round, and on
arguments made from them the way models get them wrong; 15.2 (a retry budget that respects Retry-After, exercise
14.2 before lesson 14 was split) is a challenge graded on behaviour. Each passes more than one right way. Each
wrong answer fails a named case with a phrase that only its mistake's hint holds (the case's general hint does not,
which a test checks), so a row fails when its mistake is no longer recognised. An untouched stub is "not done".
"""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import openai

from labs import resilience
from tests.exercise_support import AnswerTable, assert_not_done

# -- 15.1: check a tool call's arguments before the tool runs ---------------------------------------------

JSON_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}


def checked_by_hand(arguments: str, tool: dict[str, Any]) -> dict[str, Any]:
    schema = tool["function"].get("parameters") or {}
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"the arguments are not valid JSON ({error}): {arguments!r}") from None
    if not isinstance(value, dict):
        raise ValueError(f"the arguments must be a JSON object, not {type(value).__name__}")
    properties = schema.get("properties", {})
    missing = [name for name in schema.get("required", []) if name not in value]
    if missing:
        raise ValueError(f"missing required argument(s): {', '.join(missing)}")
    for key, item in value.items():
        if key not in properties:
            raise ValueError(f"unknown argument {key!r}: the tool takes {', '.join(properties) or 'none'}")
        kind = properties[key].get("type")
        if kind in JSON_TYPES and (not isinstance(item, JSON_TYPES[kind]) or (kind in ("integer", "number") and isinstance(item, bool))):
            raise ValueError(f"argument {key!r} must be a {kind}, not {json.dumps(item)}")
    return value


def with_jsonschema(arguments: str, tool: dict[str, Any]) -> dict[str, Any]:  # another right way: the library validates
    schema = {"additionalProperties": False, **tool["function"]["parameters"]}
    try:
        value = json.loads(arguments) if arguments.strip() else {}
        jsonschema.validate(value, schema)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error}") from None
    except jsonschema.ValidationError as error:
        raise ValueError(f"{error.message} (at {'/'.join(map(str, error.path)) or 'the top'})") from None
    return value


def only_parses(arguments: str, tool: dict[str, Any]) -> Any:
    return json.loads(arguments or "{}")


def hides_the_failure(arguments: str, tool: dict[str, Any]) -> Any:
    try:
        return checked_by_hand(arguments, tool)
    except ValueError:
        return {}


def forgets_the_empty_string(arguments: str, tool: dict[str, Any]) -> Any:
    return checked_by_hand(arguments or "not JSON", tool)


def ignores_the_types(arguments: str, tool: dict[str, Any]) -> Any:
    value = json.loads(arguments or "{}")
    if not isinstance(value, dict):
        raise ValueError("not an object")
    properties = tool["function"]["parameters"].get("properties", {})
    for name in tool["function"]["parameters"].get("required", []):
        if name not in value:
            raise ValueError(f"missing {name}")
    for name in value:
        if name not in properties:
            raise ValueError(f"unknown {name}")
    return value


def keeps_unknown_properties(arguments: str, tool: dict[str, Any]) -> Any:
    value = json.loads(arguments or "{}")
    if not isinstance(value, dict):
        raise ValueError("not an object")
    return {**checked_by_hand(json.dumps({k: v for k, v in value.items() if k in tool["function"]["parameters"]["properties"]}), tool), **value}


def untouched_arguments_for(arguments: str, tool: dict[str, Any]) -> dict[str, Any]:
    raise NotImplementedError("Exercise 15.1: complete arguments_for. Hint: what can make a tool call's arguments wrong for this tool?")


# -- 15.2: a retry budget that respects Retry-After -------------------------------------------------------


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


def untouched_budget(call: Any, budget: float, sleep: Any = time.sleep) -> Any:
    raise NotImplementedError("Exercise 15.2: complete call_with_budget. Hint: keep count of the time waited")


class TestAnswers(AnswerTable):
    right_answers = [
        ("15.1", checked_by_hand), ("15.1", with_jsonschema),
        ("15.2", doubling_backoff), ("15.2", fixed_pause_with_margin),
    ]
    wrong_answers = [
        ("15.1", only_parses, "the recorded arguments without 'day', which the tool requires", "`required` list"),
        ("15.1", hides_the_failure, "the recorded arguments with a quote missing", "must not reach the tool"),
        ("15.1", forgets_the_empty_string, '"" for a tool without parameters', "take it as {}"),
        ("15.1", ignores_the_types, "a value of the wrong type ('location' a number)", "property's `type`"),
        ("15.1", keeps_unknown_properties, "a property the tool does not declare ('units')", "unexpected keyword"),
        ("15.2", ignores_the_budget, "429s with Retry-After: 3 (budget 5 s): one wait, then give up", "look at the budget before you sleep"),
        ("15.2", ignores_retry_after, "two 429s with Retry-After: 1, then the answer (budget 5 s)", "headers['retry-after']"),
        ("15.2", returns_none_when_out_of_budget, "429s with Retry-After: 3 (budget 5 s): one wait, then give up", "returning None hides"),
        ("15.2", retries_a_bad_request, "a 400 bad request (budget 10 s): no retry", "raise it at once"),
    ]


def test_untouched_stubs_are_not_done() -> None:
    assert_not_done("15.1", untouched_arguments_for, "complete arguments_for")
    assert_not_done("15.2", untouched_budget, "complete call_with_budget")
