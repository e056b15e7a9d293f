"""Reading a fixture file's YAML safely: only what JSON can hold, in bounded time and memory, with lines kept.

Fixture files come from anywhere (an instructor's `LABS_FIXTURES` folder, a download, a hand edit), so the
YAML reader trusts none of them. It refuses, each with the line it is on, rather than replays wrongly or
hangs: anchors and aliases (a 600-byte file of nested aliases stood for gigabytes once compared), nesting
deep enough to overflow a parser's stack, bytes that are not UTF-8, and the values YAML has but JSON has
not (dates, binary, sets, NaN, keys that are numbers or true/false). It remembers the line of every
mapping, list and key, so the structure check in `cassette` can point at the line a problem is on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["FixtureError", "FixtureProblem", "read_fixture_yaml"]

# libyaml's loader when PyYAML was built with it: every kernel loads every fixture, and it is 6x faster.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FixtureProblem:
    """What is wrong with one fixture file: the file (below its fixtures folder, that folder's name first), the line, why."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, line {self.line}"
        return f"{where}: {self.message}"


class FixtureError(ValueError):
    """A fixture file that cannot be read; the message names the file, the line and what is wrong."""

    def __init__(self, problem: FixtureProblem) -> None:
        self.problem = problem
        super().__init__(str(problem))


_MAX_FILE_BYTES = 20_000_000  # far above any recording; a bigger file is refused before it is parsed
_MAX_DEPTH = 128  # nesting of mappings and lists: room for any request body the server accepts (100 levels) inside a fixture


class _Refused(yaml.constructor.ConstructorError):
    """What a fixture may not hold (an alias, a date, binary, a set, a non-text key, NaN, deep nesting), at its line."""

    def __init__(self, message: str, node: yaml.Node | yaml.Event) -> None:
        super().__init__(None, None, message, node.start_mark)


class _FixtureLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """The safe loader, stricter: JSON values only, and the line of every mapping, list and key remembered."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.lines: dict[tuple[int, Any], int] = {}


def _construct_mapping(loader: _FixtureLoader, node: yaml.MappingNode) -> Any:
    data: dict[str, Any] = {}
    loader.lines[id(data), None] = node.start_mark.line + 1
    yield data
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str):
            raise _Refused(f"a key must be text, and YAML reads {key_node.value!r} as {type(key).__name__}: put it in quotes", key_node)
        if key in data:
            raise _Refused(f"`{key}` appears twice in the same mapping", key_node)
        data[key] = loader.construct_object(value_node)
        loader.lines[id(data), key] = key_node.start_mark.line + 1


def _construct_sequence(loader: _FixtureLoader, node: yaml.SequenceNode) -> Any:
    data: list[Any] = []
    loader.lines[id(data), None] = node.start_mark.line + 1
    yield data
    for index, child in enumerate(node.value):
        data.append(loader.construct_object(child))
        loader.lines[id(data), index] = child.start_mark.line + 1


def _construct_number(loader: _FixtureLoader, node: yaml.ScalarNode) -> Any:
    try:
        if node.tag.endswith(":int"):
            return loader.construct_yaml_int(node)
        value = loader.construct_yaml_float(node)
    except ValueError as exc:  # an integer of more than 4,300 digits, say
        raise _Refused(f"{node.value[:40]!r} is not a number JSON can carry ({exc})", node) from exc
    if not math.isfinite(value):
        raise _Refused(f"{node.value} is not a JSON number: put it in quotes if it is text", node)
    return value


def _refuse_non_json(loader: _FixtureLoader, node: yaml.Node) -> Any:
    kind = node.tag.rsplit(":", 1)[-1]
    shown = f" {node.value!r}" if isinstance(node, yaml.ScalarNode) else ""
    raise _Refused(f"YAML reads{shown} as a {kind}, which JSON has no such value for: put it in quotes", node)


_FixtureLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_FixtureLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_FixtureLoader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_FixtureLoader.add_constructor("tag:yaml.org,2002:float", _construct_number)
for _kind in ("timestamp", "binary", "set", "omap", "pairs"):
    _FixtureLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _refuse_non_json)


def _scan(text: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before anything is built from it.

    Aliases let a 600-byte file stand for gigabytes once compared; nesting beyond a limit would exhaust the
    stack of the composer (a segmentation fault in libyaml's). The scan stops at the first offence.
    """
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused("YAML anchors and aliases (`&name`, `*name`) are refused in fixtures: write the value out", event)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > _MAX_DEPTH:
                raise _Refused(f"nested more than {_MAX_DEPTH} levels deep", event)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def read_fixture_yaml(path: Path, shown: str) -> tuple[Any, dict[tuple[int, Any], int]]:
    """The file's one YAML document, and the line of each mapping and list in it; any problem as a FixtureError."""
    try:
        size = path.stat().st_size
        if size > _MAX_FILE_BYTES:
            raise FixtureError(FixtureProblem(shown, None, f"is {size:,} bytes; a fixture may hold at most {_MAX_FILE_BYTES:,}"))
        data = path.read_bytes()
    except OSError as exc:
        raise FixtureError(FixtureProblem(shown, None, f"cannot be read ({exc.strerror or exc})")) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FixtureError(FixtureProblem(shown, line, f"is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})")) from exc
    loader = _FixtureLoader(text)
    try:
        _scan(text)
        return loader.get_single_data(), loader.lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = exc.problem if isinstance(exc, _Refused) else f"is not valid YAML: {exc.problem or exc}"
        if exc.context and not isinstance(exc, _Refused):
            message += f" ({exc.context})"
        raise FixtureError(FixtureProblem(shown, line, str(message))) from exc
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # a reader error has no mark; the rest should not happen
        raise FixtureError(FixtureProblem(shown, None, f"is not valid YAML: {exc}")) from exc
    finally:
        loader.dispose()
