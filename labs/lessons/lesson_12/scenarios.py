"""Lesson 12: the web app's recorded prompts, two or three per backend, and the plain request exercise 12.2's check frames.

Authored from the notebook (`make fixtures LESSON=12`): its cells ask each backend of the app (`labs.web.backends`)
for the prompts written in them, so the recorded requests are exactly what the app sends for that prompt, and
the page lists the prompt as a suggestion in replay mode. Every backend has one Markdown answer full of
newlines (the `data: {chunk}` bug loses its lines) and one tool round (tool progress on the page); the chat
backend also has an answer carrying HTML and a script, which the page must show as text. `reader_layers`
keeps its `run` (see below): exercise 12.2's check replays it. Lesson 13 asks the same app, from these fixtures.
The names below are what the notebook last sent, read from the fixtures, for the unit tests and the checks.
"""

from __future__ import annotations

from .. import Reply, Scenario, ToolCall, recorded_body

__all__ = ["ANSWERS", "PROMPTS", "READER_ANSWER", "READER_PROMPT", "SCENARIOS"]

_KEYS = (
    "chat_pack_list", "chat_trail_tool", "chat_xss", "agents_insulation", "agents_stock_tool",
    "azure_rain_tips", "azure_forecast_tool", "sk_trail_shoes", "sk_jacket_size_tool",
)  # fmt: skip


def _prompt(key: str) -> str:
    """The user's message in the first request of fixture `key` (an Azure chain's thread holds it)."""
    body = recorded_body(f"12_sse_to_the_browser/{key}")
    messages = body.get("messages") or body.get("input")
    return next(m["content"] for m in messages if m.get("role") == "user")


PROMPTS = {key: _prompt(key) for key in _KEYS}

ANSWERS = {
    "chat_pack_list": (
        "For a day hike, pack the **ten essentials** and little else:\n\n"
        "- Water (2 litres) and snacks\n"
        "- A map, and your phone charged\n"
        "- A warm layer and a rain shell\n"
        "- Sun cream, a hat and a small first-aid kit\n\n"
        "Check the trail report before you leave."
    ),
    "chat_trail_tool": (
        "Yes: the **Ridge Trail** is open.\n\n"
        "The ranger's note says it is muddy above the second bridge, so wear boots with a good grip."
    ),
    "chat_xss": (
        'A review can hide markup such as <img src=x onerror="window.xssFired=1"> or '
        "<script>window.xssFired=2</script> in its text.\n\n"
        "A page that inserts model output with innerHTML runs it; a page that inserts it as text shows it harmlessly."
    ),
    "agents_insulation": (
        "In a wet climate, choose **synthetic** insulation:\n\n"
        "1. It keeps most of its warmth when damp.\n"
        "2. It dries faster.\n"
        "3. It costs less.\n\n"
        "Down is lighter and packs smaller, so keep it for cold, dry trips."
    ),
    "agents_stock_tool": "Yes, we have **3** Alpine 40 backpacks in stock,\nin slate and in moss.",
    "azure_rain_tips": (
        "Three tips for hiking in the rain:\n\n"
        "1. Wear a breathable shell and skip cotton.\n"
        "2. Pack a dry layer in a waterproof bag.\n"
        "3. Choose trails with good drainage and avoid river crossings."
    ),
    "azure_forecast_tool": "Tomorrow at **Lake Louise**: 6°C with snow showers until noon,\nthen clearing. Bring a warm hat.",
    "sk_trail_shoes": (
        "Choose trail running shoes by:\n\n"
        "- **Fit**: a thumb's width in front of your toes.\n"
        "- **Grip**: deeper lugs for mud, flatter ones for hard paths.\n"
        "- **Drop**: stay near what you run in now."
    ),
    "sk_jacket_size_tool": "A 102 cm chest fits a **medium (M)** Summit jacket.\n\nIf you layer a fleece underneath, try the L.",
}

# Exercise 12.2's plain request (one user message, no tools): an answer with newlines and a character UTF-8 writes in two bytes.
READER_PROMPT = "What should I wear for a snowy hike at 2 °C?"
READER_ANSWER = (
    "At 2 °C in snow, dress in layers you can open:\n\n"
    "- a merino base layer, never cotton\n"
    "- a fleece, and a waterproof shell over it\n"
    "- gloves, a warm hat and gaiters\n\n"
    "Wet hands and feet get cold first, so pack a spare pair of socks."
)


async def _ask_reader_prompt() -> None:
    from ...clients import async_openai_client, model

    async with async_openai_client() as client:
        messages = [{"role": "user", "content": READER_PROMPT}]
        stream = await client.chat.completions.create(model=model(), messages=messages, stream=True)  # type: ignore[call-overload]
        async with stream:
            async for _ in stream:
                pass


def _scenario(key: str, comment: str, call: ToolCall | None = None, **pace: float) -> Scenario:
    """The prompt `key`, asked of its backend by the notebook: the model makes the tool `call` first, if any, then answers `ANSWERS[key]`."""
    surface = "azure" if key.startswith("azure_") else "openai"
    replies = ([Reply(tool_calls=[call])] if call else []) + [Reply(text=ANSWERS[key], **pace)]
    return Scenario(f"12_sse_to_the_browser/{key}", comment, replies, surface=surface)


SCENARIOS = [
    _scenario(
        "chat_pack_list",
        "Chat backend, text only: a Markdown list whose newlines travel inside the deltas (\"\\n\\n-\", \"\\n-\"). "
        "Framed as `data: {chunk}` those deltas end the event early and the list items vanish; as JSON they survive.",
        first_token=0.5,
        gap=0.03,
    ),
    _scenario(
        "chat_trail_tool",
        "Chat backend, one tool round: a trail_conditions call whose arguments arrive in fragments, then the "
        "follow-up request carrying the tool result, whose streamed answer has a paragraph break.",
        ToolCall("trail_conditions", '{"trail":"Ridge Trail"}'),
    ),
    _scenario(
        "chat_xss",
        "Chat backend, an answer that carries an <img onerror> and a <script> tag as text: the page must show them "
        "and run nothing (the browser test checks window.xssFired stays undefined).",
    ),
    _scenario(
        "agents_insulation",
        "openai-agents Runner.run_streamed over the Responses API, text only: a numbered Markdown list, so deltas "
        "carry newlines.",
    ),
    _scenario(
        "agents_stock_tool",
        "openai-agents with a function tool: a stock_level call (response.function_call_arguments.delta), then the "
        "second request with its function_call_output and the streamed answer.",
        ToolCall("stock_level", '{"product":"Alpine 40"}'),
    ),
    _scenario(
        "azure_rain_tips",
        "azure-ai-agents, the chain one web request makes: create a thread holding the question, then an agent, stream the run "
        "(a numbered list in thread.message.delta events), delete the agent.",
    ),
    _scenario(
        "azure_forecast_tool",
        "azure-ai-agents with automatic function calling: the run stream ends in requires_action for get_forecast, "
        "the SDK submits the output with stream=true and the continuation streams the answer; then the agent is deleted.",
        ToolCall("get_forecast", '{"place":"Lake Louise"}'),
    ),
    _scenario(
        "sk_trail_shoes",
        "semantic-kernel streaming with a plugin registered but not called: a Markdown list; SK asks for "
        "include_usage, so the stream ends with a usage chunk.",
    ),
    _scenario(
        "sk_jacket_size_tool",
        "semantic-kernel automatic function calling: the call is named gear-jacket_size on the wire "
        "(plugin-function); the kernel runs it and the second request streams the answer.",
        ToolCall("gear-jacket_size", '{"chest_cm":102}'),
    ),
    # Kept as a run: only exercise 12.2's check asks this, replaying it on a server of its own; no cell sends it.
    Scenario(
        "12_sse_to_the_browser/reader_layers",
        "One user message, no tools: an answer whose deltas carry newlines and a degree sign (two bytes in UTF-8), "
        "which exercise 12.2's check frames as the web app does and cuts into pieces anywhere, inside that character too.",
        [Reply(text=READER_ANSWER)],
        _ask_reader_prompt,
    ),
]
