"""The replay server: a real HTTP server on 127.0.0.1 that answers the SDKs from recorded fixtures.

Why a server and not a mock: the notebooks must run the real `openai`, `openai-agents`, `azure-ai-agents`
and `semantic-kernel` clients unchanged. Each of them uses a different HTTP stack (httpx2, httpx,
requests, aiohttp), and all of them can talk to a loopback server. Pointing their base URL here is the
only change, and the client factories in `labs.clients` make it.

Replay sends each recorded event at its recorded time, divided by the speed (1 = as recorded, 0 = no
delay), and enacts a fixture's fault (a dropped connection, a stall) on the wire. In record mode the same
server is a pass-through proxy to the live service (`labs.replay.recording`).

Requests are untrusted, even on loopback: any web page the learner opens can send some. So a body is
capped (`MAX_BODY_BYTES`, a 413) and must arrive within `body_timeout` seconds (a 408), JSON nested deeper
than `MAX_JSON_DEPTH` is a 400, a request from another origin is a 403, and the control endpoints take
only a JSON body. Each answer is in the service's own error shape. Matching a large body, and explaining
any miss, runs in a worker thread, so one slow request never holds up the other clients' streams. A
fixture file that cannot be loaded is reported (at start-up, in `/_labs/health`, in every miss), never
fatal: the server serves all the others.

The send path is the cost every streamed answer pays, so it does little per event: each event's bytes are
framed once, when the fixtures are loaded, and the events already due are written together in one send
(at speed 0, a whole stream up to its fault point goes out in sends of at most `_BATCH_BYTES`). At a speed
above 0 an event that is not yet due waits for its time and goes out on its own, so the chunk boundaries and
gaps that the lessons time (time to first token, the gaps between chunks, redraws a second) are those of
the recording; only events recorded at the same moment, or already late, share a send, as they would share
a network read anyway. The fixtures of a folder set are loaded once per process (`_load`) and shared by
every server on it: a cassette is never changed once loaded, and each server keeps its own matching state.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..config import Mode, display_path, settings
from .cassette import SURFACE_NAMES, FixtureSet, RecordedResponse, SurfaceName, asks_for_stream, load_fixtures
from .loopback import BodyRefused, ServedApp, read_body
from .matching import MISS_CODE, Match, MatchingLibrary, ReplayMiss
from .recording import Recorder, RecordProxy
from .sse import SSEEvent, encode_event
from .surfaces import route, surface

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "PLAY_LOG_ENV", "DroppedConnection", "ReplayServer"]

MAX_BODY_BYTES = 8 * 1024 * 1024  # far above any real request (a long agent conversation is a few hundred KB)
MAX_JSON_DEPTH = 100  # real requests nest about 10 deep (a tool's JSON schema); matching walks each level
_INLINE_BODY_BYTES = 64 * 1024  # a larger body is parsed and matched in a worker thread, off the event loop
_JSON_TYPES = ("application/json",)
_BATCH_BYTES = 64 * 1024  # events already due go out together, in sends of about this size at most
PLAY_LOG_ENV = "LABS_PLAY_LOG"  # a file to append one JSON line to per recorded answer played and per stall (labs.bench reads it)
_LOADED_SETS = 8  # fixture folder sets kept loaded per process (a test suite makes many small ones)


class _Refused(Exception):
    """A request the server answers with an error before matching it: a status, a code and a sentence."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _depth_over(value: Any, limit: int) -> bool:
    """Whether JSON `value` nests deeper than `limit` (iteratively: a deep value must not exhaust the stack here)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _parse_json(raw: bytes) -> Any:
    """The body as JSON (or as text when it is not JSON); _Refused for JSON nested too deep to match."""
    if not raw:
        return None
    try:
        body: Any = json.loads(raw)
    except RecursionError:
        raise _Refused(400, "invalid_request_body", f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels.") from None
    except ValueError:
        return raw.decode("utf-8", errors="replace")
    if _depth_over(body, MAX_JSON_DEPTH):
        raise _Refused(400, "invalid_request_body", f"The request body nests JSON deeper than {MAX_JSON_DEPTH} levels.")
    return body


@dataclass(frozen=True)
class _Wire:
    """A recorded stream as the server sends it: each event's bytes, framed once, and its recorded time."""

    frames: tuple[bytes, ...]
    times: tuple[float, ...]
    failure: bool  # a recorded failure: an error status, a fault on the wire, or bytes that are not an event


def _wire(response: RecordedResponse) -> _Wire:
    events = response.events or []
    frames = tuple(e.raw.encode("utf-8") if e.raw is not None else encode_event(SSEEvent(data=e.data, event=e.event, id=e.id)) for e in events)
    return _Wire(frames, tuple(e.t for e in events), _is_failure(response))


def _is_failure(response: RecordedResponse) -> bool:
    """Whether a recorded answer is one a client should give up on or retry: an error status, a drop or stall, a malformed line."""
    return response.status >= 400 or bool(response.fault) or any(e.raw is not None for e in response.events or ())


@dataclass(frozen=True)
class _Loaded:
    """One folder set's fixtures and the wire form of each recorded stream (keyed by the response's id)."""

    fixtures: FixtureSet
    wires: dict[int, _Wire]


_loaded: OrderedDict[tuple[tuple[str, tuple[tuple[str, bytes], ...]], ...], _Loaded] = OrderedDict()
_loaded_lock = threading.Lock()
load_counts = {"loaded": 0, "reused": 0}  # how often `_load` parsed the files, and how often it reused them (tests read it)


def _contents(folders: tuple[Path, ...]) -> tuple[tuple[str, tuple[tuple[str, bytes], ...]], ...]:
    """What the fixtures of `folders` are: each `*.yaml` file's path and a digest of its bytes (a few ms for them all)."""
    found = []
    for folder in folders:
        files = sorted(Path(folder).rglob("*.yaml")) if Path(folder).is_dir() else []
        found.append((str(Path(folder).resolve()), tuple((str(f.relative_to(folder)), _digest(f)) for f in files)))
    return tuple(found)


def _digest(path: Path) -> bytes:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:  # unreadable: load_fixtures reports it, and the next look reads it again
        return b""


def _load(folders: tuple[Path, ...]) -> _Loaded:
    """The fixtures of `folders`, parsed once per process while their files stay the same, with their wire forms."""
    key = _contents(folders)
    with _loaded_lock:
        if (found := _loaded.get(key)) is not None:
            _loaded.move_to_end(key)
            load_counts["reused"] += 1
            return found
    fixtures = load_fixtures(folders)
    wires = {id(i.response): _wire(i.response) for c in fixtures.cassettes for i in c.interactions if i.response.events is not None}
    found = _Loaded(fixtures, wires)
    with _loaded_lock:
        load_counts["loaded"] += 1
        _loaded[key] = found
        while len(_loaded) > _LOADED_SETS:
            _loaded.popitem(last=False)
    return found


class DroppedConnection(Exception):
    """Raised inside a streamed response to cut the connection mid-body, as a network failure would."""


class _QuietDrops(logging.Filter):
    """uvicorn logs an exception that ends a response; a fault we enacted on purpose is not one to report."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


_QUIET_DROPS = _QuietDrops()
_LOG = logging.getLogger("labs.replay")


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
        body_timeout: float = 10.0,
    ) -> None:
        current = settings()
        self.mode = mode
        self.speed = speed
        self.body_timeout = body_timeout  # seconds a request body may take to arrive in full (then a 408)
        self.fixture_dirs = tuple(fixture_dirs or current.fixture_dirs)
        self.recorder = Recorder(Path(record_dir or current.record_dir))
        self._proxy = RecordProxy(self.recorder, dict(upstreams or {}))
        loaded = _load(self.fixture_dirs)
        self._wires = loaded.wires
        self._failed_at: dict[int, float] = {}  # a recording (its id) -> when the last failure it played ended
        fixtures = loaded.fixtures
        for problem in fixtures.problems:
            _LOG.warning("Replay skips a fixture it cannot load (every other fixture is served): %s", problem)
        self.library = MatchingLibrary(fixtures.cassettes, [display_path(d) for d in self.fixture_dirs], fixtures.problems)
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
        if (refused := self._foreign(request)) is not None:
            return refused
        return JSONResponse(
            {
                "mode": self.mode,
                "speed": self.speed,
                "fixtures": len(self.library.cassettes),
                "problems": [str(problem) for problem in self.library.problems],
            }
        )

    async def _scenarios(self, request: Request) -> Response:
        if (refused := self._foreign(request)) is not None:
            return refused
        return JSONResponse(
            [{"name": c.name, "surface": c.surface, "comment": c.comment, "requests": len(c.interactions)} for c in self.library.cassettes]
        )

    async def _record_as(self, request: Request) -> Response:
        """`{"name": "lesson/scenario", "comment": "...", "surface": "openai"}`: record what follows into that fixture."""
        if (refused := self._foreign(request)) is not None:
            return refused
        content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if content_type not in _JSON_TYPES:
            return _control_error(415, "unsupported_media_type", f"/_labs/record-as takes a JSON body (Content-Type: application/json), not {content_type or 'none'!r}.")
        try:
            payload = _parse_json(await self._read_body(request))
        except _Refused as refused_body:
            return _control_error(refused_body.status, refused_body.code, refused_body.message, close=refused_body.status in (408, 413))
        name, comment, on = (payload.get(k) for k in ("name", "comment", "surface")) if isinstance(payload, dict) else (None, None, None)
        if not isinstance(payload, dict):
            problem = "the body must be a JSON object"
        elif name is not None and not isinstance(name, str):
            problem = f"`name` must be a string (a fixture name such as \"03_streamed_tool_calls/two_cities\") or null, not {type(name).__name__}"
        elif comment is not None and not isinstance(comment, str):
            problem = f"`comment` must be a string, not {type(comment).__name__}"
        elif on is not None and on not in SURFACE_NAMES:
            problem = f"`surface` must be one of {', '.join(SURFACE_NAMES)}"
        else:
            problem = ""
        if not problem:
            try:
                self.recorder.pin(name, comment or "", on or "openai")
            except ValueError as exc:
                problem = str(exc)
        if problem:
            return _control_error(400, "invalid_record_as", f"/_labs/record-as: {problem}.")
        return JSONResponse({"recording_to": name})

    def _foreign(self, request: Request) -> Response | None:
        """A 403 for a request a web page on another origin sent (the SDKs send no Origin); None for the rest."""
        origin = request.headers.get("origin")
        if origin is None or origin in (self.url, f"{self._loopback.scheme}://localhost:{self.port}"):
            return None
        return _control_error(403, "cross_origin", f"The replay server answers only its own origin ({self.url}), not {origin[:100]!r}.")

    async def _read_body(self, request: Request) -> bytes:
        """The whole body, at most MAX_BODY_BYTES, arriving within `body_timeout`; _Refused (413, 408) otherwise."""
        declared = request.headers.get("content-length", "")
        try:
            return await read_body(request.stream(), declared, MAX_BODY_BYTES, self.body_timeout)
        except BodyRefused as refused:
            if refused.reason == "declared":
                raise _Refused(413, "request_too_large", f"The request body is {refused.size:,} bytes; the replay server takes at most {MAX_BODY_BYTES:,}.") from None
            if refused.reason == "counted":
                raise _Refused(413, "request_too_large", f"The request body is over {MAX_BODY_BYTES:,} bytes, the most the replay server takes.") from None
            raise _Refused(
                408, "request_timeout", f"The request body did not arrive within {self.body_timeout:g} s ({refused.size:,} bytes came; its Content-Length said {declared or 'nothing'})."
            ) from None

    # -- the services ----------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        arrived = time.monotonic()
        if (refused := self._foreign(request)) is not None:
            return refused
        found = route(request.url.path)
        if found is None:
            return _control_error(
                404, "unknown_route", f"The replay server serves /v1/... (OpenAI) and /api/projects/<p>/... (Azure), not {request.url.path[:200]}."
            )
        on, path = found
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "api-version"]
        if query:
            path = f"{path}?{urlencode(query)}"
        try:
            raw = await self._read_body(request)
            if self.mode == "record":
                return await self._proxy.forward(request, on, path, raw, _parse_json(raw), arrived)
            body, found_match = await self._lookup(on.name, request.method, path, raw)
        except _Refused as refused_body:
            headers = {"connection": "close"} if refused_body.status in (408, 413) else None  # the rest of the body is not read
            return JSONResponse(on.error_body(refused_body.message, refused_body.code), status_code=refused_body.status, headers=headers)
        if isinstance(found_match, str):
            return JSONResponse(on.error_body(found_match, MISS_CODE), status_code=404)
        match = found_match
        response = match.interaction.response
        self._log_play(response)
        if (failed := self._failed_at.pop(id(match.cassette), None)) is not None:
            self._log_retry_wait(arrived - failed)
        if response.events is not None and asks_for_stream(body):
            return StreamingResponse(
                self._stream(response, arrived, id(match.cassette)), status_code=response.status, media_type=response.content_type, headers=response.headers
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
        if _is_failure(response):  # an error the client may retry: its wait starts now
            self._failed_at[id(match.cassette)] = time.monotonic()
        if isinstance(response.body, (dict, list)):
            return JSONResponse(response.body, status_code=response.status, headers=response.headers)
        return Response(response.body or b"", status_code=response.status, media_type=response.content_type, headers=response.headers)

    async def _lookup(self, on: SurfaceName, method: str, path: str, raw: bytes) -> tuple[Any, Match | str]:
        """The parsed body and the recording that answers it, or the explanation of the miss.

        A small body is matched on the event loop (microseconds); a large one, and every explanation (which
        compares the body with each recording of the route), in a worker thread, so other clients are served
        meanwhile.
        """
        if len(raw) <= _INLINE_BODY_BYTES:
            body = _parse_json(raw)
            found = self.library.match(on, method, path, body)
            if found is not None:
                return body, found
            return body, await anyio.to_thread.run_sync(self.library.explain, on, method, path, body)

        def lookup() -> tuple[Any, Match | str]:
            body = _parse_json(raw)
            try:
                return body, self.library.find(on, method, path, body)
            except ReplayMiss as miss:
                return body, str(miss)

        return await anyio.to_thread.run_sync(lookup)

    def _log_play(self, response: RecordedResponse) -> None:
        """With LABS_PLAY_LOG set, one line per answer played: when, its recorded seconds, the speed."""
        self._log({"at": time.time(), "recorded_s": response.duration, "speed": self.speed})

    def _log_stall(self, seconds: float) -> None:
        """And one line per stall played, when it ends: the real seconds it lasted, which is until the client gave up
        (its read timeout) if that came first, not the fixture's `stall_seconds`."""
        self._log({"at": time.time(), "speed": self.speed, "stall_s": round(seconds, 4)})

    def _log_retry_wait(self, seconds: float) -> None:
        """And one line per request that follows a failure of the same recording: the real seconds since that failure
        ended, which is the client's wait before it asked again (a Retry-After, a backoff) and its little work between."""
        self._log({"at": time.time(), "speed": self.speed, "retry_wait_s": round(seconds, 4)})

    @staticmethod
    def _log(entry: dict[str, float]) -> None:
        log = os.environ.get(PLAY_LOG_ENV)
        if log:
            with open(log, "a", encoding="utf-8") as file:  # one short write in append mode: lines from several kernels never mix
                file.write(json.dumps(entry) + "\n")

    async def _wait(self, arrived: float, offset: float) -> None:
        if self.speed > 0:
            delay = arrived + offset / self.speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
                return
        # Yield to the loop once per event even when it is already due, so a client that went away is noticed
        # (and the response cancelled) before the next send, instead of asyncio logging failed sends.
        await asyncio.sleep(0)

    def _stream(self, response: RecordedResponse, arrived: float, recording: int) -> AsyncIterator[bytes]:
        """The body of a streamed answer: `_play`; for a recorded failure, also the moment it ends (sent in full, cut,
        or given up by the client), kept under `recording`, from which the next request for it logs its wait."""
        wire = self._wires.get(id(response)) or _wire(response)
        return self._play_failure(response, wire, arrived, recording) if wire.failure else self._play(response, wire, arrived)

    async def _play_failure(self, response: RecordedResponse, wire: _Wire, arrived: float, recording: int) -> AsyncIterator[bytes]:
        try:
            async for frames in self._play(response, wire, arrived):
                yield frames
        finally:
            self._failed_at[recording] = time.monotonic()

    async def _play(self, response: RecordedResponse, wire: _Wire, arrived: float) -> AsyncIterator[bytes]:
        """Send each event at its time, those already due together; enact the fixture's fault (a drop, a stall) on the wire."""
        fault = response.fault or {}
        frames, times, count = wire.frames, wire.times, len(wire.frames)
        drop_after, stall_after = fault.get("drop_after"), fault.get("stall_after")
        # A batch never runs past a fault: the events before it go out, then the fault happens.
        stops = sorted({count, *(at for at in (drop_after, stall_after) if isinstance(at, int) and 0 <= at < count)})
        index = 0
        while index < count:
            if index == drop_after:
                raise DroppedConnection(f"fault: connection dropped after {index} events")
            if index == stall_after:
                stalled = time.monotonic()
                try:
                    await asyncio.sleep(float(fault.get("stall_seconds", 30)))  # real seconds, whatever the speed
                finally:  # also when the client hangs up mid-stall: the response is cancelled here
                    self._log_stall(time.monotonic() - stalled)
            await self._wait(arrived, times[index])
            stop = next(at for at in stops if at > index)
            end, size = index + 1, len(frames[index])
            now, speed = time.monotonic(), self.speed
            while end < stop and size < _BATCH_BYTES and (speed <= 0 or arrived + times[end] / speed <= now):
                size += len(frames[end])
                end += 1
            yield frames[index] if end == index + 1 else b"".join(frames[index:end])
            index = end
        if fault.get("drop_at_end") or drop_after == count:
            # Every event arrived, but the body never ends properly: the connection is cut instead.
            raise DroppedConnection(f"fault: connection dropped after the last of {count} events")


def _control_error(status: int, code: str, message: str, *, close: bool = False) -> Response:
    """An error of the server itself (not of a service surface): `{"error": {"message", "code"}}`.

    `close`: the rest of the request body was not read, so the connection cannot carry another request.
    """
    headers = {"connection": "close"} if close else None
    return JSONResponse({"error": {"message": message, "code": code}}, status_code=status, headers=headers)
