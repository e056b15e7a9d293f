"""The drill OpenAI service: Chat Completions and Responses answered by the drill's model, in the live wire format.

It is the authoring stand-in with `next_reply` computed from the request (see `model.py`) and the live
service's habits on the wire, taken from real recordings (`shared/wire-samples/`): a dated model snapshot,
`service_tier`, `"usage": null` on every chunk when usage is asked for, `obfuscation` padding on chunks and
deltas (unless `stream_options.include_obfuscation` is false), a `reasoning` item at output_index 0 of every
Responses answer with its tokens in usage, `response.incomplete` at `max_output_tokens`, `n` choices
interleaved, and a pace of its own. It refuses what the service refuses: a wrong API key (401), no model,
no messages or input, and tool results that answer no tool call (400).
"""

from __future__ import annotations

import random
import time
from typing import Any

from ..base import Reply
from ..openai import OpenAIStandIn
from .model import Conversation, DrillModel, DrillReply, FunctionSpec, ToolResult, digest
from .auth import BearerGate

__all__ = ["DrillOpenAI", "chat_conversation", "responses_conversation"]

_SNAPSHOTS = {"gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06", "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14", "gpt-5": "gpt-5-2025-08-07"}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _text(content: Any) -> str:
    """The text of a message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p)
    return ""


def _forced(choice: Any) -> tuple[str, str | None]:
    if isinstance(choice, dict):
        name = choice.get("name") or (choice.get("function") or {}).get("name")
        return ("required", name) if name else ("auto", None)
    return (choice if choice in ("auto", "none", "required") else "auto"), None


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> Reply:
    return Reply(status=status, error={"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})


def _output_schema(response_format: dict[str, Any]) -> dict[str, Any] | None:
    """The schema a Chat Completions `response_format` asks the text to follow (json_object: any object)."""
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {"type": "object"}
    if response_format.get("type") == "json_object":
        return {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    return None


def chat_conversation(body: dict[str, Any]) -> Conversation | Reply:
    """What the model reads from a Chat Completions body, or the 400 the service answers to it."""
    messages = body.get("messages")
    if not body.get("model"):
        return _error(400, "you must provide a model parameter", "model")
    if not isinstance(messages, list) or not messages:
        return _error(400, "[] is too short - 'messages'", "messages", "empty_array")
    calls: dict[str, dict[str, Any]] = {}
    waiting: list[str] = []
    last_user, results = -1, []
    for i, message in enumerate(messages):
        role = message.get("role")
        if role != "tool" and waiting:
            return _error(400, "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. "
                          f"The following tool_call_ids did not have response messages: {', '.join(waiting)}", f"messages.[{i}].role")  # fmt: skip
        if role == "assistant":
            waiting = [c["id"] for c in message.get("tool_calls") or []]
            calls.update({c["id"]: c.get("function", {}) for c in message.get("tool_calls") or []})
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in waiting:
                return _error(400, "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", f"messages.[{i}].role")
            waiting.remove(call_id)
            results.append(ToolResult(calls[call_id].get("name", ""), calls[call_id].get("arguments", ""), _text(message.get("content"))))
        elif role == "user":
            last_user, results = i, []
    tools = [FunctionSpec(f["name"], f.get("description", ""), f.get("parameters") or {}) for t in body.get("tools") or [] if (f := t.get("function"))]
    choice, forced = _forced(body.get("tool_choice"))
    if forced is not None and forced not in {t.name for t in tools}:
        return _error(400, f"Invalid value for 'tool_choice': function '{forced}' is not among the tools.", "tool_choice")
    return Conversation(
        key=digest("chat", {k: v for k, v in body.items() if k not in ("stream", "stream_options")}),
        instructions=" ".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer")),
        question=_text(messages[last_user].get("content")) if last_user >= 0 else "",
        tools=tools,
        results=results,
        tool_choice=choice,
        forced=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        max_tokens=body.get("max_completion_tokens") or body.get("max_tokens"),
        json_schema=_output_schema(body.get("response_format") or {}),
        temperature=body.get("temperature"),
    )


def responses_conversation(body: dict[str, Any]) -> Conversation | Reply:
    """What the model reads from a Responses body, or the 400 the service answers to it."""
    if not body.get("model"):
        return _error(400, "Missing required parameter: 'model'.", "model", "missing_required_parameter")
    items = body.get("input")
    if items is None or items == "" or items == []:
        return _error(400, "Missing required parameter: 'input'.", "input", "missing_required_parameter")
    items = [{"role": "user", "content": items}] if isinstance(items, str) else items
    calls = {i.get("call_id"): i for i in items if i.get("type") == "function_call"}
    instructions, question, results = [body.get("instructions") or ""], "", list[ToolResult]()
    for item in items:
        kind, role = item.get("type", "message"), item.get("role")
        if kind == "message" and role in ("system", "developer"):
            instructions.append(_text(item.get("content")))
        elif kind == "message" and role == "user":
            question, results = _text(item.get("content")), []
        elif kind == "function_call_output":
            call = calls.get(item.get("call_id"))
            if call is None and not body.get("previous_response_id"):
                return _error(400, f"No tool call found for function call output with call_id {item.get('call_id')}.", "input")
            output = item.get("output")
            results.append(ToolResult((call or {}).get("name", ""), (call or {}).get("arguments", ""), output if isinstance(output, str) else _text(output)))
    tools = [FunctionSpec(t["name"], t.get("description") or "", t.get("parameters") or {}) for t in body.get("tools") or [] if t.get("type") == "function"]
    choice, forced = _forced(body.get("tool_choice"))
    if forced is not None and forced not in {t.name for t in tools}:
        return _error(400, f"Tool choice '{forced}' not found in 'tools' parameter.", "tool_choice")
    text_format = (body.get("text") or {}).get("format") or {}
    return Conversation(
        key=digest("responses", {k: v for k, v in body.items() if k not in ("stream", "stream_options")}),
        instructions=" ".join(i for i in instructions if i),
        question=question,
        tools=tools,
        results=results,
        tool_choice=choice,
        forced=forced,
        parallel_tool_calls=body.get("parallel_tool_calls") is not False,
        max_tokens=body.get("max_output_tokens"),
        json_schema=text_format.get("schema") if text_format.get("type") == "json_schema" else None,
        temperature=body.get("temperature"),
    )


class DrillOpenAI(OpenAIStandIn):
    """A loopback OpenAI service that answers any well-formed Chat Completions or Responses request itself."""

    system_fingerprint = "fp_7c2e1d9a4b"

    def __init__(self, seed: int = 2026, pace: float = 1.0, api_key: str = "drill-dummy-credential") -> None:
        super().__init__(seed=seed)
        self.model = DrillModel(seed)
        self.pace = pace  # 1: the drill's own pace in real seconds; 0: no waiting at all
        self.api_key = api_key
        self.app.add_middleware(BearerGate, prefix="/v1/", token=api_key, error=self._unauthorised)

    @staticmethod
    def _unauthorised(received: str) -> tuple[int, dict[str, Any]]:
        if not received:
            message, code = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.", None
        else:
            message, code = f"Incorrect API key provided: {received[:3]}{'*' * max(0, len(received) - 7)}{received[-4:]}.", "invalid_api_key"
        return 401, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}

    def next_reply(self, request: dict[str, Any]) -> Reply:
        """The model's answer to a Chat Completions body (it has `messages`) or a Responses body."""
        chat = "messages" in request
        conversation = chat_conversation(request) if chat else responses_conversation(request)
        if isinstance(conversation, Reply):
            return conversation
        count = max(1, int(request.get("n") or 1)) if chat else 1
        replies = [self.model.answer(conversation, choice=i, reasoning=not chat, pace=self.pace) for i in range(count)]
        reply = replies[0]
        reply.more_choices = list(replies[1:])
        options = request.get("stream_options") or {}
        reply.created = int(time.time())
        reply.wire = {
            "usage_on_every_chunk": bool(options.get("include_usage")),
            "obfuscate": options.get("include_obfuscation", True) is not False,
            "effort": (request.get("reasoning") or {}).get("effort") or "medium",
            "max_tool_calls": request.get("max_tool_calls"),
        }
        return reply

    def _reply_rng(self, reply: Reply) -> random.Random:
        return random.Random(f"ids:{reply.key}") if isinstance(reply, DrillReply) else super()._reply_rng(reply)

    def _model(self, body: dict[str, Any]) -> str:
        requested = str(body.get("model") or "")
        return _SNAPSHOTS.get(requested, requested)

    def _delays(self, count: int, reply: Reply, rng: random.Random) -> list[float]:
        return reply.pace.delays(count) if isinstance(reply, DrillReply) and reply.pace else super()._delays(count, reply, rng)

    def _blocking_wait(self, count: int, reply: Reply) -> float:
        return sum(reply.pace.delays(count)) if isinstance(reply, DrillReply) and reply.pace else super()._blocking_wait(count, reply)

    def _thinking(self, reply: Reply) -> float:
        return 0.0  # the drill's pace already holds the whole wait

    def _decorate(self, payload: dict[str, Any], reply: Reply) -> dict[str, Any]:
        if not isinstance(reply, DrillReply):
            return payload
        if payload.get("object") in ("chat.completion.chunk", "chat.completion"):
            head = ("id", "object", "created", "model")  # then service_tier, as the service orders them
            out = {**{k: payload[k] for k in head}, "created": reply.created, "service_tier": "default", **{k: v for k, v in payload.items() if k not in head}}
            if out["object"] == "chat.completion.chunk":
                if reply.wire.get("usage_on_every_chunk"):
                    out.setdefault("usage", None)
                if reply.wire.get("obfuscate"):
                    out["obfuscation"] = self._padding(reply, len(str(out["choices"])))
            return out
        if payload.get("object") == "response":
            return self._response(payload, reply)
        out = dict(payload)
        if out.get("type") == "response.function_call_arguments.done":
            out.pop("name", None)  # the live service names the function in output_item events only
        if "response" in out:
            out["response"] = self._response(out["response"], reply)
        if out.get("type", "").endswith(".delta") and reply.wire.get("obfuscate"):
            out["obfuscation"] = self._padding(reply, len(out.get("delta", "")))
        return out

    @staticmethod
    def _response(response: dict[str, Any], reply: DrillReply) -> dict[str, Any]:
        """The Response object with the fields a reasoning model's answer carries."""
        done = response.get("status") != "in_progress"
        extra = {"max_tool_calls": reply.wire.get("max_tool_calls"), "prompt_cache_key": None, "safety_identifier": None, "top_logprobs": 0}
        text = {**(response.get("text") or {"format": {"type": "text"}}), "verbosity": "medium"}
        return {
            **response,
            "created_at": reply.created,
            "reasoning": {"effort": reply.wire.get("effort", "medium"), "summary": None},
            "service_tier": "default" if done else "auto",
            "text": text,
            **extra,
        }

    @staticmethod
    def _padding(reply: DrillReply, size: int) -> str:
        """Random padding that evens out frame sizes, as the service's `obfuscation` field does."""
        return "".join(reply.noise.choice(_ALPHABET) for _ in range(max(1, 16 - size % 16)))
