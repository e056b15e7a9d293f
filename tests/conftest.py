"""Shared test set-up: every test runs in replay mode at full speed, against a fresh replay server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labs.replay import reset_default_server
from tests.nbval_support import kernels_over_ipc


# The files that spend a minute or more in kernels, a browser or paced streams start first, so that the workers of
# `make test-unit` (--dist loadfile: a file stays on one worker) finish together, not one waiting on a long last file.
LONG_FIRST = (
    "test_live_drill.py", "test_workbench.py", "test_refresh.py", "test_jupyterlab.py", "test_grade_class.py",
    "test_chat.py", "test_lessons_runner.py", "test_web.py", "test_bench.py", "test_workspace.py", "test_classroom.py",
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    kernels_over_ipc()  # the kernels tests start (nbclient) talk over IPC: no TCP warning in the output


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the others keep their order


@pytest.fixture(autouse=True)
def replay_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LABS_MODE", "replay")
    monkeypatch.setenv("LABS_REPLAY_SPEED", "0")
    monkeypatch.delenv("LABS_FIXTURES", raising=False)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "GITHUB_TOKEN", "LABS_MODEL", "PROJECT_ENDPOINT", "MODEL_DEPLOYMENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    yield
    reset_default_server()
