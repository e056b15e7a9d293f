"""`make mutate`: which tests judge each mutated module, the score table, and checks that keep both honest.

mutmut 3 (configured in pyproject.toml under `[tool.mutmut]`) copies `labs/` and `tests/` into `mutants/`,
rewrites the core modules with one switchable mutant per change, and runs, for each mutant, the selected
tests that call the mutated function. Loaded as a pytest plugin there (`-p tests.test_mutation_setup`), this
module narrows that further to the tests of the mutant's own module (`MODULE_TESTS`), so a mutant in
`labs.replay.sse` is never "killed" by a lesson test that happens to pass through it. `python -m
tests.test_mutation_setup score` prints the score per module from mutmut's results in `mutants/`.
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Each mutated module → the test files that hold its behaviour (tests/test_survivors.py: what an audit found unguarded).
MODULE_TESTS: Mapping[str, tuple[str, ...]] = {
    "labs.replay.sse": ("tests/test_sse.py", "tests/test_survivors.py"),
    "labs.replay.matching": ("tests/test_matching.py",),
    "labs.replay.cassette": ("tests/test_cassette.py", "tests/test_fixture_loading.py"),  # fast: no server, no SDK
    "labs.replay.surfaces": ("tests/test_surfaces.py", "tests/test_replay.py", "tests/test_survivors.py"),
    "labs.toolcalls": ("tests/test_toolcalls.py",),
    "labs.reply": ("tests/test_reply.py",),
    "labs.resilience": ("tests/test_lesson_14_resilience.py", "tests/test_survivors.py"),
    "labs.checks": ("tests/test_checks.py", "tests/test_survivors.py"),
    "labs.workbook": ("tests/test_workbook.py",),
}

# Of labs.workbook only the stub generation is mutated (build, check and grade are the pipeline around it).
WORKBOOK_STUB_FUNCTIONS = ("learner_copy", "_stub_code", "_enclosing_function", "_string_literal", "_stub_markdown")


def module_of(mutant: str) -> str | None:
    """The mutated module a mutmut mutant name (`labs.reply.xǁReplyCollectorǁadd__mutmut_3`) belongs to."""
    if "__mutmut_" not in mutant:
        return None
    owners = [module for module in MODULE_TESTS if mutant.startswith(module + ".")]
    return max(owners, key=len, default=None)


def mutant_patterns() -> list[str]:
    """The mutant names `make mutate` runs: every function of the core modules, and the workbook's stub generation."""
    patterns = [f"{module}.*" for module in MODULE_TESTS if module != "labs.workbook"]
    return patterns + [f"labs.workbook.x_{name}__mutmut_*" for name in WORKBOOK_STUB_FUNCTIONS]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Inside a mutmut worker, keep only the tests of the mutant's own module."""
    module = module_of(os.environ.get("MUTANT_UNDER_TEST", ""))
    if module is None:
        return
    own = MODULE_TESTS[module]
    keep = [item for item in items if item.nodeid.split("::")[0] in own]
    dropped = [item for item in items if item.nodeid.split("::")[0] not in own]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def score_table(results: Mapping[str, int | None]) -> list[tuple[str, int, int, list[str]]]:
    """Per module: (module, killed, judged, survivors) from mutmut's exit code per mutant; then the total."""
    rows: dict[str, tuple[int, int, list[str]]] = {}
    for mutant, code in sorted(results.items()):
        module = module_of(mutant)
        if module is None or code is None or code in (5, 33, 34):  # not run, no tests, skipped: not judged
            continue
        killed, judged, survivors = rows.get(module, (0, 0, []))
        caught = code in (1, 3, 36, 24, -24, 152, 255, 37)  # a failing test, a timeout or the type check
        rows[module] = (killed + caught, judged + 1, survivors if caught else [*survivors, mutant])
    table = [(module, *rows[module]) for module in MODULE_TESTS if module in rows]
    total = ("total", sum(r[1] for r in table), sum(r[2] for r in table), [m for r in table for m in r[3]])
    return [*table, total] if table else []


def read_results(mutants: Path) -> dict[str, int | None]:
    """mutmut's exit code per mutant, from the `.meta` files it writes beside each mutated module."""
    results: dict[str, int | None] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        results.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return results


def print_score(mutants: Path) -> int:
    table = score_table(read_results(mutants))
    if not table:
        print("no mutmut results in", mutants)
        return 1
    for module, killed, judged, survivors in table:
        print(f"{module:24} {killed:5} / {judged:<5} killed  {100 * killed / judged:6.1f} %")
    survivors = table[-1][3]
    print(f"{len(survivors)} survivors" + "".join(f"\n  {name}" for name in survivors))
    return 0


# -- the set-up, checked by the ordinary suite ---------------------------------------------------------------


def _mutmut_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]


def test_every_mutated_file_has_tests_and_every_mapped_test_is_selected() -> None:
    config = _mutmut_config()
    modules = {path.removesuffix(".py").removesuffix("/*").replace("/", ".") for path in config["only_mutate"]}
    assert modules == set(MODULE_TESTS)
    for files in MODULE_TESTS.values():
        assert all((REPO / f).is_file() and f in config["pytest_add_cli_args_test_selection"] for f in files), files
    assert ["-p", "tests.test_mutation_setup"] == config["pytest_add_cli_args"][-2:]


def test_the_workbook_functions_named_for_mutation_exist() -> None:
    import labs.workbook

    assert all(callable(getattr(labs.workbook, name)) for name in WORKBOOK_STUB_FUNCTIONS)
    assert any(fnmatch.fnmatch("labs.workbook.x__stub_code__mutmut_4", p) for p in mutant_patterns())
    assert not any(fnmatch.fnmatch("labs.workbook.x_build__mutmut_1", p) for p in mutant_patterns())


@pytest.mark.parametrize(
    ("mutant", "module"),
    [
        ("labs.replay.surfaces.openai.xǁOpenAISurfaceǁfinal_object__mutmut_7", "labs.replay.surfaces"),
        ("labs.replay.sse.xǁSSEParserǁfeed__mutmut_2", "labs.replay.sse"),
        ("labs.reply.x_collect_reply__mutmut_1", "labs.reply"),
        ("labs.replyish.x_f__mutmut_1", None),  # a module whose name only starts like a mapped one
        ("labs.reply.x_collect_reply", None),  # not a mutant: the stats run, the clean run
        ("fail", None),
    ],
)
def test_a_mutant_belongs_to_the_module_it_was_made_in(mutant: str, module: str | None) -> None:
    assert module_of(mutant) == module


def test_the_score_counts_kills_and_timeouts_and_lists_survivors() -> None:
    results = {
        "labs.reply.x_a__mutmut_1": 1,  # a test failed
        "labs.reply.x_a__mutmut_2": 0,  # survived
        "labs.reply.x_a__mutmut_3": 36,  # timed out: caught
        "labs.reply.x_a__mutmut_4": 33,  # no test ran it: not judged
        "labs.replay.sse.x_b__mutmut_1": None,  # not run yet
        "labs.replay.sse.x_b__mutmut_2": 1,
    }
    assert score_table(results) == [
        ("labs.replay.sse", 1, 1, []),
        ("labs.reply", 2, 3, ["labs.reply.x_a__mutmut_2"]),
        ("total", 3, 4, ["labs.reply.x_a__mutmut_2"]),
    ]
    assert score_table({}) == []


if __name__ == "__main__":
    if sys.argv[1:2] == ["score"]:
        raise SystemExit(print_score(REPO / "mutants"))
    if sys.argv[1:2] == ["patterns"]:
        print(" ".join(mutant_patterns()))
        raise SystemExit(0)
    raise SystemExit("usage: python -m tests.test_mutation_setup score | patterns")
