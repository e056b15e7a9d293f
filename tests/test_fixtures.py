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


def _recorded_objects(interaction: Interaction) -> list[dict]:
    """The JSON objects the recording holds, one per event, in order ([DONE] and malformed lines left out)."""
    return [e.json() for e in interaction.response.events or [] if e.raw is None and isinstance(e.json(), dict)]


@pytest.mark.parametrize("cassette", OPENAI, ids=lambda c: c.name)
def test_openai_fixture_parses_in_the_sdk_to_what_was_recorded(cassette: Cassette) -> None:
    import labs

    # Strict validation makes the SDK build every chunk and event as its pydantic model, so a fixture with a
    # missing or mistyped field fails here instead of in a notebook; each object it built must then be the one
    # recorded, field for field, in the recorded order (a mutation the old test missed: the replay server skipping
    # an event). Fault fixtures must fail the way they say: an error status as the SDK's status error, a drop,
    # stall or malformed line as an exception after exactly the events before it.
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
            assert info.value.body == (interaction.response.body or {}).get("error", interaction.response.body)
            continue
        result = endpoint.create(**body)
        if not body.get("stream"):
            if isinstance(interaction.response.body, dict):
                assert result.to_dict() == interaction.response.body
            else:  # a stream recording answering a request without stream: the final object of that stream
                assert result.id == _recorded_objects(interaction)[0].get("id", result.id)
            continue
        items: list = []
        recorded = _recorded_objects(interaction)
        if _is_faulty(interaction):
            with pytest.raises(Exception):  # noqa: B017 - which exception depends on the fault; the point is that it surfaces
                items.extend(result)
            before = next((i for i, e in enumerate(interaction.response.events or []) if e.raw is not None), fault.get("drop_after", fault.get("stall_after")))
            assert items, f"{cassette.name}: nothing parsed before the fault"
            assert [item.to_dict() for item in items] == _recorded_objects_until(interaction, before)
            continue
        items = list(result)
        assert [item.to_dict() for item in items] == recorded, f"{cassette.name}: the SDK's objects differ from the recording"
        if endpoint is client.responses:
            assert items[-1].type == "response.completed", f"{cassette.name}: a Responses stream must end with response.completed"


def _recorded_objects_until(interaction: Interaction, end: int | None) -> list[dict]:
    events = (interaction.response.events or [])[:end]
    return [e.json() for e in events if isinstance(e.json(), dict)]
