"""The workbook in the learner's language: `LABS_LANG=vi` turns the lines a learner reads into Vietnamese.

English is the workbook's own language and always the fallback: with `LABS_LANG` unset (or any value but `vi`),
every message is byte for byte what it was before this module existed. Two kinds of text are translated:

- the workbook's own messages (the check lines, `labs.hint`, a missing key, a replay miss's opening line),
  kept here in `MESSAGES` as one English and one Vietnamese template per key;
- each exercise's texts (its cases' names, hints and recognised mistakes, its second hint, its stub's hint),
  which live with the lesson's prose in `translations/<lang>/NN_slug.yaml` under `exercises:`, one `en`/`vi`
  pair per text. They are looked up by their English text, so an English text changed since it was translated
  falls back to English (and `python -m labs.workbook check` names it) rather than showing a stale translation.

The translation files also hold the lessons' markdown, keyed by cell id with a fingerprint of the English it
translates (`fingerprint`); `labs.workbook` builds the Vietnamese learner copies from them and checks they are
current. What stays English on purpose: code, identifiers and inline code, code comments, the messages an SDK or
the replay server writes (a miss's details name fixtures and fields), assertion messages that quote the learner's
own output, and the instructor's commands and errors.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

import yaml

__all__ = [
    "LANGUAGES",
    "MESSAGES",
    "TRANSLATIONS_DIR",
    "Language",
    "LessonTranslation",
    "exercise_text",
    "fingerprint",
    "language",
    "load_translation",
    "phrase",
    "text",
    "translation_path",
]

Language = Literal["en", "vi"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "vi")
TRANSLATIONS_DIR: Final = Path(__file__).resolve().parent.parent / "translations"

# Each key's English template is the text the workbook printed before it had a catalog: keep it byte-identical.
MESSAGES: Final[dict[str, dict[Language, str]]] = {
    "check.passed": {"en": "✅ Exercise {exercise} — {case}", "vi": "✅ Bài tập {exercise} — {case}"},
    "check.failed": {"en": "❌ Exercise {exercise} — {case}: {problem}", "vi": "❌ Bài tập {exercise} — {case}: {problem}"},
    "check.not_done": {"en": "⏳ Exercise {exercise} not done yet: {message}", "vi": "⏳ Bài tập {exercise} chưa làm xong: {message}"},
    "check.hint": {"en": "{message}. Hint: {hint}", "vi": "{message}. Gợi ý: {hint}"},
    "check.stub": {"en": "complete {function}. Hint: {hint}", "vi": "hãy viết tiếp {function}. Gợi ý: {hint}"},
    "check.raises_not_implemented": {"en": "your code raises NotImplementedError", "vi": "code của bạn raise NotImplementedError"},
    "check.expected": {"en": "expected {expected}, got {got}", "vi": "cần {expected}, nhưng nhận được {got}"},
    "check.your_code_raised": {"en": "your code raised {error}", "vi": "code của bạn raise {error}"},
    "check.not_expected": {"en": "the result is not what was expected", "vi": "kết quả không như mong đợi"},
    "check.checking_raised": {"en": "checking the result raised {error}", "vi": "khi kiểm tra kết quả thì gặp lỗi {error}"},
    "check.load_checker": {"en": "load the checker", "vi": "nạp checker"},
    "check.run_checker": {"en": "run the checker", "vi": "chạy checker"},
    "check.checker_crashed": {"en": "the checker crashed with {error}", "vi": "checker bị crash với {error}"},
    "check.no_cases": {"en": "the checker tried no cases", "vi": "checker không thử case nào"},
    "hint.line": {"en": "💡 Exercise {exercise}: {hint}", "vi": "💡 Bài tập {exercise}: {hint}"},
    "replay.miss": {
        "en": "{error}: the replay server has no recording for this request.",
        "vi": "{error}: replay server không có bản ghi (recording) nào cho request này.",
    },
    "key.missing": {
        "en": "LABS_MODE={mode} needs {name} ({why}). {fix};",
        "vi": "LABS_MODE={mode} cần {name} ({why}). {fix};",
    },
    "key.offline": {"en": " or, to work offline, {fix}.", "vi": " hoặc, để làm việc offline, {fix}."},
    "fix.in_dotenv_file": {
        "en": "set {wanted} in {path}, then restart the kernel (it keeps the values it read first)",
        "vi": "đặt {wanted} trong {path}, rồi restart kernel (kernel giữ các giá trị nó đã đọc lúc đầu)",
    },
    "fix.in_environment": {
        "en": "{name} is set in the environment (where JupyterLab started, or by this kernel), which wins over .env: set {wanted} there and restart",
        "vi": "{name} đã được đặt trong environment (nơi JupyterLab khởi động, hoặc do kernel này đặt), và environment thắng .env: "
              "đặt {wanted} ở đó rồi restart",
    },
    "fix.new": {
        "en": "set {wanted} in .env (see .env.example), then restart the kernel",
        "vi": "đặt {wanted} trong .env (xem .env.example), rồi restart kernel",
    },
}

# Fixed phrases other modules put into a message (a credential's purpose, from labs.clients), by their English.
PHRASES: Final[dict[str, dict[Language, str]]] = {
    "the name of your model deployment in Azure AI Foundry": {"vi": "tên model deployment của bạn trong Azure AI Foundry"},
    "your OpenAI key, or GITHUB_TOKEN for GitHub Models": {"vi": "OpenAI key của bạn, hoặc GITHUB_TOKEN cho GitHub Models"},
    "your Azure AI Foundry project endpoint": {"vi": "endpoint của project Azure AI Foundry của bạn"},
}

_FINGERPRINT_LENGTH = 12


def language() -> Language:
    """The learner's language: `vi` when `LABS_LANG` says so (`vi`, `vi_VN`, `vi-VN.UTF-8`), else English."""
    value = os.environ.get("LABS_LANG", "").strip().lower()
    return "vi" if re.match(r"^vi(?:$|[_.-])", value) else "en"


def text(key: str, lang: Language | None = None, /, **fields: object) -> str:
    """The message `key` in `lang` (default: the learner's), its `{fields}` filled in; English when untranslated."""
    templates = MESSAGES[key]
    return templates.get(lang or language(), templates["en"]).format(**fields)


def phrase(english: str, lang: Language | None = None) -> str:
    """A fixed phrase of another module in `lang`, or the phrase itself when it has no translation."""
    return PHRASES.get(english, {}).get(lang or language(), english)


def fingerprint(english: str) -> str:
    """The first 12 hex digits of the sha256 of a cell's English source: what its translation was made from."""
    return hashlib.sha256(english.encode("utf-8")).hexdigest()[:_FINGERPRINT_LENGTH]


# Translation files


@dataclass(frozen=True)
class CellTranslation:
    """One markdown cell: the fingerprint of the English it translates, that English, and the translation."""

    fingerprint: str
    en: str
    translated: str


@dataclass(frozen=True)
class LessonTranslation:
    """One lesson's translation file: its markdown cells by id, and each exercise's texts (English to translated)."""

    path: Path
    language: Language
    cells: dict[str, CellTranslation] = field(default_factory=dict)
    exercises: dict[str, dict[str, str]] = field(default_factory=dict)


def translation_path(lesson: str, lang: Language = "vi", folder: Path = TRANSLATIONS_DIR) -> Path:
    """Where the translation of lesson `lesson` (its notebook's stem, `01_basic_streaming`) into `lang` lives."""
    return folder / lang / f"{lesson}.yaml"


def load_translation(path: Path) -> LessonTranslation:
    """Read one translation file; a ValueError names the file and what is wrong with it."""
    lang = path.parent.name
    if lang not in LANGUAGES or lang == "en":
        raise ValueError(f"{path}: a translation file lives in translations/<language>/, one of {', '.join(LANGUAGES[1:])}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells", {}), dict):
        raise ValueError(f"{path}: expected a mapping with `cells:` (cell id: fingerprint, en, {lang})")
    cells: dict[str, CellTranslation] = {}
    for cell_id, entry in (data.get("cells") or {}).items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}, cell {cell_id}: expected fingerprint, en and {lang}")
        cells[str(cell_id)] = CellTranslation(str(entry.get("fingerprint") or ""), str(entry.get("en") or ""), str(entry.get(lang) or ""))
    exercises: dict[str, dict[str, str]] = {}
    for exercise_id, pairs in (data.get("exercises") or {}).items():
        if not isinstance(pairs, list) or not all(isinstance(pair, dict) for pair in pairs):
            raise ValueError(f"{path}, exercise {exercise_id}: expected a list of `- en: ...` / `{lang}: ...` pairs")
        exercises[str(exercise_id)] = {_one_line(str(pair.get("en") or "")): _one_line(str(pair.get(lang) or "")) for pair in pairs}
    return LessonTranslation(path, lang, cells, exercises)  # type: ignore[arg-type]


def exercise_text(exercise_id: str, english: str, lang: Language | None = None) -> str:
    """One of exercise `exercise_id`'s texts in `lang` (default: the learner's); the English when it has none."""
    lang = lang or language()
    if lang == "en" or not english:
        return english
    return _exercise_texts(lang, TRANSLATIONS_DIR).get(exercise_id, {}).get(_one_line(english)) or english


@lru_cache(maxsize=4)
def _exercise_texts(lang: Language, folder: Path) -> dict[str, dict[str, str]]:
    texts: dict[str, dict[str, str]] = {}
    for path in sorted((folder / lang).glob("*.yaml")):
        try:
            lesson = load_translation(path)
        except ValueError:  # a broken file: `labs.workbook check` names it; a learner's check falls back to English
            continue
        for exercise_id, pairs in lesson.exercises.items():
            texts.setdefault(exercise_id, {}).update({en: translated for en, translated in pairs.items() if translated})
    return texts


def _one_line(value: str) -> str:
    return " ".join(value.split())
