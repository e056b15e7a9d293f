"""Lesson 02: a Markdown answer with a usage chunk, an answer cut at the token limit, two answers in one stream (n=2), and a refusal."""

from __future__ import annotations

from .. import Reply, Scenario, recorded_body
from ..from_notebook import fitted

# Authored from the notebook (`make fixtures LESSON=02`): the prompts are written once, in its cells. The
# names below are what the notebook last sent, read from the fixtures, for the unit tests.
CHECKLIST = recorded_body("02_collect_while_streaming/checklist")["messages"]
STAGES = recorded_body("02_collect_while_streaming/cut_short")["messages"]
STOVE = recorded_body("02_collect_while_streaming/refusal")["messages"]
STEPS_FORMAT = recorded_body("02_collect_while_streaming/refusal")["response_format"]
USAGE = {"include_usage": True}
# The refusal's two cells are replay-only live; here the stand-in plays the refusal, so authoring runs them.
RECORDED_REPLAY_ONLY_CELLS = ("l02-15", "l02-17")

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

# The service cuts this at the request's max_completion_tokens (40), mid-sentence, with finish_reason "length".
STAGES_ANSWER = (
    "The Tour du Mont Blanc is a 170 km loop around the massif through France, Italy and Switzerland, "
    "walked in eleven stages.\n\n1. **Les Houches to Les Contamines**: a gentle start up to the Col de Voza, "
    "then down through meadows.\n2. **Les Contamines to Les Chapieux**: the long climb to the Col du Bonhomme."
)
STAGES_CUT = fitted(Reply(text=STAGES_ANSWER), recorded_body("02_collect_while_streaming/cut_short")).text

# Two answers to one request (n=2): the stream interleaves them, one choice per chunk.
CLUB_ANSWERS = (
    "Call it the Ridge Runners: short, friendly, and it promises a view from the top.",
    "How about Summit Seekers, a name that says every walk ends somewhere worth the climb?",
)

STOVE_REFUSAL = (
    "I'm sorry, but I can't help with bypassing a stove's safety shut-off. Running a stove in a closed tent "
    "can cause carbon monoxide poisoning or a fire."
)


SCENARIOS = [
    Scenario(
        "02_collect_while_streaming/checklist",
        "A Markdown answer (a heading, bold words, a list and a table) of about a hundred chunks over three seconds, "
        "asked with stream_options include_usage: after the finish_reason chunk comes one more chunk with an empty "
        "choices list and the token usage. The lesson streams it twice: printed, then as a live Markdown display.",
        [Reply(text=CHECKLIST_ANSWER, first_token=0.5, gap=0.028)],
    ),
    Scenario(
        "02_collect_while_streaming/cut_short",
        "An answer cut at max_completion_tokens=40: it stops mid-sentence with finish_reason \"length\", which a "
        "program must notice (the text looks like an answer but is not finished). Usage chunk at the end.",
        [Reply(text=STAGES_ANSWER, first_token=0.45, gap=0.03)],
    ),
    Scenario(
        "02_collect_while_streaming/two_choices",
        "Chat Completions with n=2: two answers to one request in one stream. The chunks interleave the two choices, "
        "one choice per chunk, and only `choice.index` (0 or 1) says which answer a delta belongs to, so a loop "
        "reading chunk.choices[0] joins both answers into one garbled text. Each choice ends with its own "
        "finish_reason chunk; no usage chunk.",
        [Reply(text=CLUB_ANSWERS[0], more_choices=[Reply(text=CLUB_ANSWERS[1])])],
    ),
    Scenario(
        "02_collect_while_streaming/refusal",
        "A refusal under structured outputs (response_format json_schema): the deltas carry `refusal` text and "
        "`content` stays null, so a loop that prints only content shows nothing. finish_reason stop, usage chunk.",
        [Reply(refusal=STOVE_REFUSAL, first_token=0.6, gap=0.03)],
    ),
]
