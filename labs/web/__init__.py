"""The streaming chat web app: `python -m labs.web [--port N]`, or `labs.web.serve()` inside a notebook.

A page (`static/`, no build step) streams answers from one of four backends over Server-Sent Events.
`labs.web.backends` turns each SDK's stream into typed events, `labs.web.events` frames them, and
`labs.web.app` relays them to the browser (see its docstring for what the relay must get right);
`labs.web.guard` refuses other host names, other sites' pages and oversized bodies before any of it runs.
"""

from .app import MAX_MESSAGE_CHARS, WebServer, create_app, serve

__all__ = ["MAX_MESSAGE_CHARS", "WebServer", "create_app", "serve"]
