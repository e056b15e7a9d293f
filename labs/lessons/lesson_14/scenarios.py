"""Lesson 14: fault fixtures (429, 500, a dropped connection, a stall, a malformed event, bad tool arguments).
Lesson 16 has the latency scenarios and the long answer for the Stop button.

Errors (429 with Retry-After, 500) are scripted in the stand-in and recorded as they happen: the SDK's own
retry sends the second request, which the recording keeps. A dropped connection, a stall and a malformed
event cannot be recorded from a healthy service, so those scenarios record the full stream, then the
lesson's continuation request exactly as `labs.resilience.ResumableAnswer` builds it from the text the
fault lets through, and finally `_enact` post-processes the written fixture: it adds the `fault` key
(`drop_after`, `stall_after`/`stall_seconds`) or inserts a `raw` event (half of the next event, as a
proxy that cut it would send), and says so in the fixture's comment. The events after a fault stay in
the file: they are what the service sent, and the replay server never reaches them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ... import clients
from ...replay.cassette import RecordedEvent, dump_cassette, load_cassette
from ...config import settings
from ...resilience import continuation_messages
from ...toolcalls import accumulate_tool_calls, assistant_message, run_tool_calls
from .. import Reply, Scenario, ToolCall
from ...replay.standins import tokens

FOLDER = "14_resilience"
SYSTEM = {"role": "system", "content": "You are an outdoor gear advisor. Answer in under 80 words."}


def ask(question: str) -> list[dict[str, str]]:
    return [SYSTEM, {"role": "user", "content": question}]


# -- errors before the stream: the SDK retries them -----------------------------------------------

RATE_LIMITED = ask("What belongs in a first-aid kit for a day hike?")
RATE_LIMITED_ANSWER = (
    "Pack plasters in several sizes, blister dressings, sterile wipes, a crepe bandage, tape, painkillers, "
    "antihistamines, tweezers for ticks and splinters, a foil survival blanket and a whistle. Add any "
    "personal medication, and check the kit before every season."
)
RATE_LIMIT_ERROR = {
    "error": {
        "message": "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3. Please try again in 1s.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}

SERVER_ERROR = ask("How do I choose the right size of hiking boots?")
SERVER_ERROR_ANSWER = (
    "Try boots on in the afternoon, when your feet are largest, wearing your hiking socks. Leave a "
    "finger's width behind the heel, and make sure your toes do not touch the front on a downhill ramp. "
    "The heel should not lift more than a few millimetres as you walk."
)
INTERNAL_ERROR = {"error": {"message": "The server had an error while processing your request. Sorry about that!", "type": "server_error", "param": None, "code": None}}

# -- failures in the middle of the stream: only a retry around the whole call helps ----------------

DROPPED = ask("How should I pack a 30-litre daypack?")
DROPPED_ANSWER = (
    "Put light, bulky things such as a spare fleece at the bottom, heavy items like water and food in the "
    "middle close to your back, and the things you reach for often on top: a rain jacket, snacks and the "
    "map. Use the lid for a headlamp and first-aid kit, and the side pockets for a water bottle. Tighten "
    "the compression straps so nothing shifts as you walk."
)
DROP_AFTER = 24

STALLED = ask("How much water should I carry on a summer hike?")
STALLED_ANSWER = (
    "Plan on about half a litre per hour of moderate walking, more in heat or on steep climbs. For a "
    "five-hour summer hike that means two and a half to three litres. Drink a little every twenty "
    "minutes rather than a lot at once, and carry a filter if the route passes streams, so you can refill "
    "instead of carrying everything."
)
STALL_AFTER, STALL_SECONDS = 18, 8

MALFORMED = ask("How do I stay warm in my sleeping bag on a cold night?")
MALFORMED_ANSWER = (
    "Eat a warm snack before bed, go to sleep warm rather than cold, and wear a dry base layer and a hat. "
    "Put an insulated mat under you: the ground steals more heat than the air. Keep tomorrow's clothes "
    "in the bag's foot so they are warm in the morning, and open the vent a little to avoid condensation."
)
MALFORMED_AT = 20

GIVES_UP = ask("What are the early signs of hypothermia?")
GIVES_UP_ANSWER = (
    "Watch for shivering that will not stop, clumsy hands, slurred speech, confusion and poor decisions, "
    "and a person who suddenly goes quiet or falls behind. Stop, get them into dry layers and out of the "
    "wind, give them something warm and sweet to drink, and share body heat."
)
GIVES_UP_DROP_AFTER = 16


def partial_text(answer: str, events: int) -> str:
    """The text the first `events` events of the stand-in's stream carry (event 0 is the role chunk)."""
    return "".join(tokens(answer)[: events - 1])


def continuation(answer: str, events: int, repeated_words: int = 2) -> str:
    """What the model answers when asked to continue: the last few words again, then the rest."""
    partial = partial_text(answer, events)
    repeated = " ".join(partial.split()[-repeated_words:])
    return repeated + answer[len(partial) :]


# -- a tool call whose arguments are not valid JSON -----------------------------------------------

FORECAST_QUESTION = ask("Will it rain on Ben Nevis tomorrow?")
FORECAST_TOOL = {
    "type": "function",
    "function": {
        "name": "get_forecast",
        "description": "The mountain weather forecast for a place and a day.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "day": {"type": "string", "description": "today, tomorrow or a date"}},
            "required": ["location", "day"],
        },
    },
}
BAD_ARGUMENTS = '{"location": "Ben Nevis, "day": "tomorrow"}'
GOOD_ARGUMENTS = '{"location": "Ben Nevis", "day": "tomorrow"}'
FORECAST_ANSWER = (
    "Yes: showers are likely on Ben Nevis tomorrow (80% chance), with gusts near 60 km/h on the summit. "
    "Start early, pack a full waterproof layer and gloves, and be ready to turn back if the wind rises."
)


def get_forecast(location: str, day: str) -> dict[str, Any]:
    """The stand-in tool the lesson calls: a fixed forecast, so the recorded answer matches it."""
    return {"location": location, "day": day, "rain_chance": 0.8, "summary": "showers, summit gusts near 60 km/h"}


# -- the runs: the lesson's SDK calls, through record mode -----------------------------------------


def stream_text(messages: list[dict[str, Any]], events: int | None = None) -> str:
    """Stream an answer as the lesson does; return the text of its first `events` events (all by default)."""
    client = clients.openai_client()
    text = ""
    with client.chat.completions.create(model=clients.model(), messages=messages, stream=True) as stream:
        for n, chunk in enumerate(stream, start=1):
            if events is None or n <= events:
                text += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    return text


def fault_then_continue(messages: list[dict[str, Any]], answer: str, events: int) -> Callable[[], None]:
    """The original stream, then the lesson's continuation request built from the text the fault lets through."""

    def run() -> None:
        partial = stream_text(messages, events)
        assert partial == partial_text(answer, events), f"the stand-in cut the answer differently: {partial!r}"
        stream_text(continuation_messages(messages, partial))

    return run


def bad_tool_arguments() -> None:
    # The lesson's loop: stream, put the tool calls together, run them (bad arguments become an error result
    # for the model), send the results back, until the model answers in text.
    client = clients.openai_client()
    messages: list[dict[str, Any]] = list(FORECAST_QUESTION)
    for _ in range(3):
        with client.chat.completions.create(model=clients.model(), messages=messages, tools=[FORECAST_TOOL], stream=True) as stream:
            calls = accumulate_tool_calls(stream)
        if not calls:
            return
        results = run_tool_calls(calls, {"get_forecast": get_forecast})
        messages += [assistant_message(calls), *(result.message() for result in results)]


# -- post-processing: enact the faults a healthy stand-in cannot produce ----------------------------


def _enact(name: str, interactions: int, edit: Callable[[Any], str], run: Callable[[], None]) -> Callable[[], None]:
    """`run`, then, once record mode has written all its requests, add the fault and say so in the comment."""

    def enacted() -> None:
        run()
        # Record mode writes below LABS_RECORD_DIR, which `author` points at its folder (labs/fixtures by default).
        path = settings().record_dir / f"{FOLDER}/{name}.yaml"
        cassette = _wait_for(path, interactions)
        note = edit(cassette)
        if note:
            cassette.comment = f"{cassette.comment} {note}"
        dump_cassette(cassette, path)

    return enacted


def _wait_for(path: Path, interactions: int, timeout: float = 15.0) -> Any:
    # Record mode writes the fixture when each streamed response has ended, which is just after the SDK
    # has read it; poll the file until every request of the scenario is in it.
    deadline = time.monotonic() + timeout
    while True:
        try:
            cassette = load_cassette(path)
            if len(cassette.interactions) == interactions and all(
                i.response.events is None or (i.response.events and i.response.events[-1].data == "[DONE]") for i in cassette.interactions
            ):
                return cassette
        except Exception:  # the file may be half written; read it again
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path.name} did not reach {interactions} complete interactions")
        time.sleep(0.02)


def _drop(cassette: Any) -> str:
    cassette.interactions[0].response.fault = {"drop_after": DROP_AFTER}
    return f"(Post-processed: the first stream's connection is dropped after {DROP_AFTER} events.)"


def _stall(cassette: Any) -> str:
    cassette.interactions[0].response.fault = {"stall_after": STALL_AFTER, "stall_seconds": STALL_SECONDS}
    return f"(Post-processed: the first stream goes silent for {STALL_SECONDS} s after {STALL_AFTER} events.)"


def _malformed(cassette: Any) -> str:
    events = cassette.interactions[0].response.events
    cut = events[MALFORMED_AT]
    half = cut.data[: len(cut.data) // 2]
    events.insert(MALFORMED_AT, RecordedEvent(t=cut.t, raw=f"data: {half}\n\n"))
    return f"(Post-processed: event {MALFORMED_AT} of the first stream is preceded by the first half of itself, sent raw, as a proxy that cut it would.)"


def _gives_up(cassette: Any) -> str:
    cassette.interactions[0].response.fault = {"drop_after": GIVES_UP_DROP_AFTER}
    cassette.interactions[1].response.fault = {"drop_after": 1}
    return (
        f"(Post-processed: the first stream drops after {GIVES_UP_DROP_AFTER} events; the continuation drops after its "
        "role chunk, every time it is asked, so a client with three attempts must give up.)"
    )


def _check_tool_round(cassette: Any) -> str:
    first = cassette.interactions[0].response.events
    arguments = "".join(
        (json.loads(e.data)["choices"][0]["delta"].get("tool_calls") or [{}])[0].get("function", {}).get("arguments", "")
        for e in first
        if e.data.startswith("{") and json.loads(e.data)["choices"]
    )
    assert arguments == BAD_ARGUMENTS, arguments
    return ""


def _fault_scenario(name: str, comment: str, messages: list[dict[str, Any]], answer: str, events: int, edit: Callable[[Any], str]) -> Scenario:
    """A mid-stream fault: the whole answer, then the continuation from its first `events` events; `edit` enacts the fault."""
    replies = [Reply(text=answer, gap=0.02), Reply(text=continuation(answer, events), gap=0.02)]
    return Scenario(f"{FOLDER}/{name}", comment, replies, _enact(name, 2, edit, fault_then_continue(messages, answer, events)))


# Kept as runs: the notebook asks through labs.fault_server(), which replays in every mode (record mode included),
# and the stand-in cannot drop, stall or cut a stream when asked; so no cell's request reaches it.
SCENARIOS = [
    Scenario(
        f"{FOLDER}/rate_limited",
        "HTTP 429 with Retry-After: 1, then the streamed answer. The openai SDK retries on its own (max_retries), "
        "so the second request is the SDK's retry (header x-stainless-retry-count: 1), not the lesson's.",
        [Reply(status=429, error=RATE_LIMIT_ERROR, headers={"retry-after": "1"}), Reply(text=RATE_LIMITED_ANSWER)],
        lambda: stream_text(RATE_LIMITED),
    ),
    Scenario(
        f"{FOLDER}/server_error",
        "HTTP 500, then the streamed answer: the SDK's own retry, after its backoff.",
        [Reply(status=500, error=INTERNAL_ERROR), Reply(text=SERVER_ERROR_ANSWER)],
        lambda: stream_text(SERVER_ERROR),
    ),
    _fault_scenario(
        "dropped",
        "The connection drops in the middle of the answer. The second request is the lesson's continuation: the "
        "text received so far as an assistant message and a request to continue; the model repeats its last two "
        "words, which the lesson trims.",
        DROPPED,
        DROPPED_ANSWER,
        DROP_AFTER,
        _drop,
    ),
    _fault_scenario(
        "stalled",
        "The stream goes silent in the middle, longer than the lesson's read timeout; the second request is the "
        "continuation from the text received before the stall.",
        STALLED,
        STALLED_ANSWER,
        STALL_AFTER,
        _stall,
    ),
    _fault_scenario(
        "malformed",
        "A malformed event in the middle of the stream (JSON cut in half), which the SDK cannot parse; the second "
        "request is the continuation from the text before it.",
        MALFORMED,
        MALFORMED_ANSWER,
        MALFORMED_AT,
        _malformed,
    ),
    _fault_scenario(
        "gives_up",
        "A connection that keeps dropping: the continuation never gets past its first event, so the lesson's "
        "client must stop and report the text it kept.",
        GIVES_UP,
        GIVES_UP_ANSWER,
        GIVES_UP_DROP_AFTER,
        _gives_up,
    ),
    Scenario(
        f"{FOLDER}/bad_tool_arguments",
        "A tool call whose arguments are not valid JSON (a missing quote). The lesson answers it with a tool error "
        "message; the model calls the tool again with valid arguments, then answers from the forecast.",
        [
            Reply(tool_calls=[ToolCall("get_forecast", BAD_ARGUMENTS)]),
            Reply(tool_calls=[ToolCall("get_forecast", GOOD_ARGUMENTS)]),
            Reply(text=FORECAST_ANSWER),
        ],
        _enact("bad_tool_arguments", 3, _check_tool_round, bad_tool_arguments),
    ),
]
