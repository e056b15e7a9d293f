"""The web app's API fuzzed: schemathesis from its own OpenAPI schema, in-process, then hand-made hostile requests.

Schemathesis generates requests that fit the schema (positive) and that break it (negative: wrong types,
missing fields, values out of range) for every operation, calls the app through its ASGI transport and
checks each response: never a 5xx, a status code and content type the schema documents, a body that
matches the documented schema (for the event stream, every SSE event), valid input accepted and invalid
input refused. The streams are answered by a backend that echoes the message, so the budget goes to the
API (validation, the guard, the relay and its framing) rather than to replay misses; `/chat/prompts` reads
the real fixtures. The budget is fixed (`derandomize=True`, no example database), about 15 s in all.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from labs.web import MAX_MESSAGE_CHARS, create_app
from labs.web.backends import Backend, BackendName
from labs.web.events import BackendEvent, TextDeltaEvent, ToolComplete, ToolStart
from labs.web.guard import MAX_BODY_BYTES

EXAMPLES = {GenerationMode.POSITIVE: 100, GenerationMode.NEGATIVE: 100}
STATUSES: Counter[int] = Counter()  # every status this file saw, printed at the end (`pytest -s`)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    print(f"\nweb API fuzzing: {sum(STATUSES.values())} requests, statuses {dict(sorted(STATUSES.items()))}")


class EchoBackend(Backend):
    """Answers with the message itself, in pieces, around a tool round: every event kind, no I/O."""

    title = "echo"
    instructions = ""

    def __init__(self, name: BackendName) -> None:
        self.name = name

    async def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        yield ToolStart("echo", json.dumps({"message": message}))
        yield ToolComplete("echo", message)
        for start in range(0, len(message), 7):
            yield TextDeltaEvent(message[start : start + 7])

    def prompt_in(self, cassette: Any) -> str | None:
        return None


def app() -> Any:
    names: tuple[BackendName, ...] = ("chat", "agents", "azure", "sk")
    return create_app({name: EchoBackend(name) for name in names})


SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", app())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def test_the_schema_documents_every_route_and_refusal() -> None:
    assert sorted(op.label for op in OPERATIONS) == ["GET /chat/prompts", "GET /chat/stream", "POST /chat/stream"]
    for op in OPERATIONS:
        assert {"403", "413"} <= set(op.definition.raw["responses"]), op.label


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_fuzzed_requests_get_no_5xx_and_every_response_conforms(operation: Any, mode: GenerationMode) -> None:
    seen: Counter[int] = Counter()

    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: Any) -> None:
        response = case.call()
        seen[response.status_code] += 1
        case.validate_response(response)  # schemathesis's checks: no 5xx, documented status, type and schema

    fuzz()
    STATUSES.update(seen)
    assert seen and all(status < 500 for status in seen), seen
    if mode is GenerationMode.NEGATIVE and operation.label != "GET /chat/prompts":  # its only parameter has a default
        assert seen[422] > 0, seen  # invalid input was generated, and refused


# -- hand-made hostile requests ---------------------------------------------------------------------


@pytest.fixture
def client() -> Iterator[httpx.AsyncClient]:
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://127.0.0.1:8000")


def nested(depth: int) -> bytes:
    return b'{"message": ' + b"[" * depth + b"]" * depth + b"}"


JSON = {"Content-Type": "application/json"}
HOSTILE: list[tuple[str, dict[str, Any], int, str]] = [
    ("huge-declared", {"content": b"x" * (MAX_BODY_BYTES * 16), "headers": JSON}, 413, "body_too_large"),
    ("huge-json-message", {"json": {"message": "x" * (MAX_BODY_BYTES + 1)}}, 413, "body_too_large"),
    ("longest-message-plus-one", {"json": {"message": "é" * (MAX_MESSAGE_CHARS + 1)}}, 422, "string_too_long"),
    ("text-plain", {"content": b'{"message": "hi"}', "headers": {"Content-Type": "text/plain"}}, 422, "model_attributes_type"),
    ("form", {"data": {"message": "hi"}}, 422, "model_attributes_type"),
    ("no-content-type", {"content": b'{"message": "hi"}'}, 422, "model_attributes_type"),
    ("bad-json", {"content": b'{"message": "hi",', "headers": JSON}, 422, "json_invalid"),
    ("not-utf8", {"content": b'{"message": "\xff\xfe"}', "headers": JSON}, 422, "json_unreadable"),
    ("not-utf8-alone", {"content": b"\xff", "headers": JSON}, 422, "json_unreadable"),
    ("lone-surrogate", {"content": b'{"message": "\\ud800"}', "headers": JSON}, 422, "string_unicode"),
    ("nul-in-message", {"json": {"message": "a\u0000b"}}, 200, ""),
    ("empty-body", {"content": b"", "headers": JSON}, 422, "missing"),
    ("json-null", {"content": b"null", "headers": JSON}, 422, "model_attributes_type"),
    ("json-list", {"content": b"[]", "headers": JSON}, 422, "model_attributes_type"),
    ("message-object", {"json": {"message": {"$gt": ""}}}, 422, "string_type"),
    ("backend-list", {"json": {"message": "hi", "backend": ["chat"]}}, 422, "literal_error"),
    ("nested-500", {"content": nested(500), "headers": JSON}, 422, "string_type"),
    ("nested-5000", {"content": nested(5_000), "headers": JSON}, 422, "json_too_deep"),
    ("nested-30000", {"content": nested(30_000), "headers": JSON}, 422, "json_too_deep"),
    ("huge-number", {"content": b'{"message": 1' + b"0" * 5000 + b"}", "headers": JSON}, 422, "json_unreadable"),
    ("json-upper-case-type", {"content": b"\xff", "headers": {"Content-Type": "Application/JSON"}}, 422, "json_unreadable"),
    ("duplicate-keys", {"content": b'{"message": "hi", "message": ""}', "headers": JSON}, 422, "string_too_short"),
]


@pytest.mark.parametrize(("options", "status", "kind"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
async def test_a_hostile_post_gets_a_clear_4xx_or_a_clean_stream(client: httpx.AsyncClient, options: dict[str, Any], status: int, kind: str) -> None:
    async with client:
        response = await client.post("/chat/stream", **options)
    STATUSES[response.status_code] += 1
    assert response.status_code == status, response.text[:300]
    if status == 200:
        assert response.text.rstrip().endswith("}") and "event: response_complete" in response.text
        return
    entries = response.json()["detail"]
    assert isinstance(entries, list) and all({"loc", "msg", "type"} <= set(e) for e in entries), entries
    assert not kind or kind in [e["type"] for e in entries], entries


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/chat/stream", {"message": "x" * 20_000}),
        ("/chat/stream", {"message": "hi", "backend": "chat", "extra": "1" * 1000}),
        ("/chat/stream", [("message", "a"), ("message", "b")]),
        ("/chat/stream", {"message": "\u202e\u0000\ufeff"}),
        ("/chat/prompts", {"backend": "../../etc/passwd"}),
        ("/chat/prompts", [("backend", "chat"), ("backend", "sk")]),
        ("/static/../app.py", {}),
        ("/static/%2e%2e/app.py", {}),
        ("/chat/stream?message=%ED%A0%80%FF", {}),
        ("/chat/stream?message=%", {}),
        ("/nowhere", {}),
    ],
    ids=[
        "long-query", "unknown-param", "repeated-param", "control-chars", "traversal-backend", "repeated-backend", "traversal",
        "encoded-traversal", "not-utf8-query", "bad-percent", "unknown-path",
    ],  # fmt: skip
)
async def test_a_hostile_get_gets_no_5xx(client: httpx.AsyncClient, path: str, params: Any) -> None:
    async with client:
        response = await client.get(path, params=params)
    STATUSES[response.status_code] += 1
    assert response.status_code < 500 and "Traceback" not in response.text, response.text[:300]
    if response.status_code >= 400:
        assert "detail" in response.json()
    assert "import " not in response.text  # no source file served


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
async def test_other_methods_are_a_405(client: httpx.AsyncClient, method: str) -> None:
    async with client:
        response = await client.request(method, "/chat/stream")
    STATUSES[response.status_code] += 1
    assert response.status_code == 405 and response.json() == {"detail": "Method Not Allowed"}
