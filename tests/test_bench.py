"""`python -m labs.bench` still runs: every measurement on tiny sizes (a smoke run, not a benchmark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from labs import bench


def test_a_synthetic_stream_has_the_chunks_asked_for() -> None:
    interaction = bench.synthetic_stream(10)
    events = interaction.response.events or []
    assert len(events) == 13 and events[-1].data == "[DONE]"  # role, 10 text chunks, finish, [DONE]
    assert [json.loads(e.data)["choices"][0]["delta"].get("content") for e in events[1:11]] == [f" word{n}" for n in range(10)]


def test_p1_runs_nbval_and_the_import_floor(tmp_path: Path) -> None:
    import nbformat

    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import json\nprint(json.dumps(1))")]), tmp_path / "one.ipynb")
    figures = bench.p1_notebook_suite([(tmp_path, "--nbval-lax")])
    assert figures["notebooks"] == 1 and figures["suite_failed"] == 0
    assert figures["suite_s"] > 0 and figures["floor_s"] > 0 and figures["ratio"] == figures["suite_s"] / figures["floor_s"]


def test_p1_counts_a_failing_suite(tmp_path: Path) -> None:
    import nbformat

    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert False")]), tmp_path / "broken.ipynb")
    figures = bench.p1_notebook_suite([(tmp_path, "--nbval-lax")])
    assert figures["suite_failed"] == 1 and figures["failed"][0].startswith("broken.ipynb::")


def test_p2_p3_p5_on_tiny_sizes() -> None:
    figures = bench.run(["P2", "P3", "P5"], quick=True)
    assert figures["P2"]["chunks"] == 50 and figures["P2"]["ratio"] > 0
    assert figures["P3"]["gaps"] > 10 and 0 <= figures["P3"]["gap_error_p50_ms"] <= figures["P3"]["gap_error_p95_ms"]
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
    assert result.returncode == 0 and "P1..P5" in result.stdout


def test_import_lines_keep_parenthesised_imports_whole_and_skip_the_rest() -> None:
    source = "%matplotlib inline\nimport json\nfrom labs.timeline import (\n    MessageRow,\n    TextRow,\n)\n\ndef f():\n    import os\nx = 1"
    assert bench.import_lines(source) == ["import json", "from labs.timeline import MessageRow, TextRow"]
    assert bench.import_lines("this is ( not python") == []
