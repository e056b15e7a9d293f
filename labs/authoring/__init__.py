"""How this repository's fixtures are made: record mode, with a scripted stand-in as the live service.

Each scenario names its fixture, says what is special about it, scripts what the "model" answers, and
runs the SDK calls exactly as the lesson makes them, through the `labs` client factories in
`LABS_MODE=record`. The replay server proxies those calls to the stand-in and writes the fixture, so the
recorded requests are byte for byte what the SDKs send, and the recorded timings are measured.

Regenerate with `python -m labs.authoring [name-prefix ...]`. To record from the real service instead,
run the lesson with `LABS_MODE=record` and a key in `.env` (see labs/fixtures/README.md).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import pkgutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from ..clients import RECORDED_AZURE_MODEL
from ..config import FIXTURES_DIR
from .standin import Reply, StandIn, ToolCall

__all__ = ["Reply", "Scenario", "ToolCall", "author", "all_scenarios", "recording_environment"]


@dataclass
class Scenario:
    name: str  # "<lesson folder>/<scenario>", the fixture's path below labs/fixtures without .yaml
    comment: str
    replies: list[Reply]
    run: Callable[[], Any]  # the lesson's SDK calls; may be async
    surface: str = "openai"


@contextmanager
def recording_environment(standin_url: str, record_dir: str, azure_endpoint: str | None = None) -> Iterator[None]:
    """Environment for record mode against a stand-in; restored afterwards."""
    from .. import replay

    patch = {
        "LABS_MODE": "record",
        "LABS_REPLAY_SPEED": "0",
        "OPENAI_API_KEY": "authoring-stand-in-placeholder-not-a-key",
        "OPENAI_BASE_URL": standin_url,
        "LABS_RECORD_DIR": record_dir,
    }
    if azure_endpoint:
        patch["PROJECT_ENDPOINT"] = azure_endpoint
        patch["MODEL_DEPLOYMENT_NAME"] = RECORDED_AZURE_MODEL
    saved = {k: os.environ.get(k) for k in patch}
    os.environ.update(patch)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if replay._default is not None:
            replay._default.stop()
            replay._default = None


def all_scenarios() -> list[Scenario]:
    """Every scenario defined in the `labs.authoring.lesson_*` modules."""
    found: list[Scenario] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith(("lesson_", "sdk_")):
            found.extend(importlib.import_module(f"{__name__}.{info.name}").SCENARIOS)
    return found


def _run(call: Callable[[], Any]) -> Any:
    result = call()
    return asyncio.run(result) if inspect.isawaitable(result) else result


def author(scenarios: list[Scenario], record_dir: str | None = None) -> None:
    """Record each scenario through the real SDKs into fixtures."""
    from ..replay import default_server

    folder = record_dir or str(FIXTURES_DIR)
    azure = [s for s in scenarios if s.surface == "azure"]
    with StandIn() as standin, _azure_standin(bool(azure)) as azure_url, recording_environment(standin.base_url, folder, azure_url):
        for scenario in scenarios:
            target = standin if scenario.surface == "openai" else _AZURE[0]
            target.script(*scenario.replies)
            server = default_server()
            httpx.post(f"{server.url}/_labs/record-as", json={"name": scenario.name, "comment": scenario.comment, "surface": scenario.surface}).raise_for_status()
            _run(scenario.run)
            httpx.post(f"{server.url}/_labs/record-as", json={"name": None}).raise_for_status()
            if target.replies:
                raise RuntimeError(f"{scenario.name}: {len(target.replies)} scripted replies were not requested")
            print(f"recorded {scenario.name}", file=sys.stderr)


_AZURE: list[Any] = []


@contextmanager
def _azure_standin(needed: bool) -> Iterator[str | None]:
    if not needed:
        yield None
        return
    from .standin_azure import AzureStandIn

    with AzureStandIn() as standin:
        _AZURE[:] = [standin]
        yield standin.endpoint
