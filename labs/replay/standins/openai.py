"""A scripted stand-in for the OpenAI service (Chat Completions and Responses), used to author fixtures.

It answers from a script in the services' wire format, checked field by field against real captures by the
wire schema (`labs/replay/wire_schema.json`, `tests/test_wire_schema.py`): LF framing, the first chunk's
`role`, tool-call headers with `"arguments":""`, the usage chunk with `"choices":[]`, `[DONE]`; as 2026
chunks do, `service_tier`, `"usage": null` on every chunk when usage is asked for and `obfuscation` padding
(unless `stream_options.include_obfuscation` is false). For the Responses API the full event sequence ending
in `response.completed`, the response object with every field the service sends (`service_tier`,
`max_tool_calls`, `prompt_cache_key`, `text.verbosity`, ...), `obfuscation` on deltas, and no `name` on
`response.function_call_arguments.done` (the service names the function in the output item only). Paced
like a model: a first-token wait, then a gap per token (`labs/fixtures/README.md` gives the calibration and
its sources). It is never used by a notebook.

A subclass can change what is answered (`next_reply`) and, without touching the encoding, the few things a
live service varies: the model snapshot it names, the fields it adds to each payload (`_decorate`), the
pause before each frame (`_delays`, `_blocking_wait`) and the seed of a reply's ids (`_reply_rng`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..sse import SSEEvent, encode_event
from .base import Reply, ScriptedServer, fragments, tokens

__all__ = ["OpenAIStandIn"]

_MODEL = "gpt-4o-mini-2024-07-18"
_SNAPSHOTS = {"gpt-5-mini": "gpt-5-mini-2025-08-07", "gpt-5": "gpt-5-2025-08-07"}  # the snapshots a request for these names gets
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _obfuscated(body: dict[str, Any]) -> bool:
    """Whether the answer pads its frames with `obfuscation` (the service does unless the request turns it off)."""
    return (body.get("stream_options") or {}).get("include_obfuscation", True) is not False


def _tier(body: dict[str, Any]) -> str:
    """The service tier a finished answer names: the one asked for, `default` for `auto` or none."""
    asked = body.get("service_tier")
    return asked if isinstance(asked, str) and asked != "auto" else "default"


def _tool(tool: Any) -> Any:
    """A tool as the Responses API echoes it: a function tool with every field, in the service's order."""
    if not isinstance(tool, dict) or tool.get("type") != "function":
        return tool
    return {"type": "function", "description": tool.get("description"), "name": tool.get("name"), "parameters": tool.get("parameters"), "strict": tool.get("strict", True)}


class OpenAIStandIn(ScriptedServer):
    """A loopback server answering `/v1/chat/completions` and `/v1/responses` from a queue of Replies."""

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed
        self._count = 0
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/responses", self._responses, methods=["POST"]),
            ]
        )
        super().__init__(app, name="labs-openai-standin")

    base_path = "/v1"
    system_fingerprint = "fp_560af6e559"

    @property
    def base_url(self) -> str:
        """The `base_url` an OpenAI client would use to talk to the stand-in directly."""
        return self.upstream_url

    # -- what a subclass may vary -----------------------------------------------------------------

    def _next(self, request_body: dict[str, Any], headers: dict[str, str]) -> tuple[Reply, random.Random, str]:
        self.requests.append({"body": request_body, "headers": headers})
        reply = self.next_reply(request_body)
        self._count += 1
        rng = self._reply_rng(reply)
        suffix = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24))
        return reply, rng, suffix

    def _reply_rng(self, reply: Reply) -> random.Random:
        """The randomness of one answer's ids and argument fragments."""
        return random.Random(self.seed * 1000 + self._count)

    def _model(self, body: dict[str, Any]) -> str:
        """The model snapshot an answer names: a reasoning model's own (`gpt-5-mini`), else gpt-4o-mini's."""
        return _SNAPSHOTS.get(body.get("model"), _MODEL)

    def _decorate(self, payload: dict[str, Any], reply: Reply) -> dict[str, Any]:
        """A chunk, event or final object just before it is sent; the stand-in sends it as built."""
        return payload

    def _delays(self, count: int, reply: Reply, rng: random.Random) -> list[float]:
        """The pause before each of `count` frames: the first token's wait, then a gap before each next one."""
        first = reply.first_token * rng.uniform(0.8, 1.25)
        return [first, *(reply.gap * rng.lognormvariate(0, 0.45) for _ in range(count - 1))]

    def _blocking_wait(self, count: int, reply: Reply) -> float:
        """How long an answer of `count` frames takes when it is not streamed."""
        return reply.first_token + reply.gap * count

    @staticmethod
    async def _paced(items: list[bytes], delays: list[float]) -> AsyncIterator[bytes]:
        for item, delay in zip(items, delays):
            await asyncio.sleep(delay)
            yield item

    def _obfuscation(self, rng: random.Random, size: int) -> str:
        """Random padding that evens out frame sizes, as the service's `obfuscation` field does."""
        return "".join(rng.choice(_ALPHABET) for _ in range(max(1, 16 - size % 16)))

    def _error(self, reply: Reply) -> Response:
        return JSONResponse(reply.error or {"error": {"message": "scripted error", "type": "server_error"}}, status_code=reply.status, headers=reply.headers)

    # -- chat completions ------------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        reply, rng, suffix = self._next(body, dict(request.headers))
        if reply.status != 200:
            return self._error(reply)
        base = {
            "id": f"chatcmpl-{suffix[:29]}",
            "object": "chat.completion.chunk",
            "created": 1763800000 + self._count,
            "model": self._model(body),
            "service_tier": _tier(body),
            "system_fingerprint": self.system_fingerprint,
        }
        asks_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        pad = random.Random(f"padding:{self.seed}:{self._count}")
        choices = [reply, *reply.more_choices]
        call_ids: list[list[str]] = []  # per choice; numbered on across choices so no two calls share an id
        for choice in choices:
            first = sum(map(len, call_ids))
            call_ids.append([f"call_{suffix[i % 24:] + suffix[: i % 24]}" for i in range(first, first + len(choice.tool_calls))])

        def chunk(delta: dict[str, Any], finish: str | None = None, index: int = 0) -> dict[str, Any]:
            out = {**base, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]}
            return {**out, "usage": None} if asks_usage else out

        def choice_chunks(choice: Reply, index: int) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            if choice.refusal is not None:
                out.append(chunk({"role": "assistant", "content": None, "refusal": ""}, index=index))
                out.extend(chunk({"refusal": t}, index=index) for t in tokens(choice.refusal))
            elif choice.tool_calls and not choice.text:
                for i, call in enumerate(choice.tool_calls):
                    header = {"index": i, "id": call_ids[index][i], "type": "function", "function": {"name": call.name, "arguments": ""}}
                    delta = {"role": "assistant", "content": None, "tool_calls": [header], "refusal": None} if i == 0 else {"tool_calls": [header]}
                    out.append(chunk(delta, index=index))
                    out.extend(chunk({"tool_calls": [{"index": i, "function": {"arguments": f}}]}, index=index) for f in fragments(call, rng))
            else:
                out.append(chunk({"role": "assistant", "content": "", "refusal": None}, index=index))
                out.extend(chunk({"content": t}, index=index) for t in tokens(choice.text))
            out.append(chunk({}, choice.finish, index))
            return out

        per_choice = [choice_chunks(choice, index) for index, choice in enumerate(choices)]
        # Several choices arrive interleaved, one chunk of each in turn, as the service streams them.
        chunks = [c for row in itertools.zip_longest(*per_choice) for c in row if c is not None]
        completion_tokens = sum(max(1, len(part) - 2) for part in per_choice)
        prompt_tokens = 9 + len(json.dumps(body.get("messages", []))) // 4
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        if not body.get("stream"):
            await asyncio.sleep(self._blocking_wait(len(chunks), reply))
            answers = [
                {"index": index, "message": self._message(choice, call_ids[index]), "logprobs": None, "finish_reason": choice.finish}
                for index, choice in enumerate(choices)
            ]
            return JSONResponse(self._decorate({**base, "object": "chat.completion", "choices": answers, "usage": usage}, reply))
        if asks_usage:
            chunks.append({**base, "choices": [], "usage": usage})
        if _obfuscated(body):
            chunks = [{**c, "obfuscation": self._obfuscation(pad, len(json.dumps(c["choices"])))} for c in chunks]
        frames = [encode_event(SSEEvent(data=json.dumps(self._decorate(c, reply), separators=(",", ":"), ensure_ascii=False))) for c in chunks]
        frames.append(encode_event(SSEEvent(data="[DONE]")))
        return StreamingResponse(self._paced(frames, self._delays(len(frames), reply, rng)), media_type="text/event-stream; charset=utf-8")

    @staticmethod
    def _message(reply: Reply, call_ids: list[str]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": reply.refusal, "annotations": []}
        if reply.tool_calls:
            message["tool_calls"] = [{"id": call_ids[i], "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for i, c in enumerate(reply.tool_calls)]
        return message

    # -- responses -------------------------------------------------------------------------------

    async def _responses(self, request: Request) -> Response:
        body = await request.json()
        reply, rng, suffix = self._next(body, dict(request.headers))
        if reply.status != 200:
            return self._error(reply)
        resp_id = f"resp_{suffix}{suffix[:24]}"
        pad = random.Random(f"padding:{self.seed}:{self._count}")
        asked_reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), dict) else {}
        # Fields in the order the service sends them; what the request set is echoed, the rest are the service's defaults.
        response: dict[str, Any] = {
            "id": resp_id,
            "object": "response",
            "created_at": 1763800000 + self._count,
            "status": "in_progress",
            "background": bool(body.get("background", False)),
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "max_tool_calls": body.get("max_tool_calls"),
            "model": self._model(body),
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True) if body.get("parallel_tool_calls") is not None else True,
            "previous_response_id": body.get("previous_response_id"),
            "prompt_cache_key": body.get("prompt_cache_key"),
            "reasoning": {"effort": asked_reasoning.get("effort") or ("medium" if reply.reasoning_tokens else None), "summary": asked_reasoning.get("summary")},
            "safety_identifier": body.get("safety_identifier"),
            "service_tier": body.get("service_tier") or "auto",
            "store": body.get("store", True) if body.get("store") is not None else True,
            "temperature": body.get("temperature") if body.get("temperature") is not None else 1.0,
            "text": {"verbosity": "medium", **(body.get("text") or {"format": {"type": "text"}})},
            "tool_choice": body.get("tool_choice") or "auto",
            "tools": [_tool(t) for t in body.get("tools") or []],
            "top_logprobs": body.get("top_logprobs") or 0,
            "top_p": body.get("top_p") if body.get("top_p") is not None else 1.0,
            "truncation": body.get("truncation") or "disabled",
            "usage": None,
            "user": body.get("user"),
            "metadata": body.get("metadata") or {},
        }
        response["text"] = {"format": response["text"].get("format", {"type": "text"}), **response["text"]}  # format first, as sent
        events: list[dict[str, Any]] = []
        obfuscate = _obfuscated(body)

        def emit(kind: str, **fields: Any) -> None:
            if obfuscate and kind.endswith(".delta"):
                fields["obfuscation"] = self._obfuscation(pad, len(fields.get("delta", "")))
            events.append({"type": kind, "sequence_number": len(events), **fields})

        emit("response.created", response=json.loads(json.dumps(response)))
        emit("response.in_progress", response=json.loads(json.dumps(response)))
        output: list[dict[str, Any]] = []
        cut = reply.finish_reason == "length"  # stopped at max_output_tokens: the response is incomplete
        if reply.reasoning_tokens:
            # As reasoning models do: the reasoning item comes first, the answer after it at output_index 1.
            item = {"id": f"rs_{suffix[::-1]}{suffix[:24]}", "type": "reasoning", "encrypted_content": self._encrypted(rng), "summary": []}
            emit("response.output_item.added", output_index=0, item=dict(item))
            emit("response.output_item.done", output_index=0, item=item)
            output.append(item)
        if reply.text:
            item_id = f"msg_{suffix}{suffix[:8]}"
            item = {"id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
            emit("response.output_item.added", output_index=len(output), item=dict(item))
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            emit("response.content_part.added", item_id=item_id, output_index=len(output), content_index=0, part=dict(part))
            for t in tokens(reply.text):
                emit("response.output_text.delta", item_id=item_id, output_index=len(output), content_index=0, delta=t, logprobs=[])
            emit("response.output_text.done", item_id=item_id, output_index=len(output), content_index=0, text=reply.text, logprobs=[])
            done_part = {**part, "text": reply.text}
            emit("response.content_part.done", item_id=item_id, output_index=len(output), content_index=0, part=done_part)
            item = {**item, "status": "incomplete" if cut else "completed", "content": [done_part]}
            emit("response.output_item.done", output_index=len(output), item=item)
            output.append(item)
        for i, call in enumerate(reply.tool_calls):
            item_id = f"fc_{suffix[i:]}{suffix[:i]}{suffix[:24]}"
            item = {"id": item_id, "type": "function_call", "status": "in_progress", "arguments": "", "call_id": f"call_{suffix[i:]}{suffix[:i]}", "name": call.name}
            emit("response.output_item.added", output_index=len(output), item=dict(item))
            for f in fragments(call, rng):
                emit("response.function_call_arguments.delta", item_id=item_id, output_index=len(output), delta=f)
            emit("response.function_call_arguments.done", item_id=item_id, output_index=len(output), arguments=call.arguments)
            item = {**item, "status": "completed", "arguments": call.arguments}
            emit("response.output_item.done", output_index=len(output), item=item)
            output.append(item)
        input_tokens = 12 + len(json.dumps(body.get("input", ""))) // 4
        if reply.reasoning_tokens:
            # What the model wrote: its reasoning, then one token per text or argument delta.
            output_tokens = reply.reasoning_tokens + sum(e["type"].endswith(".delta") for e in events)
        else:
            output_tokens = max(1, len(events) - 4)
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": reply.reasoning_tokens},
            "total_tokens": input_tokens + output_tokens,
        }
        if cut:
            final = {**response, "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": output, "service_tier": _tier(body), "usage": usage}
            emit("response.incomplete", response=final)
        else:
            final = {**response, "status": "completed", "output": output, "service_tier": _tier(body), "usage": usage}
            emit("response.completed", response=final)
        if not body.get("stream"):
            await asyncio.sleep(self._blocking_wait(len(events), reply))
            return JSONResponse(self._decorate(final, reply))
        frames = [
            encode_event(SSEEvent(data=json.dumps(self._decorate(e, reply), separators=(",", ":"), ensure_ascii=False), event=e["type"])) for e in events
        ]
        delays = self._delays(len(frames), reply, rng)
        if reply.reasoning_tokens:  # the model thinks between announcing its reasoning item and closing it
            delays[3] += self._thinking(reply)
        return StreamingResponse(self._paced(frames, delays), media_type="text/event-stream; charset=utf-8")

    def _thinking(self, reply: Reply) -> float:
        """How long a reasoning model thinks: its reasoning tokens at the answer's pace."""
        return reply.reasoning_tokens * reply.gap

    @staticmethod
    def _encrypted(rng: random.Random) -> str:
        """Opaque reasoning state in the shape the service returns (a Fernet-style token); nothing can read it."""
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "gAAAAAB" + "".join(rng.choice(alphabet) for _ in range(rng.randint(300, 900))) + "=="
