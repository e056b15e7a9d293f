"""Exercises 8.1 (a run's events as plain data) and 8.2 (challenge: how long the reader waited), graded on behaviour.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`). An untouched stub is "not done", for 8.2
although the SDK swallows the NotImplementedError a callback raises. 8.2's check reads the clock around each
event, so its tests hold at any machine speed: no sleeps, no timing thresholds.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from azure.ai.agents.models import AgentEventHandler, BaseAgentEventHandler, MessageDeltaChunk, RunStatus, ThreadMessage, ThreadRun

from labs.checks import evaluate
from tests.exercise_support import AnswerTable, assert_not_done

# -- 8.1: a run's events as plain data -------------------------------------------------------------------


class PlainEvents(BaseAgentEventHandler[tuple[str, Any]]):
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:
        fields = {}
        for line in event_data_str.splitlines():
            name, _, value = line.partition(":")
            fields[name.strip()] = value.strip()
        data = fields.get("data", "")
        return fields.get("event", ""), data if data == "[DONE]" else json.loads(data)


class PlainEventsByPattern(BaseAgentEventHandler[tuple[str, Any]]):  # another right way: a regular expression
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:
        found = re.match(r"event: *(?P<type>\S+)\ndata: *(?P<data>.*)", event_data_str, re.S)
        assert found is not None
        data = found["data"]
        return found["type"], data if data.startswith("[DONE]") else json.loads(data)


class LoadsDone(BaseAgentEventHandler[tuple[str, Any]]):
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:
        event_line, data_line = event_data_str.split("\n", 1)
        return event_line.partition(":")[2].strip(), json.loads(data_line.partition(":")[2])


class SplitsAtEveryColon(BaseAgentEventHandler[tuple[str, Any]]):
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:
        event_line, data_line = event_data_str.split("\n", 1)
        data = data_line.split(":")[1].strip()
        return event_line.split(":")[1].strip(), data if data == "[DONE]" else json.loads(data)


class KeepsTheSpace(BaseAgentEventHandler[tuple[str, Any]]):
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:
        event_line, data_line = event_data_str.split("\n", 1)
        data = data_line[len("data:"):].strip()
        return event_line[len("event:"):], data if data == "[DONE]" else json.loads(data)


class HandsOnTheText(BaseAgentEventHandler[tuple[str, Any]]):
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:
        event_line, data_line = event_data_str.split("\n", 1)
        return event_line.partition(":")[2].strip(), data_line.partition(":")[2].strip()


class HandsOnSdkObjects(AgentEventHandler):  # the SDK's objects compare equal to their JSON, but they are not plain data
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:  # type: ignore[override]
        event_type, event_data, _ = super()._process_event(event_data_str)
        return event_type, event_data


class UntouchedPlainEvents(BaseAgentEventHandler[tuple[str, Any]]):
    def _process_event(self, event_data_str: str) -> tuple[str, Any]:
        raise NotImplementedError("Exercise 8.1: complete _process_event. Hint: one event's type and its data")


# -- 8.2: how long the reader waited ---------------------------------------------------------------------

FINAL = ("completed", "failed", "cancelled", "expired", "incomplete")


class WaitClock(AgentEventHandler):
    def __init__(self, started: float) -> None:
        super().__init__()
        self.started, self.first_text, self.finished = started, None, None

    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        if self.first_text is None:
            self.first_text = time.perf_counter() - self.started

    def on_thread_run(self, run: ThreadRun) -> None:
        if run.status in FINAL:
            self.finished = time.perf_counter() - self.started


class WaitClockOnDone(WaitClock):  # another right way: the run is over at the done that follows its final status
    def __init__(self, started: float) -> None:
        super().__init__(started)
        self.over = False

    def on_thread_run(self, run: ThreadRun) -> None:
        self.over = run.status == RunStatus.COMPLETED or run.status in FINAL

    def on_done(self) -> None:
        if self.over and self.finished is None:
            self.finished = time.perf_counter() - self.started


class StoresClockReadings(WaitClock):
    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        if self.first_text is None:
            self.first_text = time.perf_counter()

    def on_thread_run(self, run: ThreadRun) -> None:
        if run.status in FINAL:
            self.finished = time.perf_counter()


class StartsAtTheMessage(WaitClock):  # thread.message.created: the message exists, but holds no text yet
    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        pass

    def on_thread_message(self, message: ThreadMessage) -> None:
        if self.first_text is None:
            self.first_text = time.perf_counter() - self.started


class EveryPieceMovesIt(WaitClock):
    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.first_text = time.perf_counter() - self.started


class FinishedAtEveryDone(WaitClock):
    def on_thread_run(self, run: ThreadRun) -> None:
        pass

    def on_done(self) -> None:
        self.finished = time.perf_counter() - self.started


class UntouchedWaitClock(WaitClock):
    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        raise NotImplementedError("Exercise 8.2: complete on_message_delta. Hint: first_text, once")

    def on_thread_run(self, run: ThreadRun) -> None:
        raise NotImplementedError("Exercise 8.2: complete on_thread_run. Hint: finished, once the run has ended")


TEXT_RUN = "a text run"
TOOL_ROUND = "a tool round: two HTTP streams chained on one handler"
CLOCK_TOOL_ROUND = "a tool round: the text comes after the tools, in a second HTTP stream"


class TestAnswers(AnswerTable):
    right_answers = [("8.1", PlainEvents), ("8.1", PlainEventsByPattern), ("8.2", WaitClock), ("8.2", WaitClockOnDone)]
    wrong_answers = [
        ("8.1", LoadsDone, TEXT_RUN, "which is not JSON"),
        ("8.1", SplitsAtEveryColon, TEXT_RUN, "split each line once"),
        ("8.1", KeepsTheSpace, TOOL_ROUND, "without the space"),
        ("8.1", HandsOnTheText, TEXT_RUN, "parse the JSON of the data line"),
        ("8.1", HandsOnSdkObjects, TEXT_RUN, "not the objects the SDK builds"),
        ("8.2", StoresClockReadings, TEXT_RUN, "not a reading of the clock itself"),
        ("8.2", StartsAtTheMessage, TEXT_RUN, "carry no text yet"),
        ("8.2", EveryPieceMovesIt, CLOCK_TOOL_ROUND, "keep the first moment only"),
        ("8.2", FinishedAtEveryDone, CLOCK_TOOL_ROUND, "'done' ends each HTTP stream"),
    ]


def test_an_untouched_plain_events_handler_is_not_done() -> None:
    assert_not_done("8.1", UntouchedPlainEvents, "complete _process_event")


def test_an_untouched_wait_clock_is_not_done_although_the_sdk_swallows_what_its_callbacks_raise() -> None:
    assert_not_done("8.2", UntouchedWaitClock, "complete on_")


def test_a_clock_set_at_the_first_done_of_a_text_run_passes_but_not_at_the_first_done_of_a_tool_round() -> None:
    class FinishedAtFirstDone(WaitClock):
        def on_thread_run(self, run: ThreadRun) -> None:
            pass

        def on_done(self) -> None:
            if self.finished is None:
                self.finished = time.perf_counter() - self.started

    result = evaluate("8.2", FinishedAtFirstDone)
    assert [(case.name, case.passed) for case in result.cases] == [(TEXT_RUN, True), (CLOCK_TOOL_ROUND, False)]
    assert "before the run reached its final status" in result.cases[1].message
