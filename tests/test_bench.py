"""`python -m labs.bench` still runs: every measurement on tiny sizes (a smoke run, not a benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labs import bench
from labs.config import FIXTURES_DIR
from labs.replay.cassette import load_cassette

CHAT_TEXT = load_cassette(FIXTURES_DIR / "sdk_smoke/chat_text.yaml").interactions[0]


def _paced_notebook(path: Path) -> Path:
    """A notebook whose second code cell plays sdk_smoke/chat_text at the recorded pace, as the lessons' timing cells do."""
    import nbformat

    body = json.dumps(json.dumps(CHAT_TEXT.request.body))
    cells = [
        nbformat.v4.new_code_cell("import json\nimport labs\nclient = labs.openai_client(max_retries=0)"),
        nbformat.v4.new_markdown_cell("Now at the recorded pace:"),
        nbformat.v4.new_code_cell(f"with labs.replay_speed(1):\n    text = ''.join(c.choices[0].delta.content or '' for c in client.chat.completions.create(**json.loads({body})) if c.choices)\nassert text"),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_a_synthetic_stream_has_the_chunks_asked_for() -> None:
    interaction = bench.synthetic_stream(10)
    events = interaction.response.events or []
    assert len(events) == 13 and events[-1].data == "[DONE]"  # role, 10 text chunks, finish, [DONE]
    assert [json.loads(e.data)["choices"][0]["delta"].get("content") for e in events[1:11]] == [f" word{n}" for n in range(10)]


def test_p1_runs_nbval_and_the_import_floor_takes_out_the_deliberate_pace_and_counts_failures(tmp_path: Path) -> None:
    import nbformat

    # One nbval run of three notebooks (one subprocess, as the suite runs it): a paced one, its copy in a subfolder
    # (as notebooks/vi/ holds the translations, which nbval runs too), and a broken one.
    _paced_notebook(tmp_path / "one.ipynb")
    (tmp_path / "vi").mkdir()
    _paced_notebook(tmp_path / "vi" / "one.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert False")]), tmp_path / "broken.ipynb")
    figures = bench.p1_notebook_suite([(tmp_path, "--nbval-lax")])
    assert figures["notebooks"] == 3 and figures["runs"] == 1 and figures["paced_cells"] == 2
    assert figures["suite_failed"] == 1 and figures["failed"][0].startswith("broken.ipynb::")
    assert figures["paced_s"] >= 2 * CHAT_TEXT.response.duration  # each paced cell's own time, as nbval measured it
    assert figures["suite_s"] > figures["paced_s"] and figures["floor_s"] > 0 and figures["stall_s"] == 0
    assert figures["ratio"] == pytest.approx((figures["suite_s"] - figures["paced_s"]) / figures["floor_s"])
    assert figures["raw_ratio"] == pytest.approx(figures["suite_s"] / figures["floor_s"])
    # The second floor imports what the kernels loaded: labs.openai_client() imported openai, which no line imports.
    assert figures["loaded_floor_s"] > figures["floor_s"]
    assert figures["loaded_ratio"] == pytest.approx((figures["suite_s"] - figures["paced_s"]) / figures["loaded_floor_s"])
    assert figures["ratio_min"] == figures["ratio"] == figures["ratio_max"]  # one run


def test_paced_cells_are_the_code_cells_that_replay_at_a_pace(tmp_path: Path) -> None:
    import nbformat

    cells = [
        nbformat.v4.new_code_cell("%%time\nwith labs.replay_speed(1):\n    pass"),  # cell magic: IPython's syntax
        nbformat.v4.new_markdown_cell("with labs.replay_speed(1): in prose does not count"),
        nbformat.v4.new_code_cell("with labs.replay_speed(0):\n    pass"),  # no delay: not paced
        nbformat.v4.new_code_cell("import labs\nwith labs.replay_speed(2), open('x') as f:\n    pass"),
        nbformat.v4.new_code_cell("from labs import replay_speed\nwith replay_speed(SPEED):\n    pass"),
        nbformat.v4.new_code_cell("print('replay_speed(1)')"),
    ]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "cells.ipynb")
    assert bench.paced_cells(tmp_path / "cells.ipynb") == {0, 2, 3}  # numbered as nbval does: code cells only, from 0


def test_a_play_log_sums_the_recorded_seconds_the_paced_ones_the_stalls_and_the_retry_waits(tmp_path: Path) -> None:
    lines = [
        {"at": 1.0, "recorded_s": 2.0, "speed": 0},
        {"at": 2.0, "recorded_s": 3.0, "speed": 2},
        {"at": 3.0, "recorded_s": 1.0, "speed": 0},
        {"at": 3.5, "speed": 0, "stall_s": 4.0},  # a stall, logged when it ends: not an answer
        {"at": 3.7, "speed": 0, "retry_wait_s": 0.25},  # a client's wait before it asked again: not an answer either
        {"at": 4.0, "recorded_s": 1.0, "speed": 1},
        {"at": 9.0, "speed": 1, "stall_s": 5.0},
        {"at": 9.5, "speed": 1, "retry_wait_s": 1.5},
    ]
    (tmp_path / "plays.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert bench.played(tmp_path / "plays.jsonl") == {
        "answers": 4, "recorded_s": 7.0, "paced_recorded_s": 2.5, "stall_s": 9.0, "unpaced_stall_s": 4.0, "retry_wait_s": 1.75, "unpaced_retry_wait_s": 0.25,
    }
    assert bench.played(tmp_path / "none.jsonl")["answers"] == 0


def test_spread_is_the_median_with_min_and_max() -> None:
    assert bench.spread("ratio", [3.0, 1.0, 2.0, 10.0]) == {"ratio": 2.5, "ratio_min": 1.0, "ratio_max": 10.0}


def test_p6_times_run_all_at_speed_one_beside_the_recorded_seconds_it_plays(tmp_path: Path) -> None:
    figures = bench.p6_run_all_at_speed_one([_paced_notebook(tmp_path / "paced.ipynb")])
    row = figures["notebooks"]["paced"]
    assert row["recorded_s"] == pytest.approx(CHAT_TEXT.response.duration) and row["cells_failed"] == 0  # the replay server's play log
    assert row["run_all_s"] >= row["recorded_s"] and figures["ratio"] == pytest.approx(row["run_all_s"] / row["recorded_s"])


def test_p2_p3_p5_on_tiny_sizes() -> None:
    figures = bench.run(["P2", "P3", "P5"], quick=True)
    assert figures["P2"]["chunks"] == 50 and 0 < figures["P2"]["ratio_min"] <= figures["P2"]["ratio"] <= figures["P2"]["ratio_max"]
    assert figures["P2"]["runs"] == 2
    assert figures["P3"]["gaps"] > 10 and 0 <= figures["P3"]["gap_error_p50_ms"] <= figures["P3"]["gap_error_p95_ms"]
    assert figures["P3"]["gap_error_p95_ms_min"] <= figures["P3"]["gap_error_p95_ms"] <= figures["P3"]["gap_error_p95_ms_max"]
    assert figures["P3"]["gap_error_p95_ms"] < 250  # replay keeps the recorded pace, even on a busy machine
    assert figures["P5"]["tokens"] == 50 and figures["P5"]["ratio"] > 0 and figures["P5"]["burst_ratio"] > 0
    assert 2 <= figures["P5"]["redraws"] <= 50  # paced at 50 tokens/s over one simulated second: about ten redraws


def test_p4_is_not_available_without_the_relay_benchmark() -> None:
    assert bench.p4_sse_relay("labs.web.no_such_bench") is None
    assert bench.p4_sse_relay("no_such_package.bench") is None


def test_p4_runs_the_relay_benchmark_and_reads_its_last_json_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "relay_bench_for_test.py").write_text('print("a table")\nprint(\'{"P4": {"ratio": 1.5}}\')\n', encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert bench.p4_sse_relay("relay_bench_for_test") == {"ratio": 1.5}
    (tmp_path / "relay_bench_for_test.py").write_text("raise SystemExit('broken')\n", encoding="utf-8")
    assert "exited 1" in bench.p4_sse_relay("relay_bench_for_test")["error"]


def test_main_prints_a_table_then_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick", "P2", "P4"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    figures = json.loads(out[-1])
    assert set(figures) == {"P2", "P4"} and any("P2" in line for line in out[:-1])


def test_main_rejects_an_unknown_figure(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench.main(["P9"])
    assert "unknown figure P9" in capsys.readouterr().err


def test_python_dash_m_labs_bench_is_wired() -> None:
    result = subprocess.run([sys.executable, "-m", "labs.bench", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "P1..P6" in result.stdout and "--repeats" in result.stdout


def test_import_lines_keep_parenthesised_imports_whole_and_skip_the_rest() -> None:
    source = "%matplotlib inline\nimport json\nfrom labs.timeline import (\n    MessageRow,\n    TextRow,\n)\n\ndef f():\n    import os\nx = 1"
    assert bench.import_lines(source) == ["import json", "from labs.timeline import MessageRow, TextRow"]
    assert bench.import_lines("this is ( not python") == []
