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
        ("/threads/thread_abc123/messages?after=", "/threads/<id>/messages?after="),  # a blank value still counts
        ("/threads/", "/threads"),
        ("/", "/"),
        ("/files/X", "/files/X"),  # only slashes are stripped from the end
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
    assert library.find("openai", "POST", path, _chat(ANSWER[:1], key=key)).cassette.name == "chat"  # or after the first one
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


LIVE_OR_RECORD = (
    "To answer it from the real service, set LABS_MODE=live and your key in .env; "
    "to save it as a new fixture, set LABS_MODE=record (see labs/fixtures/README.md)."
)
HINT = "Changed a lesson's prompt? Re-author its fixtures: make fixtures LESSON=NN (README, instructor guide)."


def test_a_miss_on_a_route_nothing_recorded_says_so_in_full() -> None:
    message = MatchingLibrary([], []).explain("openai", "post", "/responses/resp_abc123", {"input": "hi"})
    assert message == (
        "No recorded response for POST /responses/resp_abc123 in (no fixture folders). "
        f"No recording has a POST /responses/<id> request at all. {LIVE_OR_RECORD} {HINT}"
    )


def test_a_miss_names_every_folder_searched_and_drops_the_query() -> None:
    message = MatchingLibrary([], ["labs/fixtures", "mine"]).explain("openai", "POST", "/chat/completions?a=1?b=2", {})
    assert message.startswith("No recorded response for POST /chat/completions in labs/fixtures, mine. ")


def test_a_long_path_is_clipped_to_200_characters_in_a_miss() -> None:
    path = "/" + "a" * 200  # 201 characters
    shown = "/" + "a" * 198 + "…"  # 200 characters
    message = MatchingLibrary([], ["f"]).explain("openai", "POST", path, {})
    assert message.startswith(f"No recorded response for POST {shown} in f. No recording has a POST {shown} request at all. ")
    whole = "/" + "a" * 199  # 200 characters: shown as it is
    assert MatchingLibrary([], ["f"]).explain("openai", "POST", whole, {}).startswith(f"No recorded response for POST {whole} in f. ")


def test_a_request_recorded_unstreamed_is_not_told_to_go_live() -> None:
    body = {"messages": [{"role": "user", "content": "hi"}]}
    library = _library(Cassette("j", "openai", "c", [_interaction(body, streamed=False)]))
    assert library.explain("openai", "POST", "/chat/completions", {**body, "stream": True}) == (
        "No recorded response for POST /chat/completions in labs/fixtures. j (request 1) has this request, but recorded "
        "without stream=true, so it holds a finished answer, not a stream: ask without stream, or re-record it streamed. "
        + HINT
    )


class _Problem:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


@pytest.mark.parametrize(
    ("problems", "sentence"),
    [
        (["a.yaml line 1"], "1 fixture file could not be loaded, and the recording may be there: a.yaml line 1."),
        (["p" * 301], f"1 fixture file could not be loaded, and the recording may be there: {'p' * 299}…."),
        (["a", "b"], "2 fixture files could not be loaded, and the recording may be there: a; b."),
        (["a", "b", "c"], "3 fixture files could not be loaded, and the recording may be there: a; b; c."),
        (["a", "b", "c", "d"], "4 fixture files could not be loaded, and the recording may be there: a; b; c; and 1 more (GET /_labs/health lists them)."),
        (["a", "b", "c", "d", "e"], "5 fixture files could not be loaded, and the recording may be there: a; b; c; and 2 more (GET /_labs/health lists them)."),
    ],
)
def test_a_miss_names_the_fixture_files_that_could_not_be_loaded(problems: list[str], sentence: str) -> None:
    library = MatchingLibrary([], ["f"], [_Problem(p) for p in problems])
    message = library.explain("openai", "POST", "/chat/completions", {})
    assert message.endswith(f"{LIVE_OR_RECORD} {sentence} {HINT}")


def _user(*texts: str) -> dict:
    return {"messages": [{"role": "user", "content": text} for text in texts]}


def _find(library: MatchingLibrary, body: dict, path: str = "/chat/completions") -> str:
    found = library.find("openai", "POST", path, body)
    return f"{found.cassette.name}[{found.index}]"


def test_a_request_without_stream_prefers_a_recorded_json_answer() -> None:
    body = _user("hi")
    library = _library(Cassette("a", "openai", "c", [_interaction(body, streamed=True), _interaction(body, streamed=False)]))
    assert _find(library, body) == "a[1]"  # same kind first, though the stream is the scenario's first step


def test_the_next_step_of_a_scenario_wins_over_a_first_step_used_more_recently() -> None:
    same = _user("list")
    library = _library(
        Cassette("a", "openai", "c", [_interaction(_user("A0")), _interaction(same)]),
        Cassette("b", "openai", "c", [_interaction(same), _interaction(_user("B1"))]),
    )
    assert [_find(library, _user("A0")), _find(library, _user("B1")), _find(library, same)] == ["a[0]", "b[1]", "a[1]"]


def test_a_first_step_wins_over_a_later_step_used_more_recently() -> None:
    same = _user("list")
    library = _library(
        Cassette("a", "openai", "c", [_interaction(same)]),
        Cassette("b", "openai", "c", [_interaction(_user("B0")), _interaction(_user("B1")), _interaction(same)]),
    )
    assert [_find(library, _user("B0")), _find(library, same)] == ["b[0]", "a[0]"]


def test_among_equal_steps_the_scenario_used_last_wins() -> None:
    same = _user("list")
    library = _library(
        Cassette("a", "openai", "c", [_interaction(same), _interaction(_user("A1"))]),
        Cassette("b", "openai", "c", [_interaction(same), _interaction(_user("B1"))]),
    )
    assert [_find(library, _user("A1")), _find(library, _user("B1")), _find(library, same)] == ["a[1]", "b[1]", "b[0]"]


def _tool_round(call_id: str = "call_AAAA1", result: str = "12:00") -> dict:
    return {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "tool_calls": [{"id": call_id, "type": "function"}]},
            {"role": "tool", "tool_call_id": call_id, "content": result},
        ]
    }


def test_the_recording_naming_the_same_ids_wins() -> None:
    library = _library(Cassette("x", "openai", "c", [_interaction(_tool_round("call_XXXX1"))]), Cassette("y", "openai", "c", [_interaction(_tool_round("call_YYYY1"))]))
    assert _find(library, _tool_round("call_YYYY1")) == "y[0]"


def test_the_recording_of_the_same_chat_so_far_wins() -> None:
    # Tool results compare equal, but the chat so far (up to the user's last message) is this recording's.
    def chat(result: str) -> dict:
        return {"messages": [*_tool_round(result=result)["messages"], {"role": "user", "content": "And tomorrow?"}]}

    library = _library(Cassette("x", "openai", "c", [_interaction(chat("12:00"))]), Cassette("y", "openai", "c", [_interaction(chat("12:05"))]))
    assert _find(library, chat("12:05")) == "y[0]"


def test_a_conversation_goes_on_with_its_own_recording_while_another_replays() -> None:
    tool_round = {"messages": [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": "Checking."}, {"role": "tool", "content": "12"}]}
    library = _library(
        Cassette("one", "openai", "c", [_interaction(_user("Weather?")), _interaction(tool_round)]),
        Cassette("two", "openai", "c", [_interaction(_user("Hello")), _interaction(tool_round)]),
    )
    # Another client's conversation ("Hello") used `two` last; this one's tool round still follows `one`.
    assert [_find(library, _user("Weather?")), _find(library, _user("Hello")), _find(library, tool_round)] == ["one[0]", "two[0]", "one[1]"]


def test_a_response_that_hands_out_an_id_sets_where_that_conversation_goes_on() -> None:
    def step(body: dict, data: str = "x") -> Interaction:
        return Interaction(RecordedRequest("POST", "/responses", body), RecordedResponse(events=[RecordedEvent(t=0.1, data=data)]))

    more = {"input": "Go on.", "previous_response_id": "resp_XXXX1"}
    library = _library(
        Cassette("one", "openai", "c", [step({"input": "A story."}, '{"id": "resp_XXXX1"}'), step(more)]),
        Cassette("two", "openai", "c", [step({"input": "A poem."}), step(more)]),
    )
    steps = [_find(library, {"input": "A story."}, "/responses"), _find(library, {"input": "A poem."}, "/responses"), _find(library, more, "/responses")]
    assert steps == ["one[0]", "two[0]", "one[1]"]


def _miss(library: MatchingLibrary, body: dict) -> str:
    return library.explain("openai", "POST", "/chat/completions", body)


def _recorded(*bodies: dict, name: str = "c") -> MatchingLibrary:
    return _library(Cassette(name, "openai", "c", [_interaction(body) for body in bodies]))


@pytest.mark.parametrize(
    ("sent", "tail"),
    [
        ({"model": "m2", "n": 1, "user": "u"}, "."),
        ({"model": "m2", "n": 2, "user": "u"}, " (and 1 more field)."),
        ({"model": "m2", "n": 2, "user": "v"}, " (and 2 more fields)."),
    ],
)
def test_a_miss_names_the_first_differing_field_and_counts_the_others(sent: dict, tail: str) -> None:
    message = _miss(_recorded({"model": "m1", "n": 1, "user": "u"}), sent)
    assert message == (
        "No recorded response for POST /chat/completions in labs/fixtures. "
        f"Closest recording: c (request 1); field `model` differs: recorded 'm1', sent 'm2'{tail} {LIVE_OR_RECORD} {HINT}"
    )


def test_a_miss_on_a_huge_body_counts_its_differences_as_at_least() -> None:
    message = _miss(_recorded({"model": "m1"}), {"model": "m2", "x": list(range(3000))})
    assert "field `model` differs: recorded 'm1', sent 'm2' (and at least " in message


def test_a_long_field_name_is_clipped_to_100_characters() -> None:
    message = _miss(_recorded({"k" * 101: 1}), {"k" * 101: 2})
    assert f"field `{'k' * 99}…` differs: recorded 1, sent 2." in message


def test_the_closest_recording_is_named_by_its_place_in_the_file() -> None:
    message = _miss(_recorded({"model": "other", "n": 5}, {"model": "m1", "n": 1}), {"model": "m1", "n": 2})
    assert "Closest recording: c (request 2); field `n` differs: recorded 1, sent 2." in message


def test_of_equally_close_recordings_the_first_is_named() -> None:
    library = _library(Cassette("first", "openai", "c", [_interaction({"n": 1})]), Cassette("second", "openai", "c", [_interaction({"n": 1})]))
    assert "Closest recording: first (request 1); field `n` differs" in _miss(library, {"n": 2})


def test_a_body_that_differs_only_past_the_fields_compared_says_so() -> None:
    message = _miss(_recorded({"x": [0] * 2000 + [1]}), {"x": [0] * 2000 + [2]})  # field 2001 differs
    assert message == (
        "No recorded response for POST /chat/completions in labs/fixtures. "
        f"Closest recording: c (request 1); it differs after the first 2000 fields compared. {LIVE_OR_RECORD} {HINT}"
    )


def test_the_search_for_the_closest_recording_stops_when_its_time_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    import labs.replay.matching as matching

    class Clock:  # each reading is a second later: the half-second budget is spent after the first candidate
        now = 0.0

        @classmethod
        def monotonic(cls) -> float:
            cls.now += 1.0
            return cls.now

    monkeypatch.setattr(matching, "time", Clock)
    message = _miss(_recorded({"n": 1, "m": 1}, {"n": 1, "m": 2}), {"n": 1, "m": 2, "extra": True})
    assert "Closest recording: c (request 1); field `m` differs: recorded 1, sent 2 (and 1 more field)." in message


def test_a_scenario_never_used_ranks_after_one_used_before() -> None:
    same = _user("list")
    library = _library(Cassette("a", "openai", "c", [_interaction(same)]), Cassette("b", "openai", "c", [_interaction(same), _interaction(_user("B1"))]))
    assert [_find(library, _user("B1")), _find(library, same)] == ["b[1]", "b[0]"]


def test_a_thread_created_by_a_json_response_goes_on_in_its_own_recording() -> None:
    def step(path: str, body: dict, answer: dict | None = None) -> Interaction:
        response = RecordedResponse(body=answer) if answer is not None else RecordedResponse(events=[RecordedEvent(t=0.1, data="x")])
        return Interaction(RecordedRequest("POST", path, body), response)

    message = step("/threads/thread_abc123/messages", {"role": "user", "content": "hi"})
    library = _library(
        Cassette("c", "azure", "c", [step("/threads", {}, {"id": "thread_abc123"}), message]),
        Cassette("d", "azure", "c", [step("/threads", {"metadata": {}}, {"id": "other"}), message]),
    )
    found = [library.find("azure", "POST", path, body) for path, body in [("/threads", {}), ("/threads", {"metadata": {}}), ("/threads/thread_abc123/messages", {"role": "user", "content": "hi"})]]
    assert [f"{m.cassette.name}[{m.index}]" for m in found] == ["c[0]", "d[0]", "c[1]"]


def test_ids_named_in_the_query_pick_the_recording_that_named_them() -> None:
    def page(after: str) -> Interaction:
        path = f"/threads/thread_abc123/messages?after={after}&limit=20"
        return Interaction(RecordedRequest("GET", path, None), RecordedResponse(body={"data": []}))

    library = _library(Cassette("x", "azure", "c", [page("msg_XXXX1")]), Cassette("y", "azure", "c", [page("msg_YYYY1")]))
    found = library.find("azure", "GET", "/threads/thread_abc123/messages?after=msg_YYYY1&limit=20", None)
    assert found.cassette.name == "y"


def test_an_id_just_before_the_query_is_named_too() -> None:
    def run(run_id: str) -> Interaction:
        return Interaction(RecordedRequest("GET", f"/threads/thread_abc123/runs/{run_id}?api-version=v1", None), RecordedResponse(body={"status": "completed"}))

    library = _library(Cassette("x", "azure", "c", [run("run_XXXX1")]), Cassette("y", "azure", "c", [run("run_YYYY1")]))
    assert library.find("azure", "GET", "/threads/thread_abc123/runs/run_YYYY1?api-version=v1", None).cassette.name == "y"


@pytest.mark.parametrize(
    ("recorded", "sent", "shown"),
    [
        ({"model": "m"}, {"model": "m", "user": None}, "recorded (absent), sent None."),
        ({"model": "m", "user": None}, {"model": "m"}, "recorded None, sent (absent)."),
    ],
)
def test_a_field_only_one_side_has_is_shown_as_absent(recorded: dict, sent: dict, shown: str) -> None:
    assert f"Closest recording: c (request 1); field `user` differs: {shown}" in _miss(_recorded(recorded), sent)


@pytest.mark.parametrize(
    ("recorded", "sent", "shown"),
    [
        ("a" * 68, "b" * 69, f"recorded '{'a' * 68}', sent '{'b' * 68}…."),  # 70 characters shown whole, 71 clipped to 70
        ("a" * 5000, 5, f"recorded '{'a' * 68}…, sent 5."),
    ],
)
def test_a_differing_value_is_shown_in_at_most_70_characters(recorded: object, sent: object, shown: str) -> None:
    assert f"field `text` differs: {shown}" in _miss(_recorded({"text": recorded}), {"text": sent})


def test_a_changed_assistant_answer_is_named_as_the_difference() -> None:
    message = _miss(_recorded(_chat(ANSWER)), _chat("Something else."))
    assert "field `messages[1].content` differs: recorded 'Lovely! For one day in Lisbon" in message
    assert "sent 'Something else.'." in message  # the only field: not taken for an answer cut short


@pytest.mark.parametrize(
    "sent",
    [
        ["One day in Lisbon?"],  # a list where an object was recorded
        {"messages": "One day in Lisbon?"},  # a text where a list was recorded
        {"messages": [list("ab")]},  # a list where an object was recorded, one level down
    ],
)
def test_a_value_of_another_type_than_recorded_is_a_miss(sent: object) -> None:
    library = _recorded({"messages": [{"role": "user", "content": "ab"}]})
    with pytest.raises(ReplayMiss, match="Closest recording: c"):
        library.find("openai", "POST", "/chat/completions", sent)


def test_a_list_of_characters_is_not_the_text_recorded() -> None:
    library = _library(Cassette("c", "openai", "c", [Interaction(RecordedRequest("POST", "/responses", {"input": "hi"}), RecordedResponse(events=[RecordedEvent(t=0.1, data="x")]))]))
    with pytest.raises(ReplayMiss, match="field `input` differs"):
        library.find("openai", "POST", "/responses", {"input": ["h", "i"]})


def test_a_conversation_named_by_text_that_is_not_valid_unicode_is_a_miss_not_a_crash() -> None:
    recorded = Interaction(RecordedRequest("POST", "/responses", {"input": "Go on.", "previous_response_id": "resp_XXXX1"}), RecordedResponse(events=[RecordedEvent(t=0.1, data="x")]))
    library = _library(Cassette("c", "openai", "c", [recorded]))
    with pytest.raises(ReplayMiss, match="field `previous_response_id` differs"):  # JSON `"\ud800"`: a lone surrogate
        library.find("openai", "POST", "/responses", {"input": "Go on.", "previous_response_id": "\ud800"})


def test_an_id_handed_out_in_a_raw_event_sets_where_that_conversation_goes_on() -> None:
    def step(body: dict, event: RecordedEvent | None = None) -> Interaction:
        return Interaction(RecordedRequest("POST", "/responses", body), RecordedResponse(events=[event or RecordedEvent(t=0.1, data="x")]))

    more = {"input": "Go on.", "previous_response_id": "resp_XXXX1"}
    library = _library(
        Cassette("one", "openai", "c", [step({"input": "A story."}, RecordedEvent(t=0.1, raw='data: {"id": "resp_XXXX1"}\n\n')), step(more)]),
        Cassette("two", "openai", "c", [step({"input": "A poem."}), step(more)]),
    )
    steps = [_find(library, {"input": "A story."}, "/responses"), _find(library, {"input": "A poem."}, "/responses"), _find(library, more, "/responses")]
    assert steps == ["one[0]", "two[0]", "one[1]"]


@pytest.mark.parametrize(
    ("recorded", "sent"),
    [
        ("/threads/thread_abc123/runs/run_{}?api-version=v1", "/threads/thread_abc123/runs/run_YYYY1"),  # an id just before the query
        ("/threads/thread_abc123/messages?after=msg_{}&api-version=v1", "/threads/thread_abc123/messages?api-version=v1&after=msg_YYYY1"),
    ],
)
def test_ids_pick_their_recording_whatever_the_query_around_them(recorded: str, sent: str) -> None:
    def page(name: str) -> Cassette:
        return Cassette(name, "azure", "c", [Interaction(RecordedRequest("GET", recorded.format(name * 4 + "1"), None), RecordedResponse(body={"data": []}))])

    assert _library(page("X"), page("Y")).find("azure", "GET", sent, None).cassette.name == "Y"


# A chat whose tool result before the user's last message differs from the recording (the time, a dice roll) is
# served, but its conversation is not the recorded one: replay keeps its place, and which recording it follows.
def _asked(result: str) -> dict:
    return {"messages": [*_tool_round(result=result)["messages"], {"role": "user", "content": "And tomorrow?"}]}


def _tool_round_after(result: str) -> dict:
    tool_call = {"role": "assistant", "tool_calls": [{"id": "call_BBBB1", "type": "function"}]}
    return {"messages": [*_asked(result)["messages"], tool_call, {"role": "tool", "tool_call_id": "call_BBBB1", "content": "sunny"}]}


def test_a_conversation_goes_on_in_the_recording_it_follows_though_its_chat_differs() -> None:
    library = _library(
        Cassette("a", "openai", "c", [_interaction(_asked("12:00")), _interaction(_user("other")), _interaction(_tool_round_after("12:05")), _interaction(_tool_round_after("12:00"))]),
        Cassette("b", "openai", "c", [_interaction(_tool_round_after("12:07"))]),
    )
    # Served a[0] (recorded at 12:00), the tool round goes on in the step recorded after that same chat.
    assert [_find(library, _asked("12:09")), _find(library, _tool_round_after("12:09"))] == ["a[0]", "a[3]"]


def test_a_conversation_stays_in_its_scenario_over_the_first_step_of_another() -> None:
    library = _library(
        Cassette("a", "openai", "c", [_interaction(_asked("12:00")), _interaction(_user("other")), _interaction(_tool_round_after("12:05"))]),
        Cassette("b", "openai", "c", [_interaction(_tool_round_after("12:07"))]),
    )
    assert [_find(library, _asked("12:09")), _find(library, _tool_round_after("12:09"))] == ["a[0]", "a[2]"]


def test_the_places_of_the_last_10000_conversations_are_kept_and_the_oldest_forgotten() -> None:
    library = _library(
        Cassette("a", "openai", "c", [_interaction(_asked("12:00")), _interaction(_user("other")), _interaction(_tool_round_after("12:00"))]),
        Cassette("b", "openai", "c", [_interaction(_tool_round_after("12:07"))]),
    )
    for result in ["old", *map(str, range(9_999))]:  # 10,000 conversations, each a different tool result
        _find(library, _asked(result))
    assert _find(library, _tool_round_after("old")) == "a[2]"  # the oldest is still kept, and now the newest
    _find(library, _asked("new"))  # the 10,001st: "0" is forgotten
    assert [_find(library, _tool_round_after("new")), _find(library, _tool_round_after("0"))] == ["a[2]", "b[0]"]
