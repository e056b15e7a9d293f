"""Fixtures authored from the lesson notebook itself, so each prompt is written in one place: its cell.

`python -m labs.lessons fixtures 03` (`make fixtures LESSON=03`) re-authors the fixtures of a lesson's
scenarios that have no `run` (every OpenAI scenario of lessons 00 to 05 and 08): it runs `solutions/03_*.ipynb`
top to bottom in record mode, with the scripted stand-in as the live service, and writes what was recorded as
the lesson's fixtures. A scenario keeps a `run` only where the notebook cannot make its requests (a recording
the notebook only replays, through a checker, say), and says why in its scenarios.py.

The stand-in answers each request with the scripted reply of the scenario it belongs to. Which scenario:
the committed fixture whose recorded request is closest to the one sent (same route), after replay's
normalisation (the same request, or one that differs in a field or two: a reworded prompt, a new option). So a
changed prompt keeps its scenario, its name, its comment and its scripted answer. A scenario of several
requests (a tool round: the call, then the follow-up carrying its result; an agent run of three responses) is
keyed request by request: the follow-up is closest to the recorded follow-up, and is answered with the next
scripted reply. The lesson's scenarios that keep a `run` answer too (a chat the notebook runs in a subprocess,
say), but only the notebook-authored ones are written. The answer is fitted to the
request as a healthy service would: a limit on completion tokens cuts a longer scripted text there, with
finish reason "length". The notebook's asserts hold for any healthy answer, so they hold for this one.

A notebook may make one recorded request more than once (a cell shows the stream, a later one times it; a
non-streamed call that replay serves from the streamed recording): the streamed, complete recording is kept,
the one whose ids the scenario's next request carries, so a conversation's ids stay consistent.

Tools that draw from `labs.replay_random(seed)` draw seeded, as they do in replay, so a recorded roll is the
roll a replay makes (the scripted narration is written from it).

Cells that start with `%%only_in_replay`, or test `labs.only_in_replay(...)`, skip themselves in record mode;
a lesson lists in `RECORDED_REPLAY_ONLY_CELLS` (in its scenarios.py) the ids of those whose recording the
stand-in plays (a refusal, a reasoning model's answer): authoring runs those cells as in replay. A request no fixture is close to, or two
different requests that both come closest to the same recorded one, stop the authoring with a message
saying what to add: a new request needs its own scenario (see the instructor guide in README.md).
"""

from __future__ import annotations

import contextvars
import difflib
import json
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat

from ..config import FIXTURES_DIR, REPO_ROOT, display_path
from ..replay.cassette import Cassette, Interaction, asks_for_stream, dump_cassette, load_cassettes
from ..replay.matching import normalise_body
from ..replay.standins import STANDINS, Reply, ScriptedServer, tokens
from ..replay.surfaces import surface
from . import Scenario
from .refresh import run_notebook, solution_path

__all__ = ["AuthoringError", "AuthoringReport", "author_lesson", "fitted"]

CLOSE_ENOUGH = 3  # at most this many fields may differ from a recorded request for it to keep its scenario
_MAGIC = "%%only_in_replay"
_REPLAY_ONLY_TEST = "labs.only_in_replay("
# Run before the notebook's first cell: tools draw from `replay_random(seed)` seeded, as in replay (record mode
# would roll anew), so the recorded follow-ups carry the rolls that replay makes and the narration is written from.
_SEEDED_AS_IN_REPLAY = """\
import random as _random
import labs as _labs, labs.randomness as _randomness
_randomness.replay_random = _labs.replay_random = lambda seed, seeded=_random.Random: seeded(seed)
del _random, _labs, _randomness"""
_ROUTE: contextvars.ContextVar[str] = contextvars.ContextVar("route", default="")  # the stand-in's route being answered
_ID = re.compile(r"\b(?:call|fc|msg|resp)_[A-Za-z0-9]{8,}")
_PLACEHOLDER_KEY = "authoring-stand-in-placeholder-not-a-key"


class AuthoringError(RuntimeError):
    """The notebook made requests that the lesson's scenarios cannot answer; the message says what to add."""


@dataclass
class AuthoringReport:
    """What authoring from a notebook wrote, for the instructor to review."""

    notebook: Path
    written: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # scenarios the notebook never asked for: left as they were

    def __str__(self) -> str:
        lines = [f"{self.notebook.name}: {len(self.written)} fixtures authored from the notebook"]
        lines += [f"  recorded {name}" for name in self.written]
        lines += [f"  unused   {name} (no cell asked for it; fixture left as it was)" for name in self.unused]
        return "\n".join(lines)


def fitted(reply: Reply, body: Any) -> Reply:
    """The scripted reply as a service would send it for this request: cut at its completion-token limit."""
    limit = body.get("max_completion_tokens") or body.get("max_tokens") if isinstance(body, dict) else None
    if not limit or reply.tool_calls or reply.refusal is not None:
        return reply
    pieces = tokens(reply.text)
    if len(pieces) <= limit:
        return reply
    return replace(reply, text="".join(pieces[:limit]), finish_reason="length")


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}.{key}" if prefix else key).items()}
    if isinstance(value, list) and value:
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}[{i}]").items()}
    return {prefix: value}


def _route(path: str) -> str:
    """`/v1/chat/completions` and `/chat/completions` → `completions`: the endpoint, wherever its API sits."""
    return path.partition("?")[0].rstrip("/").rsplit("/", 1)[-1]


def _comparable(body: Any, on: str, path: str) -> dict[str, Any]:
    flat = _flat(normalise_body(body, surface(on)))  # type: ignore[arg-type]
    return {**flat, "(streamed)": asks_for_stream(body), "(route)": _route(path)}


def _distance(recorded: dict[str, Any], sent: dict[str, Any]) -> tuple[int, float]:
    differing = [key for key in recorded.keys() | sent.keys() if recorded.get(key, KeyError) != sent.get(key, KeyError)]
    similar = sum(difflib.SequenceMatcher(None, repr(recorded.get(k)), repr(sent.get(k))).ratio() for k in differing)
    return len(differing), -similar


class ScenarioKeyer:
    """Decides which scenario, and which of its recorded requests, an incoming request stands for."""

    def __init__(self, scenarios: list[Scenario], fixtures: dict[str, Cassette]) -> None:
        self.scenarios = {s.name: s for s in scenarios}
        self.recorded = [
            (s.name, index, _comparable(interaction.request.body, s.surface, interaction.request.path))
            for s in scenarios
            if s.name in fixtures
            for index, interaction in enumerate(fixtures[s.name].interactions)
        ]
        self.decisions: list[tuple[str, str, int]] = []  # (route and body as JSON, scenario, index), in arrival order
        self.misses: list[str] = []  # what was wrong with each request no scenario answered
        self._cursor: dict[str, int] = {}

    def reply(self, body: Any, path: str = "") -> Reply:
        sent = _comparable(body, "openai", path or _ROUTE.get())
        ranked = sorted(
            self.recorded, key=lambda r: (*_distance(r[2], sent), 0 if self._cursor.get(r[0], 0) == r[1] else 1, r[1])
        )
        if not ranked or _distance(ranked[0][2], sent)[0] > CLOSE_ENOUGH or ranked[0][2]["(route)"] != sent["(route)"]:
            closest = f"; the closest, {ranked[0][0]}, differs in {_distance(ranked[0][2], sent)[0]} fields" if ranked else ""
            self.misses.append(
                f"no scenario of this lesson has a request like this one{closest}. A new request needs its own "
                "Scenario (name, comment, replies) in the lesson's scenarios.py: see the instructor guide in README.md"
            )
            error = {"message": self.misses[-1], "type": "invalid_request_error", "code": "no_scenario"}
            return Reply(status=400, error={"error": error})
        name, index, _ = ranked[0]
        self._cursor[name] = index + 1
        self.decisions.append((_sent(sent["(route)"], body), name, index))
        replies = self.scenarios[name].replies
        if not replies:
            self.misses.append(f"{name} has no scripted reply: it is recorded by its own `run`, and the notebook should only replay it")
            error = {"message": self.misses[-1], "type": "invalid_request_error", "code": "no_scenario"}
            return Reply(status=400, error={"error": error})
        return fitted(replies[min(index, len(replies) - 1)], body)


def _sent(route: str, body: Any) -> str:
    return route + " " + json.dumps(body, sort_keys=True)


def _standin(keyer: ScenarioKeyer) -> ScriptedServer:
    class NotebookStandIn(STANDINS["openai"]):  # type: ignore[misc,valid-type]
        no_reply_left = "authoring from the notebook"

        def next_reply(self, request: dict[str, Any]) -> Reply:
            return keyer.reply(request)

        async def _chat(self, request: Any) -> Any:
            _ROUTE.set(_route(request.url.path))  # this request's own task: concurrent requests keep their routes
            return await super()._chat(request)

        async def _responses(self, request: Any) -> Any:
            _ROUTE.set(_route(request.url.path))
            return await super()._responses(request)

    return NotebookStandIn()


def _runnable(path: Path, replay_only: set[str]) -> nbformat.NotebookNode:
    """The notebook, in memory, with the listed replay-only cells running as in replay (no magic, the test true)."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.get("id") in replay_only and cell.source.startswith(_MAGIC):
            cell.source = cell.source.split("\n", 1)[1] if "\n" in cell.source else ""
        elif cell.get("id") in replay_only and _REPLAY_ONLY_TEST in cell.source:
            cell.source = cell.source.replace(_REPLAY_ONLY_TEST, "(lambda why: True)(")
    notebook.cells.insert(0, nbformat.v4.new_code_cell(_SEEDED_AS_IN_REPLAY))
    return notebook


def _ids(value: Any) -> set[str]:
    return set(_ID.findall(value if isinstance(value, str) else json.dumps(value)))


def _response_ids(interaction: Interaction) -> set[str]:
    """The ids a recorded answer hands out (its tool calls', its response's), which a follow-up request names."""
    events = interaction.response.events or []
    return _ids(" ".join(e.data for e in events)) | _ids(interaction.response.body)


def _shape(interaction: Interaction) -> dict[str, Any]:
    """A request as it is compared, whether streamed or not: replay serves a non-streamed call from the streamed recording."""
    compared = _comparable(interaction.request.body, "openai", interaction.request.path)
    return {key: value for key, value in compared.items() if key != "(streamed)"}


def _keep(candidates: list[Interaction], followed_by: Interaction | None, name: str, index: int) -> Interaction:
    """Of the recordings of one request, the one to keep: streamed, complete, and the one the next request follows."""
    first = _shape(candidates[0])
    other = next((c for c in candidates if _shape(c) != first), None)
    if other is not None:
        raise AuthoringError(
            f"two different requests of the notebook both stand for request {index + 1} of {name}: "
            f"{json.dumps(candidates[0].request.body)[:160]} and {json.dumps(other.request.body)[:160]}. Give the new "
            "one its own Scenario in the lesson's scenarios.py (see the instructor guide in README.md)."
        )
    named = _ids(followed_by.request.body) if followed_by is not None else set()

    def rank(numbered: tuple[int, Interaction]) -> tuple[bool, int, bool, int]:
        order, candidate = numbered
        streamed = asks_for_stream(candidate.request.body)
        return streamed, len(candidate.response.events or []), bool(named & _response_ids(candidate)), order

    return max(enumerate(candidates), key=rank)[1]


def _assign(recorded: list[Cassette], keyer: ScenarioKeyer) -> dict[str, dict[int, Interaction]]:
    """The recorded interactions of each scenario by the index of the recorded request they stand for."""
    pending = list(keyer.decisions)
    candidates: dict[str, dict[int, list[Interaction]]] = defaultdict(lambda: defaultdict(list))
    for cassette in recorded:
        for interaction in cassette.interactions:
            sent = _sent(_route(interaction.request.path), interaction.request.body)
            decision = next((d for d in pending if d[0] == sent), None)
            if decision is None:
                raise AuthoringError(f"a recorded request the stand-in never answered: {sent[:200]}")
            pending.remove(decision)
            _, name, index = decision
            candidates[name][index].append(interaction)
    placed: dict[str, dict[int, Interaction]] = defaultdict(dict)
    for name, by_index in candidates.items():
        for index in sorted(by_index, reverse=True):  # the last request first: each earlier one is kept for the one after it
            placed[name][index] = _keep(by_index[index], placed[name].get(index + 1), name, index)
    return placed


def author_lesson(lesson: str, root: Path = REPO_ROOT, record_dir: Path | None = None, only: list[str] | None = None) -> AuthoringReport:
    """Re-author lesson `lesson`'s notebook-authored fixtures (those named in `only`, default all) below `record_dir`."""
    import importlib

    path = solution_path(root, lesson)
    module = importlib.import_module(f"labs.lessons.lesson_{int(lesson):02d}.scenarios")
    scenarios = [s for s in module.SCENARIOS if s.run is None and (only is None or s.name in only)]
    if not scenarios:
        raise AuthoringError(f"lesson {lesson} has no scenario authored from its notebook")
    if any(s.surface != "openai" for s in scenarios):
        raise AuthoringError("authoring from a notebook plays the OpenAI surface only; give Azure scenarios a `run`")
    # Every OpenAI scenario of the lesson answers (one with a `run` too: a chat the notebook runs in a subprocess,
    # say); only the notebook-authored ones chosen are written.
    answering = [s for s in module.SCENARIOS if s.surface == "openai"]
    fixtures = {c.name: c for c in load_cassettes([FIXTURES_DIR]) if c.name in {s.name for s in answering}}
    keyer = ScenarioKeyer(answering, fixtures)
    report = AuthoringReport(path)
    runnable = _runnable(path, set(getattr(module, "RECORDED_REPLAY_ONLY_CELLS", ())))
    with _standin(keyer) as standin, tempfile.TemporaryDirectory(prefix="labs-author-") as scratch:
        environment = {
            "LABS_MODE": "record", "LABS_REPLAY_SPEED": "0", "LABS_RECORD_DIR": scratch,
            "OPENAI_API_KEY": _PLACEHOLDER_KEY, surface("openai").upstream_variable: standin.upstream_url,
        }  # fmt: skip
        try:
            run_notebook(path, root, "record", environment, notebook=runnable)
        except Exception as error:  # nbclient's CellExecutionError carries the cell and the stand-in's message
            misses = "".join(f"\n{miss}" for miss in keyer.misses)
            raise AuthoringError(f"{display_path(path)} failed while recording:\n{error}{misses}") from None
        if keyer.misses:
            raise AuthoringError(f"{display_path(path)}: " + "\n".join(keyer.misses))
        placed = _assign(load_cassettes([Path(scratch)]), keyer)
    folder = Path(record_dir or FIXTURES_DIR)
    for scenario in scenarios:
        if scenario.name not in placed:
            report.unused.append(scenario.name)
            continue
        old = fixtures[scenario.name].interactions if scenario.name in fixtures else []
        new = placed[scenario.name]
        interactions = [new.get(i) or old[i] for i in range(max(len(old), max(new) + 1)) if i in new or i < len(old)]
        cassette = Cassette(name=scenario.name, surface=scenario.surface, comment=scenario.comment, interactions=interactions)
        target = folder / f"{scenario.name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        dump_cassette(cassette, target)
        report.written.append(scenario.name)
    return report
