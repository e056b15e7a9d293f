"""A scripted stand-in for the Azure AI Agents service, used to author the Azure fixtures.

It answers what `azure-ai-agents` sends below `/api/projects/<project>/`: agents (`/assistants`), threads,
messages, streamed runs and tool-output submissions, keeping agents, threads, messages and runs in memory
as the service does. The model's answers come from a script of `Reply` objects, one per model turn.
Streams follow the service's wire format as recorded in the SDK's own test assets
(`tests/assets/main_stream_response.txt`, `send_email_stream_response.txt`): LF framing, an `event:` line
then one `data:` line, `thread.run.created` with status `queued`, a `thread.run.step.*` pair around each
step, `thread.run.step.delta` events carrying the function name then argument fragments, a
`thread.run.requires_action` run that lists the tool calls, `usage` on completed steps and runs, and
`event: done` / `data: [DONE]` at the end of every HTTP stream. After tool outputs are submitted the
continuation stream opens with the tool step completed (outputs filled in), then the run queued again.
Objects spell the agent id `assistant_id`, as the service does; ids look like the service's
(`asst_`, `thread_`, `run_`, `step_`, `msg_`, `call_` and 24 characters) and timestamps are unix seconds.

Pacing is seeded, like the OpenAI stand-in, and calibrated on the service's own recordings (the SDK's test
assets, whose `created_at` stamps show it; `labs/fixtures/README.md` gives the figures): the bookkeeping
events come within milliseconds, the first step about `FIRST_STEP` seconds after the run starts, the next
one about `AFTER_SUBMISSION` seconds after tool outputs are submitted, and deltas at the model's token pace.

Record mode (`labs.clients`) authenticates with `DefaultAzureCredential` and names the model with
`MODEL_DEPLOYMENT_NAME`. So that authoring needs no Azure account, while it runs the stand-in sets
`IDENTITY_ENDPOINT`/`IDENTITY_HEADER` to an App Service style managed-identity endpoint it serves itself
(the credential gets its token from here), and `MODEL_DEPLOYMENT_NAME` to its one deployment, the model
replay expects (`labs.replay.surfaces.azure.RECORDED_MODEL`). Agents naming another model are refused, as the
service refuses a deployment that does not exist.

Each model turn (a run starting, or tool outputs coming back) asks `next_reply` for its answer with what the
model would read: the run's model, instructions, tools and options, the thread's messages and the tool results
submitted in this run (`_turn_request`). A subclass can pace the service (`_pause`) and keep its environment
to itself (`exports_environment = False`).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, Self

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ...config import environment as patched_environment
from ..sse import SSEEvent, SSEParser, encode_event
from ..surfaces.azure import RECORDED_MODEL
from .base import Reply, ScriptedServer, fragments, tokens

__all__ = ["AFTER_SUBMISSION", "FIRST_STEP", "AzureStandIn"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_EPOCH = 1763900000  # the stand-in's clock starts here (2025-11-23) and moves with the scripted pacing
_RUN_TTL = 600  # a run expires ten minutes after it is created, as on the service
_IDENTITY_HEADER = "labs-standin-identity"
FIRST_STEP = 2.0  # seconds from a run starting to its first step (main_stream_response.txt: run 1735945041, step 1735945043)
AFTER_SUBMISSION = 5.0  # seconds from a tool-output submission to the next step (4 to 6 in the recorded continuations)


@dataclass
class _Frame:
    delay: float  # seconds to wait before sending, after the previous frame
    data: bytes


@dataclass
class _Run:
    obj: dict[str, Any]  # the ThreadRun as the service returns it
    agent: dict[str, Any]
    pending_step: dict[str, Any] | None = None  # the tool_calls step waiting for outputs
    tool_results: list[dict[str, Any]] = field(default_factory=list)  # every call answered in this run: name, arguments, output
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0})


def _service_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class AzureStandIn(ScriptedServer):
    """A loopback server answering the Azure AI Agents REST calls from a queue of Replies."""

    no_reply_left = "the Azure stand-in has no scripted reply left"
    first_step = FIRST_STEP  # the least a model turn waits for its first step; a reply's own first_token may be longer
    after_submission = AFTER_SUBMISSION
    exports_environment = True  # while it runs, the process's credential and deployment point at it

    def __init__(self, seed: int = 11, project: str = "standin", deployment: str = RECORDED_MODEL) -> None:
        self.seed = seed
        self.project = project
        self.deployment = deployment
        self.agents: dict[str, dict[str, Any]] = {}
        self.threads: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}  # thread id -> messages, oldest first
        self.runs: dict[str, _Run] = {}
        self._ids = random.Random(seed)
        self._turns = 0
        self._clock = float(_EPOCH)
        self._turn: dict[str, Any] = {}  # the model turn being answered, set just before `_next_reply`
        self.base_path = base = f"/api/projects/{project}"
        app = Starlette(
            routes=[
                Route("/_identity/token", self._identity_token, methods=["GET"]),
                Route(f"{base}/assistants", self._create_agent, methods=["POST"]),
                Route(f"{base}/assistants/{{agent_id}}", self._agent_by_id, methods=["GET", "DELETE"]),
                Route(f"{base}/threads", self._create_thread, methods=["POST"]),
                Route(f"{base}/threads/{{thread_id}}", self._thread_by_id, methods=["GET", "DELETE"]),
                Route(f"{base}/threads/{{thread_id}}/messages", self._messages, methods=["GET", "POST"]),
                Route(f"{base}/threads/{{thread_id}}/runs", self._create_run, methods=["POST"]),
                Route(f"{base}/threads/{{thread_id}}/runs/{{run_id}}", self._get_run, methods=["GET"]),
                Route(f"{base}/threads/{{thread_id}}/runs/{{run_id}}/submit_tool_outputs", self._submit_tool_outputs, methods=["POST"]),
                Route(f"{base}/threads/{{thread_id}}/runs/{{run_id}}/cancel", self._cancel_run, methods=["POST"]),
            ]
        )
        super().__init__(app, name="labs-azure-standin")
        self._exported = ExitStack()  # the environment start() exported, undone by stop()

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The project endpoint an AgentsClient would use to talk to the stand-in directly."""
        return self.upstream_url

    def environment(self) -> dict[str, str]:
        """What `DefaultAzureCredential` and `labs.azure_model()` need to use this service: its token endpoint and deployment."""
        return {"IDENTITY_ENDPOINT": f"{self.url}/_identity/token", "IDENTITY_HEADER": _IDENTITY_HEADER, "MODEL_DEPLOYMENT_NAME": self.deployment}

    def start(self) -> Self:
        super().start()
        if self.exports_environment:
            self._exported.enter_context(patched_environment(self.environment()))
        return self

    def stop(self) -> None:
        self._exported.close()
        super().stop()

    # -- helpers ---------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}_" + "".join(self._ids.choice(_ALPHABET) for _ in range(24))

    def _now(self) -> int:
        return int(self._clock)

    async def _body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        body = json.loads(raw) if raw else {}
        self.requests.append({"method": request.method, "path": request.url.path, "query": dict(request.query_params), "body": body})
        return body if isinstance(body, dict) else {}

    def _log(self, request: Request) -> None:
        self.requests.append({"method": request.method, "path": request.url.path, "query": dict(request.query_params), "body": None})

    def _next_reply(self) -> tuple[Reply, random.Random]:
        reply = self.next_reply(self._turn)
        self._turns += 1
        return reply, random.Random(self.seed * 1000 + self._turns)

    def _turn_request(self, run: dict[str, Any], tool_results: list[dict[str, Any]], submitted: bool) -> dict[str, Any]:
        """What the model reads in one turn: the run's settings, the thread so far, the tool results of this run."""
        thread = [{"role": m["role"], "content": "".join(p["text"]["value"] for p in m["content"] if p.get("type") == "text")} for m in self.messages[run["thread_id"]]]
        keys = ("model", "instructions", "tools", "tool_choice", "parallel_tool_calls", "max_completion_tokens", "temperature", "response_format")
        return {**{k: run.get(k) for k in keys}, "messages": thread, "tool_results": json.loads(json.dumps(tool_results)), "submitted": submitted}

    # -- identity --------------------------------------------------------------------------------

    async def _identity_token(self, request: Request) -> Response:
        if request.headers.get("x-identity-header") != _IDENTITY_HEADER:
            return JSONResponse({"statusCode": 400, "message": "missing X-IDENTITY-HEADER"}, status_code=400)
        expires = int(time.time()) + 3600
        return JSONResponse(
            {"access_token": "standin-token-not-a-real-one", "expires_on": str(expires), "resource": request.query_params.get("resource", ""), "token_type": "Bearer"}
        )

    # -- agents ----------------------------------------------------------------------------------

    async def _create_agent(self, request: Request) -> Response:
        body = await self._body(request)
        if body.get("model") != self.deployment:
            return _service_error(400, "invalid_engine_error", f"The model deployment '{body.get('model')}' does not exist; this project has '{self.deployment}'.")
        agent = {
            "id": self._id("asst"),
            "object": "assistant",
            "created_at": self._now(),
            "name": body.get("name"),
            "description": body.get("description"),
            "model": body["model"],
            "instructions": body.get("instructions"),
            "tools": body.get("tools") or [],
            "top_p": body.get("top_p", 1.0),
            "temperature": body.get("temperature", 1.0),
            "tool_resources": body.get("tool_resources") or {},
            "metadata": body.get("metadata") or {},
            "response_format": body.get("response_format") or "auto",
        }
        self.agents[agent["id"]] = agent
        return JSONResponse(agent)

    async def _agent_by_id(self, request: Request) -> Response:
        self._log(request)
        agent_id = request.path_params["agent_id"]
        if agent_id not in self.agents:
            return _service_error(404, "not_found", f"No assistant found with id '{agent_id}'.")
        if request.method == "DELETE":
            del self.agents[agent_id]
            return JSONResponse({"id": agent_id, "object": "assistant.deleted", "deleted": True})
        return JSONResponse(self.agents[agent_id])

    # -- threads and messages --------------------------------------------------------------------

    async def _create_thread(self, request: Request) -> Response:
        body = await self._body(request)
        thread = {"id": self._id("thread"), "object": "thread", "created_at": self._now(), "metadata": body.get("metadata") or {}, "tool_resources": body.get("tool_resources") or {}}
        self.threads[thread["id"]] = thread
        self.messages[thread["id"]] = []
        for message in body.get("messages") or []:
            self._add_user_message(thread["id"], message)
        return JSONResponse(thread)

    async def _thread_by_id(self, request: Request) -> Response:
        self._log(request)
        thread_id = request.path_params["thread_id"]
        if thread_id not in self.threads:
            return _service_error(404, "not_found", f"No thread found with id '{thread_id}'.")
        if request.method == "DELETE":
            del self.threads[thread_id]
            return JSONResponse({"id": thread_id, "object": "thread.deleted", "deleted": True})
        return JSONResponse(self.threads[thread_id])

    def _add_user_message(self, thread_id: str, options: dict[str, Any]) -> dict[str, Any]:
        content = options.get("content")
        if isinstance(content, str):
            parts = [{"type": "text", "text": {"value": content, "annotations": []}}]
        else:  # a list of content blocks: keep the text ones in the service's shape
            parts = [{"type": "text", "text": {"value": block.get("text", ""), "annotations": []}} for block in content or [] if block.get("type") == "text"]
        message = {
            "id": self._id("msg"),
            "object": "thread.message",
            "created_at": self._now(),
            "assistant_id": None,
            "thread_id": thread_id,
            "run_id": None,
            "status": "completed",
            "incomplete_details": None,
            "incomplete_at": None,
            "completed_at": self._now(),
            "role": options.get("role", "user"),
            "content": parts,
            "attachments": options.get("attachments") or [],
            "metadata": options.get("metadata") or {},
        }
        self.messages[thread_id].append(message)
        return message

    async def _messages(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        if thread_id not in self.threads:
            self._log(request)
            return _service_error(404, "not_found", f"No thread found with id '{thread_id}'.")
        if request.method == "POST":
            body = await self._body(request)
            return JSONResponse(self._add_user_message(thread_id, body))
        self._log(request)
        query = request.query_params
        items = list(self.messages[thread_id])
        if query.get("run_id") or query.get("runId"):
            items = [m for m in items if m["run_id"] == (query.get("run_id") or query.get("runId"))]
        if query.get("order", "desc") == "desc":
            items.reverse()
        ids = [m["id"] for m in items]
        if query.get("after") in ids:
            items = items[ids.index(query["after"]) + 1 :]
        elif query.get("before") in ids:
            items = items[: ids.index(query["before"])]
        limit = max(1, min(100, int(query.get("limit", 20))))
        page = items[:limit]
        return JSONResponse(
            {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(items) > limit,
            }
        )

    # -- runs ------------------------------------------------------------------------------------

    async def _create_run(self, request: Request) -> Response:
        thread_id = request.path_params["thread_id"]
        body = await self._body(request)
        if thread_id not in self.threads:
            return _service_error(404, "not_found", f"No thread found with id '{thread_id}'.")
        agent = self.agents.get(body.get("assistant_id") or body.get("agent_id") or "")
        if agent is None:
            return _service_error(404, "not_found", f"No assistant found with id '{body.get('assistant_id')}'.")
        for message in body.get("additional_messages") or []:
            self._add_user_message(thread_id, message)
        instructions = body.get("instructions") if body.get("instructions") is not None else agent.get("instructions") or ""
        if body.get("additional_instructions"):
            instructions = f"{instructions}{body['additional_instructions']}"
        settings = {
            "thread_id": thread_id,
            "model": body.get("model") or agent["model"],
            "instructions": instructions,
            "tools": body.get("tools") if body.get("tools") is not None else agent["tools"],
            "tool_choice": body.get("tool_choice") or "auto",
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "max_completion_tokens": body.get("max_completion_tokens"),
            "temperature": body.get("temperature", agent["temperature"]),
            "response_format": body.get("response_format") or agent["response_format"],
        }
        self._turn = self._turn_request(settings, [], submitted=False)
        reply, rng = self._next_reply()
        if reply.status != 200:
            return JSONResponse(reply.error or {"error": {"code": "server_error", "message": "scripted error"}}, status_code=reply.status, headers=reply.headers)
        start = self._now()
        run = _Run(
            obj={
                "id": self._id("run"),
                "object": "thread.run",
                "created_at": start,
                "assistant_id": agent["id"],
                "thread_id": thread_id,
                "status": "queued",
                "started_at": None,
                "expires_at": start + _RUN_TTL,
                "cancelled_at": None,
                "failed_at": None,
                "completed_at": None,
                "required_action": None,
                "last_error": None,
                "model": body.get("model") or agent["model"],
                "instructions": instructions,
                "tools": body.get("tools") if body.get("tools") is not None else agent["tools"],
                "tool_resources": agent["tool_resources"],
                "metadata": body.get("metadata") or {},
                "temperature": body.get("temperature", agent["temperature"]),
                "top_p": body.get("top_p", agent["top_p"]),
                "max_completion_tokens": body.get("max_completion_tokens"),
                "max_prompt_tokens": body.get("max_prompt_tokens"),
                "truncation_strategy": body.get("truncation_strategy") or {"type": "auto", "last_messages": None},
                "incomplete_details": None,
                "usage": None,
                "response_format": body.get("response_format") or agent["response_format"],
                "tool_choice": body.get("tool_choice") or "auto",
                "parallel_tool_calls": body.get("parallel_tool_calls", True),
            },
            agent=agent,
        )
        self.runs[run.obj["id"]] = run
        queued = json.loads(json.dumps(run.obj))
        frames: list[_Frame] = []
        self._emit(frames, self._pause(rng, 0.12), "thread.run.created", run.obj)
        self._emit(frames, self._pause(rng, 0.01), "thread.run.queued", run.obj)
        delay = self._pause(rng, 0.2)
        run.obj.update(status="in_progress", started_at=self._now())
        self._emit(frames, delay, "thread.run.in_progress", run.obj)
        self._model_turn(run, reply, rng, frames, submitted=False)
        return self._answer(body, frames, queued)

    async def _submit_tool_outputs(self, request: Request) -> Response:
        run = self.runs.get(request.path_params["run_id"])
        body = await self._body(request)
        if run is None or run.obj["thread_id"] != request.path_params["thread_id"]:
            return _service_error(404, "not_found", f"No run found with id '{request.path_params['run_id']}'.")
        step = run.pending_step
        if run.obj["status"] != "requires_action" or step is None:
            return _service_error(400, "invalid_request_error", f"Runs in status \"{run.obj['status']}\" do not accept tool outputs.")
        outputs = {o.get("tool_call_id"): o.get("output") for o in body.get("tool_outputs") or []}
        expected = [c["id"] for c in step["step_details"]["tool_calls"]]
        if sorted(outputs) != sorted(expected):
            return _service_error(400, "invalid_request_error", f"Expected tool outputs for call ids {expected}, got {sorted(outputs)}.")
        answered = [
            {"call_id": c["id"], "name": c["function"]["name"], "arguments": c["function"]["arguments"], "output": outputs[c["id"]]} for c in step["step_details"]["tool_calls"]
        ]
        self._turn = self._turn_request(run.obj, run.tool_results + answered, submitted=True)
        reply, rng = self._next_reply()
        run.tool_results.extend(answered)
        frames: list[_Frame] = []
        for call in step["step_details"]["tool_calls"]:
            call["function"]["output"] = outputs[call["id"]]
        delay = self._pause(rng, 0.15)
        step.update(status="completed", completed_at=self._now())
        self._emit(frames, delay, "thread.run.step.completed", step)
        run.pending_step = None
        run.obj.update(status="queued", required_action=None)
        queued = json.loads(json.dumps(run.obj))
        self._emit(frames, self._pause(rng, 0.02), "thread.run.queued", run.obj)
        run.obj["status"] = "in_progress"
        self._emit(frames, self._pause(rng, 0.15), "thread.run.in_progress", run.obj)
        self._model_turn(run, reply, rng, frames, submitted=True)
        return self._answer(body, frames, queued)

    async def _get_run(self, request: Request) -> Response:
        self._log(request)
        run = self.runs.get(request.path_params["run_id"])
        if run is None:
            return _service_error(404, "not_found", f"No run found with id '{request.path_params['run_id']}'.")
        return JSONResponse(run.obj)

    async def _cancel_run(self, request: Request) -> Response:
        await self._body(request)
        run = self.runs.get(request.path_params["run_id"])
        if run is None:
            return _service_error(404, "not_found", f"No run found with id '{request.path_params['run_id']}'.")
        if run.obj["status"] in ("completed", "failed", "cancelled", "expired", "incomplete"):
            return _service_error(400, "invalid_request_error", f"Cannot cancel run with status '{run.obj['status']}'.")
        run.obj.update(status="cancelling", required_action=None)
        answer = JSONResponse(json.loads(json.dumps(run.obj)))
        run.obj.update(status="cancelled", cancelled_at=self._now())
        run.pending_step = None
        return answer

    # -- one model turn as stream events ---------------------------------------------------------

    def _pause(self, rng: random.Random, seconds: float) -> float:
        """A jittered wait; the stand-in's clock moves by it, so timestamps follow the pacing."""
        seconds *= rng.uniform(0.7, 1.4)
        self._clock += seconds
        return seconds

    @staticmethod
    def _emit(frames: list[_Frame], delay: float, event: str, obj: dict[str, Any]) -> None:
        """Queue one event as it is at this moment, sent `delay` seconds after the previous one."""
        frames.append(_Frame(delay, encode_event(SSEEvent(data=json.dumps(obj, separators=(",", ":"), ensure_ascii=False), event=event))))

    def _step(self, run: _Run, kind: str, details: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self._id("step"),
            "object": "thread.run.step",
            "created_at": self._now(),
            "run_id": run.obj["id"],
            "assistant_id": run.agent["id"],
            "thread_id": run.obj["thread_id"],
            "type": kind,
            "status": "in_progress",
            "cancelled_at": None,
            "completed_at": None,
            "expires_at": run.obj["expires_at"],
            "failed_at": None,
            "last_error": None,
            "step_details": details,
            "usage": None,
        }

    def _count_usage(self, run: _Run, step: dict[str, Any], completion_tokens: int) -> None:
        """Usage for one step (a rough token estimate of what the model read and wrote), added to the run's."""
        history = json.dumps([m["content"] for m in self.messages[run.obj["thread_id"]]])
        prompt = 40 + len(run.obj["instructions"] or "") // 4 + len(json.dumps(run.obj["tools"])) // 6 + len(history) // 4
        step["usage"] = {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": prompt + completion_tokens}
        for key, value in step["usage"].items():
            run.usage[key] += value

    def _model_turn(self, run: _Run, reply: Reply, rng: random.Random, frames: list[_Frame], submitted: bool) -> None:
        """What the run streams for one scripted model turn: a message step, a tool step, or both."""
        least = self.after_submission if submitted else self.first_step
        first_token = max(reply.first_token, least) * rng.uniform(0.8, 1.25)
        if reply.text or not reply.tool_calls:
            self._message_step(run, reply, rng, frames, first_token)
            first_token = 0.05
        if reply.tool_calls:
            self._tool_step(run, reply, rng, frames, first_token)
            return
        delay = self._pause(rng, 0.04)
        run.obj.update(status="completed", completed_at=self._now(), usage=dict(run.usage))
        self._emit(frames, delay, "thread.run.completed", run.obj)
        frames.append(_Frame(self._pause(rng, 0.005), encode_event(SSEEvent(data="[DONE]", event="done"))))

    def _message_step(self, run: _Run, reply: Reply, rng: random.Random, frames: list[_Frame], first_token: float) -> None:
        thread_id = run.obj["thread_id"]
        message_id = self._id("msg")
        self._clock += first_token
        step = self._step(run, "message_creation", {"type": "message_creation", "message_creation": {"message_id": message_id}})
        self._emit(frames, first_token, "thread.run.step.created", step)
        self._emit(frames, self._pause(rng, 0.004), "thread.run.step.in_progress", step)
        message = {
            "id": message_id,
            "object": "thread.message",
            "created_at": self._now(),
            "assistant_id": run.agent["id"],
            "thread_id": thread_id,
            "run_id": run.obj["id"],
            "status": "in_progress",
            "incomplete_details": None,
            "incomplete_at": None,
            "completed_at": None,
            "role": "assistant",
            "content": [],
            "attachments": [],
            "metadata": {},
        }
        self._emit(frames, self._pause(rng, 0.008), "thread.message.created", message)
        self._emit(frames, self._pause(rng, 0.004), "thread.message.in_progress", message)
        pieces = tokens(reply.text)
        for i, piece in enumerate(pieces):
            # As on the service, only the first delta of a text part carries `annotations`.
            text: dict[str, Any] = {"value": piece, "annotations": []} if i == 0 else {"value": piece}
            delta = {"id": message_id, "object": "thread.message.delta", "delta": {"content": [{"index": 0, "type": "text", "text": text}]}}
            self._emit(frames, self._pause(rng, reply.gap * rng.lognormvariate(0, 0.45)), "thread.message.delta", delta)
        self._count_usage(run, step, max(1, len(pieces)))
        delay = self._pause(rng, 0.03)
        message.update(status="completed", completed_at=self._now(), content=[{"type": "text", "text": {"value": reply.text, "annotations": []}}])
        self._emit(frames, delay, "thread.message.completed", message)
        self.messages[thread_id].append(json.loads(json.dumps(message)))
        delay = self._pause(rng, 0.02)
        step.update(status="completed", completed_at=self._now())
        self._emit(frames, delay, "thread.run.step.completed", step)

    def _tool_step(self, run: _Run, reply: Reply, rng: random.Random, frames: list[_Frame], first_token: float) -> None:
        calls = [{"id": self._id("call"), "type": "function", "function": {"name": c.name, "arguments": c.arguments, "output": None}} for c in reply.tool_calls]
        self._clock += first_token
        step = self._step(run, "tool_calls", {"type": "tool_calls", "tool_calls": []})
        self._emit(frames, first_token, "thread.run.step.created", step)
        self._emit(frames, self._pause(rng, 0.004), "thread.run.step.in_progress", step)
        completion_tokens = 0
        for index, (call, scripted) in enumerate(zip(calls, reply.tool_calls)):
            # The first delta of each call names the function with empty arguments; fragments follow.
            header = {"index": index, "id": call["id"], "type": "function", "function": {"name": scripted.name, "arguments": "", "output": None}}
            self._emit(frames, self._pause(rng, reply.gap), "thread.run.step.delta", self._step_delta(step, header))
            for fragment in fragments(scripted, rng):
                piece = {"index": index, "type": "function", "function": {"arguments": fragment}}
                self._emit(frames, self._pause(rng, reply.gap * rng.lognormvariate(0, 0.45)), "thread.run.step.delta", self._step_delta(step, piece))
                completion_tokens += 1
        step["step_details"] = {"type": "tool_calls", "tool_calls": calls}
        self._count_usage(run, step, completion_tokens + 4 * len(calls))
        run.pending_step = step
        required = [{"id": c["id"], "type": "function", "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}} for c in calls]
        delay = self._pause(rng, 0.05)
        run.obj.update(status="requires_action", required_action={"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": required}})
        self._emit(frames, delay, "thread.run.requires_action", run.obj)
        frames.append(_Frame(self._pause(rng, 0.005), encode_event(SSEEvent(data="[DONE]", event="done"))))

    @staticmethod
    def _step_delta(step: dict[str, Any], call: dict[str, Any]) -> dict[str, Any]:
        return {"id": step["id"], "object": "thread.run.step.delta", "delta": {"step_details": {"type": "tool_calls", "tool_calls": [call]}}}

    @staticmethod
    def run_states(frames: list[_Frame], start: float, queued: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
        """The run objects a stream passes through, each with when it is sent (`start` plus the frames' delays)."""
        at, states, parser = start, [(start, queued)], SSEParser()
        for frame in frames:
            at += frame.delay
            for event in parser.feed(frame.data):
                name = event.event or ""
                if name.startswith("thread.run.") and not name.startswith("thread.run.step"):
                    states.append((at, json.loads(event.data)))
        return states

    def _answer(self, body: dict[str, Any], frames: list[_Frame], queued: dict[str, Any]) -> Response:
        if not body.get("stream"):
            # Without stream the service answers at once with the queued run; polling GET .../runs/{id} sees the rest.
            return JSONResponse(queued)
        return StreamingResponse(self._paced(frames), media_type="text/event-stream; charset=utf-8")

    @staticmethod
    async def _paced(frames: list[_Frame]) -> AsyncIterator[bytes]:
        for frame in frames:
            await asyncio.sleep(frame.delay)
            yield frame.data
