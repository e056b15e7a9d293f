"""Fixture loading fed random and hostile YAML (hypothesis): it always answers with a FixtureSet, quickly.

Four sources of files: random bytes and text; a soup of YAML's sharp tokens (anchors, aliases, tags, flow
brackets, directives); a valid fixture with one value anywhere replaced by a random one (dates, binary,
sets, NaN, huge numbers, non-text keys included); generated alias bombs and deep nesting. Whatever loads
must be servable: bodies that JSON can carry, events the SSE encoder can frame, headers that cannot split.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

from labs.replay.cassette import FixtureSet, load_fixtures
from labs.replay.sse import SSEEvent, encode_event

FUZZED = {"bytes": 300, "soup": 500, "mutated": 600, "bombs": 60}
PROFILE = {"deadline": None, "derandomize": True, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
SECONDS_PER_FILE = 1.0

VALID: dict[str, Any] = {
    "version": 1,
    "surface": "openai",
    "comment": "a valid fixture for the fuzzer to break",
    "interactions": [
        {
            "note": "one streamed answer",
            "request": {"method": "POST", "path": "/chat/completions", "body": {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}},
            "response": {
                "status": 200,
                "content_type": "text/event-stream",
                "headers": {"retry-after": "1"},
                "fault": {"drop_after": 1},
                "events": [{"t": 0.1, "event": "message", "id": "1", "data": '{"x": 1}'}, {"t": 0.2, "data": "[DONE]"}],
            },
        },
        {"request": {"method": "GET", "path": "/models"}, "response": {"status": 200, "t": 0.1, "body": {"data": []}}},
    ],
}


def load_one(content: str | bytes) -> FixtureSet:
    """Load a folder holding this one file; it must answer with a FixtureSet within the time bound."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "fuzzed"
        folder.mkdir()
        path = folder / "case.yaml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        started = time.thread_time()  # CPU seconds of this thread, so a busy machine does not fail it
        found = load_fixtures([folder])
        elapsed = time.thread_time() - started
    assert isinstance(found, FixtureSet)
    assert elapsed < SECONDS_PER_FILE, f"{elapsed:.2f} s to load {len(content)} bytes"
    assert len(found.cassettes) + len(found.problems) == 1
    for problem in found.problems:
        assert problem.file == "fuzzed/case.yaml" and problem.message
        assert problem.line is None or problem.line >= 1
    for cassette in found.cassettes:
        assert_servable(cassette)
    if currently_in_test_context():
        event("loaded" if found.cassettes else "refused")  # shown by --hypothesis-show-statistics
    return found


def assert_servable(cassette: Any) -> None:
    """What the replay server will do with a loaded fixture cannot fail."""
    for interaction in cassette.interactions:
        request, response = interaction.request, interaction.response
        assert isinstance(request.path, str) and request.path.startswith("/") and isinstance(request.method, str)
        json.dumps(request.body, allow_nan=False)
        json.dumps(response.body, allow_nan=False)
        assert 200 <= response.status <= 599
        assert math.isfinite(response.t)
        for name, value in response.headers.items():
            assert name.lower() not in {"content-length", "transfer-encoding"}
            (name + value).encode("latin-1")
            assert "\r" not in name + value and "\n" not in name + value
        for event in response.events or []:
            if event.raw is None:
                encode_event(SSEEvent(data=event.data, event=event.event, id=event.id))
            assert math.isfinite(event.t)


@settings(max_examples=FUZZED["bytes"], **PROFILE)
@given(st.binary(max_size=400) | st.text(max_size=400))
def test_random_bytes_and_text(content: bytes | str) -> None:
    load_one(content)


SOUP = st.sampled_from(
    [
        "&a ", "*a", "&b ", "*b", "[", "]", "{", "}", ", ", ": ", "- ", "\n", "  ", "\t", "? ", "<<: ", "---\n", "...\n",
        "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "!!binary ", "!!set ", "!!python/object:os.system ", "!!timestamp ", "!x ",
        "'", '"', "|\n", ">-\n", "#", "2024-01-02", "2001-12-14t21:59:43.10-05:00", ".nan", ".inf", "~", "null", "yes", "on",
        "0x1F", "1_000", "1:20", "9" * 50, "1e999", "version", "surface", "openai", "comment", "interactions", "request",
        "response", "method", "POST", "path", "/x", "status", "999", "headers", "content-length", "events", "t", "data",
        "\\r\\n", "\r\n", "\x00", "\x85", "\ufeff", "é",
    ]
)  # fmt: skip


@settings(max_examples=FUZZED["soup"], **PROFILE)
@given(st.lists(SOUP, max_size=60).map("".join))
def test_a_soup_of_yaml_tokens(text: str) -> None:
    load_one(text)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**30, max_value=10**40)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["\r\n", "x\r\ny: 1", "content-length", "[DONE]", "/path", "POST", "openai", "\x00"])
    | st.dates()
    | st.datetimes()
    | st.binary(max_size=8)
    | st.frozensets(st.integers(), max_size=3).map(set)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | st.integers() | st.booleans(), inner, max_size=3),
    max_leaves=12,
)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    places = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            places += _places(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _places(item, path + (index,))
    return places


PLACES = _places(VALID)[1:]


@settings(max_examples=FUZZED["mutated"], **PROFILE)
@given(st.sampled_from(PLACES), values, st.booleans(), st.booleans())
def test_a_valid_fixture_with_one_value_replaced(place: tuple[Any, ...], value: Any, flow: bool, drop: bool) -> None:
    document = copy.deepcopy(VALID)
    parent = document
    for step in place[:-1]:
        parent = parent[step]
    if drop:
        del parent[place[-1]]
    else:
        parent[place[-1]] = value
    load_one(yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True, sort_keys=False))


def _bomb(levels: int, width: int, anchors_first: bool) -> str:
    lines = ["version: 1", "surface: openai", "comment: bomb"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i else "lol"] * width) + "]" for i in range(levels)]
    lines += ["interactions:", "- request: {method: POST, path: /x, body: *a%d}" % (levels - 1), "  response: {body: *a0}"]
    return "\n".join(lines if anchors_first else lines[3:] + lines[:3]) + "\n"


def _nest(depth: int, kind: str) -> str:
    open_, close = {"list": ("[", "]"), "map": ("{a: ", "}"), "mixed": ("[{a: ", "}]")}[kind]
    return "version: 1\nsurface: openai\ncomment: deep\ninteractions:\n- request: {method: POST, path: /x, body: " + open_ * depth + "1" + close * depth + "}\n  response: {}\n"


@settings(max_examples=FUZZED["bombs"], **PROFILE)
@given(
    st.one_of(
        st.builds(_bomb, st.integers(2, 30), st.integers(2, 40), st.booleans()),
        st.builds(_nest, st.integers(90, 20_000), st.sampled_from(["list", "map", "mixed"])),
        st.integers(90, 20_000).map(lambda depth: "".join(f"{'  ' * i}- \n" for i in range(min(depth, 400))) + "  " * 400 + "x\n"),
    )
)
def test_alias_bombs_and_deep_nesting_are_refused_quickly(text: str) -> None:
    found = load_one(text)
    if "&a" in text or text.count("[") > 130 or text.count("{a") > 130:
        assert found.problems, "a hostile file loaded"


def test_the_valid_fixture_itself_loads() -> None:
    found = load_one(yaml.safe_dump(VALID, sort_keys=False))
    assert not found.problems and len(found.cassettes[0].interactions) == 2
