"""Exercise 7.2, an open-ended challenge graded on behaviour: a handler that always holds the partial answer and the run's status.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
An untouched stub is "not done", although the SDK swallows the NotImplementedError a callback raises.
"""

from __future__ import annotations

from typing import Any

from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk, ThreadRun

from tests.exercise_support import AnswerTable, assert_not_done


# -- 7.2: a handler that always holds the partial answer and the run's status ---------------------------------


class Watcher(AgentEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.text, self.status = "", None

    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.text += delta.text

    def on_thread_run(self, run: ThreadRun) -> None:
        self.status = run.status


class WatcherOfStrings(AgentEventHandler):  # another right way: plain strings, pieces joined on demand
    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self.status = "none yet"

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.pieces.append(delta.text)

    def on_thread_run(self, run: ThreadRun) -> None:
        self.status = run.status.value


class ReadsTextValue(Watcher):  # the course recipe's delta.text.value
    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        self.text += delta.text.value  # type: ignore[attr-defined]


class StatusOnCompleted(Watcher):  # the course recipe's on_thread_run_completed, which the SDK never calls
    def on_thread_run(self, run: ThreadRun) -> None:
        pass

    def on_thread_run_completed(self, run: ThreadRun) -> None:
        self.status = run.status


class TextWhenCompleted(Watcher):
    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        pass

    def on_thread_message(self, message: Any) -> None:
        if message.status == "completed":
            self.text = message.text_messages[0].text.value


class KeepsTheRun(Watcher):
    def on_thread_run(self, run: ThreadRun) -> None:
        self.status = run


class UntouchedWatcher(Watcher):
    def on_message_delta(self, delta: MessageDeltaChunk) -> None:
        raise NotImplementedError("Exercise 7.2: complete on_message_delta. Hint: the answer so far")

    def on_thread_run(self, run: ThreadRun) -> None:
        raise NotImplementedError("Exercise 7.2: complete on_thread_run. Hint: the run's latest status")


TEXT_RUN = "a text run"
TOOL_ROUND = "a tool round: two HTTP streams, requires_action in between"


class TestAnswers(AnswerTable):
    right_answers = [("7.2", Watcher), ("7.2", WatcherOfStrings)]
    wrong_answers = [
        ("7.2", ReadsTextValue, TEXT_RUN, "delta.text is already the string"),
        ("7.2", StatusOnCompleted, TOOL_ROUND, "the SDK has no on_thread_run_completed"),
        ("7.2", TextWhenCompleted, TEXT_RUN, "the text came all at once"),
        ("7.2", KeepsTheRun, TEXT_RUN, "not the ThreadRun object"),
    ]


def test_an_untouched_handler_is_not_done_although_the_sdk_swallows_what_its_callbacks_raise() -> None:
    assert_not_done("7.2", UntouchedWatcher, "complete on_")
