"""Exercise 13.2 (a challenge), the page code, in headless Chromium: the right script passes, each typical wrong one gets its hint.

The wrong scripts are the right one with one mistake put in: the course material's `onmessage` for named
events, model text through `innerHTML`, an `EventSource` never closed, each read parsed as whole events,
`EventSource` used for POST, functions under other names, an `error` event ignored or followed by a reconnect. Each row runs only the case it must fail (one
browser per row); the reference route replays the lesson's recordings on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest

from labs.checks import evaluate
from labs.lessons.lesson_13 import page
from tests.exercise_support import hints
from tests.test_lesson_13_route import one_case
from tests.test_web_browser import CHROMIUM_FLAGS, chromium_path

RIGHT = r"""
const answer = document.querySelector("#answer"), statusLine = document.querySelector("#status");

function show(name, data) {
  if (name === "text_delta") answer.append(data.delta);
  if (name === "response_complete") statusLine.textContent = "done";
  if (name === "error") statusLine.textContent = `error: ${data.message}`;
}

function askGet(message) {
  const source = new EventSource(`chat/stream?${new URLSearchParams({ message })}`);
  for (const name of ["text_delta", "response_complete", "error"]) {
    source.addEventListener(name, (event) => {
      if (name !== "text_delta") source.close();
      if (event.data) show(name, JSON.parse(event.data));
      else statusLine.textContent = "error: connection lost";
    });
  }
}

async function askPost(message) {
  const response = await fetch("chat/stream", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ message }),
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const blocks = (buffer + read.value).split("\n\n");
    buffer = blocks.pop();
    for (const lines of blocks.map((block) => block.split("\n"))) {
      const name = (lines.find((line) => line.startsWith("event: ")) || "event: message").slice(7);
      const data = lines.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
      if (data) show(name, JSON.parse(data));
    }
  }
}
"""


def mistake(name: str, old: str, new: str) -> Any:
    """The right script with `old` replaced by `new`, as the answer of a learner who made that mistake."""
    assert old in RIGHT, old
    script = RIGHT.replace(old, new)

    def page_script() -> str:
        return script

    page_script.__name__ = name
    return page_script


ON_MESSAGE = mistake("on_message", """  for (const name of ["text_delta", "response_complete", "error"]) {
    source.addEventListener(name, (event) => {""", """  for (const name of ["text_delta"]) {
    source.onmessage = ((event) => {""")
INNER_HTML = mistake("inner_html", 'if (name === "text_delta") answer.append(data.delta);',
                     'if (name === "text_delta") { answer.dataset.text = (answer.dataset.text || "") + data.delta; answer.innerHTML = answer.dataset.text; }')
NEVER_CLOSED = mistake("never_closed", 'if (name !== "text_delta") source.close();', "")
READS_AS_EVENTS = mistake("reads_as_events", "buffer = blocks.pop();", "blocks.push(blocks.pop());")
EVENTSOURCE_FOR_POST = mistake("eventsource_for_post", "async function askPost(message) {",
                               "function askPost(message) { return askGet(message); }\nasync function unused(message) {")
OTHER_NAMES = mistake("other_names", "function askGet(", "function streamGet(")
IGNORES_ERRORS = mistake("ignores_errors", 'for (const name of ["text_delta", "response_complete", "error"])',
                         'for (const name of ["text_delta", "response_complete"])')
KEEPS_ASKING_AFTER_AN_ERROR = mistake("keeps_asking_after_an_error", 'if (name !== "text_delta") source.close();',
                                      'if (name === "response_complete") source.close();')

GET = "askGet: an EventSource reads the named events and the page shows the streamed text"
POST = "askPost: fetch and a stream reader show the same text, however the bytes are split"
HOSTILE = "a hostile answer (<img onerror>, <script>) is shown as text and runs nothing"
FAILING = "an answer that fails shows the error's message and asks nothing more"

WRONG_SCRIPTS = [
    (ON_MESSAGE, GET, "`onmessage` fires only for events without a name"),
    (INNER_HTML, HOSTILE, "never with innerHTML"),
    (NEVER_CLOSED, GET, "close the EventSource on response_complete"),
    (READS_AS_EVENTS, POST, "keep the text after the last blank line"),
    (EVENTSOURCE_FOR_POST, POST, "EventSource can only send GET"),
    (OTHER_NAMES, GET, "does not define askGet and askPost"),
    (IGNORES_ERRORS, FAILING, "listen for the `error` event too"),
    (KEEPS_ASKING_AFTER_AN_ERROR, FAILING, "close the EventSource on response_complete (and on error)"),
]


@pytest.fixture(autouse=True)
def chromium() -> None:
    chromium_path()  # skips without Debian's chromium, fails in CI


def test_the_check_launches_chromium_as_the_browser_tests_do() -> None:
    assert page.CHROMIUM_FLAGS == CHROMIUM_FLAGS


@pytest.mark.parametrize(("script", "case", "phrase"), WRONG_SCRIPTS, ids=lambda v: getattr(v, "__name__", None))
def test_a_typical_wrong_script_fails_with_the_hint_for_its_mistake(script: Any, case: str, phrase: str) -> None:
    failed = hints(evaluate("13.2", script, checker=one_case("13.2", case)))
    assert case in failed, f"{script.__name__} should fail {case!r}"
    assert phrase in failed[case], failed[case]


def test_the_right_script_passes_every_case_with_one_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    # One Chromium serves every case (each in a fresh context): a harness that launched one per case would take
    # seconds more. Counted, not timed: a time bound here failed under a loaded CI (12.05 s against 12 s).
    launched: list[object] = []
    launch = page.PageHarness._launch

    def counted(harness: page.PageHarness) -> None:
        launched.append(harness)
        launch(harness)

    monkeypatch.setattr(page.PageHarness, "_launch", counted)
    result = evaluate("13.2", lambda: RIGHT)
    assert result.status == "passed", str(result)
    assert [case.name for case in result.cases] == [GET, POST, HOSTILE, FAILING]
    assert len(launched) == 1


def test_an_untouched_script_is_not_done_and_a_non_string_says_so() -> None:
    def page_script() -> str:
        raise NotImplementedError("Exercise 13.2: complete page_script.")

    assert evaluate("13.2", page_script).status == "not_done"
    result = evaluate("13.2", lambda: None)
    assert result.status == "failed" and "must return the JavaScript as a string" in str(result)
