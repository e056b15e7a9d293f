"""Fixtures: one readable YAML file per recorded scenario (a "cassette", as vcrpy calls it).

A cassette holds the requests an SDK made, in order, and what the service answered: either a JSON body
or a list of server-sent events, each with the time it arrived (seconds since the request was sent).
Event data is kept as the exact text the service sent, one entry per event, so replay can reproduce the
wire byte for byte. No header but the content type is ever stored. The format is documented in
`labs/fixtures/README.md`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from ..config import display_path

__all__ = [
    "FORMAT_VERSION",
    "Cassette",
    "FixtureError",
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
]

FORMAT_VERSION = 1
SurfaceName = Literal["openai", "azure"]  # the one definition; labs.replay.surfaces has a module for each
SURFACE_NAMES: tuple[SurfaceName, ...] = get_args(SurfaceName)


# libyaml's loader when PyYAML was built with it: every kernel loads every fixture, and it is 6x faster.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class FixtureError(ValueError):
    """A fixture file that cannot be read; the message names the file and what is wrong."""


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

    @property
    def where(self) -> str:
        return display_path(self.path) if self.path else self.name


def _event_from_yaml(raw: dict[str, Any]) -> RecordedEvent:
    if "raw" in raw:
        return RecordedEvent(t=float(raw["t"]), raw=str(raw["raw"]))
    return RecordedEvent(t=float(raw["t"]), data=str(raw["data"]), event=raw.get("event"), id=raw.get("id"))


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


def load_cassette(path: Path, name: str | None = None) -> Cassette:
    """Read one fixture file; any problem is a FixtureError naming the file."""
    where = display_path(path)
    try:
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_SafeLoader)
    except (OSError, yaml.YAMLError) as exc:
        raise FixtureError(f"{where}: not readable YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise FixtureError(f"{where}: expected a mapping with version, surface, comment and interactions")
    if raw.get("version") != FORMAT_VERSION:
        raise FixtureError(f"{where}: version {raw.get('version')!r} is not {FORMAT_VERSION}; re-record it with LABS_MODE=record")
    if raw.get("surface") not in SURFACE_NAMES:
        raise FixtureError(f"{where}: surface must be one of {', '.join(map(repr, SURFACE_NAMES))}, not {raw.get('surface')!r}")
    if not str(raw.get("comment", "")).strip():
        raise FixtureError(f"{where}: add a comment saying what is special about this scenario")
    interactions = []
    for i, item in enumerate(raw.get("interactions") or []):
        try:
            req, resp = item["request"], item["response"]
            events = resp.get("events")
            interactions.append(
                Interaction(
                    request=RecordedRequest(method=req["method"].upper(), path=req["path"], body=req.get("body")),
                    response=RecordedResponse(
                        status=int(resp.get("status", 200)),
                        t=float(resp.get("t", 0.0)),
                        content_type=resp.get("content_type", "text/event-stream" if events is not None else "application/json"),
                        body=resp.get("body"),
                        events=[_event_from_yaml(e) for e in events] if events is not None else None,
                        fault=resp.get("fault"),
                        headers={str(k).lower(): str(v) for k, v in (resp.get("headers") or {}).items()},
                    ),
                    note=item.get("note", ""),
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FixtureError(f"{where}: interaction {i} is malformed ({exc!r})") from exc
    if not interactions:
        raise FixtureError(f"{where}: no interactions")
    return Cassette(
        name=name or Path(path).stem,
        surface=raw["surface"],
        comment=str(raw["comment"]).strip(),
        interactions=interactions,
        path=Path(path),
    )


def load_cassettes(folders: tuple[Path, ...] | list[Path]) -> list[Cassette]:
    """Every `*.yaml` fixture below the given folders, named `<lesson>/<scenario>` by their place in it."""
    found: list[Cassette] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.yaml")):
            found.append(load_cassette(path, name=path.relative_to(folder).with_suffix("").as_posix()))
    return found


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
