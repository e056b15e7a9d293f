"""Reading a fixture file's YAML safely: only what JSON can hold, in bounded time and memory, with lines kept.

Fixture files come from anywhere (an instructor's `LABS_FIXTURES` folder, a download, a hand edit), so the
YAML reader trusts none of them. It refuses, each with the line it is on, rather than replays wrongly or
hangs: anchors and aliases (a 600-byte file of nested aliases stood for gigabytes once compared), nesting
deep enough to overflow a parser's stack, bytes that are not UTF-8, and the values YAML has but JSON has
not (dates, binary, sets, NaN, keys that are numbers or true/false). It remembers the line of every
mapping, list and key, so the structure check in `cassette` can point at the line a problem is on.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
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
    digest = _cache_key(path, data)
    if digest is not None and (cached := _cached(digest)) is not None:
        return cached
    loader = _FixtureLoader(text)
    try:
        _scan(text)
        found = loader.get_single_data(), loader.lines
        if digest is not None:
            _store(digest, *found)
        return found
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


# -- a cache of the committed fixtures, as JSON -------------------------------------------------------------------------
# Every kernel, server and command loads every fixture (1.7 MB of YAML, 0.4 s with libyaml); the same data as JSON
# reads in a fortieth of that. Only the files below labs/fixtures/ are kept (not a test's or an instructor's folder),
# each under a digest of its bytes and of this module's source: an edited fixture or reader is read afresh. A cache
# file that cannot be read or does not fit is ignored, and the YAML read as if there were none.

_SOURCE_DIGEST = hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()
_COMMITTED = Path(__file__).resolve().parent.parent / "fixtures"
CACHE_ENV = "LABS_FIXTURE_CACHE"  # the cache's folder; "off" keeps none
_CACHE_ENTRIES = 1000  # about 15 times the fixtures committed; a store past it removes the oldest


def _cache_folder() -> Path | None:
    chosen = os.environ.get(CACHE_ENV, "")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labs-fixtures"


def _cache_key(path: Path, data: bytes) -> str | None:
    try:
        path.resolve().relative_to(_COMMITTED)
    except (ValueError, OSError):
        return None
    return hashlib.blake2b(data + _SOURCE_DIGEST.encode(), digest_size=16).hexdigest()


def _containers(data: Any) -> list[Any]:
    """Every mapping and list in `data`, depth first, in order: how the cache names the objects the lines belong to."""
    found, stack = [], [data]
    while stack:
        value = stack.pop()
        if isinstance(value, (dict, list)):
            found.append(value)
            stack.extend(reversed(list(value.values()) if isinstance(value, dict) else value))
    return found


def _cached(digest: str) -> tuple[Any, dict[tuple[int, Any], int]] | None:
    folder = _cache_folder()
    if folder is None:
        return None
    try:
        entry = json.loads((folder / f"{digest}.json").read_text(encoding="utf-8"))
        data, lines = entry["data"], entry["lines"]
        containers = _containers(data)
        return data, {(id(containers[index]), key): line for index, key, line in lines}
    except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError):
        return None


def _store(digest: str, data: Any, lines: dict[tuple[int, Any], int]) -> None:
    folder = _cache_folder()
    if folder is None:
        return
    index = {id(container): number for number, container in enumerate(_containers(data))}
    entry = {"data": data, "lines": [[index[container], key, line] for (container, key), line in lines.items()]}
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=folder, suffix=".tmp", delete=False) as file:
            try:
                json.dump(entry, file)
            except (ValueError, RecursionError):
                file.close()
                os.unlink(file.name)
                return
        os.replace(file.name, folder / f"{digest}.json")  # whole or not at all, whoever reads it meanwhile
        entries = sorted(folder.glob("*.json"), key=lambda entry: entry.stat().st_mtime)
        for old in entries[: max(0, len(entries) - _CACHE_ENTRIES)]:  # the oldest: fixtures since re-recorded, an older reader
            old.unlink(missing_ok=True)
    except OSError:
        pass
