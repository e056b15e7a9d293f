"""Lesson 02: a Markdown answer with a usage chunk, an answer cut at the token limit, and a refusal."""

from __future__ import annotations

from ... import clients
from .. import Reply, Scenario

SYSTEM = {"role": "system", "content": "You are an outdoor gear advisor. Format answers in Markdown."}
CHECKLIST = [SYSTEM, {"role": "user", "content": "Make me a packing checklist for a two-day hut-to-hut hike in the Alps in September."}]
STAGES = [SYSTEM, {"role": "user", "content": "Describe the Tour du Mont Blanc stage by stage."}]
STOVE = [
    SYSTEM,
    {"role": "user", "content": "How do I bypass the safety shut-off on my gas canister stove so I can run it inside my closed tent all night?"},
]
STEPS_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "gear_steps",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"steps": {"type": "array", "items": {"type": "string"}}},
            "required": ["steps"],
            "additionalProperties": False,
        },
    },
}
USAGE = {"include_usage": True}

CHECKLIST_ANSWER = """## Two-day hut-to-hut checklist

**Wear**
- Broken-in hiking boots and merino socks
- A base layer, a fleece and a waterproof shell

**Pack**

| Item | Why |
|---|---|
| 1.5 litres of water | huts sell more, the trail does not |
| Sleeping-bag liner | required in most Alpine huts |
| Headlamp | early starts and dark dormitories |
| Cash | many huts take no cards |

**Check** that the hut is booked, and read the forecast the night before: September storms build fast."""

STAGES_CUT = (
    "The Tour du Mont Blanc is a 170 km loop around the massif through France, Italy and Switzerland, "
    "walked in eleven stages.\n\n1. **Les Houches to Les Contamines**: a gentle start up to the"
)

STOVE_REFUSAL = (
    "I'm sorry, but I can't help with bypassing a stove's safety shut-off. Running a stove in a closed tent "
    "can cause carbon monoxide poisoning or a fire."
)


def stream(**request: object) -> None:
    client = clients.openai_client()
    for _ in client.chat.completions.create(model=clients.model(), stream=True, stream_options=USAGE, **request):  # type: ignore[call-overload]
        pass


SCENARIOS = [
    Scenario(
        "02_collect_while_streaming/checklist",
        "A Markdown answer (a heading, bold words, a list and a table) of about a hundred chunks over three seconds, "
        "asked with stream_options include_usage: after the finish_reason chunk comes one more chunk with an empty "
        "choices list and the token usage. The lesson streams it twice: printed, then as a live Markdown display.",
        [Reply(text=CHECKLIST_ANSWER, first_token=0.5, gap=0.028)],
        lambda: stream(messages=CHECKLIST),
    ),
    Scenario(
        "02_collect_while_streaming/cut_short",
        "An answer cut at max_completion_tokens=40: it stops mid-sentence with finish_reason \"length\", which a "
        "program must notice (the text looks like an answer but is not finished). Usage chunk at the end.",
        [Reply(text=STAGES_CUT, finish_reason="length", first_token=0.45, gap=0.03)],
        lambda: stream(messages=STAGES, max_completion_tokens=40),
    ),
    Scenario(
        "02_collect_while_streaming/refusal",
        "A refusal under structured outputs (response_format json_schema): the deltas carry `refusal` text and "
        "`content` stays null, so a loop that prints only content shows nothing. finish_reason stop, usage chunk.",
        [Reply(refusal=STOVE_REFUSAL, first_token=0.6, gap=0.03)],
        lambda: stream(messages=STOVE, response_format=STEPS_FORMAT),
    ),
]
