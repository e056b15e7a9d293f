"""The chat page in a real browser: Debian's chromium, driven by Playwright, against the app on loopback.

Playwright's own browser download is not used (and cannot be, offline): the test launches the system
`chromium` with the flags this workplace needs, one browser for the module and a fresh context per test.
Without chromium the test is skipped with the command that installs it, except in CI (`CI` set), where a
missing browser is a failure.

The app is served below a path prefix, as jupyter-server-proxy serves it behind a remote Jupyter server
(`<base>/proxy/PORT/`), with nothing at `/` itself: a page that asks for an absolute URL fails here.
Screenshots go to `$LABS_SCREENSHOTS/chat-page/` (by default the system's temporary folder, `/tmp`), printed
as "Chat page screenshots: ...".
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse
from starlette.applications import Starlette
from starlette.routing import Mount

import labs
from labs.lessons.lesson_12.scenarios import ANSWERS, PROMPTS, SCENARIOS
from labs.web import WebServer, create_app
from labs.web.backends import Backend, BackendName, default_backends
from labs.web.events import BackendEvent, TextDeltaEvent, ToolComplete, ToolStart

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PREFIX = "/user/learner/proxy/8000"  # the path a JupyterHub user's proxied app is served at
TOOL_NAMES = {s.name.split("/")[1]: [c.name for r in s.replies for c in r.tool_calls] for s in SCENARIOS}
AXE = Path(__file__).parent / "data" / "axe-core" / "axe.min.js"  # axe-core 4.14.1, see its README


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    message = "Debian's chromium is not installed: run `sudo apt-get install -y chromium` to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(f"{message}. CI must not skip them: .ci/run installs chromium before `make test`.")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the whole module; each test gets a fresh context (its own cookies and storage)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("LABS_SCREENSHOTS") or tempfile.gettempdir()) / "chat-page"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nChat page screenshots: {folder}")
    return folder


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 900, "height": 640})
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
    finally:
        context.close()


def proxied(backends: dict[str, Backend] | None = None) -> WebServer:
    """The app served below `PREFIX`, as jupyter-server-proxy serves it: nothing answers at `/` itself."""
    app = create_app(backends)
    outer = Starlette(routes=[Mount(PREFIX, app=app)])
    outer.state.streams = app.state.streams
    return WebServer(outer)


@pytest.fixture
def server() -> Iterator[WebServer]:
    with proxied() as running:
        yield running


def page_url(server: WebServer) -> str:
    return f"{server.url}{PREFIX}/"


def final_response(server: WebServer, key: str) -> str:
    """What the API itself says the answer is, asked outside the browser."""
    params = {"message": PROMPTS[key], "backend": key.split("_")[0]}
    with httpx.Client(base_url=page_url(server), timeout=30) as client, connect_sse(client, "GET", "chat/stream", params=params) as source:
        return next(e.json()["final_response"] for e in source.iter_sse() if e.event == "response_complete")


def ask_with_a_suggestion(page: Any, key: str) -> Any:
    page.select_option("#backend", key.split("_")[0])
    page.get_by_role("button", name=PROMPTS[key], exact=True).click()
    return page.locator(".assistant").last


def plain(markdown: str) -> str:
    """The words of a Markdown answer as a reader sees them: no `**`, no list markers, spaces collapsed."""
    text = re.sub(r"(?m)^(- |\d+\. )", "", markdown.replace("**", ""))
    return " ".join(text.split())


def in_view(page: Any, selector: str) -> bool:
    """The element is wholly inside the window and, when it is in the transcript, inside the transcript's box."""
    return bool(
        page.evaluate(
            """selector => {
                const box = document.querySelector(selector).getBoundingClientRect();
                const pane = document.querySelector('#transcript').getBoundingClientRect();
                const inWindow = box.top >= 0 && box.bottom <= window.innerHeight;
                const inPane = !document.querySelector('#transcript').contains(document.querySelector(selector))
                    || (box.bottom <= pane.bottom + 1 && box.top >= pane.top - 1);
                return inWindow && inPane;
            }""",
            selector,
        )
    )


@pytest.mark.parametrize("key", ["chat_trail_tool", "agents_stock_tool", "azure_forecast_tool", "sk_trail_shoes"])
def test_a_clicked_suggestion_streams_into_the_page_as_markdown(page: Any, server: WebServer, key: str, shots: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(page_url(server))
    turn = ask_with_a_suggestion(page, key)
    page.wait_for_selector(".assistant[data-state='complete']")
    answer = turn.locator(".answer")
    # Rendered: the words of the recorded answer, its **bold** as <strong>, its list items as <li>.
    assert " ".join(answer.text_content().split()) == plain(ANSWERS[key])
    assert answer.locator("strong").all_text_contents() == re.findall(r"\*\*(.+?)\*\*", ANSWERS[key])
    assert answer.locator("li").count() == len(re.findall(r"(?m)^(- |\d+\. )", ANSWERS[key]))
    # Rendering delta by delta ends where rendering the API's whole answer at once does.
    whole = page.evaluate("text => { const box = document.createElement('div'); box.append(renderMarkdown(text)); return box.innerHTML; }", final_response(server, key))
    assert answer.inner_html() == whole
    assert page.locator(".mode").text_content() == "replay mode"
    tools = turn.locator(".tool").all_text_contents()
    assert [re.match(r"tool (\w+)\(", line)[1] for line in tools] == TOOL_NAMES[key]  # "tool name(arguments) → output", one line per call
    assert all("→" in line for line in tools)  # each call finished
    assert not any("\\u" in line for line in tools), tools  # JSON escapes shown as the characters they stand for
    if key == "azure_forecast_tool":
        assert "6°C" in tools[0], tools
        page.screenshot(path=shots / "01-azure-tool-line-and-markdown.png")
    assert f"{len(ANSWERS[key].split())} words" in turn.locator(".status").text_content()
    # The page, its files, the prompts and the stream: every request stayed below the proxy's prefix.
    assert len(requested) >= 6 and all(url.startswith(page_url(server)) for url in requested), requested


class Scripted(Backend):
    """A backend that streams fixed events at a model's pace: answers no recording holds (hostile ones)."""

    title = "Scripted"
    instructions = ""

    def __init__(self, name: BackendName, events: list[BackendEvent | str], gap: float = 0.03) -> None:
        self.name, self.gap = name, gap
        self.events = [TextDeltaEvent(e) if isinstance(e, str) else e for e in events]

    async def stream(self, message: str) -> AsyncIterator[BackendEvent]:
        for event in self.events:
            await asyncio.sleep(self.gap)  # the model's pace, so the page renders the answer part by part
            yield event

    def prompt_in(self, cassette: Any) -> str | None:
        return None


# Attacks cut where a renderer fed piece by piece might be fooled: each would set `window.pwned` if it ran.
HOSTILE: list[BackendEvent | str] = [
    # A tool round in JSON's ASCII escapes, as a model or an SDK may send it, with markup in the result.
    ToolStart("get_forecast", '{"place":"Z\\u00fcrich"}'),
    ToolComplete("get_forecast", '{"forecast": "6\\u00b0C <img src=x onerror=\\"window.pwned=0\\">", "quote": "\\u0022"}'),
    "**bold** then <img src=x one", 'rror="window.pwned=1"> and <scr', "ipt>window.pwned=2</script>\n\n",
    "[a link](javas", "cript:window.pwned=3) and [another](JaVaScRiPt:window.pwned=4)\n\n",
    '<a href="javascript:window.pwned=5">raw link</a> and <svg onload="window.pwned=6"></svg>\n\n',
    '<iframe srcdoc="<script>parent.pwned=7</script>"></iframe>\n\n',
    '<div onmouseover="window.pwned=8">hover me</div>\n\n',
    "[data](data:text/html;base64,PHNjcmlwdD5wYXJlbnQucHduZWQ9OTwvc2NyaXB0Pg==) and ![pic](http://127.0.0.1:9/track.png)\n\n",
    "- a list item with `<b>code</b>`\n",
]


def test_hostile_model_output_runs_nothing_while_its_markdown_renders(page: Any, shots: Path) -> None:
    backends = {**default_backends(), "chat": Scripted("chat", HOSTILE)}
    with proxied(backends) as server:
        page.goto(page_url(server))
        page.fill("#message", "anything")
        page.press("#message", "Enter")
        # Markdown renders as it streams: the bold is a <strong> before the answer is complete.
        page.wait_for_function("document.querySelector('.assistant .answer strong') && document.querySelector('.assistant').dataset.state === 'streaming'")
        page.wait_for_selector(".assistant[data-state='complete']")
        tools = page.locator(".assistant .tool").all_text_contents()
        assert tools == ['tool get_forecast({"place":"Zürich"}) → {"forecast": "6°C <img src=x onerror=\\"window.pwned=0\\">", "quote": "\\u0022"}'], tools
        answer = page.locator(".assistant .answer")
        assert answer.locator("strong").all_text_contents() == ["bold"] and answer.locator("li code").all_text_contents() == ["<b>code</b>"]
        text = answer.text_content()
        assert '<img src=x onerror="window.pwned=1">' in text and "<script>window.pwned=2</script>" in text  # shown, as text
        assert answer.locator("img, script, iframe, svg, div, b").count() == 0
        handlers = page.evaluate("[...document.querySelectorAll('#transcript *')].flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'))")
        assert handlers == []
        hrefs = page.evaluate("[...document.querySelectorAll('.answer a')].map(a => a.getAttribute('href'))")
        assert len(hrefs) >= 3 and all(href is None for href in hrefs), hrefs  # the links stay, their scripts do not
        for link in answer.locator("a").all():
            link.click()
        answer.hover()
        page.screenshot(path=shots / "02-hostile-answer-inert.png")
        assert page.evaluate("typeof window.pwned") == "undefined"

        # The probe can see an attack: the same answer put in with innerHTML fires the image's onerror.
        page.evaluate("text => { const box = document.createElement('div'); box.innerHTML = text; document.body.append(box); }", "".join(e for e in HOSTILE if isinstance(e, str)))
        page.wait_for_function("window.pwned !== undefined")


def test_the_recorded_markup_answer_is_shown_as_text(page: Any, server: WebServer) -> None:
    page.goto(page_url(server))
    turn = ask_with_a_suggestion(page, "chat_xss")
    page.wait_for_selector(".assistant[data-state='complete']")
    rendered = turn.locator(".answer").text_content()
    assert '<img src=x onerror="window.xssFired=1">' in rendered and "<script>window.xssFired=2</script>" in rendered
    assert page.locator("#transcript img, #transcript script").count() == 0
    assert page.evaluate("window.xssFired") is None


def test_the_transcript_follows_the_answer_unless_the_reader_scrolled_up(page: Any, server: WebServer, shots: Path) -> None:
    page.goto(page_url(server))
    for turns, key in enumerate(["chat_pack_list", "chat_trail_tool", "agents_insulation", "chat_pack_list"], start=1):
        ask_with_a_suggestion(page, key)
        page.wait_for_function("n => document.querySelectorAll(\".assistant[data-state='complete']\").length === n", arg=turns)
        assert in_view(page, ".assistant:last-child .status"), key  # the end of the latest answer
        assert in_view(page, "#message") and in_view(page, "#stop"), key
    assert page.evaluate("document.querySelector('#transcript').scrollTop") > 0  # it did have to scroll
    page.screenshot(path=shots / "03-several-turns.png")

    # axe-core on the page after several turns (lists, tool lines, statuses): nothing serious or critical.
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run(document)).violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], violations

    with labs.replay_speed(1):  # the recorded answer takes seconds: the reader scrolls up in the middle of it
        turn = ask_with_a_suggestion(page, "chat_pack_list")
        page.wait_for_function("document.querySelector('.assistant:last-child .answer').textContent.length > 0")
        page.hover("#transcript")
        page.mouse.wheel(0, -400)
        page.wait_for_function("document.querySelector('#transcript').scrollTop + document.querySelector('#transcript').clientHeight < document.querySelector('#transcript').scrollHeight - 200")
        scrolled_to = page.evaluate("document.querySelector('#transcript').scrollTop")
        page.wait_for_selector(".assistant:last-child[data-state='complete']")
    assert page.evaluate("document.querySelector('#transcript').scrollTop") == scrolled_to  # not yanked down
    assert not in_view(page, ".assistant:last-child .status")
    assert in_view(page, "#message") and in_view(page, "#stop")
    page.screenshot(path=shots / "04-scrolled-up-while-it-streamed.png")
    assert turn.get_attribute("data-state") == "complete"


def test_keyboard_alone_asks_and_stops_and_the_server_cancels_upstream(page: Any, server: WebServer) -> None:
    page.goto(page_url(server))
    assert page.get_attribute("#transcript", "aria-live") == "polite"
    with labs.replay_speed(1):  # the recorded answer takes seconds: Stop lands in the middle of it
        page.focus("#message")
        page.keyboard.type(PROMPTS["chat_pack_list"])
        page.keyboard.press("Enter")
        turn = page.locator(".assistant").last
        page.wait_for_function("document.querySelector('.assistant .answer').textContent.length > 0")
        assert turn.get_attribute("aria-busy") == "true"  # a screen reader waits for the whole answer
        page.keyboard.press("Tab")  # Send is disabled while an answer streams: the next stop is Stop
        assert page.evaluate("document.activeElement.id") == "stop"
        page.keyboard.press("Enter")
        assert server.streams.wait_idle(timeout=10)
    assert turn.get_attribute("data-state") == "stopped" and turn.get_attribute("aria-busy") == "false"
    assert page.evaluate("document.activeElement.id") == "message"  # focus goes back to where typing goes on
    shown = turn.locator(".answer").text_content().replace("**", "").split()[:-1]  # the last word may be cut short
    whole = plain(ANSWERS["chat_pack_list"]).split()
    assert shown and whole[: len(shown)] == shown and len(shown) < len(whole) - 1
    assert [r.outcome for r in server.streams.finished] == ["cancelled"]

    with labs.replay_speed(1):  # Escape stops too, wherever the focus is
        page.keyboard.type(PROMPTS["chat_pack_list"])
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelectorAll('.assistant')[1].textContent.length > 0")
        page.keyboard.press("Escape")
        assert server.streams.wait_idle(timeout=10)
    assert page.locator(".assistant").last.get_attribute("data-state") == "stopped"
