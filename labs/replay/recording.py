"""Record mode: the replay server as a pass-through proxy to the live service, writing what it answers.

Bytes go back to the caller as they arrive (no buffering), and each server-sent event is written to a
fixture with its arrival time. An upstream that cannot be reached is answered with a 502 in the service's
own error shape, so the SDK raises its normal error with a sentence saying what failed.

No secret reaches a file. Request headers are never written, and the only response header kept is
`retry-after`. Credentials can also travel in the query (`?api-key=`, a SAS `sig=`) and in the body
(`api_key`, `password`, ...): such fields are masked in what is stored, and every credential value the request
carried is masked wherever else it appears (an upstream error that echoes the key, say). Fixture names are
slugs made from the masked request, and a name given to `pin` must be one, so a file stays in the record folder.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from .cassette import Cassette, Interaction, RecordedEvent, RecordedRequest, RecordedResponse, SurfaceName, dump_cassette
from .sse import SSEEvent, SSEParser
from .surfaces import Surface, surface

__all__ = ["REDACTED", "Credentials", "RecordProxy", "Recorder", "is_credential_name", "slug_name"]

_HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "keep-alive"}

REDACTED = "<redacted>"  # what a fixture holds in place of a credential
# Field, parameter and header names that carry a credential, compared without case, `-` or `_`.
_CREDENTIAL_NAMES = {
    "apikey", "key", "sig", "signature", "token", "accesstoken", "refreshtoken", "idtoken", "sastoken", "password",
    "passwd", "pwd", "secret", "clientsecret", "authorization", "proxyauthorization", "auth", "cookie", "setcookie",
    "subscriptionkey", "ocpapimsubscriptionkey", "xapikey", "credential", "credentials", "privatekey", "sessiontoken",
    "securitytoken", "xamzsecuritytoken", "bearer", "openaiorganization", "openaiproject",
}  # fmt: skip
_CREDENTIAL_ENDINGS = ("apikey", "secret", "password", "accesstoken", "refreshtoken", "accesskey", "privatekey", "sessiontoken", "signature")
# In a response, `token` (a logprob's token) and `key` are ordinary fields; only names that cannot be are masked by name.
_RESPONSE_ORDINARY = {"token", "key", "sig", "signature", "auth", "credential", "credentials"}
_MIN_SECRET = 6  # shorter values are masked where they are named, not searched for everywhere (they would hit ordinary text)
_SLUG_PART = re.compile(r"[a-z0-9_-]+")
_MAX_NAME = 200


def is_credential_name(name: str) -> bool:
    """Whether a query parameter, body field or header of this name carries a credential (`api-key`, `client_secret`, ...)."""
    folded = re.sub(r"[^a-z0-9]", "", name.lower())
    return folded in _CREDENTIAL_NAMES or folded.endswith(_CREDENTIAL_ENDINGS)


class Credentials:
    """The credential values one request carried (headers, query, body), and the masking of them in what is stored."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        forms = set()
        for value in values:
            if len(value) >= _MIN_SECRET:
                forms.update({value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]})
        self._forms = sorted(forms, key=len, reverse=True)  # the longest first, so no part of one is left behind

    @classmethod
    def of_request(cls, headers: Mapping[str, str], query: str, body: Any) -> Credentials:
        values: list[str] = []
        for name, value in headers.items():
            if is_credential_name(name):
                values += _header_secrets(value)
        values += [value for name, value in parse_qsl(query, keep_blank_values=True) if is_credential_name(name)]
        values += _named_values(body)
        return cls(values)

    def scrub(self, text: str) -> str:
        """The text with every credential value, raw, URL-encoded or JSON-escaped, replaced by REDACTED."""
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def path(self, path: str) -> str:
        """A request path with its credential query parameters masked."""
        route, _, query = path.partition("?")
        params = parse_qsl(query, keep_blank_values=True)
        if any(is_credential_name(k) for k, _ in params):
            path = f"{route}?{urlencode([(k, REDACTED if is_credential_name(k) else v) for k, v in params])}"
        return self.scrub(path)

    def body(self, value: Any, *, response: bool = False) -> Any:
        """A JSON value with credential fields masked (in a response, only unmistakable ones) and credential values scrubbed."""
        if isinstance(value, dict):
            return {
                self.scrub(k): REDACTED if _masked_field(k, item, response) else self.body(item, response=response) for k, item in value.items()
            }
        if isinstance(value, list):
            return [self.body(item, response=response) for item in value]
        return self.scrub(value) if isinstance(value, str) else value


def _masked_field(name: str, value: Any, response: bool) -> bool:
    if not is_credential_name(name) or value is None or isinstance(value, bool):
        return False
    return not response or re.sub(r"[^a-z0-9]", "", name.lower()) not in _RESPONSE_ORDINARY


def _header_secrets(value: str) -> list[str]:
    """`Bearer sk-...` → the token and the whole value; `Basic dXNlcjpwdw==` → also the password; a cookie → each value."""
    found = [value.strip()]
    scheme, _, credential = value.strip().partition(" ")
    if credential:
        found.append(credential.strip())
        if scheme.lower() == "basic":
            try:
                found.append(base64.b64decode(credential, validate=True).decode("utf-8").partition(":")[2])
            except (binascii.Error, UnicodeDecodeError):
                pass
    found += [part.partition("=")[2].strip() for part in value.split(";") if "=" in part]
    return found


def _named_values(value: Any) -> list[str]:
    """Every value held by a credential field, at any depth of a JSON body (as text)."""
    found: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if is_credential_name(key) and isinstance(child, (str, int, float)) and not isinstance(child, bool):
                    found.append(str(child))
                else:
                    stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return found


_PROMPT_KEYS = {"content", "input", "text", "instructions"}


def _last_prompt(body: Any) -> str:
    """The last text a request holds under a prompt-like key (a message's `content`, the Responses API's `input`)."""
    last, stack = "", [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in _PROMPT_KEYS and isinstance(value, str) and value.strip():
                    last = value
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return last


def slug_name(name: str) -> str:
    """The name if it is a fixture name (slugs of `[a-z0-9_-]` joined by `/`); else a ValueError saying why."""
    if not isinstance(name, str) or not name:
        raise ValueError("a fixture name must be a non-empty string such as 03_streamed_tool_calls/two_cities")
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name):
        raise ValueError(f"fixture name {name[:80]!r} is an absolute path; give a name inside the record folder such as mine/first")
    if ".." in re.split(r"[/\\]", name):
        raise ValueError(f"fixture name {name[:80]!r} climbs out of the record folder with `..`")
    if len(name) > _MAX_NAME or not all(_SLUG_PART.fullmatch(part) for part in name.split("/")):
        raise ValueError(
            f"fixture name {name[:80]!r} must be at most {_MAX_NAME} characters of a-z, 0-9, `_` and `-`, in parts joined by `/` (such as mine/first)"
        )
    return name


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
        """Record what follows into the fixture `name` (a slug path such as `mine/first`); a bad name is a ValueError."""
        cassette = None if name is None else self._new(slug_name(name), on, comment)
        with self._lock:
            self._pinned = cassette

    def _new(self, name: str, on: SurfaceName, comment: str) -> Cassette:
        path = self.folder / f"{name}.yaml"
        if not path.resolve().is_relative_to(self.folder.resolve()):  # a symbolic link inside the folder pointing out of it
            raise ValueError(f"fixture name {name!r} leads out of the record folder")
        return Cassette(
            name=name,
            surface=on,
            comment=comment or f"Recorded {date.today().isoformat()}. Say here what is special about this scenario.",
            path=path,
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
                    cassette = self._new(self.fresh_name(on, req.body), on, "")
                    self._current[on] = cassette
            cassette.interactions.append(interaction)
            assert cassette.path is not None
            dump_cassette(cassette, cassette.path)
            return cassette.path

    def fresh_name(self, on: SurfaceName, body: Any) -> str:
        """A slug of the last words of the (already masked) request's prompt, or of the end of its body; unused in the folder."""
        text = _last_prompt(body) or (json.dumps(body, ensure_ascii=False)[-200:] if body is not None else on)
        slug = "-".join(part[:40] for part in re.findall(r"[a-z0-9]+", text.lower().replace(REDACTED, " "))[-6:]) or on
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
        secrets = Credentials.of_request(request.headers, request.url.query, body)
        headers["accept-encoding"] = "identity"
        sent = self._http.build_request(request.method, url, headers=headers, content=raw)
        try:
            upstream_response = await self._http.send(sent, stream=True)
        except httpx.HTTPError as exc:
            where = httpx.URL(upstream).copy_with(query=None, fragment=None)  # never echo a query string: it may hold a key
            message = secrets.scrub(f"LABS_MODE=record could not reach the {on.name} service at {where} ({type(exc).__name__}). Check the URL in .env and your network.")
            return JSONResponse(on.error_body(message, "record_upstream_unreachable"), status_code=502)
        content_type = upstream_response.headers.get("content-type", "application/json")
        recorded = RecordedResponse(status=upstream_response.status_code, content_type=content_type.split(";")[0].strip())
        if "retry-after" in upstream_response.headers:  # the one response header worth keeping; never auth or cookies
            recorded.headers["retry-after"] = secrets.scrub(upstream_response.headers["retry-after"])
        interaction = Interaction(RecordedRequest(method=request.method, path=secrets.path(path), body=secrets.body(body)), recorded)
        if "text/event-stream" in content_type:
            recorded.events = []
            return StreamingResponse(
                self._relay(upstream_response, recorded.events, arrived, on.name, interaction, secrets),
                status_code=upstream_response.status_code,
                media_type=content_type,
            )
        data = await upstream_response.aread()
        await upstream_response.aclose()
        recorded.t = time.monotonic() - arrived
        try:
            recorded.body = secrets.body(json.loads(data) if data else None, response=True)
        except (ValueError, RecursionError):
            recorded.body = secrets.scrub(data.decode("utf-8", errors="replace"))
        self.recorder.add(on.name, interaction)
        return Response(data, status_code=upstream_response.status_code, media_type=content_type, headers=recorded.headers)

    async def _relay(
        self, upstream: httpx.Response, events: list[RecordedEvent], arrived: float, on: SurfaceName, interaction: Interaction, secrets: Credentials
    ) -> AsyncIterator[bytes]:
        parser = SSEParser()

        def stored(event: SSEEvent, now: float) -> RecordedEvent:
            name, event_id = (None if v is None else secrets.scrub(v) for v in (event.event, event.id))
            return RecordedEvent(t=now, data=secrets.scrub(event.data), event=name, id=event_id)

        try:
            async for chunk in upstream.aiter_raw():
                now = time.monotonic() - arrived
                events.extend(stored(e, now) for e in parser.feed(chunk))
                yield chunk
            now = time.monotonic() - arrived
            events.extend(stored(e, now) for e in parser.flush())
        finally:
            await upstream.aclose()
            self.recorder.add(on, interaction)
