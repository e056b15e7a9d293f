"""Exercise 9.2, an open-ended challenge graded on behaviour: a budget on tool rounds.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
"""

from __future__ import annotations

import json
from typing import Any

from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk, SubmitToolOutputsAction, ThreadRun, ToolOutput

from tests.exercise_support import AnswerTable


# -- 9.2: a budget on tool rounds -----------------------------------------------------------------------------


def budget_runner(over_budget: str = "cancel", rounds_of: str = "actions") -> type:
    """A 9.2 answer: `over_budget` is what it does when the budget is used ("cancel", "wait" or "one_more");
    `rounds_of` is what it counts ("actions", or "calls")."""

    class Runner(AgentEventHandler):
        def __init__(self, client: Any, functions: Any, max_rounds: int) -> None:
            super().__init__()
            self.client, self.functions, self.max_rounds = client, {f.__name__: f for f in functions}, max_rounds
            self.used, self.text = 0, ""

        def on_message_delta(self, delta: MessageDeltaChunk) -> None:
            self.text += delta.text

        def on_thread_run(self, run: ThreadRun) -> None:
            if run.status != "requires_action" or not isinstance(run.required_action, SubmitToolOutputsAction):
                return
            calls = run.required_action.submit_tool_outputs.tool_calls
            cost = len(calls) if rounds_of == "calls" else 1
            limit = self.max_rounds + (1 if over_budget == "one_more" else 0)
            if self.used + cost > limit:
                if over_budget == "cancel":
                    self.client.runs.cancel(thread_id=run.thread_id, run_id=run.id)
                return
            self.used += cost
            outputs = [ToolOutput(tool_call_id=c.id, output=self.functions[c.function.name](**json.loads(c.function.arguments))) for c in calls]
            self.client.runs.submit_tool_outputs_stream(thread_id=run.thread_id, run_id=run.id, tool_outputs=outputs, event_handler=self)

    Runner.__name__ = f"budget_runner(over_budget={over_budget}, rounds_of={rounds_of})"
    return Runner


class RunnerThatNeverSubmits(AgentEventHandler):
    def __init__(self, client: Any, functions: Any, max_rounds: int) -> None:
        super().__init__()
        self.client = client

    def on_thread_run(self, run: ThreadRun) -> None:
        pass  # runs nothing, submits nothing, cancels nothing


OVER_BUDGET = "a run that asks for a round over budget (budget 0)"
ONE_ROUND_TWO_CALLS = "two calls in one round, budget 1"


class TestAnswers(AnswerTable):
    right_answers = [("9.2", budget_runner())]
    wrong_answers = [
        ("9.2", budget_runner(over_budget="one_more"), OVER_BUDGET, "off by one"),
        ("9.2", budget_runner(over_budget="wait"), OVER_BUDGET, "cancel it"),
        ("9.2", budget_runner(rounds_of="calls"), ONE_ROUND_TWO_CALLS, "count the required actions, not the calls"),
        ("9.2", RunnerThatNeverSubmits, ONE_ROUND_TWO_CALLS, "still needs its outputs submitted"),
    ]
