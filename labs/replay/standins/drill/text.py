"""What the drill's model writes: answers in its own words, and tool arguments that follow each tool's schema.

Nothing here comes from a fixture. Answers are put together from this module's own phrases, at a length
chosen per request (one sentence, a paragraph, or a Markdown heading with a list), and always carry some
non-ASCII text (°C, place names such as Tromsø). Tool arguments are drawn from each tool's JSON schema:
required fields present, enums respected, numbers within their bounds, and place names that no fixture uses.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

__all__ = ["ARGUMENT_PLACES", "answer_text", "argument_fragments", "arguments_for", "relevance", "results_text", "value_for"]

TEXT_PLACES = ["Zürich", "Tromsø", "Kraków", "Ljubljana", "Reykjavík", "Málaga", "Göteborg", "Åre", "Bolzano", "Innsbruck"]
ARGUMENT_PLACES = ["Tromsø", "Innsbruck", "Kraków", "Ljubljana", "Reykjavík", "Graz", "Åre", "Bolzano", "Cluj-Napoca", "Göteborg", "Cortina d'Ampezzo"]
_TRAILS = ["Fuorcla Surlej", "Passo Giau", "Kungsleden stage 3", "Sentiero Roma", "Prielsteig"]
_DAYS = ["today", "tomorrow", "Saturday", "2026-03-14", "next Monday"]
_QUESTIONS = ["Will the bridge over the gorge hold?", "Is the old lighthouse still lit?", "Should we wait until morning?"]
_WORDS = ["lantern", "ridge", "compass", "meadow", "harbour", "granite", "aurora", "thicket"]
_STOP = set(
    "a an and are be can could do does for from have how i in is it its me my of on or our should so that the this to "
    "under we what when where which who why will with would you your about answer at most just give tell make set explain "
    "describe need want right now good best long take safe before after there some much many whether".split()
)
_LONG_CUES = ("checklist", "stage by stage", "step by step", "describe", "explain", "list", "plan", "compare", "guide", "markdown")

_OPENERS = [
    "Short version: {advice}.",
    "It depends a little on the season, but {advice}.",
    "Good question — {advice}.",
    "For {topic}, {advice}.",
    "The main thing with {topic}: {advice}.",
]
_ADVICE = [
    "start early and keep the first hour easy",
    "check the forecast the evening before and again at breakfast",
    "pack one warm layer more than you think you need",
    "decide on a turnaround time and keep to it",
    "carry {num} litres of water per person",
    "expect around {temp} °C at the start and colder higher up",
    "allow {num}0 minutes of slack for every few hours out",
]
_FACTS = [
    "In {place}, a typical morning this month sits near {temp} °C, so a light fleece is enough until noon.",
    "Most groups cover about {num} km in a relaxed half day, breaks included.",
    "Locals in {place} say the weather turns after lunch more often than not.",
    "Turning back early costs far less than pushing on late.",
    "Write the plan down and leave it with someone who is staying behind.",
    "A headlamp weighs little and solves a surprising number of problems.",
    "Snacks you actually like get eaten; the others travel home again.",
    "Wind makes {temp} °C feel several degrees colder, especially on open ground.",
    "Keep the heavy things close to your back and the small ones within reach.",
    "Five minutes of rest every hour beats one long stop — your legs stay warm.",
    "Shoes you have already broken in matter more than any other piece of kit.",
]
_HEADINGS = ["## {Topic}: a quick plan", "### What matters most", "## Before you go", "### A short checklist for {topic}"]
_ITEMS = [
    "**Layers** — a base layer, a fleece and a shell",
    "**Water** — {num} litres, plus a way to refill",
    "**Map** — offline, with the route already downloaded",
    "**Light** — a headlamp with fresh batteries",
    "**Food** — something salty and something sweet",
    "**Timing** — out by {hour}:30, back well before dark",
    "**Weather** — about {temp} °C expected, windier on top",
    "**Phone** — charged, with the emergency number saved",
    "**First aid** — blister plasters and a foil blanket",
]
_CLOSERS = ["Enjoy it — and keep an eye on the sky.", "Have a good trip!", "That covers the essentials.", "Want me to go into any of these in more detail?"]
_RESULT_INTROS = ["Here is what came back:", "The lookups are in:", "Results from the tools:"]


def _fill(template: str, rng: random.Random, topic: str) -> str:
    return template.format(
        topic=topic, Topic=topic[:1].upper() + topic[1:], place=rng.choice(TEXT_PLACES), temp=rng.randint(-4, 24),
        num=rng.randint(2, 6), hour=rng.randint(6, 9),
        advice=rng.choice(_ADVICE).format(num=rng.randint(2, 6), temp=rng.randint(-4, 24)),
    )  # fmt: skip


def _topic(question: str, rng: random.Random) -> str:
    """What the question is about: its longest run of words that are not filler (at most three)."""
    runs: list[list[str]] = [[]]
    for word in re.findall(r"[^\W\d_][\w'-]*|\S", question):
        if word.lower() in _STOP or len(word) < 3 or not word[0].isalpha():
            runs.append([])
        else:
            runs[-1].append(word)
    best = max(reversed(runs), key=len)  # on a tie, the later words: questions end with what they are about
    return " ".join(best[:3]) if best else rng.choice(["this", "your plan"])


def _shape(instructions: str, question: str, rng: random.Random) -> tuple[str, int | None]:
    """How long to answer (short, medium or long), and a word limit the instructions set, if any."""
    asked = f"{instructions} {question}".lower()
    limit = re.search(r"(?:under|at most|no more than|fewer than)\s+(\d+)\s+words", asked)
    words = int(limit.group(1)) if limit else None
    if "one sentence" in asked:
        return "short", words
    if re.search(r"(two|three|2|3)\s+(short\s+)?sentences", asked):
        return "medium", words
    weights = [0.25, 0.4, 0.35] if not any(cue in asked for cue in _LONG_CUES) else [0.1, 0.3, 0.6]
    return rng.choices(["short", "medium", "long"], weights)[0], words


def answer_text(instructions: str, question: str, rng: random.Random) -> str:
    """A plain answer to `question`: one or two sentences, a paragraph, or a heading with a list."""
    shape, words = _shape(instructions, question, rng)
    topic = _topic(question, rng)
    facts = [_fill(f, rng, topic) for f in rng.sample(_FACTS, k=len(_FACTS))]
    opener = _fill(rng.choice(_OPENERS), rng, topic)
    if shape == "long":
        items = "\n".join(f"- {_fill(i, rng, topic)}" for i in rng.sample(_ITEMS, k=rng.randint(3, 6)))
        blocks = [_fill(rng.choice(_HEADINGS), rng, topic), opener, items, " ".join(facts[: rng.randint(1, 3)]), rng.choice(_CLOSERS)]
    else:
        blocks = [opener, *facts[: rng.randint(0, 1) if shape == "short" else rng.randint(1, 3)]]
    if not any(ord(ch) > 127 for block in blocks for ch in block):
        blocks.insert(1, _fill(_FACTS[0], rng, topic))  # every answer carries some non-ASCII text
    while words is not None and len(blocks) > 1 and len(" ".join(blocks).split()) > words:
        blocks.pop()
    return "\n\n".join(blocks) if shape == "long" else " ".join(blocks)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower().replace("_", " ")) if w not in _STOP}


def relevance(name: str, description: str, instructions: str, question: str) -> float:
    """How likely a model is to pick a tool: more when the instructions name it, most when the question is about it."""
    about = _words(f"{name} {description}")
    named = 3 * (name.lower() in question.lower()) + 2 * (name.lower() in instructions.lower())
    return 1 + named + 2 * len(about & _words(question))


def _quote(output: str, limit: int = 160) -> str:
    flat = " ".join(str(output).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def results_text(results: list[tuple[str, str]], question: str, rng: random.Random) -> str:
    """An answer that reports each tool's output, quoted briefly, then a sentence of its own."""
    topic = _topic(question, rng)
    if len(results) == 1:
        name, output = results[0]
        lead = rng.choice(["{name} returned “{out}”.", "According to {name}: “{out}”.", "I checked with {name}, which says “{out}”."])
        head = lead.format(name=name, out=_quote(output))
    else:
        lines = "\n".join(f"- **{name}**: “{_quote(output)}”" for name, output in results)
        head = f"{rng.choice(_RESULT_INTROS)}\n\n{lines}"
    tail = " ".join(_fill(f, rng, topic) for f in rng.sample(_FACTS, k=rng.randint(1, 2)))
    return f"{head}\n\n{tail}"


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _string_for(name: str, schema: dict[str, Any], rng: random.Random) -> str:
    key, about = name.lower(), str(schema.get("description", "")).lower()
    fmt = schema.get("format")
    if fmt == "date":
        return f"2026-0{rng.randint(3, 9)}-{rng.randint(10, 28)}"
    if fmt == "date-time":
        return f"2026-0{rng.randint(3, 9)}-{rng.randint(10, 28)}T0{rng.randint(6, 9)}:30:00Z"
    if fmt == "email":
        return f"{rng.choice(_WORDS)}@example.org"
    if any(w in key for w in ("city", "location", "place", "town", "destination", "where")):
        return rng.choice(ARGUMENT_PLACES)
    if any(w in key for w in ("trail", "pass", "route", "path")):
        return rng.choice(_TRAILS)
    if any(w in key for w in ("day", "date", "when")) or "tomorrow" in about:
        return rng.choice(_DAYS)
    if any(w in key for w in ("question", "query", "prompt", "ask")):
        return rng.choice(_QUESTIONS)
    if "unit" in key:
        return rng.choice(["celsius", "metric"])
    text = " ".join(rng.sample(_WORDS, k=rng.randint(1, 2)))
    return text[: schema["maxLength"]] if isinstance(schema.get("maxLength"), int) else text


def value_for(schema: Any, rng: random.Random, name: str = "", root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value that satisfies `schema` (a JSON schema as tools declare them), drawn with `rng`."""
    if not isinstance(schema, dict):
        return _string_for(name, {}, rng)
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for union in ("anyOf", "oneOf"):
        options = [o for o in schema.get(union) or [] if isinstance(o, dict) and o.get("type") != "null"]
        if options:
            return value_for(rng.choice(options), rng, name, root, depth)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        keep = [k for k in properties if k in required or (depth < 3 and rng.random() < 0.5)]
        return {k: value_for(properties[k], rng, k, root, depth + 1) for k in keep}
    if kind == "array":
        low, high = int(schema.get("minItems", 1)), int(schema.get("maxItems", 3))
        return [value_for(schema.get("items", {}), rng, name, root, depth + 1) for _ in range(rng.randint(low, max(low, high)))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 1)
        high = schema.get("maximum", schema["exclusiveMaximum"] - 1 if "exclusiveMaximum" in schema else max(low, 100))
        if "side" in name.lower():
            dice = [s for s in (4, 6, 8, 10, 12, 100) if low <= s <= high]
            return rng.choice(dice or [low])
        return rng.randint(int(low), int(high)) if kind == "integer" else round(rng.uniform(float(low), float(high)), 1)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    return _string_for(name, schema, rng)


def arguments_for(parameters: Any, rng: random.Random) -> str:
    """A call's arguments as the model writes them: a JSON object for `parameters`, spaced one of a few ways."""
    value = value_for(parameters or {"type": "object", "properties": {}}, rng)
    style = rng.choices(["compact", "spaced", "padded"], [0.6, 0.25, 0.15])[0]
    if style == "compact":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = json.dumps(value, ensure_ascii=False)
    return f"{{ {text[1:-1]} }}" if style == "padded" and len(text) > 2 else text


_ARGUMENT_TOKEN = re.compile(r'\s*[{}\[\],:"]+\s*|[^{}\[\],:"]{1,5}')


def argument_fragments(arguments: str, rng: random.Random) -> list[str]:
    """How the arguments stream: tokenizer-like pieces (punctuation runs, word pieces), some merged."""
    pieces = _ARGUMENT_TOKEN.findall(arguments)
    out: list[str] = []
    for piece in pieces:
        if out and rng.random() < 0.3:
            out[-1] += piece
        else:
            out.append(piece)
    assert "".join(out) == arguments
    return out
