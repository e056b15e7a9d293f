"""Lesson 14's faults happen on the wire, through the real openai SDK, and the lesson's loop survives each one.

Every fixture test has two halves: the fault as the SDK meets it with nothing around it (what it raises,
after which text, how many HTTP requests), then the lesson's resilient loop (tenacity around the call,
`ResumableAnswer` inside) on the same fixture, which must end with the whole answer, each word once, the
text received before the fault kept as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
import tenacity
from openai.types.chat import ChatCompletionChunk

from labs import resilience
from labs.lessons.lesson_14 import scenarios
from labs.clients import openai_client
from labs.config import FIXTURES_DIR
from labs.recordings import chat_text, fixture
from labs.replay import ReplayServer
from labs.resilience import ErrorStats, RequestLog, ResumableAnswer, classify, continuation_messages, is_retryable, merge_overlap
from labs.toolcalls import ToolArgumentsError, accumulate_tool_calls, assistant_message, run_tool_calls

FOLDER = "14_resilience"
MODEL = "gpt-4o-mini"


def fresh_server() -> ReplayServer:
    # A fresh server, so an earlier request's place in a scenario never decides what the next one gets
    # (after a 429 the scenario's next step is the 200 it recorded).
    return ReplayServer(fixture_dirs=(FIXTURES_DIR / FOLDER,), speed=0)


@pytest.fixture
def server() -> Iterator[ReplayServer]:
    with fresh_server() as running:
        yield running


def sdk(server: ReplayServer, log: RequestLog | None = None, **options: Any) -> openai.OpenAI:
    http_client = (log or RequestLog()).http_client()
    return openai_client(server=server, http_client=http_client, **options)


def read_plainly(client: openai.OpenAI, messages: list[dict[str, Any]]) -> tuple[str, BaseException | None]:
    """Lesson 01's loop, nothing around it: the text received, and what the SDK raised."""
    text = ""
    try:
        for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):
            text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    except Exception as error:  # the test looks at which exception the SDK raised
        return text, error
    return text, None


def recover(client: openai.OpenAI, messages: list[dict[str, Any]], attempts: int = 3) -> tuple[ResumableAnswer, str]:
    """The notebook's `stream_with_recovery`, collecting what it would print instead of printing it."""
    answer, shown = ResumableAnswer(messages), ""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential_jitter(multiplier=0.01, max=0.05, jitter=0.01),
        retry=tenacity.retry_if_exception(is_retryable),
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt, answer.attempt() as request:
                with client.chat.completions.create(model=MODEL, messages=request, stream=True) as stream:
                    for chunk in stream:
                        shown += answer.add(chunk)
    except resilience.STREAM_ERRORS as error:
        answer.error = error
    return answer, shown


def statuses(log: RequestLog) -> list[tuple[int, int | None]]:
    return [(a.retry, a.status) for a in log.attempts]


# -- errors before the stream: the SDK's layer ------------------------------------------------------


def test_429_reaches_the_sdk_with_retry_after_and_the_sdk_retries_it(server: ReplayServer) -> None:
    _, error = read_plainly(sdk(server, max_retries=0), scenarios.RATE_LIMITED)
    assert isinstance(error, openai.RateLimitError) and error.response.headers["retry-after"] == "1"
    log = RequestLog()
    started = time.perf_counter()
    with fresh_server() as again:
        answer, shown = recover(sdk(again, log), scenarios.RATE_LIMITED)
    assert time.perf_counter() - started >= 0.9  # the SDK waited as Retry-After said
    assert statuses(log) == [(0, 429), (1, 200)]  # two requests on the wire...
    assert answer.complete and answer.attempts == 1 and answer.errors == []  # ...one attempt for the lesson's layer
    assert shown == answer.text == chat_text(f"{FOLDER}/rate_limited", 1)


def test_500_then_success_is_the_sdks_retry(server: ReplayServer) -> None:
    _, error = read_plainly(sdk(server, max_retries=0), scenarios.SERVER_ERROR)
    assert isinstance(error, openai.InternalServerError) and error.status_code == 500
    log = RequestLog()
    with fresh_server() as again:
        answer, shown = recover(sdk(again, log), scenarios.SERVER_ERROR)
    assert statuses(log) == [(0, 500), (1, 200)]
    assert answer.complete and answer.attempts == 1 and shown == chat_text(f"{FOLDER}/server_error", 1)


# -- failures in the middle of the stream: the lesson's layer ----------------------------------------


def test_a_dropped_connection_is_not_retried_by_the_sdk_and_the_lesson_continues_from_the_text(server: ReplayServer) -> None:
    log = RequestLog()
    received, error = read_plainly(sdk(server, log), scenarios.DROPPED)  # max_retries=2, the default
    assert isinstance(error, openai.APIConnectionError) and isinstance(error.__cause__, httpx2.RemoteProtocolError)
    assert received == scenarios.partial_text(scenarios.DROPPED_ANSWER, scenarios.DROP_AFTER) != ""
    assert statuses(log) == [(0, 200)]  # the SDK did not retry: the stream had started

    log = RequestLog()
    answer, shown = recover(sdk(server, log), scenarios.DROPPED)
    assert answer.complete and answer.attempts == 2 and answer.errors == ["connection"]
    assert shown == answer.text and answer.text.startswith(received)
    assert answer.text == chat_text(f"{FOLDER}/dropped")  # the whole answer, the repeated words trimmed
    assert statuses(log) == [(0, 200), (0, 200)]  # the second request is the continuation, not an SDK retry


def test_the_continuation_request_is_the_recorded_one() -> None:
    recorded = fixture(f"{FOLDER}/dropped").interactions[1].request.body["messages"]
    partial = scenarios.partial_text(scenarios.DROPPED_ANSWER, scenarios.DROP_AFTER)
    assert recorded == continuation_messages(scenarios.DROPPED, partial)
    assert recorded[-2] == {"role": "assistant", "content": partial}


def test_a_stall_longer_than_the_read_timeout_times_out_and_the_lesson_continues(server: ReplayServer) -> None:
    started = time.perf_counter()
    received, error = read_plainly(sdk(server, max_retries=0, timeout=openai.Timeout(10.0, read=0.5)), scenarios.STALLED)
    assert time.perf_counter() - started < scenarios.STALL_SECONDS / 2  # the timeout fired; the stall did not run out
    assert isinstance(error, openai.APITimeoutError) and isinstance(error.__cause__, httpx2.ReadTimeout)
    assert received == scenarios.partial_text(scenarios.STALLED_ANSWER, scenarios.STALL_AFTER) != ""

    answer, shown = recover(sdk(server, timeout=openai.Timeout(10.0, read=0.5)), scenarios.STALLED)
    assert answer.complete and answer.errors == ["timeout"]
    assert shown == answer.text == chat_text(f"{FOLDER}/stalled") and answer.text.startswith(received)


def test_a_malformed_event_is_on_the_wire_and_the_lesson_continues(server: ReplayServer) -> None:
    body = {"model": MODEL, "messages": scenarios.MALFORMED, "stream": True}
    wire = httpx2.post(f"{server.openai_base_url}/chat/completions", json=body).text
    broken = [block for block in wire.split("\n\n") if block.startswith("data: {") and not block.endswith("}")]
    assert len(broken) == 1 and "chat.completion.chunk" in broken[0]  # half an event, sent as is

    received, error = read_plainly(sdk(server), scenarios.MALFORMED)
    assert isinstance(error, json.JSONDecodeError)
    assert received == scenarios.partial_text(scenarios.MALFORMED_ANSWER, scenarios.MALFORMED_AT) != ""

    answer, shown = recover(sdk(server), scenarios.MALFORMED)
    assert answer.complete and answer.errors == ["malformed_event"]
    assert shown == answer.text == chat_text(f"{FOLDER}/malformed") and answer.text.startswith(received)


def test_when_every_continuation_drops_the_lesson_gives_up_and_keeps_the_text(server: ReplayServer) -> None:
    log = RequestLog()
    answer, shown = recover(sdk(server, log), scenarios.GIVES_UP)
    partial = scenarios.partial_text(scenarios.GIVES_UP_ANSWER, scenarios.GIVES_UP_DROP_AFTER)
    assert not answer.complete and answer.attempts == 3 and answer.errors == ["connection"] * 3
    assert isinstance(answer.error, openai.APIConnectionError)
    assert shown == answer.text == partial != ""
    assert len(log.attempts) == 3 and "INCOMPLETE after 3 attempts" in answer.summary()


def test_tool_arguments_that_are_not_json_become_a_tool_error_and_the_model_retries(server: ReplayServer) -> None:
    client = sdk(server)
    tools = {"get_forecast": scenarios.get_forecast}
    messages: list[dict[str, Any]] = list(scenarios.FORECAST_QUESTION)
    with client.chat.completions.create(model=MODEL, messages=messages, tools=[scenarios.FORECAST_TOOL], stream=True) as stream:
        calls = accumulate_tool_calls(stream)
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        calls[0].parsed_arguments()
    first = run_tool_calls(calls, tools)
    assert not first[0].ok and first[0].content.startswith("Error:")
    messages += [assistant_message(calls), *(r.message() for r in first)]
    with client.chat.completions.create(model=MODEL, messages=messages, tools=[scenarios.FORECAST_TOOL], stream=True) as stream:
        retried = accumulate_tool_calls(stream)
    second = run_tool_calls(retried, tools)
    assert second[0].ok and json.loads(second[0].content)["location"] == "Ben Nevis"
    messages += [assistant_message(retried), *(r.message() for r in second)]
    text = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(model=MODEL, messages=messages, tools=[scenarios.FORECAST_TOOL], stream=True) if c.choices)
    assert "Ben Nevis" in text


# -- the pieces --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kept", "continuation", "new"),
    [
        ("water and food in the middle", "the middle close to your back", " close to your back"),  # a repeat
        ("more in heat or on", "or on steep climbs", " steep climbs"),  # a short repeat, still two words
        ("water and food in the middle", " close to your back", " close to your back"),  # nothing repeated
        ("a dry base", "base layer", " layer"),
        ("in the middle", "dle of it", "dle of it"),  # a repeat must start at a word boundary of the kept text
        ("", "anything", "anything"),
        ("H", "Hello, world.", "ello, world."),  # a 1-letter partial answer, the word restarted: not "HHello"
        ("Hel", "Hello", "lo"),  # the partial word restarted
        ("Hel", "lo there", "lo there"),  # the word continued exactly
        ("and then the", "the end", " end"),  # "thethe" is no word: a restart of "the", short as it is
        ("no, ", "no, no.", "no, no."),  # after a space "no, no." is new text: the answer is "no, no, no."
        ("no,", " no, no.", " no, no."),
        ("no, no, ", "no.", "no."),
        ("Pack heavy items in the ", "Pack heavy items in the middle.", "middle."),  # a restart from the top, after a space
        ("Tips:\n\n", "Tips:\n\n- Water", "- Water"),
    ],
)
def test_merge_overlap(kept: str, continuation: str, new: str) -> None:
    assert merge_overlap(kept, continuation) == new


def test_after_a_space_a_repeat_shorter_than_the_minimum_is_taken_as_meant() -> None:
    assert merge_overlap("and then the ", "the end") == "the end"  # 3 letters after a clean cut: probably meant
    assert merge_overlap("and then the ", "the end", min_overlap=3) == "end"


def chunk(content: str | None = None, finish: str | None = None, role: str | None = None) -> ChatCompletionChunk:
    delta: dict[str, Any] = {"content": content}
    if role:
        delta["role"] = role
    return ChatCompletionChunk.model_validate(
        {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": MODEL, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    )


def feed(answer: ResumableAnswer, pieces: list[ChatCompletionChunk], fail: BaseException | None = None) -> str:
    shown = ""
    try:
        with answer.attempt():
            for piece in pieces:
                shown += answer.add(piece)
            if fail is not None:
                raise fail
    except Exception:
        pass
    return shown


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions"))


def test_a_resumed_answer_holds_back_a_possible_repeat_and_shows_each_word_once() -> None:
    answer = ResumableAnswer([{"role": "user", "content": "q"}])
    shown = feed(answer, [chunk("", role="assistant"), chunk("Heavy items"), chunk(" go in the middle")], fail=connection_error())
    assert shown == answer.text == "Heavy items go in the middle" and answer.errors == ["connection"]
    assert answer.request()[-2:] == continuation_messages([], "Heavy items go in the middle")
    with answer.attempt():  # the continuation: its start is held back while it may repeat the kept text
        assert answer.add(chunk("", role="assistant")) == ""
        assert answer.add(chunk("the")) == ""
        assert answer.add(chunk(" middle")) == ""
        assert answer.add(chunk(" near your back")) == " near your back"  # not a repeat any more: released, trimmed
        assert answer.add(chunk(".", finish="stop")) == "."
    assert answer.complete and answer.text == "Heavy items go in the middle near your back."


@pytest.mark.parametrize(
    ("first", "second", "shown"),
    [
        (["H"], ["Hel", "lo, world", "."], "Hello, world."),  # the model restarts the word it was cut in
        (["no, "], ["no", ", no", "."], "no, no, no."),  # the model continues as asked, with the same words
        (["no, no"], [", no", "."], "no, no, no."),
        (["Heavy items"], ["Heavy items go", " in the middle."], "Heavy items go in the middle."),  # a restart from the top
    ],
)
def test_a_resumed_answer_neither_repeats_nor_loses_a_character(first: list[str], second: list[str], shown: str) -> None:
    answer = ResumableAnswer([{"role": "user", "content": "q"}])
    before = feed(answer, [chunk(piece) for piece in first], fail=connection_error())
    after = feed(answer, [chunk(piece) for piece in second] + [chunk(None, finish="stop")])
    assert before + after == answer.text == shown and answer.complete


def test_a_held_back_repeat_is_released_when_the_stream_finishes() -> None:
    answer = ResumableAnswer([])
    feed(answer, [chunk("It ends in the middle")], fail=connection_error())
    shown = feed(answer, [chunk("the middle"), chunk(None, finish="stop")])
    assert shown == "" and answer.text == "It ends in the middle" and answer.complete  # all of it was a repeat


def test_a_stream_that_ends_without_finish_reason_is_incomplete() -> None:
    answer = ResumableAnswer([])
    feed(answer, [chunk("cut short")])
    assert not answer.complete and answer.errors == ["incomplete_stream"] and answer.text == "cut short"


def test_a_failure_after_the_finish_reason_does_not_count() -> None:
    answer = ResumableAnswer([])
    feed(answer, [chunk("all here"), chunk(None, finish="stop")], fail=connection_error())
    assert answer.complete and answer.errors == []


def test_a_bug_in_the_loop_is_not_a_stream_failure() -> None:
    answer = ResumableAnswer([])
    with pytest.raises(KeyError):
        with answer.attempt():
            raise KeyError("a bug")
    assert answer.errors == [] and not is_retryable(KeyError("a bug"))


def _status(code: int) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    classes = {400: openai.BadRequestError, 401: openai.AuthenticationError, 408: openai.APIStatusError, 429: openai.RateLimitError, 500: openai.InternalServerError, 503: openai.InternalServerError}
    return classes[code]("status", response=httpx2.Response(code, request=request), body=None)


@pytest.mark.parametrize(
    ("error", "kind", "retry"),
    [
        (_status(429), "rate_limited", True),
        (_status(500), "server_error", True),
        (_status(503), "server_error", True),
        (_status(408), "timeout", True),
        (_status(400), "client_error", False),
        (_status(401), "client_error", False),
        (openai.APITimeoutError(request=httpx2.Request("POST", "http://127.0.0.1/")), "timeout", True),
        (connection_error(), "connection", True),
        (json.JSONDecodeError("Expecting value", "{", 1), "malformed_event", True),
        (openai.APIError("an error event", httpx2.Request("POST", "http://127.0.0.1/"), body=None), "error_event", True),
        (resilience.IncompleteStream("no finish_reason"), "incomplete_stream", True),
        (ValueError("a bug"), None, False),
    ],
)
def test_classify(error: BaseException, kind: str | None, retry: bool) -> None:
    assert classify(error) == kind and is_retryable(error) is retry


def test_error_stats_count_calls_attempts_and_kinds() -> None:
    stats = ErrorStats()
    first, recovered, lost = ResumableAnswer([]), ResumableAnswer([]), ResumableAnswer([])
    feed(first, [chunk("ok", finish="stop")])
    feed(recovered, [chunk("half")], fail=connection_error())
    feed(recovered, [chunk(" done", finish="stop")])
    for _ in range(3):
        feed(lost, [], fail=connection_error())
    for answer in (first, recovered, lost):
        stats.add(answer)
    assert (stats.calls, stats.attempts, stats.first_try, stats.recovered, stats.gave_up) == (3, 6, 1, 1, 1)
    assert stats.by_kind == {"connection": 4} and stats.error_rate == 4 / 6 and stats.recovery_rate == 0.5
    assert "calls 3: 1 first try, 1 recovered, 1 gave up" in str(stats)


def test_request_log_records_a_request_that_got_no_response() -> None:
    log = RequestLog()
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x", max_retries=1, http_client=log.http_client())
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "q"}])
    assert [(a.retry, a.status) for a in log.attempts] == [(0, None), (1, None)] and log.sdk_retries == 1
    assert str(log.attempts[0]) == "POST /v1/chat/completions  retry #0 → no response"


# -- what the lesson prints about an answer and a run ------------------------------------------------


def test_the_summary_says_how_the_answer_ended() -> None:
    first = ResumableAnswer([])
    feed(first, [chunk("Pack light.", finish="stop")])
    assert first.summary() == "complete after 1 attempt (no failures); 11 characters"

    recovered = ResumableAnswer([])
    feed(recovered, [chunk("Pack")], fail=connection_error())
    feed(recovered, [chunk(" light.", finish="stop")])
    assert recovered.summary() == "complete after 2 attempts (connection ×1); 11 characters"

    lost = ResumableAnswer([])
    feed(lost, [chunk("Pack")], fail=connection_error())
    feed(lost, [], fail=resilience.IncompleteStream("cut"))
    assert lost.summary() == "INCOMPLETE after 2 attempts (connection ×1, incomplete_stream ×1); kept 4 characters; last error not finished"
    lost.error = connection_error()
    assert lost.summary().endswith("; last error APIConnectionError: Connection error.")


def test_a_new_answer_has_no_error_and_holds_nothing_back() -> None:
    answer = ResumableAnswer([{"role": "user", "content": "q"}])
    assert answer.error is None and not answer.complete and answer.attempts == 0
    assert answer.add(chunk("Pack")) == "Pack" and answer.text == "Pack"  # not resuming: nothing held back
    assert answer.add(ChatCompletionChunk.model_validate({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": MODEL, "choices": []})) == ""


def test_a_resumed_answer_uses_its_own_minimum_overlap() -> None:
    # "tent " repeats the end of the kept text with four letters: a repeat by default, new text when five are asked for.
    default, strict = ResumableAnswer([]), ResumableAnswer([], min_overlap=5)
    for answer in (default, strict):
        feed(answer, [chunk("Pack the tent ")], fail=connection_error())
    assert feed(default, [chunk("tent and stove."), chunk(None, finish="stop")]) == "and stove."
    assert feed(strict, [chunk("tent and stove."), chunk(None, finish="stop")]) == "tent and stove."


def test_error_stats_lines_name_each_kind_once_in_order() -> None:
    stats = ErrorStats()
    assert stats.error_rate == 0.0 and stats.recovery_rate == 0.0  # nothing counted: no division by zero
    for fails in ([connection_error()], [resilience.IncompleteStream("cut")], [connection_error(), connection_error(), connection_error()], [connection_error(), connection_error(), connection_error()]):
        answer = ResumableAnswer([])
        for error in fails:
            feed(answer, [], fail=error)
        if len(fails) == 1:
            feed(answer, [chunk("ok", finish="stop")])
        stats.add(answer)
    assert (stats.recovered, stats.gave_up, stats.first_try) == (2, 2, 0)
    for _ in range(2):
        clean = ResumableAnswer([])
        feed(clean, [chunk("ok", finish="stop")])
        stats.add(clean)
    assert stats.first_try == 2 and stats.calls == 6
    assert str(stats).split("\n") == [
        "calls 6: 2 first try, 2 recovered, 2 gave up",
        "attempts 12, failed 8 (error rate 67%); recovery rate 50%",
        f"  {'connection':<18} 7",
        f"  {'incomplete_stream':<18} 1",
    ]


def test_the_request_log_keeps_each_try_with_its_method_path_retry_and_status(server: ReplayServer) -> None:
    log = RequestLog()
    client = sdk(server, log)
    mark = log.mark()
    read_plainly(client, scenarios.SERVER_ERROR)
    tries = log.since(mark)
    assert [str(a) for a in tries] == ["POST /v1/chat/completions  retry #0 → 500", "POST /v1/chat/completions  retry #1 → 200"]
    assert log.statuses() == {500: 1, 200: 1} and log.sdk_retries == 1 and log.since(log.mark()) == []


def test_the_request_log_client_takes_the_callers_options() -> None:
    client = RequestLog().http_client(timeout=httpx2.Timeout(1.5))
    assert client.timeout == httpx2.Timeout(1.5)


def test_the_request_log_counts_a_request_without_the_sdks_retry_header_as_a_first_try(server: ReplayServer) -> None:
    log = RequestLog()
    with log.http_client() as client:  # a plain request through the same client: no x-stainless-retry-count
        client.get(f"{server.url}/_labs/health")
    assert [(a.method, a.path, a.retry, a.status) for a in log.attempts] == [("GET", "/_labs/health", 0, 200)]
