"""Fixtures authored from the lesson notebook itself, so each prompt is written in one place: its cell.

`python -m labs.lessons fixtures 03` (`make fixtures LESSON=03`) re-authors the fixtures of a lesson's
scenarios that have no `run` (every scenario a cell of lessons 00 to 13 asks): it runs `solutions/03_*.ipynb`
top to bottom in record mode, with the scripted stand-ins as the live services, and writes what was recorded as
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

Azure AI Agents (lessons 07 and 09) is keyed by model turn, not by request: a run starting, or tool outputs
coming back, asks the Azure stand-in for its answer with what the model reads (the run's settings, the thread's
messages, the tool results of the run), and that turn is compared with the turns rebuilt from the committed
fixtures (`recorded_turns`), as a request is. A conversation, from the POST /assistants that opens it to the
agent's deletion, with its threads, messages, runs, polls and submissions, is written whole as the fixture of
the scenario its turns were answered from (its threads name it; a thread created before the agent, as the web
app's Azure backend does, joins the conversation that runs on it); one holding turns of two scenarios, or two
conversations standing for one scenario, stop the authoring. A lesson whose service must behave otherwise names
its stand-in class in `AZURE_STANDIN` (lesson 08: runs that progress in time for a poller).

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
from contextlib import ExitStack
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

__all__ = ["AuthoringError", "AuthoringReport", "TurnKeyer", "author_lesson", "fitted", "recorded_turns"]

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

    what = "request"  # what one keyed thing is called in a miss

    def __init__(self, scenarios: list[Scenario], fixtures: dict[str, Cassette]) -> None:
        self.scenarios = {s.name: s for s in scenarios}
        self.recorded = [
            (s.name, index, comparable) for s in scenarios if s.name in fixtures for index, comparable in enumerate(self.keyed(fixtures[s.name]))
        ]
        self.decisions: list[tuple[str, str, int]] = []  # (what was sent, scenario, index), in arrival order
        self.misses: list[str] = []  # what was wrong with each request no scenario answered
        self._cursor: dict[str, int] = {}

    def keyed(self, fixture: Cassette) -> list[dict[str, Any]]:
        """The recorded requests of a fixture, as they are compared."""
        return [_comparable(i.request.body, fixture.surface, i.request.path) for i in fixture.interactions]

    def error(self, message: str) -> Reply:
        return Reply(status=400, error={"error": {"message": message, "type": "invalid_request_error", "code": "no_scenario"}})

    def reply(self, body: Any, path: str = "") -> Reply:
        sent = _comparable(body, "openai", path or _ROUTE.get())
        return self.answer(sent, _sent(sent["(route)"], body), body)

    def answer(self, sent: dict[str, Any], decided_as: str, body: Any) -> Reply:
        """The scripted reply of the recorded request closest to `sent`; `decided_as` is noted with the choice."""
        ranked = sorted(
            self.recorded, key=lambda r: (*_distance(r[2], sent), 0 if self._cursor.get(r[0], 0) == r[1] else 1, r[1])
        )
        if not ranked or _distance(ranked[0][2], sent)[0] > CLOSE_ENOUGH or ranked[0][2]["(route)"] != sent["(route)"]:
            closest = f"; the closest, {ranked[0][0]}, differs in {_distance(ranked[0][2], sent)[0]} fields" if ranked else ""
            self.misses.append(
                f"no scenario of this lesson has a {self.what} like this one{closest}. A new {self.what} needs its own "
                "Scenario (name, comment, replies) in the lesson's scenarios.py: see the instructor guide in README.md"
            )
            return self.error(self.misses[-1])
        name, index, _ = ranked[0]
        self._cursor[name] = index + 1
        self.decisions.append((decided_as, name, index))
        replies = self.scenarios[name].replies
        if not replies:
            self.misses.append(f"{name} has no scripted reply: it is recorded by its own `run`, and the notebook should only replay it")
            return self.error(self.misses[-1])
        return fitted(replies[min(index, len(replies) - 1)], body)


# -- Azure AI Agents: one conversation (an agent, its threads, messages, runs, submissions) is one scenario ----


def recorded_turns(fixture: Cassette) -> list[tuple[str, dict[str, Any]]]:
    """The model turns of a recorded Azure conversation, each with its thread: what the model read, as the stand-in states it.

    A run starting, or tool outputs coming back, is a turn: the run's settings (from the run object recorded),
    the thread's messages so far (the users' as sent, the assistant's as streamed or listed), and the tool results
    submitted in this run (the calls named by the run's required action, with the outputs sent).
    """
    on = surface("azure")
    threads: dict[str, list[dict[str, str]]] = defaultdict(list)
    runs: dict[str, dict[str, Any]] = {}  # run id -> its settings, results submitted so far and the calls it waits on
    turns: list[tuple[str, dict[str, Any]]] = []
    for interaction in fixture.interactions:
        request, response = interaction.request, interaction.response
        path = request.path.partition("?")[0].rstrip("/")
        body = request.body if isinstance(request.body, dict) else {}
        thread = on.conversation(request.method, request.path, request.body)
        answered = response.body if isinstance(response.body, dict) else {}
        if request.method == "POST" and path == "/threads":
            threads[answered.get("id", "")] = [_said(m) for m in body.get("messages") or []]
        elif request.method == "POST" and path.endswith("/messages") and thread:
            threads[thread].append(_said(body))
        elif request.method == "GET" and path.endswith("/messages") and thread and "?" not in request.path and not answered.get("has_more"):
            listed = [_said(m) for m in answered.get("data") or []]  # the whole thread, newest first
            threads[thread] = listed[::-1]
        elif request.method == "POST" and path.endswith("/runs") and thread:
            threads[thread].extend(_said(m) for m in body.get("additional_messages") or [])
            run = next((e.json() for e in response.events or [] if e.event == "thread.run.created"), answered)
            if "id" not in run:
                continue
            runs[run["id"]] = {"settings": run, "results": [], "waiting": []}
            turns.append((thread, _turn(run, threads[thread], [], submitted=False)))
            _streamed(interaction, threads[thread], runs[run["id"]])
        elif request.method == "POST" and path.endswith("/submit_tool_outputs") and thread and path.split("/")[-2] in runs:
            run = runs[path.split("/")[-2]]
            outputs = {o.get("tool_call_id"): o.get("output") for o in body.get("tool_outputs") or []}
            answered_calls = [
                {"call_id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"], "output": outputs.get(c["id"])}
                for c in run["waiting"]
            ]
            turns.append((thread, _turn(run["settings"], threads[thread], run["results"] + answered_calls, submitted=True)))
            run["results"] += answered_calls
            _streamed(interaction, threads[thread], run)
    return turns


def _said(message: dict[str, Any]) -> dict[str, str]:
    """A message as the model reads it: its role and its text (a string, or the text of its text parts)."""
    content = message.get("content")
    if isinstance(content, list):
        content = "".join((p.get("text") or {}).get("value", "") if isinstance(p.get("text"), dict) else p.get("text", "") for p in content if p.get("type") == "text")
    return {"role": message.get("role", "user"), "content": content or ""}


def _turn(run: dict[str, Any], messages: list[dict[str, str]], results: list[dict[str, Any]], submitted: bool) -> dict[str, Any]:
    keys = ("model", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_completion_tokens", "temperature", "response_format")
    return {**{k: run.get(k) for k in keys}, "messages": [dict(m) for m in messages], "tool_results": [dict(r) for r in results], "submitted": submitted}


def _streamed(interaction: Interaction, thread: list[dict[str, str]], run: dict[str, Any]) -> None:
    """What a run's stream adds: the assistant's messages to its thread, the calls its required action waits on."""
    for event in interaction.response.events or []:
        if event.event == "thread.message.completed":
            thread.append(_said(event.json()))
        elif event.event == "thread.run.requires_action":
            run["waiting"] = event.json()["required_action"]["submit_tool_outputs"]["tool_calls"]


def _turn_comparable(turn: dict[str, Any]) -> dict[str, Any]:
    return {**_flat(normalise_body(turn, surface("azure"))), "(route)": "submission" if turn.get("submitted") else "run"}


class TurnKeyer(ScenarioKeyer):
    """Decides which Azure scenario, and which of its recorded model turns, a turn the stand-in is asked for stands for."""

    what = "model turn"

    def __init__(self, scenarios: list[Scenario], fixtures: dict[str, Cassette]) -> None:
        super().__init__(scenarios, fixtures)
        self.turns: list[tuple[str, dict[str, Any]]] = []  # every turn asked for, with its thread, in arrival order

    def keyed(self, fixture: Cassette) -> list[dict[str, Any]]:
        return [_turn_comparable(turn) for _, turn in recorded_turns(fixture)]

    def error(self, message: str) -> Reply:
        return Reply(status=400, error={"error": {"code": "no_scenario", "message": message}})

    def turn_reply(self, turn: dict[str, Any], thread: str) -> Reply:
        """The answer to a model turn on `thread`; the thread is noted, so its conversation is the scenario's fixture."""
        self.turns.append((thread, turn))
        return self.answer(_turn_comparable(turn), thread, turn)


def _azure_standin(keyer: TurnKeyer, base: type[ScriptedServer]) -> ScriptedServer:
    class NotebookAzureStandIn(base):  # type: ignore[misc,valid-type]
        no_reply_left = "authoring from the notebook"

        def next_reply(self, request: dict[str, Any]) -> Reply:
            # The request being answered is the last one logged: a run's POST or a submission, in its thread's path.
            asked = self.requests[-1]
            thread = surface("azure").conversation(asked["method"], surface("azure").split(asked["path"]) or "", asked["body"])
            return keyer.turn_reply(request, thread or "")

    return NotebookAzureStandIn()


def _with_their_threads(recorded: list[Cassette]) -> list[Cassette]:
    """The recorded conversations, each with the threads it uses created at its start.

    Record mode opens a conversation at POST /assistants; an app that creates the thread first (the web app's
    Azure backend does) leaves that POST /threads in the conversation before, or alone. It moves to the one
    that runs on the thread.
    """
    on = surface("azure")
    def creates_a_thread(i: Interaction) -> bool:
        posted = i.request.method == "POST" and i.request.path.partition("?")[0].rstrip("/") == "/threads"
        return posted and isinstance(i.response.body, dict) and "id" in i.response.body

    created = {i.response.body["id"]: i for c in recorded for i in c.interactions if creates_a_thread(i)}
    used = {c.name: {on.conversation(i.request.method, i.request.path, i.request.body) for i in c.interactions} for c in recorded}
    home = {thread: next((c.name for c in recorded if thread in used[c.name]), None) for thread in created}
    moves = {id(i): home[thread] for thread, i in created.items() if home[thread] is not None}
    regrouped = []
    for cassette in recorded:
        kept = [i for i in cassette.interactions if moves.get(id(i), cassette.name) == cassette.name]
        moved_in = [i for thread, i in created.items() if home[thread] == cassette.name and all(i is not k for k in kept)]
        if moved_in or kept:
            regrouped.append(replace(cassette, interactions=moved_in + kept))
    return regrouped


def _assign_conversations(recorded: list[Cassette], keyer: TurnKeyer) -> dict[str, Cassette]:
    """Each recorded Azure conversation, by the scenario its model turns were answered from."""
    placed: dict[str, Cassette] = {}
    on = surface("azure")
    for cassette in _with_their_threads(recorded):
        threads = {on.conversation(i.request.method, i.request.path, i.request.body) for i in cassette.interactions}
        names = sorted({name for thread, name, _ in keyer.decisions if thread in threads})
        first = json.dumps(cassette.interactions[0].request.body)[:160] if cassette.interactions else ""
        if len(names) != 1:
            said = "no model turn" if not names else f"model turns of {' and '.join(names)}"
            raise AuthoringError(
                f"a conversation of the notebook (an agent, its threads and runs, opened by {first}) holds {said}; each "
                "conversation is one Scenario: give it its own in the lesson's scenarios.py (see the instructor guide in README.md)."
            )
        if names[0] in placed:
            raise AuthoringError(
                f"two conversations of the notebook (each opened by POST /assistants) both stand for {names[0]}; give the new "
                "one its own Scenario in the lesson's scenarios.py (see the instructor guide in README.md)."
            )
        placed[names[0]] = cassette
    return placed


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
    # Every scenario of the lesson answers (one with a `run` too: a chat the notebook runs in a subprocess, say),
    # and those it borrows from an earlier lesson whose cells it runs again (`BORROWED`); only the
    # notebook-authored ones chosen are written.
    answering = [*module.SCENARIOS, *getattr(module, "BORROWED", ())]
    fixtures = {c.name: c for c in load_cassettes([FIXTURES_DIR]) if c.name in {s.name for s in answering}}
    keyer = ScenarioKeyer([s for s in answering if s.surface == "openai"], fixtures)
    turns = TurnKeyer([s for s in answering if s.surface == "azure"], fixtures)
    report = AuthoringReport(path)
    runnable = _runnable(path, set(getattr(module, "RECORDED_REPLAY_ONLY_CELLS", ())))
    azure_base = getattr(module, "AZURE_STANDIN", STANDINS["azure"])  # a lesson whose runs must progress for a poller brings its own
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="labs-author-") as scratch:
        environment = {"LABS_MODE": "record", "LABS_REPLAY_SPEED": "0", "LABS_RECORD_DIR": scratch, "OPENAI_API_KEY": _PLACEHOLDER_KEY}
        if keyer.scenarios:
            environment[surface("openai").upstream_variable] = stack.enter_context(_standin(keyer)).upstream_url
        if turns.scenarios:  # it exports the credential and deployment its runs need while it runs
            environment[surface("azure").upstream_variable] = stack.enter_context(_azure_standin(turns, azure_base)).upstream_url
        try:
            run_notebook(path, root, "record", environment, notebook=runnable)
        except Exception as error:  # nbclient's CellExecutionError carries the cell and the stand-in's message
            misses = "".join(f"\n{miss}" for miss in keyer.misses + turns.misses)
            raise AuthoringError(f"{display_path(path)} failed while recording:\n{error}{misses}") from None
        if keyer.misses or turns.misses:
            raise AuthoringError(f"{display_path(path)}: " + "\n".join(keyer.misses + turns.misses))
        recorded = load_cassettes([Path(scratch)])
        placed = _assign([c for c in recorded if c.surface == "openai"], keyer)
        conversations = _assign_conversations([c for c in recorded if c.surface == "azure"], turns)
    folder = Path(record_dir or FIXTURES_DIR)
    for scenario in scenarios:
        if scenario.name in conversations:
            interactions = conversations[scenario.name].interactions
        elif scenario.name in placed:
            old = fixtures[scenario.name].interactions if scenario.name in fixtures else []
            new = placed[scenario.name]
            interactions = [new.get(i) or old[i] for i in range(max(len(old), max(new) + 1)) if i in new or i < len(old)]
        else:
            report.unused.append(scenario.name)
            continue
        cassette = Cassette(name=scenario.name, surface=scenario.surface, comment=scenario.comment, interactions=interactions)
        target = folder / f"{scenario.name}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        dump_cassette(cassette, target)
        report.written.append(scenario.name)
    return report
