"""The replay server: a real HTTP server on 127.0.0.1 that answers the SDKs from recorded fixtures.

Why a server and not a mock: the notebooks must run the real `openai`, `openai-agents`, `azure-ai-agents`
and `semantic-kernel` clients unchanged. Each of them uses a different HTTP stack (httpx2, httpx,
requests, aiohttp), and all of them can talk to a loopback server. Pointing their base URL here is the
only change, and the client factories in `labs.clients` make it.

Replay sends each recorded event at its recorded time, divided by the speed (1 = as recorded, 0 = no
delay). In record mode the same server is a pass-through proxy to the live service: bytes go back to
the caller as they arrive, and each event is written to a fixture with its arrival time. Request
headers are never written, so keys and tokens stay off disk.

Run it on its own with `python -m labs.replay serve [--port N] [--speed S]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..cassette import (
    Cassette,
    FixtureError,
    Interaction,
    RecordedEvent,
    RecordedRequest,
    RecordedResponse,
    Surface,
    dump_cassette,
    load_cassettes,
)
from ..config import Mode, display_path, settings
from ..matching import MatchingLibrary, ReplayMiss
from ..serving import LoopbackServer
from ..sse import SSEEvent, SSEParser, encode_event
from ..surfaces import error_body, final_object, split_route, starts_conversation

__all__ = ["AZURE_PROJECT", "DroppedConnection", "ReplayServer", "default_server", "replay_speed"]

AZURE_PROJECT = "replay"


class DroppedConnection(Exception):
    """Raised inside a streamed response to cut the connection mid-body, as a network failure would."""


class _QuietDrops(logging.Filter):
    """uvicorn logs an exception that ends a response; a fault we enacted on purpose is not one to report."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
_HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "keep-alive"}


class Recorder:
    """Groups recorded requests into scenarios and writes each scenario as a fixture after every request.

    A request that starts a conversation starts a new fixture named after its prompt; the rest join the
    current one. `pin(name)` (the `/_labs/record-as` endpoint) sends every request to one named fixture.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._current: dict[Surface, Cassette] = {}
        self._pinned: Cassette | None = None
        self._lock = threading.Lock()

    def pin(self, name: str | None, comment: str = "", surface: Surface = "openai") -> None:
        with self._lock:
            self._pinned = None if name is None else self._new(name, surface, comment)

    def _new(self, name: str, surface: Surface, comment: str) -> Cassette:
        return Cassette(
            name=name,
            surface=surface,
            comment=comment or f"Recorded {date.today().isoformat()}. Say here what is special about this scenario.",
            path=self.folder / f"{name}.yaml",
        )

    def add(self, surface: Surface, interaction: Interaction) -> Path:
        with self._lock:
            req = interaction.request
            if self._pinned is not None:
                cassette = self._pinned
                cassette.surface = surface
            else:
                cassette = self._current.get(surface)  # type: ignore[assignment]
                if cassette is None or starts_conversation(surface, req.method, req.path, req.body):
                    cassette = self._new(self._fresh_name(surface, req.body), surface, "")
                    self._current[surface] = cassette
            cassette.interactions.append(interaction)
            assert cassette.path is not None
            dump_cassette(cassette, cassette.path)
            return cassette.path

    def _fresh_name(self, surface: Surface, body: Any) -> str:
        text = json.dumps(body)[-200:] if body is not None else surface
        slug = "-".join(re.findall(r"[a-z0-9]+", text.lower())[-6:]) or surface
        name, n = f"{surface}-{slug}", 1
        while (self.folder / f"{name}.yaml").exists():
            n += 1
            name = f"{surface}-{slug}-{n}"
        return name


class ReplayServer:
    """One replay (or record) server; start() runs it in a background thread on a free port."""

    def __init__(
        self,
        *,
        mode: Mode = "replay",
        speed: float = 1.0,
        fixture_dirs: tuple[Path, ...] | None = None,
        record_dir: Path | None = None,
        upstreams: dict[Surface, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        current = settings()
        self.mode = mode
        self.speed = speed
        self.fixture_dirs = tuple(fixture_dirs or current.fixture_dirs)
        self.upstreams = dict(upstreams or {})
        self.recorder = Recorder(Path(record_dir or current.record_dir))
        self.host, self.port = host, port
        self.library = self._load_library()
        self.app = Starlette(
            routes=[
                Route("/_labs/health", self._health),
                Route("/_labs/scenarios", self._scenarios),
                Route("/_labs/record-as", self._record_as, methods=["POST"]),
                Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE", "PATCH", "PUT"]),
            ]
        )
        self._serving = LoopbackServer(self.app, host, port, name="labs-replay")
        self._http: httpx.AsyncClient | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"{self.url}/api/projects/{AZURE_PROJECT}"

    def _load_library(self) -> MatchingLibrary:
        return MatchingLibrary(load_cassettes(self.fixture_dirs), [display_path(d) for d in self.fixture_dirs])

    def reload(self) -> None:
        """Read the fixture folders again (after adding or editing a fixture)."""
        self.library = self._load_library()

    def start(self) -> ReplayServer:
        self._serving.start()
        self.port = self._serving.port
        return self

    def stop(self) -> None:
        self._serving.stop()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control endpoints -----------------------------------------------------------------------

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"mode": self.mode, "speed": self.speed, "fixtures": len(self.library.cassettes)})

    async def _scenarios(self, request: Request) -> Response:
        return JSONResponse(
            [{"name": c.name, "surface": c.surface, "comment": c.comment, "requests": len(c.interactions)} for c in self.library.cassettes]
        )

    async def _record_as(self, request: Request) -> Response:
        payload = await request.json()
        name = payload.get("name")
        self.recorder.pin(None if name is None else str(name), str(payload.get("comment", "")), payload.get("surface", "openai"))
        return JSONResponse({"recording_to": name})

    # -- the services ----------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        arrived = time.monotonic()
        route = split_route(request.url.path)
        if route is None:
            return JSONResponse(
                {"error": {"message": f"The replay server serves /v1/... (OpenAI) and /api/projects/<p>/... (Azure), not {request.url.path}.", "code": "unknown_route"}},
                status_code=404,
            )
        surface, path = route
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "api-version"]
        if query:
            path = f"{path}?{urlencode(query)}"
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        if self.mode == "record":
            return await self._proxy(request, surface, path, raw, body, arrived)
        try:
            match = self.library.find(surface, request.method, path, body)
        except ReplayMiss as miss:
            return JSONResponse(error_body(surface, str(miss), "replay_miss"), status_code=404)
        response = match.interaction.response
        if response.events is not None and isinstance(body, dict) and body.get("stream"):
            return StreamingResponse(
                self._play(response, arrived), status_code=response.status, media_type=response.content_type, headers=response.headers
            )
        if response.events is not None:
            try:
                final: Any = final_object(surface, path, response.events)
            except (ValueError, KeyError, IndexError) as exc:
                message = f"{match.cassette.where} holds a stream that cannot be served without stream=true: {exc}."
                return JSONResponse(error_body(surface, message, "replay_fixture"), status_code=400)
            await self._wait(arrived, response.duration)
            return JSONResponse(final, status_code=response.status, headers=response.headers)
        await self._wait(arrived, response.t)
        if isinstance(response.body, (dict, list)):
            return JSONResponse(response.body, status_code=response.status, headers=response.headers)
        return Response(response.body or b"", status_code=response.status, media_type=response.content_type, headers=response.headers)

    async def _wait(self, arrived: float, offset: float) -> None:
        if self.speed > 0:
            delay = arrived + offset / self.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                return
        # Yield to the loop once per event even when it is already due, so a client that went away is noticed
        # (and the response cancelled) before the next send, instead of asyncio logging failed sends.
        await asyncio.sleep(0)

    async def _play(self, response: RecordedResponse, arrived: float) -> AsyncIterator[bytes]:
        """Send each event at its time; enact the fixture's fault (a dropped connection, a stall) on the wire."""
        fault = response.fault or {}
        for index, event in enumerate(response.events or []):
            if index == fault.get("drop_after"):
                raise DroppedConnection(f"fault: connection dropped after {index} events")
            if index == fault.get("stall_after"):
                await asyncio.sleep(float(fault.get("stall_seconds", 30)))  # real seconds, whatever the speed
            await self._wait(arrived, event.t)
            if event.raw is not None:
                yield event.raw.encode("utf-8")
            else:
                yield encode_event(SSEEvent(data=event.data, event=event.event, id=event.id))

    # -- record mode -----------------------------------------------------------------------------

    async def _proxy(self, request: Request, surface: Surface, path: str, raw: bytes, body: Any, arrived: float) -> Response:
        upstream = self.upstreams.get(surface)
        if not upstream:
            message = f"LABS_MODE=record has no upstream for {surface}: set {'OPENAI_API_KEY' if surface == 'openai' else 'PROJECT_ENDPOINT'} in .env."
            return JSONResponse(error_body(surface, message, "record_no_upstream"), status_code=400)
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(600, connect=30))
        url = upstream.rstrip("/") + path.partition("?")[0] + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        headers["accept-encoding"] = "identity"
        sent = self._http.build_request(request.method, url, headers=headers, content=raw)
        upstream_response = await self._http.send(sent, stream=True)
        content_type = upstream_response.headers.get("content-type", "application/json")
        recorded = RecordedResponse(status=upstream_response.status_code, content_type=content_type.split(";")[0].strip())
        if "retry-after" in upstream_response.headers:  # the one response header worth keeping; never auth or cookies
            recorded.headers["retry-after"] = upstream_response.headers["retry-after"]
        interaction = Interaction(RecordedRequest(method=request.method, path=path, body=body), recorded)
        if "text/event-stream" in content_type:
            recorded.events = []
            return StreamingResponse(
                self._relay(upstream_response, recorded.events, arrived, surface, interaction),
                status_code=upstream_response.status_code,
                media_type=content_type,
            )
        data = await upstream_response.aread()
        await upstream_response.aclose()
        recorded.t = time.monotonic() - arrived
        try:
            recorded.body = json.loads(data) if data else None
        except ValueError:
            recorded.body = data.decode("utf-8", errors="replace")
        self.recorder.add(surface, interaction)
        return Response(data, status_code=upstream_response.status_code, media_type=content_type, headers=recorded.headers)

    async def _relay(
        self, upstream: httpx.Response, events: list[RecordedEvent], arrived: float, surface: Surface, interaction: Interaction
    ) -> AsyncIterator[bytes]:
        parser = SSEParser()
        try:
            async for chunk in upstream.aiter_raw():
                now = time.monotonic() - arrived
                events.extend(RecordedEvent(t=now, data=e.data, event=e.event, id=e.id) for e in parser.feed(chunk))
                yield chunk
            now = time.monotonic() - arrived
            events.extend(RecordedEvent(t=now, data=e.data, event=e.event, id=e.id) for e in parser.flush())
        finally:
            await upstream.aclose()
            self.recorder.add(surface, interaction)


_default: ReplayServer | None = None
_default_lock = threading.Lock()
_speed_override: float | None = None


def _upstreams() -> dict[Surface, str]:
    found: dict[Surface, str] = {"openai": os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"}
    if os.environ.get("PROJECT_ENDPOINT"):
        found["azure"] = os.environ["PROJECT_ENDPOINT"]
    return found


def default_server() -> ReplayServer:
    """The kernel's replay server, started on first use; follows LABS_MODE and LABS_REPLAY_SPEED as they change."""
    global _default
    current = settings()
    with _default_lock:
        stale = _default is not None and (_default.mode != current.mode or _default.fixture_dirs != current.fixture_dirs)
        if stale:
            assert _default is not None
            _default.stop()
            _default = None
        if _default is None:
            _default = ReplayServer(
                mode=current.mode,
                speed=current.speed,
                fixture_dirs=current.fixture_dirs,
                record_dir=current.record_dir,
                upstreams=_upstreams() if current.mode == "record" else None,
            ).start()
        _default.speed = current.speed if _speed_override is None else _speed_override
        return _default


@contextmanager
def replay_speed(speed: float) -> Iterator[None]:
    """Replay at `speed` inside the block, e.g. 1 to measure recorded timings even when CI runs at 0.

    Live and record modes are not affected: their timings are the service's own.
    """
    global _speed_override
    previous, _speed_override = _speed_override, speed
    try:
        default_server()
        yield
    finally:
        _speed_override = previous
        default_server()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m labs.replay", description="Serve recorded LLM responses on 127.0.0.1.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the replay server in the foreground")
    serve.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    serve.add_argument("--speed", type=float, default=None, help="1 = as recorded, 0 = no delay (default: LABS_REPLAY_SPEED or 1)")
    args = parser.parse_args(argv)
    current = settings()
    try:
        server = ReplayServer(speed=current.speed if args.speed is None else args.speed, port=args.port)
    except FixtureError as exc:
        raise SystemExit(f"error: {exc}") from None
    server._serving.bind()
    server.port = server._serving.port
    print(f"Replay server on {server.url}  ({len(server.library.cassettes)} fixtures, speed {server.speed:g})", flush=True)
    print(f"  OpenAI base URL:  {server.openai_base_url}", flush=True)
    print(f"  Azure endpoint:   {server.azure_endpoint}", flush=True)
    server._serving.run_forever()

