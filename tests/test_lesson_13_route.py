"""Exercise 13.1, the FastAPI route: the right answer passes every case, each typical wrong one fails with its own hint.

Each wrong answer is a route a learner writes (most from the course material: Lab 019's synchronous client and
`data: {chunk}`, Bài 11's buffer), the case it must fail, and a phrase only the hint for that mistake holds.
Only that case runs (`one_case`), so each row costs one request, not the whole check. The routes talk to the
replay server over real loopback HTTP through the SDK's own clients.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import openai
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from sse_starlette import EventSourceResponse

import labs
from labs.checks import Case, checker_for, evaluate
from labs.lessons.lesson_13.route import SSE, parse_sse, worst_gap
from tests.exercise_support import hints

MESSAGES = lambda message: [{"role": "user", "content": message}]  # noqa: E731 - the one request every route sends


def one_case(exercise_id: str, name: str) -> Callable[..., Iterator[Case]]:
    """The checker of `exercise_id`, keeping only the case called `name`."""
    full = checker_for(exercise_id)

    def checker(*answers: Any) -> Iterator[Case]:
        found = False
        for case in full(*answers):  # lazily: a checker may hold a server or a browser open while its cases run
            if case.name == name:
                found = True
                yield case
        assert found, f"exercise {exercise_id} has no case {name!r}"

    return checker



def _sse(name: str, data: dict[str, str]) -> dict[str, str]:
    return {"event": name, "data": json.dumps(data)}


async def _pieces(client: Any, model: str, message: str) -> AsyncIterator[str]:
    stream = await client.chat.completions.create(model=model, messages=MESSAGES(message), stream=True)
    async with stream:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content


def right_route(app: FastAPI, client: Any, model: str) -> None:
    @app.get("/chat/stream")
    async def chat_stream(message: str) -> EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, str]]:
            pieces = []
            try:
                async for piece in _pieces(client, model, message):
                    pieces.append(piece)
                    yield _sse("text_delta", {"delta": piece})
            except openai.APIError as error:
                yield _sse("error", {"message": str(error)})
                return
            yield _sse("response_complete", {"final_response": "".join(pieces)})

        return EventSourceResponse(events())


def plain_streaming_response(app: FastAPI, client: Any, model: str) -> None:
    """Also right: a StreamingResponse framing the events by hand, as Lab 019 does, but with names and JSON."""

    @app.get("/chat/stream")
    async def chat_stream(message: str) -> StreamingResponse:
        async def body() -> AsyncIterator[str]:
            pieces = []
            try:
                async for piece in _pieces(client, model, message):
                    pieces.append(piece)
                    yield f"event: text_delta\ndata: {json.dumps({'delta': piece})}\n\n"
            except openai.APIError as error:
                yield f"event: error\ndata: {json.dumps({'message': str(error)})}\n\n"
                return
            yield f"event: response_complete\ndata: {json.dumps({'final_response': ''.join(pieces)})}\n\n"

        return StreamingResponse(body(), media_type="text/event-stream")


def lab_019_sync_client(app: FastAPI, client: Any, model: str) -> None:
    sync = labs.openai_client()

    @app.get("/chat/stream")
    async def chat_stream(message: str) -> EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, str]]:
            pieces = []
            for chunk in sync.chat.completions.create(model=model, messages=MESSAGES(message), stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
                    yield _sse("text_delta", {"delta": pieces[-1]})
            yield _sse("response_complete", {"final_response": "".join(pieces)})

        return EventSourceResponse(events())


def without_await(app: FastAPI, client: Any, model: str) -> None:
    @app.get("/chat/stream")
    async def chat_stream(message: str) -> EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, str]]:
            for chunk in client.chat.completions.create(model=model, messages=MESSAGES(message), stream=True):
                yield _sse("text_delta", {"delta": chunk.choices[0].delta.content})

        return EventSourceResponse(events())


def _hand_framed(name: str, frame: Callable[[str, str], str], media_type: str = "text/event-stream") -> Callable[[FastAPI, Any, str], None]:
    def add(app: FastAPI, client: Any, model: str) -> None:
        @app.get("/chat/stream")
        async def chat_stream(message: str) -> StreamingResponse:
            async def body() -> AsyncIterator[str]:
                pieces = []
                async for piece in _pieces(client, model, message):
                    pieces.append(piece)
                    yield frame("text_delta", piece)
                yield frame("response_complete", "".join(pieces))

            return StreamingResponse(body(), media_type=media_type)

    add.__name__ = name
    return add


unnamed_events = _hand_framed("unnamed_events", lambda name, text: f"data: {json.dumps({'delta': text})}\n\n")
data_chunk = _hand_framed("data_chunk", lambda name, text: f"event: {name}\ndata: {text}\n\n")
no_blank_line = _hand_framed("no_blank_line", lambda name, text: f"event: {name}\ndata: {json.dumps({'delta': text})}\n")
as_plain_text = _hand_framed("as_plain_text", lambda name, text: f"event: {name}\ndata: {json.dumps({'delta': text})}\n\n", "text/plain")


def post_only(app: FastAPI, client: Any, model: str) -> None:
    @app.post("/chat/stream")
    async def chat_stream(message: str) -> EventSourceResponse:
        return EventSourceResponse(iter(()))


def buffered(app: FastAPI, client: Any, model: str) -> None:
    """Bài 11's shape: collect the whole answer, then send it."""

    @app.get("/chat/stream")
    async def chat_stream(message: str) -> EventSourceResponse:
        pieces = [piece async for piece in _pieces(client, model, message)]

        async def events() -> AsyncIterator[dict[str, str]]:
            for piece in pieces:
                yield _sse("text_delta", {"delta": piece})
            yield _sse("response_complete", {"final_response": "".join(pieces)})

        return EventSourceResponse(events())


def reads_in_a_task(app: FastAPI, client: Any, model: str) -> None:
    """The model read by a task of its own into a queue: the disconnect cancels the generator, not the task."""
    tasks: set[asyncio.Task[None]] = set()

    @app.get("/chat/stream")
    async def chat_stream(message: str) -> EventSourceResponse:
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        async def read() -> None:
            async for piece in _pieces(client, model, message):
                await queue.put(piece)
            await queue.put(None)

        task = asyncio.create_task(read())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

        async def events() -> AsyncIterator[dict[str, str]]:
            pieces = []
            while (piece := await queue.get()) is not None:
                pieces.append(piece)
                yield _sse("text_delta", {"delta": piece})
            yield _sse("response_complete", {"final_response": "".join(pieces)})

        return EventSourceResponse(events())


def no_error_event(app: FastAPI, client: Any, model: str) -> None:
    @app.get("/chat/stream")
    async def chat_stream(message: str) -> EventSourceResponse:
        async def events() -> AsyncIterator[dict[str, str]]:
            pieces = []
            async for piece in _pieces(client, model, message):
                pieces.append(piece)
                yield _sse("text_delta", {"delta": piece})
            yield _sse("response_complete", {"final_response": "".join(pieces)})

        return EventSourceResponse(events())


ANSWER = "an answer arrives as named events whose pieces join to the final text (in-process)"
FREE_LOOP = "the event loop stays free while an answer streams"
LEAVING = "over loopback, text arrives while the model writes, and the model's stream stops when the reader leaves"
ERROR = "an error from the model becomes an `error` event"

WRONG_ROUTES = [
    (lab_019_sync_client, FREE_LOOP, "a synchronous OpenAI client inside `async def` blocks the event loop"),
    (without_await, ANSWER, "the client is an AsyncOpenAI: `stream = await"),
    (unnamed_events, ANSWER, "without a name it is a `message` event"),
    (data_chunk, ANSWER, "one line of JSON after `data:`"),
    (no_blank_line, ANSWER, "end every event with a blank line"),
    (as_plain_text, ANSWER, "send it as `text/event-stream`"),
    (post_only, ANSWER, "`@app.get(\"/chat/stream\")`"),
    (buffered, LEAVING, "collects the answer first"),
    (reads_in_a_task, LEAVING, "not in a task or thread of its own"),
    (no_error_event, ERROR, "the exception left the generator"),
]


@pytest.mark.filterwarnings("ignore:coroutine 'AsyncCompletions.create' was never awaited")
@pytest.mark.parametrize(("route", "case", "phrase"), WRONG_ROUTES, ids=lambda v: getattr(v, "__name__", None))
def test_a_typical_wrong_route_fails_with_the_hint_for_its_mistake(route: Any, case: str, phrase: str) -> None:
    failed = hints(evaluate("13.1", route, checker=one_case("13.1", case)))
    assert case in failed, f"{route.__name__} should fail {case!r}"
    assert phrase in failed[case], failed[case]


@pytest.mark.parametrize("route", [right_route, plain_streaming_response], ids=lambda v: v.__name__)
def test_a_right_route_passes_every_case_in_a_few_seconds(route: Any) -> None:
    started = time.perf_counter()
    result = evaluate("13.1", route)
    assert result.status == "passed", str(result)
    assert [case.name for case in result.cases] == [ANSWER, FREE_LOOP, LEAVING, ERROR]
    assert time.perf_counter() - started < 10


def test_an_untouched_route_is_not_done() -> None:
    def add_chat_route(app: FastAPI, client: Any, model: str) -> None:
        raise NotImplementedError("Exercise 13.1: complete add_chat_route.")

    assert evaluate("13.1", add_chat_route).status == "not_done"


@pytest.mark.parametrize(
    ("body", "events"),
    [
        ("event: text_delta\ndata: {\"delta\":\"Hi\"}\n\n", [SSE("text_delta", '{"delta":"Hi"}')]),
        ("data: a\ndata: b\n\n", [SSE("message", "a\nb")]),
        ("id: 7\r\nevent: e\r\ndata:x\r\n\r\n", [SSE("e", "x", "7")]),
        (": ping\n\nevent: e\ndata: 1\n\n", [SSE("e", "1")]),
        ("event: e\ndata: 1\n", []),  # no blank line yet: not dispatched
        ("event: e\n\n", []),  # no data: nothing to dispatch
        ("data: {chunk}\n\n-\n\n", [SSE("message", "{chunk}")]),  # "-" is a field name without a value, ignored
    ],
)
def test_parse_sse_dispatches_what_a_browser_would(body: str, events: list[SSE]) -> None:
    assert parse_sse(body) == events


def test_worst_gap_sees_a_loop_blocked_from_the_start_and_not_a_free_one() -> None:
    async def blocking() -> str:
        time.sleep(0.3)
        return "done"

    async def waiting() -> str:
        await asyncio.sleep(0.3)
        return "done"

    async def both() -> tuple[tuple[str, float], tuple[str, float]]:
        return await worst_gap(blocking()), await worst_gap(waiting())

    (blocked_result, blocked), (free_result, free) = asyncio.run(both())
    assert blocked_result == free_result == "done"
    assert blocked >= 0.25 and free < 0.15
