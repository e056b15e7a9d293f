"""Grading the real workbook: every solution passes, every untouched learner copy is reported not done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labs.workbook import main

REPO = Path(__file__).resolve().parent.parent


def grade(folder: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[dict]]:
    monkeypatch.chdir(REPO)
    code = main(["grade", "--json", folder])
    return code, json.loads(capsys.readouterr().out)


def test_solutions_pass_and_learner_copies_are_not_done(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    solved_code, solved = grade("solutions", capsys, monkeypatch)
    untouched_code, untouched = grade("notebooks", capsys, monkeypatch)
    exercises = {row["exercise"] for row in solved}
    assert exercises and exercises == {row["exercise"] for row in untouched}
    assert solved_code == 0 and all(row["status"] == "passed" for row in solved), solved
    assert untouched_code != 0 and all(row["status"] == "not_done" for row in untouched), untouched
    assert all("Hint:" in row["hint"] for row in untouched)
