"""Record mode: the replay server as a pass-through proxy to the live service, writing what it answers.

Bytes go back to the caller as they arrive (no buffering), and each server-sent event is written to a
fixture with its arrival time. Request headers are never written, so keys and tokens stay off disk; the
only response header kept is `retry-after`. An upstream that cannot be reached is answered with a 502 in
the service's own error shape, so the SDK raises its normal error with a sentence saying what failed.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, SurfaceName, dump_cassette
from .sse import SSEParser
from .surfaces import Surface, surface

__all__ = ["RecordProxy", "Recorder"]

_HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "keep-alive"}


class Recorder:
    """Groups recorded requests into scenarios and writes each scenario as a fixture after every request.

    A request that starts a conversation starts a new fixture named after its prompt; the rest join the
    current one. `pin(name)` (the `/_labs/record-as` endpoint) sends every request to one named fixture.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._current: dict[SurfaceName, Cassette] = {}
        self._pinned: Cassette | None = None
        self._lock = threading.Lock()

    def pin(self, name: str | None, comment: str = "", on: SurfaceName = "openai") -> None:
        with self._lock:
            self._pinned = None if name is None else self._new(name, on, comment)

    def _new(self, name: str, on: SurfaceName, comment: str) -> Cassette:
        return Cassette(
            name=name,
            surface=on,
            comment=comment or f"Recorded {date.today().isoformat()}. Say here what is special about this scenario.",
            path=self.folder / f"{name}.yaml",
        )

    def add(self, on: SurfaceName, interaction: Interaction) -> Path:
        with self._lock:
            req = interaction.request
            if self._pinned is not None:
                cassette = self._pinned
                cassette.surface = on
            else:
                cassette = self._current.get(on)  # type: ignore[assignment]
                if cassette is None or surface(on).starts_conversation(req.method, req.path, req.body):
                    cassette = self._new(self._fresh_name(on, req.body), on, "")
                    self._current[on] = cassette
            cassette.interactions.append(interaction)
            assert cassette.path is not None
            dump_cassette(cassette, cassette.path)
            return cassette.path

    def _fresh_name(self, on: SurfaceName, body: Any) -> str:
        text = json.dumps(body)[-200:] if body is not None else on
        slug = "-".join(re.findall(r"[a-z0-9]+", text.lower())[-6:]) or on
        name, n = f"{on}-{slug}", 1
        while (self.folder / f"{name}.yaml").exists():
            n += 1
            name = f"{on}-{slug}-{n}"
        return name


class RecordProxy:
    """Forwards a request to the surface's upstream and records the answer as it streams back."""

    def __init__(self, recorder: Recorder, upstreams: dict[SurfaceName, str]) -> None:
        self.recorder = recorder
        self.upstreams = upstreams
        self._http: httpx.AsyncClient | None = None

    async def forward(self, request: Request, on: Surface, path: str, raw: bytes, body: Any, arrived: float) -> Response:
        upstream = self.upstreams.get(on.name)
        if not upstream:
            message = f"LABS_MODE=record has no upstream for {on.name}: set {on.credential_hint} in .env."
            return JSONResponse(on.error_body(message, "record_no_upstream"), status_code=400)
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(600, connect=30))
        url = upstream.rstrip("/") + path.partition("?")[0] + (f"?{request.url.query}" if request.url.query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        headers["accept-encoding"] = "identity"
        sent = self._http.build_request(request.method, url, headers=headers, content=raw)
        try:
            upstream_response = await self._http.send(sent, stream=True)
        except httpx.HTTPError as exc:
            where = httpx.URL(upstream).copy_with(query=None, fragment=None)  # never echo a query string: it may hold a key
            message = f"LABS_MODE=record could not reach the {on.name} service at {where} ({type(exc).__name__}). Check the URL in .env and your network."
            return JSONResponse(on.error_body(message, "record_upstream_unreachable"), status_code=502)
        content_type = upstream_response.headers.get("content-type", "application/json")
        recorded = RecordedResponse(status=upstream_response.status_code, content_type=content_type.split(";")[0].strip())
        if "retry-after" in upstream_response.headers:  # the one response header worth keeping; never auth or cookies
            recorded.headers["retry-after"] = upstream_response.headers["retry-after"]
        interaction = Interaction(RecordedRequest(method=request.method, path=path, body=body), recorded)
        if "text/event-stream" in content_type:
            recorded.events = []
            return StreamingResponse(
                self._relay(upstream_response, recorded.events, arrived, on.name, interaction),
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
        self.recorder.add(on.name, interaction)
        return Response(data, status_code=upstream_response.status_code, media_type=content_type, headers=recorded.headers)

    async def _relay(
        self, upstream: httpx.Response, events: list[RecordedEvent], arrived: float, on: SurfaceName, interaction: Interaction
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
            self.recorder.add(on, interaction)
