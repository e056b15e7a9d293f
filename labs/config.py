"""Settings for the workbook: which mode the SDK clients run in, how fast replay goes, where fixtures are.

Everything is read from the process environment, after loading a `.env` file if one is found (searched
from the current directory upwards, then at the repository root). The environment wins over `.env`.
A key in the environment never switches the workbook to live mode by itself: only `LABS_MODE` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from dotenv import dotenv_values, find_dotenv, load_dotenv

__all__ = [
    "ConfigError",
    "FIXTURES_DIR",
    "GITHUB_MODELS_URL",
    "MissingCredentialError",
    "Mode",
    "REPO_ROOT",
    "Settings",
    "display_path",
    "environment",
    "require_env",
    "settings",
]

Mode = Literal["replay", "live", "record"]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
FIXTURES_DIR = PACKAGE_DIR / "fixtures"
# GitHub Models' OpenAI-compatible endpoint, used when GITHUB_TOKEN is the only key (the course material's way).
GITHUB_MODELS_URL = "https://models.github.ai/inference"


class ConfigError(RuntimeError):
    """A setting has a value the workbook cannot use; a notebook shows it as its message alone, no traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class MissingCredentialError(ConfigError):
    """Live or record mode needs a credential that is not set."""


@dataclass(frozen=True)
class Settings:
    mode: Mode
    speed: float
    fixture_dirs: tuple[Path, ...]
    record_dir: Path
    model: str | None = None  # LABS_MODEL: the chat model live (replay always uses the recorded one)
    openai_base_url: str | None = None  # OPENAI_BASE_URL, or GitHub Models' endpoint when GITHUB_TOKEN is the key
    openai_key_variable: str = "OPENAI_API_KEY"  # where the OpenAI-compatible key comes from: it, or GITHUB_TOKEN
    project_endpoint: str | None = None  # PROJECT_ENDPOINT: the Azure AI Foundry project
    grade_report: Path | None = None  # LABS_GRADE_REPORT: where `labs.check` appends results for `grade`


def _dotenv_path() -> Path:
    found = find_dotenv(usecwd=True)
    return Path(found) if found else REPO_ROOT / ".env"


def _load_dotenv() -> None:
    load_dotenv(_dotenv_path(), override=False)


def _fix(name: str, value: str | None = None, lang: Literal["en", "vi"] | None = None) -> str:
    """How to give a setting a new value (`value`, or a valid one) so that the kernel sees it, in `lang` (default: the learner's)."""
    from .i18n import text  # here, not at the top: the replay service imports this module, and only this one from labs

    path = _dotenv_path()
    wanted = f"{name}={value}" if value else name
    from_file = dotenv_values(path) if path.is_file() else {}
    if name in from_file and os.environ.get(name) == from_file[name]:
        return text("fix.in_dotenv_file", lang, wanted=wanted, path=display_path(path))
    if os.environ.get(name, "").strip():
        return text("fix.in_environment", lang, name=name, wanted=wanted)
    return text("fix.new", lang, wanted=wanted)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def settings() -> Settings:
    """Read the current settings (cheap; read again on every call so a notebook can change them)."""
    _load_dotenv()
    mode = os.environ.get("LABS_MODE", "replay").strip().lower() or "replay"
    if mode not in get_args(Mode):
        raise ConfigError(f"LABS_MODE={mode!r} is not a mode. Use replay, live or record: {_fix('LABS_MODE', lang='en')}.")
    raw_speed = os.environ.get("LABS_REPLAY_SPEED", "1").strip() or "1"
    try:
        speed = float(raw_speed)
    except ValueError:
        raise ConfigError(
            f"LABS_REPLAY_SPEED={raw_speed!r} is not a number. Use 1 (as recorded), 0 (no delay) or another factor: {_fix('LABS_REPLAY_SPEED', lang='en')}."
        ) from None
    if speed < 0:
        raise ConfigError(
            f"LABS_REPLAY_SPEED={raw_speed!r} is negative. Use 1 (as recorded), 0 (no delay) or another factor: {_fix('LABS_REPLAY_SPEED', lang='en')}."
        )
    extra = tuple(Path(p).expanduser() for p in os.environ.get("LABS_FIXTURES", "").split(os.pathsep) if p.strip())
    record_dir = Path(os.environ.get("LABS_RECORD_DIR", FIXTURES_DIR / "recorded")).expanduser()
    report = _optional("LABS_GRADE_REPORT")
    github = _optional("GITHUB_TOKEN") is not None and _optional("OPENAI_API_KEY") is None
    return Settings(
        mode=mode,  # type: ignore[arg-type]
        speed=speed,
        fixture_dirs=(FIXTURES_DIR, *extra),
        record_dir=record_dir,
        model=_optional("LABS_MODEL") or ("openai/gpt-4o-mini" if github else None),
        openai_base_url=_optional("OPENAI_BASE_URL") or (GITHUB_MODELS_URL if github else None),
        openai_key_variable="GITHUB_TOKEN" if github else "OPENAI_API_KEY",
        project_endpoint=_optional("PROJECT_ENDPOINT"),
        grade_report=Path(report) if report else None,
    )


def _optional(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def require_env(name: str, why: str) -> str:
    """The value of a credential variable, or one clear sentence saying how to set it."""
    from .i18n import phrase, text

    mode = settings().mode
    value = _optional(name)
    if not value:
        raise MissingCredentialError(
            text("key.missing", mode=mode, name=name, why=phrase(why), fix=_sentence(_fix(name, "...")))
            + text("key.offline", fix=_fix("LABS_MODE", "replay"))
        )
    return value


@contextmanager
def environment(values: Mapping[str, str], unset: Iterable[str] = ()) -> Iterator[None]:
    """Inside the block, the process environment has `values` set and `unset` removed; what was there comes back."""
    names = [*values, *unset]
    saved = {name: os.environ.get(name) for name in names}
    for name in unset:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def display_path(path: Path) -> str:
    """A path as it may be shown to a learner: relative to the repository, never this machine's absolute path."""
    path = Path(path)
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        try:
            return "~/" + path.resolve().relative_to(Path.home()).as_posix()
        except ValueError:
            return path.name and f".../{path.name}" or str(path)
