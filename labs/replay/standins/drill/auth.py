"""The drill services check credentials as the live ones do: no valid bearer token, no answer.

So a live run proves its credential reached the service: the OpenAI key from `OPENAI_API_KEY`, and for
Azure the token `DefaultAzureCredential` fetched from the managed-identity endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BearerGate"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BearerGate:
    """ASGI middleware: below `prefix`, answer `error(received)` unless the request carries `Bearer <token>`."""

    def __init__(self, app: ASGIApp, prefix: str, token: str, error: Callable[[str], tuple[int, dict[str, Any]]]) -> None:
        self.app, self.prefix, self.token, self.error = app, prefix, token, error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        scheme, _, received = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and received == self.token:
            await self.app(scope, receive, send)
            return
        status, body = self.error(received)
        data = json.dumps(body).encode()
        extra = [(b"www-authenticate", b'Bearer realm="drill"')] if status == 401 else []
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), *extra]})
        await send({"type": "http.response.body", "body": data})
