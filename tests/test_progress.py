"""ProgressLog: prints, and measures the first sign of life, the first answer word and the silences."""

from __future__ import annotations

import pytest

from labs.progress import ProgressLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_silences_first_output_and_first_answer() -> None:
    clock, written = Clock(), []
    log = ProgressLog(clock=clock, write=written.append)
    clock.now = 101.0
    log.print("⏳ Looking up: get_weather...", end="")
    clock.now = 101.5
    log.print(" ✅")
    clock.now = 104.0
    log.print("Start", end="", answer=True)
    clock.now = 104.25
    log.print(" early.", end="", answer=True)
    clock.now = 104.5
    assert log.stop() == 4.5
    assert written == ["⏳ Looking up: get_weather...", " ✅\n", "Start", " early."]
    assert (log.first_output, log.first_answer) == (1.0, 4.0)
    assert log.silences == [1.0, 0.5, 2.5, 0.25, 0.25] and log.longest_silence == 2.5
    assert log.answer == "Start early."


def test_blank_output_is_not_a_sign_of_life_and_nothing_shown_means_one_long_silence() -> None:
    clock = Clock()
    log = ProgressLog(clock=clock, write=lambda text: None)
    log.print()
    clock.now = 103.0
    log.stop()
    assert log.moments == [] and log.first_output == log.first_answer == log.longest_silence == 3.0


def test_it_prints_flushed_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    ProgressLog().print("⏳", "Looking up", sep=" ", end="...")
    assert capsys.readouterr().out == "⏳ Looking up..."
