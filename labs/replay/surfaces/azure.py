"""The Azure AI Agents surface: `/api/projects/<project>/assistants|threads|runs|...`, as azure-ai-agents calls it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from ..cassette import RecordedEvent

__all__ = ["PROJECT", "RECORDED_MODEL", "SURFACE", "AzureSurface"]

RECORDED_MODEL = "gpt-4o-mini"  # the deployment every Azure fixture names
PROJECT = "replay"  # the project name in the replay server's endpoint (any name is served)
_PREFIX = re.compile(r"^/api/projects/[^/]+")
_THREAD = re.compile(r"^/threads/([^/?]+)")


@dataclass(frozen=True)
class AzureSurface:
    name: Literal["azure"] = "azure"
    base_path: str = f"/api/projects/{PROJECT}"
    recorded_model: str = RECORDED_MODEL
    upstream_variable: str = "PROJECT_ENDPOINT"
    credential_hint: str = "PROJECT_ENDPOINT (and `az login`)"
    ids: re.Pattern[str] = re.compile(r"^(asst|thread|run|msg|step|call|agent|file|vs)[_-][A-Za-z0-9_-]{3,}$")

    def split(self, url_path: str) -> str | None:
        match = _PREFIX.match(url_path)
        return (url_path[match.end() :] or "/") if match else None

    def error_body(self, message: str, code: str) -> dict[str, Any]:
        return {"error": {"code": code, "message": message}}

    def starts_conversation(self, method: str, path: str, body: Any) -> bool:
        return method == "POST" and path.partition("?")[0].rstrip("/") == "/assistants"

    def conversation(self, method: str, path: str, body: Any) -> str | None:
        # The thread: in the path of every request about it, or in the body (`thread_id`) of a few.
        found = _THREAD.search(path)
        if found:
            return found.group(1)
        thread = body.get("thread_id") if isinstance(body, dict) else None
        return thread if isinstance(thread, str) and thread else None

    def final_object(self, path: str, events: list[RecordedEvent]) -> Any:
        for event in events:
            name = event.event
            if name and name.startswith("thread.run.") and not name.startswith("thread.run.step"):
                return event.json()
        raise ValueError("the recorded stream has no thread.run event")

    def tool_result_keys(self, item: dict[str, Any], parent_key: str) -> tuple[str, ...]:
        # submit_tool_outputs: {"tool_outputs": [{"tool_call_id": ..., "output": ...}]}
        return ("output",) if parent_key == "tool_outputs" else ()

    def ignored_keys(self, item: dict[str, Any], parent_key: str) -> tuple[str, ...]:
        # azure's ToolOutput model sends "type": "function_call_output"; plain dicts (the automatic path) do not.
        return ("type",) if parent_key == "tool_outputs" and item.get("type") == "function_call_output" else ()

    def upstream(self, openai_base_url: str | None, project_endpoint: str | None) -> str | None:
        return project_endpoint


SURFACE = AzureSurface()
