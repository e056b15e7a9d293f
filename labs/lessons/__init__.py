"""The course machinery, one folder per lesson: what authoring records, and the exercise checkers.

`labs/lessons/lesson_NN/` holds
- `scenarios.py`: the fixtures of the lesson (`SCENARIOS`), each naming its fixture, saying what is
  special about it and scripting what the "model" answers; the lesson's notebook makes the SDK calls, or,
  where it cannot (a recording it only replays), the scenario's own `run` does;
- `checks.py`: the checkers of exercises N.x (`@exercise("N.M")`), which `labs.check` imports on first use.
`sdk_smoke/` and `sdk_azure/` hold scenarios only: one of each SDK call, for the unit tests.

How fixtures are made: record mode, with a scripted stand-in (`labs.replay.standins`) as the live service.
The real SDK calls go through the replay server in `LABS_MODE=record`, which proxies them to the stand-in
and writes the fixture, so the recorded requests are byte for byte what the SDKs send, and the recorded
timings are the stand-in's calibrated pace (a first-token wait and a gap per token, from public measurements
of the service: labs/fixtures/README.md, "Pacing"), seeded, not measurements of a model. A scenario without
`run` (every scenario of lessons 00 to 13 that a cell asks, Azure AI Agents conversations included) is recorded by running its lesson's
notebook, so its prompts live only in the notebook's cells (`from_notebook.py`); a scenario with `run` is
recorded by that function, and says why the notebook cannot make its calls. `python -m labs.lessons list`
shows the scenarios, `python -m labs.lessons record PREFIX...` re-records those whose names start with a
prefix (`03_`, or a full name such as `02_collect_while_streaming/refusal`), `fixtures NN` a whole lesson. To
record from the real service instead, run the lesson with `LABS_MODE=record` and a key in `.env` (see
labs/fixtures/README.md).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..config import FIXTURES_DIR, REPO_ROOT, environment
from ..replay import default_server, reset_default_server
from ..replay.cassette import SurfaceName
from ..replay.standins import STANDINS, Reply, ScriptedServer, ToolCall
from ..replay.surfaces import surface

__all__ = ["Reply", "Scenario", "ToolCall", "all_scenarios", "author", "lesson_tests", "recorded_body", "recording_environment", "select"]


@dataclass
class Scenario:
    name: str  # "<lesson folder>/<scenario>", the fixture's path below labs/fixtures without .yaml
    comment: str
    replies: list[Reply]
    run: Callable[[], Any] | None = None  # the SDK calls to record (may be async); None: the lesson's notebook makes them
    surface: SurfaceName = "openai"

    @property
    def lesson(self) -> str:
        """The lesson number, "02" for `02_collect_while_streaming/refusal` ("" for `sdk_smoke/...`)."""
        head = self.name.split("_", 1)[0]
        return head if head.isdigit() else ""


@contextmanager
def recording_environment(upstreams: dict[SurfaceName, str], record_dir: str | Path) -> Iterator[None]:
    """Environment for record mode with each surface forwarded to the given URL; restored afterwards."""
    patch = {
        "LABS_MODE": "record",
        "LABS_REPLAY_SPEED": "0",
        "OPENAI_API_KEY": "authoring-stand-in-placeholder-not-a-key",
        "LABS_RECORD_DIR": str(record_dir),
        **{surface(name).upstream_variable: url for name, url in upstreams.items()},
    }
    try:
        with environment(patch):
            yield
    finally:
        reset_default_server()


def recorded_body(name: str, index: int = 0) -> Any:
    """The body of request `index` in fixture `name`: what a notebook-authored scenario's cell last sent."""
    from ..replay import load_cassette

    return load_cassette(FIXTURES_DIR / f"{name}.yaml").interactions[index].request.body


_TEST_FILE = re.compile(r"^test_lessons?_(?P<first>\d\d)(?:_(?P<last>\d\d))?(?:_\w+)?\.py$")


def lesson_tests(lesson: str, root: Path = REPO_ROOT) -> list[str]:
    """Lesson NN's unit-test files, by name: `tests/test_lesson_NN[_topic].py`, or `tests/test_lessons_AA_BB[_topic].py` for AA <= NN <= BB."""
    found = []
    for path in sorted((root / "tests").glob("test_lesson*.py")):
        match = _TEST_FILE.match(path.name)
        if match and int(match["first"]) <= int(lesson) <= int(match["last"] or match["first"]):
            found.append(path.relative_to(root).as_posix())
    return found


def all_scenarios() -> list[Scenario]:
    """Every scenario defined in the `labs.lessons.<folder>.scenarios` modules, lesson by lesson."""
    found: list[Scenario] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.ispkg and (Path(__path__[0]) / info.name / "scenarios.py").exists():
            found.extend(importlib.import_module(f"{__name__}.{info.name}.scenarios").SCENARIOS)
    return found


def select(prefixes: list[str]) -> list[Scenario]:
    """The scenarios whose names start with one of the prefixes (`03_`, `02_collect_while_streaming/refusal`)."""
    return [s for s in all_scenarios() if s.name.startswith(tuple(prefixes))]


def _run(call: Callable[[], Any]) -> Any:
    result = call()
    return asyncio.run(result) if inspect.isawaitable(result) else result


def author(scenarios: list[Scenario], record_dir: str | Path | None = None) -> None:
    """Record each scenario through the real SDKs into fixtures below `record_dir` (labs/fixtures), a stand-in playing each surface.

    A scenario without `run` is recorded by running its lesson's solution notebook (`from_notebook.py`).
    """
    folder = record_dir or FIXTURES_DIR
    from_notebook = [s for s in scenarios if s.run is None]
    if from_notebook:
        from .from_notebook import author_lesson

        for lesson in sorted({s.lesson for s in from_notebook}):
            chosen = [s.name for s in from_notebook if s.lesson == lesson]
            print(author_lesson(lesson, record_dir=Path(folder), only=chosen), file=sys.stderr)
    scenarios = [s for s in scenarios if s.run is not None]
    if not scenarios:
        return
    with ExitStack() as stack:
        standins: dict[SurfaceName, ScriptedServer] = {
            name: stack.enter_context(STANDINS[name]()) for name in sorted({s.surface for s in scenarios})
        }
        stack.enter_context(recording_environment({name: s.upstream_url for name, s in standins.items()}, folder))
        for scenario in scenarios:
            target = standins[scenario.surface]
            target.script(*scenario.replies)
            server = default_server()
            pin = {"name": scenario.name, "comment": scenario.comment, "surface": scenario.surface}
            httpx.post(f"{server.url}/_labs/record-as", json=pin).raise_for_status()
            assert scenario.run is not None
            _run(scenario.run)
            httpx.post(f"{server.url}/_labs/record-as", json={"name": None}).raise_for_status()
            if target.replies:
                raise RuntimeError(f"{scenario.name}: {len(target.replies)} scripted replies were not requested")
            print(f"recorded {scenario.name}", file=sys.stderr)
