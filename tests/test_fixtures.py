"""Every fixture in labs/fixtures replays through its real SDK, with the SDK validating every object strictly."""

from __future__ import annotations

import pytest

from labs.cassette import Cassette, load_cassettes
from labs.config import FIXTURES_DIR

CASSETTES = load_cassettes([FIXTURES_DIR])
OPENAI = [c for c in CASSETTES if c.surface == "openai"]


def test_there_are_fixtures_for_every_surface() -> None:
    assert {c.surface for c in CASSETTES} >= {"openai"}
    assert all(c.comment and "Say here what is special" not in c.comment for c in CASSETTES)


@pytest.mark.parametrize("cassette", OPENAI, ids=lambda c: c.name)
def test_openai_fixture_parses_in_the_sdk(cassette: Cassette) -> None:
    import labs

    # Strict validation makes the SDK build every chunk and event as its pydantic model, so a fixture
    # with a missing or mistyped field fails here instead of in a notebook.
    client = labs.openai_client(_strict_response_validation=True, max_retries=0)
    for interaction in cassette.interactions:
        body = dict(interaction.request.body)
        endpoint = client.chat.completions if interaction.request.path.endswith("/chat/completions") else client.responses
        result = endpoint.create(**body)
        if body.get("stream"):
            items = list(result)
            assert items, f"{cassette.name}: the SDK yielded nothing"
            if endpoint is client.responses:
                assert items[-1].type == "response.completed", f"{cassette.name}: a Responses stream must end with response.completed"
        else:
            assert result.id
