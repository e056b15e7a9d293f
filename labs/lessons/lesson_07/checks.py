"""Checks for lesson 07 (tools while streaming, by hand).

Exercise 7.1's `ToolRunner` is streamed through the real SDK, on a client without automatic function calls,
against a replay server of the check's own (always replay, at full speed, whatever `LABS_MODE` says, so a
check never spends a learner's Azure quota or depends on what a live model answers). The runs are the
`manual_*` scenarios of `labs.lessons.lesson_07.scenarios`, recorded with the exercise's solution; the expected tool
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
from typing import Any

from azure.ai.agents.models import MessageDeltaChunk, ThreadRun

from .scenarios import MANUAL_CASES, ManualCase, get_weather, manual_round
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
    """The typical wrong answers to 7.1 on one recorded run, recognised in what the handler raised, called and streamed."""
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


@exercise("7.1", hint=(
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
