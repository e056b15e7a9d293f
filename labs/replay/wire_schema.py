"""The wire schema: for each API and event kind, the fields the real service sends, derived from real captures.

The scripted stand-ins write the workbook's fixtures, so nothing but a comparison with real recordings keeps
them honest: a field the stand-in invents works offline and fails live (`event.name` on
`response.function_call_arguments.done` is declared by the SDK but never sent), and a field it leaves out is
one a learner dumping raw events live sees and the lessons never show. This module reads captured streams
(`python -m labs.replay schema --from ../shared/wire-samples` regenerates `wire_schema.json`) and keeps only
facts: for each object on the wire, which keys the service sends and which it sends every time. No captured
text is kept. `check_events` compares a fixture's events with those facts.

How the facts are read:
- an object with a text `type` is a variant of its place (`item<reasoning>`, `item<message>`), so a union is
  not one object with every key of every member; an event is the variant of its `type` (Chat Completions
  chunks have none);
- *known* keys are those of any capture; *always* keys are those every object of the place carried in the
  newest year of captures (the service adds fields over time: 2026 chunks carry `obfuscation`, 2024's do not);
- what the caller wrote and the service echoes (a tool's `parameters` schema, `metadata`) is not descended
  into: its keys are the caller's, not the service's;
- `usage` on a chat chunk is sent only when the request asks for it (`stream_options.include_usage`, as the
  API reference says); every capture asked, so a fixture whose request did not is not required to carry it;
- a field newer than every capture is allowed only with its evidence, in `_NEWER_THAN_CAPTURES`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from .cassette import Cassette
from .sse import SSEEvent, SSEParser

__all__ = [
    "SCHEMA_PATH",
    "Api",
    "Capture",
    "WireProblem",
    "build_schema",
    "check_cassette",
    "check_events",
    "api_of_path",
    "detect_api",
    "load_schema",
    "read_captures",
    "write_schema",
]

SCHEMA_PATH = Path(__file__).with_name("wire_schema.json")
SCHEMA_VERSION = 1
Api = Literal["chat.completions", "responses", "azure.agents"]
_OPAQUE = frozenset({"parameters", "metadata", "schema"})  # values the caller wrote and the service echoes
_ONLY_WHEN_ASKED = {("chat.completions", "usage"): ("stream_options", "include_usage")}
# Fields newer than every capture, each with the evidence that the service sends them now. Not facts of the
# captures, so kept here rather than in the schema file; a capture that has them makes the entry redundant.
_NEWER_THAN_CAPTURES = {
    ("responses", "response.usage.input_tokens_details", "cache_write_tokens"): "openai 3.54's ResponseUsage requires it under strict validation",
}


@dataclass(frozen=True)
class Capture:
    """One captured stream: where it came from, its API, its events, the year it was sent."""

    source: str
    api: Api
    events: list[SSEEvent]
    year: int | None


@dataclass(frozen=True)
class WireProblem:
    """One way a fixture's event differs from what the service sends."""

    kind: Literal["invented", "missing", "framing"]
    event: int  # 1-based position in the stream
    path: str
    message: str


def detect_api(events: Iterable[SSEEvent]) -> Api | None:
    """Which API a stream comes from, read from its first JSON event: a chunk, a `response.*` event, a `thread.*` one."""
    for event in events:
        if (event.event or "").startswith("thread."):
            return "azure.agents"
        payload = _json(event.data)
        if not isinstance(payload, dict):
            continue
        if payload.get("object") == "chat.completion.chunk":
            return "chat.completions"
        if str(payload.get("type", "")).startswith("response."):
            return "responses"
        if str(payload.get("object", "")).startswith("thread."):
            return "azure.agents"
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _year(payloads: list[Any]) -> int | None:
    for payload in payloads:
        if isinstance(payload, dict):
            stamp = payload.get("created") or (payload.get("response") or {}).get("created_at") or payload.get("created_at")
            if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
                return datetime.fromtimestamp(stamp, UTC).year
    return None


def read_captures(folder: Path) -> list[Capture]:
    """Every captured stream (`*.sse`, raw as `curl -N` prints it) below a folder, in name order."""
    captures = []
    for path in sorted(Path(folder).rglob("*.sse")):
        parser = SSEParser()
        events = parser.feed(path.read_bytes()) + parser.flush()
        api = detect_api(events)
        if api is not None:
            captures.append(Capture(path.relative_to(folder).as_posix(), api, events, _year([_json(e.data) for e in events])))
    return captures


# -- building: observe every object at every place ----------------------------------------------


def _kind(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _variant(value: dict[str, Any]) -> str:
    return value["type"] if isinstance(value.get("type"), str) else ""


class _Place:
    """Every value seen at one place on the wire: their kinds, the keys of each object variant, list items."""

    def __init__(self) -> None:
        self.kinds: set[str] = set()
        self.variants: dict[str, dict[str, Any]] = {}  # variant -> {"count": n, "fields": {key: [count, _Place]}}
        self.items: _Place | None = None

    def observe(self, value: Any) -> None:
        self.kinds.add(_kind(value))
        if isinstance(value, dict):
            variant = self.variants.setdefault(_variant(value), {"count": 0, "fields": {}})
            variant["count"] += 1
            for key, child in value.items():
                entry = variant["fields"].setdefault(key, [0, _Place()])
                entry[0] += 1
                if key not in _OPAQUE:
                    entry[1].observe(child)
        elif isinstance(value, list):
            self.items = self.items or _Place()
            for item in value:
                self.items.observe(item)

    def export(self, newest: _Place | None) -> dict[str, Any]:
        """The facts as JSON: kinds, and per variant each key with whether the newest captures always sent it."""
        out: dict[str, Any] = {"kinds": sorted(self.kinds)}
        if self.variants:
            out["variants"] = {}
            for name, variant in sorted(self.variants.items()):
                recent = newest.variants.get(name) if newest else None
                judge = recent or variant
                fields = {}
                for key, (_, place) in sorted(variant["fields"].items()):
                    count, recent_place = judge["fields"].get(key, [0, None])
                    fields[key] = {"always": count == judge["count"], **({} if key in _OPAQUE else place.export(recent_place if recent else None))}
                out["variants"][name] = {"fields": fields}
        if self.items is not None:
            out["items"] = self.items.export(newest.items if newest else None)
        return out


def build_schema(captures: list[Capture]) -> dict[str, Any]:
    """The schema of every API the captures hold: its framing, and the facts of each place of its events."""
    apis: dict[str, Any] = {}
    for api in sorted({c.api for c in captures}):
        mine = [c for c in captures if c.api == api]
        newest_year = max((c.year for c in mine if c.year is not None), default=None)
        every, newest = _Place(), _Place()
        named = {bool(e.event) for c in mine for e in c.events if _json(e.data) is not None}
        for capture in mine:
            for event in capture.events:
                payload = _json(event.data)
                if isinstance(payload, dict):
                    every.observe(payload)
                    if capture.year == newest_year:
                        newest.observe(payload)
        apis[api] = {
            "captures": len(mine),
            "events": sum(len(c.events) for c in mine),
            "years": sorted({c.year for c in mine if c.year is not None}),
            "always_from_year": newest_year,
            "event_line": "same as type" if named == {True} else "none" if named == {False} else "mixed",
            "ends_with_done": all(c.events and c.events[-1].data.startswith("[DONE]") for c in mine),
            "event": every.export(newest),
        }
    return {"version": SCHEMA_VERSION, "generated_by": "python -m labs.replay schema --from FOLDER", "apis": apis}


def write_schema(folder: Path, out: Path = SCHEMA_PATH) -> dict[str, Any]:
    """Read the captures below `folder` and write their schema to `out` (pretty JSON, sorted keys)."""
    captures = read_captures(folder)
    if not captures:
        raise FileNotFoundError(f"no captured stream (*.sse) below {folder}")
    schema = build_schema(captures)
    Path(out).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return schema


def load_schema(path: Path = SCHEMA_PATH) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# -- checking a fixture's events -----------------------------------------------------------------


def _asked(request: Any, option: tuple[str, ...]) -> bool:
    value = request
    for key in option:
        value = value.get(key) if isinstance(value, dict) else None
    return bool(value)


def _compare(api: str, value: Any, place: dict[str, Any], path: str, request: Any, top: bool) -> Iterator[tuple[str, str, str]]:
    if isinstance(value, dict) and "variants" in place:
        facts = place["variants"].get(_variant(value))
        if facts is None:
            return  # a variant no capture holds (an event type, an item type): nothing is known about it
        shown = f"{path}<{_variant(value)}>" if _variant(value) and not top else path
        where = shown or (f"{_variant(value)} event" if _variant(value) else "chunk")
        for key in value:
            if key not in facts["fields"] and (api, shown, key) not in _NEWER_THAN_CAPTURES:
                yield "invented", f"{shown}.{key}".lstrip("."), f"`{key}` is not sent by the service: no capture's {where} has it"
        for key, field in facts["fields"].items():
            excused = (api, key) in _ONLY_WHEN_ASKED and top and not _asked(request, _ONLY_WHEN_ASKED[(api, key)])
            if field["always"] and key not in value and not excused:
                yield "missing", f"{shown}.{key}".lstrip("."), f"`{key}` is missing: the service sends it in every {where}"
            elif key in value and key not in _OPAQUE:
                yield from _compare(api, value[key], field, f"{shown}.{key}".lstrip("."), request, False)
    elif isinstance(value, list) and "items" in place:
        for item in value:
            yield from _compare(api, item, place["items"], f"{path}[]", request, False)


def check_events(api: Api, events: list[SSEEvent], request: Any = None, schema: dict[str, Any] | None = None) -> list[WireProblem]:
    """How a stream differs from the service's wire: invented keys, keys the service always sends left out, framing.

    An API the schema has no captures of (Azure, until some are added) has nothing to compare with: no problems.
    """
    facts = (schema or load_schema())["apis"].get(api)
    if facts is None:
        return []
    problems: list[WireProblem] = []
    for number, event in enumerate(events, 1):
        payload = _json(event.data)
        if not isinstance(payload, dict):
            continue
        if facts["event_line"] == "none" and event.event is not None:
            problems.append(WireProblem("framing", number, "event:", f"an `event: {event.event}` line, which the service never sends on this API"))
        elif facts["event_line"] == "same as type" and event.event != payload.get("type"):
            problems.append(WireProblem("framing", number, "event:", f"`event: {event.event}` where the service names the event by its type {payload.get('type')!r}"))
        for kind, path, message in _compare(api, payload, facts["event"], "", request, True):
            problems.append(WireProblem(kind, number, path, message))  # type: ignore[arg-type]
    return problems


def api_of_path(path: str) -> Api | None:
    """The API a fixture's request path speaks (`/chat/completions`, `/responses`, an Azure `/threads/...` run)."""
    route = path.partition("?")[0]
    if route.endswith("/chat/completions"):
        return "chat.completions"
    if route.endswith("/responses"):
        return "responses"
    if "/threads" in route:
        return "azure.agents"
    return None


def check_cassette(cassette: Cassette, schema: dict[str, Any] | None = None) -> list[str]:
    """Every difference between a fixture's streams and the service's wire, one line each naming interaction and event."""
    schema = schema or load_schema()
    lines = []
    for number, interaction in enumerate(cassette.interactions, 1):
        api = api_of_path(interaction.request.path)
        events = interaction.response.events
        if api is None or not events:
            continue
        stream = [SSEEvent(data=e.data, event=e.event, id=e.id) for e in events if e.raw is None]
        for problem in check_events(api, stream, interaction.request.body, schema):
            lines.append(f"{cassette.name}: interaction {number}, event {problem.event}: {problem.message}")
    return lines
