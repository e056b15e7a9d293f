"""Lesson 08: Semantic Kernel streaming: a two-turn chat, automatic function calling, and the Required() trap.

Every scenario runs the calls the notebook makes, through `OpenAIChatCompletion` from `labs.sk_chat_completion()`,
so the recorded requests are exactly what semantic-kernel sends: `stream_options.include_usage` on every
streamed request, and tools named `plugin-function` (`weather-get_forecast`).
"""

from __future__ import annotations

from functools import reduce
from operator import add
from typing import Annotated

from semantic_kernel import Kernel
from semantic_kernel.connectors.ai import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import OpenAIChatCompletion, OpenAIChatPromptExecutionSettings
from semantic_kernel.contents import ChatHistory, StreamingChatMessageContent
from semantic_kernel.functions import kernel_function

from ... import clients
from .. import Reply, Scenario, ToolCall

ADVISOR = "You are a friendly outdoor gear advisor. Keep answers under 60 words."
BACKPACK = "What should I look for in a hiking backpack?"
BACKPACK_ANSWER = (
    "Look for three things:\n\n"
    "1. **Fit**: a torso length that matches yours and a padded hip belt that carries the weight.\n"
    "2. **Capacity**: 20-30 litres for day hikes, 50 or more for overnight trips.\n"
    "3. **Ventilation**: a mesh back panel keeps you cooler on long climbs."
)
FOLLOW_UP = "Which of those matters most for a day hike?"
FOLLOW_UP_ANSWER = (
    "Fit. A 25-litre pack that sits on your hips and hugs your back feels lighter all day than a perfect one "
    "that pulls on your shoulders."
)

SINTRA = "I'm hiking near Sintra tomorrow. What should I wear?"
SINTRA_ANSWER = (
    "Sintra starts at 14°C in fog and turns sunny after noon, so wear layers: a light base layer, a fleece you can "
    "stuff in your pack, and a windproof shell for the damp morning."
)
PORTO = "Is it warm enough for shorts in Porto tomorrow?"
PORTO_ANSWER = "Yes: Porto reaches 22°C and stays dry, so shorts are fine. Pack a light layer for the evening breeze."

# The forecasts the notebook's plugin returns; the recorded follow-up requests carry them as tool results.
FORECASTS = {"Sintra": "14°C, fog until noon, then sunny", "Porto": "22°C, dry, light evening breeze"}

GUIDE = "You are a concise trail guide. Answer in one or two sentences."
EXERCISE_QUESTIONS = ["How long does it take to hike 12 km with 600 m of climbing?", "And if I add a 30-minute lunch break?"]
EXERCISE_ANSWERS = [
    "Roughly four hours: three hours for 12 km at 4 km/h, plus about an hour for the 600 m of climbing (Naismith's rule).",
    "Then plan on about four and a half hours, and start early enough to finish in daylight.",
]


class Weather:
    """The notebook's plugin, defined the same way so the advertised tool schema is the same."""

    @kernel_function(description="Tomorrow's weather forecast for a city.")
    def get_forecast(self, city: Annotated[str, "The city, e.g. Lisbon"]) -> str:
        return FORECASTS[city]


async def _stream(
    service: OpenAIChatCompletion, history: ChatHistory, settings: OpenAIChatPromptExecutionSettings, kernel: Kernel | None = None
) -> list[StreamingChatMessageContent]:
    stream = service.get_streaming_chat_message_content(chat_history=history, settings=settings, kernel=kernel)
    return [chunk async for chunk in stream if chunk is not None]


async def _converse(system: str, questions: list[str]) -> None:
    """Stream each question in turn, adding each reply (its chunks added together) to the history."""
    service = clients.sk_chat_completion()
    history = ChatHistory(system_message=system)
    for question in questions:
        history.add_user_message(question)
        history.add_message(reduce(add, await _stream(service, history, OpenAIChatPromptExecutionSettings())))
    await service.client.close()


async def two_turns() -> None:
    await _converse(ADVISOR, [BACKPACK, FOLLOW_UP])


async def exercise_two_turns() -> None:
    await _converse(GUIDE, EXERCISE_QUESTIONS)


def _weather_chat(question: str) -> tuple[Kernel, OpenAIChatCompletion, ChatHistory]:
    """The notebook's kernel with the weather plugin, its chat service, and a history asking the advisor `question`."""
    kernel = Kernel()
    service = clients.sk_chat_completion()
    kernel.add_service(service)
    kernel.add_plugin(Weather(), plugin_name="weather")
    history = ChatHistory(system_message=ADVISOR)
    history.add_user_message(question)
    return kernel, service, history


def _calling(behavior: FunctionChoiceBehavior) -> OpenAIChatPromptExecutionSettings:
    return OpenAIChatPromptExecutionSettings(function_choice_behavior=behavior)


def _forecast_round(city: str, answer: str) -> list[Reply]:
    """What the model answers a weather question: a weather-get_forecast call for `city`, then `answer`, streamed."""
    return [Reply(tool_calls=[ToolCall("weather-get_forecast", f'{{"city":"{city}"}}')]), Reply(text=answer, first_token=0.5, gap=0.03)]


async def forecast_auto() -> None:
    kernel, service, history = _weather_chat(SINTRA)
    await _stream(service, history, _calling(FunctionChoiceBehavior.Auto()), kernel)
    await service.client.close()


async def forecast_required() -> None:
    kernel, service, history = _weather_chat(PORTO)
    # Required() allows one automatic invocation; the streaming loop then stops without asking for an answer.
    await _stream(service, history, _calling(FunctionChoiceBehavior.Required()), kernel)
    # The fix the lesson shows: stream the answer with one more request, without tools.
    await _stream(service, history, OpenAIChatPromptExecutionSettings())
    await service.client.close()


SCENARIOS = [
    Scenario(
        "08_semantic_kernel_streaming/two_turns",
        "A two-turn Semantic Kernel chat: the second request carries the first answer (the streamed chunks added into "
        "one assistant message), so 'those' in the follow-up has something to refer to. Every request asks for "
        "include_usage, as SK always does, so each stream ends with a usage chunk (choices: []).",
        [Reply(text=BACKPACK_ANSWER, first_token=0.5, gap=0.03), Reply(text=FOLLOW_UP_ANSWER, first_token=0.45, gap=0.03)],
        two_turns,
    ),
    Scenario(
        "08_semantic_kernel_streaming/forecast_auto",
        "Automatic function calling while streaming, FunctionChoiceBehavior.Auto(): the first stream is a call to "
        "weather-get_forecast (the plugin-function name SK advertises) whose arguments arrive in fragments and whose "
        "chunks carry no text; SK runs the function and sends the second request with the call and its result, whose "
        "stream is the answer.",
        _forecast_round("Sintra", SINTRA_ANSWER),
        forecast_auto,
    ),
    Scenario(
        "08_semantic_kernel_streaming/forecast_required",
        "The streaming trap of FunctionChoiceBehavior.Required(): it allows one automatic invocation, so SK 1.45 streams "
        "the call (tool_choice: required), runs the function, and stops: no text at all. The second request is the fix "
        "the lesson makes by hand, the same history streamed again without tools; it is also the last request SK's "
        "non-streaming get_chat_message_content makes (served from this stream), which is why that one answers.",
        _forecast_round("Porto", PORTO_ANSWER),
        forecast_required,
    ),
    Scenario(
        "08_semantic_kernel_streaming/exercise_two_turns",
        "Exercise 8.1's conversation: two streamed questions to a trail guide; the second request must carry the first "
        "answer as an assistant message, or it matches nothing and the check says so.",
        [Reply(text=EXERCISE_ANSWERS[0], first_token=0.45, gap=0.03), Reply(text=EXERCISE_ANSWERS[1], first_token=0.4, gap=0.03)],
        exercise_two_turns,
    ),
]
