"""The terminal chat: history carried between turns, Ctrl-C that closes the stream, real stats, and the real program in a pty."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import statistics
import sys
import threading
import time
from pathlib import Path
from collections.abc import AsyncIterator, Iterator
from typing import Any

import agents
import pexpect
import pytest
from rich.console import Console

from labs.chat import RECORDED_PROMPTS, AgentsChatBackend, Chat, ChatCompletionsBackend, Message
from labs.chat.terminal import main, parse_arguments
from labs.clients import RECORDED_MODEL, async_openai_client
from labs.config import FIXTURES_DIR, REPO_ROOT
from labs.recordings import chat_text, fixture
from labs.replay import ReplayServer

FIXTURES = {"chat": "06_terminal_chat/chat_backend", "agents": "06_terminal_chat/agents_backend"}
CHAT_FIXTURES = (FIXTURES_DIR / "06_terminal_chat",)  # the chat's own recordings: a server that loads only these starts fast


def recorded_answer(backend: str, turn: int) -> str:
    if backend == "chat":
        return chat_text(FIXTURES["chat"], turn)
    events = fixture(FIXTURES["agents"]).interactions[turn].response.events or []
    return "".join(e.json()["delta"] for e in events if e.event == "response.output_text.delta")


def recorded_usage(backend: str, turn: int) -> tuple[int, int]:
    events = fixture(FIXTURES[backend]).interactions[turn].response.events or []
    if backend == "chat":
        usage = next(e.json()["usage"] for e in reversed(events) if isinstance(e.json(), dict) and e.json().get("usage"))
        return usage["prompt_tokens"], usage["completion_tokens"]
    usage = json.loads(events[-1].data)["response"]["usage"]
    return usage["input_tokens"], usage["output_tokens"]


class Screen(io.StringIO):
    """A console file that lets a test wait until some text has been printed."""

    def __init__(self) -> None:
        super().__init__()
        self.waiters: list[tuple[str, asyncio.Event]] = []

    def write(self, text: str) -> int:
        written = super().write(text)
        for wanted, event in self.waiters:
            if wanted in self.getvalue():
                event.set()
        return written

    async def shows(self, wanted: str) -> None:
        event = asyncio.Event()
        self.waiters.append((wanted, event))
        self.write("")
        await asyncio.wait_for(event.wait(), timeout=30)


def new_chat(backend: Any) -> tuple[Chat, Screen]:
    screen = Screen()
    return Chat(backend, Console(file=screen, width=100, highlight=False)), screen


def one_line(text: str) -> str:
    return " ".join(text.split())


def backend_for(name: str, server: ReplayServer) -> Any:
    """The named backend with its own client on `server` (the program itself uses `make_backend`, tested below in a pty)."""
    agents.set_tracing_disabled(True)  # as `make_backend` does in replay
    client = async_openai_client(server=server, max_retries=0)
    return ChatCompletionsBackend(client, RECORDED_MODEL) if name == "chat" else AgentsChatBackend(client, RECORDED_MODEL)


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer(mode="replay", speed=0, fixture_dirs=CHAT_FIXTURES) as replay:
        yield replay


# -- in process --------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["chat", "agents"])
async def test_each_turn_carries_the_history(backend: str, server: ReplayServer) -> None:
    chat, screen = new_chat(backend_for(backend, server))
    for prompt in RECORDED_PROMPTS:
        assert await chat.submit(prompt)
    await chat.backend.aclose()
    # The second and third requests only match their recordings if they carry the earlier turns.
    assert [a.text for a in chat.answers] == [recorded_answer(backend, turn) for turn in range(3)]
    assert [m.role for m in chat.history] == ["user", "assistant"] * 3
    assert not any(m.interrupted for m in chat.history)
    assert one_line(recorded_answer(backend, 1)) in one_line(screen.getvalue())


@pytest.mark.parametrize("backend", ["chat", "agents"])
async def test_stats_are_measured_and_match_the_service_usage(backend: str, server: ReplayServer) -> None:
    chat, screen = new_chat(backend_for(backend, server))
    for prompt in RECORDED_PROMPTS[:2]:
        await chat.submit(prompt)
    await chat.backend.aclose()
    stats = chat.stats()
    texts = [recorded_answer(backend, turn) for turn in range(2)]
    assert (stats.user_messages, stats.assistant_messages, stats.answers, stats.interrupted) == (2, 2, 2, 0)
    assert stats.average_characters == statistics.fmean(len(t) for t in texts)
    assert stats.average_words == statistics.fmean(len(t.split()) for t in texts)
    assert stats.first_token == [a.first_token for a in chat.answers]
    assert all(0 < a.first_token <= a.total for a in chat.answers)  # type: ignore[operator]
    usage = [recorded_usage(backend, turn) for turn in range(2)]
    assert (stats.input_tokens, stats.output_tokens) == (sum(u[0] for u in usage), sum(u[1] for u in usage))
    await chat.submit("/stats")
    assert f"{sum(u[0] for u in usage)} in, {sum(u[1] for u in usage)} out" in screen.getvalue()


class WatchedServer(ReplayServer):
    """A replay server that notes whether each stream it played ran to its end or was cut by the client."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outcomes: list[str] = []
        self.stream_ended = threading.Event()

    async def _play(self, *args: Any, **kwargs: Any) -> AsyncIterator[bytes]:
        finished = False
        try:
            async for chunk in super()._play(*args, **kwargs):
                yield chunk
            finished = True
        finally:
            self.outcomes.append("finished" if finished else "cut")
            self.stream_ended.set()


@pytest.fixture
def watched_server() -> Iterator[WatchedServer]:
    with WatchedServer(mode="replay", speed=1, fixture_dirs=CHAT_FIXTURES) as watched:
        yield watched


@pytest.mark.parametrize("backend", ["chat", "agents"])
async def test_interrupting_closes_the_stream_and_keeps_the_partial_text(backend: str, watched_server: WatchedServer) -> None:
    chat, screen = new_chat(backend_for(backend, watched_server))
    full = recorded_answer(backend, 0)
    asking = asyncio.create_task(chat.ask(RECORDED_PROMPTS[0]))
    await screen.shows(full[:12])
    assert chat.interrupt()
    answer = await asking
    assert answer is not None and answer.interrupted
    assert 12 <= len(answer.text) < len(full) and full.startswith(answer.text)
    assert chat.history == [Message("user", RECORDED_PROMPTS[0]), Message("assistant", answer.text, interrupted=True)]
    assert "interrupted after" in screen.getvalue() and full[-20:] not in screen.getvalue()
    assert await asyncio.to_thread(watched_server.stream_ended.wait, 10)
    assert watched_server.outcomes == ["cut"]  # the server saw the client go away mid-stream
    assert not chat.interrupt()  # nothing left to interrupt
    await chat.backend.aclose()


async def test_an_interruption_before_any_text_adds_nothing(watched_server: WatchedServer) -> None:
    chat, screen = new_chat(backend_for("chat", watched_server))
    asking = asyncio.create_task(chat.ask(RECORDED_PROMPTS[0]))
    await screen.shows("assistant ›")
    assert chat.interrupt()
    assert await asking is not None
    assert chat.history == [] and chat.answers == []
    assert "before any text: nothing was added" in screen.getvalue()
    await chat.backend.aclose()


async def test_a_prompt_with_no_recording_is_explained_and_adds_nothing(server: ReplayServer) -> None:
    chat, screen = new_chat(backend_for("chat", server))
    await chat.submit(RECORDED_PROMPTS[0])
    before = list(chat.history)
    assert await chat.ask("What is the capital of Mars?") is None
    assert chat.history == before
    shown = one_line(screen.getvalue())
    assert "No recording answers this message" in shown and "Closest recording" in shown
    assert all(prompt in shown for prompt in RECORDED_PROMPTS)
    await chat.submit(RECORDED_PROMPTS[1])  # the conversation goes on where it was
    assert chat.answers[-1].text == recorded_answer("chat", 1)
    await chat.backend.aclose()


async def test_commands(server: ReplayServer) -> None:
    chat, screen = new_chat(backend_for("chat", server))
    await chat.submit(RECORDED_PROMPTS[0])
    assert await chat.submit("/history") and "1  you" in screen.getvalue()
    assert await chat.submit("/clear") and chat.history == [] and "History cleared (2 messages)" in screen.getvalue()
    assert await chat.submit("/nope") and "Unknown command /nope" in screen.getvalue()
    assert await chat.submit("   ")
    assert await chat.submit("/help") and all(name in screen.getvalue() for name in ("/history", "/clear", "/stats", "/quit", "Ctrl-C"))
    assert not await chat.submit("/quit")
    await chat.backend.aclose()


@pytest.mark.parametrize(("argv", "message"), [(["--speed", "-1"], "negative"), (["--backend", "nope"], "invalid choice")])
def test_bad_arguments_are_refused_clearly(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_arguments(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_live_mode_without_a_key_says_how_to_set_one(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    monkeypatch.setattr("labs.config._load_dotenv", lambda: None)  # a developer's own .env must not supply a key
    assert main(["--speed", "0"]) == 2
    assert "OPENAI_API_KEY" in one_line(capsys.readouterr().out)


# -- the real program in a pseudo-terminal -----------------------------------------------------

PROMPT = "you › "


def spawn_chat(*arguments: str, sigint: Any = signal.SIG_DFL) -> pexpect.spawn:
    env = {**os.environ, "LABS_MODE": "replay", "TERM": "dumb", "PYTHONUNBUFFERED": "1"}
    env.pop("FORCE_COLOR", None)
    child = pexpect.spawn(sys.executable, ["-m", "labs.chat", *arguments], cwd=str(REPO_ROOT), env=env, encoding="utf-8",
                          timeout=60, dimensions=(40, 120), preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))
    child.logfile_read = io.StringIO()  # the whole transcript, for assertions on what never appeared
    child.expect_exact(PROMPT)
    return child


# The system calls a thread sleeps in while it waits for the keyboard (x86_64 and arm64 numbering): read,
# poll, select, pselect6, ppoll.
KEYBOARD_WAITS = {"x86_64": {"0", "7", "23", "270", "271"}, "aarch64": {"63", "72", "73"}}


def wait_for_the_keyboard(child: pexpect.spawn, timeout: float = 30) -> None:
    """Until the chat's main thread sleeps in the call that reads the next line (seen in /proc).

    The prompt is printed just before that call. A Ctrl-C in between reaches Python before the read starts,
    and the read then goes on waiting for a line: no person presses that fast, but a test on a busy machine does.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            call = Path(f"/proc/{child.pid}/syscall").read_text().split()[0]
        except (OSError, IndexError):
            call, state = "", ""
        if state == "S" and call in KEYBOARD_WAITS[os.uname().machine]:
            return
        time.sleep(0.01)
    raise AssertionError(f"the chat did not wait for the keyboard within {timeout:g} s")


def words(text: str, count: int) -> str:
    """The first `count` words of `text` as a pattern that tolerates the terminal's line endings."""
    return r"\s+".join(re.escape(w) for w in text.split()[:count])


def test_a_whole_session_in_a_terminal_with_an_interruption() -> None:
    answers = [recorded_answer("chat", turn) for turn in range(3)]
    child = spawn_chat("--speed", "1")
    try:
        for turn in range(2):
            child.sendline(RECORDED_PROMPTS[turn])
            child.expect(words(answers[turn], 4))
            child.expect(r"first token \d+\.\d+ s · done in \d+\.\d+ s · (\d+) words")
            assert int(child.match.group(1)) == len(answers[turn].split())
            child.expect_exact(PROMPT)

        child.sendline(RECORDED_PROMPTS[2])  # the longest answer, about five seconds at speed 1
        child.expect(words(answers[2], 3))
        child.sendintr()  # Ctrl-C, through the terminal, as a person would press it
        child.expect(r"interrupted after \d+\.\d+ s: (\d+) words kept in the history, marked interrupted")
        kept = int(child.match.group(1))
        child.expect_exact(PROMPT)
        assert 3 <= kept < len(answers[2].split())

        child.sendline("/history")
        child.expect(r"6\s+assistant\s+.*\(interrupted\)")
        child.expect_exact(PROMPT)
        child.sendline("/stats")
        child.expect(r"answers this session\s+3, of which 1 interrupted")
        child.expect(r"time to first token\s+\d+\.\d+ s on average")
        child.expect_exact(PROMPT)

        child.sendline("/clear")
        child.expect_exact("History cleared (6 messages)")
        child.expect_exact(PROMPT)
        child.sendline(RECORDED_PROMPTS[0])  # still chatting after the interruption
        child.expect(r"first token \d+\.\d+ s")
        child.expect_exact(PROMPT)

        ctrl_c_at_the_prompt_then_quit(child)
    finally:
        child.close()
    assert child.exitstatus == 0
    ending = " ".join(answers[2].split()[-6:])
    assert re.search(words(ending, 6), child.logfile_read.getvalue()) is None, "the interrupted answer went on streaming"


def ctrl_c_at_the_prompt_then_quit(child: pexpect.spawn) -> None:
    """Ctrl-C while the chat waits for a line explains instead of leaving; then /quit ends it."""
    wait_for_the_keyboard(child)
    child.sendintr()
    child.expect_exact("Ctrl-C stops an answer while it streams", timeout=15)
    child.expect_exact(PROMPT)
    child.sendline("/quit")
    child.expect_exact("Goodbye!")
    child.expect(pexpect.EOF)


def test_ctrl_c_at_the_prompt_explains_even_when_the_chat_was_started_with_sigint_ignored() -> None:
    # As a shell without job control starts `cmd &`, and everything a pytest started that way starts in turn.
    child = spawn_chat("--speed", "0", sigint=signal.SIG_IGN)
    try:
        ctrl_c_at_the_prompt_then_quit(child)
    finally:
        child.close()
    assert child.exitstatus == 0


@pytest.mark.parametrize("backend", ["chat", "agents"])
def test_the_conversation_goes_on_after_ctrl_c(backend: str) -> None:
    answers = [recorded_answer(backend, turn) for turn in range(3)]
    child = spawn_chat("--backend", backend, "--speed", "2")
    try:
        child.sendline(RECORDED_PROMPTS[0])
        child.expect(words(answers[0], 3))
        child.sendintr()  # Ctrl-C mid-answer: the partial answer stays in the history and is sent with the next question
        child.expect(r"interrupted after \d+\.\d+ s: (\d+) words kept in the history")
        assert 3 <= int(child.match.group(1)) < len(answers[0].split())
        child.expect_exact(PROMPT)
        child.sendline(RECORDED_PROMPTS[1])  # the next recorded question gets its recorded answer, whole
        child.expect(words(answers[1], 4))
        child.expect(r"done in \d+\.\d+ s · (\d+) words")
        assert int(child.match.group(1)) == len(answers[1].split())
        child.expect_exact(PROMPT)
        child.sendline(RECORDED_PROMPTS[2])  # and so does the one after it
        child.expect(words(answers[2], 4))
        child.sendintr()
        child.expect_exact("words kept in the history")
        child.expect_exact(PROMPT)
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert "No recording answers" not in child.logfile_read.getvalue()


def test_the_agents_backend_at_full_speed_with_a_replay_miss() -> None:
    child = spawn_chat("--backend", "agents", "--speed", "0")
    try:
        child.sendline("Where is the best surf in Portugal?")
        child.expect_exact("No recording answers this message")
        child.expect_exact("Nothing was added to the history")
        child.expect_exact(PROMPT)
        for turn, prompt in enumerate(RECORDED_PROMPTS):
            child.sendline(prompt)
            child.expect(words(recorded_answer("agents", turn)[-60:], 5))
            child.expect(r"done in \d+\.\d+ s")
            child.expect_exact(PROMPT)
        child.sendline("/stats")
        usage = [recorded_usage("agents", turn) for turn in range(3)]
        child.expect_exact(f"{sum(u[0] for u in usage)} in, {sum(u[1] for u in usage)} out")
        child.expect_exact(PROMPT)
        child.sendeof()  # Ctrl-D leaves
        child.expect_exact("Goodbye!")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0


HOSTILE_PIECES = ["Hello\x1b]0;pwned title\x07 there", "\x1b[2J\x1b[H", "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "\tok\r\x08\x9b31m\n"]


class _HostileBackend:
    """A model that writes escape sequences: a window title, a screen clear, a hyperlink, raw control bytes."""

    name = "chat"
    description = "hostile"

    async def stream(self, history: Any) -> AsyncIterator[Any]:
        from labs.reply import TextDelta

        for piece in HOSTILE_PIECES:
            yield TextDelta(text=piece)

    async def aclose(self) -> None:
        return None


async def test_the_terminal_never_receives_the_models_escape_sequences() -> None:
    screen = Screen()
    chat = Chat(_HostileBackend(), Console(file=screen, width=100, highlight=False, force_terminal=True, color_system=None))
    assert await chat.submit("hi")
    assert await chat.submit("/history")  # the history shows the answer again
    shown = screen.getvalue()
    for sequence in ("\x1b]0;", "\x1b[2J", "\x1b]8;", "\x08", "\x9b", "\r"):
        assert sequence not in shown, repr(sequence)
    assert "Hello thereclick" in shown and "ok\n" in shown and "31m" not in shown  # the words stay, the codes go
    assert chat.history[-1].text == "".join(HOSTILE_PIECES)  # the history keeps what the model sent
