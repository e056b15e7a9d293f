"""The README's course map points at cells that exist: each `lNN-...` id it names is a cell of lesson NN's solution."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CELL_ID = re.compile(r"`(l(\d\d)-[0-9a-z]+)`")


def cell_ids(lesson: str) -> set[str]:
    (notebook,) = (REPO / "solutions").glob(f"{lesson}_*.ipynb")
    return {cell["id"] for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]}


def missing_cells(text: str) -> list[str]:
    """The cell ids `text` names that no solution notebook has."""
    return sorted({found for found, lesson in CELL_ID.findall(text) if found not in cell_ids(lesson)})


def course_map() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Course map\n", 1)[1].split("\n## ", 1)[0]


def test_every_cell_the_course_map_names_exists() -> None:
    text = course_map()
    lessons = {path.name[:2] for path in (REPO / "solutions").glob("[0-9][0-9]_*.ipynb")} - {"00"}
    assert len(lessons) >= 11 and {lesson for _, lesson in CELL_ID.findall(text)} >= lessons  # every lesson from 01 on
    assert missing_cells(text) == []


def test_a_cell_id_that_is_gone_is_reported() -> None:
    assert missing_cells("Step 1: `l01-03`, and `l01-99z` (renamed since)") == ["l01-99z"]
