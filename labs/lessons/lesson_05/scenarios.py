"""Lesson 05: openai-agents streaming (a storyteller, a reasoning model's riddle keeper, a game master with dice
tools that can hand over to an oracle).

The lesson's three runs are authored from the notebook (`make fixtures LESSON=05`): their prompts, instructions
and tools are written once, in its cells. The tools draw from the run's context, a `random.Random(SEED)`:
`labs.replay_random(SEED)` gives the notebook the same generator in replay, so the rolls it sends in its
follow-up requests are the recorded ones, and the scripted narration below is written from those same rolls.
The agents below are the notebook's, rebuilt from what it last sent (read from the fixtures), for the unit tests
and the checkers. The handoff to the oracle is run and recorded in lesson 06 (`labs/lessons/lesson_06/`), which
builds the same agents; the oracle's own instructions are read from that recording.
"""

from __future__ import annotations

import json
import random

from agents import Agent, RunContextWrapper, function_tool

from ... import clients
from .. import Reply, Scenario, ToolCall, recorded_body

__all__ = [
    "CLIFF_PROMPT",
    "HANDOFF_FIXTURE",
    "MAGIC_8_BALL",
    "ORACLE_PROMPT",
    "PACE",
    "PROPHECY",
    "REASONING_MODEL",
    "RIDDLE_PROMPT",
    "SCENE_PROMPT",
    "SCENARIOS",
    "SEED",
    "game_master",
    "riddle_keeper",
    "storyteller",
]

# The riddle keeper's cell is replay-only live (a live model may send no reasoning item); here the stand-in
# plays a reasoning model, so authoring runs it.
RECORDED_REPLAY_ONLY_CELLS = ("l05-16c",)
SEED = 6
MAGIC_8_BALL = ["It is certain", "Without a doubt", "Ask again later", "Cannot predict now", "Don't count on it", "Very doubtful"]


def _prompt(name: str, index: int = 0) -> str:
    return recorded_body(f"05_agents_sdk_streaming/{name}", index)["input"][0]["content"]


# What the notebooks last sent, read from the fixtures (the handoff is lesson 06's).
SCENE_PROMPT, CLIFF_PROMPT, RIDDLE_PROMPT = map(_prompt, ("opening_scene", "cliff_climb", "reasoning_riddle"))
HANDOFF_FIXTURE = "06_agents_sdk_handoffs_and_chat/oracle_handoff"
ORACLE_PROMPT = recorded_body(HANDOFF_FIXTURE)["input"][0]["content"]
REASONING_MODEL = recorded_body("05_agents_sdk_streaming/reasoning_riddle")["model"]  # its answer starts with a reasoning item
STORYTELLER_INSTRUCTIONS = recorded_body("05_agents_sdk_streaming/opening_scene")["instructions"]
GAME_MASTER_INSTRUCTIONS = recorded_body("05_agents_sdk_streaming/cliff_climb")["instructions"]
ORACLE_INSTRUCTIONS = recorded_body(HANDOFF_FIXTURE, 1)["instructions"]
RIDDLE_INSTRUCTIONS = recorded_body("05_agents_sdk_streaming/reasoning_riddle")["instructions"]
_HANDOFF = next(t for t in recorded_body("05_agents_sdk_streaming/cliff_climb")["tools"] if t["name"] == "transfer_to_oracle")
ORACLE_DESCRIPTION = _HANDOFF["description"].removeprefix("Handoff to the Oracle agent to handle the request. ")


def riddle_keeper() -> Agent:
    """The lesson's reasoning agent: a reasoning model, no tools, one streamed answer after its reasoning item."""
    return Agent(name="Riddle keeper", instructions=RIDDLE_INSTRUCTIONS, model=REASONING_MODEL)


def storyteller(model: str | None = None) -> Agent:
    """The lesson's first agent: no tools, one streamed answer."""
    return Agent(name="Storyteller", instructions=STORYTELLER_INSTRUCTIONS, model=model or clients.model())


def game_master(model: str | None = None) -> Agent[random.Random]:
    """The game master (roll_die, flip_coin) with a handoff to the Oracle (magic_8_ball), as the notebook builds them."""
    @function_tool
    def roll_die(ctx: RunContextWrapper[random.Random], sides: int) -> int:
        """Roll a die with the given number of sides and return the number rolled."""
        return ctx.context.randint(1, sides)

    @function_tool
    def flip_coin(ctx: RunContextWrapper[random.Random]) -> str:
        """Flip a coin and return heads or tails."""
        return ctx.context.choice(["heads", "tails"])

    @function_tool
    def magic_8_ball(ctx: RunContextWrapper[random.Random], question: str) -> str:
        """Shake the magic 8-ball for a yes-or-no question and return its answer."""
        return ctx.context.choice(MAGIC_8_BALL)

    oracle = Agent(
        name="Oracle",
        handoff_description=ORACLE_DESCRIPTION,
        instructions=ORACLE_INSTRUCTIONS,
        tools=[magic_8_ball],
        model=model or clients.model(),
    )
    return Agent(
        name="Game master",
        instructions=GAME_MASTER_INSTRUCTIONS,
        tools=[roll_die, flip_coin],
        handoffs=[oracle],
        model=model or clients.model(),
    )


# The rolls a run seeded with SEED makes, in the order the tools are called: the narration is written from them.
_cliff = random.Random(SEED)
ROLL, COIN = _cliff.randint(1, 20), _cliff.choice(["heads", "tails"])
PROPHECY = random.Random(SEED).choice(MAGIC_8_BALL)
PACE = {"first_token": 0.35, "gap": 0.025}  # lesson 06's handoff is paced the same

SCENARIOS = [
    Scenario(
        "05_agents_sdk_streaming/opening_scene",
        "openai-agents over the Responses API, no tools: one response whose text arrives as response.output_text.delta "
        "events between response.created and response.completed (which carries the usage).",
        [
            Reply(
                text="Dusk paints the Ember Cliffs the colour of dying coals as your party reaches their foot. High above, "
                "a hawk circles the ledge where an old monastery clings to the rock. The wind smells of rain, and the only "
                "way up is the cliff itself.",
                **PACE,
            )
        ],
    ),
    Scenario(
        "05_agents_sdk_streaming/reasoning_riddle",
        f"A reasoning model ({REASONING_MODEL}) over the Responses API, no tools: the response's first output item is a "
        "`reasoning` item at output_index 0 (encrypted content, empty summary), announced and closed before any text, "
        "while the model thinks; the message comes second, at output_index 1, so its content part and text deltas "
        "carry output_index 1. openai-agents makes a reasoning_item_created run item of it, before message_output_created; "
        "response.completed counts the reasoning tokens in output_tokens_details.",
        [
            Reply(
                text="Two keys open two locks, so look for the third one's trick: it is already unlocked, and the keys "
                "are for the other two.",
                reasoning_tokens=192,
            )
        ],
    ),
    Scenario(
        "05_agents_sdk_streaming/cliff_climb",
        f"Narration and tool calls interleaved: each of the first two responses streams a sentence of text and then a "
        f"function call in the same response (roll_die with sides 20, then flip_coin with no arguments); the follow-up "
        f"requests carry the tool outputs a generator seeded with {SEED} gives ({ROLL}, then {COIN}). Three model "
        f"responses for one run.",
        [
            Reply(
                text="You dig your fingers into the warm stone and start to climb. The rock is steep and crumbling: "
                "you need 12 or more on a d20.",
                tool_calls=[ToolCall("roll_die", json.dumps({"sides": 20}))],
                **PACE,
            ),
            Reply(
                text=f"{ROLL}! Your boots find every ledge and you haul yourself over the top. Two paths lead away from "
                "the edge, so let the coin choose.",
                tool_calls=[ToolCall("flip_coin", "{}")],
                **PACE,
            ),
            Reply(
                text=f"{COIN.capitalize()}: you take the left path, towards the ruined monastery, where a faint light "
                "flickers behind a broken window.",
                **PACE,
            ),
        ],
    ),
]
