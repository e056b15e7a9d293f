"""Checks for lesson 09 (tools while streaming, by hand).

Exercise 9.1's `ToolRunner` is streamed through the real SDK, on a client without automatic function calls,
against a replay server of the check's own (always replay, at full speed, whatever `LABS_MODE` says, so a
check never spends a learner's Azure quota or depends on what a live model answers). The runs are the
`manual_*` scenarios of `labs.lessons.lesson_09.scenarios`, recorded with the exercise's solution; the expected tool
calls and answer come from those fixtures.

The SDK logs and swallows any exception raised inside a callback, so a failing `on_thread_run` would look
like a run that silently stopped. The check subclasses the learner's handler to catch what it raises and
to collect the text it streamed, and says which.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from azure.ai.agents.models import MessageDeltaChunk, ThreadRun

from .scenarios import DESK, MANUAL_CASES, OSLO_QUESTION, ManualCase, get_weather, manual_round
from ...checks import Case, Mistake, exercise
from ...clients import RECORDED_AZURE_MODEL, azure_agents_client
from ...recordings import fixture
from ...replay import ReplayServer


def _expected(case: ManualCase) -> tuple[list[dict[str, Any]], str]:
    """The tool calls the run asked for, in order, and the answer it finally streamed."""
    events = [e for i in fixture(case.scenario).interactions for e in i.response.events or []]
    calls = [
        json.loads(call["function"]["arguments"])
        for e in events
        if e.event == "thread.run.requires_action"
        for call in e.json()["required_action"]["submit_tool_outputs"]["tool_calls"]
    ]
    answer = [e.json() for e in events if e.event == "thread.message.completed"][-1]
    return calls, "".join(part["text"]["value"] for part in answer["content"] if part["type"] == "text")


def _watched(runner_class: type, calls: list[dict[str, Any]]) -> type:
    class Watched(runner_class):  # type: ignore[misc,valid-type]
        """The learner's handler, with what it raised, streamed and answered (calls asked for, functions run) written down."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.raised: list[BaseException] = []
            self.streamed = ""
            self.answered: list[tuple[int, int]] = []

        def on_thread_run(self, run: ThreadRun) -> Any:
            asked = len(run.required_action.submit_tool_outputs.tool_calls) if run.status == "requires_action" and run.required_action else 0
            before = len(calls)
            try:
                return super().on_thread_run(run)
            except Exception as error:
                self.raised.append(error)
                raise
            finally:
                if asked:
                    self.answered.append((asked, len(calls) - before))

        def on_message_delta(self, delta: MessageDeltaChunk) -> Any:
            self.streamed += delta.text
            return super().on_message_delta(delta)

    return Watched


def _run_case(runner_class: type, case: ManualCase, server: ReplayServer) -> tuple[Any, list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    @functools.wraps(get_weather)
    def traced(**kwargs: Any) -> str:
        calls.append(kwargs)
        return get_weather(**kwargs)

    # A handler that hands the continuation to another handler leaves that stream unread; when the client
    # closes, the server's writes fail and asyncio warns once per event. The check reports the real problem.
    asyncio_log = logging.getLogger("asyncio")
    level, asyncio_log.level = asyncio_log.level, logging.ERROR
    try:
        with azure_agents_client(server=server) as client:
            handler = manual_round(client, case, _watched(runner_class, calls)(client, {traced}), RECORDED_AZURE_MODEL)
    finally:
        asyncio_log.setLevel(level)
    if handler.raised and isinstance(handler.raised[0], NotImplementedError):
        raise handler.raised[0]
    return handler, calls


def _verify(case: ManualCase) -> Any:
    expected_calls, answer = _expected(case)

    def verify(result: tuple[Any, list[dict[str, Any]]]) -> None:
        handler, calls = result
        if handler.raised:
            error = handler.raised[0]
            raise AssertionError(
                f"on_thread_run raised {type(error).__name__}: {str(error)[:300]} (the SDK logs exceptions from callbacks "
                "and carries on, so the run was left waiting)"
            )
        assert calls or handler.streamed, "nothing ran and no answer streamed: the run stopped at requires_action, waiting for tool outputs"
        assert calls == expected_calls, f"get_weather was called with {calls}; the run asked for {expected_calls}"
        assert handler.streamed, "the functions ran, but the rest of the run never reached this handler: pass event_handler=self"
        assert handler.streamed == answer, f"streamed {handler.streamed[:50]!r}, the run answered {answer[:50]!r}"

    return verify


def _ran(test: Callable[[Any, list[dict[str, Any]]], bool]) -> Callable[[object], bool]:
    def seen(outcome: object) -> bool:
        return isinstance(outcome, tuple) and len(outcome) == 2 and test(*outcome)

    return seen


def runner_mistakes(case: ManualCase) -> tuple[Mistake, ...]:
    """The typical wrong answers to 9.1 on one recorded run, recognised in what the handler raised, called and streamed."""
    expected_calls, _ = _expected(case)

    def raised(kind: type[BaseException]) -> Callable[[Any, list[dict[str, Any]]], bool]:
        return lambda handler, _: bool(handler.raised) and isinstance(handler.raised[0], kind)

    return (
        Mistake("the arguments are JSON text: json.loads them and pass the dict as keyword arguments (function(**arguments))",
                _ran(lambda handler, calls: raised(TypeError)(handler, calls) and not calls)),
        Mistake("one required action can ask for several calls: answer every call in tool_calls, not just the first",
                _ran(lambda handler, calls: any(0 < ran < asked for asked, ran in handler.answered))),
        Mistake("the run waits at requires_action until it gets the outputs: run the functions and submit what they returned",
                _ran(lambda handler, calls: not calls and not handler.streamed and not handler.raised)),
        Mistake("the outputs went in, but the continuation stream went to another handler or to none: submit with "
                "submit_tool_outputs_stream(..., event_handler=self), so the rest of the run comes back to this handler",
                _ran(lambda handler, calls: calls == expected_calls and not handler.streamed and not handler.raised)),
    )


@exercise("9.1", hint=(
    "if run.status == 'requires_action' and isinstance(run.required_action, SubmitToolOutputsAction): for call in "
    "run.required_action.submit_tool_outputs.tool_calls: result = self.functions[call.function.name](**json.loads(call.function.arguments)); "
    "outputs.append(ToolOutput(tool_call_id=call.id, output=result)); then self.client.runs.submit_tool_outputs_stream(thread_id=run.thread_id, "
    "run_id=run.id, tool_outputs=outputs, event_handler=self)"
))
def check_tool_runner(runner_class: type) -> Iterator[Case]:
    in_progress = ThreadRun({"id": "run_check", "thread_id": "thread_check", "status": "in_progress", "object": "thread.run"})
    yield Case(
        "a run still in progress needs nothing",
        run=lambda: runner_class(None, {get_weather}).on_thread_run(in_progress),
        hint="act only when run.status == 'requires_action'",
        mistakes=(Mistake("a run that is still in progress has no required_action (it is None): look at run.status first",
                          lambda outcome: isinstance(outcome, AttributeError) and "NoneType" in str(outcome)),),
    )
    hint = "when the run requires action, run every function it asks for and hand the outputs back so the same handler sees the rest of the run"
    server = ReplayServer(mode="replay", speed=0).start()
    try:
        for case in MANUAL_CASES:
            yield Case(case.description, run=lambda case=case: _run_case(runner_class, case, server), verify=_verify(case), hint=hint,
                       mistakes=runner_mistakes(case))
    finally:
        server.stop()


# Exercise 9.2: a tool loop with a budget on rounds. The learner's handler is streamed through the real SDK on
# the check's own replay server, as in 9.1, and the requests it sends are observed with azure-core's
# `raw_request_hook`. Within its budget a run must end as 9.1's does; a run that asks for more rounds than the
# budget allows must be cancelled, with no function run past the budget and nothing submitted for it. The
# over-budget run is the lesson's recorded Oslo run, which asks for a tool and was cancelled.

OSLO_RUN = ManualCase("09_azure_tools_and_async/weather_desk", "a run that asks for a round over budget (budget 0)", DESK, OSLO_QUESTION)
BUDGET_CASES = [
    (MANUAL_CASES[0], 1, "two calls in one round, budget 1"),
    (MANUAL_CASES[1], 2, "two rounds, budget 2"),
    (OSLO_RUN, 0, OSLO_RUN.description),
]


@dataclass
class Budgeted:
    """What the learner's handler did on one run: the handler, the functions it ran and the requests it sent."""

    handler: Any
    calls: list[dict[str, Any]]
    sent: list[tuple[str, str]] = field(default_factory=list)  # (method, last part of the path)

    def sent_to(self, ending: str) -> int:
        return sum(1 for _, path in self.sent if path.endswith(ending))


def _run_budget(runner_class: type, case: ManualCase, budget: int, server: ReplayServer) -> Budgeted:
    outcome = Budgeted(None, [])

    @functools.wraps(get_weather)
    def traced(**kwargs: Any) -> str:
        outcome.calls.append(kwargs)
        return get_weather(**kwargs)

    def note(request: Any) -> None:
        outcome.sent.append((request.http_request.method, request.http_request.url.split("?")[0]))

    asyncio_log = logging.getLogger("asyncio")
    level, asyncio_log.level = asyncio_log.level, logging.ERROR
    try:
        with azure_agents_client(server=server, raw_request_hook=note) as client:
            outcome.handler = manual_round(client, case, _watched(runner_class, outcome.calls)(client, {traced}, budget), RECORDED_AZURE_MODEL)
    finally:
        asyncio_log.setLevel(level)
    if outcome.handler.raised and isinstance(outcome.handler.raised[0], NotImplementedError):
        raise outcome.handler.raised[0]
    return outcome


def _verify_budget(case: ManualCase, budget: int) -> Callable[[Budgeted], None]:
    expected_calls, answer = _expected(case)
    rounds = sum(1 for i in fixture(case.scenario).interactions for e in i.response.events or [] if e.event == "thread.run.requires_action")
    within = case is not OSLO_RUN

    def verify(outcome: Budgeted) -> None:
        handler = outcome.handler
        if handler.raised:
            error = handler.raised[0]
            raise AssertionError(f"on_thread_run raised {type(error).__name__}: {str(error)[:300]}")
        if within:
            assert not outcome.sent_to("/cancel"), f"the run needed {rounds} round(s) and the budget was {budget}, yet it was cancelled"
            assert outcome.calls == expected_calls, f"get_weather was called with {outcome.calls}; the run asked for {expected_calls}"
            assert handler.streamed == answer, f"streamed {handler.streamed[:50]!r}, the run answered {answer[:50]!r}"
        else:
            assert not outcome.calls, f"the budget was {budget} round(s), yet get_weather ran with {outcome.calls}"
            assert not outcome.sent_to("/submit_tool_outputs"), "tool outputs were submitted for a round over budget"
            assert outcome.sent_to("/cancel") == 1, "the run asked for one round more than the budget and was left waiting: stop it"

    return verify


def budget_mistakes(case: ManualCase, budget: int) -> tuple[Mistake, ...]:
    """The typical wrong answers to 9.2, recognised in the functions the handler ran and the requests it sent."""
    within = case is not OSLO_RUN

    def seen(test: Callable[[Budgeted], bool]) -> Callable[[object], bool]:
        return lambda outcome: isinstance(outcome, Budgeted) and test(outcome)

    return (
        Mistake("off by one: a budget of N allows N rounds, so compare the rounds already answered with the budget before running "
                "anything (0 answered, budget 0: no round at all)", seen(lambda o: not within and bool(o.calls))),
        Mistake("a run you do not answer is not over: it waits at requires_action until it expires (lesson 09's stuck run); cancel it "
                "with self.client.runs.cancel(thread_id=run.thread_id, run_id=run.id)",
                seen(lambda o: not within and not o.calls and not o.sent_to("/cancel"))),
        Mistake("a round is one required action, however many calls it holds: count the required actions, not the calls",
                seen(lambda o: within and bool(o.sent_to("/cancel")) and len(_expected(case)[0]) > budget)),
        Mistake("each round within the budget still needs its outputs submitted on this handler, as in 9.1: "
                "submit_tool_outputs_stream(..., event_handler=self)",
                seen(lambda o: within and not o.sent_to("/cancel") and not o.sent_to("/submit_tool_outputs"))),
    )


@exercise("9.2", hint=(
    "in on_thread_run, when run.status == 'requires_action': if self.rounds >= self.max_rounds: "
    "self.client.runs.cancel(thread_id=run.thread_id, run_id=run.id) and return; else self.rounds += 1, run every call in "
    "run.required_action.submit_tool_outputs.tool_calls and submit_tool_outputs_stream(..., event_handler=self) as in 9.1"
))
def check_budget_runner(runner_class: type) -> Iterator[Case]:
    server = ReplayServer(mode="replay", speed=0).start()
    try:
        for case, budget, name in BUDGET_CASES:
            yield Case(name, run=lambda case=case, budget=budget: _run_budget(runner_class, case, budget, server),
                       verify=_verify_budget(case, budget),
                       hint="answer at most max_rounds required actions; a run that asks for one more is stopped, not left waiting",
                       mistakes=budget_mistakes(case, budget))
    finally:
        server.stop()
