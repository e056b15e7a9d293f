"""labs.timeline (typed rows, compaction, rendering, time stamps) and the check of exercise 5.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from labs.checks import _evaluate
from labs.lessons.lesson_05.checks import expected_row, recorded_runs
from labs.timeline import (
    AgentUpdatedRow,
    HandoffOccurredRow,
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


def test_the_checks_recorded_runs_hold_every_kind_of_row(runs: dict[str, list[tuple[float, Any]]]) -> None:
    kinds = {run: {row.type for row in compact(expected_row(at, e) for at, e in events)} for run, events in runs.items()}
    assert kinds["opening_scene"] == {"agent_updated", "text", "message_output_created"}
    assert kinds["cliff_climb"] == {"agent_updated", "text", "message_output_created", "tool_called", "tool_output"}
    assert {"handoff_requested", "handoff_occured"} <= kinds["oracle_handoff"]


def _reference(at: float, event: Any) -> object:
    return expected_row(at, event)


def _forgets_handoffs(at: float, event: Any) -> object:
    row = expected_row(at, event)
    return None if row is not None and row.type.startswith("handoff") else row


def _keeps_every_raw_event(at: float, event: Any) -> object:
    return expected_row(at, event) or (TextRow(at, "") if event.type == "raw_response_event" else None)


def _tool_output_not_stringified(at: float, event: Any) -> object:
    return ToolOutputRow(at, event.item.output) if getattr(event, "name", "") == "tool_output" else expected_row(at, event)


def _stub(at: float, event: Any) -> object:
    raise NotImplementedError("Exercise 5.1: complete timeline_row.")


def test_check_passes_the_reference() -> None:
    result = _evaluate("5.1", (_reference,))
    assert result.status == "passed" and len(result.cases) == 3


@pytest.mark.parametrize(
    ("answer", "failing_case", "message"),
    [
        (_forgets_handoffs, "a handoff to another agent", "for a handoff_requested event you returned None"),
        (_keeps_every_raw_event, "narration only: agent_updated, text deltas, one message", "for a response.created event"),
        (_tool_output_not_stringified, "tool calls between narration", "for a tool_output event"),
    ],
)
def test_check_fails_a_wrong_answer_and_says_where(answer: Any, failing_case: str, message: str) -> None:
    result = _evaluate("5.1", (answer,))
    failed = [case for case in result.cases if not case.passed]
    assert result.status == "failed" and failed[0].name == failing_case
    assert message in failed[0].message


def test_check_reports_an_untouched_exercise_as_not_done() -> None:
    assert _evaluate("5.1", (_stub,)).status == "not_done"
