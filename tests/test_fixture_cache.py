"""The committed fixtures' JSON cache (labs/replay/fixture_yaml.py): the same data and lines as the YAML, never stale."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from labs.config import FIXTURES_DIR
from labs.replay import fixture_yaml
from labs.replay.cassette import load_cassette
from labs.replay.fixture_yaml import FixtureError, read_fixture_yaml


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(fixture_yaml.CACHE_ENV, str(folder))
    return folder


def _by_place(data: Any, lines: dict[tuple[int, Any], int]) -> dict[tuple[int, Any], int]:
    """The lines keyed by each container's place in the data (depth first), not by the object's id."""
    place = {id(container): number for number, container in enumerate(fixture_yaml._containers(data))}
    return {(place[container], key): line for (container, key), line in lines.items()}


def _no_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> None:
        raise AssertionError("parsed the YAML again")

    monkeypatch.setattr(fixture_yaml, "_scan", refuse)


def test_every_committed_fixture_reads_back_from_the_cache_with_the_same_data_and_lines(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(FIXTURES_DIR.rglob("*.yaml"))
    parsed = {path: read_fixture_yaml(path, path.name) for path in files}
    cassettes = {path: load_cassette(path) for path in files}
    assert len(list(cache.glob("*.json"))) == len(files) > 50
    _no_yaml(monkeypatch)
    for path in files:
        data, lines = read_fixture_yaml(path, path.name)
        assert data == parsed[path][0] and _by_place(data, lines) == _by_place(*parsed[path]), path
        assert load_cassette(path) == cassettes[path]


def test_a_problem_in_a_cached_fixture_names_the_same_line(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed = tmp_path / "fixtures"
    monkeypatch.setattr(fixture_yaml, "_COMMITTED", committed.resolve())
    path = committed / "sdk_smoke" / "chat_text.yaml"
    path.parent.mkdir(parents=True)
    text = (FIXTURES_DIR / "sdk_smoke" / "chat_text.yaml").read_text(encoding="utf-8")
    assert "\n    status: 200\n" in text
    path.write_text(text.replace("\n    status: 200\n", "\n    status: two hundred\n", 1), encoding="utf-8")  # valid YAML, a bad fixture
    with pytest.raises(FixtureError) as first:
        load_cassette(path)
    assert len(list(cache.glob("*.json"))) == 1 and first.value.problem.line is not None
    _no_yaml(monkeypatch)
    with pytest.raises(FixtureError) as again:
        load_cassette(path)
    assert str(again.value) == str(first.value)


def test_an_edited_fixture_is_read_afresh_and_a_broken_cache_file_is_ignored(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed = tmp_path / "fixtures"
    monkeypatch.setattr(fixture_yaml, "_COMMITTED", committed.resolve())
    shutil.copytree(FIXTURES_DIR / "sdk_smoke", committed / "sdk_smoke")
    path = committed / "sdk_smoke" / "chat_text.yaml"
    assert load_cassette(path).comment != "edited by hand"
    lines = [("comment: edited by hand" if line.startswith("comment:") else line) for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_cassette(path).comment == "edited by hand"  # not the cached comment
    for entry in cache.glob("*.json"):
        entry.write_text('{"data": {"version": 1', encoding="utf-8")  # cut short
    assert load_cassette(path).comment == "edited by hand"
    (entry,) = [entry for entry in cache.glob("*.json") if "edited by hand" in entry.read_text(encoding="utf-8")]
    entry.write_text('{"data": [], "lines": [[7, null, 1]]}', encoding="utf-8")  # JSON, but not this file's
    assert load_cassette(path).comment == "edited by hand"


def test_only_the_committed_fixtures_are_cached_and_off_keeps_none(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "mine" / "chat_text.yaml"
    elsewhere.parent.mkdir()
    shutil.copy(FIXTURES_DIR / "sdk_smoke" / "chat_text.yaml", elsewhere)
    load_cassette(elsewhere)  # a test's or an instructor's folder (LABS_FIXTURES): read, never kept
    assert not cache.exists()
    monkeypatch.setenv(fixture_yaml.CACHE_ENV, "off")
    load_cassette(FIXTURES_DIR / "sdk_smoke" / "chat_text.yaml")
    assert not cache.exists()


def test_the_cache_keeps_the_newest_entries_only(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fixture_yaml, "_CACHE_ENTRIES", 3)
    cache.mkdir()
    for number in range(5):
        (cache / f"old{number}.json").write_text("{}", encoding="utf-8")
        os.utime(cache / f"old{number}.json", (1_000_000 + number, 1_000_000 + number))
    load_cassette(FIXTURES_DIR / "sdk_smoke" / "chat_text.yaml")
    assert sorted(entry.name for entry in cache.glob("*.json") if entry.name.startswith("old")) == ["old3.json", "old4.json"]
    assert len(list(cache.glob("*.json"))) == 3
