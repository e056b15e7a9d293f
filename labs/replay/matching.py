"""Which recorded interaction answers an incoming request, and why none does when none does.

Requests are compared after normalising what legitimately varies between a recording and a replay:
- ids the service handed out (`thread_…`, `call_…`, `asst_…`) compare equal to any id, because a replayed
  conversation reuses the ids of whichever recording served its first request;
- tool results compare equal to any tool result, because tools may return the current time or a
  random roll: the recorded follow-up must still be found;
- `stream`, `stream_options` and the `api-version` query are ignored, so a non-streamed request is served the
  final object of the streamed recording (the polling vs streaming comparison then uses one recording);
- an assistant message the client sends cut short, a non-empty beginning of the recorded one, matches it: the
  reader stopped that answer (Ctrl-C in the terminal chat) and the chat rightly sends the model what the reader
  saw, as the real service would be sent it. The conversation then goes on with the recorded next answer.

Scenarios replay in order: when several recordings match, the next step of the request's own
conversation wins (the Azure thread it names, the chat so far: see `Surface.conversation`), then a step
recorded in that conversation or naming the same ids, then the next step of the scenario in progress, then
the first step of a scenario, then any step (a learner re-running one cell). A conversation's place is set
when a recorded response hands out its id (a new thread) and moves on with each of its requests. Keeping the
place per conversation, not per scenario, is what lets concurrent clients replay lessons at the same time
without taking each other's answers (two clients of the very same recording still share its ids).

A miss explains itself: the closest recording and the field that differs. That search is bounded (each
value compared is truncated, the candidates and fields compared are capped, and it stops after a time
budget with the best found so far), because a request of several megabytes must not hold the server up.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .cassette import Cassette, Interaction, SurfaceName, asks_for_stream
from .surfaces import Surface, surface

__all__ = ["INSTRUCTOR_HINT", "MISS_CODE", "Match", "MatchingLibrary", "ReplayMiss", "normalise_body", "normalise_path"]

MISS_CODE = "replay_miss"  # the error code a miss is answered with, in every surface's error shape

_IGNORED_KEYS = {"stream", "stream_options", "api-version", "api_version"}
_TOOL_OUTPUT = "<tool output>"
_ANY_ID = "<id>"
INSTRUCTOR_HINT = "Changed a lesson's prompt? Re-author its fixtures: make fixtures LESSON=NN (README, instructor guide)."

# Bounds on explaining a miss: what one explanation may compare, and for how long.
_COMPARED_CHARS = 1_000  # of each differing value, for similarity
_MAX_FIELDS = 2_000  # flattened fields of a body
_MAX_CANDIDATES = 200  # recordings of the same route
_EXPLAIN_SECONDS = 0.5  # then the most similar recording found so far is named
_MAX_PROBLEMS_NAMED = 3  # broken fixture files named in a miss (all are listed by /_labs/health)
_KEPT_CONVERSATIONS = 10_000  # places kept; the oldest conversation is forgotten first


def normalise_path(path: str, on: Surface) -> str:
    """`/threads/thread_abc/messages?after=msg_1&api-version=v1` → `/threads/<id>/messages?after=<id>`."""
    path, _, query = path.partition("?")
    path = "/".join(_ANY_ID if on.ids.match(part) else part for part in (path.rstrip("/") or "/").split("/"))
    params = sorted(
        (key, _ANY_ID if on.ids.match(value) else value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if key not in _IGNORED_KEYS
    )
    return f"{path}?{urlencode(params)}" if params else path


def _normalise(value: Any, on: Surface, parent_key: str = "") -> Any:
    if isinstance(value, dict):
        tool_results = on.tool_result_keys(value, parent_key)
        ignored = _IGNORED_KEYS.union(on.ignored_keys(value, parent_key))
        return {
            key: _TOOL_OUTPUT if key in tool_results else _normalise(item, on, key) for key, item in value.items() if key not in ignored
        }
    if isinstance(value, list):
        return [_normalise(item, on, parent_key) for item in value]
    if isinstance(value, str) and on.ids.match(value):
        return _ANY_ID
    return value


def normalise_body(body: Any, on: Surface) -> Any:
    """The request body as it is compared: ids, tool results and streaming switches made neutral."""
    return _normalise(body, on)


def _key(on: Surface, method: str, path: str, body: Any) -> tuple[str, str, Any]:
    return method.upper(), normalise_path(path, on), normalise_body(body, on)


def _cut_short(recorded: Any, sent: Any) -> bool:
    """Whether `sent` is a non-empty beginning of the `recorded` text of an assistant message (an interrupted answer)."""
    return isinstance(recorded, str) and isinstance(sent, str) and 0 < len(sent) < len(recorded) and recorded.startswith(sent)


def _answers(recorded: Any, sent: Any) -> bool:
    """Whether the normalised `sent` body is the `recorded` one, assistant messages cut short included."""
    if recorded == sent:
        return True
    if isinstance(recorded, dict) and isinstance(sent, dict):
        if recorded.keys() != sent.keys():
            return False
        assistant = recorded.get("role") == sent.get("role") == "assistant"
        return all(
            _answers(value, sent[key]) or (assistant and key == "content" and _cut_short(value, sent[key])) for key, value in recorded.items()
        )
    if isinstance(recorded, list) and isinstance(sent, list):
        return len(recorded) == len(sent) and all(map(_answers, recorded, sent))
    return False


def _same_request(recorded: tuple[str, str, Any], sent: tuple[str, str, Any]) -> bool:
    return recorded == sent or (recorded[:2] == sent[:2] and _answers(recorded[2], sent[2]))


def _flatten(value: Any, limit: int = _MAX_FIELDS) -> dict[str, Any]:
    """`{"a": [{"b": 1}]}` → `{"a[0].b": 1}`: the leaves by their place, at most `limit` of them, depth-first."""
    flat: dict[str, Any] = {}
    pending: list[tuple[str, Any]] = [("", value)]
    while pending and len(flat) < limit:
        prefix, item = pending.pop()
        if isinstance(item, dict) and item:
            pending.extend((f"{prefix}.{key}" if prefix else str(key), child) for key, child in reversed(item.items()))
        elif isinstance(item, list) and item:
            pending.extend((f"{prefix}[{i}]", child) for i, child in reversed(list(enumerate(item))))
        else:
            flat[prefix] = item
    return flat


_MISSING = object()


def _differences(recorded: dict[str, Any], sent: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The flattened fields that differ; an assistant message cut short is no difference (`_answers`)."""
    keys = list(recorded) + [k for k in sent if k not in recorded]
    return [
        (k, recorded.get(k, _MISSING), sent.get(k, _MISSING))
        for k in keys
        if recorded.get(k, _MISSING) != sent.get(k, _MISSING) and not _flat_cut_short(k, recorded, sent)
    ]


def _flat_cut_short(key: str, recorded: dict[str, Any], sent: dict[str, Any]) -> bool:
    if not key.endswith(".content"):
        return False
    role = key[: -len("content")] + "role"
    return recorded.get(role) == sent.get(role) == "assistant" and _cut_short(recorded.get(key), sent.get(key))


def _clipped_repr(value: Any, limit: int) -> str:
    if isinstance(value, str) and len(value) > limit:
        value = value[:limit]  # before repr: a value of megabytes is never copied whole
    return repr(value)[:limit]


def _distance(recorded: dict[str, Any], sent: dict[str, Any]) -> tuple[int, float]:
    """Fewest differing fields first; among equals, the most similar differing values (compared truncated)."""
    diffs = _differences(recorded, sent)
    similarity = sum(
        difflib.SequenceMatcher(None, _clipped_repr(a, _COMPARED_CHARS), _clipped_repr(b, _COMPARED_CHARS)).ratio() for _, a, b in diffs
    )
    return len(diffs), -similarity


def _short(value: Any, limit: int = 70) -> str:
    text = "(absent)" if value is _MISSING else _clipped_repr(value, limit + 1)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _shown_pair(recorded: Any, sent: Any, limit: int = 70) -> tuple[str, str]:
    """Both values shortened; two long texts that only differ late are shown from just before where they part."""
    shown = _short(recorded, limit), _short(sent, limit)
    if shown[0] != shown[1] or not (isinstance(recorded, str) and isinstance(sent, str)):
        return shown
    parting = next((i for i, (a, b) in enumerate(zip(recorded, sent)) if a != b), min(len(recorded), len(sent)))
    start = max(0, parting - 20)
    return f"…{_short(recorded[start:], limit)}", f"…{_short(sent[start:], limit)}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _raw_ids(on: Surface, path: str, body: Any) -> frozenset[str]:
    """The ids a request names as sent (not neutralised): those replay handed out from one recording."""
    found = {part for part in path.replace("?", "/").replace("=", "/").replace("&", "/").split("/") if on.ids.match(part)}
    pending = [body]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and on.ids.match(item):
            found.add(item)
    return frozenset(found)


def _hashed(conversation: str | None) -> str | None:
    """A conversation as kept in memory: a short digest (the chat so far can be long)."""
    return None if conversation is None else hashlib.blake2b(conversation.encode("utf-8", "replace"), digest_size=16).hexdigest()


def _handed_out(on: Surface, interaction: Interaction, named: list[str | None], index: int) -> list[tuple[str, int]]:
    """The conversations whose id this recorded response hands out (a new thread, a response id), each with its next step.

    Replay hands out recorded ids, so the client's next request about that conversation names the same id.
    """
    response = interaction.response
    text = json.dumps(response.body) if response.body is not None else ""
    text += "".join(e.raw if e.raw is not None else e.data for e in response.events or [])
    first: dict[str, int] = {}
    for step in range(index + 1, len(named)):
        conversation = named[step]
        if conversation is not None and on.ids.match(conversation) and conversation not in first:
            first[conversation] = step
    return [(hashed, step) for conversation, step in first.items() if conversation in text and (hashed := _hashed(conversation))]


@dataclass(frozen=True)
class _Place:
    """Where a conversation is in its recording: the scenario, its next step, and the recorded conversation it follows."""

    scenario: str
    step: int
    follows: str


@dataclass(frozen=True)
class Match:
    cassette: Cassette
    index: int

    @property
    def interaction(self) -> Interaction:
        return self.cassette.interactions[self.index]


class ReplayMiss(LookupError):
    """No recording answers this request; the message says where it looked and what differed."""


class MatchingLibrary:
    """All loaded cassettes, with a place per conversation and per scenario so multi-request scenarios replay in order.

    `problems` are the fixture files that could not be loaded (anything with a `__str__` naming the file and
    line): every miss names them, since the recording a learner needs may be in one of them.
    """

    def __init__(self, cassettes: list[Cassette], searched: list[str], problems: Iterable[object] = ()) -> None:
        self.cassettes = cassettes
        self.searched = searched
        self.problems = list(problems)
        self._cursor: dict[str, int] = {}
        self._places: OrderedDict[str, _Place] = OrderedDict()
        self._recent: list[str] = []
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, int], tuple[str, str, Any]] = {}
        self._recorded: dict[tuple[str, int], tuple[str | None, frozenset[str]]] = {}  # conversation and ids as recorded
        self._hands_out: dict[tuple[str, int], list[tuple[str, int]]] = {}  # conversations a response starts: (conversation, its step)
        for c in cassettes:
            on = surface(c.surface)
            named = [on.conversation(i.request.method, i.request.path, i.request.body) for i in c.interactions]
            for i, inter in enumerate(c.interactions):
                request = inter.request
                self._keys[(c.name, i)] = _key(on, request.method, request.path, request.body)
                self._recorded[(c.name, i)] = (_hashed(named[i]), _raw_ids(on, request.path, request.body))
                self._hands_out[(c.name, i)] = _handed_out(on, inter, named, i)

    def find(self, on: SurfaceName, method: str, path: str, body: Any) -> Match:
        """The recording that answers this request; ReplayMiss, explaining why, when none does."""
        found = self.match(on, method, path, body)
        if found is None:
            raise ReplayMiss(self.explain(on, method, path, body))
        return found

    def match(self, on: SurfaceName, method: str, path: str, body: Any) -> Match | None:
        """The recording that answers this request, or None (cheap: no explanation is computed)."""
        served = surface(on)
        key = _key(served, method, path, body)
        streamed = asks_for_stream(body)
        conversation = _hashed(served.conversation(method, path, body))
        ids = _raw_ids(served, path, body)
        with self._lock:
            candidates = [
                Match(c, i)
                for c in self.cassettes
                if c.surface == on
                for i in range(len(c.interactions))
                if _same_request(self._keys[(c.name, i)], key)
            ]
            if streamed:  # a recorded JSON body cannot answer a streamed request (an error can); a stream answers both
                candidates = [m for m in candidates if m.interaction.response.answers_stream]
            if not candidates:
                return None
            chosen = self._prefer(candidates, streamed, conversation, ids)
            name = chosen.cassette.name
            self._cursor[name] = chosen.index + 1
            if conversation is not None:
                # The client's conversation goes on from here, following the recorded one it was served from.
                followed = self._recorded[(name, chosen.index)][0] or conversation
                self._remember(conversation, _Place(name, chosen.index + 1, followed))
            for handed, step in self._hands_out[(name, chosen.index)]:
                self._remember(handed, _Place(name, step, handed))  # its next request will name this id
            if name in self._recent:
                self._recent.remove(name)
            self._recent.insert(0, name)
            return chosen

    def _remember(self, conversation: str, place: _Place) -> None:
        self._places[conversation] = place
        self._places.move_to_end(conversation)
        while len(self._places) > _KEPT_CONVERSATIONS:
            self._places.popitem(last=False)

    def _prefer(self, candidates: list[Match], streamed: bool, conversation: str | None, ids: frozenset[str]) -> Match:
        recency = {name: rank for rank, name in enumerate(self._recent)}
        place = self._places.get(conversation) if conversation is not None else None
        following = place.follows if place is not None else conversation

        def rank(m: Match) -> tuple[int, int, int, int, int]:
            same_kind = m.interaction.response.answers_stream == streamed
            recorded_conversation, recorded_ids = self._recorded[(m.cassette.name, m.index)]
            if place is not None and (place.scenario, place.step) == (m.cassette.name, m.index):
                own = 0  # the next step of this very conversation
            elif following is not None and recorded_conversation == following:
                own = 1  # a step recorded in the conversation this one follows
            elif place is not None and place.scenario == m.cassette.name:
                own = 2  # a step of the scenario this conversation has been replaying
            else:
                own = 3
            if self._cursor.get(m.cassette.name) == m.index:
                tier = 0
            elif m.index == 0:
                tier = 1
            else:
                tier = 2
            return (0 if same_kind else 1), own, -len(ids & recorded_ids), tier, recency.get(m.cassette.name, len(recency))

        return min(candidates, key=rank)

    def explain(self, on: SurfaceName, method: str, path: str, body: Any) -> str:
        """Why no recording answers this request: the closest one and the field that differs (bounded in time and size)."""
        served = surface(on)
        key = _key(served, method, path, body)
        folders = ", ".join(self.searched) or "(no fixture folders)"
        lines = [f"No recorded response for {method.upper()} {_clip(path.split('?', 1)[0], 200)} in {folders}."]
        same_route = [
            (c, i)
            for c in self.cassettes
            if c.surface == on
            for i in range(len(c.interactions))
            if self._keys[(c.name, i)][:2] == key[:2]
        ][:_MAX_CANDIDATES]
        closest = self._closest(same_route, key[2]) if same_route else None
        if closest is None:
            lines.append(f"No recording has a {method.upper()} {_clip(key[1], 200)} request at all.")
        else:
            lines.append(closest[0])
        if closest is None or not closest[1]:
            lines.append(
                f"To answer it from the real service, set LABS_MODE=live and {served.credential_hint} in .env; "
                "to save it as a new fixture, set LABS_MODE=record (see labs/fixtures/README.md)."
            )
        if self.problems:
            named = "; ".join(_clip(str(p), 300) for p in self.problems[:_MAX_PROBLEMS_NAMED])
            more = len(self.problems) - _MAX_PROBLEMS_NAMED
            count = f"{len(self.problems)} fixture file{'s' if len(self.problems) > 1 else ''}"
            lines.append(
                f"{count} could not be loaded, and the recording may be there: {named}"
                + (f"; and {more} more (GET /_labs/health lists them)." if more > 0 else ".")
            )
        lines.append(INSTRUCTOR_HINT)
        return " ".join(lines)

    def _closest(self, same_route: list[tuple[Cassette, int]], sent_body: Any) -> tuple[str, bool]:
        """A sentence naming the most similar recording, and whether it holds this very request (recorded unstreamed)."""
        sent = _flatten(sent_body)
        deadline = time.monotonic() + _EXPLAIN_SECONDS
        best: tuple[tuple[int, float], Cassette, int, list[tuple[str, Any, Any]]] | None = None
        for cassette, index in same_route:
            recorded = _flatten(self._keys[(cassette.name, index)][2])
            distance = _distance(recorded, sent)
            if best is None or distance < best[0]:
                best = (distance, cassette, index, _differences(recorded, sent))
            if time.monotonic() > deadline:
                break
        assert best is not None
        _, cassette, index, diffs = best
        where = f"{cassette.where} (request {index + 1})"
        if not diffs and _answers(self._keys[(cassette.name, index)][2], sent_body):
            return (
                f"{where} has this request, but recorded without stream=true, so it holds a finished answer, not a "
                "stream: ask without stream, or re-record it streamed.",
                True,
            )
        if not diffs:
            return f"Closest recording: {where}; it differs after the first {_MAX_FIELDS} fields compared.", False
        field_name, recorded_value, sent_value = diffs[0]
        recorded_shown, sent_shown = _shown_pair(recorded_value, sent_value)
        more = len(diffs) - 1
        return (
            f"Closest recording: {where}; field `{_clip(field_name, 100)}` differs: "
            f"recorded {recorded_shown}, sent {sent_shown}"
            + (f" (and {'at least ' if len(sent) >= _MAX_FIELDS else ''}{more} more field{'s' if more > 1 else ''})." if more else "."),
            False,
        )
