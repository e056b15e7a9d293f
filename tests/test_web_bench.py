"""The relay bench runs end to end on a few streams (so it cannot rot), and its counting catches faults."""

from __future__ import annotations

import json

import pytest

from labs.recordings import chat_text
from labs.web import bench
from labs.web.bench import FIXTURE, BenchResult, RelayedStream, tally


def test_a_small_bench_run_keeps_every_event(capsys: pytest.CaptureFixture[str]) -> None:
    result = bench.main(["--streams", "5", "--latency-streams", "2", "--speed", "0"])
    assert result.streams == 5 and result.events_per_stream > 50
    assert result.events_received == result.events_expected == 5 * result.events_per_stream
    assert (result.lost, result.reordered, result.wrong_text) == (0, 0, 0)
    assert 0 < result.latency_p50_ms <= result.latency_p99_ms
    printed = capsys.readouterr().out.splitlines()
    assert any(line.startswith("events lost") and line.endswith(" 0") for line in printed)
    line = json.loads(printed[-1])  # the last line is the machine-readable one
    assert line["bench"] == "sse_relay" and line["lost"] == 0 and line["streams"] == 5


def test_tally_counts_lost_reordered_and_wrong_streams() -> None:
    text = chat_text(FIXTURE)
    names = ["session_update", "typing_start", "text_delta", "response_complete"]
    good = RelayedStream("a", names, [1, 2, 3, 4], [0.0] * 4, text, text, 1.0)
    short = RelayedStream("b", names[:2] + names[3:], [1, 2, 4], [0.0] * 3, text, text, 1.0)
    swapped = RelayedStream("c", names, [1, 3, 2, 4], [0.0] * 4, text[:-1], text, 1.0)
    counts = tally([good, short, swapped], per_stream=4, expected_text=text)
    assert counts == {"events_expected": 12, "events_received": 11, "lost": 1, "reordered": 3, "wrong_text": 1}


def test_no_timed_events_reads_as_none_not_as_zero_latency() -> None:
    counts = {"events_expected": 63, "events_received": 0, "lost": 63, "reordered": 0, "wrong_text": 1}
    result = BenchResult(1, 1, 63, None, None, None, None, 1.0, **counts)
    rows = result.table().splitlines()
    assert rows[0].startswith("added latency per event, p50 (1 streams)") and rows[0].endswith("no events")
    assert json.loads(result.json_line())["latency_p99_ms"] is None


def test_the_bench_refuses_to_run_live(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    with pytest.raises(SystemExit, match="LABS_MODE=replay"):
        bench.main(["--streams", "1"])
