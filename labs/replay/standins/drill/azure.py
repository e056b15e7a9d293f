"""The drill Azure AI Agents service: the authoring stand-in's REST API, answered by the drill's model, over https.

Every model turn is computed from what the run knows (the agent's tools and instructions, the thread's
messages, this run's tool results): tool calls first when function tools are offered, then, after the
outputs are submitted, an answer that quotes them. It paces runs like the service, scaled by `pace`
(1 = real time): the first run step about 2 s after the run starts, the next one 4 to 6 s after each
tool-output submission, deltas a few tens of ms apart. A run created without `stream` moves on in wall-clock
time, so polling (`create_and_process`) sees queued, in_progress, then the outcome when it is due.
Ids have the service's shape (`asst_`, `thread_`, `run_`, `step_`, `msg_`, `call_` and 24 characters) from
a seed of the drill's own; timestamps are the real time. Requests below the project need
`Authorization: Bearer <the token its managed-identity endpoint issues>`, as the service needs a valid token.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..azure import AFTER_SUBMISSION, FIRST_STEP, AzureStandIn
from ..base import Reply
from .auth import BearerGate
from .model import Conversation, DrillModel, FunctionSpec, ToolResult, digest

__all__ = ["DrillAzure", "turn_conversation"]

_TOKEN = "drill-token-not-a-real-one"


def turn_conversation(turn: dict[str, Any]) -> Conversation:
    """What the model reads in one Azure turn (see `AzureStandIn._turn_request` for its fields)."""
    messages = turn.get("messages") or []
    question = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    tools = [FunctionSpec(f["name"], f.get("description", ""), f.get("parameters") or {}) for t in turn.get("tools") or [] if t.get("type") == "function" and (f := t.get("function"))]
    choice = turn.get("tool_choice") or "auto"
    forced = ((choice.get("function") or {}).get("name") if isinstance(choice, dict) else None) or None
    results = [ToolResult(r["name"], r["arguments"], str(r["output"])) for r in turn.get("tool_results") or []]
    response_format = turn.get("response_format")
    schema = (response_format.get("json_schema") or {}).get("schema") if isinstance(response_format, dict) and response_format.get("type") == "json_schema" else None
    content = {k: turn.get(k) for k in ("instructions", "tools", "tool_choice", "response_format")}
    return Conversation(
        key=digest("azure", content, messages, [(r.name, r.arguments, r.output) for r in results]),
        instructions=turn.get("instructions") or "",
        question=question,
        tools=tools if forced is None or forced in {t.name for t in tools} else [],
        results=results,
        tool_choice=choice if isinstance(choice, str) and choice in ("auto", "none", "required") else "auto",
        forced=forced if forced in {t.name for t in tools} else None,
        parallel_tool_calls=turn.get("parallel_tool_calls") is not False,
        json_schema=schema,
        temperature=turn.get("temperature"),
    )


class DrillAzure(AzureStandIn):
    """A loopback Azure AI Agents service that answers any run itself; serve it with `use_tls` for the SDK's credential."""

    exports_environment = False  # `drill_services()` hands the environment to the caller instead

    first_step = after_submission = 0.0  # its replies carry the service's waits already, scaled by `pace`

    def __init__(self, seed: int = 2026, pace: float = 0.1, project: str = "drill-lab", deployment: str = "gpt-4o-mini-drill") -> None:
        super().__init__(seed=seed, project=project, deployment=deployment)
        self._ids = random.Random(f"drill-azure:{seed}")
        self._clock = time.time()
        self.model = DrillModel(seed)
        self.pace = pace
        self.token = _TOKEN
        self._timelines: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self.app.add_middleware(BearerGate, prefix=self.base_path + "/", token=self.token, error=self._unauthorised)

    @staticmethod
    def _unauthorised(received: str) -> tuple[int, dict[str, Any]]:
        return 401, {"error": {"code": "PermissionDenied", "message": "The principal does not have a valid token for this project."}}

    def next_reply(self, request: dict[str, Any]) -> Reply:
        """The model's answer to one turn, with the service's wait before its first step."""
        reply = self.model.answer(turn_conversation(request))
        reply.first_token = (AFTER_SUBMISSION if request.get("submitted") else FIRST_STEP) * self.pace
        reply.gap = 0.035  # scaled by `_pause`, like the service's own bookkeeping
        return reply

    # -- time: real, and scaled by the pace ------------------------------------------------------

    def _pause(self, rng: random.Random, seconds: float) -> float:
        seconds *= rng.uniform(0.7, 1.4) * self.pace
        self._clock += seconds
        return seconds

    async def _body(self, request: Request) -> dict[str, Any]:
        self._clock = max(self._clock, time.time())
        return await super()._body(request)

    def _log(self, request: Request) -> None:
        self._clock = max(self._clock, time.time())
        super()._log(request)

    async def _identity_token(self, request: Request) -> Response:
        answer = await super()._identity_token(request)
        if answer.status_code != 200:
            return answer
        issued = json.loads(bytes(answer.body))
        return JSONResponse({**issued, "access_token": self.token})

    # -- a run polled without a stream moves on in wall-clock time -------------------------------

    def _answer(self, body: dict[str, Any], frames: list[Any], queued: dict[str, Any]) -> Response:
        self._timelines[queued["id"]] = self.run_states(frames, time.monotonic(), queued)
        return super()._answer(body, frames, queued)

    async def _get_run(self, request: Request) -> Response:
        timeline = self._timelines.get(request.path_params["run_id"])
        run = self.runs.get(request.path_params["run_id"])
        if timeline is None or run is None or run.obj["status"] in ("cancelling", "cancelled"):
            return await super()._get_run(request)
        self._log(request)
        now = time.monotonic()
        return JSONResponse([state for at, state in timeline if at <= now][-1])
