"""Lesson 11's fixtures replay through semantic-kernel: automatic function calls while streaming, and the Required() trap."""

from __future__ import annotations

import json
from functools import reduce
from operator import add
from typing import Annotated

import pytest
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai import FunctionChoiceBehavior
from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
from semantic_kernel.contents import AuthorRole, ChatHistory, FunctionCallContent
from semantic_kernel.functions import kernel_function

import labs
from labs.lessons.lesson_11.checks import NO_CALL, REQUIRED
from labs.lessons.lesson_11.scenarios import ADVISOR, FORECASTS, PORTO, SINTRA
from labs.recordings import chat_chunks, chat_text, fixture

LESSON = "11_semantic_kernel_functions"


class RecordingWeather:
    """The lesson's plugin (same name, description and signature), noting every city it is asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @kernel_function(description="Tomorrow's weather forecast for a city.")
    def get_forecast(self, city: Annotated[str, "The city, e.g. Lisbon"]) -> str:
        self.asked.append(city)
        return FORECASTS[city]


def weather_kernel() -> tuple[Kernel, object, RecordingWeather]:
    kernel, service, plugin = Kernel(), labs.sk_chat_completion(), RecordingWeather()
    kernel.add_service(service)
    kernel.add_plugin(plugin, plugin_name="weather")
    return kernel, service, plugin


def recorded_calls(name: str, request: int = 0) -> list[tuple[str, dict]]:
    """The (name, arguments) of each tool call a recorded stream spells out."""
    calls: dict[int, list[str]] = {}
    for chunk in chat_chunks(name, request):
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            slot = calls.setdefault(call.index, ["", ""])
            slot[0] += call.function.name or ""
            slot[1] += call.function.arguments or ""
    return [(call_name, json.loads(arguments)) for call_name, arguments in calls.values()]


async def stream(service, history, settings, **kwargs) -> list:
    return [chunk async for chunk in service.get_streaming_chat_message_content(chat_history=history, settings=settings, **kwargs)]


def plain() -> OpenAIChatPromptExecutionSettings:
    return OpenAIChatPromptExecutionSettings()


def with_functions(behavior: FunctionChoiceBehavior) -> OpenAIChatPromptExecutionSettings:
    return OpenAIChatPromptExecutionSettings(function_choice_behavior=behavior)


# The notebook's fixtures, through semantic-kernel


async def test_auto_function_calling_streams_the_call_runs_the_function_and_streams_the_answer() -> None:
    name = f"{LESSON}/forecast_auto"
    [(tool, arguments)] = recorded_calls(name)
    kernel, service, plugin = weather_kernel()
    history = ChatHistory(system_message=ADVISOR)
    history.add_user_message(SINTRA)
    chunks = await stream(service, history, with_functions(FunctionChoiceBehavior.Auto()), kernel=kernel)

    assert plugin.asked == [arguments["city"]]
    first = [c for c in chunks if c.function_invoke_attempt == 0 and c.role == AuthorRole.ASSISTANT]
    assert all(c.content == "" for c in first), "the function-call round carries no text"
    call = reduce(add, first).items[0]
    assert isinstance(call, FunctionCallContent) and (call.name, call.parse_arguments()) == (tool, arguments)
    answer = reduce(add, [c for c in chunks if c.function_invoke_attempt == 1 and c.role == AuthorRole.ASSISTANT])
    assert answer.content == chat_text(name, 1)
    assert [m.role for m in history.messages] == [AuthorRole.SYSTEM, AuthorRole.USER, AuthorRole.ASSISTANT, AuthorRole.TOOL]
    assert history.messages[-1].to_dict()["content"] == fixture(name).interactions[1].request.body["messages"][-1]["content"]
    await service.client.close()


async def test_required_streams_no_answer_while_the_blocking_call_answers() -> None:
    name = f"{LESSON}/forecast_required"
    [(_, arguments)] = recorded_calls(name)
    kernel, service, plugin = weather_kernel()
    settings = with_functions(FunctionChoiceBehavior.Required())

    streamed = ChatHistory(system_message=ADVISOR)
    streamed.add_user_message(PORTO)
    chunks = await stream(service, streamed, settings, kernel=kernel)
    assert plugin.asked == [arguments["city"]]
    assert "".join(c.content for c in chunks) == "" and streamed.messages[-1].role == AuthorRole.TOOL

    blocking = ChatHistory(system_message=ADVISOR)
    blocking.add_user_message(PORTO)
    result = await service.get_chat_message_content(chat_history=blocking, settings=settings, kernel=kernel)
    assert result.content == chat_text(name, 1) and plugin.asked == [arguments["city"]] * 2

    follow_up = reduce(add, await stream(service, streamed, plain()))
    assert follow_up.content == result.content
    await service.client.close()


@pytest.mark.parametrize("name", [f"{LESSON}/forecast_auto", f"{LESSON}/forecast_required", NO_CALL, REQUIRED, "sdk_smoke/sk_function"])
def test_sk_fixtures_name_tools_plugin_dash_function(name: str) -> None:
    advertised = {tool["function"]["name"] for tool in fixture(name).interactions[0].request.body["tools"]}
    for tool, _ in recorded_calls(name):
        call = FunctionCallContent(id="call_1", name=tool)
        assert tool in advertised and f"{call.plugin_name}-{call.function_name}" == tool, f"{name}: {tool!r} is not plugin-function"


def test_the_exercise_fixtures_hold_what_their_checks_rely_on() -> None:
    no_call = fixture(NO_CALL).interactions
    assert len(no_call) == 1 and no_call[0].request.body["tool_choice"] == "auto" and chat_text(NO_CALL, 0)
    required = fixture(REQUIRED).interactions
    assert required[0].request.body["tool_choice"] == "required" and chat_text(REQUIRED, 0) == ""
    again = [interaction.request.body for interaction in required[1:]]
    assert [body.get("tool_choice") for body in again] == [None, "none", "auto"]  # the healthy ways to ask for the answer
    assert all([m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool"] for body in again)
    assert all(chat_text(REQUIRED, index) for index in range(1, len(required)))
