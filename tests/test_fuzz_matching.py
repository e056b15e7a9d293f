"""Properties of matching, checked on generated requests (hypothesis) and on every recorded one.

- a recorded request always matches a recording of the same request;
- normalising is idempotent (a normalised body or path normalises to itself);
- a changed prompt never matches another conversation's recording;
- interleaved conversations each replay their own recording, in any order;
- explaining a miss never raises and stays short, whatever JSON is sent.

Derandomized and database-less, so a run in CI sees the same examples as a run here; `FUZZED` counts them.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labs.config import FIXTURES_DIR
from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, load_cassettes
from labs.replay.matching import MatchingLibrary, ReplayMiss, normalise_body, normalise_path
from labs.replay.surfaces import surface

FUZZED = {"normalise": 150, "self": 60, "prompt": 60, "interleave": 40, "explain": 120}
WORKBOOK = load_cassettes([FIXTURES_DIR])
PROFILE = {"deadline": None, "derandomize": True, "database": None, "suppress_health_check": [HealthCheck.too_slow]}

ids = st.sampled_from(["thread_", "call_", "asst_", "run_", "resp_", "msg_", "chatcmpl-"]).flatmap(
    lambda prefix: st.text(string.ascii_letters + string.digits, min_size=3, max_size=12).map(lambda tail: prefix + tail)
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30) | ids
keys = st.sampled_from(["role", "content", "stream", "output", "type", "tool_call_id", "messages", "input", "thread_id"]) | st.text(max_size=8)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4), max_leaves=30)
paths = st.lists(st.sampled_from(["chat", "completions", "threads", "runs", "assistants", "messages"]) | ids | st.text(string.ascii_letters, max_size=6), max_size=5).map(
    lambda parts: "/" + "/".join(parts)
)
queries = st.lists(st.tuples(st.sampled_from(["after", "api-version", "limit", "order"]), st.text(string.ascii_letters + "_", max_size=10) | ids), max_size=3)


def _library(cassettes: list[Cassette]) -> MatchingLibrary:
    return MatchingLibrary(cassettes, ["labs/fixtures"])


def _answer(text: str) -> RecordedResponse:
    return RecordedResponse(content_type="text/event-stream", events=[RecordedEvent(t=0.1, data=text)])


# -- normalising ------------------------------------------------------------------------------


@settings(max_examples=FUZZED["normalise"], **PROFILE)
@given(body=json_values, path=paths, query=queries, on=st.sampled_from(["openai", "azure"]))
def test_normalising_is_idempotent(body: Any, path: str, query: list[tuple[str, str]], on: str) -> None:
    served = surface(on)
    once = normalise_body(body, served)
    assert normalise_body(once, served) == once
    full = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
    assert normalise_path(normalise_path(full, served), served) == normalise_path(full, served)


# -- a recorded request matches itself --------------------------------------------------------


@pytest.mark.parametrize("cassette", WORKBOOK, ids=lambda c: c.name)
def test_every_recorded_request_matches_a_recording_of_the_same_request(cassette: Cassette) -> None:
    library = _library(WORKBOOK)
    on = surface(cassette.surface)
    for interaction in cassette.interactions:
        request = interaction.request
        found = library.find(cassette.surface, request.method, request.path, request.body)
        assert normalise_body(found.interaction.request.body, on) == normalise_body(request.body, on)
        assert normalise_path(found.interaction.request.path, on) == normalise_path(request.path, on)


@settings(max_examples=FUZZED["self"], **PROFILE)
@given(bodies=st.lists(json_values, min_size=1, max_size=4), path=paths, on=st.sampled_from(["openai", "azure"]))
def test_a_generated_recording_answers_its_own_request(bodies: list[Any], path: str, on: str) -> None:
    cassette = Cassette("fuzz/own", on, "generated", [Interaction(RecordedRequest("POST", path, body), _answer(str(i))) for i, body in enumerate(bodies)])  # type: ignore[arg-type]
    library = _library([*WORKBOOK, cassette])
    for body in bodies:
        found = library.find(on, "POST", path, body)  # type: ignore[arg-type]
        assert normalise_body(found.interaction.request.body, surface(on)) == normalise_body(body, surface(on))  # type: ignore[arg-type]


# -- a changed prompt never matches another conversation ------------------------------------------

CHAT_FIRSTS = [
    c
    for c in WORKBOOK
    if c.surface == "openai"
    and c.interactions[0].request.path.endswith("/chat/completions")
    and any(m.get("role") == "user" for m in c.interactions[0].request.body.get("messages", []))
]
AZURE_THREADS = [c for c in WORKBOOK if c.surface == "azure" and c.interactions[0].request.path == "/threads" and c.interactions[0].request.body]
RECORDED_PROMPTS = {
    str(m.get("content"))
    for c in WORKBOOK
    for i in c.interactions
    if isinstance(i.request.body, dict)
    for m in (i.request.body.get("messages") or [])
    if isinstance(m, dict)
}


@settings(max_examples=FUZZED["prompt"], **PROFILE)
@given(cassette=st.sampled_from(CHAT_FIRSTS + AZURE_THREADS), prompt=st.text(min_size=1, max_size=80).filter(lambda t: t not in RECORDED_PROMPTS))
def test_a_changed_prompt_never_matches_another_conversations_recording(cassette: Cassette, prompt: str) -> None:
    body = dict(cassette.interactions[0].request.body)
    messages = [dict(m) for m in body["messages"]]
    last_user = max(i for i, m in enumerate(messages) if m.get("role") == "user")
    messages[last_user]["content"] = prompt
    body["messages"] = messages
    with pytest.raises(ReplayMiss):
        _library(WORKBOOK).find(cassette.surface, "POST", cassette.interactions[0].request.path, body)


# -- interleaved conversations each get their own recording ---------------------------------------

WEB_AZURE = [c for c in WORKBOOK if c.name in ("12_sse_to_the_browser/azure_rain_tips", "12_sse_to_the_browser/azure_forecast_tool")]


def _replayed_id(response: RecordedResponse) -> str | None:
    return response.body.get("id") if isinstance(response.body, dict) else None


@settings(max_examples=FUZZED["interleave"], **PROFILE)
@given(order=st.permutations([0] * 5 + [1] * 5), first=st.sampled_from([0, 1]))
def test_interleaved_azure_conversations_each_replay_their_own_recording(order: list[int], first: int) -> None:
    # Two clients run the web app's Azure chain at once, their requests arriving in any interleaving. Each
    # sends back the ids replay handed it, as the SDK does; the steps that name its thread must be its own.
    assert len(WEB_AZURE) == 2
    library = _library(WORKBOOK)
    clients = [WEB_AZURE[first], WEB_AZURE[1 - first]]
    handed: list[dict[str, str]] = [{}, {}]  # recorded id -> the id replay handed this client
    steps = [0, 0]
    for who in order:
        cassette = clients[who]
        if steps[who] >= len(cassette.interactions):
            continue
        recorded = cassette.interactions[steps[who]].request
        steps[who] += 1
        path, body = recorded.path, recorded.body
        for mine, given_id in handed[who].items():
            path = path.replace(mine, given_id)
            body = _replace_ids(body, mine, given_id)
        found = library.find("azure", recorded.method, path, body)
        if surface("azure").conversation(recorded.method, path, body) is not None:
            assert found.cassette.name == cassette.name, (recorded.method, recorded.path)
        served_id, own_id = _replayed_id(found.interaction.response), _replayed_id(cassette.interactions[steps[who] - 1].response)
        if served_id and own_id:
            handed[who][own_id] = served_id


def _replace_ids(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_ids(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_ids(v, old, new) for v in value]
    return new if value == old else value


# -- explaining a miss -------------------------------------------------------------------------

EXPLAINING = _library(WORKBOOK)


@settings(max_examples=FUZZED["explain"], **PROFILE)
@given(
    body=json_values | st.text(max_size=5_000) | st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
    path=paths,
    method=st.sampled_from(["GET", "POST", "DELETE", "PATCH"]),
    on=st.sampled_from(["openai", "azure"]),
)
def test_explaining_a_miss_never_raises_and_stays_short(body: Any, path: str, method: str, on: str) -> None:
    message = EXPLAINING.explain(on, method, path, body)  # type: ignore[arg-type]
    assert message.startswith("No recorded response for") and message.endswith("(README, instructor guide).")
    assert len(message) < 2_000, len(message)


def test_explaining_a_miss_stays_short_for_a_huge_value_and_a_long_path() -> None:
    message = EXPLAINING.explain("openai", "POST", "/chat/completions" + "/x" * 5_000, {"messages": [{"role": "user", "content": "y" * 1_000_000}]})
    assert len(message) < 2_000
    recorded = CHAT_FIRSTS[0].interactions[0].request
    body = {**recorded.body, "messages": [{"role": "user", "content": "z" * 1_000_000}]}
    message = EXPLAINING.explain("openai", "POST", recorded.path, body)
    assert "Closest recording" in message and "zzzz" in message and len(message) < 2_000
