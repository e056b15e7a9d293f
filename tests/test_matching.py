"""Matching rules: what is made neutral, what still counts, and in which order scenarios replay."""

from __future__ import annotations

import pytest

from labs.replay.cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse
from labs.replay.matching import MatchingLibrary, ReplayMiss, normalise_body, normalise_path
from labs.replay.surfaces import surface

OPENAI, AZURE = surface("openai"), surface("azure")


@pytest.mark.parametrize(
    ("path", "normalised"),
    [
        ("/threads/thread_Fiz4soCmZ9cpvnpKnA1hEDCM/runs", "/threads/<id>/runs"),
        ("/threads/thread_abc123/messages?api-version=v1", "/threads/<id>/messages"),
        ("/threads/thread_abc123/messages?order=asc&api-version=v1", "/threads/<id>/messages?order=asc"),
        ("/threads/thread_abc123/messages?after=msg_4PmBxdUc&limit=20", "/threads/<id>/messages?after=%3Cid%3E&limit=20"),
    ],
)
def test_normalise_path(path: str, normalised: str) -> None:
    assert normalise_path(path, AZURE) == normalised


def test_each_surface_neutralises_only_its_own_ids() -> None:
    assert normalise_path("/chat/completions", OPENAI) == "/chat/completions"
    assert normalise_path("/responses/resp_abc123", OPENAI) == "/responses/<id>"
    assert normalise_path("/threads/thread_abc123", OPENAI) == "/threads/thread_abc123"  # not an OpenAI id


def test_tool_results_and_ids_are_neutral_but_questions_are_not() -> None:
    first = {"stream": True, "messages": [{"role": "user", "content": "Weather?"}, {"role": "tool", "tool_call_id": "call_AAAA1111", "content": "12:01"}]}
    second = {"messages": [{"role": "user", "content": "Weather?"}, {"role": "tool", "tool_call_id": "call_BBBB2222", "content": "12:02"}]}
    other = {"messages": [{"role": "user", "content": "Rain?"}, {"role": "tool", "tool_call_id": "call_BBBB2222", "content": "12:02"}]}
    assert normalise_body(first, OPENAI) == normalise_body(second, OPENAI) != normalise_body(other, OPENAI)
    azure = {"tool_outputs": [{"tool_call_id": "call_X1234", "output": "a"}]}
    assert normalise_body(azure, AZURE) == normalise_body({"tool_outputs": [{"tool_call_id": "call_Y5678", "output": "b", "type": "function_call_output"}]}, AZURE)
    assert normalise_body(azure, AZURE) != normalise_body({"tool_outputs": [{"tool_call_id": "call_Y5678", "output": "b", "type": "other"}]}, AZURE)
    responses = {"input": [{"type": "function_call_output", "call_id": "call_Z9999", "output": "6"}]}
    assert normalise_body(responses, OPENAI) == normalise_body({"input": [{"type": "function_call_output", "call_id": "call_Q0000", "output": "3"}]}, OPENAI)
    assert normalise_body({"input": [{"type": "message", "output": "6"}]}, OPENAI) != normalise_body({"input": [{"type": "message", "output": "3"}]}, OPENAI)


def _interaction(body: dict, streamed: bool = True, text: str = "x") -> Interaction:
    response = RecordedResponse(events=[RecordedEvent(t=0.1, data=text)]) if streamed else RecordedResponse(body={"text": text})
    return Interaction(RecordedRequest("POST", "/chat/completions", body), response)


def _library(*cassettes: Cassette) -> MatchingLibrary:
    return MatchingLibrary(list(cassettes), ["labs/fixtures"])


def test_scenarios_replay_in_order_and_can_restart() -> None:
    same = {"messages": [{"role": "user", "content": "list"}]}
    a = Cassette("a", "openai", "c", [_interaction({"messages": [{"role": "user", "content": "A"}]}), _interaction(same, text="from a")])
    b = Cassette("b", "openai", "c", [_interaction({"messages": [{"role": "user", "content": "B"}]}), _interaction(same, text="from b")])
    library = _library(a, b)
    assert library.find("openai", "POST", "/chat/completions", {"messages": [{"role": "user", "content": "B"}]}).cassette.name == "b"
    assert library.find("openai", "POST", "/chat/completions", same).cassette.name == "b"  # the scenario in progress wins
    assert library.find("openai", "POST", "/chat/completions", {"messages": [{"role": "user", "content": "A"}]}).cassette.name == "a"
    assert library.find("openai", "POST", "/chat/completions", same).cassette.name == "a"


def test_a_streamed_request_is_never_answered_by_a_json_recording() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    library = _library(Cassette("a", "openai", "c", [_interaction(body, streamed=True), _interaction(body, streamed=False)]))
    assert library.find("openai", "POST", "/chat/completions", {**body, "stream": True}).index == 0
    assert library.find("openai", "POST", "/chat/completions", {**body, "stream": True}).index == 0
    assert library.find("openai", "POST", "/chat/completions", body).index == 1
    only_json = _library(Cassette("j", "openai", "c", [_interaction(body, streamed=False)]))
    with pytest.raises(ReplayMiss, match="recorded without stream=true"):
        only_json.find("openai", "POST", "/chat/completions", {**body, "stream": True})


def test_the_miss_names_the_most_similar_recording() -> None:
    near = Cassette("near", "openai", "c", [_interaction({"messages": [{"role": "user", "content": "What is the weather in Paris?"}]})])
    far = Cassette("far", "openai", "c", [_interaction({"messages": [{"role": "user", "content": "Tell me a joke."}]})])
    with pytest.raises(ReplayMiss) as info:
        _library(far, near).find("openai", "POST", "/chat/completions", {"messages": [{"role": "user", "content": "What is the weather in Lyon?"}]})
    assert "Closest recording: near" in str(info.value) and "messages[0].content" in str(info.value)


def test_two_long_texts_that_part_late_are_shown_from_where_they_part() -> None:
    opening = "The three-layer system keeps you dry and warm by letting each layer do one job, "
    recorded = {"messages": [{"role": "user", "content": opening + "starting with the base layer."}]}
    with pytest.raises(ReplayMiss) as info:
        _library(Cassette("long", "openai", "c", [_interaction(recorded)])).find(
            "openai", "POST", "/chat/completions", {"messages": [{"role": "user", "content": opening + "starting with the shell."}]}
        )
    message = str(info.value)
    assert "recorded …', starting with the base layer.'" in message
    assert "sent …', starting with the shell.'" in message


ANSWER = "Lovely! For one day in Lisbon: 1. Alfama, 2. Belém, 3. a sunset at a miradouro."


def _chat(answer: str, role: str = "assistant", key: str = "messages") -> dict:
    return {key: [{"role": "user", "content": "One day in Lisbon?"}, {"role": role, "content": answer}, {"role": "user", "content": "And if it rains?"}]}


@pytest.mark.parametrize("key", ["messages", "input"])  # Chat Completions history, Responses API input items
def test_an_assistant_answer_cut_short_by_the_reader_matches_its_recording(key: str) -> None:
    path = "/chat/completions" if key == "messages" else "/responses"
    recorded = Interaction(RecordedRequest("POST", path, _chat(ANSWER, key=key)), RecordedResponse(events=[RecordedEvent(t=0.1, data="x")]))
    library = _library(Cassette("chat", "openai", "c", [recorded]))
    assert library.find("openai", "POST", path, _chat(ANSWER[:12], key=key)).cassette.name == "chat"  # Ctrl-C after 12 characters
    assert library.find("openai", "POST", path, _chat(ANSWER, key=key)).cassette.name == "chat"
    for sent in (_chat("", key=key), _chat(ANSWER[:12] + "!", key=key), _chat(ANSWER + " More.", key=key), _chat(ANSWER[:12], "user", key)):
        with pytest.raises(ReplayMiss):  # nothing kept, a changed text, a longer text, or a user's text cut short
            library.find("openai", "POST", path, sent)


def test_a_miss_after_a_cut_short_answer_names_the_field_that_differs() -> None:
    library = _library(Cassette("chat", "openai", "c", [_interaction(_chat(ANSWER))]))
    sent = _chat(ANSWER[:12])
    sent["messages"][2]["content"] = "And if it snows?"
    with pytest.raises(ReplayMiss) as info:
        library.find("openai", "POST", "/chat/completions", sent)
    message = str(info.value)
    assert "field `messages[2].content` differs: recorded 'And if it rains?', sent 'And if it snows?'." in message  # the only field
