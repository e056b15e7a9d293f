"""Every fixture in labs/fixtures replays through its real SDK, with the SDK validating every object strictly."""

from __future__ import annotations

import openai
import pytest

from labs.replay.cassette import Cassette, Interaction, load_cassettes
from labs.config import FIXTURES_DIR

CASSETTES = load_cassettes([FIXTURES_DIR])
OPENAI = [c for c in CASSETTES if c.surface == "openai"]


def test_there_are_fixtures_for_every_surface() -> None:
    assert {c.surface for c in CASSETTES} >= {"openai"}
    assert all(c.comment and "Say here what is special" not in c.comment for c in CASSETTES)


def _is_faulty(interaction: Interaction) -> bool:
    response = interaction.response
    return bool(response.fault) or any(e.raw is not None for e in response.events or [])


@pytest.mark.parametrize("cassette", OPENAI, ids=lambda c: c.name)
def test_openai_fixture_parses_in_the_sdk(cassette: Cassette) -> None:
    import labs

    # Strict validation makes the SDK build every chunk and event as its pydantic model, so a fixture
    # with a missing or mistyped field fails here instead of in a notebook. Fault fixtures must fail
    # the way they say: an error status as the SDK's status error, a drop, stall or malformed line as an
    # exception after the events before it parsed.
    for interaction in cassette.interactions:
        fault = interaction.response.fault or {}
        timeout = max(0.5, float(fault["stall_seconds"]) / 3) if "stall_after" in fault else 60
        client = labs.openai_client(_strict_response_validation=True, max_retries=0, timeout=timeout)
        body = dict(interaction.request.body)
        endpoint = client.chat.completions if interaction.request.path.endswith("/chat/completions") else client.responses
        if interaction.response.status >= 400:
            with pytest.raises(openai.APIStatusError) as info:
                endpoint.create(**body)
            assert info.value.status_code == interaction.response.status
            continue
        result = endpoint.create(**body)
        if not body.get("stream"):
            assert result.id
            continue
        items: list = []
        if _is_faulty(interaction):
            with pytest.raises(Exception):  # noqa: B017 - which exception depends on the fault; the point is that it surfaces
                items.extend(result)
            assert items, f"{cassette.name}: nothing parsed before the fault"
            continue
        items = list(result)
        assert items, f"{cassette.name}: the SDK yielded nothing"
        if endpoint is client.responses:
            assert items[-1].type == "response.completed", f"{cassette.name}: a Responses stream must end with response.completed"
