"""`python -m labs.replay import BODY --request REQUEST.json --out FOLDER`: a captured stream as a fixture.

An instructor who captured a real answer, with `curl -N` (the raw event stream) or as a HAR file exported from
a browser's developer tools (which holds its requests too), turns it into a fixture the replay server plays
(`LABS_FIXTURES=FOLDER`). The surface is read from the stream itself (`wire_schema.detect_api`): a Chat
Completions chunk, a `response.*` event, an Azure `thread.*` event. The events are kept as the exact text
captured, so replay sends the same bytes.

Timing: a HAR file knows when the first byte came and when the body ended, so the first event is put at the
first byte, the last at the end, the others evenly between (a HAR keeps no per-event time). A raw capture
knows nothing of time, so the events get the stand-ins' calibrated pace (`standins.base.FIRST_TOKEN`,
`TOKEN_GAP`, `standins.azure.FIRST_STEP`). The fixture's comment says which.

Secrets are dropped as record mode drops them, with its own code (`recording.Credentials`): no request header
is stored, credential fields of the query and body are masked, and every credential value the request carried
is masked wherever else it appears. The fixture is named as record mode names one, a slug of the prompt
(`Recorder.fresh_name`), unless `--name` gives a slug.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .cassette import Interaction, RecordedEvent, RecordedRequest, RecordedResponse, SurfaceName
from .recording import Credentials, Recorder
from .sse import SSEEvent, SSEParser, encode_event
from .standins.azure import AFTER_SUBMISSION, FIRST_STEP
from .standins.base import FIRST_TOKEN, TOKEN_GAP
from .wire_schema import Api, api_of_path, detect_api

__all__ = ["Exchange", "CaptureError", "import_capture", "read_exchanges"]

_ON: dict[Api, SurfaceName] = {"chat.completions": "openai", "responses": "openai", "azure.agents": "azure"}
_PATHS: dict[Api, str] = {"chat.completions": "/chat/completions", "responses": "/responses"}
_BOOKKEEPING_GAP = 0.01  # seconds between the Azure service's own events before a step (they come within ms)


class CaptureError(ValueError):
    """A capture or request that cannot become a fixture, with a sentence saying why and what to give instead."""


@dataclass
class Exchange:
    """One captured request and its answer, before anything is stored."""

    method: str
    path: str  # below the surface's base path, query included
    body: Any
    response: bytes
    status: int = 200
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)  # request headers: read for credentials, never stored
    retry_after: str | None = None
    timing: tuple[float, float] | None = None  # first byte and end, seconds after the request was sent

    @property
    def events(self) -> list[SSEEvent]:
        parser = SSEParser()
        return parser.feed(self.response) + parser.flush()


def _relative(url: str) -> str:
    """A URL's path below its surface's base (`/v1`, `/api/projects/<p>`), with its query."""
    parts = urlsplit(url)
    path, query = parts.path, f"?{parts.query}" if parts.query else ""
    segments = path.split("/")
    if "projects" in segments and segments.index("projects") + 2 <= len(segments):
        cut = segments.index("projects") + 2
        return "/" + "/".join(segments[cut:]) + query
    for suffix in ("/chat/completions", "/responses"):
        if path.endswith(suffix):
            return suffix + query
    if "/v1/" in path:
        return "/" + path.split("/v1/", 1)[1] + query
    raise CaptureError(f"the HAR entry {url[:120]!r} is not a call to an OpenAI or Azure AI Agents endpoint")


def _har_text(content: dict[str, Any]) -> bytes:
    text = content.get("text") or ""
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise CaptureError("a HAR response body says it is base64 but is not") from exc
    return text.encode("utf-8")


def _har_timing(entry: dict[str, Any]) -> tuple[float, float] | None:
    timings = entry.get("timings") or {}
    send, wait, receive = (timings.get(k) for k in ("send", "wait", "receive"))
    if not all(isinstance(v, (int, float)) and v >= 0 for v in (wait, receive)):
        return None
    first = ((send if isinstance(send, (int, float)) and send > 0 else 0) + wait) / 1000
    return first, first + receive / 1000


def _from_har(har: dict[str, Any]) -> list[Exchange]:
    exchanges = []
    for entry in (har.get("log") or {}).get("entries") or []:
        request, response = entry.get("request") or {}, entry.get("response") or {}
        url, method = str(request.get("url", "")), str(request.get("method", "GET")).upper()
        if method == "OPTIONS":
            continue  # a browser's CORS preflight: not what the SDK sent
        try:
            path = _relative(url)
        except CaptureError:
            continue  # pages, scripts, analytics: everything else the browser fetched
        text = (request.get("postData") or {}).get("text")
        try:
            body = json.loads(text) if text else None
        except ValueError as exc:
            raise CaptureError(f"the HAR request to {path} has a body that is not JSON") from exc
        headers = {h.get("name", ""): h.get("value", "") for h in request.get("headers") or []}
        answered = {h.get("name", "").lower(): h.get("value", "") for h in response.get("headers") or []}
        content = response.get("content") or {}
        exchanges.append(
            Exchange(
                method=method,
                path=path,
                body=body,
                response=_har_text(content),
                status=int(response.get("status") or 200),
                content_type=str(content.get("mimeType") or answered.get("content-type") or "application/json").split(";")[0].strip(),
                headers=headers,
                retry_after=answered.get("retry-after"),
                timing=_har_timing(entry),
            )
        )
    if not exchanges:
        raise CaptureError("the HAR file holds no call to /chat/completions, /responses or an Azure AI Agents project")
    return exchanges


def _from_raw(raw: bytes, request: Any) -> Exchange:
    if isinstance(request, dict) and {"method", "path"} <= set(request):
        method, path, body = str(request["method"]).upper(), str(request["path"]), request.get("body")
    else:
        method, path, body = "POST", None, request
    exchange = Exchange(method=method, path=path or "", body=body, response=raw)
    api = detect_api(exchange.events)
    if api is None:
        raise CaptureError("the body is not a stream from Chat Completions, the Responses API or Azure AI Agents (no event of theirs in it)")
    if path is None:
        if api not in _PATHS:
            raise CaptureError(
                'an Azure run does not say its path: give --request a JSON file {"method": "POST", "path": "/threads/<id>/runs", "body": {...}}'
            )
        exchange.path = _PATHS[api]
    return exchange


def read_exchanges(body: Path, request: Path | None) -> tuple[list[Exchange], str]:
    """The exchanges a capture holds, and what kind of capture it is (`HAR file` or `raw SSE`)."""
    raw = Path(body).read_bytes()
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        document = None
    if isinstance(document, dict) and "log" in document:
        return _from_har(document), "a HAR file"
    if request is None:
        raise CaptureError("a raw capture does not hold its request: give --request REQUEST.json (the JSON body the client sent)")
    try:
        asked = json.loads(Path(request).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise CaptureError(f"--request {Path(request).name} is not JSON") from exc
    return [_from_raw(raw, asked)], "raw SSE as curl -N prints it"


def _paced(api: Api | None, path: str, events: list[SSEEvent]) -> list[float]:
    """Synthesized arrival times: the calibrated pace of the stand-ins, with no jitter."""
    if api != "azure.agents":
        return [round(FIRST_TOKEN + i * TOKEN_GAP, 4) for i in range(len(events))]
    times, now, waited = [], 0.0, False
    for event in events:
        if not waited and (event.event or "").startswith("thread.run.step.created"):
            now += AFTER_SUBMISSION if path.partition("?")[0].endswith("/submit_tool_outputs") else FIRST_STEP
            waited = True
        else:
            now += _BOOKKEEPING_GAP if not waited else TOKEN_GAP
        times.append(round(now, 4))
    return times


def _interaction(exchange: Exchange) -> tuple[Interaction, str, bool]:
    """The exchange as a stored interaction (secrets masked), how its timing was found, whether bytes survive re-framing."""
    query = exchange.path.partition("?")[2]
    secrets = Credentials.of_request(exchange.headers, query, exchange.body)
    request = RecordedRequest(method=exchange.method, path=secrets.path(exchange.path), body=secrets.body(exchange.body))
    response = RecordedResponse(status=exchange.status, content_type=exchange.content_type)
    if exchange.retry_after is not None:
        response.headers["retry-after"] = secrets.scrub(exchange.retry_after)
    events = exchange.events
    if events and "json" not in exchange.content_type:
        api = detect_api(events) or api_of_path(exchange.path)
        if exchange.timing is not None:
            first, end = exchange.timing
            step = (end - first) / max(1, len(events) - 1)
            times, how = [round(first + i * step, 4) for i in range(len(events))], "timed"
        else:
            times, how = _paced(api, exchange.path, events), "paced"
        response.content_type = "text/event-stream"
        response.events = [
            RecordedEvent(t=t, data=secrets.scrub(e.data), event=None if e.event is None else secrets.scrub(e.event), id=None if e.id is None else secrets.scrub(e.id))
            for t, e in zip(times, events)
        ]
        same = b"".join(encode_event(e) for e in events) == exchange.response
        return Interaction(request, response), how, same
    text = exchange.response.decode("utf-8", errors="replace")
    try:
        response.body = secrets.body(json.loads(text) if text.strip() else None, response=True)
    except ValueError:
        response.body = secrets.scrub(text)
    if exchange.timing is not None:
        response.t = round(exchange.timing[1], 4)
    return Interaction(request, response), "timed" if exchange.timing is not None else "paced", True


def _surface(exchanges: list[Exchange]) -> SurfaceName:
    found = set()
    for exchange in exchanges:
        api = detect_api(exchange.events) or api_of_path(exchange.path)
        if api is not None:
            found.add(_ON[api])
    if len(found) != 1:
        raise CaptureError(f"a fixture speaks one surface; this capture holds {' and '.join(sorted(found)) or 'none I know'}")
    return found.pop()


def _comment(source: str, kind: str, on: SurfaceName, interactions: list[Interaction], hows: set[str], reframed: bool) -> str:
    streams = [i for i in interactions if i.response.events is not None]
    events = sum(len(i.response.events or []) for i in streams)
    what = f"{len(interactions)} request(s), {len(streams)} streamed ({events} events), surface {on}"
    if hows == {"timed"}:
        timing = "Timing from the capture: each answer's first event at its first byte, the last at its end, the others evenly between (a HAR keeps no per-event time)."
    elif hows == {"paced"}:
        pace = (
            f"the first step {FIRST_STEP} s after the run starts ({AFTER_SUBMISSION} s after a tool-output submission), then {TOKEN_GAP} s apart"
            if on == "azure"
            else f"the first event after {FIRST_TOKEN} s, then {TOKEN_GAP} s apart"
        )
        timing = f"The capture holds no timing: events are paced as the stand-ins are calibrated ({pace}; labs/fixtures/README.md)."
    else:
        timing = "Timing from the capture where it had any, else the stand-ins' calibrated pace."
    framing = "" if not reframed else " The capture's line ends or data lines were not the service's LF framing: replay sends them as LF."
    return (
        f"Imported on {date.today().isoformat()} from {source} ({kind}) with python -m labs.replay import: {what}. {timing}{framing} "
        "Say here what is special about this scenario."
    )


def import_capture(body: Path, out: Path, request: Path | None = None, name: str | None = None, comment: str | None = None) -> Path:
    """Write the capture at `body` (raw SSE with `request`, or a HAR file) as one fixture in `out`; return its path."""
    exchanges, kind = read_exchanges(body, request)
    on = _surface(exchanges)
    built = [_interaction(e) for e in exchanges]
    interactions = [interaction for interaction, _, _ in built]
    recorder = Recorder(Path(out))
    fixture = name or recorder.fresh_name(on, interactions[0].request.body)
    note = comment or _comment(Path(body).name, kind, on, interactions, {how for _, how, _ in built}, not all(same for _, _, same in built))
    recorder.pin(fixture, note, on)
    written = Path(out)
    for interaction in interactions:
        written = recorder.add(on, interaction)
    return written
