"""Lesson 16: latency scenarios with different paces (a short and a long answer, a slow first token, slow
tokens), for the metrics and the streaming vs non-streaming plot, and a long answer for the Stop button.

The paces are scripted in the stand-in (`first_token`, `gap`) and kept in the recording's event times; the
lesson plays them at speed 1 on `labs.fault_server()`, in every mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import clients
from .. import Reply, Scenario
from ..lesson_14.scenarios import ask, stream_text

__all__ = ["FOLDER", "LATENCY", "SCENARIOS", "STOPPED", "STOPPED_ANSWER", "USAGE"]

FOLDER = "16_latency_and_stop"


# -- latency: several paces, for the metrics and the streaming vs non-streaming plot ----------------

LATENCY = {
    "short answer": (ask("Name one essential item for a winter hike."), "A warm hat: you lose a lot of heat through your head, and it weighs almost nothing.", 0.45, 0.03),
    "long answer": (
        ask("Give me a packing checklist for a weekend backpacking trip."),
        "Shelter: tent, sleeping bag, sleeping mat. Kitchen: stove, fuel, pot, lighter, spoon, food for two days "
        "plus a spare meal. Water: two bottles and a filter. Clothing: base layer, fleece, waterproof jacket and "
        "trousers, hat, gloves, spare socks. Navigation: map, compass, charged phone. Safety: first-aid kit, "
        "headlamp, whistle, sun cream. Pack the heavy kitchen and water near your back.",
        0.5,
        0.02,
    ),
    "slow first token": (
        ask("Suggest a sunrise hike near Edinburgh."),
        "Climb Arthur's Seat from Dunsapie Loch: about twenty minutes to the summit, with the sunrise over the "
        "Firth of Forth. Bring a torch for the way up and a warm layer for the wait at the top.",
        1.9,
        0.03,
    ),
    "slow tokens": (
        ask("How do trekking poles help on descents?"),
        "They take weight off your knees, give you two more points of contact on loose ground, and help you keep a steady rhythm.",
        0.5,
        0.09,
    ),
}
USAGE = {"include_usage": True}

STOPPED = ask("Describe a two-day hut-to-hut walk in the Alps.")
STOPPED_ANSWER = (
    "Day one: leave the valley early and climb through larch forest to the first hut, about five hours and "
    "1,200 metres of ascent. Arrive by mid-afternoon, claim a bunk, and watch the light fade on the peaks "
    "over dinner. Day two: cross the high pass at dawn while the snow is firm, traverse a balcony path with "
    "views of the glaciers, and descend to the next valley for a late lunch and the bus home."
)


def stream_with_usage(messages: list[dict[str, Any]]) -> Callable[[], None]:
    def run() -> None:
        client = clients.openai_client()
        for _ in client.chat.completions.create(model=clients.model(), messages=messages, stream=True, stream_options=USAGE):
            pass

    return run


# Kept as runs: the notebook asks through labs.fault_server(), which replays in every mode (record mode included),
# so no cell's request reaches the stand-in.
SCENARIOS = [
    *[
        Scenario(
            f"{FOLDER}/latency_{label.replace(' ', '_')}",
            f"Latency scenario '{label}': first token after about {first:g} s, then a token every {gap * 1000:g} ms or so "
            "(with a usage chunk). Played at speed 1 streamed and not streamed, for the metrics and the plot.",
            [Reply(text=answer, first_token=first, gap=gap)],
            stream_with_usage(messages),
        )
        for label, (messages, answer, first, gap) in LATENCY.items()
    ],
    Scenario(
        f"{FOLDER}/stopped_by_reader",
        "A long answer, recorded whole; the lesson's Stop button closes the stream part way, and keeps what arrived.",
        [Reply(text=STOPPED_ANSWER, gap=0.03)],
        lambda: stream_text(STOPPED),
    ),
]
