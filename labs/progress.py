"""What a reader saw while an agent worked, when they saw it, and how long they stared at nothing.

What makes a wait feel long is not the total time but the silences: the stretch before anything
appears, and the longest gap between two signs of life. `ProgressLog` prints like `print` (flushed at
once) and notes the time of every output that showed something, so two ways of running the same
agent can be compared on what the reader experienced: time to the first sign of life (a progress
line counts), time to the first word of the answer, the longest silence, and the total.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Moment", "ProgressLog"]


@dataclass(frozen=True)
class Moment:
    """Something the reader saw, `at` seconds after the log started; `answer` marks the answer's own text."""

    at: float
    text: str
    answer: bool


class ProgressLog:
    """A stopwatch that prints: `log.print(...)` shows text and records when it was shown."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter, write: Callable[[str], object] | None = None) -> None:
        self.clock = clock
        self.started = clock()
        self.finished: float | None = None
        self.moments: list[Moment] = []
        self._write = write

    def print(self, *values: object, sep: str = " ", end: str = "\n", answer: bool = False) -> None:
        """Print and flush; `answer=True` marks text of the answer itself (not a progress line)."""
        text = sep.join(str(v) for v in values) + end
        if self._write is not None:
            self._write(text)
        else:
            print(text, end="", flush=True)
        if text.strip():
            self.moments.append(Moment(self.clock() - self.started, text, answer))

    def stop(self) -> float:
        """End the log (the answer is complete); return the total time."""
        if self.finished is None:
            self.finished = self.clock() - self.started
        return self.finished

    @property
    def total(self) -> float:
        """Seconds from the start to `stop()` (or until now, before it)."""
        return self.finished if self.finished is not None else self.clock() - self.started

    @property
    def answer(self) -> str:
        """The answer's text as it was shown."""
        return "".join(m.text for m in self.moments if m.answer)

    @property
    def first_output(self) -> float:
        """Seconds until anything at all appeared (the total when nothing did)."""
        return self.moments[0].at if self.moments else self.total

    @property
    def first_answer(self) -> float:
        """Seconds until the first words of the answer appeared (the total when none did)."""
        return next((m.at for m in self.moments if m.answer), self.total)

    @property
    def silences(self) -> list[float]:
        """Every stretch with nothing new on screen: from the start, between outputs, and to the end."""
        marks = [0.0, *(m.at for m in self.moments), self.total]
        return [later - earlier for earlier, later in zip(marks, marks[1:])]

    @property
    def longest_silence(self) -> float:
        return max(self.silences)
