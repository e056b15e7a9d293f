"""Latency metrics: the definitions on hand-made arrivals, the timer on real SDK streams, and exercise 16.1's check."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator

import matplotlib
import pytest

from labs.checks import check
from labs.clients import openai_client
from labs.config import FIXTURES_DIR
from labs.lessons.lesson_16.checks import recorded_events
from labs.metrics import CallMetrics, LatencyReport, StreamTimer, Thresholds, percentile, plot_first_text_vs_complete
from labs.recordings import fixture
from labs.replay import ReplayServer

matplotlib.use("Agg")
FOLDER = "16_latency_and_stop"
ROLE, USAGE = "", ""  # events without text


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with ReplayServer(fixture_dirs=(FIXTURES_DIR / FOLDER,), speed=0) as running:
        yield running


@pytest.mark.parametrize("q", [0, 10, 25, 50, 90, 95, 100])
def test_percentile_matches_statistics_inclusive_quantiles(q: float) -> None:
    values = [0.3, 0.01, 0.05, 0.2, 0.07, 0.09, 0.02]
    expected = statistics.quantiles(values, n=100, method="inclusive")[q - 1] if 0 < q < 100 else (min(values) if q == 0 else max(values))
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none_and_q_is_checked() -> None:
    assert percentile([], 50) is None
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0], 101)


def test_ttft_is_the_first_text_and_rates_use_the_writing_time_only() -> None:
    arrivals = [(0.50, ROLE), (0.60, "Hello"), (0.70, " there"), (1.10, " friend"), (1.20, USAGE)]
    call = CallMetrics.from_arrivals("greeting", arrivals, tokens=3)
    assert call.ttft == 0.60 and call.total == 1.20 and call.chunks == 5 and call.text_chunks == 3
    assert call.gaps == pytest.approx((0.10, 0.40))
    assert call.tokens_per_second == pytest.approx(3 / 0.60)  # not 3 / 1.20: the wait is not writing
    assert call.chunks_per_second == pytest.approx(3 / 0.60)


def test_a_stream_without_text_has_no_ttft_and_no_rate() -> None:
    call = CallMetrics.from_arrivals("tool call", [(0.4, ROLE), (0.5, ROLE)])
    assert call.ttft is None and call.gaps == () and call.tokens_per_second is None and call.gap(95) is None


def test_a_blocking_call_shows_all_its_text_at_the_end() -> None:
    call = CallMetrics.not_streamed("blocking", 2.5, tokens=40)
    assert call.ttft == call.total == 2.5 and call.tokens_per_second is None and not call.streamed


def test_flags_name_each_threshold_crossed() -> None:
    slow_start = CallMetrics.from_arrivals("slow start", [(2.0, "a"), (2.05, "b"), (2.1, "c")])
    stutter = CallMetrics.from_arrivals("stutter", [(0.3, "a"), (0.8, "b"), (1.3, "c")])
    fine = CallMetrics.from_arrivals("fine", [(0.3, "a"), (0.33, "b"), (0.36, "c"), (0.39, "d")])
    thresholds = Thresholds(ttft=1.0, tokens_per_second=10, gap_p95=0.25, total=2.0)
    assert [r.split()[0] for r in slow_start.flags(thresholds)] == ["first", "complete"]
    assert len(stutter.flags(thresholds)) == 2 and "tokens/s" in stutter.flags(thresholds)[0] and "p95 gap" in stutter.flags(thresholds)[1]
    assert fine.flags(thresholds) == []
    report = LatencyReport([slow_start, stutter, fine], thresholds)
    assert set(report.slow_calls()) == {"slow start", "stutter"}


def test_the_report_pools_gaps_across_calls_and_never_pads_figures() -> None:
    a = CallMetrics.from_arrivals("a", [(0.1, "x"), (0.2, "y")], tokens=1)
    b = CallMetrics.from_arrivals("b", [(0.1, "x"), (0.4, "y"), (0.5, "z")], tokens=95)
    report = LatencyReport([a, b])
    summary = report.aggregate()
    assert summary["gap_max"] == pytest.approx(0.3) and summary["gap_p50"] == pytest.approx(0.1)
    lines = report.table().splitlines()
    # A rate of 10 tokens/s and of 237 tokens/s must not shift the rest of the line: nbval compares it as text.
    assert lines[0].startswith("a  first text 0.10 s · complete 0.20 s · 2 chunks · writing at 10 tokens/s")
    assert lines[1].startswith("b  first text 0.10 s · complete 0.50 s · 3 chunks · writing at 238 tokens/s")


def test_the_timer_sees_every_chunk_the_sdk_yields_and_the_usage(server: ReplayServer) -> None:
    ticks = itertools.count()
    timer = StreamTimer("long answer", clock=lambda: float(next(ticks)))
    client = openai_client(server=server, max_retries=0)
    request = fixture(f"{FOLDER}/latency_long_answer").interactions[0].request.body
    chunks = list(timer.watch(client.chat.completions.create(**request)))
    call = timer.metrics()
    events = recorded_events("latency_long_answer")
    assert call.chunks == len(chunks) == len(events)
    assert call.text_chunks == sum(1 for _, text in events if text)
    assert call.ttft == 1 + next(i for i, (_, text) in enumerate(events) if text)  # tick 0 was the start
    assert call.tokens == chunks[-1].usage.completion_tokens and call.tokens is not None


def test_the_timer_measures_the_recorded_pace_at_speed_1() -> None:
    events = recorded_events("latency_short_answer")
    request = fixture(f"{FOLDER}/latency_short_answer").interactions[0].request.body
    with ReplayServer(fixture_dirs=(FIXTURES_DIR / FOLDER,), speed=1) as server:
        client = openai_client(server=server, max_retries=0)
        list(client.chat.completions.create(**request))  # warm up the connection and the SDK's classes
        timer = StreamTimer("short answer")
        for _ in timer.watch(client.chat.completions.create(**request)):
            pass
    call = timer.metrics()
    recorded = CallMetrics.from_arrivals("recorded", events)
    assert call.ttft == pytest.approx(recorded.ttft, abs=0.25) and call.total == pytest.approx(recorded.total, abs=0.25)
    assert call.chunks == recorded.chunks


def test_the_plot_draws_two_bars_per_scenario() -> None:
    streamed = [CallMetrics.from_arrivals("a", [(0.5, "x"), (1.5, "y")]), CallMetrics.from_arrivals("b", [(2.0, "x"), (3.0, "y")])]
    blocking = [CallMetrics.not_streamed("a", 1.6), CallMetrics.not_streamed("b", 3.1)]
    figure = plot_first_text_vs_complete(streamed, blocking)
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    widths = sorted(round(p.get_width(), 2) for p in ax.patches)
    assert widths == sorted([0.5, 1.0, 1.6, 0.04, 2.0, 1.0, 3.1, 0.04])
    matplotlib.pyplot.close(figure)


# -- exercise 16.1's check: passes a correct collector, fails each classic mistake -------------------


class Reference:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.text_times: list[float] = []

    def record(self, t: float, text: str = "") -> None:
        self.times.append(t)
        if text:
            self.text_times.append(t)

    def summary(self) -> dict:
        gaps = [b - a for a, b in zip(self.text_times, self.text_times[1:])]
        return {
            "ttft": self.text_times[0] if self.text_times else None,
            "total": self.times[-1] if self.times else 0.0,
            "events": len(self.times),
            "text_events": len(self.text_times),
            "max_gap": max(gaps, default=0.0),
        }


class FirstEventIsTTFT(Reference):
    def summary(self) -> dict:
        return {**super().summary(), "ttft": self.times[0] if self.times else None}


class GapsOverAllEvents(Reference):
    def summary(self) -> dict:
        gaps = [b - a for a, b in zip(self.times, self.times[1:])]
        return {**super().summary(), "max_gap": max(gaps, default=0.0)}


class CountsOnlyText(Reference):
    def summary(self) -> dict:
        return {**super().summary(), "events": len(self.text_times), "total": self.text_times[-1] if self.text_times else 0.0}


def test_exercise_10_1_passes_a_correct_collector(capsys: pytest.CaptureFixture[str]) -> None:
    assert check("16.1", Reference).status == "passed"


@pytest.mark.parametrize("broken", [FirstEventIsTTFT, GapsOverAllEvents, CountsOnlyText])
def test_exercise_10_1_fails_each_classic_mistake(broken: type, capsys: pytest.CaptureFixture[str]) -> None:
    result = check("16.1", broken)
    assert result.status == "failed" and "Hint:" in result.hint, result.lines()
