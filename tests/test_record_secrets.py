"""Record mode stores no secret: not in a path, a body, an upstream's echo of it, nor a file name.

The requests go through the real record proxy to a loopback upstream that echoes everything it received
(headers, query and body) in its stream, its JSON error and its text error, as a careless service might.
Then every byte under the record folder, names included, is searched for every secret.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from labs.replay import ReplayServer
from labs.replay.cassette import load_cassette
from labs.replay.loopback import LoopbackServer
from labs.replay.recording import REDACTED, Recorder


def secret(label: str) -> str:
    return f"{label}-{hashlib.sha256(label.encode()).hexdigest()[:20]}"


SECRETS = {
    "header_bearer": secret("hdrBearer"),
    "header_api_key": secret("hdrApiKey"),
    "header_x_api_key": secret("hdrXApiKey"),
    "header_cookie": secret("hdrCookie"),
    "header_subscription_key": secret("hdrOcpApim"),
    "query_api_key": secret("qApiKey"),
    "query_sas_sig": secret("qSasSig") + "+/=",  # a SAS signature is base64: it travels URL-encoded
    "query_key": secret("qKey"),
    "query_access_token": secret("qAccessToken"),
    "body_api_key": secret("bApiKey"),
    "body_nested_client_secret": secret("bClientSecret"),
    "body_token_in_list": secret("bToken"),
    "body_password": secret("bPassword"),
    "body_authorization": secret("bAuthorization"),
}


def _echo(request: Request, body: dict) -> str:
    return json.dumps({"headers": dict(request.headers), "query": request.url.query, "body": body})


async def _chat(request: Request) -> Response:
    """A careless service: whatever it answers repeats every credential it was sent."""
    body = json.loads(await request.body())
    echo = _echo(request, body)
    if body.get("stream"):
        chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": echo}}]}
        wire = f"id: {request.url.query}\ndata: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
        return StreamingResponse(iter([wire.encode()]), media_type="text/event-stream")
    if body.get("fail") == "json":
        error = {"error": {"message": f"Incorrect API key provided: {echo}", "type": "invalid_request_error", "code": "invalid_api_key"}}
        return JSONResponse(error, status_code=401, headers={"retry-after": SECRETS["header_bearer"]})
    return PlainTextResponse(f"denied: {echo}", status_code=403)


def _request_body(**extra: object) -> dict:
    # The credential fields come last: the end of the body is what a recorded fixture is named after.
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Count to three."}],
        **extra,
        "api_key": SECRETS["body_api_key"],
        "settings": {"level": 1, "client_secret": SECRETS["body_nested_client_secret"]},
        "extra": [{"token": SECRETS["body_token_in_list"]}],
        "password": SECRETS["body_password"],
        "Authorization": SECRETS["body_authorization"],
    }


def _forms(value: str) -> set[str]:
    """The ways a value can be written: as is, URL-encoded, JSON-escaped, and its distinctive part in any case."""
    return {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], value.split("-")[1][:20]}


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, list[httpx.Response]]:
    upstream = LoopbackServer(Starlette(routes=[Route("/v1/chat/completions", _chat, methods=["POST"])]), name="echo-upstream").start()
    folder = tmp_path / "recorded"
    headers = {
        "authorization": f"Bearer {SECRETS['header_bearer']}",
        "api-key": SECRETS["header_api_key"],
        "x-api-key": SECRETS["header_x_api_key"],
        "cookie": f"session={SECRETS['header_cookie']}",
        "ocp-apim-subscription-key": SECRETS["header_subscription_key"],
    }
    query = {
        "api-key": SECRETS["query_api_key"],
        "sv": "2022-11-02",
        "sig": SECRETS["query_sas_sig"],
        "key": SECRETS["query_key"],
        "access_token": SECRETS["query_access_token"],
    }
    try:
        with ReplayServer(mode="record", upstreams={"openai": upstream.url + "/v1"}, record_dir=folder) as proxy:
            url = proxy.openai_base_url + "/chat/completions"
            with httpx.Client(headers=headers, params=query, timeout=30) as client:
                answers = [
                    client.post(url, json=_request_body(stream=True)),
                    client.post(url, json=_request_body(fail="json")),
                    client.post(url, json=_request_body(fail="text")),
                ]
    finally:
        upstream.stop()
    return folder, answers


def test_no_secret_reaches_any_file_name_or_byte_in_the_record_folder(recorded: tuple[Path, list[httpx.Response]]) -> None:
    folder, answers = recorded
    # The proxy passed every credential on: the upstream echoed them, and the caller got the echo unchanged.
    assert [a.status_code for a in answers] == [200, 401, 403]
    assert all(value in answers[1].text or quote_plus(value) in answers[1].text for value in SECRETS.values())
    written = [p for p in folder.rglob("*") if p.is_file()]
    assert written, "record mode wrote nothing"
    stored = "\n".join(p.relative_to(folder.parent).as_posix() for p in written) + "\n".join(p.read_text() for p in written)
    leaked = {label for label, value in SECRETS.items() if any(form.lower() in stored.lower() for form in _forms(value))}
    assert leaked == set(), f"{len(leaked)} of {len(SECRETS)} secrets written: {sorted(leaked)}"
    # What was stored is still a usable fixture, with the credentials visibly masked.
    interactions = [i for p in written for i in load_cassette(p).interactions]
    assert len(interactions) == 3 and REDACTED in stored
    assert all("api-key=%3Credacted%3E" in i.request.path and "sv=2022-11-02" in i.request.path for i in interactions)
    assert all(i.request.body["messages"] == [{"role": "user", "content": "Count to three."}] for i in interactions)
    assert all(i.request.body["settings"]["level"] == 1 for i in interactions)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../x", "climbs out"),
        ("mine/../../x", "climbs out"),
        ("..\\..\\x", "climbs out"),
        ("/tmp/x", "absolute path"),
        ("C:/x", "absolute path"),
        ("Mine", "a-z, 0-9"),
        ("mine/first.yaml", "a-z, 0-9"),
        ("mine//first", "a-z, 0-9"),
        ("mine first", "a-z, 0-9"),
        ("x" * 300, "at most 200"),
        ("", "non-empty"),
    ],
)
def test_pin_refuses_a_name_that_is_not_a_slug_in_the_record_folder(tmp_path: Path, name: str, reason: str) -> None:
    recorder = Recorder(tmp_path / "recorded")
    with pytest.raises(ValueError, match=reason):
        recorder.pin(name)
    assert recorder._pinned is None


def test_pin_refuses_a_link_that_leads_out_of_the_record_folder(tmp_path: Path) -> None:
    (tmp_path / "recorded").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "recorded" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(ValueError, match="leads out of the record folder"):
        Recorder(tmp_path / "recorded").pin("link/x")


def test_pin_accepts_a_lesson_and_scenario_name(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "recorded")
    recorder.pin("03_streamed_tool_calls/two_cities", "a comment")
    assert recorder._pinned is not None and recorder._pinned.path == tmp_path / "recorded" / "03_streamed_tool_calls" / "two_cities.yaml"
