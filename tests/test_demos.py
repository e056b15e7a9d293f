"""Replay-only demonstrations skip themselves live through one helper; faults play locally in every mode."""

from __future__ import annotations

import nbclient
import nbformat
import openai
import pytest

import labs
from labs.demos import skip_message

CELLS = [
    "import labs",
    "%%only_in_replay shows the recorded refusal\nvalue = 41\nprint('body ran')\nvalue + 1",
    "%%only_in_replay needs its recording\nraise ValueError('broken body')",
]


def _run(mode: str, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("LABS_MODE", mode)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nbclient.NotebookClient(notebook, kernel_name="python3", allow_errors=True, timeout=60).execute()
    return notebook


def _texts(cell: nbformat.NotebookNode) -> list[str]:
    return [o.get("text") or o.get("data", {}).get("text/plain") or o.get("ename") for o in cell.outputs]


def test_a_replay_only_cell_runs_in_replay_and_says_why_it_skips_live(monkeypatch: pytest.MonkeyPatch) -> None:
    replay = _run("replay", monkeypatch)
    assert _texts(replay.cells[1]) == ["body ran\n", "42"]
    assert [o.output_type for o in replay.cells[2].outputs][0] == "error"  # a broken body fails the cell in replay
    live = _run("live", monkeypatch)
    assert _texts(live.cells[1]) == ["⏭ Replay only, skipped in LABS_MODE=live: shows the recorded refusal.\n"]
    assert all(o.output_type == "stream" for o in live.cells[2].outputs)  # skipped: no error


def test_only_in_replay_outside_a_notebook(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert labs.only_in_replay("anything") is True and capsys.readouterr().out == ""
    monkeypatch.setenv("LABS_MODE", "record")
    assert labs.only_in_replay("a seeded game.") is False
    assert capsys.readouterr().out == skip_message("a seeded game") + "\n" == "⏭ Replay only, skipped in LABS_MODE=record: a seeded game.\n"


def test_the_fault_server_replays_even_in_live_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    monkeypatch.setenv("LABS_MODEL", "some-live-model")
    server = labs.fault_server()
    assert server.mode == "replay" and labs.model(server=server) == "gpt-4o-mini" and labs.model() == "some-live-model"
    client = labs.openai_client(server=server, max_retries=0)
    with pytest.raises(openai.NotFoundError, match="No recorded response"):
        client.chat.completions.create(model=labs.model(server=server), messages=[{"role": "user", "content": "not a recording"}])
    with labs.replay_speed(1):
        assert server.speed == 1  # recorded pace where a lesson asks for it, in every mode
    assert server.speed == 0
