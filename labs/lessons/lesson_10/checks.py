"""Checks for lesson 10 (resilience and metrics): a StreamMetrics collector fed recorded timings."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

from ...checks import Case, Mistake, exercise
from ...recordings import fixture

FOLDER = "10_resilience_and_metrics"


def recorded_events(name: str, request: int = 0) -> list[tuple[float, str]]:
    """(recorded time, text) for each event the SDK yields from a recorded stream ([DONE] is not one)."""
    events = fixture(f"{FOLDER}/{name}").interactions[request].response.events or []
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
    """The typical wrong answers to 10.1 on one recording, recognised in the summary returned or the exception raised."""
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


@exercise("10.1", hint=(
    "in record(t, text): self.times.append(t); if text: self.text_times.append(t); in summary(): ttft = text_times[0] if any else None, "
    "total = times[-1] (0.0 if none), events = len(times), text_events = len(text_times), max_gap = "
    "max((b - a for a, b in zip(text_times, text_times[1:])), default=0.0)"
))
def check_stream_metrics(stream_metrics: Callable[[], Any]) -> Iterator[Case]:
    cases = [
        ("a stream that opens with a role chunk (no text)", "latency_slow_first_token", 0, "ttft is the time of the first event that carries text, not of the first event"),
        ("a stream that ends with a usage chunk", "latency_short_answer", 0, "every event counts for `events` and `total`, only events with text for `text_events`"),
        ("a tool-call stream with no text at all", "bad_tool_arguments", 0, "with no text, ttft is None and max_gap is 0.0"),
        ("a stream that stutters", "latency_slow_tokens", 0, "gaps run between consecutive events that carry text"),
    ]
    for name, scenario, request, hint in cases:
        events = recorded_events(scenario, request)
        yield Case(name, run=lambda events=events: _feed(stream_metrics, events), verify=_same(expected_summary(events)), hint=hint,
                   mistakes=metrics_mistakes(events))
