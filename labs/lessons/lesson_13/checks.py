"""Checks for lesson 13 (the SSE route and the page): the FastAPI route that relays an answer (13.1, harness in
`route.py`), and the page code that reads it in Chromium (13.2, a challenge; harness in `page.py`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import openai

from ...checks import Case, Mistake, exercise
from ...replay import replay_speed
from .page import PageHarness, Shown
from .route import PACED_PROMPT, SSE, UNRECORDED_PROMPT, AddRoute, Leaving, Streamed, ask_in_process, leave_early, raised
from .scenarios import ROUTE_PROMPTS

# -- exercise 13.1: the FastAPI route that relays the model's answer ------------------------------------------------

GAP_LIMIT = 0.2  # seconds the event loop may go without running the heartbeat; the recording waits 0.5 s for its first token
_ASYNC_CLIENT = "the client is an AsyncOpenAI: `stream = await client.chat.completions.create(..., stream=True)`, then `async for chunk in stream`"


def _events(got: object) -> list[SSE]:
    return got.events if isinstance(got, Streamed) else []


def _not_json(event: SSE) -> bool:
    try:
        return not isinstance(event.json(), dict)
    except ValueError:
        return True


def route_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 13.1 an answer's stream shows (the first that sees itself gives the hint)."""
    return (
        Mistake("add the route as `@app.get(\"/chat/stream\")` on the app you are given",
                lambda got: isinstance(got, Streamed) and got.status in (404, 405)),
        Mistake("the route's parameter is `message` (GET /chat/stream?message=...): `async def chat_stream(message: str)`",
                lambda got: isinstance(got, Streamed) and got.status == 422),
        Mistake(_ASYNC_CLIENT, lambda got: raised(got, TypeError, "coroutine") or raised(got, AttributeError, "coroutine")),
        Mistake("an AsyncStream is read with `async for chunk in stream`, not `for`", lambda got: raised(got, TypeError, "AsyncStream")),
        Mistake("some chunks carry no choices (the last one, with usage): test `chunk.choices` before `chunk.choices[0]`",
                lambda got: raised(got, IndexError)),
        Mistake("send it as `text/event-stream`: EventSourceResponse does, or StreamingResponse(..., media_type='text/event-stream')",
                lambda got: isinstance(got, Streamed) and got.status == 200 and not got.content_type.startswith("text/event-stream")),
        Mistake("end every event with a blank line ('\\n\\n'): the browser dispatches an event only when the empty line after it arrives",
                lambda got: isinstance(got, Streamed) and "data:" in got.body and not got.events),
        Mistake("name each event (`event: text_delta`): without a name it is a `message` event, which a page listening for "
                "`text_delta` never sees", lambda got: any(event.event == "message" for event in _events(got))),
        Mistake("put one line of JSON after `data:` (json.dumps({'delta': piece})), never the text itself: a newline in it ends the line",
                lambda got: any(_not_json(event) for event in _events(got))),
    )


def _verify_answer(got: Streamed) -> None:
    assert got.status == 200, f"the route answered {got.status}: {got.body[:200]}"
    assert got.content_type.startswith("text/event-stream"), f"the content type is {got.content_type!r}, not text/event-stream"
    assert got.events, "no event reached the reader: each needs its lines and a blank line after them"
    assert all(not _not_json(event) for event in got.events), "every event's data must be a JSON object"
    errors = got.named("error")
    assert not errors, f"the stream sent an error event: {errors[0].data[:300]}"
    deltas = got.named("text_delta")
    assert deltas, f"no text_delta event among {sorted({event.event for event in got.events})}"
    assert all(isinstance(event.json().get("delta"), str) for event in deltas), 'each text_delta\'s data is {"delta": "<piece>"}'
    ends = got.named("response_complete")
    assert len(ends) == 1 and got.events[-1] is ends[0], "the stream ends with one response_complete event, and nothing after it"
    final = ends[0].json().get("final_response")
    assert final == "".join(event.json()["delta"] for event in deltas), "the text_delta pieces must join to response_complete's final_response"


def _verify_free_loop(got: Streamed) -> None:
    assert got.worst_gap < GAP_LIMIT, (
        f"the event loop stood still for {got.worst_gap:.2f} s while one answer streamed (no other request could be served)"
    )
    assert got.requests >= 1, "the route never used the client it was given: stream the answer from that AsyncOpenAI client"
    _verify_answer(got)


def _blocking(got: object) -> bool:
    return isinstance(got, Streamed) and got.worst_gap >= GAP_LIMIT


def _verify_leaving(got: Leaving) -> None:
    assert got.status == 200 and got.first_delta, f"over loopback the route answered {got.status} without a text_delta"
    assert got.content_type.startswith("text/event-stream"), f"over loopback the content type is {got.content_type!r}"
    assert got.requests >= 1, "the route never used the client it was given"
    assert not got.read_to_end_before_first, "the first piece reached the reader only after the model had finished"
    assert got.closed and not got.read_to_end, (
        "the model's stream went on to its end after the reader left" if got.read_to_end
        else "the model's stream was still open 5 s after the reader left"
    )


def _verify_error(got: Streamed) -> None:
    assert got.status == 200 and got.content_type.startswith("text/event-stream"), f"the route answered {got.status} {got.content_type!r}"
    assert got.events and got.events[-1].event == "error", (
        f"the last event is {got.events[-1].event if got.events else 'missing'}, not an `error` event"
    )
    data = got.events[-1].json()
    assert isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"], 'the error event\'s data is {"message": "<what failed>"}'
    assert not got.named("response_complete"), "a failed answer must not also send response_complete"


@exercise("13.1", hint=(
    "@app.get('/chat/stream') async def chat_stream(message: str): inside, an async generator that awaits "
    "client.chat.completions.create(model=model, messages=[{'role': 'user', 'content': message}], stream=True), then "
    "`async with stream:` and `async for chunk in stream:` yields {'event': 'text_delta', 'data': json.dumps({'delta': text})} "
    "for each piece, then a response_complete event with the joined text; `except openai.APIError as error:` yields an "
    "'error' event with str(error). Return EventSourceResponse(generator())."
))
def check_route(add_chat_route: AddRoute) -> Iterator[Case]:
    mistakes = route_mistakes()
    yield Case("an answer arrives as named events whose pieces join to the final text (in-process)",
               run=lambda: ask_in_process(add_chat_route, PACED_PROMPT, replayed=False), verify=_verify_answer,
               hint="yield a text_delta event per piece, then one response_complete; EventSourceResponse frames them", mistakes=mistakes)
    yield Case("the event loop stays free while an answer streams",
               run=lambda: _paced(ask_in_process(add_chat_route, PACED_PROMPT, replayed=True)), verify=_verify_free_loop,
               hint="await the AsyncOpenAI client's calls and read its stream with async for",
               mistakes=(Mistake("a synchronous OpenAI client inside `async def` blocks the event loop while it waits for the "
                                 "model: use the AsyncOpenAI client the route is given, with await and async for", _blocking),
                         *mistakes))
    yield Case("over loopback, text arrives while the model writes, and the model's stream stops when the reader leaves",
               run=lambda: _paced_sync(lambda: leave_early(add_chat_route)), verify=_verify_leaving,
               hint="read the model's stream inside the response's generator, in `async with stream:`, so the disconnect's "
                    "cancellation reaches it and closes it",
               mistakes=(Mistake("send each piece as it arrives: a generator that collects the answer first leaves the reader "
                                 "a blank page until the end", lambda got: isinstance(got, Leaving) and got.read_to_end_before_first),
                         Mistake("read the model's stream in the generator itself, not in a task or thread of its own: the "
                                 "disconnect cancels the generator, and only what runs inside it stops",
                                 lambda got: isinstance(got, Leaving) and got.read_to_end),
                         *mistakes))
    yield Case("an error from the model becomes an `error` event",
               run=lambda: ask_in_process(add_chat_route, UNRECORDED_PROMPT, replayed=True, max_retries=0), verify=_verify_error,
               hint='catch openai.APIError in the generator and yield {"event": "error", "data": json.dumps({"message": str(error)})}',
               mistakes=(Mistake("the model's call failed and the exception left the generator: the reader saw the connection "
                                 "break with no reason. Catch openai.APIError and send an `error` event",
                                 lambda got: raised(got, openai.APIError)),
                         *mistakes))


async def _paced(work: Awaitable[Streamed]) -> Streamed:
    with replay_speed(1):
        return await work


def _paced_sync(work: Callable[[], Leaving]) -> Leaving:
    with replay_speed(1):
        return work()


# -- exercise 13.2 (challenge): the page code that reads the stream --------------------------------------------------


def _shown_problem(got: Shown) -> str:
    """What is wrong with what the page showed, or "" when it showed the answer the route sent."""
    if not got.sent:
        return f"the route sent no complete answer; the page's status is {got.status!r}"
    if not got.finished:
        return f"the route sent the whole answer but the page wrote no status (#status is empty); it shows {got.answer[:60]!r}"
    if got.answer != got.sent[0]:
        return f"the page shows {_difference(got.answer, got.sent[0])}"
    if got.status != "done":
        return f"#status reads {got.status!r}, not 'done'"
    return ""


def _difference(shown: str, sent: str) -> str:
    """Where the text shown first differs from the text sent, in a few words."""
    at = next((i for i, (a, b) in enumerate(zip(shown, sent)) if a != b), min(len(shown), len(sent)))
    if at == len(sent):
        return f"the whole answer, then {len(shown) - at} characters more: {shown[at:at + 60]!r}"
    if at == len(shown):
        return f"only the first {at} of {len(sent)} characters: it lacks {sent[at:at + 60]!r}"
    return f"{shown[max(0, at - 20):at + 40]!r} where the route sent {sent[max(0, at - 20):at + 40]!r}"


def _verify_requests(got: Shown, method: str) -> None:
    methods = [asked.method for asked in got.asked]
    assert methods and methods[0] == method, f"{got.call} sent {methods[0] if methods else 'no request'}, not {method}"
    if method == "GET":
        assert "text/event-stream" in got.asked[0].accept, "askGet's request did not come from an EventSource"


def _verify_shown(method: str) -> Callable[[Shown], None]:
    def verify(got: Shown) -> None:
        _verify_requests(got, method)
        problem = _shown_problem(got)
        assert not problem, problem
        assert len(got.asked) == 1, f"the page asked {len(got.asked)} times for one question"
        assert not got.errors, f"the page raised {got.errors[0][:200]}"

    return verify


def _verify_inert(got: Shown) -> None:
    assert not got.xss_fired, "the answer's <img onerror> ran: model output was parsed as HTML"
    assert not got.markup, "#answer holds an <img> or <script> element that the answer's text spelled out"
    _verify_shown("GET")(got)


def _verify_failure_shown(got: Shown) -> None:
    _verify_requests(got, "GET")
    assert got.failed, f"the route sent no error event; the page's status is {got.status!r}"
    assert got.finished and got.failed[0] in got.status, (
        f"#status reads {got.status!r}; it should hold the error event's message, {got.failed[0][:80]!r}"
    )
    assert len(got.asked) == 1, f"the page asked {len(got.asked)} times for one question: after an error it must stop"
    assert not got.errors, f"the page raised {got.errors[0][:200]}"


def _shows_nothing(got: object) -> bool:
    return isinstance(got, Shown) and not got.finished and not got.answer and bool(got.asked) and not got.failed


def page_mistakes() -> tuple[Mistake, ...]:
    """The typical wrong answers to 13.2, from what the page showed and what the route saw."""
    return (
        Mistake("the script does not define askGet and askPost at its top level", lambda got: raised(got, RuntimeError, "failed")),
        Mistake("insert model text as text (node.append(text) or textContent += ...), never with innerHTML: "
                "the answer's markup became elements and its handlers ran", lambda got: isinstance(got, Shown) and (got.xss_fired or got.markup)),
        Mistake("the events are named (`event: text_delta`): `onmessage` fires only for events without a name. "
                "Listen with source.addEventListener('text_delta', ...)",
                lambda got: _shows_nothing(got) and got.call == "askGet"),
        Mistake("listen for the `error` event too: write its message in #status (and close the EventSource), or the reader "
                "never learns the answer failed", lambda got: isinstance(got, Shown) and bool(got.failed) and not got.finished),
        Mistake("close the EventSource on response_complete (and on error): when the stream ends it reconnects and asks again",
                lambda got: isinstance(got, Shown) and got.call == "askGet" and len(got.asked) > 1),
        Mistake("EventSource can only send GET: POST with fetch(url, {method: 'POST', ...}) and read response.body.getReader()",
                lambda got: isinstance(got, Shown) and got.call == "askPost" and any(asked.method == "GET" for asked in got.asked)),
        Mistake("a read can end in the middle of an event and hold the start of the next: keep the text after the last "
                "blank line for the next read, and decode with a TextDecoder in streaming mode",
                lambda got: isinstance(got, Shown) and got.call == "askPost" and bool(_shown_problem(got) or got.errors)),
    )


@exercise("13.2", hint=(
    "askGet: const source = new EventSource(`chat/stream?${new URLSearchParams({message})}`); "
    "source.addEventListener('text_delta', e => answer.append(JSON.parse(e.data).delta)); on 'response_complete' "
    "source.close() and status.textContent = 'done'; on 'error' source.close() and status.textContent = the data's message. "
    "askPost: const response = await fetch('chat/stream', {method: 'POST', "
    "headers: {'Content-Type': 'application/json'}, body: JSON.stringify({message})}); read response.body.pipeThrough(new "
    "TextDecoderStream()).getReader() in a loop, add each value to a buffer, split it on '\\n\\n', keep the last piece, and "
    "read each event's `event:` and `data:` lines."
))
def check_page(page_script: Callable[[], str]) -> Iterator[Case]:
    script = page_script()
    assert isinstance(script, str) and script.strip(), f"page_script() must return the JavaScript as a string, not {script!r}"
    mistakes = page_mistakes()
    with replay_speed(0), PageHarness(script) as page:
        yield Case("askGet: an EventSource reads the named events and the page shows the streamed text",
                   run=lambda: page.ask("askGet", ROUTE_PROMPTS["route_pack_list"]), verify=_verify_shown("GET"),
                   hint="open an EventSource on chat/stream?message=..., listen for text_delta and response_complete", mistakes=mistakes)
        yield Case("askPost: fetch and a stream reader show the same text, however the bytes are split",
                   run=lambda: page.ask("askPost", ROUTE_PROMPTS["route_pack_list"]), verify=_verify_shown("POST"),
                   hint="POST the JSON body with fetch, then read response.body's reader until done, splitting events on blank lines",
                   mistakes=mistakes)
        yield Case("a hostile answer (<img onerror>, <script>) is shown as text and runs nothing",
                   run=lambda: page.ask("askGet", ROUTE_PROMPTS["route_hostile"]), verify=_verify_inert,
                   hint="append each delta as text (element.append(delta)); never innerHTML", mistakes=mistakes)
        yield Case("an answer that fails shows the error's message and asks nothing more",
                   run=lambda: page.ask("askGet", UNRECORDED_PROMPT), verify=_verify_failure_shown,
                   hint="on the `error` event, write its message in #status and close the EventSource", mistakes=mistakes)
