"""The chat page in a real browser: Debian's chromium, driven by Playwright, against the app on loopback.

Playwright's own browser download is not used (and cannot be, offline): the test launches the system
`chromium` with the flags this workplace needs, in a fresh profile. Without chromium the test is skipped
with the command that installs it, except in CI (`CI` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

import labs
from labs.lessons.lesson_09.scenarios import ANSWERS, PROMPTS, SCENARIOS
from labs.web import WebServer, serve

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOOL_NAMES = {s.name.split("/")[1]: [c.name for r in s.replies for c in r.tool_calls] for s in SCENARIOS}


def chromium_path() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    message = "Debian's chromium is not installed: run `sudo apt-get install -y chromium` to run the browser tests"
    if os.environ.get("CI"):
        pytest.fail(f"{message}. CI must not skip them: .ci/run installs chromium before `make test`.")
    pytest.skip(message)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "profile"), executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()


@pytest.fixture
def server() -> Iterator[WebServer]:
    with serve() as running:
        yield running


def final_response(server: WebServer, key: str) -> str:
    """What the API itself says the answer is, asked outside the browser."""
    params = {"message": PROMPTS[key], "backend": key.split("_")[0]}
    with httpx.Client(base_url=server.url, timeout=30) as client, connect_sse(client, "GET", "/chat/stream", params=params) as source:
        return next(e.json()["final_response"] for e in source.iter_sse() if e.event == "response_complete")


def ask_with_a_suggestion(page: Any, server: WebServer, key: str) -> Any:
    page.goto(server.url)
    page.select_option("#backend", key.split("_")[0])
    page.get_by_role("button", name=PROMPTS[key], exact=True).click()
    return page.locator(".assistant").last


@pytest.mark.parametrize("key", ["chat_trail_tool", "agents_stock_tool", "azure_forecast_tool", "sk_trail_shoes"])
def test_a_clicked_suggestion_streams_into_the_page(page: Any, server: WebServer, key: str) -> None:
    turn = ask_with_a_suggestion(page, server, key)
    page.wait_for_selector(".assistant[data-state='complete']")
    rendered = turn.locator(".answer").text_content()
    assert rendered == final_response(server, key) == ANSWERS[key]
    assert page.locator(".mode").text_content() == "replay mode"
    tools = turn.locator(".tool").all_text_contents()
    assert [line.split()[1] for line in tools] == TOOL_NAMES[key]  # "tool name → output", one line per call
    assert all("→" in line for line in tools)  # each call finished
    assert f"{len(ANSWERS[key].split())} words" in turn.locator(".status").text_content()


def test_model_html_is_shown_as_text_and_runs_nothing(page: Any, server: WebServer) -> None:
    turn = ask_with_a_suggestion(page, server, "chat_xss")
    page.wait_for_selector(".assistant[data-state='complete']")
    rendered = turn.locator(".answer").text_content()
    assert rendered == final_response(server, "chat_xss")
    assert '<img src=x onerror="window.xssFired=1">' in rendered and "<script>window.xssFired=2</script>" in rendered
    assert page.locator("#transcript img, #transcript script").count() == 0
    assert page.evaluate("window.xssFired") is None

    # The probe can see an attack: the same text put in with innerHTML fires the image's onerror.
    page.evaluate("text => { const box = document.createElement('div'); box.innerHTML = text; document.body.append(box); }", rendered)
    page.wait_for_function("window.xssFired === 1")


def test_stop_leaves_mid_answer_and_the_server_cancels_upstream(page: Any, server: WebServer) -> None:
    with labs.replay_speed(1):  # the recorded answer takes seconds: Stop lands in the middle of it
        turn = ask_with_a_suggestion(page, server, "chat_pack_list")
        page.wait_for_function("document.querySelector('.assistant .answer').textContent.length > 0")
        page.click("#stop")
        assert server.streams.wait_idle(timeout=10)
    assert turn.get_attribute("data-state") == "stopped"
    shown = turn.locator(".answer").text_content()
    assert shown and ANSWERS["chat_pack_list"].startswith(shown) and shown != ANSWERS["chat_pack_list"]
    assert [r.outcome for r in server.streams.finished] == ["cancelled"]
