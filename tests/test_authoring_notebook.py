"""Authoring lessons 03+ from their notebooks: a prompt changed in its cell reaches the fixture, tool rounds included.

The end-to-end tests run lesson 03's solution (a tool round: the call, then the follow-up with its result),
lesson 07's, 08's and 09's (Azure AI Agents: runs, polls and tool-output submissions, keyed model turn by model turn) and
the web app's cells of lesson 12 (its Azure backend creates the thread before the agent) in a temp folder, with one
prompt reworded in its cell, and read the fixture written. The small tests pin how one request the
notebook makes more than once is kept, that a request is keyed within its own endpoint, that the model turns
rebuilt from an Azure recording are those the stand-in read, and that one Azure conversation is one scenario.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import nbformat
import pytest

from labs.lessons import Reply, Scenario, ToolCall
from labs.lessons.from_notebook import AuthoringError, ScenarioKeyer, TurnKeyer, _assign, _assign_conversations, author_lesson, recorded_turns
from labs.lessons.lesson_07 import scenarios as guide
from labs.lessons.lesson_08 import scenarios as timed
from labs.lessons.lesson_09 import scenarios as desk
from labs.lessons.lesson_12 import scenarios as web
from labs.replay import load_cassette
from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, load_cassettes
from labs.replay.sse import SSEParser
from labs.replay.standins.azure import AzureStandIn
from labs.replay.standins.openai import OpenAIStandIn

REPO = Path(__file__).resolve().parent.parent
TWO_CITIES = "03_streamed_tool_calls/two_cities"
TRAIL_GUIDE = "07_azure_event_handlers/trail_guide"
CONTOUR_LINES = "08_azure_event_types_and_polling/contour_lines"
WEATHER_DESK = "09_azure_tools_and_async/weather_desk"
RAIN_TIPS = "12_sse_to_the_browser/azure_rain_tips"


def _workbook(tmp_path: Path, notebook_name: str) -> tuple[Path, nbformat.NotebookNode]:
    root = tmp_path / "workbook"
    (root / "solutions").mkdir(parents=True)
    (root / "labs").symlink_to(REPO / "labs")  # the kernel imports this checkout's labs
    return root, nbformat.read(REPO / "solutions" / notebook_name, as_version=4)


def reworded(
    tmp_path: Path, notebook_name: str, cell_id: str, old: str, new: str, fixture: str, only_cells: tuple[str, ...] = ()
) -> tuple[Cassette, Cassette]:
    """Re-author the lesson of `notebook_name` with `old` reworded to `new` in cell `cell_id`, the prompt's one place
    (with only the cells `only_cells`, if named, and then only `fixture`): the one fixture written, and the committed one."""
    root, notebook = _workbook(tmp_path, notebook_name)
    if only_cells:
        notebook.cells = [c for c in notebook.cells if c.get("id") in only_cells]
    (cell,) = [c for c in notebook.cells if c.get("id") == cell_id]
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, root / "solutions" / notebook_name)

    report = author_lesson(notebook_name[:2], root=root, record_dir=tmp_path / "fixtures", only=[fixture] if only_cells else None)

    assert report.written == [fixture]
    (written,) = load_cassettes([tmp_path / "fixtures"])
    committed = load_cassette(REPO / "labs" / "fixtures" / f"{fixture}.yaml")
    assert written.name == fixture and written.comment == committed.comment
    return written, committed


def test_a_prompt_reworded_in_a_lesson_03_cell_is_what_its_tool_round_fixture_records(tmp_path: Path) -> None:
    written, committed = reworded(tmp_path, "03_streamed_tool_calls.ipynb", "l03-04", "right now?", "this afternoon?", TWO_CITIES)
    asked = [interaction.request.body["messages"][1]["content"] for interaction in written.interactions]
    assert len(asked) == 2 and all(question.endswith("this afternoon?") for question in asked)  # the call and its follow-up
    assert [m["role"] for m in written.interactions[1].request.body["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert committed.interactions[0].request.body["messages"][1]["content"].endswith("right now?")  # the repo's is untouched


class InstantAzureStandIn(AzureStandIn):
    """The Azure stand-in sending each stream at once: the same requests and answers, without the service's pauses."""

    @staticmethod
    async def _paced(frames: list) -> AsyncIterator[bytes]:
        for frame in frames:
            yield frame.data


def test_a_prompt_reworded_in_a_lesson_09_cell_is_what_its_azure_conversation_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(desk, "AZURE_STANDIN", InstantAzureStandIn, raising=False)  # pacing is not what this test is about
    written, committed = reworded(tmp_path, "09_azure_tools_and_async.ipynb", "l09-10", "this weekend?", "on Saturday?", WEATHER_DESK)
    assert written.surface == "azure"
    asked = [i.request.body["content"] for i in written.interactions if i.request.path.endswith("/messages")]
    assert asked[0] == "Should I pack an umbrella for Bergen or for Seville on Saturday?" and asked[1:] == [
        i.request.body["content"] for i in committed.interactions if i.request.path.endswith("/messages")
    ][1:]
    # The run and its tool round were answered from the scenario's first two scripted replies, as recorded before.
    first_round = [i for i in written.interactions if i.request.path.endswith("/submit_tool_outputs")][0]
    assert [json.loads(o["output"])["city"] for o in first_round.request.body["tool_outputs"]] == ["Bergen", "Seville"]
    assert [i.request.method for i in written.interactions] == [i.request.method for i in committed.interactions]
    assert "this weekend?" in committed.interactions[2].request.body["content"]  # the repo's is untouched


class InstantPacedAzureStandIn(timed.PacedAzureStandIn):
    """Lesson 08's stand-in sending each stream at once: its polls still see the runs progress, poll by poll."""

    @staticmethod
    async def _paced(frames: list) -> AsyncIterator[bytes]:
        for frame in frames:
            yield frame.data


def test_a_prompt_reworded_in_a_lesson_07_cell_is_what_its_event_handler_conversation_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guide, "AZURE_STANDIN", InstantAzureStandIn, raising=False)  # pacing is not what this test is about
    written, committed = reworded(
        tmp_path, "07_azure_event_handlers.ipynb", "l07-12", "before setting out on a mountain hike?", "before a mountain hike?", TRAIL_GUIDE
    )
    assert written.surface == "azure"

    def asked(cassette: Cassette) -> list[str]:
        return [i.request.body["content"] for i in cassette.interactions if i.request.method == "POST" and i.request.path.endswith("/messages")]

    assert asked(written) == ["What should I check before a mountain hike?", *asked(committed)[1:]]
    assert [i.request.method for i in written.interactions] == [i.request.method for i in committed.interactions]
    assert asked(committed)[0] == "What should I check before setting out on a mountain hike?"  # the repo's is untouched


def test_a_prompt_reworded_in_a_lesson_08_cell_is_what_its_polled_and_streamed_conversation_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timed, "AZURE_STANDIN", InstantPacedAzureStandIn)  # pacing is not what this test is about
    written, committed = reworded(
        tmp_path, "08_azure_event_types_and_polling.ipynb", "l08-12", "contour lines on a hiking map?", "contour lines on a topographic map?",
        CONTOUR_LINES,
    )
    assert written.surface == "azure"
    asked = [i.request.body["content"] for i in written.interactions if i.request.method == "POST" and i.request.path.endswith("/messages")]
    assert asked == ["How do I read contour lines on a topographic map?"] * 2  # polled, then streamed
    polls = [i.response.body["status"] for i in written.interactions if i.request.method == "GET" and "/runs/" in i.request.path]
    assert polls[-1] == "completed" and "in_progress" in polls  # the paced stand-in's runs progress poll by poll
    assert [i.request.method for i in written.interactions] == [i.request.method for i in committed.interactions]


def test_a_prompt_reworded_in_a_lesson_12_cell_is_what_the_web_apps_azure_chain_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The web app's Azure backend creates the thread before the agent: its POST /threads still opens the fixture.
    monkeypatch.setattr(web, "AZURE_STANDIN", InstantAzureStandIn, raising=False)  # pacing is not what this test is about
    monkeypatch.setattr(OpenAIStandIn, "_delays", lambda self, count, reply, rng: [0.0] * count)
    app_and_prompts = ("l12-02", "l12-04", "l12-10", "l12-12")
    written, committed = reworded(
        tmp_path, "12_sse_to_the_browser.ipynb", "l12-12", "three tips for hiking in the rain.", "three tips for hiking in a downpour.",
        RAIN_TIPS, only_cells=app_and_prompts,
    )
    assert written.surface == "azure"
    assert [(i.request.method, i.request.path.split("/")[1]) for i in written.interactions] == [
        (i.request.method, i.request.path.split("/")[1]) for i in committed.interactions
    ]  # POST /threads, POST /assistants, the run, DELETE the agent
    assert written.interactions[0].request.body["messages"] == [{"role": "user", "content": "Give me three tips for hiking in a downpour."}]
    assert committed.interactions[0].request.body["messages"][0]["content"].endswith("in the rain.")  # the repo's is untouched


def test_lesson_13_records_its_route_while_lesson_12s_web_app_recording_answers_its_cells(tmp_path: Path) -> None:
    # Cell l13-04 streams lesson 12's pack list through the web app again: that recording answers (BORROWED), and
    # only lesson 13's own notebook-authored fixture is written. Paced as committed: cell l13-12 measures a sync
    # client blocking the event loop during the first token's wait.
    report = author_lesson("13", record_dir=tmp_path / "fixtures")

    assert report.written == ["13_sse_route_and_page/route_pack_list"]
    (written,) = load_cassettes([tmp_path / "fixtures"])
    committed = load_cassette(REPO / "labs" / "fixtures" / "13_sse_route_and_page" / "route_pack_list.yaml")
    assert [i.request.body for i in written.interactions] == [i.request.body for i in committed.interactions]


def _streamed(response: httpx.Response) -> list[RecordedEvent]:
    parser, events = SSEParser(), []
    for chunk in response.iter_bytes():
        events += [RecordedEvent(t=0.0, data=e.data, event=e.event) for e in parser.feed(chunk)]
    return events


def test_the_turns_rebuilt_from_an_azure_recording_are_those_the_stand_in_read() -> None:
    class Reading(InstantAzureStandIn):
        def next_reply(self, request: dict) -> Reply:
            read.append(request)
            return super().next_reply(request)

    read: list[dict] = []
    recorded: list[Interaction] = []

    def send(http: httpx.Client, method: str, path: str, body: dict | None = None) -> dict:
        with http.stream(method, path, json=body) as response:
            events = _streamed(response) if "event-stream" in response.headers["content-type"] else None
            answer = None if events is not None else json.loads(response.read())
        recorded.append(Interaction(RecordedRequest(method, path, body), RecordedResponse(body=answer, events=events)))
        runs = [e.json() for e in events or [] if (e.event or "").startswith("thread.run.") and "step" not in (e.event or "")]
        return answer or runs[-1]  # a stream's run as it last stood

    call = Reply(tool_calls=[ToolCall("get_weather", '{"city":"Oslo"}')])
    TOOLS = load_cassette(REPO / "labs" / "fixtures" / f"{WEATHER_DESK}.yaml").interactions[0].request.body["tools"]
    with Reading() as standin, httpx.Client(base_url=standin.endpoint) as http:
        standin.script(call, Reply(text="Sleet in Oslo."), Reply(text="Yes, take one."))
        agent = send(http, "POST", "/assistants", {"model": standin.deployment, "instructions": "Be brief.", "tools": TOOLS})
        thread = send(http, "POST", "/threads", {"messages": [{"role": "user", "content": "Weather in Oslo?"}]})
        run = send(http, "POST", f"/threads/{thread['id']}/runs", {"assistant_id": agent["id"], "stream": True})
        (asked,) = run["required_action"]["submit_tool_outputs"]["tool_calls"]
        outputs = [{"tool_call_id": asked["id"], "output": '{"weather": "sleet"}'}]
        send(http, "POST", f"/threads/{thread['id']}/runs/{run['id']}/submit_tool_outputs", {"tool_outputs": outputs, "stream": True})
        send(http, "POST", f"/threads/{thread['id']}/messages", {"role": "user", "content": "An umbrella, then?"})
        send(http, "POST", f"/threads/{thread['id']}/runs", {"assistant_id": agent["id"], "stream": True})

    rebuilt = recorded_turns(Cassette("99_demo/desk", "azure", "A desk.", recorded))
    assert [turn for _, turn in rebuilt] == read and len(read) == 3
    assert {thread_id for thread_id, _ in rebuilt} == {thread["id"]}
    assert read[1]["tool_results"][0]["output"] == '{"weather": "sleet"}' and read[1]["submitted"]
    assert [m["content"] for m in read[2]["messages"]] == ["Weather in Oslo?", "Sleet in Oslo.", "An umbrella, then?"]


def test_an_azure_conversation_holding_the_turns_of_two_scenarios_stops_authoring() -> None:
    fixture = load_cassette(REPO / "labs" / "fixtures" / f"{WEATHER_DESK}.yaml")
    scenarios = [Scenario(WEATHER_DESK, "", [Reply(text="x")] * 7, surface="azure"), Scenario("99_demo/other", "", [Reply(text="y")], surface="azure")]
    keyer = TurnKeyer(scenarios, {WEATHER_DESK: fixture})
    (first_thread, _), (second_thread, _) = recorded_turns(fixture)[0], recorded_turns(fixture)[2]
    keyer.decisions += [(first_thread, WEATHER_DESK, 0), (second_thread, "99_demo/other", 0)]
    with pytest.raises(AuthoringError, match="holds model turns of 09_azure_tools_and_async/weather_desk and 99_demo/other"):
        _assign_conversations([fixture], keyer)
    keyer.decisions.pop()
    assert _assign_conversations([fixture], keyer) == {WEATHER_DESK: fixture}


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
