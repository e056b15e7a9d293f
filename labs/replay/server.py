"""The replay server: a real HTTP server on 127.0.0.1 that answers the SDKs from recorded fixtures.

Why a server and not a mock: the notebooks must run the real `openai`, `openai-agents`, `azure-ai-agents`
and `semantic-kernel` clients unchanged. Each of them uses a different HTTP stack (httpx2, httpx,
requests, aiohttp), and all of them can talk to a loopback server. Pointing their base URL here is the
only change, and the client factories in `labs.clients` make it.

Replay sends each recorded event at its recorded time, divided by the speed (1 = as recorded, 0 = no
delay), and enacts a fixture's fault (a dropped connection, a stall) on the wire. In record mode the same
server is a pass-through proxy to the live service (`labs.replay.recording`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..config import Mode, display_path, settings
from .cassette import RecordedResponse, SurfaceName, asks_for_stream, load_cassettes
from .loopback import ServedApp
from .matching import MatchingLibrary, ReplayMiss
from .recording import Recorder, RecordProxy
from .sse import SSEEvent, encode_event
from .surfaces import route, surface

__all__ = ["DroppedConnection", "ReplayServer"]


class DroppedConnection(Exception):
    """Raised inside a streamed response to cut the connection mid-body, as a network failure would."""


class _QuietDrops(logging.Filter):
    """uvicorn logs an exception that ends a response; a fault we enacted on purpose is not one to report."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


_QUIET_DROPS = _QuietDrops()


class ReplayServer(ServedApp):
    """One replay (or record) server; start() runs it in a background thread on a free port."""

    def __init__(
        self,
        *,
        mode: Mode = "replay",
        speed: float = 1.0,
        fixture_dirs: tuple[Path, ...] | None = None,
        record_dir: Path | None = None,
        upstreams: dict[SurfaceName, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        current = settings()
        self.mode = mode
        self.speed = speed
        self.fixture_dirs = tuple(fixture_dirs or current.fixture_dirs)
        self.recorder = Recorder(Path(record_dir or current.record_dir))
        self._proxy = RecordProxy(self.recorder, dict(upstreams or {}))
        self.library = MatchingLibrary(load_cassettes(self.fixture_dirs), [display_path(d) for d in self.fixture_dirs])
        self.app = Starlette(
            routes=[
                Route("/_labs/health", self._health),
                Route("/_labs/scenarios", self._scenarios),
                Route("/_labs/record-as", self._record_as, methods=["POST"]),
                Route("/{path:path}", self._handle, methods=["GET", "POST", "DELETE", "PATCH", "PUT"]),
            ]
        )
        super().__init__(self.app, host=host, port=port, name="labs-replay")

    # -- where clients point ---------------------------------------------------------------------

    def base_url(self, on: SurfaceName) -> str:
        """The URL a client of this surface uses as its base URL or endpoint."""
        return self.url + surface(on).base_path

    @property
    def openai_base_url(self) -> str:
        return self.base_url("openai")

    @property
    def azure_endpoint(self) -> str:
        return self.base_url("azure")

    @property
    def upstreams(self) -> dict[SurfaceName, str]:
        """Where record mode forwards each surface (a copy; change it with `upstream()`)."""
        return dict(self._proxy.upstreams)

    @contextmanager
    def upstream(self, on: SurfaceName, url: str) -> Iterator[None]:
        """Inside the block, record mode forwards `on` to `url` (a stand-in, say); the previous upstream comes back after."""
        upstreams = self._proxy.upstreams
        previous = upstreams.get(on)
        upstreams[on] = url
        try:
            yield
        finally:
            if previous is None:
                upstreams.pop(on, None)
            else:
                upstreams[on] = previous

    def on_start(self) -> None:
        logger = logging.getLogger("uvicorn.error")
        if _QUIET_DROPS not in logger.filters:
            logger.addFilter(_QUIET_DROPS)

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
        found = route(request.url.path)
        if found is None:
            return JSONResponse(
                {"error": {"message": f"The replay server serves /v1/... (OpenAI) and /api/projects/<p>/... (Azure), not {request.url.path}.", "code": "unknown_route"}},
                status_code=404,
            )
        on, path = found
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "api-version"]
        if query:
            path = f"{path}?{urlencode(query)}"
        raw = await request.body()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        if self.mode == "record":
            return await self._proxy.forward(request, on, path, raw, body, arrived)
        try:
            match = self.library.find(on.name, request.method, path, body)
        except ReplayMiss as miss:
            return JSONResponse(on.error_body(str(miss), "replay_miss"), status_code=404)
        response = match.interaction.response
        if response.events is not None and asks_for_stream(body):
            return StreamingResponse(
                self._play(response, arrived), status_code=response.status, media_type=response.content_type, headers=response.headers
            )
        if response.events is not None:
            try:
                final: Any = on.final_object(path, response.events)
            except (ValueError, KeyError, IndexError) as exc:
                message = f"{match.cassette.where} holds a stream that cannot be served without stream=true: {exc}."
                return JSONResponse(on.error_body(message, "replay_fixture"), status_code=400)
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
