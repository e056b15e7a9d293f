"""What differs between the services the replay server speaks for, one module per surface behind one protocol.

Two surfaces share one server:
- `openai` (`openai.py`): `/v1/chat/completions` and `/v1/responses` (the openai SDK, openai-agents,
  semantic-kernel);
- `azure` (`azure.py`): `/api/projects/<project>/assistants|threads|runs|...` (azure-ai-agents), any
  `api-version`.

The server, the matcher, the recorder and the authoring runner ask a `Surface` instead of branching on its
name. Adding a surface is one module here, one stand-in in `labs/replay/standins/`, and one client factory.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from ..cassette import SURFACE_NAMES, RecordedEvent, SurfaceName
from . import azure, openai

__all__ = ["SURFACES", "Surface", "route", "surface"]


class Surface(Protocol):
    """One service the replay server can stand in for."""

    name: SurfaceName
    base_path: str  # where a client's base URL points below the server's URL, e.g. "/v1"
    recorded_model: str  # the model every fixture of this surface names
    upstream_variable: str  # the setting that names the live service's URL (record mode forwards there)
    credential_hint: str  # what a learner sets to reach the real service, for error messages
    ids: re.Pattern[str]  # ids the service hands out (matched as any id)

    def split(self, url_path: str) -> str | None:
        """The path below this surface's prefix, or None when the URL is not this surface's."""

    def error_body(self, message: str, code: str) -> dict[str, Any]:
        """The service's own error shape, so each SDK raises its normal exception carrying our message."""

    def starts_conversation(self, method: str, path: str, body: Any) -> bool:
        """Whether a request begins a new scenario (for grouping recorded requests into one fixture)."""

    def conversation(self, method: str, path: str, body: Any) -> str | None:
        """What names the conversation a request belongs to (a thread id, the chat so far), or None when nothing does.

        Replay keeps each conversation's place in its recording, so concurrent clients do not move each other's.
        """

    def final_object(self, path: str, events: list[RecordedEvent]) -> Any:
        """What the service returns when the same request is made without `stream`."""

    def tool_result_keys(self, item: dict[str, Any], parent_key: str) -> tuple[str, ...]:
        """Keys of a request-body mapping whose values are tool results (any value matches when replaying)."""

    def ignored_keys(self, item: dict[str, Any], parent_key: str) -> tuple[str, ...]:
        """Keys of a request-body mapping that one SDK path sends and another does not (not compared)."""

    def upstream(self, openai_base_url: str | None, project_endpoint: str | None) -> str | None:
        """The live service's URL for record mode, from the settings; None when it is not configured."""


SURFACES: dict[SurfaceName, Surface] = {"openai": openai.SURFACE, "azure": azure.SURFACE}
assert tuple(SURFACES) == SURFACE_NAMES, "labs.replay.cassette.SurfaceName and SURFACES must list the same surfaces"


def surface(name: SurfaceName) -> Surface:
    return SURFACES[name]


def route(url_path: str) -> tuple[Surface, str] | None:
    """`/v1/chat/completions` → (the openai surface, "/chat/completions"); None for a path no surface serves."""
    for candidate in SURFACES.values():
        path = candidate.split(url_path)
        if path is not None:
            return candidate, path
    return None
