"""labs.timeline (typed rows, compaction, rendering, time stamps) and the check of exercise 6.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from labs.checks import evaluate
from labs.lessons.lesson_05.checks import recorded_runs
from labs.timeline import (
    AgentUpdatedRow,
    HandoffOccurredRow,
    HandoffRequestedRow,
    MessageRow,
    TextRow,
    ToolCalledRow,
    ToolOutputRow,
    compact,
    render,
    timed,
)


def test_compact_merges_neighbouring_text_rows_and_drops_nones() -> None:
    rows = [AgentUpdatedRow(0.0, "GM"), TextRow(0.5, "You "), None, TextRow(0.6, "climb."), ToolCalledRow(0.9, "roll_die", '{"sides":20}'),
            ToolOutputRow(1.0, "19"), TextRow(1.4, "19!")]
    assert compact(rows) == [AgentUpdatedRow(0.0, "GM"), TextRow(0.5, "You climb."), ToolCalledRow(0.9, "roll_die", '{"sides":20}'),
                             ToolOutputRow(1.0, "19"), TextRow(1.4, "19!")]


def test_render_lays_out_time_kind_and_summary() -> None:
    rows = [TextRow(0.5, "You\nclimb."), HandoffOccurredRow(12.25, "Game master", "Oracle")]
    assert render(rows) == (
        "  0.50 s  text             'You climb.'\n"
        " 12.25 s  handoff_occured  Game master → Oracle"
    )
    assert render([]) == ""


def test_summaries_fit_on_one_line() -> None:
    long = MessageRow(1.0, "Oracle", "word " * 100)
    assert len(long.summary) == 72 and long.summary.endswith("…") and "\n" not in long.summary


async def _events(n: int) -> AsyncIterator[int]:
    for i in range(n):
        await asyncio.sleep(0)
        yield i


async def test_timed_stamps_each_event_with_a_growing_time() -> None:
    stamped = [pair async for pair in timed(_events(5))]
    assert [event for _, event in stamped] == list(range(5))
    times = [at for at, _ in stamped]
    assert times == sorted(times) and times[0] >= 0


@pytest.fixture(scope="module")
def runs() -> dict[str, list[tuple[float, Any]]]:
    return recorded_runs()


def _written_answer(at: float, event: Any) -> object:
    """Exercise 6.1 answered from the openai-agents documentation, without the checker's own expected rows."""
    from agents import ItemHelpers
    from openai.types.responses import ResponseTextDeltaEvent

    if event.type == "agent_updated_stream_event":
        return AgentUpdatedRow(at, event.new_agent.name)
    if event.type == "raw_response_event":
        return TextRow(at, event.data.delta) if isinstance(event.data, ResponseTextDeltaEvent) else None
    item = event.item
    match event.name:
        case "tool_called":
            return ToolCalledRow(at, item.raw_item.name, item.raw_item.arguments)
        case "tool_output":
            return ToolOutputRow(at, str(item.output))
        case "message_output_created":
            return MessageRow(at, item.agent.name, ItemHelpers.text_message_output(item))
        case "handoff_requested":
            return HandoffRequestedRow(at, item.raw_item.name)
        case "handoff_occured":
            return HandoffOccurredRow(at, item.source_agent.name, item.target_agent.name)
    return None


def _what(row: Any) -> tuple[str, ...]:
    """A row without its time, its long texts cut to their first words."""
    fields = {k: v for k, v in row.__dict__.items() if k not in ("at", "type")}
    return (row.type, *(v[:24] if k == "text" else v for k, v in fields.items()))


def test_the_recorded_runs_give_the_rows_the_recordings_say(runs: dict[str, list[tuple[float, Any]]]) -> None:
    # What the fixtures of labs/fixtures/05_agents_sdk_streaming and 06_agents_sdk_handoffs_and_chat hold, written out by hand.
    rows = {run: [_what(row) for row in compact(_written_answer(at, e) for at, e in events)] for run, events in runs.items()}
    assert rows["opening_scene"] == [
        ("agent_updated", "Storyteller"),
        ("text", "Dusk paints the Ember Cl"),
        ("message_output_created", "Storyteller", "Dusk paints the Ember Cl"),
    ]
    assert rows["cliff_climb"][3:5] == [("tool_called", "roll_die", '{"sides": 20}'), ("tool_output", "19")]
    assert rows["cliff_climb"][7:9] == [("tool_called", "flip_coin", "{}"), ("tool_output", "heads")]
    assert rows["oracle_handoff"][:4] == [
        ("agent_updated", "Game master"),
        ("handoff_requested", "transfer_to_oracle"),
        ("handoff_occured", "Game master", "Oracle"),
        ("agent_updated", "Oracle"),
    ]
    assert [row[0] for row in rows["oracle_handoff"][4:]] == ["text", "message_output_created", "tool_called", "tool_output", "text", "message_output_created"]


def _forgets_handoffs(at: float, event: Any) -> object:
    row = _written_answer(at, event)
    return None if row is not None and row.type.startswith("handoff") else row


def _keeps_every_raw_event(at: float, event: Any) -> object:
    return _written_answer(at, event) or (TextRow(at, "") if event.type == "raw_response_event" else None)


def _tool_output_not_stringified(at: float, event: Any) -> object:
    return ToolOutputRow(at, event.item.output) if getattr(event, "name", "") == "tool_output" else _written_answer(at, event)


def _handoff_backwards(at: float, event: Any) -> object:
    row = _written_answer(at, event)
    return HandoffOccurredRow(at, row.target, row.source) if isinstance(row, HandoffOccurredRow) else row


def _stub(at: float, event: Any) -> object:
    raise NotImplementedError("Exercise 6.1: complete timeline_row.")


def test_check_passes_a_right_answer() -> None:
    # Mutation the old test (which graded the checker's own expected_row) missed: expected_row swapping a
    # handoff's source and target. A right answer written independently then fails, so this test does.
    result = evaluate("6.1", _written_answer)
    assert result.status == "passed" and len(result.cases) == 3


@pytest.mark.parametrize(
    ("answer", "failing_case", "message"),
    [
        (_forgets_handoffs, "a handoff to another agent", "for a handoff_requested event you returned None"),
        (_keeps_every_raw_event, "narration only: agent_updated, text deltas, one message", "for a response.created event"),
        (_tool_output_not_stringified, "tool calls between narration", "for a tool_output event"),
        (_handoff_backwards, "a handoff to another agent", "for a handoff_occured event"),
    ],
)
def test_check_fails_a_wrong_answer_and_says_where(answer: Any, failing_case: str, message: str) -> None:
    result = evaluate("6.1", answer)
    failed = [case for case in result.cases if not case.passed]
    assert result.status == "failed" and failed[0].name == failing_case
    assert message in failed[0].message


def test_check_reports_an_untouched_exercise_as_not_done() -> None:
    assert evaluate("6.1", _stub).status == "not_done"
