"""labs.azure_events: event order tables, the generated event reference, recorded streams cut awkwardly."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from azure.ai.agents.models import (
    AgentEventHandler,
    AsyncAgentEventHandler,
    MessageDeltaChunk,
    RunStep,
    RunStepDeltaChunk,
    RunStepStatus,
    ThreadMessage,
    ThreadRun,
)

from labs.azure_events import (
    EventOrder,
    awkward_chunks,
    callbacks_never_called,
    event_reference,
    gist,
    recorded_streams,
    replay_into,
    unseen_event_types,
)
from labs.recordings import fixture

GUIDE = "07_azure_event_handlers/trail_guide"
DESK = "09_azure_tools_and_async/weather_desk"


def streamed_events(name: str) -> list[list[Any]]:
    return [i.response.events for i in fixture(name).interactions if i.response.events is not None and i.request.streamed]


# -- EventOrder -----------------------------------------------------------------------------------------


def test_event_order_folds_consecutive_deltas_only() -> None:
    order = EventOrder(
        [
            ("thread.run.created", "queued"),
            ("thread.run.queued", "queued"),
            ("thread.message.delta", "Hel"),
            ("thread.message.delta", "lo"),
            ("thread.message.completed", "completed"),
            ("thread.message.delta", "!"),
            ("done", None),
        ]
    )
    assert order.names() == ["thread.run.created", "thread.run.queued", "thread.message.delta", "thread.message.completed", "thread.message.delta", "done"]
    assert (order[2].detail, order[2].count) == ("Hello", 2)
    assert order[1].count == 1, "two run events in a row are two rows, not one folded row"


def test_event_order_reads_enums_tuples_and_none_plainly() -> None:
    order = EventOrder([("on_run_step", ("message_creation", RunStepStatus.COMPLETED)), ("on_done", None)], heading=("callback", "returned"))
    assert [row.detail for row in order] == ["message_creation completed", ""]
    assert repr(order).splitlines() == ["  #  callback     returned", "  1  on_run_step  message_creation completed", "  2  on_done"]


def test_event_order_markdown_escapes_pipes_and_shortens_folded_text() -> None:
    markdown = EventOrder([("on_error", "a|b"), *[("on_message_delta", "word ")] * 20])._repr_markdown_()
    assert "| 1 | `on_error` | a\\|b |" in markdown
    assert "`on_message_delta ×20` | 'word word word" in markdown and "…'" in markdown


# -- recorded streams, cut awkwardly --------------------------------------------------------------------


def test_recorded_streams_are_the_wire_bytes_azure_expects() -> None:
    streams = recorded_streams(DESK)
    assert len(streams) == len(streamed_events(DESK)) == 7
    for body in streams:
        assert b"\r" not in body, "LF only: the SDK splits on a literal blank line"
        assert body.endswith(b"event: done\ndata: [DONE]\n\n")


def test_awkward_chunks_cut_mid_event_between_line_feeds_and_mid_character() -> None:
    body = recorded_streams(GUIDE)[0]
    chunks = awkward_chunks(body)
    assert b"".join(chunks) == body
    cuts = [sum(map(len, chunks[: i + 1])) for i in range(len(chunks) - 1)]
    assert chunks[0] == b"event: th", "the first cut is inside the first event line"
    assert body.index(b"\n\n") + 1 in cuts, "one cut falls between the two line feeds that end an event"
    assert any(body[cut - 1] >= 0xC0 for cut in cuts), "one cut falls right after the lead byte of a character"
    with pytest.raises(UnicodeDecodeError):
        [chunk.decode("utf-8") for chunk in chunks]  # a reader that decodes chunk by chunk breaks here


def test_awkward_chunks_need_a_multibyte_character() -> None:
    with pytest.raises(ValueError, match="no multi-byte"):
        awkward_chunks(b"event: done\ndata: [DONE]\n\n")


@pytest.mark.parametrize("name", [GUIDE, DESK])
def test_the_sdk_parses_awkward_chunks_as_the_whole_body(name: str) -> None:
    for body in recorded_streams(name):
        whole = [(t, repr(obj)) for t, obj, _ in replay_into(AgentEventHandler(), [body])]
        if max(body) < 0xC0:
            continue
        cut = [(t, repr(obj)) for t, obj, _ in replay_into(AgentEventHandler(), awkward_chunks(body))]
        assert cut == whole


async def test_the_async_handler_parses_awkward_chunks_too() -> None:
    body = recorded_streams(GUIDE)[0]

    async def arrive(chunks: list[bytes]) -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def parse(chunks: list[bytes]) -> tuple[list[str], str]:
        handler = AsyncAgentEventHandler()

        async def submit_nothing(run: Any, handler: Any, retry: bool) -> list[Any]:
            return []

        handler.initialize(arrive(chunks), submit_nothing)
        events, text = [], ""
        async for event_type, obj, _ in handler:
            events.append(event_type)
            text += obj.text if isinstance(obj, MessageDeltaChunk) else ""
        return events, text

    assert await parse(awkward_chunks(body)) == await parse([body])
    events, text = await parse(awkward_chunks(body))
    assert events == [e.event for e in streamed_events(GUIDE)[0]]
    assert "—" in text


def test_replay_into_chains_streams_as_the_sdk_does_after_submitting_outputs() -> None:
    first, second = recorded_streams(DESK)[:2]
    events = [event_type for event_type, _, _ in replay_into(AgentEventHandler(), [first], [second])]
    assert events == [e.event for stream in streamed_events(DESK)[:2] for e in stream]
    assert events.count("done") == 2


# -- the event reference --------------------------------------------------------------------------------

# The SDK's dispatch, written out independently of the code under test.
CALLBACKS = [
    ("thread.run.step.delta", RunStepDeltaChunk, "on_run_step_delta"),
    ("thread.run.step.", RunStep, "on_run_step"),
    ("thread.run.", ThreadRun, "on_thread_run"),
    ("thread.message.delta", MessageDeltaChunk, "on_message_delta"),
    ("thread.message.", ThreadMessage, "on_thread_message"),
    ("done", str, "on_done"),
]


def test_event_reference_covers_every_recorded_type_with_its_object_callback_and_count() -> None:
    reference = event_reference([GUIDE, DESK])
    recorded = Counter(e.event for name in (GUIDE, DESK) for stream in streamed_events(name) for e in stream)
    assert {row.event: row.seen for row in reference} == dict(recorded)
    for row in reference:
        model, callback = next((m, c) for prefix, m, c in CALLBACKS if row.event.startswith(prefix))
        assert (row.sdk_object, row.callback) == (model.__name__, callback), row.event
    assert dict(reference.find("thread.run.requires_action").readings)["….function.arguments"] == "'{\"city\":\"Bergen\"}'"
    assert dict(reference.find("thread.run.completed").readings)["run.usage.total_tokens"].isdigit()


def test_event_reference_lists_types_in_the_sdks_order_and_what_it_never_saw() -> None:
    reference = event_reference([GUIDE])
    events = [row.event for row in reference]
    assert events.index("thread.run.completed") < events.index("thread.run.step.created") < events.index("done")
    assert "thread.run.requires_action" not in events
    assert "thread.run.requires_action" in unseen_event_types(reference) and "error" in unseen_event_types(reference)
    with pytest.raises(KeyError, match="trail_guide"):
        reference.find("thread.run.requires_action")


def test_event_reference_displays_as_a_table() -> None:
    markdown = event_reference([GUIDE])._repr_markdown_()
    assert markdown.splitlines()[0].startswith("| event | SDK object | callback | seen |")
    assert "| `thread.message.delta` | `MessageDeltaChunk` | `on_message_delta` |" in markdown


# -- handlers -------------------------------------------------------------------------------------------


def test_callbacks_never_called_finds_names_the_sdk_does_not_know() -> None:
    class Recipe(AgentEventHandler):
        def on_message_delta(self, delta: MessageDeltaChunk) -> None: ...

        def on_thread_run_completed(self, run: ThreadRun) -> None: ...

    class Later(Recipe):
        def on_run_step_created(self, step: RunStep) -> None: ...

    class AsyncTypo(AsyncAgentEventHandler):
        async def on_message_delat(self, delta: MessageDeltaChunk) -> None: ...

    assert callbacks_never_called(Later) == ["on_run_step_created", "on_thread_run_completed"]
    assert callbacks_never_called(AsyncTypo) == ["on_message_delat"]
    assert callbacks_never_called(AgentEventHandler) == []


def test_gist_keeps_the_short_of_each_object() -> None:
    parsed: dict[str, Any] = {}
    for event_type, obj, _ in replay_into(AgentEventHandler(), *[[body] for body in recorded_streams(DESK)[:2]]):
        parsed.setdefault(event_type, obj)
    assert gist(parsed["thread.run.requires_action"]) == "requires_action"
    assert [getattr(part, "value", part) for part in gist(parsed["thread.run.step.created"])] == ["tool_calls", "in_progress"]
    assert isinstance(gist(parsed["thread.message.delta"]), str)
    assert gist(parsed["done"]) is None


def test_model_text_in_an_event_table_is_escaped_for_the_markdown_view() -> None:
    table = EventOrder([("thread.message.delta", "<img src=x onerror=alert(1)>"), ("done", "a | b")])._repr_markdown_()
    assert "<img" not in table and "&lt;img src=x onerror=alert(1)&gt;" in table and "a \\| b" in table
