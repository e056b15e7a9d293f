"""Latency of streamed answers, per call and across calls: what a reader waits for, and what slows them down.

A reader judges a stream by when text first appears (time to first token, TTFT) and by whether it keeps
flowing (the gaps between chunks); the total time matters for whatever runs after the answer. So:

- `ttft`: seconds from sending the request to the first chunk that carries text (not the role chunk,
  which arrives with no text);
- `total`: to the last chunk the SDK yields (the usage chunk, when asked for);
- `gaps`: between consecutive text chunks, the stutter a reader sees; a median hides it, a p95 shows it;
- `tokens_per_second` and `chunks_per_second`: over the streaming phase only (`total - ttft`). The course
  material divides by the whole call, wait included, which mixes latency into throughput and makes a
  slow start look like a slow writer.

Times are taken at the client with `time.perf_counter`, after the SDK parsed each chunk: what the reader
experiences, network and parsing included. `StreamTimer` wraps an SDK stream and times its chunks;
`CallMetrics` holds one call's figures; `LatencyReport` aggregates many calls (medians, p95s, pooled
gaps) and flags the calls that cross its `Thresholds`; `plot_first_text_vs_complete` draws when text
first appears and when the answer is complete, streamed and not streamed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CallMetrics", "LatencyReport", "StreamTimer", "Thresholds", "percentile", "plot_first_text_vs_complete"]

T = TypeVar("T")


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between the closest ranks; None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {q}")
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class CallMetrics:
    """The timings of one call. For a call that was not streamed, the text appears all at once: ttft == total."""

    label: str
    ttft: float | None
    total: float
    chunks: int
    text_chunks: int
    gaps: tuple[float, ...] = ()
    tokens: int | None = None  # output tokens, when the service reported usage
    streamed: bool = True

    @classmethod
    def from_arrivals(cls, label: str, arrivals: Sequence[tuple[float, str]], tokens: int | None = None) -> CallMetrics:
        """From (seconds since the request, text) for each chunk, in arrival order."""
        text_times = [t for t, text in arrivals if text]
        return cls(
            label=label,
            ttft=text_times[0] if text_times else None,
            total=arrivals[-1][0] if arrivals else 0.0,
            chunks=len(arrivals),
            text_chunks=len(text_times),
            gaps=tuple(b - a for a, b in zip(text_times, text_times[1:])),
            tokens=tokens,
        )

    @classmethod
    def not_streamed(cls, label: str, total: float, tokens: int | None = None) -> CallMetrics:
        """A blocking call: one response, all of its text at `total`."""
        return cls(label=label, ttft=total, total=total, chunks=1, text_chunks=1, tokens=tokens, streamed=False)

    @property
    def streaming_time(self) -> float:
        """Seconds from the first text to the end: the time the answer spends being written."""
        return self.total - self.ttft if self.ttft is not None else 0.0

    @property
    def tokens_per_second(self) -> float | None:
        """Output tokens (text chunks when no usage was reported) per second of the streaming phase."""
        count = self.tokens if self.tokens is not None else self.text_chunks
        return count / self.streaming_time if self.streamed and self.streaming_time > 0 else None

    @property
    def chunks_per_second(self) -> float | None:
        return self.text_chunks / self.streaming_time if self.streamed and self.streaming_time > 0 else None

    def gap(self, q: float) -> float | None:
        """The q-th percentile of the gaps between text chunks."""
        return percentile(self.gaps, q)

    def flags(self, thresholds: Thresholds) -> list[str]:
        """Why this call is slow, one reason per threshold it crosses; empty when it is not."""
        reasons = []
        if self.ttft is not None and self.ttft > thresholds.ttft:
            reasons.append(f"first text after {self.ttft:.2f} s > {thresholds.ttft:g} s")
        rate = self.tokens_per_second
        if rate is not None and rate < thresholds.tokens_per_second:
            reasons.append(f"{rate:.1f} tokens/s < {thresholds.tokens_per_second:g} tokens/s")
        p95 = self.gap(95)
        if p95 is not None and p95 > thresholds.gap_p95:
            reasons.append(f"p95 gap {p95:.3f} s > {thresholds.gap_p95:g} s")
        if thresholds.total is not None and self.total > thresholds.total:
            reasons.append(f"complete after {self.total:.2f} s > {thresholds.total:g} s")
        return reasons


@dataclass(frozen=True)
class Thresholds:
    """When a call counts as slow. Tune them to your model and your readers; these suit a small chat model."""

    ttft: float = 1.0  # seconds before the first text
    tokens_per_second: float = 20.0  # while writing
    gap_p95: float = 0.25  # seconds between text chunks, 95th percentile
    total: float | None = None  # seconds to the end, when something waits for the whole answer


class StreamTimer:
    """Times an SDK stream chunk by chunk: `for chunk in timer.watch(stream)`, then `timer.metrics()`.

    Create it just before the request, so its clock includes the wait for the first byte.
    """

    def __init__(self, label: str, clock: Callable[[], float] = time.perf_counter) -> None:
        self.label, self.clock = label, clock
        self.started = clock()
        self.arrivals: list[tuple[float, str]] = []
        self.tokens: int | None = None

    def watch(self, stream: Iterable[T]) -> Iterator[T]:
        """Yield the stream's chunks unchanged, noting when each arrived, its text and any usage."""
        for chunk in stream:
            choices = getattr(chunk, "choices", None) or []
            text = (choices[0].delta.content or "") if choices else ""
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                self.tokens = usage.completion_tokens
            self.arrivals.append((self.clock() - self.started, text))
            yield chunk

    def metrics(self) -> CallMetrics:
        return CallMetrics.from_arrivals(self.label, self.arrivals, self.tokens)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} tokens/s"


@dataclass
class LatencyReport:
    """Many calls: one row each, the figures across them, and the calls that cross the thresholds."""

    calls: list[CallMetrics] = field(default_factory=list)
    thresholds: Thresholds = field(default_factory=Thresholds)

    def add(self, call: CallMetrics) -> None:
        self.calls.append(call)

    def slow_calls(self) -> dict[str, list[str]]:
        """Label → reasons, for each call that crosses a threshold."""
        return {call.label: reasons for call in self.calls if (reasons := call.flags(self.thresholds))}

    def aggregate(self) -> dict[str, float | None]:
        """Medians and p95s across calls; the gap percentiles pool every gap of every call."""
        ttfts = [c.ttft for c in self.calls if c.ttft is not None]
        totals = [c.total for c in self.calls]
        rates = [r for c in self.calls if (r := c.tokens_per_second) is not None]
        gaps = [g for c in self.calls for g in c.gaps]
        return {
            "ttft_p50": percentile(ttfts, 50),
            "ttft_p95": percentile(ttfts, 95),
            "total_p50": percentile(totals, 50),
            "total_p95": percentile(totals, 95),
            "tokens_per_second_p50": percentile(rates, 50),
            "gap_p50": percentile(gaps, 50),
            "gap_p90": percentile(gaps, 90),
            "gap_p99": percentile(gaps, 99),
            "gap_max": max(gaps, default=None),
        }

    def table(self) -> str:
        """One line per call, then the aggregate and the slow calls, as plain text.

        Figures are not padded into columns, so a line's layout never depends on how many digits a timing has.
        """
        width = max((len(c.label) for c in self.calls), default=5)
        lines = [
            f"{c.label:<{width}}  first text {_seconds(c.ttft)} · complete {_seconds(c.total)} · {c.chunks} chunks · "
            f"writing at {_rate(c.tokens_per_second)} · p95 gap {_seconds(c.gap(95))}"
            for c in self.calls
        ]
        summary = self.aggregate()
        lines.append(
            f"across {len(self.calls)} calls: first text p50 {_seconds(summary['ttft_p50'])}, p95 {_seconds(summary['ttft_p95'])}; "
            f"gaps p50 {_seconds(summary['gap_p50'])}, p99 {_seconds(summary['gap_p99'])}"
        )
        for label, reasons in self.slow_calls().items():
            lines.append(f"SLOW {label}: " + "; ".join(reasons))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def plot_first_text_vs_complete(streamed: Sequence[CallMetrics], blocking: Sequence[CallMetrics], ax: Any = None) -> Figure:
    """Per scenario, two bars: streamed (text on screen from TTFT until complete) above not streamed (all at once)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1.6 + 0.8 * len(streamed)))
    for row, (s, b) in enumerate(zip(streamed, blocking)):
        top, bottom = row * 3, row * 3 + 1
        first = s.ttft if s.ttft is not None else s.total
        ax.barh(top, first, color="#dddddd", height=0.8)
        ax.barh(top, s.total - first, left=first, color="#4c8bf5", height=0.8)
        ax.barh(bottom, b.total, color="#dddddd", height=0.8)
        ax.barh(bottom, 0.04, left=b.total - 0.04, color="#e8710a", height=0.8)
    ax.set_yticks([row * 3 + 0.5 for row in range(len(streamed))], [c.label for c in streamed])
    ax.invert_yaxis()
    ax.set_xlabel("seconds after the request")
    ax.legend(
        handles=[
            Patch(color="#dddddd", label="nothing to read yet"),
            Patch(color="#4c8bf5", label="streamed: text appearing"),
            Patch(color="#e8710a", label="not streamed: all text at once"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncol=3,
        fontsize=8,
        frameon=False,
    )
    ax.set_title("When text first appears, and when the answer is complete (upper bar streamed, lower not)", fontsize=9)
    figure: Figure = ax.figure
    figure.tight_layout()
    return figure
