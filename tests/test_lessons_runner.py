"""The authoring runner: `python -m labs.lessons` lists and records scenarios, and authoring reproduces the lessons' requests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from labs.config import FIXTURES_DIR, REPO_ROOT
from labs.lessons import author, select
from labs.replay.cassette import Cassette, load_cassette


def run_lessons(*arguments: str) -> subprocess.CompletedProcess[str]:
    """`python -m labs.lessons ARGUMENTS` with this interpreter (the venv's), from the repository root."""
    return subprocess.run([sys.executable, "-m", "labs.lessons", *arguments], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def committed_fixtures() -> set[str]:
    """The committed fixtures' names: their paths below labs/fixtures without .yaml (a recording folder left over is not one)."""
    return {path.relative_to(FIXTURES_DIR).with_suffix("").as_posix() for path in FIXTURES_DIR.rglob("*.yaml") if "recorded" not in path.parts}


def requests_of(cassette: Cassette) -> list[tuple[str, str, object]]:
    return [(i.request.method, i.request.path, i.request.body) for i in cassette.interactions]


def test_list_prints_every_scenario_once_and_each_names_a_committed_fixture() -> None:
    listed = run_lessons("list")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert len(names) == len(set(names)), "a scenario is listed twice"
    # Every scenario writes labs/fixtures/<name>.yaml, lesson 14's post-processed faults included (they rewrite
    # the file the scenario recorded), and every committed fixture is some scenario's, so it can be recorded again.
    assert set(names) == committed_fixtures()
    assert "sdk_smoke/azure_text  [azure]" in listed.stdout and "sdk_smoke/chat_text  [openai]" in listed.stdout


def test_record_with_an_unknown_prefix_fails_and_points_at_list() -> None:
    recorded = run_lessons("record", "nosuchprefix")
    assert recorded.returncode != 0
    assert "no scenario starts with nosuchprefix" in recorded.stderr and "python -m labs.lessons list" in recorded.stderr


def test_select_takes_a_full_name_or_a_prefix() -> None:
    assert [s.name for s in select(["02_collect_while_streaming/refusal"])] == ["02_collect_while_streaming/refusal"]
    lesson_02 = [s.name for s in select(["02_"])]
    assert "02_collect_while_streaming/refusal" in lesson_02 and len(lesson_02) > 1
    assert all(name.startswith("02_") for name in lesson_02)
    assert select(["nosuchprefix"]) == []


def test_authoring_lesson_01_reproduces_its_committed_requests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chosen = select(["01_"])
    assert chosen, "lesson 01 has no scenario"
    committed = {s.name: (FIXTURES_DIR / f"{s.name}.yaml").read_bytes() for s in chosen}
    author(chosen, record_dir=tmp_path)
    written = {path.relative_to(tmp_path).with_suffix("").as_posix() for path in tmp_path.rglob("*.yaml")}
    assert written == set(committed)
    for scenario in chosen:
        recorded = load_cassette(tmp_path / f"{scenario.name}.yaml")
        expected = load_cassette(FIXTURES_DIR / f"{scenario.name}.yaml")
        assert requests_of(recorded) and requests_of(recorded) == requests_of(expected), scenario.name
        assert recorded.comment == scenario.comment
        # Recording into another folder leaves the committed fixture as it was.
        assert (FIXTURES_DIR / f"{scenario.name}.yaml").read_bytes() == committed[scenario.name]
