"""The fixture format, unit by unit: what a good file loads as, each problem's message and line, and dumping.

Every expectation here is written by hand from the format in `labs/fixtures/README.md`: the objects a file
must load as, the exact sentence and line of each problem, the exact YAML a cassette is written as. Nothing
goes through the replay server, so these tests run in a second and judge `labs.replay.cassette` alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labs.config import REPO_ROOT
from labs.replay.cassette import (
    FORMAT_VERSION,
    SURFACE_NAMES,
    Cassette,
    FixtureError,
    FixtureProblem,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
    asks_for_stream,
    dump_cassette,
    load_cassette,
    load_cassettes,
    load_fixtures,
)

# The line numbers in the tables below count from 1 in this text.
VALID = """\
version: 1
surface: openai
comment: streams two events
interactions:
- note: the first step
  request:
    method: POST
    path: /v1/chat/completions
    body: {model: m, stream: true}
  response:
    status: 200
    t: 0.5
    headers: {Retry-After: "1"}
    events:
    - t: 0.1
      event: message
      id: '7'
      data: '{"x": 1}'
    - t: 0.25
      data: '[DONE]'
"""
LINES = VALID.splitlines()


def replacing(line: int, *texts: str) -> str:
    """The valid fixture with line `line` (from 1) replaced by `texts` (none: the line removed)."""
    return "\n".join(LINES[: line - 1] + list(texts) + LINES[line:]) + "\n"


def edited(changes: dict[int, str]) -> str:
    """The valid fixture with each line numbered in `changes` (from 1) replaced by its text."""
    return "\n".join(changes.get(number, line) for number, line in enumerate(LINES, start=1)) + "\n"


def problem(tmp_path: Path, text: str) -> tuple[int | None, str]:
    """The line and message of the one problem loading `text` reports."""
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FixtureError) as info:
        load_cassette(path, shown_as="mine/f.yaml")
    assert info.value.problem.file == "mine/f.yaml"
    assert str(info.value) == str(info.value.problem)
    return info.value.problem.line, info.value.problem.message


def loaded(tmp_path: Path, text: str) -> Cassette:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    return load_cassette(path)


# -- what a good file loads as ---------------------------------------------------------------------------


def test_the_format_constants() -> None:
    assert FORMAT_VERSION == 1
    assert SURFACE_NAMES == ("openai", "azure")


def test_a_valid_fixture_loads_as_the_objects_it_describes(tmp_path: Path) -> None:
    cassette = loaded(tmp_path, VALID)
    assert cassette == Cassette(
        name="f",
        surface="openai",
        comment="streams two events",
        interactions=[
            Interaction(
                request=RecordedRequest("POST", "/v1/chat/completions", {"model": "m", "stream": True}),
                response=RecordedResponse(
                    status=200,
                    t=0.5,
                    content_type="text/event-stream",
                    body=None,
                    events=[RecordedEvent(t=0.1, data='{"x": 1}', event="message", id="7"), RecordedEvent(t=0.25, data="[DONE]")],
                    fault=None,
                    headers={"retry-after": "1"},  # header names are kept lower case
                ),
                note="the first step",
            )
        ],
        path=tmp_path / "f.yaml",
        version=1,
    )
    assert cassette.shown_as is None
    assert isinstance(cassette.interactions[0].response.events[0].t, float)  # type: ignore[index]


def test_a_json_answer_and_the_defaults_of_an_empty_response(tmp_path: Path) -> None:
    json_answer = "\n".join(LINES[:9] + ["  response:", "    status: 404", "    t: 2", "    body: {error: {message: gone}}"]) + "\n"
    [interaction] = loaded(tmp_path, json_answer).interactions
    assert interaction.response == RecordedResponse(status=404, t=2.0, content_type="application/json", body={"error": {"message": "gone"}})
    assert isinstance(interaction.response.t, float)
    empty = "\n".join(LINES[:4] + ["- request: {method: get, path: /x}", "  response: {}"]) + "\n"
    [interaction] = loaded(tmp_path, empty).interactions
    assert interaction == Interaction(RecordedRequest("GET", "/x", None), RecordedResponse(), note="")  # the method in upper case
    json_with_no_events = "\n".join(LINES[:10] + ["    events: null", "    body: {}"]) + "\n"
    [interaction] = loaded(tmp_path, json_with_no_events).interactions
    assert (interaction.response.events, interaction.response.body, interaction.response.content_type) == (None, {}, "application/json")
    assert (interaction.response.status, interaction.response.t, interaction.response.content_type) == (200, 0.0, "application/json")
    assert interaction.response.headers == {} and interaction.response.fault is None and interaction.response.events is None


def test_a_raw_event_an_empty_data_and_a_tab_in_an_event_name_are_kept(tmp_path: Path) -> None:
    text = replacing(15, "    - t: 0", "      raw: \"data: {broken\\n\\n\"", "    - t: 3600", "      event: \"a\\tb\"", "      data: ''", "    - t: 0.1")
    events = loaded(tmp_path, text).interactions[0].response.events
    assert events is not None and events[:2] == [RecordedEvent(t=0.0, raw="data: {broken\n\n"), RecordedEvent(t=3600.0, data="", event="a\tb")]
    assert events[0].data == "" and events[0].event is None and events[0].id is None


def test_a_multi_line_data_is_kept_as_it_is(tmp_path: Path) -> None:
    text = replacing(18, "      data: |-", "        line one", "        line two")
    events = loaded(tmp_path, text).interactions[0].response.events
    assert events is not None and events[0].data == "line one\nline two"


def test_the_comment_is_stripped_and_a_content_type_kept(tmp_path: Path) -> None:
    text = replacing(3, "comment: '  padded  '").replace("    status: 200", "    content_type: application/x-ndjson")
    cassette = loaded(tmp_path, text)
    assert cassette.comment == "padded"
    assert cassette.interactions[0].response.content_type == "application/x-ndjson"


@pytest.mark.parametrize(
    ("fault", "kept"),
    [
        ("{drop_after: 0}", {"drop_after": 0}),
        ("{drop_after: 3600000}", {"drop_after": 3600000}),
        ("{stall_after: 3, stall_seconds: 5}", {"stall_after": 3, "stall_seconds": 5}),
        ("{stall_seconds: 3600}", {"stall_seconds": 3600}),
        ("{stall_seconds: 0.5}", {"stall_seconds": 0.5}),
        ("{drop_at_end: true}", {"drop_at_end": True}),
        ("{drop_at_end: false}", {"drop_at_end": False}),
        ("{}", {}),
        ("null", None),
    ],
)
def test_a_valid_fault_is_kept(tmp_path: Path, fault: str, kept: dict | None) -> None:
    text = replacing(13, f"    fault: {fault}")
    assert loaded(tmp_path, text).interactions[0].response.fault == kept


@pytest.mark.parametrize(
    ("headers", "kept"),
    [
        ('{x-a: "b\\tc"}', {"x-a": "b\tc"}),  # a tab is allowed in a header value
        ("{x-n: 1}", {"x-n": "1"}),  # numbers become text
        ("{x-n: 1.5}", {"x-n": "1.5"}),
        ("{}", {}),
        ("null", {}),
    ],
)
def test_valid_headers_are_kept_as_text(tmp_path: Path, headers: str, kept: dict) -> None:
    assert loaded(tmp_path, replacing(13, f"    headers: {headers}")).interactions[0].response.headers == kept


@pytest.mark.parametrize("status", [200, 404, 599])
def test_every_status_from_200_to_599_is_accepted(tmp_path: Path, status: int) -> None:
    assert loaded(tmp_path, replacing(11, f"    status: {status}")).interactions[0].response.status == status


def test_a_path_with_a_tab_and_every_token_character_in_the_method(tmp_path: Path) -> None:
    text = replacing(7, "    method: \"m!#$%&'*+.^_`|~09AZz-\"")
    assert loaded(tmp_path, text).interactions[0].request.method == "M!#$%&'*+.^_`|~09AZZ-"


# -- each problem: its line and its exact message ---------------------------------------------------------

I1, REQ, RESP, EV1, EV2 = "interaction 1", "interaction 1 `request`", "interaction 1 `response`", "interaction 1, event 1", "interaction 1, event 2"
SERVER_HEADERS = ["content-length", "transfer-encoding", "content-encoding", "content-type", "connection", "keep-alive", "upgrade", "te", "trailer"]

# name: (fixture text, line of the problem, the message)
PROBLEMS: dict[str, tuple[str, int | None, str]] = {
    # a problem with a key is reported at the key's line, not at the line its mapping starts on
    "version_2_second": (edited({1: "surface: openai", 2: "version: 2"}), 2, "version 2 is not 1; re-record it with LABS_MODE=record"),
    "status_199_second": (edited({11: "    t: 0.5", 12: "    status: 199"}), 12, "interaction 1 `response` `status` must be an HTTP status from 200 to 599, not 199"),
    "method_space_second": (edited({7: "    path: /x", 8: "    method: PO ST"}), 8, "interaction 1 `request` `method` must be an HTTP method such as POST, not 'PO ST'"),
    "header_name_second": (replacing(13, "    headers:", "      x-a: ok", "      x b: c"), 15, "interaction 1 `response` header name 'x b' is not a valid HTTP header name"),
    "server_header_second": (replacing(13, "    headers:", "      x-a: ok", "      Content-Length: '3'"), 15, "interaction 1 `response` may not set `Content-Length`: the replay server sets it itself (use `content_type` for the media type)"),
    "header_value_second": (replacing(13, "    headers:", "      x-a: ok", "      x-b: [c]"), 15, "interaction 1 `response` header `x-b` must be text, not a list"),
    # the top level
    "empty": ("", None, "is empty: a fixture is a mapping with version, surface, comment and interactions"),
    "a_list": ("- 1\n- 2\n", 1, "a fixture must be a mapping with version, surface, comment, interactions, not a list"),
    "a_text": ("just words\n", None, "a fixture must be a mapping with version, surface, comment, interactions, not text"),
    "unknown_top_key": (VALID + "extra: 1\n", 21, "a fixture has an unknown key `extra`; it may have: version, surface, comment, interactions"),
    "no_version": (replacing(1), 1, "a fixture has no `version`"),
    "no_surface": (replacing(2), 1, "a fixture has no `surface`"),
    "no_interactions_key": ("\n".join(LINES[:3]) + "\n", 1, "a fixture has no `interactions`"),
    "version_2": (replacing(1, "version: 2"), 1, "version 2 is not 1; re-record it with LABS_MODE=record"),
    "version_true": (replacing(1, "version: true"), 1, "version True is not 1; re-record it with LABS_MODE=record"),
    "version_text": (replacing(1, "version: '1'"), 1, "version '1' is not 1; re-record it with LABS_MODE=record"),
    "surface_gemini": (replacing(2, "surface: gemini"), 2, "surface must be one of 'openai', 'azure', not 'gemini'"),
    "comment_number": (replacing(3, "comment: 42"), 3, "the fixture's `comment` must be text, not a number: put it in quotes"),
    "comment_null": (replacing(3, "comment:"), 3, "the fixture's `comment` must be text, not empty: put it in quotes"),
    "comment_blank": (replacing(3, "comment: '   '"), 3, "add a comment saying what is special about this scenario"),
    "comment_empty": (replacing(3, "comment: ''"), 3, "add a comment saying what is special about this scenario"),
    "interactions_empty": ("\n".join(LINES[:3]) + "\ninteractions: []\n", 4, "no interactions: `interactions` must list request and response pairs, not be an empty list"),
    "interactions_mapping": ("\n".join(LINES[:3]) + "\ninteractions: {}\n", 4, "no interactions: `interactions` must list request and response pairs, not be a mapping"),
    "interactions_null": ("\n".join(LINES[:3]) + "\ninteractions:\n", 4, "no interactions: `interactions` must list request and response pairs, not be empty"),
    "interactions_true": ("\n".join(LINES[:3]) + "\ninteractions: true\n", 4, "no interactions: `interactions` must list request and response pairs, not be true/false"),
    # an interaction
    "interaction_number": ("\n".join(LINES[:4]) + "\n- 3\n", 5, "interaction 1 must be a mapping with request, response, not a number"),
    "interaction_unknown_key": (replacing(5, "- notes: the first step"), 5, "interaction 1 has an unknown key `notes`; it may have: request, response, note"),
    "interaction_no_response": ("\n".join(LINES[:9]) + "\n", 5, "interaction 1 has no `response`"),
    "interaction_no_request": ("\n".join(LINES[:4] + ["- response: {}"]) + "\n", 5, "interaction 1 has no `request`"),
    "note_number": (replacing(5, "- note: 5"), 5, "interaction 1 `note` must be text, not a number: put it in quotes"),
    "second_interaction": (VALID + "- request: {method: POST, path: x}\n  response: {}\n", 21, "interaction 2 `request` `path` must start with / and hold no spaces, not 'x'"),
    # the request
    "request_text": ("\n".join(LINES[:5] + ["  request: POST /x"] + LINES[9:]) + "\n", 6, f"{REQ} must be a mapping with method, path, not text"),
    "request_unknown_key": (replacing(9, "    headers: {}"), 9, f"{REQ} has an unknown key `headers`; it may have: method, path, body"),
    "request_no_path": (replacing(8), 7, f"{REQ} has no `path`"),
    "request_no_method": (replacing(7), 7, f"{REQ} has no `method`"),
    "method_number": (replacing(7, "    method: 5"), 7, f"{REQ} `method` must be text, not a number: put it in quotes"),
    "method_space": (replacing(7, "    method: PO ST"), 7, f"{REQ} `method` must be an HTTP method such as POST, not 'PO ST'"),
    "method_null": (replacing(7, "    method:"), 7, f"{REQ} `method` must be text, not empty: put it in quotes"),
    "path_null": (replacing(8, "    path:"), 8, f"{REQ} `path` must be text, not empty: put it in quotes"),
    "method_empty": (replacing(7, "    method: ''"), 7, f"{REQ} `method` must be an HTTP method such as POST, not ''"),
    "path_no_slash": (replacing(8, "    path: chat"), 8, f"{REQ} `path` must start with / and hold no spaces, not 'chat'"),
    "path_space": (replacing(8, "    path: /a b"), 8, f"{REQ} `path` must start with / and hold no spaces, not '/a b'"),
    "path_empty": (replacing(8, "    path: ''"), 8, f"{REQ} `path` must start with / and hold no spaces, not ''"),
    "path_newline": (replacing(8, '    path: "/a\\nb"'), 8, f"{REQ} `path` holds a line break or control character, which would break the wire format"),
    "path_delete_char": (replacing(8, '    path: "/a\\x7f"'), 8, f"{REQ} `path` holds a line break or control character, which would break the wire format"),
    "path_nul": (replacing(8, '    path: "/a\\0"'), 8, f"{REQ} `path` holds a line break or control character, which would break the wire format"),
    # the response
    "response_number": ("\n".join(LINES[:9] + ["  response: 200"]) + "\n", 10, f"{RESP} must be a mapping of fields, not a number"),
    "response_unknown_key": (replacing(11, "    statu: 200"), 11, f"{RESP} has an unknown key `statu`; it may have: status, t, content_type, body, events, fault, headers"),
    "status_199": (replacing(11, "    status: 199"), 11, f"{RESP} `status` must be an HTTP status from 200 to 599, not 199"),
    "status_600": (replacing(11, "    status: 600"), 11, f"{RESP} `status` must be an HTTP status from 200 to 599, not 600"),
    "status_true": (replacing(11, "    status: true"), 11, f"{RESP} `status` must be an HTTP status from 200 to 599, not True"),
    "status_text": (replacing(11, "    status: '200'"), 11, f"{RESP} `status` must be an HTTP status from 200 to 599, not '200'"),
    "status_float": (replacing(11, "    status: 200.0"), 11, f"{RESP} `status` must be an HTTP status from 200 to 599, not 200.0"),
    "t_negative": (replacing(12, "    t: -0.1"), 12, f"{RESP} `t` must be a number of seconds from 0 to 3600, not -0.1"),
    "t_over_an_hour": (replacing(12, "    t: 3600.5"), 12, f"{RESP} `t` must be a number of seconds from 0 to 3600, not 3600.5"),
    "t_true": (replacing(12, "    t: true"), 12, f"{RESP} `t` must be a number of seconds from 0 to 3600, not True"),
    "t_text": (replacing(12, "    t: '1'"), 12, f"{RESP} `t` must be a number of seconds from 0 to 3600, not '1'"),
    "t_null": (replacing(12, "    t:"), 12, f"{RESP} `t` must be a number of seconds from 0 to 3600, not None"),
    "content_type_number": (replacing(11, "    content_type: 5"), 11, f"{RESP} `content_type` must be text, not a number: put it in quotes"),
    "content_type_newline": (replacing(11, '    content_type: "text/plain\\nx: y"'), 11, f"{RESP} `content_type` holds a line break or control character, which would break the wire format"),
    "events_and_body": (replacing(12, "    body: {}"), 12, f"{RESP} has both `events` (a stream) and `body` (a JSON answer): keep one"),
    "events_number": ("\n".join(LINES[:13] + ["    events: 3"]) + "\n", 14, f"{RESP} `events` must be a list of events, not a number"),
    "events_mapping": ("\n".join(LINES[:13] + ["    events: {t: 1}"]) + "\n", 14, f"{RESP} `events` must be a list of events, not a mapping"),
    "events_float": ("\n".join(LINES[:13] + ["    events: 1.5"]) + "\n", 14, f"{RESP} `events` must be a list of events, not a number"),
    "interaction_2_text": (VALID + "- just words\n", 21, "interaction 2 must be a mapping with request, response, not text"),
    # an event
    "event_2_text": ("\n".join(LINES[:18] + ["    - message"]) + "\n", 19, f"{EV2} must be a mapping with t, not text"),
    "raw_and_id": (replacing(16, "      raw: x") .replace("      data: '{\"x\": 1}'\n", ""), 15, f"{EV1} has `raw` (bytes sent as they are) and also id"),
    "event_text": ("\n".join(LINES[:14] + ["    - message"]) + "\n", 15, f"{EV1} must be a mapping with t, not text"),
    "event_unknown_key": (replacing(17, "      name: x"), 17, f"{EV1} has an unknown key `name`; it may have: t, data, event, id, raw"),
    "event_no_t": ("\n".join(LINES[:18] + ["    - data: '[DONE]'"]) + "\n", 19, f"{EV2} has no `t`"),
    "event_t_negative": (replacing(15, "    - t: -1"), 15, f"{EV1} `t` must be a number of seconds from 0 to 3600, not -1"),
    "event_t_text": (replacing(19, "    - t: soon"), 19, f"{EV2} `t` must be a number of seconds from 0 to 3600, not 'soon'"),
    "event_no_data": (replacing(20), 19, f"{EV2} has no `data` (use `data: ''` for an empty one)"),
    "event_data_number": (replacing(20, "      data: 5"), 20, f"{EV2} `data` must be text, not a number: put it in quotes"),
    "event_data_null": (replacing(20, "      data:"), 20, f"{EV2} `data` must be text, not empty: put it in quotes"),
    "event_data_done_unquoted": (replacing(20, "      data: [DONE]"), 20, f"{EV2} `data` must be text, not a list: put it in quotes"),
    "event_name_number": (replacing(16, "      event: 5"), 16, f"{EV1} `event` must be text, not a number: put it in quotes"),
    "event_name_newline": (replacing(16, '      event: "a\\nb"'), 16, f"{EV1} `event` holds a line break or control character, which would break the wire format"),
    "event_name_carriage_return": (replacing(16, '      event: "a\\rb"'), 16, f"{EV1} `event` holds a line break or control character, which would break the wire format"),
    "event_id_newline": (replacing(17, '      id: "7\\n8"'), 17, f"{EV1} `id` holds a line break or control character, which would break the wire format"),
    "event_id_escape": (replacing(17, '      id: "7\\x1b"'), 17, f"{EV1} `id` holds a line break or control character, which would break the wire format"),
    "raw_and_more": (replacing(17, "      raw: x"), 15, f"{EV1} has `raw` (bytes sent as they are) and also event, data"),
    "raw_null": (replacing(20, "      raw:"), 20, f"{EV2} `raw` must be text, not empty: put it in quotes"),
    "raw_number": (replacing(20, "      raw: 5"), 20, f"{EV2} `raw` must be text, not a number: put it in quotes"),
    # headers
    "headers_list": (replacing(13, "    headers: [a, b]"), 13, f"{RESP} `headers` must be a mapping of fields, not a list"),
    "headers_number": (replacing(13, "    headers: 3"), 13, f"{RESP} `headers` must be a mapping of fields, not a number"),
    "headers_text": (replacing(13, "    headers: x-a"), 13, f"{RESP} `headers` must be a mapping of fields, not text"),
    "header_name_space": (replacing(13, "    headers: {x a: b}"), 13, f"{RESP} header name 'x a' is not a valid HTTP header name"),
    "header_name_colon": (replacing(13, '    headers: {"x:a": b}'), 13, f"{RESP} header name 'x:a' is not a valid HTTP header name"),
    "header_value_true": (replacing(13, "    headers: {x-a: true}"), 13, f"{RESP} header `x-a` must be text, not true/false"),
    "header_value_list": (replacing(13, "    headers: {x-a: [b]}"), 13, f"{RESP} header `x-a` must be text, not a list"),
    "header_value_null": (replacing(13, "    headers: {x-a: null}"), 13, f"{RESP} header `x-a` must be text, not empty"),
    "header_value_mapping": (replacing(13, "    headers: {x-a: {b: c}}"), 13, f"{RESP} header `x-a` must be text, not a mapping"),
    "header_value_newline": (replacing(13, '    headers: {x-a: "b\\nc"}'), 13, f"{RESP} header `x-a` holds a line break, control or non-ASCII character"),
    "header_value_non_ascii": (replacing(13, "    headers: {x-a: Zürich}"), 13, f"{RESP} header `x-a` holds a line break, control or non-ASCII character"),
    "header_on_its_own_line": (replacing(13, "    headers:", "      x-a: ok", "      x-b: \"\\r\""), 15, f"{RESP} header `x-b` holds a line break, control or non-ASCII character"),
    **{
        f"server_header_{name}": (replacing(13, f"    headers: {{{name.title()}: x}}"), 13, f"{RESP} may not set `{name.title()}`: the replay server sets it itself (use `content_type` for the media type)")
        for name in SERVER_HEADERS
    },
    # faults
    "fault_number": (replacing(13, "    fault: 3"), 13, f"{RESP} `fault` must be a mapping of fields, not a number"),
    "fault_unknown_key": (replacing(13, "    fault: {explode: 1}"), 13, f"{RESP} `fault` has an unknown key `explode`; it may have: drop_after, stall_after, stall_seconds, drop_at_end"),
    "drop_after_negative": (replacing(13, "    fault: {drop_after: -1}"), 13, f"{RESP} `fault: drop_after` must be a whole number from 0, not -1"),
    "drop_after_float": (replacing(13, "    fault: {drop_after: 1.5}"), 13, f"{RESP} `fault: drop_after` must be a whole number from 0, not 1.5"),
    "drop_after_true": (replacing(13, "    fault: {drop_after: true}"), 13, f"{RESP} `fault: drop_after` must be a whole number from 0, not True"),
    "drop_after_huge": (replacing(13, "    fault: {drop_after: 3600001}"), 13, f"{RESP} `fault: drop_after` must be a whole number from 0, not 3600001"),
    "stall_after_text": (replacing(13, "    fault: {stall_after: '3'}"), 13, f"{RESP} `fault: stall_after` must be a whole number from 0, not '3'"),
    "stall_seconds_true": (replacing(13, "    fault: {stall_seconds: true}"), 13, f"{RESP} `fault: stall_seconds` must be a number of seconds from 0, not True"),
    "stall_seconds_negative": (replacing(13, "    fault: {stall_seconds: -0.5}"), 13, f"{RESP} `fault: stall_seconds` must be a number of seconds from 0, not -0.5"),
    "stall_seconds_text": (replacing(13, "    fault: {stall_seconds: soon}"), 13, f"{RESP} `fault: stall_seconds` must be a number of seconds from 0, not 'soon'"),
    "stall_seconds_over_an_hour": (replacing(13, "    fault: {stall_seconds: 3601}"), 13, f"{RESP} `fault` `stall_seconds` must be a number of seconds from 0 to 3600, not 3601"),
    "drop_at_end_number": (replacing(13, "    fault: {drop_at_end: 1}"), 13, f"{RESP} `fault: drop_at_end` must be true or false, not 1"),
    "fault_second_key": (replacing(13, "    fault:", "      stall_after: 1", "      drop_after: x"), 15, f"{RESP} `fault: drop_after` must be a whole number from 0, not 'x'"),
}


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_each_problem_is_named_with_its_line(tmp_path: Path, name: str) -> None:
    text, line, message = PROBLEMS[name]
    assert problem(tmp_path, text) == (line, message)


def test_a_problem_names_the_file_as_shown_else_by_its_display_path(tmp_path: Path) -> None:
    inside = REPO_ROOT / "labs" / "fixtures" / "no_such_dir" / "gone.yaml"  # a path in the repository, never created
    with pytest.raises(FixtureError) as info:
        load_cassette(inside)
    assert info.value.problem.file == "labs/fixtures/no_such_dir/gone.yaml"
    assert info.value.problem.line is None and info.value.problem.message.startswith("cannot be read")
    path = tmp_path / "x.yaml"
    path.write_text(replacing(2, "surface: gemini"), encoding="utf-8")
    with pytest.raises(FixtureError) as info:
        load_cassette(path)
    assert info.value.problem == FixtureProblem(".../x.yaml", 2, "surface must be one of 'openai', 'azure', not 'gemini'")


# -- the small objects -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "streamed"),
    [
        ({"stream": True}, True),
        ({"stream": False}, False),
        ({"stream": None}, False),
        ({}, False),
        ({"model": "m"}, False),
        ([{"stream": True}], False),  # not a JSON object
        ("stream", False),
        (None, False),
    ],
)
def test_asks_for_stream_only_for_an_object_with_stream_true(body: object, streamed: bool) -> None:
    assert asks_for_stream(body) is streamed
    assert RecordedRequest("POST", "/x", body).streamed is streamed


def test_a_recorded_event_and_its_json() -> None:
    event = RecordedEvent(t=1.5)
    assert (event.t, event.data, event.event, event.id, event.raw) == (1.5, "", None, None, None)
    assert RecordedEvent(t=0, data='{"a": [1, "b"]}').json() == {"a": [1, "b"]}
    assert RecordedEvent(t=0, data="[DONE]").json() is None
    assert RecordedEvent(t=0, data="").json() is None


def test_a_recorded_response_defaults_and_whether_it_answers_a_stream() -> None:
    response = RecordedResponse()
    assert (response.status, response.t, response.content_type, response.body, response.events, response.fault, response.headers) == (
        200, 0.0, "application/json", None, None, None, {},
    )
    response.headers["x"] = "y"
    assert RecordedResponse().headers == {}  # each response has headers of its own
    assert RecordedResponse(events=[]).answers_stream  # a recorded stream, even an empty one
    assert RecordedResponse(status=400).answers_stream  # an error answers either kind of request
    assert RecordedResponse(status=503, body={}).answers_stream
    assert not RecordedResponse(status=399).answers_stream
    assert not RecordedResponse(status=200, body={"id": "x"}).answers_stream


def test_a_responses_duration_is_its_last_event_else_its_time() -> None:
    assert RecordedResponse(t=0.3, events=[RecordedEvent(t=0.1), RecordedEvent(t=2.5)]).duration == 2.5
    assert RecordedResponse(t=0.3).duration == 0.3
    assert RecordedResponse(t=0.3, events=[]).duration == 0.3


def test_an_interaction_and_a_cassette_have_their_documented_defaults() -> None:
    interaction = Interaction(RecordedRequest("GET", "/x"), RecordedResponse())
    assert interaction.note == "" and interaction.request.body is None
    cassette = Cassette(name="lesson/x", surface="azure", comment="c")
    assert (cassette.interactions, cassette.path, cassette.version, cassette.shown_as) == ([], None, 1, None)
    assert Cassette(name="a", surface="azure", comment="c").interactions is not cassette.interactions
    assert Cassette("a", "openai", "c", shown_as="x") == Cassette("a", "openai", "c", shown_as="y")  # shown_as is not compared
    assert "shown_as" not in repr(cassette)


def test_where_a_cassette_is_shown() -> None:
    assert Cassette("lesson/x", "openai", "c").where == "lesson/x"  # no file: its name
    inside = REPO_ROOT / "labs" / "fixtures" / "01" / "x.yaml"
    assert Cassette("x", "openai", "c", path=inside, shown_as="fixtures/01/x.yaml").where == "labs/fixtures/01/x.yaml"
    outside = Path("/no-such-root/course/01/x.yaml")
    assert Cassette("x", "openai", "c", path=outside, shown_as="course/01/x.yaml").where == "course/01/x.yaml"
    assert Cassette("x", "openai", "c", path=outside).where == ".../x.yaml"
    assert Cassette("x", "openai", "c", path=outside, shown_as="").where == ".../x.yaml"


# -- folders of fixtures ----------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_load_fixtures_names_each_file_below_its_folder_and_reports_each_bad_one(tmp_path: Path) -> None:
    course = tmp_path / "course"
    write(course / "02_b" / "z.yaml", VALID)
    write(course / "01_a" / "deep" / "y.yaml", VALID)
    write(course / "01_a" / "bad.yaml", replacing(1, "version: 2"))
    write(course / "01_a" / "notes.yml", "not a fixture")  # only *.yaml is read
    write(course / "README.md", "not a fixture")
    other = write(tmp_path / "other" / "x.yaml", VALID).parent
    found = load_fixtures([course, tmp_path / "missing", tmp_path / "other" / "x.yaml", other])
    assert [c.name for c in found.cassettes] == ["01_a/deep/y", "02_b/z", "x"]
    assert [c.where for c in found.cassettes] == ["course/01_a/deep/y.yaml", "course/02_b/z.yaml", "other/x.yaml"]
    assert [c.shown_as for c in found.cassettes] == ["course/01_a/deep/y.yaml", "course/02_b/z.yaml", "other/x.yaml"]
    assert found.cassettes[0].path == course / "01_a" / "deep" / "y.yaml"
    assert found.problems == [FixtureProblem("course/01_a/bad.yaml", 1, "version 2 is not 1; re-record it with LABS_MODE=record")]
    assert load_fixtures([]) == type(found)([], [])


def test_load_cassettes_returns_the_cassettes_or_raises_the_first_problem(tmp_path: Path) -> None:
    write(tmp_path / "f" / "a.yaml", VALID)
    assert [c.name for c in load_cassettes([tmp_path / "f"])] == ["a"]
    write(tmp_path / "f" / "c.yaml", replacing(2, "surface: gemini"))
    write(tmp_path / "f" / "b.yaml", replacing(1, "version: 2"))
    with pytest.raises(FixtureError) as info:
        load_cassettes([tmp_path / "f"])
    assert info.value.problem == FixtureProblem("f/b.yaml", 1, "version 2 is not 1; re-record it with LABS_MODE=record")


def test_load_cassette_takes_its_name_from_the_file_unless_given(tmp_path: Path) -> None:
    path = write(tmp_path / "stem.yaml", VALID)
    assert load_cassette(path).name == "stem"
    named = load_cassette(path, name="lesson/given", shown_as="f/stem.yaml")
    assert (named.name, named.shown_as, named.where) == ("lesson/given", "f/stem.yaml", "f/stem.yaml")


# -- writing a cassette -----------------------------------------------------------------------------------

STREAMED_AND_ERROR = Cassette(
    name="x",
    surface="azure",
    comment="Zürich, then 東京",
    interactions=[
        Interaction(
            RecordedRequest("POST", "/threads/runs", {"stream": True}),
            RecordedResponse(
                status=200,
                t=9.0,  # not written: a stream's time is its events'
                content_type="text/event-stream",
                events=[RecordedEvent(t=0.123456, data="{}", event="thread.run.created", id="1"), RecordedEvent(t=1.0, raw="data: x")],
                headers={"retry-after": "2"},
                fault={"drop_at_end": True},
            ),
            note="first",
        ),
        Interaction(RecordedRequest("GET", "/threads/1"), RecordedResponse(status=404, t=0.31234567, body={"error": {"code": "x"}})),
    ],
)

STREAMED_AND_ERROR_YAML = """\
version: 1
surface: azure
comment: Zürich, then 東京
interactions:
- note: first
  request:
    method: POST
    path: /threads/runs
    body:
      stream: true
  response:
    status: 200
    content_type: text/event-stream
    headers:
      retry-after: '2'
    events:
    - t: 0.1235
      event: thread.run.created
      id: '1'
      data: '{}'
    - t: 1.0
      raw: 'data: x'
    fault:
      drop_at_end: true
- request:
    method: GET
    path: /threads/1
    body: null
  response:
    status: 404
    content_type: application/json
    t: 0.3123
    body:
      error:
        code: x
"""


def test_a_cassette_is_written_as_readable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "x.yaml"  # the folders are created
    dump_cassette(STREAMED_AND_ERROR, path)
    assert path.read_text(encoding="utf-8") == STREAMED_AND_ERROR_YAML


def test_a_written_cassette_loads_back_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    dump_cassette(STREAMED_AND_ERROR, path)
    back = load_cassette(path)
    [streamed, error] = back.interactions
    assert streamed.response.t == 0.0 and streamed.response.events == [
        RecordedEvent(t=0.1235, data="{}", event="thread.run.created", id="1"),
        RecordedEvent(t=1.0, raw="data: x"),
    ]
    assert streamed.request == STREAMED_AND_ERROR.interactions[0].request and streamed.note == "first"
    assert (streamed.response.headers, streamed.response.fault) == ({"retry-after": "2"}, {"drop_at_end": True})
    assert error == Interaction(RecordedRequest("GET", "/threads/1"), RecordedResponse(status=404, t=0.3123, body={"error": {"code": "x"}}))
    assert (back.name, back.surface, back.comment, back.version) == ("x", "azure", "Zürich, then 東京", 1)


def test_multi_line_text_is_written_as_a_block_and_read_back_the_same(tmp_path: Path) -> None:
    texts = ["line one\nline two", "ends with a break\n", " starts with a space\nand goes on", "\nstarts with a break"]
    cassette = Cassette(
        name="x",
        surface="openai",
        comment="multi-line data",
        interactions=[
            Interaction(
                RecordedRequest("POST", "/responses", {"input": text}),
                RecordedResponse(events=[RecordedEvent(t=0.5, data=text)]),
            )
            for text in texts
        ],
    )
    path = tmp_path / "x.yaml"
    dump_cassette(cassette, path)
    written = path.read_text(encoding="utf-8")
    assert "      data: |-\n        line one\n        line two\n" in written  # a block, as the service sent it
    assert "      data: |\n        ends with a break\n" in written
    assert "      data: ' starts with a space\n" in written and "      data: '\n" in written  # a leading blank is kept by quotes
    back = load_cassette(path)
    assert [i.response.events[0].data for i in back.interactions] == texts  # type: ignore[index]
    assert [i.request.body for i in back.interactions] == [{"input": text} for text in texts]


def test_a_long_event_is_written_on_one_line(tmp_path: Path) -> None:
    data = '{"delta": "' + "word " * 60 + '"}'  # 311 characters, spaces included: a narrow YAML width would fold it
    cassette = Cassette("x", "openai", "a long event", [Interaction(RecordedRequest("POST", "/x"), RecordedResponse(events=[RecordedEvent(t=0.5, data=data)]))])
    dump_cassette(cassette, tmp_path / "x.yaml")
    assert f"      data: '{data}'\n" in (tmp_path / "x.yaml").read_text(encoding="utf-8")
