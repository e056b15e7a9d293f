"""What differs between the services the replay server speaks for: URL layout, error shape, final objects.

Two surfaces share one server:
- `openai`: `/v1/chat/completions` and `/v1/responses` (the openai SDK, openai-agents, semantic-kernel);
- `azure`: `/api/projects/<project>/assistants|threads|runs|...` (azure-ai-agents), any `api-version`.
"""

from __future__ import annotations

import re
from typing import Any

from .cassette import RecordedEvent, Surface

__all__ = [
    "error_body",
    "final_object",
    "split_route",
    "starts_conversation",
]

_AZURE_PREFIX = re.compile(r"^/api/projects/[^/]+")


def split_route(url_path: str) -> tuple[Surface, str] | None:
    """`/v1/chat/completions` → ("openai", "/chat/completions"); None for a path no surface serves."""
    if url_path == "/v1" or url_path.startswith("/v1/"):
        return "openai", url_path[3:] or "/"
    match = _AZURE_PREFIX.match(url_path)
    if match:
        return "azure", url_path[match.end() :] or "/"
    return None


def error_body(surface: Surface, message: str, code: str) -> dict[str, Any]:
    """The service's own error shape, so each SDK raises its normal exception carrying our message."""
    if surface == "openai":
        return {"error": {"message": message, "type": code, "param": None, "code": code}}
    return {"error": {"code": code, "message": message}}


def starts_conversation(surface: Surface, method: str, path: str, body: Any) -> bool:
    """Whether a request begins a new scenario (for grouping recorded requests into one fixture)."""
    path = path.partition("?")[0]
    if surface == "azure":
        return method == "POST" and path.rstrip("/") == "/assistants"
    if not isinstance(body, dict):
        return True
    if path.endswith("/chat/completions"):
        return not any(m.get("role") in ("assistant", "tool") for m in body.get("messages", []) if isinstance(m, dict))
    if path.endswith("/responses"):
        items = body.get("input")
        if body.get("previous_response_id") or not isinstance(items, list):
            return not body.get("previous_response_id")
        return not any(
            isinstance(i, dict) and (i.get("role") == "assistant" or i.get("type") in ("function_call", "function_call_output", "message"))
            and i.get("role") != "user"
            for i in items
        )
    return True


def final_object(surface: Surface, path: str, events: list[RecordedEvent]) -> Any:
    """What the service returns when the same request is made without `stream`."""
    path = path.partition("?")[0]
    if surface == "openai" and path.endswith("/chat/completions"):
        return _chat_completion_from_chunks([e.json() for e in events if isinstance(e.json(), dict)])
    if surface == "openai" and path.endswith("/responses"):
        for event in reversed(events):
            data = event.json()
            if isinstance(data, dict) and data.get("type") in ("response.completed", "response.incomplete", "response.failed"):
                return data["response"]
        raise ValueError("the recorded stream has no response.completed event")
    if surface == "azure":
        for event in events:
            name = event.event or ""
            if name.startswith("thread.run.") and not name.startswith("thread.run.step"):
                return event.json()
        raise ValueError("the recorded stream has no thread.run event")
    raise ValueError(f"no final object is known for {path}")


def _chat_completion_from_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    first = chunks[0]
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices", []):
            slot = choices.setdefault(
                choice["index"],
                {"index": choice["index"], "message": {"role": "assistant", "content": None, "refusal": None, "annotations": []}, "logprobs": None, "finish_reason": None},
            )
            delta, message = choice.get("delta") or {}, slot["message"]
            for key in ("content", "refusal"):
                if delta.get(key):
                    message[key] = (message[key] or "") + delta[key]
            for call in delta.get("tool_calls") or []:
                calls = message.setdefault("tool_calls", [])
                while len(calls) <= call["index"]:
                    calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
                target = calls[call["index"]]
                target["id"] = call.get("id") or target["id"]
                function = call.get("function") or {}
                target["function"]["name"] += function.get("name") or ""
                target["function"]["arguments"] += function.get("arguments") or ""
            slot["finish_reason"] = choice.get("finish_reason") or slot["finish_reason"]
    return {
        "id": first["id"],
        "object": "chat.completion",
        "created": first["created"],
        "model": first["model"],
        "system_fingerprint": first.get("system_fingerprint"),
        "service_tier": first.get("service_tier"),
        "choices": [choices[i] for i in sorted(choices)],
        "usage": usage,
    }
