"""A scripted stand-in for the OpenAI service (Chat Completions and Responses), used to author fixtures.

It answers from a script in the services' wire format (checked against real recordings: LF framing, the
first chunk's `role`, tool-call headers with `"arguments":""`, the usage chunk with `"choices":[]`,
`[DONE]`; for the Responses API the full event sequence ending in `response.completed`), paced like a model
(a first-token wait, then tens of milliseconds between tokens). It is never used by a notebook.
"""

from __future__ import annotations

import asyncio
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

    @property
    def base_url(self) -> str:
        """The `base_url` an OpenAI client would use to talk to the stand-in directly."""
        return self.upstream_url

    # -- pacing ----------------------------------------------------------------------------------

    def _next(self, request_body: dict[str, Any], headers: dict[str, str]) -> tuple[Reply, random.Random, str]:
        self.requests.append({"body": request_body, "headers": headers})
        if not self.replies:
            raise LookupError("the stand-in has no scripted reply left")
        self._count += 1
        rng = random.Random(self.seed * 1000 + self._count)
        suffix = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(24))
        return self.replies.popleft(), rng, suffix

    @staticmethod
    async def _paced(items: list[bytes], reply: Reply, rng: random.Random) -> AsyncIterator[bytes]:
        await asyncio.sleep(reply.first_token * rng.uniform(0.8, 1.25))
        for i, item in enumerate(items):
            if i:
                await asyncio.sleep(reply.gap * rng.lognormvariate(0, 0.45))
            yield item

    def _error(self, reply: Reply) -> Response:
        return JSONResponse(reply.error or {"error": {"message": "scripted error", "type": "server_error"}}, status_code=reply.status, headers=reply.headers)

    # -- chat completions ------------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        body = await request.json()
        reply, rng, suffix = self._next(body, dict(request.headers))
        if reply.status != 200:
            return self._error(reply)
        base = {"id": f"chatcmpl-{suffix[:29]}", "object": "chat.completion.chunk", "created": 1763800000 + self._count, "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_560af6e559"}
        call_ids = [f"call_{suffix[i % 24:] + suffix[: i % 24]}" for i in range(len(reply.tool_calls))]

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

        chunks: list[dict[str, Any]] = []
        if reply.refusal is not None:
            chunks.append(chunk({"role": "assistant", "content": None, "refusal": ""}))
            chunks.extend(chunk({"refusal": t}) for t in tokens(reply.refusal))
        elif reply.tool_calls and not reply.text:
            for i, call in enumerate(reply.tool_calls):
                header = {"index": i, "id": call_ids[i], "type": "function", "function": {"name": call.name, "arguments": ""}}
                delta = {"role": "assistant", "content": None, "tool_calls": [header], "refusal": None} if i == 0 else {"tool_calls": [header]}
                chunks.append(chunk(delta))
                chunks.extend(chunk({"tool_calls": [{"index": i, "function": {"arguments": f}}]}) for f in fragments(call, rng))
        else:
            chunks.append(chunk({"role": "assistant", "content": "", "refusal": None}))
            chunks.extend(chunk({"content": t}) for t in tokens(reply.text))
        chunks.append(chunk({}, reply.finish))
        completion_tokens = max(1, len(chunks) - 2)
        prompt_tokens = 9 + len(json.dumps(body.get("messages", []))) // 4
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        }
        if not body.get("stream"):
            await asyncio.sleep(reply.first_token + reply.gap * len(chunks))
            message: dict[str, Any] = {"role": "assistant", "content": reply.text or None, "refusal": reply.refusal, "annotations": []}
            if reply.tool_calls:
                message["tool_calls"] = [
                    {"id": call_ids[i], "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for i, c in enumerate(reply.tool_calls)
                ]
            return JSONResponse(
                {**base, "object": "chat.completion", "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish}], "usage": usage}
            )
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": usage})
        frames = [encode_event(SSEEvent(data=json.dumps(c, separators=(",", ":"), ensure_ascii=False))) for c in chunks]
        frames.append(encode_event(SSEEvent(data="[DONE]")))
        return StreamingResponse(self._paced(frames, reply, rng), media_type="text/event-stream; charset=utf-8")

    # -- responses -------------------------------------------------------------------------------

    async def _responses(self, request: Request) -> Response:
        body = await request.json()
        reply, rng, suffix = self._next(body, dict(request.headers))
        if reply.status != 200:
            return self._error(reply)
        resp_id = f"resp_{suffix}{suffix[:24]}"
        response: dict[str, Any] = {
            "id": resp_id,
            "object": "response",
            "created_at": 1763800000 + self._count,
            "status": "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": "gpt-4o-mini-2024-07-18",
            "output": [],
            "parallel_tool_calls": body.get("parallel_tool_calls", True) if body.get("parallel_tool_calls") is not None else True,
            "previous_response_id": body.get("previous_response_id"),
            "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True) if body.get("store") is not None else True,
            "temperature": body.get("temperature") if body.get("temperature") is not None else 1.0,
            "text": body.get("text") or {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice") or "auto",
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p") if body.get("top_p") is not None else 1.0,
            "truncation": body.get("truncation") or "disabled",
            "usage": None,
            "user": None,
            "metadata": body.get("metadata") or {},
        }
        events: list[dict[str, Any]] = []

        def emit(kind: str, **fields: Any) -> None:
            events.append({"type": kind, "sequence_number": len(events), **fields})

        emit("response.created", response=json.loads(json.dumps(response)))
        emit("response.in_progress", response=json.loads(json.dumps(response)))
        output: list[dict[str, Any]] = []
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
            item = {**item, "status": "completed", "content": [done_part]}
            emit("response.output_item.done", output_index=len(output), item=item)
            output.append(item)
        for i, call in enumerate(reply.tool_calls):
            item_id = f"fc_{suffix[i:]}{suffix[:i]}{suffix[:24]}"
            item = {"id": item_id, "type": "function_call", "status": "in_progress", "arguments": "", "call_id": f"call_{suffix[i:]}{suffix[:i]}", "name": call.name}
            emit("response.output_item.added", output_index=len(output), item=dict(item))
            for f in fragments(call, rng):
                emit("response.function_call_arguments.delta", item_id=item_id, output_index=len(output), delta=f)
            emit("response.function_call_arguments.done", item_id=item_id, output_index=len(output), arguments=call.arguments, name=call.name)
            item = {**item, "status": "completed", "arguments": call.arguments}
            emit("response.output_item.done", output_index=len(output), item=item)
            output.append(item)
        input_tokens = 12 + len(json.dumps(body.get("input", ""))) // 4
        output_tokens = max(1, len(events) - 4)
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }
        final = {**response, "status": "completed", "output": output, "usage": usage}
        emit("response.completed", response=final)
        if not body.get("stream"):
            await asyncio.sleep(reply.first_token + reply.gap * len(events))
            return JSONResponse(final)
        frames = [encode_event(SSEEvent(data=json.dumps(e, separators=(",", ":"), ensure_ascii=False), event=e["type"])) for e in events]
        return StreamingResponse(self._paced(frames, reply, rng), media_type="text/event-stream; charset=utf-8")
