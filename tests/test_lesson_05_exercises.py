"""Exercise 5.1 (each message's text, from the raw events) and 5.2, an open-ended challenge graded on behaviour:
show a run as the reader should see it.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
An untouched stub is "not done".
"""

from __future__ import annotations

from typing import Any

from agents import ItemHelpers
from openai.types.responses import ResponseTextDeltaEvent

from tests.exercise_support import AnswerTable, assert_not_done


# -- 5.1: each message's text, from the raw events ----------------------------------------------------------------


def texts_by_item(events: list[Any]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for event in events:
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta":
            texts[event.data.item_id] = texts.get(event.data.item_id, "") + event.data.delta
    return texts


def texts_from_finished_items(events: list[Any]) -> dict[str, str]:  # another right way: each message item once it is done
    return {event.data.item.id: "".join(part.text for part in event.data.item.content) for event in events
            if event.type == "raw_response_event" and event.data.type == "response.output_item.done" and event.data.item.type == "message"}


def texts_by_output_index(events: list[Any]) -> dict[int, str]:  # output_index restarts in every response
    texts: dict[int, str] = {}
    for event in events:
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent):
            texts[event.data.output_index] = texts.get(event.data.output_index, "") + event.data.delta
    return texts


def texts_of_the_first_item(events: list[Any]) -> dict[str, str]:  # takes position 0 for the answer
    texts: dict[str, str] = {}
    for event in events:
        if event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent) and event.data.output_index == 0:
            texts[event.data.item_id] = texts.get(event.data.item_id, "") + event.data.delta
    return texts


def a_delta_from_every_raw_event(events: list[Any]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for event in events:
        if event.type == "raw_response_event":
            texts[event.data.item_id] = texts.get(event.data.item_id, "") + event.data.delta
    return texts


def one_string(events: list[Any]) -> str:
    return "".join(e.data.delta for e in events if e.type == "raw_response_event" and isinstance(e.data, ResponseTextDeltaEvent))


ONE_MESSAGE = "one response, one message"
REASONING = "a reasoning model: the message comes after a reasoning item"
THREE_RESPONSES = "three responses, a message in each, between tool calls"


# -- 5.2: show a run as the reader should see it -----------------------------------------------------------------


def is_text(event: Any) -> bool:
    return event.type == "raw_response_event" and isinstance(event.data, ResponseTextDeltaEvent)


async def shows_the_run(events: Any) -> None:
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            print(f"\n🎲 {event.item.raw_item.name}({event.item.raw_item.arguments})", flush=True)
        elif event.type == "agent_updated_stream_event":
            print(f"\n→ {event.new_agent.name}", flush=True)


async def shows_raw_calls_and_handoffs(events: Any) -> None:  # another right way: tools from the raw stream, handoffs as run items
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "raw_response_event" and event.data.type == "response.output_item.added" and event.data.item.type == "function_call":
            print(f"\n[{event.data.item.name}]", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "handoff_occured":
            print(f"\n[{event.item.source_agent.name} hands over to {event.item.target_agent.name}]", flush=True)


async def text_when_the_message_is_done(events: Any) -> None:
    async for event in events:
        if event.type == "run_item_stream_event" and event.name == "message_output_created":
            print(ItemHelpers.text_message_output(event.item), flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            print(f"🎲 {event.item.raw_item.name}", flush=True)
        elif event.type == "agent_updated_stream_event":
            print(f"→ {event.new_agent.name}", flush=True)


async def text_only(events: Any) -> None:
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)


async def handoff_spelled_right(events: Any) -> None:  # 'handoff_occurred' as English spells it: the SDK never sends it
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            print(f"\n🎲 {event.item.raw_item.name}", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "handoff_occurred":
            print(f"\n→ {event.item.target_agent.name}", flush=True)


async def delta_of_every_raw_event(events: Any) -> None:
    async for event in events:
        if event.type == "raw_response_event":
            print(event.data.delta, end="", flush=True)


async def tool_after_it_ran(events: Any) -> None:
    called = {}
    async for event in events:
        if is_text(event):
            print(event.data.delta, end="", flush=True)
        elif event.type == "run_item_stream_event" and event.name == "tool_called":
            called[event.item.raw_item.call_id] = event.item.raw_item.name
        elif event.type == "run_item_stream_event" and event.name == "tool_output":
            print(f"\n🎲 {called[event.item.raw_item['call_id']]} → {event.item.output}", flush=True)
        elif event.type == "agent_updated_stream_event":
            print(f"\n→ {event.new_agent.name}", flush=True)


NARRATION = "narration only"
TOOLS = "tool calls between narration"
HANDOFF = "a handoff to another agent"


class TestAnswers(AnswerTable):
    right_answers = [("5.1", texts_by_item), ("5.1", texts_from_finished_items), ("5.2", shows_the_run), ("5.2", shows_raw_calls_and_handoffs)]
    wrong_answers = [
        ("5.1", texts_by_output_index, THREE_RESPONSES, "starts again at 0 in the next one"),
        ("5.1", texts_of_the_first_item, REASONING, "the response's second item"),
        ("5.1", a_delta_from_every_raw_event, ONE_MESSAGE, "only the response.output_text.delta events"),
        ("5.1", one_string, ONE_MESSAGE, "not one string"),
        ("5.2", text_when_the_message_is_done, NARRATION, "the text waited for its message"),
        ("5.2", text_only, TOOLS, "a tool call went unseen"),
        ("5.2", handoff_spelled_right, HANDOFF, "spells the run item 'handoff_occured'"),
        ("5.2", delta_of_every_raw_event, NARRATION, "not every raw_response_event carries text"),
        ("5.2", tool_after_it_ran, TOOLS, "named only after it had run"),
    ]


def untouched_texts(events: Any) -> dict[str, str]:
    raise NotImplementedError("Exercise 5.1: complete message_texts. Hint: one text per message item")


def test_an_untouched_5_1_stub_is_not_done() -> None:
    assert_not_done("5.1", untouched_texts, "complete message_texts")


async def untouched_handler(events: Any) -> None:
    raise NotImplementedError("Exercise 5.2: show the run as it happens")


def test_an_untouched_stub_is_not_done() -> None:
    assert_not_done("5.2", untouched_handler, "show the ")
