"""Checks for lesson 16 (latency and stop): a StreamMetrics collector fed recorded timings."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from ...checks import Case, Mistake, exercise
from ...recordings import fixture

__all__ = ["check_stream_metrics", "check_writing_speed", "expected_summary", "metrics_mistakes", "recorded_events"]

FOLDER = "16_latency_and_stop"
TOOL_ROUND = "14_resilience/bad_tool_arguments"  # lesson 14's tool round: a stream with no text


def recorded_events(name: str, request: int = 0) -> list[tuple[float, str]]:
    """(recorded time, text) for each event the SDK yields from a recorded stream ([DONE] is not one).

    `name` is a scenario of this lesson, or a fixture path with its folder (`14_resilience/bad_tool_arguments`).
    """
    events = fixture(name if "/" in name else f"{FOLDER}/{name}").interactions[request].response.events or []
    out = []
    for event in events:
        data = event.json()
        if isinstance(data, dict):
            choices = data.get("choices") or []
            out.append((event.t, (choices[0]["delta"].get("content") or "") if choices else ""))
    return out


def expected_summary(events: list[tuple[float, str]]) -> dict[str, Any]:
    text_times = [t for t, text in events if text]
    gaps = [b - a for a, b in zip(text_times, text_times[1:])]
    return {
        "ttft": text_times[0] if text_times else None,
        "total": events[-1][0] if events else 0.0,
        "events": len(events),
        "text_events": len(text_times),
        "max_gap": max(gaps, default=0.0),
    }


def _feed(make: Callable[[], Any], events: list[tuple[float, str]]) -> Any:
    collector = make()
    for t, text in events:
        collector.record(t, text)
    return collector.summary()


def _same(expected: dict[str, Any]) -> Callable[[Any], None]:
    def verify(got: Any) -> None:
        assert isinstance(got, dict), f"summary() should return a dict, not {type(got).__name__}"
        for key, want in expected.items():
            assert key in got, f"summary() has no {key!r}"
            have = got[key]
            if isinstance(want, float) and isinstance(have, (int, float)):
                assert math.isclose(have, want, abs_tol=1e-9), f"{key} is {have!r}, the recorded timings give {want!r}"
            else:
                assert have == want, f"{key} is {have!r}, the recorded timings give {want!r}"

    return verify


def metrics_mistakes(events: list[tuple[float, str]]) -> tuple[Mistake, ...]:
    """The typical wrong answers to 16.1 on one recording, recognised in the summary returned or the exception raised."""
    right = expected_summary(events)
    every_gap = max((b - a for (a, _), (b, _) in zip(events, events[1:])), default=0.0)

    def value(key: str, wrong: object) -> Callable[[object], bool]:
        return lambda got: isinstance(got, dict) and wrong != right[key] and got.get(key) == wrong

    return (
        Mistake("ttft is the time of the first event that carries text: a role chunk or a tool call's first piece comes earlier",
                value("ttft", events[0][0] if events else None)),
        Mistake("text_events counts only the events that carry text; `events` counts them all", value("text_events", len(events))),
        Mistake("the gaps run between consecutive events that carry text, not between every two events", value("max_gap", every_gap)),
        Mistake("a stream may carry no text at all: then ttft is None and max_gap 0.0 (max(gaps, default=0.0))",
                lambda outcome: isinstance(outcome, (ValueError, IndexError, TypeError)) and not right["text_events"]),
    )


@exercise("16.1", hint=(
    "in record(t, text): self.times.append(t); if text: self.text_times.append(t); in summary(): ttft = text_times[0] if any else None, "
    "total = times[-1] (0.0 if none), events = len(times), text_events = len(text_times), max_gap = "
    "max((b - a for a, b in zip(text_times, text_times[1:])), default=0.0)"
))
def check_stream_metrics(stream_metrics: Callable[[], Any]) -> Iterator[Case]:
    cases = [
        ("a stream that opens with a role chunk (no text)", "latency_slow_first_token", 0, "ttft is the time of the first event that carries text, not of the first event"),
        ("a stream that ends with a usage chunk", "latency_short_answer", 0, "every event counts for `events` and `total`, only events with text for `text_events`"),
        ("a tool-call stream with no text at all", TOOL_ROUND, 0, "with no text, ttft is None and max_gap is 0.0"),
        ("a stream that stutters", "latency_slow_tokens", 0, "gaps run between consecutive events that carry text"),
    ]
    for name, scenario, request, hint in cases:
        events = recorded_events(scenario, request)
        yield Case(name, run=lambda events=events: _feed(stream_metrics, events), verify=_same(expected_summary(events)), hint=hint,
                   mistakes=metrics_mistakes(events))


# -- 16.2: a writing-speed meter, graded on behaviour --------------------------------------------------------


def _rate(make: Callable[[], Any], events: list[tuple[float, str]]) -> Any:
    meter = make()
    for t, text in events:
        meter.record(t, text)
    return meter.rate()


def _pair(make: Callable[[], Any], events: list[tuple[float, str]], variant: list[tuple[float, str]]) -> Callable[[], tuple[Any, Any]]:
    return lambda: (_rate(make, events), _rate(make, variant))


def _number(value: Any, what: str) -> float:
    assert isinstance(value, (int, float)) and value > 0, f"rate() should be a positive number of characters a second {what}, got {value!r}"
    return float(value)


def _ratio(factor: float, claim: str) -> Callable[[tuple[Any, Any]], None]:
    def verify(got: tuple[Any, Any]) -> None:
        base, variant = _number(got[0], "for a recorded answer"), _number(got[1], "for the same answer changed")
        assert math.isclose(variant, base * factor, rel_tol=0.01), f"{claim}: got {base:.1f} and then {variant:.1f} characters/s"

    return verify


def _ratio_seen(factor: float) -> Callable[[object], bool]:
    def seen(got: object) -> bool:
        if not (isinstance(got, tuple) and all(isinstance(v, (int, float)) and v > 0 for v in got)):
            return False
        return not math.isclose(got[1], got[0] * factor, rel_tol=0.01)

    return seen


def _none_yet(got: Any) -> None:
    assert got is None, f"with no text written yet there is no speed to show: return None, not {got!r}"


@exercise("16.2", hint=(
    "note the time of the first and of the last event that carries text, and the characters of text so far; "
    "rate() = characters after the first text event ÷ (last text time - first text time), or None while fewer than "
    "two events carried text"
))
def check_writing_speed(writing_speed: Callable[[], Any]) -> Iterator[Case]:
    long, stutter = recorded_events("latency_long_answer"), recorded_events("latency_slow_tokens")
    shifted = [(t + 2.0, text) for t, text in long]
    doubled = [(t, text * 2) for t, text in long]
    faster = [(t / 2, text) for t, text in long]
    trailing = [*long, (long[-1][0] + 1.0, "")]
    yield Case("a late first token is not slow writing (every time 2 s later)", run=_pair(writing_speed, long, shifted),
               verify=_ratio(1.0, "the same writing, started 2 s later, should show the same speed"),
               hint="measure the writing, from the first text on", mistakes=[Mistake(
                   "measure from the first event with text, not from the request: a slow first token is not slow writing", _ratio_seen(1.0))])
    yield Case("twice the text in the same time", run=_pair(writing_speed, long, doubled),
               verify=_ratio(2.0, "twice the characters in the same time is twice the speed"), hint="count what was written",
               mistakes=[Mistake("count the characters of text, not the events: events carry pieces of any length", _ratio_seen(2.0))])
    yield Case("the same text in half the time", run=_pair(writing_speed, stutter, [(t / 2, text) for t, text in stutter]),
               verify=_ratio(2.0, "the same text in half the time is twice the speed"), hint="divide by the time the writing took")
    yield Case("a usage chunk a second after the last text", run=_pair(writing_speed, long, trailing),
               verify=_ratio(1.0, "an event without text writes nothing, so the speed should not change"), hint="only text is writing",
               mistakes=[Mistake("an event without text (a role or usage chunk) writes nothing: end the writing time at the last text",
                                 _ratio_seen(1.0))])
    yield Case("a stream with no text at all (a tool call)", run=lambda: _rate(writing_speed, recorded_events(TOOL_ROUND)),
               verify=_none_yet, hint="no text, no speed: return None", mistakes=[Mistake(
                   "with fewer than two events that carry text there is no writing time yet: return None rather than divide by zero",
                   lambda got: isinstance(got, (ZeroDivisionError, IndexError, ValueError, TypeError)))])
    yield Case("a faster answer shows a faster speed", run=_pair(writing_speed, long, faster),
               verify=_ratio(2.0, "the same answer at twice the pace"), hint="divide by the time the writing took")
