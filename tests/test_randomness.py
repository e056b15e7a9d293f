"""Tools' randomness is seeded in replay, so replayed tool outputs are the recorded ones, and fresh otherwise."""

from __future__ import annotations

import pytest

from labs.randomness import replay_random


def rolls(generator: object, n: int = 12) -> list[int]:
    return [generator.randint(1, 1_000_000) for _ in range(n)]  # type: ignore[attr-defined]


def test_replay_gives_the_seeded_sequence() -> None:
    assert rolls(replay_random(6)) == rolls(replay_random(6))
    assert rolls(replay_random(6)) != rolls(replay_random(7))


@pytest.mark.parametrize("mode", ["live", "record"])
def test_live_and_record_are_not_seeded(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("LABS_MODE", mode)
    assert rolls(replay_random(6)) != rolls(replay_random(6))
