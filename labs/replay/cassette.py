"""Fixtures: one readable YAML file per recorded scenario (a "cassette", as vcrpy calls it).

A cassette holds the requests an SDK made, in order, and what the service answered: either a JSON body
or a list of server-sent events, each with the time it arrived (seconds since the request was sent).
Event data is kept as the exact text the service sent, one entry per event, so replay can reproduce the
wire byte for byte. No header but the content type (and `retry-after`) is ever stored. The format is
documented in `labs/fixtures/README.md`.

Fixture files are untrusted input: `fixture_yaml` reads the YAML safely, and the checker here validates
every key, so a bad file becomes one `FixtureProblem` naming its folder, file and line. `load_fixtures`
loads every good file and reports every bad one; `load_cassettes` is its strict variant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, get_args

import yaml

from ..config import display_path
from .fixture_yaml import FixtureError, FixtureProblem, read_fixture_yaml

__all__ = [
    "FORMAT_VERSION",
    "Cassette",
    "FixtureError",
    "FixtureProblem",
    "FixtureSet",
    "Interaction",
    "asks_for_stream",
    "RecordedEvent",
    "RecordedRequest",
    "RecordedResponse",
    "SURFACE_NAMES",
    "SurfaceName",
    "dump_cassette",
    "load_cassette",
    "load_cassettes",
    "load_fixtures",
]

FORMAT_VERSION = 1
SurfaceName = Literal["openai", "azure"]  # the one definition; labs.replay.surfaces has a module for each
SURFACE_NAMES: tuple[SurfaceName, ...] = get_args(SurfaceName)


@dataclass
class RecordedEvent:
    t: float
    data: str = ""
    event: str | None = None
    id: str | None = None
    raw: str | None = None  # bytes sent verbatim instead of a framed event (a malformed line, for fault fixtures)

    def json(self) -> Any:
        """The data parsed as JSON, or None for sentinels such as `[DONE]`."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def asks_for_stream(body: Any) -> bool:
    """Whether a request body asks for a streamed answer (`"stream": true`)."""
    return isinstance(body, dict) and bool(body.get("stream"))


@dataclass
class RecordedRequest:
    method: str
    path: str
    body: Any = None

    @property
    def streamed(self) -> bool:
        return asks_for_stream(self.body)


@dataclass
class RecordedResponse:
    status: int = 200
    t: float = 0.0
    content_type: str = "application/json"
    body: Any = None
    events: list[RecordedEvent] | None = None
    fault: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def answers_stream(self) -> bool:
        """Whether this can answer a streamed request: a recorded stream can, and so can an error; a JSON body cannot."""
        return self.events is not None or self.status >= 400

    @property
    def duration(self) -> float:
        """When the last byte arrived, in seconds after the request."""
        return self.events[-1].t if self.events else self.t


@dataclass
class Interaction:
    request: RecordedRequest
    response: RecordedResponse
    note: str = ""


@dataclass
class Cassette:
    name: str
    surface: SurfaceName
    comment: str
    interactions: list[Interaction] = field(default_factory=list)
    path: Path | None = None
    version: int = FORMAT_VERSION
    shown_as: str | None = field(default=None, repr=False, compare=False)  # the file below its fixtures folder's parent

    @property
    def where(self) -> str:
        """The file as a learner may be shown it: from the repository or home, else from its fixtures folder's parent."""
        if self.path is None:
            return self.name
        shown = display_path(self.path)
        return self.shown_as if shown.startswith(".../") and self.shown_as else shown


def _event_to_yaml(event: RecordedEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"t": round(event.t, 4)}
    if event.raw is not None:
        out["raw"] = event.raw
        return out
    if event.event is not None:
        out["event"] = event.event
    if event.id is not None:
        out["id"] = event.id
    out["data"] = event.data
    return out


# -- checking a fixture file's structure, key by key ---------------------------------------------

_MAX_SECONDS = 3600.0  # for any recorded time or stall
_FAULT_KEYS: dict[str, type] = {"drop_after": int, "stall_after": int, "stall_seconds": float, "drop_at_end": bool}
# Headers the replay server sets itself: a fixture that set them would truncate, hang or garble the body.
_SERVER_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "content-type", "connection", "keep-alive", "upgrade", "te", "trailer"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP method or header name
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but tab: they would split a header or an SSE line
_TOP_KEYS, _TOP_OPTIONAL = ("version", "surface", "comment", "interactions"), ()
_REQUEST_KEYS, _REQUEST_OPTIONAL = ("method", "path"), ("body",)
_RESPONSE_OPTIONAL = ("status", "t", "content_type", "body", "events", "fault", "headers")
_EVENT_OPTIONAL = ("data", "event", "id", "raw")


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", bool: "true/false", int: "a number", float: "a number", type(None): "empty"}
    return names.get(type(value), type(value).__name__)


class _Checker:
    """Checks the structure of one loaded document; each complaint names the file and the line it is about."""

    def __init__(self, shown: str, lines: dict[tuple[int, Any], int]) -> None:
        self.shown, self.lines = shown, lines

    def fail(self, message: str, where: Any, key: Any = None) -> NoReturn:
        line = self.lines.get((id(where), key)) or self.lines.get((id(where), None))
        raise FixtureError(FixtureProblem(self.shown, line, message))

    def mapping(self, value: Any, what: str, parent: Any, key: Any, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            shape = f"with {', '.join(required)}" if required else "of fields"
            self.fail(f"{what} must be a mapping {shape}, not {_kind(value)}", value if parent is None else parent, key)
        for name in value:  # a misspelt key first: its message names the keys that are allowed
            if name not in required and name not in optional:
                self.fail(f"{what} has an unknown key `{name}`; it may have: {', '.join(required + optional)}", value, name)
        for name in required:
            if name not in value:
                self.fail(f"{what} has no `{name}`", value)
        return value

    def text(self, parent: dict[str, Any], key: str, what: str, default: str | None = None, *, single_line: bool = False, required: bool = False) -> str | None:
        value = parent.get(key)
        if value is None and not required:
            return default
        if not isinstance(value, str):
            self.fail(f"{what} `{key}` must be text, not {_kind(value)}: put it in quotes", parent, key)
        if single_line and _CONTROL.search(value):
            self.fail(f"{what} `{key}` holds a line break or control character, which would break the wire format", parent, key)
        return value

    def number(self, parent: dict[str, Any], key: str, what: str, default: float = 0.0, *, limit: float = _MAX_SECONDS) -> float:
        value = parent.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= limit:
            self.fail(f"{what} `{key}` must be a number of seconds from 0 to {limit:g}, not {value!r}", parent, key)
        return float(value)

    def event(self, raw: Any, what: str, parent: list[Any], index: int) -> RecordedEvent:
        raw = self.mapping(raw, what, parent, index, ("t",), _EVENT_OPTIONAL)
        t = self.number(raw, "t", what)
        if "raw" in raw:
            if len(raw) > 2:
                self.fail(f"{what} has `raw` (bytes sent as they are) and also {', '.join(k for k in raw if k not in ('t', 'raw'))}", raw)
            return RecordedEvent(t=t, raw=self.text(raw, "raw", what, required=True))
        if "data" not in raw:
            self.fail(f"{what} has no `data` (use `data: ''` for an empty one)", raw)
        data = self.text(raw, "data", what, required=True)
        return RecordedEvent(t=t, data=data or "", event=self.text(raw, "event", what, single_line=True), id=self.text(raw, "id", what, single_line=True))

    def headers(self, response: dict[str, Any], what: str) -> dict[str, str]:
        raw = response.get("headers") or {}
        raw = self.mapping(raw, f"{what} `headers`", response, "headers", (), tuple(raw) if isinstance(raw, dict) else ())
        headers: dict[str, str] = {}
        for name, value in raw.items():
            if not _TOKEN.fullmatch(name):
                self.fail(f"{what} header name {name!r} is not a valid HTTP header name", raw, name)
            if name.lower() in _SERVER_HEADERS:
                self.fail(f"{what} may not set `{name}`: the replay server sets it itself (use `content_type` for the media type)", raw, name)
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                self.fail(f"{what} header `{name}` must be text, not {_kind(value)}", raw, name)
            value = str(value)
            if _CONTROL.search(value) or not value.isascii():
                self.fail(f"{what} header `{name}` holds a line break, control or non-ASCII character", raw, name)
            headers[name.lower()] = value
        return headers

    def fault(self, response: dict[str, Any], what: str) -> dict[str, Any] | None:
        if response.get("fault") is None:
            return None
        fault = self.mapping(response["fault"], f"{what} `fault`", response, "fault", (), tuple(_FAULT_KEYS))
        for name, value in fault.items():
            expected = _FAULT_KEYS[name]
            if expected is bool:
                ok = isinstance(value, bool)
            else:
                ok = not isinstance(value, bool) and isinstance(value, (int, float) if expected is float else int) and 0 <= value <= _MAX_SECONDS * 1000
            if not ok:
                wanted = "true or false" if expected is bool else "a whole number from 0" if expected is int else "a number of seconds from 0"
                self.fail(f"{what} `fault: {name}` must be {wanted}, not {value!r}", fault, name)
        if "stall_seconds" in fault:
            self.number(fault, "stall_seconds", f"{what} `fault`")
        return dict(fault)

    def interaction(self, item: Any, number: int, parent: list[Any]) -> Interaction:
        what = f"interaction {number}"
        item = self.mapping(item, what, parent, number - 1, ("request", "response"), ("note",))
        req = self.mapping(item["request"], f"{what} `request`", item, "request", _REQUEST_KEYS, _REQUEST_OPTIONAL)
        method = self.text(req, "method", f"{what} `request`", required=True)
        if not method or not _TOKEN.fullmatch(method):
            self.fail(f"{what} `request` `method` must be an HTTP method such as POST, not {method!r}", req, "method")
        path = self.text(req, "path", f"{what} `request`", single_line=True, required=True)
        if not path or not path.startswith("/") or " " in path:
            self.fail(f"{what} `request` `path` must start with / and hold no spaces, not {path!r}", req, "path")
        resp = self.mapping(item["response"], f"{what} `response`", item, "response", (), _RESPONSE_OPTIONAL)
        status = resp.get("status", 200)
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            self.fail(f"{what} `response` `status` must be an HTTP status from 200 to 599, not {status!r}", resp, "status")
        events = None
        if resp.get("events") is not None:
            if "body" in resp:
                self.fail(f"{what} `response` has both `events` (a stream) and `body` (a JSON answer): keep one", resp, "body")
            if not isinstance(resp["events"], list):
                self.fail(f"{what} `response` `events` must be a list of events, not {_kind(resp['events'])}", resp, "events")
            events = [self.event(e, f"{what}, event {i + 1}", resp["events"], i) for i, e in enumerate(resp["events"])]
        content_type = self.text(resp, "content_type", f"{what} `response`", "text/event-stream" if events is not None else "application/json", single_line=True)
        assert content_type is not None
        return Interaction(
            request=RecordedRequest(method=method.upper(), path=path, body=req.get("body")),
            response=RecordedResponse(
                status=status,
                t=self.number(resp, "t", f"{what} `response`"),
                content_type=content_type,
                body=resp.get("body"),
                events=events,
                fault=self.fault(resp, f"{what} `response`"),
                headers=self.headers(resp, f"{what} `response`"),
            ),
            note=self.text(item, "note", what) or "",
        )

    def cassette(self, raw: Any, path: Path, name: str) -> Cassette:
        raw = self.mapping(raw, "a fixture", None, None, _TOP_KEYS, _TOP_OPTIONAL)
        if raw["version"] != FORMAT_VERSION or isinstance(raw["version"], bool):
            self.fail(f"version {raw['version']!r} is not {FORMAT_VERSION}; re-record it with LABS_MODE=record", raw, "version")
        if raw["surface"] not in SURFACE_NAMES:
            self.fail(f"surface must be one of {', '.join(map(repr, SURFACE_NAMES))}, not {raw['surface']!r}", raw, "surface")
        comment = self.text(raw, "comment", "the fixture's", required=True)
        if not comment or not comment.strip():
            self.fail("add a comment saying what is special about this scenario", raw, "comment")
        items = raw["interactions"]
        if not isinstance(items, list) or not items:
            shown = "an empty list" if items == [] else _kind(items)
            self.fail(f"no interactions: `interactions` must list request and response pairs, not be {shown}", raw, "interactions")
        return Cassette(
            name=name,
            surface=raw["surface"],
            comment=comment.strip(),
            interactions=[self.interaction(item, i + 1, items) for i, item in enumerate(items)],
            path=path,
        )


def load_cassette(path: Path, name: str | None = None, shown_as: str | None = None) -> Cassette:
    """Read one fixture file; any problem is a FixtureError naming the file (as `shown_as`, if given) and the line."""
    path = Path(path)
    shown = shown_as or display_path(path)
    raw, lines = read_fixture_yaml(path, shown)
    if raw is None:
        raise FixtureError(FixtureProblem(shown, None, "is empty: a fixture is a mapping with version, surface, comment and interactions"))
    cassette = _Checker(shown, lines).cassette(raw, path, name or path.stem)
    cassette.shown_as = shown_as
    return cassette


@dataclass
class FixtureSet:
    """Every fixture that loaded, and a problem for each file that did not."""

    cassettes: list[Cassette] = field(default_factory=list)
    problems: list[FixtureProblem] = field(default_factory=list)


def load_fixtures(folders: tuple[Path, ...] | list[Path]) -> FixtureSet:
    """Every `*.yaml` fixture below the given folders, named `<lesson>/<scenario>`; a bad file is reported, never raised."""
    found = FixtureSet()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.yaml")):
            relative = path.relative_to(folder)
            try:
                found.cassettes.append(load_cassette(path, name=relative.with_suffix("").as_posix(), shown_as=(Path(folder.name) / relative).as_posix()))
            except FixtureError as exc:
                found.problems.append(exc.problem)
    return found


def load_cassettes(folders: tuple[Path, ...] | list[Path]) -> list[Cassette]:
    """Like `load_fixtures`, but strict: the first bad file raises a FixtureError naming it and its line."""
    found = load_fixtures(folders)
    if found.problems:
        raise FixtureError(found.problems[0])
    return found.cassettes


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not value.startswith((" ", "\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_cassette(cassette: Cassette, path: Path) -> None:
    """Write a cassette as YAML: a version key, a comment, then each request and its timed events."""
    items = []
    for inter in cassette.interactions:
        resp: dict[str, Any] = {"status": inter.response.status, "content_type": inter.response.content_type}
        if inter.response.headers:
            resp["headers"] = inter.response.headers
        if inter.response.events is not None:
            resp["events"] = [_event_to_yaml(e) for e in inter.response.events]
        else:
            resp["t"] = round(inter.response.t, 4)
            resp["body"] = inter.response.body
        if inter.response.fault:
            resp["fault"] = inter.response.fault
        item: dict[str, Any] = {}
        if inter.note:
            item["note"] = inter.note
        item["request"] = {"method": inter.request.method, "path": inter.request.path, "body": inter.request.body}
        item["response"] = resp
        items.append(item)
    doc = {"version": cassette.version, "surface": cassette.surface, "comment": cassette.comment, "interactions": items}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100_000, default_flow_style=False)
    path.write_text(text, encoding="utf-8")
