"""Exercise 6.2, an open-ended challenge graded on behaviour: keep the terminal chat within a token budget.

The check runs `labs.chat`'s agents backend over the recorded budget conversations with the answer choosing what
each request carries. Each right answer passes and each typical wrong answer fails a named case with the hint for
its own mistake (tests/exercise_support.py: `AnswerTable`). An untouched stub is "not done".
"""

from __future__ import annotations

from collections.abc import Callable

from labs.chat import Message
from labs.lessons.lesson_06.checks import BudgetedChat, _problems
from labs.lessons.lesson_06.scenarios import CHAT_BUDGETS, fit_newest_turns
from tests.exercise_support import AnswerTable, assert_not_done

Count = Callable[[Message], int]


def newest_turns_first(history: list[Message], budget: int, tokens: Count) -> list[Message]:  # written apart from the scenario's
    kept: list[Message] = [history[-1]]
    for start in range(len(history) - 3, -1, -2):
        turn = history[start:start + 2]
        if sum(map(tokens, kept + turn)) > budget:
            break
        kept = turn + kept
    return kept


def the_question_alone(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    return [history[-1]]


def everything_or_the_question(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    return list(history) if sum(map(tokens, history)) <= budget else [history[-1]]


def the_oldest_turns(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    kept: list[Message] = []
    for start in range(0, len(history) - 1, 2):
        if sum(map(tokens, kept + history[start:start + 2] + [history[-1]])) > budget:
            break
        kept += history[start:start + 2]
    return kept + [history[-1]]


def the_question_uncounted(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    earlier = list(history[:-1])
    while earlier and sum(map(tokens, earlier)) > budget:
        earlier = earlier[2:]
    return earlier + [history[-1]]


def a_message_at_a_time(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    kept = list(history)
    while sum(map(tokens, kept)) > budget:
        kept.pop(0)
    return kept


def trims_the_chats_history(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    while len(history) > 1 and sum(map(tokens, history)) > budget:
        del history[:2]
    return history


def cuts_the_oldest_text(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    kept = list(history)
    while sum(map(tokens, kept)) > budget and len(kept) > 1:
        oldest = kept[0]
        kept[0] = Message(oldest.role, oldest.text[: len(oldest.text) // 2])
        if len(kept[0].text) < 4:
            kept.pop(0)
    return kept


def returns_the_texts(history: list[Message], budget: int, tokens: Count) -> list[str]:
    return [m.text for m in fit_newest_turns(history, budget, tokens)]


ROOMY, TIGHT = (f"a budget of {CHAT_BUDGETS[0]} tokens: the first turn gives way at the third question",
                f"a budget of {CHAT_BUDGETS[1]} tokens: every question goes alone")


class TestAnswers(AnswerTable):
    right_answers = [("6.2", fit_newest_turns), ("6.2", newest_turns_first)]
    wrong_answers = [
        ("6.2", the_question_alone, ROOMY, "a turn that fits beside the newer ones goes too"),
        ("6.2", everything_or_the_question, ROOMY, "a turn that fits beside the newer ones goes too"),
        ("6.2", the_oldest_turns, ROOMY, "leave out the oldest turns first"),
        ("6.2", the_question_uncounted, TIGHT, "with the new question counted in"),
        ("6.2", a_message_at_a_time, TIGHT, "leave both out together"),
        ("6.2", trims_the_chats_history, ROOMY, "the chat's own history (the list you are given) must stay whole"),
        ("6.2", cuts_the_oldest_text, ROOMY, "cut short to fit"),
        ("6.2", returns_the_texts, ROOMY, "as a list of labs.chat.Message"),
    ]


def test_a_request_that_leaves_out_what_fits_is_named() -> None:
    conversation = [("user", "a" * 40), ("assistant", "b" * 40), ("user", "c" * 40), ("assistant", "d" * 40)]  # 11 tokens each
    outcome = BudgetedChat(budget=100, conversation=conversation, sent=[[conversation[0]], [conversation[2]]],
                           history=list(conversation), answers=2)
    assert [kind for kind, _ in _problems(outcome)] == ["too_little"]


def untouched_fit(history: list[Message], budget: int, tokens: Count) -> list[Message]:
    raise NotImplementedError("Exercise 6.2: complete fit_to_budget. Hint: keep the chat within a token budget")


def test_an_untouched_stub_is_not_done() -> None:
    assert_not_done("6.2", untouched_fit, "complete fit_to_budget")
