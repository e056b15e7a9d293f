"""The service surfaces behind one protocol, and the replay service's public seams."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from azure.core.exceptions import HttpResponseError

from labs.clients import azure_agents_client, openai_client
from labs.replay import ReplayServer, default_server, reset_default_server
from labs.replay.cassette import SURFACE_NAMES
from labs.replay.surfaces import SURFACES, Surface, route

PROTOCOL = [name for name in Surface.__annotations__] + [n for n in vars(Surface) if not n.startswith("_")]


def test_every_surface_name_has_one_module_with_the_whole_protocol() -> None:
    assert tuple(SURFACES) == SURFACE_NAMES
    for name, surface in SURFACES.items():
        assert surface.name == name
        missing = [attribute for attribute in PROTOCOL if not hasattr(surface, attribute)]
        assert missing == [], f"{name} lacks {missing}"


@pytest.mark.parametrize(
    ("url_path", "surface", "path"),
    [
        ("/v1/chat/completions", "openai", "/chat/completions"),
        ("/v1", "openai", "/"),
        ("/api/projects/replay/threads/thread_1/runs", "azure", "/threads/thread_1/runs"),
        ("/api/projects/any-name/assistants", "azure", "/assistants"),
    ],
)
def test_a_url_finds_its_surface(url_path: str, surface: str, path: str) -> None:
    found = route(url_path)
    assert found is not None and (found[0].name, found[1]) == (surface, path)


@pytest.mark.parametrize("url_path", ["/v2/chat/completions", "/v1chat", "/api/projects", "/"])
def test_a_url_no_surface_serves_finds_none(url_path: str) -> None:
    assert route(url_path) is None


def test_each_surface_answers_a_miss_in_its_own_error_shape() -> None:
    with ReplayServer(speed=0) as server:
        with pytest.raises(openai.NotFoundError, match="No recorded response"):
            openai_client(server=server, max_retries=0).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "not recorded"}])
        with pytest.raises(HttpResponseError, match="No recorded response"):
            azure_agents_client(server=server, retry_total=0).threads.get("thread_notrecorded1")


def test_reset_default_server_stops_it_and_the_next_call_starts_another() -> None:
    first = default_server()
    reset_default_server()
    second = default_server()
    assert second is not first and second.port != 0


def test_upstream_points_record_mode_elsewhere_for_a_while(tmp_path: Path) -> None:
    server = ReplayServer(mode="record", upstreams={"openai": "http://127.0.0.1:9/v1"}, record_dir=tmp_path)
    with server.upstream("openai", "http://127.0.0.1:10/v1"), server.upstream("azure", "http://127.0.0.1:11/api/projects/p"):
        assert server.upstreams == {"openai": "http://127.0.0.1:10/v1", "azure": "http://127.0.0.1:11/api/projects/p"}
    assert server.upstreams == {"openai": "http://127.0.0.1:9/v1"}
    server.upstreams["openai"] = "changed"  # a copy: changing it changes nothing
    assert server.upstreams == {"openai": "http://127.0.0.1:9/v1"}


def test_record_mode_answers_an_unreachable_upstream_with_a_502_in_the_service_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder-not-a-key")
    # Port 9 (discard) has no listener on loopback: the connection is refused at once.
    with ReplayServer(mode="record", upstreams={"openai": "http://127.0.0.1:9/v1?api-key=secret-in-url"}, record_dir=tmp_path) as proxy:
        client = openai_client(server=proxy, max_retries=0)
        with pytest.raises(openai.InternalServerError) as info:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert info.value.status_code == 502
    message = str(info.value)
    assert "could not reach the openai service at http://127.0.0.1:9/v1" in message and "ConnectError" in message
    assert "secret-in-url" not in message
    assert list(tmp_path.iterdir()) == []  # nothing recorded
