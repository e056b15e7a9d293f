"""The public surface stays honest: what `labs` and its modules export exists (after httpx's test of the same name)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import labs

MODULES = sorted(m.name for m in pkgutil.walk_packages(labs.__path__, "labs.") if not m.name.endswith("__main__"))


def test_all_imports_are_exported() -> None:
    assert labs.__all__ == sorted(labs.__all__)
    for name in labs.__all__:
        assert hasattr(labs, name), name


@pytest.mark.parametrize("module_name", MODULES)
def test_every_module_declares_what_it_exports(module_name: str) -> None:
    module = importlib.import_module(module_name)
    if module_name.startswith("labs.lessons."):
        return  # a lesson folder's scenarios and checkers are found by the runner and by labs.check, not imported by name
    assert hasattr(module, "__all__"), f"{module_name} has no __all__"
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ names {name}, which does not exist"
