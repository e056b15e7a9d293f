"""The service surfaces behind one protocol, and the replay service's public seams."""

from __future__ import annotations

import json
from pathlib import Path

import openai
import pytest
from azure.core.exceptions import HttpResponseError

from labs.clients import azure_agents_client, openai_client
from labs.replay import ReplayServer, default_server, reset_default_server
from labs.replay.cassette import SURFACE_NAMES, RecordedEvent
from labs.replay.surfaces import SURFACES, Surface, route

PROTOCOL = [name for name in Surface.__annotations__] + [n for n in vars(Surface) if not n.startswith("_")]


def test_every_surface_name_has_one_module_with_the_whole_protocol() -> None:
    assert tuple(SURFACES) == SURFACE_NAMES
    for name, surface in SURFACES.items():
        assert surface.name == name
        missing = [attribute for attribute in PROTOCOL if not hasattr(surface, attribute)]
        assert missing == [], f"{name} lacks {missing}"


@pytest.mark.parametrize(
    ("url_path", "surface", "path"),
    [
        ("/v1/chat/completions", "openai", "/chat/completions"),
        ("/v1", "openai", "/"),
        ("/api/projects/replay/threads/thread_1/runs", "azure", "/threads/thread_1/runs"),
        ("/api/projects/any-name/assistants", "azure", "/assistants"),
        ("/api/projects/replay", "azure", "/"),
    ],
)
def test_a_url_finds_its_surface(url_path: str, surface: str, path: str) -> None:
    found = route(url_path)
    assert found is not None and (found[0].name, found[1]) == (surface, path)


@pytest.mark.parametrize("url_path", ["/v2/chat/completions", "/v1chat", "/api/projects", "/"])
def test_a_url_no_surface_serves_finds_none(url_path: str) -> None:
    assert route(url_path) is None


def test_each_surface_answers_a_miss_in_its_own_error_shape() -> None:
    with ReplayServer(speed=0) as server:
        with pytest.raises(openai.NotFoundError, match="No recorded response"):
            openai_client(server=server, max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "not recorded"}])
        with pytest.raises(HttpResponseError, match="No recorded response"):
            azure_agents_client(server=server, retry_total=0).threads.get("thread_notrecorded1")


def test_reset_default_server_stops_it_and_the_next_call_starts_another() -> None:
    first = default_server()
    reset_default_server()
    second = default_server()
    assert second is not first and second.port != 0


def test_upstream_points_record_mode_elsewhere_for_a_while(tmp_path: Path) -> None:
    server = ReplayServer(mode="record", upstreams={"openai": "http://127.0.0.1:9/v1"}, record_dir=tmp_path)
    with server.upstream("openai", "http://127.0.0.1:10/v1"), server.upstream("azure", "http://127.0.0.1:11/api/projects/p"):
        assert server.upstreams == {"openai": "http://127.0.0.1:10/v1", "azure": "http://127.0.0.1:11/api/projects/p"}
    assert server.upstreams == {"openai": "http://127.0.0.1:9/v1"}
    server.upstreams["openai"] = "changed"  # a copy: changing it changes nothing
    assert server.upstreams == {"openai": "http://127.0.0.1:9/v1"}


def test_record_mode_answers_an_unreachable_upstream_with_a_502_in_the_service_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder-not-a-key")
    # Port 9 (discard) has no listener on loopback: the connection is refused at once.
    with ReplayServer(mode="record", upstreams={"openai": "http://127.0.0.1:9/v1?api-key=secret-in-url"}, record_dir=tmp_path) as proxy:
        client = openai_client(server=proxy, max_retries=0)
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 502
    message = str(info.value)
    assert "could not reach the openai service at http://127.0.0.1:9/v1" in message and "ConnectError" in message
    assert "secret-in-url" not in message
    assert list(tmp_path.iterdir()) == []  # nothing recorded


# -- each surface function against the services' documented behaviour -----------------------------------------
# Every expected value below is written out by hand from the service's documentation and the real captures
# (`/work/shared/wire-samples/`, `/work/shared/SDK-WIRE-NOTES.md`), never computed by the code under test.

OPENAI = SURFACES["openai"]
AZURE = SURFACES["azure"]


def _stream(*chunks: dict) -> list[RecordedEvent]:
    """Chat Completions chunks as recorded events, ending in the `[DONE]` sentinel the service sends."""
    return [RecordedEvent(t=0.01 * n, data=json.dumps(chunk)) for n, chunk in enumerate(chunks)] + [RecordedEvent(t=1.0, data="[DONE]")]


def _chunk(choices: list[dict], **extra: object) -> dict:
    return {"id": "chatcmpl-A1", "object": "chat.completion.chunk", "created": 1727346178, "model": "gpt-4o-mini-2024-07-18", "choices": choices, **extra}


def _call(index: int, **fields: object) -> dict:
    return {"index": 0, "delta": {"tool_calls": [{"index": index, **fields}]}, "logprobs": None, "finish_reason": None}


def test_a_streamed_chat_with_two_tool_calls_and_usage_becomes_one_chat_completion() -> None:
    # The shape of openai_chat_f82268f2fefd.sse and the 2026 captures: the first delta names each call, later
    # ones carry only argument pieces (split inside a word and an escape), a finish chunk, then usage alone.
    events = _stream(
        _chunk([{"index": 0, "delta": {"role": "assistant", "content": None, "refusal": None}, "logprobs": None, "finish_reason": None}],
               system_fingerprint="fp_d0469e1700", service_tier="default", usage=None),
        _chunk([_call(0, id="call_weather1", type="function", function={"name": "get_weather", "arguments": ""})], usage=None),
        _chunk([_call(0, function={"arguments": '{"ci'})], usage=None),
        _chunk([_call(0, function={"arguments": 'ty": "Z\\u00fc'})], usage=None),
        _chunk([_call(0, function={"arguments": 'rich"}'})], usage=None),
        _chunk([_call(1, id="call_stock1", type="function", function={"name": "get_stock_price", "arguments": ""})], usage=None),
        _chunk([_call(1, function={"arguments": '{"ticker": "AAPL"}'})], usage=None),
        _chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}], usage=None),
        _chunk([], usage={"prompt_tokens": 149, "completion_tokens": 60, "total_tokens": 209}),
    )
    assert OPENAI.final_object("/chat/completions", events) == {
        "id": "chatcmpl-A1",
        "object": "chat.completion",
        "created": 1727346178,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_d0469e1700",
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "refusal": None,
                    "annotations": [],
                    "tool_calls": [
                        {"id": "call_weather1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Z\\u00fcrich"}'}},
                        {"id": "call_stock1", "type": "function", "function": {"name": "get_stock_price", "arguments": '{"ticker": "AAPL"}'}},
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 149, "completion_tokens": 60, "total_tokens": 209},
    }


def test_a_streamed_text_joins_its_pieces_and_keeps_the_first_chunks_identity() -> None:
    # The service opens with `"content": ""`; a chunk after the usage one (or with no `choices` at all) changes nothing.
    events = _stream(
        _chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None, "finish_reason": None}]),
        _chunk([{"index": 0, "delta": {"content": "Hello"}, "logprobs": None, "finish_reason": None}]),
        _chunk([{"index": 0, "delta": {"content": ", world"}, "logprobs": None, "finish_reason": None}]),
        _chunk([{"index": 0, "delta": {"content": None}, "logprobs": None, "finish_reason": "stop"}]),
        {**_chunk([]), "id": "chatcmpl-later", "created": 1, "model": "other", "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}},
        {"id": "chatcmpl-later", "object": "chat.completion.chunk", "created": 1, "model": "other", "usage": None},
    )
    assert OPENAI.final_object("/chat/completions?api-version=2024-10-21", events) == {
        "id": "chatcmpl-A1",
        "object": "chat.completion",
        "created": 1727346178,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": None,
        "service_tier": None,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello, world", "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }


def test_a_streamed_refusal_and_several_choices_keep_their_own_slots_in_index_order() -> None:
    # n=2: choice 1 may speak first; a refusal (openai_chat_173417d55340.sse) arrives in `refusal`, not `content`.
    events = _stream(
        _chunk([{"index": 1, "delta": {"role": "assistant", "content": "Sure"}, "logprobs": None, "finish_reason": None}]),
        _chunk([{"index": 0, "delta": {"role": "assistant", "refusal": "I'm sorry,"}, "logprobs": None, "finish_reason": None}]),
        _chunk([{"index": 0, "delta": {"refusal": " I can't help."}, "finish_reason": None}, {"index": 1, "delta": None, "finish_reason": "length"}]),
        _chunk([{"index": 0, "finish_reason": "stop"}]),
    )
    completion = OPENAI.final_object("/chat/completions", events)
    assert completion["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": None, "refusal": "I'm sorry, I can't help.", "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        },
        {
            "index": 1,
            "message": {"role": "assistant", "content": "Sure", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "length",
        },
    ]
    assert completion["usage"] is None  # no `stream_options.include_usage`: the service sends no usage chunk


def test_tool_call_pieces_may_skip_an_index_omit_the_function_or_never_name_an_id() -> None:
    # Call 1 arrives before call 0 has said anything; a piece without `function` adds nothing; a compatible
    # server that sends no id for call 0 leaves it empty.
    events = _stream(
        _chunk([_call(1, id="call_second", type="function", function={"name": "lookup", "arguments": "{}"})]),
        _chunk([_call(0, type="function")]),
        _chunk([_call(0, function={"name": "get_", "arguments": '{"a"'})]),
        _chunk([_call(0, function={"name": "time", "arguments": ": 1}"})]),
    )
    assert OPENAI.final_object("/chat/completions", events)["choices"][0]["message"]["tool_calls"] == [
        {"id": "", "type": "function", "function": {"name": "get_time", "arguments": '{"a": 1}'}},
        {"id": "call_second", "type": "function", "function": {"name": "lookup", "arguments": "{}"}},
    ]


@pytest.mark.parametrize("terminal", ["response.completed", "response.incomplete", "response.failed"])
def test_a_responses_stream_answers_with_the_response_of_its_terminal_event(terminal: str) -> None:
    response = {"id": "resp_1", "object": "response", "status": terminal.removeprefix("response."), "output": [{"type": "message"}]}
    events = [
        RecordedEvent(t=0.0, event="response.created", data=json.dumps({"type": "response.created", "response": {"id": "resp_1", "status": "in_progress"}})),
        RecordedEvent(t=0.1, event="response.output_text.delta", data=json.dumps({"type": "response.output_text.delta", "delta": "Hi"})),
        RecordedEvent(t=0.2, event=terminal, data=json.dumps({"type": terminal, "response": response})),
        RecordedEvent(t=0.3, data="[DONE]"),  # some compatible servers end a Responses stream the Chat Completions way
    ]
    assert OPENAI.final_object("/responses?x=1", events) == response


def test_a_stream_without_a_final_object_is_a_clear_error() -> None:
    created = RecordedEvent(t=0.0, event="response.created", data=json.dumps({"type": "response.created", "response": {"id": "resp_1"}}))
    with pytest.raises(ValueError, match=r"^the recorded stream has no response.completed event$"):
        OPENAI.final_object("/responses", [created])
    with pytest.raises(ValueError, match=r"^no final object is known for /embeddings$"):
        OPENAI.final_object("/embeddings?x=1", [created])
    step = RecordedEvent(t=0.0, event="thread.run.step.created", data=json.dumps({"id": "step_1", "object": "thread.run.step"}))
    with pytest.raises(ValueError, match=r"^the recorded stream has no thread.run event$"):
        AZURE.final_object("/threads/thread_1/runs", [RecordedEvent(t=0.0, data="[DONE]"), step])


def test_an_azure_run_answered_without_stream_is_the_first_run_object_of_the_stream() -> None:
    # A submit_tool_outputs stream starts with run-step events (fetch_current_datetime_and_weather_stream_response.txt);
    # what the service returns without `stream` is the run, not a step or a message.
    run = {"id": "run_1", "object": "thread.run", "thread_id": "thread_1", "status": "queued"}
    events = [
        RecordedEvent(t=0.0, data="keep-alive"),
        RecordedEvent(t=0.0, event="thread.run.step.completed", data=json.dumps({"id": "step_1", "object": "thread.run.step"})),
        RecordedEvent(t=0.1, event="thread.message.delta", data=json.dumps({"id": "msg_1", "object": "thread.message.delta"})),
        RecordedEvent(t=0.2, event="thread.run.queued", data=json.dumps(run)),
        RecordedEvent(t=0.3, event="thread.run.completed", data=json.dumps({**run, "status": "completed"})),
        RecordedEvent(t=0.4, event="done", data="[DONE]"),
    ]
    assert AZURE.final_object("/threads/thread_1/runs/run_1/submit_tool_outputs", events) == run


@pytest.mark.parametrize(
    ("path", "body", "starts"),
    [
        # Chat Completions: a new chat has no assistant or tool message yet.
        ("/chat/completions", {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}, True),
        ("/chat/completions", {"messages": ["not a message", {"role": "user", "content": "Hi"}]}, True),
        ("/chat/completions", {"model": "gpt-4o-mini"}, True),
        ("/chat/completions?api-version=1", {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}, False),
        ("/chat/completions", {"messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "tool_call_id": "call_1", "content": "4"}]}, False),
        # Responses: `previous_response_id` always continues; a string input always starts.
        ("/responses", {"input": "Hi"}, True),
        ("/responses", {"model": "gpt-4o-mini"}, True),
        ("/responses", {"input": "Hi again", "previous_response_id": "resp_1"}, False),
        ("/responses?x=1", {"input": [{"role": "user", "content": "Next"}], "previous_response_id": "resp_1"}, False),
        # The Agents SDK sends the whole run so far as `input` items.
        ("/responses", {"input": [{"role": "user", "content": "Hi"}, {"type": "message", "role": "user", "content": "and?"}, "text"]}, True),
        ("/responses", {"input": [{"type": "message", "role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}, True),
        ("/responses", {"input": [{"type": "message", "role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}, True),
        ("/responses", {"input": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}, False),
        ("/responses", {"input": [{"role": "user", "content": "Hi"}, {"type": "message", "role": "assistant", "content": []}]}, False),
        ("/responses", {"input": [{"role": "user", "content": "Hi"}, {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}]}, False),
        ("/responses", {"input": [{"role": "user", "content": "Hi"}, {"type": "function_call_output", "call_id": "call_1", "output": "4"}]}, False),
        # Anything else (a GET with no body, another endpoint) is a scenario of its own.
        ("/models", None, True),
        ("/embeddings", {"input": [{"role": "assistant"}], "messages": [{"role": "tool"}]}, True),
    ],
)
def test_which_openai_request_starts_a_conversation(path: str, body: object, starts: bool) -> None:
    assert OPENAI.starts_conversation("POST", path, body) is starts


@pytest.mark.parametrize(
    ("method", "path", "starts"),
    [
        ("POST", "/assistants", True),  # create_agent opens every Azure scenario
        ("POST", "/assistants/?api-version=v1", True),
        ("GET", "/assistants", False),
        ("POST", "/assistants/asst_1", False),
        ("POST", "/threads", False),
        ("POST", "/threads/thread_1/runs", False),
    ],
)
def test_which_azure_request_starts_a_conversation(method: str, path: str, starts: bool) -> None:
    assert AZURE.starts_conversation(method, path, {"model": "gpt-4o-mini"}) is starts


CHAT_TURN = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
CHAT_TURN_NAME = '[null, [{"content": "Be brief.", "role": "system"}, {"content": "Weather in Paris?", "role": "user"}]]'


@pytest.mark.parametrize(
    ("path", "body", "name"),
    [
        # Chat Completions: the chat up to the last user message, so every tool round of a turn shares its name.
        ("/chat/completions", {"messages": CHAT_TURN}, CHAT_TURN_NAME),
        (
            "/chat/completions?api-version=1",
            {
                "messages": [
                    *CHAT_TURN,
                    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function"}]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
                ]
            },
            CHAT_TURN_NAME,
        ),
        (
            "/chat/completions",
            {"messages": [*CHAT_TURN, {"role": "assistant", "content": "Sunny."}, "odd", {"role": "user", "content": "And Rome?"}]},
            '[null, [{"content": "Be brief.", "role": "system"}, {"content": "Weather in Paris?", "role": "user"}, '
            '{"content": "Sunny.", "role": "assistant"}, "odd", {"content": "And Rome?", "role": "user"}]]',
        ),
        ("/chat/completions", {"messages": [{"role": "system", "content": "Be brief."}]}, None),
        ("/chat/completions", {"messages": ["Weather in Paris?"]}, None),
        ("/chat/completions", {"input": CHAT_TURN}, None),
        # Responses: a chain names the answer it follows; `conversation` names a stored conversation.
        ("/responses", {"previous_response_id": "resp_1", "input": [{"role": "user", "content": "Hi"}]}, "resp_1"),
        ("/responses", {"conversation": "conv_1", "input": "Hi"}, "conv_1"),
        ("/responses", {"instructions": "Be brief.", "input": "Hi"}, '["Be brief.", "Hi"]'),
        (
            "/responses",
            {
                "instructions": "You are a weather bot.",
                "input": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
                    {"type": "function_call_output", "call_id": "call_1", "output": "18 C"},
                ],
            },
            '["You are a weather bot.", [{"content": "Weather in Paris?", "role": "user"}]]',
        ),
        ("/responses", {"conversation": {"id": "conv_1"}, "input": 3}, None),
        ("/responses", {"messages": CHAT_TURN}, None),
        ("/responses", None, None),
    ],
)
def test_what_names_an_openai_conversation(path: str, body: object, name: str | None) -> None:
    assert OPENAI.conversation("POST", path, body) == name


@pytest.mark.parametrize(
    ("path", "body", "thread"),
    [
        ("/threads/thread_abc/runs", {"assistant_id": "asst_1", "thread_id": "thread_other"}, "thread_abc"),
        ("/threads/thread_abc?api-version=v1", None, "thread_abc"),
        ("/threads/thread_abc/runs/run_1/submit_tool_outputs", {"tool_outputs": []}, "thread_abc"),
        ("/assistants/asst_1/threads/thread_abc", None, None),  # only a path that begins with the thread names it
        ("/vector_stores", {"thread_id": "thread_xyz"}, "thread_xyz"),
        ("/vector_stores", {"thread_id": ""}, None),
        ("/vector_stores", {"thread_id": 7}, None),
        ("/assistants", {"model": "gpt-4o-mini"}, None),
        ("/threads", ["thread_id"], None),
    ],
)
def test_what_names_an_azure_conversation(path: str, body: object, thread: str | None) -> None:
    assert AZURE.conversation("POST", path, body) == thread


@pytest.mark.parametrize(
    ("item", "parent_key", "keys"),
    [
        ({"role": "tool", "tool_call_id": "call_1", "content": "18 C"}, "messages", ("content",)),
        ({"type": "function_call_output", "call_id": "call_1", "output": "18 C"}, "input", ("output",)),
        ({"role": "assistant", "content": "Hi", "type": "message"}, "messages", ()),
        ({"type": "function_call", "call_id": "call_1", "arguments": "{}"}, "input", ()),
        ({"role": "user", "content": "Hi"}, "tool_outputs", ()),
    ],
)
def test_which_openai_keys_hold_tool_results(item: dict, parent_key: str, keys: tuple[str, ...]) -> None:
    assert OPENAI.tool_result_keys(item, parent_key) == keys
    assert OPENAI.ignored_keys(item, parent_key) == ()


@pytest.mark.parametrize(
    ("item", "parent_key", "results", "ignored"),
    [
        # submit_tool_outputs: plain dicts from the automatic path, the ToolOutput model's `type` from another.
        ({"tool_call_id": "call_1", "output": "18 C"}, "tool_outputs", ("output",), ()),
        ({"tool_call_id": "call_1", "output": "18 C", "type": "function_call_output"}, "tool_outputs", ("output",), ("type",)),
        ({"tool_call_id": "call_1", "output": "18 C", "type": "function"}, "tool_outputs", ("output",), ()),
        ({"output": "18 C", "type": "function_call_output"}, "messages", (), ()),
        ({"role": "user", "content": "Hi"}, "", (), ()),
    ],
)
def test_which_azure_keys_hold_tool_results_or_are_not_compared(item: dict, parent_key: str, results: tuple, ignored: tuple) -> None:
    assert AZURE.tool_result_keys(item, parent_key) == results
    assert AZURE.ignored_keys(item, parent_key) == ignored


def test_each_surface_writes_errors_in_its_services_shape() -> None:
    # OpenAI: {"error": {"message", "type", "param", "code"}}; Azure: {"error": {"code", "message"}}.
    assert OPENAI.error_body("No recorded response", "replay_miss") == {
        "error": {"message": "No recorded response", "type": "replay_miss", "param": None, "code": "replay_miss"}
    }
    assert AZURE.error_body("No recorded response", "replay_miss") == {"error": {"code": "replay_miss", "message": "No recorded response"}}


def test_record_mode_forwards_to_the_configured_service() -> None:
    assert OPENAI.upstream(None, "https://p.services.ai.azure.com/api/projects/p") == "https://api.openai.com/v1"
    assert OPENAI.upstream("https://models.github.ai/inference", None) == "https://models.github.ai/inference"
    assert AZURE.upstream("https://api.openai.com/v1", "https://p.services.ai.azure.com/api/projects/p") == "https://p.services.ai.azure.com/api/projects/p"
    assert AZURE.upstream("https://api.openai.com/v1", None) is None
