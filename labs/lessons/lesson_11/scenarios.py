"""Lesson 11: Semantic Kernel streaming through function calls: a plugin, a progress filter, the reply, the Required() trap.

The forecast conversations are authored from the notebook (`make fixtures LESSON=11`), so the recorded requests are
what its cells send through `OpenAIChatCompletion` from `labs.sk_chat_completion()`, with tools named
`plugin-function` (`weather-get_forecast`, the name SK advertises and splits at `-`) and `include_usage` on every
streamed request. The `exercise_*` scenarios keep a `run`: no cell asks them, exercises 11.1 and 11.2's checkers
replay them with the learner's code (their prompts are the checkers'), through a kernel holding the same plugin.
"""

from __future__ import annotations

import json

from semantic_kernel import Kernel
from semantic_kernel.connectors.ai import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
from semantic_kernel.contents import ChatHistory

from ... import clients
from .. import Reply, Scenario, ToolCall, recorded_body
from .checks import NO_CALL, REQUIRED, Weather

FOLDER = "11_semantic_kernel_functions"


def _messages(name: str, index: int = 0) -> list[dict]:
    return recorded_body(f"{FOLDER}/{name}", index)["messages"]


# What the notebook last sent, read from the fixtures, for the unit tests.
ADVISOR = _messages("forecast_auto")[0]["content"]
SINTRA = _messages("forecast_auto")[1]["content"]
PORTO = _messages("forecast_required")[1]["content"]
# The forecasts the notebook's plugin returned, as the recorded follow-ups carry them: {city: forecast}.
FORECASTS = {
    json.loads(asked["tool_calls"][0]["function"]["arguments"])["city"]: answered["content"]
    for asked, answered in (_messages(name, 1)[-2:] for name in ("forecast_auto", "forecast_required"))
}

SINTRA_ANSWER = (
    "Sintra starts at 14°C in fog and turns sunny after noon, so wear layers: a light base layer, a fleece you can "
    "stuff in your pack, and a windproof shell for the damp morning."
)
PORTO_ANSWER = "Yes: Porto reaches 22°C and stays dry, so shorts are fine. Pack a light layer for the evening breeze."

# The exercises' own questions (the checkers read them back from these fixtures).
EXERCISE_ADVISOR = "You are a friendly outdoor gear advisor. Keep answers under 60 words."
PACKING = "What should I pack for a day hike in the hills?"
PACKING_ANSWER = (
    "Two litres of water, a snack, sunscreen, a map and a charged phone, plus a light rain jacket and a warm layer: "
    "the hills are cooler and windier than the valley."
)
BRAGA = "Do I need a rain jacket in Braga tomorrow?"
BRAGA_ANSWER = "Not tomorrow: Braga stays dry at 19°C. A light windbreaker for the evening is plenty."


def _forecast_round(city: str, answer: str) -> list[Reply]:
    """What the model answers a weather question: a weather-get_forecast call for `city`, then `answer`, streamed."""
    return [Reply(tool_calls=[ToolCall("weather-get_forecast", f'{{"city":"{city}"}}')]), Reply(text=answer, first_token=0.5, gap=0.03)]


def _kernel() -> tuple[Kernel, object]:
    service, kernel = clients.sk_chat_completion(), Kernel()
    kernel.add_service(service)
    kernel.add_plugin(Weather(), plugin_name="weather")
    return kernel, service


def _asked(question: str) -> ChatHistory:
    history = ChatHistory(system_message=EXERCISE_ADVISOR)
    history.add_user_message(question)
    return history


def _settings(behavior: FunctionChoiceBehavior | None = None) -> OpenAIChatPromptExecutionSettings:
    return OpenAIChatPromptExecutionSettings(function_choice_behavior=behavior) if behavior else OpenAIChatPromptExecutionSettings()


async def exercise_no_call() -> None:
    kernel, service = _kernel()
    history = _asked(PACKING)
    async for _ in service.get_streaming_chat_message_content(chat_history=history, settings=_settings(FunctionChoiceBehavior.Auto()), kernel=kernel):
        pass
    await service.client.close()


async def exercise_required() -> None:
    """The Required() stream (the call, then nothing), then three ways to ask for the answer: no tools, NoneInvoke(), Auto()."""
    kernel, service = _kernel()
    history = _asked(BRAGA)
    async for _ in service.get_streaming_chat_message_content(chat_history=history, settings=_settings(FunctionChoiceBehavior.Required()), kernel=kernel):
        pass
    for again in (_settings(), _settings(FunctionChoiceBehavior.NoneInvoke()), _settings(FunctionChoiceBehavior.Auto())):
        async for _ in service.get_streaming_chat_message_content(chat_history=history, settings=again, kernel=kernel):
            pass
    await service.client.close()


SCENARIOS = [
    Scenario(
        f"{FOLDER}/forecast_auto",
        "Automatic function calling while streaming, FunctionChoiceBehavior.Auto(): the first stream is a call to "
        "weather-get_forecast (the plugin-function name SK advertises) whose arguments arrive in fragments and whose "
        "chunks carry no text; SK runs the function and sends the second request with the call and its result, whose "
        "stream is the answer.",
        _forecast_round("Sintra", SINTRA_ANSWER),
    ),
    Scenario(
        f"{FOLDER}/forecast_required",
        "The streaming trap of FunctionChoiceBehavior.Required(): it allows one automatic invocation, so SK 1.45 streams "
        "the call (tool_choice: required), runs the function, and stops: no text at all. The second request is the fix "
        "the lesson makes by hand, the same history streamed again without tools; it is also the last request SK's "
        "non-streaming get_chat_message_content makes (served from this stream), which is why that one answers.",
        _forecast_round("Porto", PORTO_ANSWER),
    ),
    Scenario(
        NO_CALL,
        "Exercises 11.1 and 11.2: the weather function is offered (tool_choice: auto) but the model answers at once, so the "
        "answer is attempt 0 of the stream: code that takes the answer from attempt 1 finds nothing.",
        [Reply(text=PACKING_ANSWER, first_token=0.45, gap=0.03)],
        exercise_no_call,  # kept: no cell asks it; the exercises' checkers replay it
    ),
    Scenario(
        REQUIRED,
        "Exercise 11.2's Required() stream: the call to weather-get_forecast, run by SK, then no answer. The three requests "
        "after it are the healthy ways to ask for the answer, each answered: the same history without tools, with "
        "FunctionChoiceBehavior.NoneInvoke() (tool_choice: none) and with Auto() (tool_choice: auto). A request that "
        "still requires a function matches none of them, and the check says so.",
        [*_forecast_round("Braga", BRAGA_ANSWER), *[Reply(text=BRAGA_ANSWER, first_token=0.5, gap=0.03)] * 2],
        exercise_required,  # kept: no cell asks it; exercise 11.2's checker replays it
    ),
]
