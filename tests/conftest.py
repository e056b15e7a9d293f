"""Shared test set-up: every test runs in replay mode at full speed, against a fresh replay server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labs.replay import reset_default_server
from tests.nbval_support import kernels_over_ipc


def pytest_configure(config: pytest.Config) -> None:
    kernels_over_ipc()  # the kernels tests start (nbclient) talk over IPC: no TCP warning in the output


@pytest.fixture(autouse=True)
def replay_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LABS_MODE", "replay")
    monkeypatch.setenv("LABS_REPLAY_SPEED", "0")
    monkeypatch.delenv("LABS_FIXTURES", raising=False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GITHUB_TOKEN", "LABS_MODEL", "PROJECT_ENDPOINT", "MODEL_DEPLOYMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    yield
    reset_default_server()
