"""Exercise 3.2, an open-ended challenge graded on behaviour: answer a question that needs tools, round after round.

Each right answer passes and each typical wrong answer fails a named case with the hint for its own mistake: a
phrase that only that mistake's hint holds (the case's general hint does not), so a row fails when its mistake
is no longer recognised (tests/exercise_support.py: `AnswerTable`, the tests every such table gets).
"""

from __future__ import annotations

from typing import Any

from labs.toolcalls import ToolCall
from tests.exercise_support import AnswerTable


def one_round_only(client: Any, model: str, messages: list[Any], tools: list[Any], functions: dict[str, Any]) -> str:
    from labs.reply import collect_reply
    from labs.toolcalls import assistant_message, run_tool_calls

    reply = collect_reply(client.chat.completions.create(model=model, messages=messages, tools=tools, stream=True))
    messages = [*messages, assistant_message(reply.tool_calls), *(r.message() for r in run_tool_calls(reply.tool_calls, functions))]
    answer = collect_reply(client.chat.completions.create(model=model, messages=messages, tools=tools, stream=True))
    print(answer.text)
    return answer.text


def rounds(answer_first_only: bool = False, with_assistant: bool = True, stream: bool = True) -> Any:
    from types import SimpleNamespace

    from labs.reply import collect_reply
    from labs.toolcalls import assistant_message, run_tool_calls

    def answer_with_tools(client: Any, model: str, messages: list[Any], tools: list[Any], functions: dict[str, Any]) -> str:
        while True:
            if stream:
                reply = collect_reply(client.chat.completions.create(model=model, messages=messages, tools=tools, stream=True))
            else:
                message = client.chat.completions.create(model=model, messages=messages, tools=tools).choices[0].message
                calls = tuple(ToolCall(i, c.id, c.function.name, c.function.arguments) for i, c in enumerate(message.tool_calls or []))
                reply = SimpleNamespace(tool_calls=calls, text=message.content or "")
            if not reply.tool_calls:
                print(reply.text)
                return reply.text
            calls = reply.tool_calls[:1] if answer_first_only else reply.tool_calls
            messages = [*messages, *([assistant_message(reply.tool_calls)] if with_assistant else []),
                        *(r.message() for r in run_tool_calls(calls, functions))]

    answer_with_tools.__name__ = f"rounds(first_only={answer_first_only}, assistant={with_assistant}, stream={stream})"
    return answer_with_tools


TWO_ROUNDS = "two tool rounds before the answer"
PARALLEL = "two parallel calls, then the answer"


class TestAnswers(AnswerTable):
    right_answers = [("3.2", rounds())]
    wrong_answers = [
        ("3.2", one_round_only, TWO_ROUNDS, "the loop stopped too early"),
        ("3.2", rounds(answer_first_only=True), PARALLEL, "only some of the calls were answered"),
        ("3.2", rounds(with_assistant=False), PARALLEL, "without the assistant message that asked for them"),
        ("3.2", rounds(stream=False), PARALLEL, "a round was not streamed"),
    ]
