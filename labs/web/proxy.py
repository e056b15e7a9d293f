"""The chat page in a notebook, wherever the notebook's browser is: through Jupyter's proxy, or directly.

`IFrame(app.url)` sends the learner's browser to `127.0.0.1:PORT`, which is the kernel's machine only when
JupyterLab runs on the learner's own. In a Codespace, on Binder or on a JupyterHub the kernel is elsewhere,
and only the Jupyter server can reach the app. jupyter-server-proxy forwards `<base URL>proxy/PORT/...` to
`127.0.0.1:PORT/...` for a signed-in user, so the page can be loaded through the server the browser
already talks to (the page's own URLs are relative, so they stay under that prefix).

`frame(page)` makes the choice: through the proxy when this kernel was started by a Jupyter server (its
runtime file names it) and jupyter-server-proxy is installed, directly otherwise (nbval, a script, an
editor that runs kernels itself). Both work on a learner's laptop, so the choice need not guess where the
browser is.

The proxy forwards the browser's `Host` (`hub.example.org`, `127.0.0.1:8888`), which the app's guard
refuses (it answers only its own address, against DNS rebinding). `serve()` therefore starts the app with
a secret path in front: a request under `/<secret>/` came from someone who was shown the frame, and the app
sees it as sent to its own address (its `Origin` too, when that is the page's own). Any other request meets
the guard as before.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from IPython.display import IFrame
from starlette.types import ASGIApp, Receive, Scope, Send

from .app import WebServer, create_app

__all__ = ["JupyterServer", "PageServer", "frame", "jupyter_server", "page_url", "serve"]


@dataclass(frozen=True)
class JupyterServer:
    """The Jupyter server this kernel runs under, as its runtime file describes it."""

    url: str  # "http://127.0.0.1:8888/user/learner/", as the server sees itself
    base_url: str  # "/user/learner/": where the browser finds it, on whatever host the browser uses


def jupyter_server(environ: Mapping[str, str] = os.environ) -> JupyterServer | None:
    """The server that started this kernel (`JPY_PARENT_PID`, its `jpserver-PID.json`); None outside one."""
    pid = environ.get("JPY_PARENT_PID", "")
    if not pid.isdigit():
        return None
    from jupyter_core.paths import jupyter_runtime_dir

    try:
        info = json.loads((Path(jupyter_runtime_dir()) / f"jpserver-{pid}.json").read_text(encoding="utf-8"))
        return JupyterServer(url=str(info["url"]), base_url=str(info["base_url"]))
    except (OSError, ValueError, KeyError):  # no such server (a kernel started by pytest or an editor)
        return None


class _ThroughProxy:
    """ASGI middleware: a request under `/<secret>/` is passed on as if sent to the app's own address."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app, self.prefix = app, f"/{secret}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(f"{self.prefix}/"):
            scope = self._as_sent_here(scope)
        await self.app(scope, receive, send)

    def _as_sent_here(self, scope: Scope) -> Scope:
        here = f"127.0.0.1:{scope['server'][1]}".encode()
        sent_to = next((value for name, value in scope["headers"] if name == b"host"), b"")
        headers = []
        for name, value in scope["headers"]:
            if name == b"host":
                value = here
            elif name == b"origin" and urlsplit(value.decode("latin-1")).netloc.lower() == sent_to.decode("latin-1").lower():
                value = b"http://" + here  # the page's own origin stays its own; another site's stays another's
            headers.append((name, value))
        path = scope["path"][len(self.prefix) :]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        return {**scope, "path": path, "raw_path": raw_path[len(self.prefix) :], "headers": headers}


class PageServer(WebServer):
    """The web app served for a notebook's frame: its page at `url + path`, or through Jupyter's proxy."""

    def __init__(self, app: FastAPI, secret: str) -> None:
        super().__init__(app)
        self.path = f"/{secret}/"


def serve(app: FastAPI | None = None) -> PageServer:
    """Start the app (or `app`, before it served anything) on a free loopback port, for `frame`."""
    app = app or create_app()
    secret = secrets.token_urlsafe(16)
    app.add_middleware(_ThroughProxy, secret=secret)  # the outermost layer: before the guard sees the request
    server = PageServer(app, secret)
    server.start()
    return server


def _proxy_installed() -> bool:
    return importlib.util.find_spec("jupyter_server_proxy") is not None


def page_url(server: WebServer, environ: Mapping[str, str] = os.environ) -> str:
    """Where this notebook's browser opens the page: `<base URL>proxy/PORT/<secret>/` or the app's own URL."""
    jupyter = jupyter_server(environ)
    if isinstance(server, PageServer) and jupyter is not None and _proxy_installed():
        return f"{jupyter.base_url.rstrip('/')}/proxy/{server.port}{server.path}"
    return server.url


def frame(server: WebServer, width: str = "100%", height: int = 460) -> IFrame:
    """The page in an IFrame, at `page_url(server)`."""
    return IFrame(page_url(server), width=width, height=height)
