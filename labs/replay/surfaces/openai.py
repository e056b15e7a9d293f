"""The OpenAI surface: `/v1/chat/completions` and `/v1/responses`, as the openai SDK, openai-agents and semantic-kernel call them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from ..cassette import RecordedEvent

__all__ = ["RECORDED_MODEL", "SURFACE", "OpenAISurface"]

RECORDED_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class OpenAISurface:
    name: Literal["openai"] = "openai"
    base_path: str = "/v1"
    recorded_model: str = RECORDED_MODEL
    upstream_variable: str = "OPENAI_BASE_URL"
    credential_hint: str = "your key"
    ids: re.Pattern[str] = re.compile(r"^(call|resp|fc|chatcmpl|rs|msg|item|ws|file|vs)[_-][A-Za-z0-9_-]{3,}$")

    def split(self, url_path: str) -> str | None:
        if url_path == self.base_path or url_path.startswith(self.base_path + "/"):
            return url_path[len(self.base_path) :] or "/"
        return None

    def error_body(self, message: str, code: str) -> dict[str, Any]:
        return {"error": {"message": message, "type": code, "param": None, "code": code}}

    def starts_conversation(self, method: str, path: str, body: Any) -> bool:
        path = path.partition("?")[0]
        if not isinstance(body, dict):
            return True
        if path.endswith("/chat/completions"):
            return not any(m.get("role") in ("assistant", "tool") for m in body.get("messages", []) if isinstance(m, dict))
        if path.endswith("/responses"):
            items = body.get("input")
            if body.get("previous_response_id") or not isinstance(items, list):
                return not body.get("previous_response_id")
            return not any(
                isinstance(i, dict) and (i.get("role") == "assistant" or i.get("type") in ("function_call", "function_call_output"))
                for i in items
            )
        return True

    def conversation(self, method: str, path: str, body: Any) -> str | None:
        # A Responses chain names the answer it follows; otherwise the conversation is the chat so far, up to
        # the last thing the user said (the tool rounds that follow it belong to the same turn).
        if not isinstance(body, dict):
            return None
        previous = body.get("previous_response_id") or body.get("conversation")
        if isinstance(previous, str):
            return previous
        items = body.get("messages") if path.partition("?")[0].endswith("/chat/completions") else body.get("input")
        if isinstance(items, str):
            return json.dumps([body.get("instructions"), items])
        if not isinstance(items, list):
            return None
        users = [i for i, item in enumerate(items) if isinstance(item, dict) and item.get("role") == "user"]
        if not users:
            return None
        return json.dumps([body.get("instructions"), items[: users[-1] + 1]], sort_keys=True)

    def final_object(self, path: str, events: list[RecordedEvent]) -> Any:
        path = path.partition("?")[0]
        if path.endswith("/chat/completions"):
            return _chat_completion_from_chunks([data for e in events if isinstance(data := e.json(), dict)])
        if path.endswith("/responses"):
            for event in reversed(events):
                data = event.json()
                if isinstance(data, dict) and data.get("type") in ("response.completed", "response.incomplete", "response.failed"):
                    return data["response"]
            raise ValueError("the recorded stream has no response.completed event")
        raise ValueError(f"no final object is known for {path}")

    def tool_result_keys(self, item: dict[str, Any], parent_key: str) -> tuple[str, ...]:
        if item.get("role") == "tool":  # Chat Completions: {"role": "tool", "tool_call_id": ..., "content": ...}
            return ("content",)
        if item.get("type") == "function_call_output":  # Responses: {"type": "function_call_output", "output": ...}
            return ("output",)
        return ()

    def ignored_keys(self, item: dict[str, Any], parent_key: str) -> tuple[str, ...]:
        return ()

    def upstream(self, openai_base_url: str | None, project_endpoint: str | None) -> str | None:
        return openai_base_url or "https://api.openai.com/v1"


SURFACE = OpenAISurface()


def _chat_completion_from_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    first = chunks[0]
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for chunk in chunks:
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices", []):
            slot = choices.setdefault(
                choice["index"],
                {
                    "index": choice["index"],
                    "message": {"role": "assistant", "content": None, "refusal": None, "annotations": []},
                    "logprobs": None,
                    "finish_reason": None,
                },
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
