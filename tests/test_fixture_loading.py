"""Loading fixture files: a bad file is reported by folder, file and line, never fatal, never a traceback.

Each hostile fixture below changes one line of a valid one (or its bytes), so the line the problem must be
reported at is known from the template, not from the loader.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from labs.replay.cassette import FixtureError, FixtureProblem, load_cassette, load_cassettes, load_fixtures

VALID = """\
version: 1
surface: openai
comment: a valid fixture to break one line at a time
interactions:
- request:
    method: POST
    path: /chat/completions
    body: {model: m, messages: [{role: user, content: hi}]}
  response:
    status: 200
    headers: {retry-after: "1"}
    events:
    - t: 0.1
      event: message
      data: '{"x": 1}'
    - t: 0.2
      data: '[DONE]'
"""
LINES = VALID.splitlines()


def replacing(line: int, text: str) -> str:
    """The valid fixture with line `line` (counted from 1) replaced by `text`."""
    lines = list(LINES)
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def alias_bomb(levels: int = 7, width: int = 9) -> str:
    """A valid fixture whose request body nests `levels` levels of `width` aliases: width**levels strings once expanded."""
    bomb = ["bomb:", "  - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    bomb += [f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(LINES[:3] + bomb + LINES[3:7] + [f"    body: {{model: m, messages: *a{levels - 1}}}"] + LINES[8:]) + "\n"


# name: (file content, line the problem is at, words the message must hold)
HOSTILE: dict[str, tuple[str | bytes, int | None, str]] = {
    "alias_bomb": (alias_bomb(), 5, "aliases"),
    "one_alias": (replacing(8, "    body: &b {model: m, again: *b}"), 8, "aliases"),
    "anchor_alone": (replacing(8, "    body: &b {model: m}"), 8, "anchors"),
    "path_not_text": (replacing(7, "    path: 5"), 7, "`path` must be text"),
    "path_a_list": (replacing(7, "    path: [a, b]"), 7, "`path` must be text"),
    "path_without_slash": (replacing(7, "    path: chat/completions"), 7, "must start with /"),
    "path_with_crlf": (replacing(7, '    path: "/chat\\r\\nx: y"'), 7, "line break"),
    "not_utf8": (replacing(3, "comment: caf\udcff").encode("utf-8", "surrogateescape"), 3, "not UTF-8"),
    "nested_5000_deep": (replacing(8, "    body: " + "[" * 5000 + "]" * 5000), 8, "nested more than"),
    "nested_mappings": (replacing(8, "    body: " + "{a: " * 300 + "1" + "}" * 300), 8, "nested more than"),
    "unquoted_date": (replacing(8, "    body: {model: m, created: 2024-01-02}"), 8, "timestamp"),
    "binary_value": (replacing(8, "    body: {model: !!binary aGVsbG8=}"), 8, "binary"),
    "a_set": (replacing(8, "    body: !!set {a, b}"), 8, "set"),
    "not_a_number": (replacing(13, "    - t: .nan"), 13, "not a JSON number"),
    "endless_digits": (replacing(8, "    body: {n: " + "9" * 5000 + "}"), 8, "number"),
    "key_not_text": (replacing(8, "    body: {1: one}"), 8, "key must be text"),
    "yaml_on_is_true": (replacing(8, "    body: {on: x}"), 8, "key must be text"),
    "duplicate_key": (replacing(8, "    body: {model: m, model: n}"), 8, "appears twice"),
    "python_object": (replacing(8, "    body: !!python/object:os.system {}"), 8, "constructor"),
    "status_999": (replacing(10, "    status: 999"), 10, "from 200 to 599"),
    "status_text": (replacing(10, "    status: ok"), 10, "from 200 to 599"),
    "header_value_crlf": (replacing(11, '    headers: {x-a: "b\\r\\nx-injected: 1"}'), 11, "line break"),
    "header_name_crlf": (replacing(11, '    headers: {"x-a\\r\\nx-b": c}'), 11, "not a valid HTTP header name"),
    "header_value_nul": (replacing(11, '    headers: {x-a: "b\\0"}'), 11, "control"),
    "own_content_length": (replacing(11, '    headers: {content-length: "3"}'), 11, "content-length"),
    "own_transfer_encoding": (replacing(11, "    headers: {Transfer-Encoding: chunked}"), 11, "Transfer-Encoding"),
    "headers_a_list": (replacing(11, "    headers: [a, b]"), 11, "must be a mapping"),
    "done_unquoted": (replacing(17, "      data: [DONE]"), 17, "put it in quotes"),
    "data_a_mapping": (replacing(15, '      data: {"x": 1}'), 15, "must be text"),
    "event_name_newline": (replacing(14, '      event: "message\\ndata: injected"'), 14, "line break"),
    "event_without_data": (replacing(15, "      id: '7'"), 13, "no `data`"),
    "time_negative": (replacing(13, "    - t: -1"), 13, "from 0 to"),
    "time_forever": (replacing(13, "    - t: 1e12"), 13, "from 0 to"),
    "events_not_a_list": ("\n".join(LINES[:11] + ["    events: 3"]) + "\n", 12, "must be a list"),
    "events_and_body": (replacing(11, "    body: {}"), 11, "both `events`"),
    "fault_negative": (replacing(11, "    fault: {drop_after: -1}"), 11, "drop_after"),
    "fault_unknown": (replacing(11, "    fault: {explode: 1}"), 11, "unknown key `explode`"),
    "method_with_space": (replacing(6, "    method: PO ST"), 6, "HTTP method"),
    "no_request": (replacing(5, "- requests:"), 5, "unknown key `requests`"),
    "misspelt_top_key": (VALID.replace("interactions:", "interaction:"), 4, "unknown key `interaction`"),
    "missing_top_key": (VALID.replace("comment: a valid fixture to break one line at a time\n", ""), 1, "has no `comment`"),
    "version_as_text": (replacing(1, "version: '1'"), 1, "version '1' is not 1"),
    "unknown_surface": (replacing(2, "surface: gemini"), 2, "surface must be one of"),
    "comment_a_number": (replacing(3, "comment: 42"), 3, "must be text"),
    "no_interactions": ("\n".join(LINES[:3]) + "\ninteractions: []\n", 4, "no interactions"),
    "broken_yaml": (replacing(8, "    body: {model: [m}"), 8, "not valid YAML"),
    "tab_indent": (replacing(7, "\tpath: /x"), 7, "not valid YAML"),
    "two_documents": (VALID + "---\nversion: 1\n", 18, "not valid YAML"),
    "nul_byte": (replacing(3, "comment: a\x00b"), None, "not valid YAML"),
    "a_list": ("- 1\n- 2\n", 1, "must be a mapping"),
    "empty": ("", None, "empty"),
    "binary_file": (bytes(range(256)) * 4, 2, "not UTF-8"),  # byte 10 is a line break, 128 the first that is not UTF-8
}


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_the_template_itself_is_valid(tmp_path: Path) -> None:
    cassette = load_cassette(write(tmp_path, "valid", VALID))
    [interaction] = cassette.interactions
    assert interaction.request.path == "/chat/completions" and interaction.response.headers == {"retry-after": "1"}
    assert [e.data for e in interaction.response.events or []] == ['{"x": 1}', "[DONE]"]


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_fixture_is_one_clear_problem_and_the_others_still_load(tmp_path: Path, name: str) -> None:
    content, line, words = HOSTILE[name]
    folder = tmp_path / "myfixtures"
    write(folder / "lesson", "bad", content)
    write(folder / "lesson", "good", VALID)
    started = time.thread_time()  # CPU seconds of this thread, so a busy machine does not fail it
    found = load_fixtures([folder])
    assert time.thread_time() - started < 2
    assert [c.name for c in found.cassettes] == ["lesson/good"]
    [problem] = found.problems
    assert problem.file == "myfixtures/lesson/bad.yaml"
    assert problem.line == line, str(problem)
    assert words in problem.message, str(problem)
    assert "Traceback" not in problem.message and "Error(" not in problem.message


def test_a_problem_reads_as_file_line_message() -> None:
    assert str(FixtureProblem("03_streamed_tool_calls/bad.yaml", 12, "status must be...")) == "03_streamed_tool_calls/bad.yaml, line 12: status must be..."
    assert str(FixtureProblem("myfixtures/bad.yaml", None, "is empty")) == "myfixtures/bad.yaml: is empty"


def test_every_bad_file_is_reported_and_every_good_one_loaded(tmp_path: Path) -> None:
    folder = tmp_path / "course"
    for i, name in enumerate(["status_999", "unquoted_date", "alias_bomb"]):
        write(folder / f"0{i}_lesson", "bad", HOSTILE[name][0])
        write(folder / f"0{i}_lesson", "good", VALID)
    found = load_fixtures([folder, tmp_path / "missing"])
    assert sorted(c.name for c in found.cassettes) == ["00_lesson/good", "01_lesson/good", "02_lesson/good"]
    assert [(p.file, p.line) for p in found.problems] == [("course/00_lesson/bad.yaml", 10), ("course/01_lesson/bad.yaml", 8), ("course/02_lesson/bad.yaml", 5)]


def test_the_strict_loader_raises_naming_folder_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "myfixtures", "bad", HOSTILE["status_999"][0])
    with pytest.raises(FixtureError, match=r"^myfixtures/bad\.yaml, line 10: .*999") as info:
        load_cassettes([tmp_path / "myfixtures"])
    assert info.value.problem == FixtureProblem("myfixtures/bad.yaml", 10, info.value.problem.message)


def test_a_fixture_outside_the_repository_is_named_by_its_folder_not_shortened(tmp_path: Path) -> None:
    write(tmp_path / "myfixtures" / "lesson", "good", VALID)
    [cassette] = load_fixtures([tmp_path / "myfixtures"]).cassettes
    assert cassette.where == "myfixtures/lesson/good.yaml"


def test_the_alias_bomb_is_refused_in_bounded_time(tmp_path: Path) -> None:
    bomb = alias_bomb(levels=12)  # 9**12 strings once expanded: a server would never start
    assert len(bomb) < 1_100
    started = time.thread_time()  # CPU seconds of this thread, so a busy machine does not fail it
    found = load_fixtures([write(tmp_path / "f", "bomb", bomb).parent])
    assert time.thread_time() - started < 1
    assert not found.cassettes and "aliases" in found.problems[0].message


def test_the_repositorys_fixtures_have_no_problem() -> None:
    from labs.config import FIXTURES_DIR

    found = load_fixtures([FIXTURES_DIR])
    assert found.problems == [] and len(found.cassettes) >= 50
