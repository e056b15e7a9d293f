"""The layout shows the architecture: the offline service, the course machinery and the learner's helpers stay apart.

- `labs/replay/` imports nothing from `labs` but itself and `labs.config` (the settings both layers read);
- nothing outside `labs/replay/` imports a private name from it;
- the top of `labs/` is what a learner imports: no replay plumbing there;
- every lesson notebook has its folder in `labs/lessons/`, with a checks module when it has exercises.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

LABS = Path(__file__).resolve().parent.parent / "labs"
SOLUTIONS = LABS.parent / "solutions"
LEARNER_MODULES = {
    "azure_events", "bench", "checks", "chat", "clients", "config", "demos", "display", "errors", "fixtures", "grading", "i18n",
    "lessons", "metrics", "progress", "randomness", "recordings", "replay", "reply", "resilience", "timeline", "toolcalls", "web", "workbook",
}  # fmt: skip


def imported_modules(path: Path, source: str | None = None) -> list[tuple[str, list[str]]]:
    """Each `labs...` module a file imports (relative imports resolved), with the names it takes from it."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    package = list(path.relative_to(LABS.parent).parts[:-1])  # where the file's relative imports start (for __init__ too)
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return [(m, names) for m, names in found if m == "labs" or m.startswith("labs.")]


def replay_violations(path: Path, source: str | None = None) -> list[str]:
    return [
        f"{path.relative_to(LABS.parent)} imports {module}"
        for module, _ in imported_modules(path, source)
        if not (module == "labs.replay" or module.startswith("labs.replay.") or module == "labs.config")
    ]


def test_the_replay_service_imports_only_itself_and_the_settings() -> None:
    problems = [p for path in sorted((LABS / "replay").rglob("*.py")) for p in replay_violations(path)]
    assert problems == []


def test_the_import_rule_catches_an_upward_import() -> None:
    server = LABS / "replay" / "server.py"
    assert replay_violations(server, "from ..lessons import author\n") == ["labs/replay/server.py imports labs.lessons"]
    assert replay_violations(server, "from ..clients import RECORDED_MODEL\n") == ["labs/replay/server.py imports labs.clients"]
    assert replay_violations(LABS / "replay" / "surfaces" / "azure.py", "from ...toolcalls import ToolCall\n") != []
    assert replay_violations(server, "from .cassette import Cassette\nfrom ..config import settings\n") == []


def test_nothing_outside_the_service_imports_its_private_names() -> None:
    outside = [p for p in sorted(LABS.rglob("*.py")) if (LABS / "replay") not in p.parents]
    outside += sorted((LABS.parent / "tests").rglob("*.py"))
    problems = [
        f"{path.relative_to(LABS.parent)} imports {module}.{name}"
        for path in outside
        for module, names in imported_modules(path)
        if module.startswith("labs.replay")
        for name in names
        if name.startswith("_")
    ]
    assert problems == []
    caught = imported_modules(LABS / "web" / "app.py", "from ..replay.server import _QuietDrops\n")
    assert caught == [("labs.replay.server", ["_QuietDrops"])]  # the rule above would name it


def test_the_top_of_labs_is_what_a_learner_imports() -> None:
    top = {p.stem for p in LABS.glob("*.py") if p.stem != "__init__"} | {p.name for p in LABS.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert top == LEARNER_MODULES, "a new top-level module: is it for the learner? replay plumbing goes in labs/replay/"


def _calls_check(notebook: Path) -> bool:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return any("labs.check(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_every_lesson_has_its_folder(notebook: Path) -> None:
    folder = LABS / "lessons" / f"lesson_{notebook.name[:2]}"
    assert (folder / "__init__.py").exists() and (folder / "scenarios.py").exists(), f"{notebook.name} needs {folder.relative_to(LABS.parent)}/"
    assert (folder / "checks.py").exists() == _calls_check(notebook), "a lesson with exercises has checks.py, and only then"
    assert (LABS / "fixtures" / notebook.stem).is_dir(), f"{notebook.name}'s fixtures go in labs/fixtures/{notebook.stem}/"


def test_the_long_files_started_first_exist() -> None:
    from tests.conftest import LONG_FIRST

    missing = [name for name in LONG_FIRST if not (Path(__file__).parent / name).is_file()]
    assert not missing, f"tests/conftest.py LONG_FIRST names files that are gone: {missing}"


def test_every_lesson_has_a_unit_test_file_by_name() -> None:
    from labs.lessons import lesson_tests

    lessons = [notebook.name[:2] for notebook in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))]
    without = [lesson for lesson in lessons if not lesson_tests(lesson)]
    assert lessons and without == [], f"`make test-lesson` finds no unit tests for lessons {without}: name one tests/test_lesson_NN_<topic>.py"
