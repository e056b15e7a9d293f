"""Which recorded interaction answers an incoming request, and why none does when none does.

Requests are compared after normalising what legitimately varies between a recording and a replay:
- ids the service handed out (`thread_…`, `call_…`, `asst_…`) compare equal to any id, because a replayed
  conversation reuses the ids of whichever recording served its first request;
- tool results compare equal to any tool result, because tools may return the current time or a
  random roll: the recorded follow-up must still be found;
- `stream`, `stream_options` and the `api-version` query are ignored, so a non-streamed request is served the
  final object of the streamed recording (the polling vs streaming comparison then uses one recording).

Scenarios replay in order: when several recordings match, the next step of the scenario in progress
wins, then the first step of a scenario, then any step (a learner re-running one cell).
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .cassette import Cassette, Interaction, SurfaceName, asks_for_stream
from .surfaces import Surface, surface

__all__ = ["Match", "MatchingLibrary", "ReplayMiss", "normalise_body", "normalise_path"]

_IGNORED_KEYS = {"stream", "stream_options", "api-version", "api_version"}
_TOOL_OUTPUT = "<tool output>"
_ANY_ID = "<id>"


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


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}" if prefix else key))
        return flat or {prefix: {}}
    if isinstance(value, list):
        flat = {}
        for i, item in enumerate(value):
            flat.update(_flatten(item, f"{prefix}[{i}]"))
        return flat or {prefix: []}
    return {prefix: value}


def _differences(recorded: Any, sent: Any) -> list[tuple[str, Any, Any]]:
    a, b = _flatten(recorded), _flatten(sent)
    missing = object()
    keys = list(a) + [k for k in b if k not in a]
    return [(k, a.get(k, missing), b.get(k, missing)) for k in keys if a.get(k, missing) != b.get(k, missing)]


def _distance(recorded: Any, sent: Any) -> tuple[int, float]:
    """Fewest differing fields first; among equals, the most similar differing values."""
    diffs = _differences(recorded, sent)
    similarity = sum(difflib.SequenceMatcher(None, repr(a), repr(b)).ratio() for _, a, b in diffs)
    return len(diffs), -similarity


def _short(value: Any, limit: int = 70) -> str:
    text = "(absent)" if not isinstance(value, (str, int, float, bool, type(None), dict, list)) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    """All loaded cassettes, with a cursor per scenario so multi-request scenarios replay in order."""

    def __init__(self, cassettes: list[Cassette], searched: list[str]) -> None:
        self.cassettes = cassettes
        self.searched = searched
        self._cursor: dict[str, int] = {}
        self._recent: list[str] = []
        self._lock = threading.Lock()
        self._keys = {
            (c.name, i): _key(surface(c.surface), inter.request.method, inter.request.path, inter.request.body)
            for c in cassettes
            for i, inter in enumerate(c.interactions)
        }

    def find(self, on: SurfaceName, method: str, path: str, body: Any) -> Match:
        key = _key(surface(on), method, path, body)
        streamed = asks_for_stream(body)
        with self._lock:
            candidates = [
                Match(c, i)
                for c in self.cassettes
                if c.surface == on
                for i in range(len(c.interactions))
                if self._keys[(c.name, i)] == key
            ]
            if streamed:  # a recorded JSON body cannot answer a streamed request (an error can); a stream answers both
                candidates = [m for m in candidates if m.interaction.response.answers_stream]
            if not candidates:
                raise ReplayMiss(self._explain(surface(on), method, path, key))
            chosen = self._prefer(candidates, streamed)
            self._cursor[chosen.cassette.name] = chosen.index + 1
            if chosen.cassette.name in self._recent:
                self._recent.remove(chosen.cassette.name)
            self._recent.insert(0, chosen.cassette.name)
            return chosen

    def _prefer(self, candidates: list[Match], streamed: bool) -> Match:
        recency = {name: rank for rank, name in enumerate(self._recent)}

        def rank(m: Match) -> tuple[int, int, int]:
            same_kind = m.interaction.response.answers_stream == streamed
            if self._cursor.get(m.cassette.name) == m.index:
                tier = 0
            elif m.index == 0:
                tier = 1
            else:
                tier = 2
            return (0 if same_kind else 1), tier, recency.get(m.cassette.name, len(recency))

        return min(candidates, key=rank)

    def _explain(self, on: Surface, method: str, path: str, key: tuple[str, str, Any]) -> str:
        folders = ", ".join(self.searched) or "(no fixture folders)"
        lines = [f"No recorded response for {method.upper()} {path.split('?', 1)[0]} in {folders}."]
        same_route = [
            (c, i) for c in self.cassettes if c.surface == on.name for i in range(len(c.interactions)) if self._keys[(c.name, i)][:2] == key[:2]
        ]
        if same_route:
            cassette, index = min(same_route, key=lambda ci: _distance(self._keys[(ci[0].name, ci[1])][2], key[2]))
            diffs = _differences(self._keys[(cassette.name, index)][2], key[2])
            if not diffs:
                lines.append(
                    f"{cassette.where} (request {index + 1}) has this request, but recorded without stream=true, so it "
                    "holds a finished answer, not a stream: ask without stream, or re-record it streamed."
                )
                return " ".join(lines)
            field_name, recorded, sent = diffs[0]
            lines.append(
                f"Closest recording: {cassette.where} (request {index + 1}); field `{field_name}` differs: "
                f"recorded {_short(recorded)}, sent {_short(sent)}"
                + (f" (and {len(diffs) - 1} more field{'s' if len(diffs) > 2 else ''})." if len(diffs) > 1 else ".")
            )
        else:
            lines.append(f"No recording has a {method.upper()} {key[1]} request at all.")
        lines.append(
            f"To answer it from the real service, set LABS_MODE=live and {on.credential_hint} in .env; "
            "to save it as a new fixture, set LABS_MODE=record (see labs/fixtures/README.md)."
        )
        return " ".join(lines)
