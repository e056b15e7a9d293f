"""Authoring lessons 03+ from their notebooks: a prompt changed in its cell reaches the fixture, tool rounds included.

The end-to-end test runs lesson 03's solution (a tool round: the call, then the follow-up with its result) in a
temp folder, with one prompt reworded in its cell, and reads the fixture written. The small tests pin how one
request the notebook makes more than once is kept, and that a request is keyed within its own endpoint.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from labs.lessons import Reply, Scenario
from labs.lessons.from_notebook import AuthoringError, ScenarioKeyer, _assign, author_lesson
from labs.replay import load_cassette
from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, load_cassettes

REPO = Path(__file__).resolve().parent.parent
TWO_CITIES = "03_streamed_tool_calls/two_cities"


def test_a_prompt_reworded_in_a_lesson_03_cell_is_what_its_tool_round_fixture_records(tmp_path: Path) -> None:
    root = tmp_path / "workbook"
    (root / "solutions").mkdir(parents=True)
    (root / "labs").symlink_to(REPO / "labs")  # the kernel imports this checkout's labs
    notebook = nbformat.read(REPO / "solutions" / "03_streamed_tool_calls.ipynb", as_version=4)
    (cell,) = [c for c in notebook.cells if c.get("id") == "l03-04"]
    assert "right now?" in cell.source
    cell.source = cell.source.replace("right now?", "this afternoon?")  # the prompt's one place
    nbformat.write(notebook, root / "solutions" / "03_streamed_tool_calls.ipynb")

    report = author_lesson("03", root=root, record_dir=tmp_path / "fixtures")

    assert report.written == [TWO_CITIES]
    (written,) = load_cassettes([tmp_path / "fixtures"])
    committed = load_cassette(REPO / "labs" / "fixtures" / f"{TWO_CITIES}.yaml")
    assert written.name == TWO_CITIES and written.comment == committed.comment
    asked = [interaction.request.body["messages"][1]["content"] for interaction in written.interactions]
    assert len(asked) == 2 and all(question.endswith("this afternoon?") for question in asked)  # the call and its follow-up
    assert [m["role"] for m in written.interactions[1].request.body["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert committed.interactions[0].request.body["messages"][1]["content"].endswith("right now?")  # the repo's is untouched


def _interaction(body: dict, events: list[str], path: str = "/chat/completions") -> Interaction:
    recorded = [RecordedEvent(t=0.1 * i, data=data) for i, data in enumerate(events)]
    return Interaction(RecordedRequest("POST", path, body), RecordedResponse(content_type="text/event-stream", events=recorded))


QUESTION = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Weather in Oslo?"}], "stream": True}


def _follow_up(call_id: str) -> dict:
    asked = {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function", "function": {"name": "w", "arguments": "{}"}}]}
    return {**QUESTION, "messages": [*QUESTION["messages"], asked, {"role": "tool", "tool_call_id": call_id, "content": "sunny"}]}


def _keyed(recorded: list[Interaction]) -> ScenarioKeyer:
    """A keyer for one two-request scenario, having answered each recorded request in turn."""
    scenario = Scenario("99_demo/round", "A round.", [Reply(text="call"), Reply(text="answer")])
    fixture = Cassette("99_demo/round", "openai", "A round.", [_interaction(QUESTION, []), _interaction(_follow_up("call_Recorded0001"), [])])
    keyer = ScenarioKeyer([scenario], {scenario.name: fixture})
    for interaction in recorded:
        assert keyer.reply(interaction.request.body, interaction.request.path).status == 200
    return keyer


def test_a_request_made_twice_keeps_the_recording_whose_ids_its_follow_up_names() -> None:
    shown = _interaction(QUESTION, ['{"id":"call_FirstFirst01"}', "[DONE]"])
    timed = _interaction(QUESTION, ['{"id":"call_SecondSecond"}', "[DONE]"])
    follow_up = _interaction(_follow_up("call_FirstFirst01"), ['{"content":"answer"}', "[DONE]"])
    recorded = [shown, timed, follow_up]
    placed = _assign([Cassette("a", "openai", "", [shown]), Cassette("b", "openai", "", [timed, follow_up])], _keyed(recorded))
    assert placed["99_demo/round"] == {0: shown, 1: follow_up}


def test_a_non_streamed_call_of_a_recorded_request_keeps_the_streamed_recording() -> None:
    streamed = _interaction(QUESTION, ['{"id":"call_Streamed0001"}', "[DONE]"])
    blocking = Interaction(RecordedRequest("POST", "/chat/completions", {**QUESTION, "stream": False}), RecordedResponse(body={"id": "x"}))
    placed = _assign([Cassette("a", "openai", "", [blocking, streamed])], _keyed([blocking, streamed]))
    assert placed["99_demo/round"] == {0: streamed}


def test_two_different_requests_standing_for_one_recorded_request_stop_authoring_saying_what_to_add() -> None:
    reworded = {**QUESTION, "messages": [{"role": "user", "content": "Weather in Bergen?"}]}
    first, second = _interaction(QUESTION, ["[DONE]"]), _interaction(reworded, ["[DONE]"])
    with pytest.raises(AuthoringError, match="both stand for request 1 of 99_demo/round.*its own Scenario"):
        _assign([Cassette("a", "openai", "", [first, second])], _keyed([first, second]))


def test_a_request_to_another_endpoint_is_not_answered_as_a_recorded_one() -> None:
    keyer = _keyed([])
    assert keyer.reply(QUESTION, "/v1/responses").status == 400
    assert "no scenario of this lesson has a request like this one" in keyer.misses[0]
    assert keyer.reply(QUESTION, "/v1/chat/completions").status == 200
