"""The second exercises of lessons 04, 06, 07 and 08, open-ended challenges graded on behaviour.

Each challenge passes more than one right way, and each typical wrong answer fails a named case with the hint
for its own mistake: a phrase that only that mistake's hint holds (the case's general hint does not, which the
last test checks), so a row fails when its mistake is no longer recognised. An untouched stub is "not done",
even where the SDK swallows the NotImplementedError a callback raises (6.2).
"""

from __future__ import annotations

import json
from contextlib import aclosing
from typing import Any

import pytest
from azure.ai.agents.models import AgentEventHandler, MessageDeltaChunk, SubmitToolOutputsAction, ThreadRun, ToolOutput

from labs.checks import evaluate
from labs.reply import ReplyCollector
from labs.toolcalls import ToolCall, accumulate_tool_calls
from tests.exercise_support import assert_each_mistake_has_its_own_hint, assert_the_hint_names_the_mistake



# -- 4.2: show a streamed round as the reader should see it --------------------------------------------------


def shows_each_name(stream: Any) -> list[ToolCall]:
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta and delta.content:
            print(delta.content, end="", flush=True)
        for call in (delta.tool_calls or []) if delta else []:
            if call.function and call.function.name:
                print(f"\n⏳ {call.function.name}...", flush=True)
    return accumulate_tool_calls(chunks)


def shows_collector_events(stream: Any) -> list[ToolCall]:  # another right way: the lesson's ReplyCollector
    collector = ReplyCollector()
    for chunk in stream:
        for event in collector.add(chunk):
            if event.type == "text":
                print(event.text, end="", flush=True)
            elif event.type == "tool_call_started":
                print(f"[{event.name}]", flush=True)
    return list(collector.reply().tool_calls)


def names_at_the_end(stream: Any) -> list[ToolCall]:
    chunks = list(stream)
    calls = accumulate_tool_calls(chunks)
    for call in calls:
        print(f"⏳ {call.name}...")
    return calls


def names_every_fragment(stream: Any) -> list[ToolCall]:
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        if chunk.choices and chunk.choices[0].delta.tool_calls:
            print(f"⏳ {accumulate_tool_calls(chunks)[-1].name}...", flush=True)
    return accumulate_tool_calls(chunks)


def text_at_the_end(stream: Any) -> list[ToolCall]:
    chunks = list(stream)
    print("".join(c.choices[0].delta.content or "" for c in chunks if c.choices), end="")
    return accumulate_tool_calls(chunks)


def first_choice_always(stream: Any) -> list[ToolCall]:
    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    return accumulate_tool_calls(chunks)


def returns_dicts(stream: Any) -> list[dict[str, str]]:
    return [{"name": call.name, "arguments": call.arguments} for call in shows_each_name(stream)]


# -- 6.2: a handler that always holds the partial answer and the run's status ---------------------------------


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
        raise NotImplementedError("Exercise 6.2: complete on_message_delta. Hint: the answer so far")

    def on_thread_run(self, run: ThreadRun) -> None:
        raise NotImplementedError("Exercise 6.2: complete on_thread_run. Hint: the run's latest status")


# -- 7.2: a budget on tool rounds -----------------------------------------------------------------------------


def budget_runner(over_budget: str = "cancel", rounds_of: str = "actions") -> type:
    """A 7.2 answer: `over_budget` is what it does when the budget is used ("cancel", "wait" or "one_more");
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


# -- 8.2: stop a stream when the partial output fails a check --------------------------------------------------


async def moderates(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown = ""
    async with aclosing(service.get_streaming_chat_message_content(chat_history=history, settings=settings)) as stream:
        async for chunk in stream:
            if not allowed(shown + chunk.content):
                print("\n[stopped]")
                break
            print(chunk.content, end="", flush=True)
            shown += chunk.content
    return shown


async def moderates_by_character(service: Any, history: Any, settings: Any, allowed: Any) -> str:  # finer than a chunk: also right
    shown = ""
    async for batch in service.get_streaming_chat_message_contents(chat_history=history, settings=settings):
        for character in batch[0].content if batch else "":
            if not allowed(shown + character):
                return shown
            print(character, end="", flush=True)
            shown += character
    return shown


async def checks_each_chunk(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown = ""
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        if not allowed(chunk.content):
            break
        print(chunk.content, end="", flush=True)
        shown += chunk.content
    return shown


async def prints_then_checks(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown = ""
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        print(chunk.content, end="", flush=True)
        shown += chunk.content
        if not allowed(shown):
            break
    return shown


async def reads_to_the_end(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown, stopped = "", False
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        stopped = stopped or not allowed(shown + chunk.content)
        if not stopped:
            print(chunk.content, end="", flush=True)
            shown += chunk.content
    return shown


async def returns_the_whole_answer(service: Any, history: Any, settings: Any, allowed: Any) -> str:
    shown, whole = "", ""
    async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings):
        whole += chunk.content
        if not allowed(whole):
            break
        print(chunk.content, end="", flush=True)
        shown += chunk.content
    return whole


# -- the table of answers ---------------------------------------------------------------------------------------

RIGHT_ANSWERS = [
    ("4.2", shows_each_name), ("4.2", shows_collector_events),
    ("6.2", Watcher), ("6.2", WatcherOfStrings),
    ("7.2", budget_runner()),
    ("8.2", moderates), ("8.2", moderates_by_character),
]

PARALLEL_42 = "two parallel calls to the same tool"
TEXT_42 = "a round that answers in text"
USAGE_42 = "a stream ending in a usage chunk (choices == [])"
TEXT_RUN = "a text run"
TOOL_ROUND_62 = "a tool round: two HTTP streams, requires_action in between"
OVER_BUDGET = "a run that asks for a round over budget (budget 0)"
ONE_ROUND_TWO_CALLS = "two calls in one round, budget 1"
PHRASE = "a banned phrase whose words arrive in two chunks"
LIMIT = "a length limit (half the answer)"

WRONG_ANSWERS = [
    ("4.2", names_at_the_end, PARALLEL_42, "shown only once the round was over"),
    ("4.2", names_every_fragment, PARALLEL_42, "once per argument fragment"),
    ("4.2", text_at_the_end, TEXT_42, "the text waited for the end of the round"),
    ("4.2", first_choice_always, USAGE_42, "`chunk.choices[0]` raises IndexError"),
    ("4.2", returns_dicts, PARALLEL_42, "return the calls as ToolCall objects"),
    ("6.2", ReadsTextValue, TEXT_RUN, "delta.text is already the string"),
    ("6.2", StatusOnCompleted, TOOL_ROUND_62, "the SDK has no on_thread_run_completed"),
    ("6.2", TextWhenCompleted, TEXT_RUN, "the text came all at once"),
    ("6.2", KeepsTheRun, TEXT_RUN, "not the ThreadRun object"),
    ("7.2", budget_runner(over_budget="one_more"), OVER_BUDGET, "off by one"),
    ("7.2", budget_runner(over_budget="wait"), OVER_BUDGET, "cancel it"),
    ("7.2", budget_runner(rounds_of="calls"), ONE_ROUND_TWO_CALLS, "count the required actions, not the calls"),
    ("7.2", RunnerThatNeverSubmits, ONE_ROUND_TWO_CALLS, "still needs its outputs submitted"),
    ("8.2", checks_each_chunk, PHRASE, "give it the whole text so far"),
    ("8.2", checks_each_chunk, LIMIT, "give it the whole text so far"),
    ("8.2", prints_then_checks, PHRASE, "printed before it was checked"),
    ("8.2", reads_to_the_end, LIMIT, "break out of the async for"),
    ("8.2", returns_the_whole_answer, PHRASE, "return what the reader saw"),
]


@pytest.mark.parametrize(("exercise_id", "answer"), RIGHT_ANSWERS, ids=lambda v: getattr(v, "__name__", v))
def test_the_challenges_pass_more_than_one_right_way(exercise_id: str, answer: Any) -> None:
    result = evaluate(exercise_id, answer)
    assert result.status == "passed", result


@pytest.mark.parametrize(("exercise_id", "answer", "case", "phrase"), WRONG_ANSWERS, ids=lambda v: getattr(v, "__name__", None))
def test_a_typical_wrong_answer_gets_the_hint_for_its_mistake(exercise_id: str, answer: Any, case: str, phrase: str) -> None:
    assert_the_hint_names_the_mistake(exercise_id, answer, case, phrase)


def test_each_challenge_names_at_least_two_mistakes_and_only_the_mistake_hint_holds_its_phrase() -> None:
    assert_each_mistake_has_its_own_hint(("4.2", "6.2", "7.2", "8.2"), WRONG_ANSWERS)


def test_an_untouched_handler_is_not_done_although_the_sdk_swallows_what_its_callbacks_raise() -> None:
    result = evaluate("6.2", UntouchedWatcher)
    assert result.status == "not_done", result
    assert result.message.startswith("complete on_"), result.message
