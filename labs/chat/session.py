"""One chat session: the conversation history, the commands, the measurements, and stopping an answer.

The session owns what a chat program must get right around the stream itself:

- history: every turn is sent with the whole conversation so far, so a follow-up question ("which of
  those...?") is understood. The course material pastes earlier turns into one prompt string; here each
  turn stays a message with its role, as both APIs expect.
- interruption: `interrupt()` cancels the task that consumes the stream. The backend's `finally`
  closes the HTTP response, the text received so far stays in the history marked as interrupted (the
  reader saw it, so the model should too), and the chat carries on. The next request sends that partial
  answer as the assistant's message, as a real service should get it; in replay, the server matches it to
  the recorded answer it begins (labs/replay/matching.py), so the recorded conversation goes on.
- measurements: time to first token and total time per answer, measured with `time.perf_counter()`
  around the real stream, and the token counts the service reported; `/stats` summarises them.
- failures: a request that fails (a replay miss, a network error) prints what happened and adds
  nothing to the history, so the next question is not sent after an unanswered one.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..config import settings
from ..display import shorten, terminal_text
from ..replay.matching import MISS_CODE
from .backends import Backend, Message

__all__ = ["COMMANDS", "RECORDED_PROMPTS", "Answer", "Chat", "ChatStats"]

# The conversation the replay fixtures hold (labs/fixtures/06_terminal_chat/), in order.
RECORDED_PROMPTS = (
    "Hi! I have one free day in Lisbon. Name three things I shouldn't miss.",
    "Which of those is best if it rains?",
    "Tell me the history of Lisbon's trams in detail.",
)

COMMANDS = {
    "/help": "show this help",
    "/history": "show the conversation so far",
    "/clear": "forget the conversation and start a new one",
    "/stats": "messages, average answer length, time to first token, tokens",
    "/quit": "leave the chat (Ctrl-D works too)",
}


@dataclass(frozen=True)
class Answer:
    """What was measured while one answer streamed."""

    text: str
    first_token: float | None  # seconds from sending the request to the first text
    total: float  # seconds from sending the request to the end (or the interruption)
    interrupted: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def words(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True)
class ChatStats:
    """The numbers `/stats` shows, computed from the session's history and answers."""

    user_messages: int
    assistant_messages: int
    answers: int
    interrupted: int
    average_characters: float
    average_words: float
    first_token: list[float] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0


class Chat:
    """A streaming chat over one backend, printing to a rich `Console`."""

    def __init__(self, backend: Backend, console: Console | None = None) -> None:
        self.backend = backend
        self.console = console or Console(highlight=False)
        self.history: list[Message] = []
        self.answers: list[Answer] = []
        self._streaming: asyncio.Task[None] | None = None

    # -- the loop's entry points -------------------------------------------------------------------

    def greet(self) -> None:
        mode = settings()
        where = f"replay at speed {mode.speed:g}" if mode.mode == "replay" else mode.mode
        self.console.rule("[bold]Streaming chat")
        self.console.print(f"backend [bold]{self.backend.name}[/] ({self.backend.description}) · {where}")
        self.console.print("Type a message, [bold]/help[/] for commands. Ctrl-C stops an answer; /quit or Ctrl-D leaves.")

    async def submit(self, line: str) -> bool:
        """Handle one line the user typed: a command or a question. False when the chat should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        await self.ask(line)
        return True

    def interrupt(self) -> bool:
        """Stop the answer being streamed, if any (call it on the event loop's thread). True if one was."""
        if self._streaming is None or self._streaming.done():
            return False
        self._streaming.cancel()
        return True

    # -- asking ----------------------------------------------------------------------------------

    async def ask(self, prompt: str) -> Answer | None:
        """Stream the answer to `prompt`, keeping what arrived if interrupted; None if the request failed."""
        self.history.append(Message("user", prompt))
        pieces: list[str] = []
        usage: dict[str, int | None] = {}
        started = time.perf_counter()
        first_token: list[float] = []

        async def consume() -> None:
            async for piece in self.backend.stream(self.history):
                if piece.type == "text":
                    if not first_token:
                        first_token.append(time.perf_counter() - started)
                    pieces.append(piece.text)
                    self.console.print(terminal_text(piece.text), end="", markup=False, highlight=False, soft_wrap=True)
                else:
                    usage.update(input_tokens=piece.input_tokens, output_tokens=piece.output_tokens)

        self.console.print("[bold magenta]assistant ›[/] ", end="")
        self._streaming = asyncio.create_task(consume())
        interrupted = False
        try:
            await self._streaming
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the chat itself is being cancelled, not just this answer
            interrupted = True
        except Exception as error:  # a failed request must not end the chat
            self.history.pop()
            self.console.print()
            self._report(error)
            return None
        finally:
            self._streaming = None
        answer = Answer("".join(pieces), first_token[0] if first_token else None, time.perf_counter() - started, interrupted, **usage)
        self._record(answer)
        return answer

    def _record(self, answer: Answer) -> None:
        self.console.print()
        if answer.interrupted and not answer.text:
            self.history.pop()
            self.console.print(f"[yellow]⏹ interrupted after {answer.total:.2f} s, before any text: nothing was added to the history.[/]")
            return
        self.history.append(Message("assistant", answer.text, answer.interrupted))
        self.answers.append(answer)
        first = f"first token {answer.first_token:.2f} s · " if answer.first_token is not None else ""
        if answer.interrupted:
            self.console.print(
                f"[yellow]⏹ interrupted after {answer.total:.2f} s: {answer.words} words kept in the history, marked interrupted.[/]"
            )
        else:
            self.console.print(f"[dim]{first}done in {answer.total:.2f} s · {answer.words} words[/]")

    def _report(self, error: Exception) -> None:
        if getattr(error, "code", None) == MISS_CODE:
            self.console.print("[red]✗ No recording answers this message.[/] In replay mode the chat plays back its recorded conversation:")
            for number, prompt in enumerate(RECORDED_PROMPTS, 1):
                self.console.print(f"   {number}. {terminal_text(prompt)}", markup=False)
            self.console.print(
                "Ask those in order (/clear starts over), or chat for real with LABS_MODE=live and OPENAI_API_KEY in .env. "
                "Nothing was added to the history."
            )
            self.console.print(Text(terminal_text(str(getattr(error, "message", error))), style="dim"))
            return
        self.console.print(Text(terminal_text(f"✗ The request failed: {type(error).__name__}: {error}"), style="red"))
        self.console.print("Nothing was added to the history; try again, or /quit.")

    # -- commands --------------------------------------------------------------------------------

    def command(self, line: str) -> bool:
        name = line.split()[0].lower()
        if name == "/quit":
            self.console.print("Goodbye!")
            return False
        if name == "/help":
            self._help()
        elif name == "/history":
            self._history()
        elif name == "/clear":
            count, self.history = len(self.history), []
            self.console.print(f"History cleared ({count} messages): the next message starts a new conversation.")
        elif name == "/stats":
            self._stats()
        else:
            self.console.print(f"Unknown command {name}: /help lists the commands.", markup=False)
        return True

    def _help(self) -> None:
        table = Table(show_header=False, box=None, padding=(0, 2))
        for name, what in COMMANDS.items():
            table.add_row(f"[bold]{name}[/]", what)
        table.add_row("[bold]Ctrl-C[/]", "stop the answer being streamed (its text stays in the history)")
        self.console.print(table)
        if settings().mode == "replay":
            self.console.print("Replay mode plays back this recorded conversation, in order:")
            for number, prompt in enumerate(RECORDED_PROMPTS, 1):
                self.console.print(f"   {number}. {terminal_text(prompt)}", markup=False)

    def _history(self) -> None:
        if not self.history:
            self.console.print("No messages yet.")
            return
        width = max(20, self.console.width - 24)
        for number, message in enumerate(self.history, 1):
            text = shorten(message.text, width)
            mark = " [yellow](interrupted)[/]" if message.interrupted else ""
            who = "you" if message.role == "user" else "assistant"
            self.console.print(f"{number:3d}  {who:<9}  ", end="")
            self.console.print(terminal_text(text), end="", markup=False)
            self.console.print(mark)

    def stats(self) -> ChatStats:
        """The session's numbers: messages in the history, and measurements over every answer so far."""
        lengths = [len(a.text) for a in self.answers] or [0]
        words = [a.words for a in self.answers] or [0]
        return ChatStats(
            user_messages=sum(m.role == "user" for m in self.history),
            assistant_messages=sum(m.role == "assistant" for m in self.history),
            answers=len(self.answers),
            interrupted=sum(a.interrupted for a in self.answers),
            average_characters=statistics.fmean(lengths),
            average_words=statistics.fmean(words),
            first_token=[a.first_token for a in self.answers if a.first_token is not None],
            input_tokens=sum(a.input_tokens or 0 for a in self.answers),
            output_tokens=sum(a.output_tokens or 0 for a in self.answers),
        )

    def _stats(self) -> None:
        s = self.stats()
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_row("messages in the history", f"{s.user_messages + s.assistant_messages} ({s.user_messages} from you, {s.assistant_messages} from the assistant)")
        table.add_row("answers this session", f"{s.answers}, of which {s.interrupted} interrupted")
        table.add_row("average answer length", f"{s.average_characters:.0f} characters, {s.average_words:.0f} words")
        if s.first_token:
            spread = f" (from {min(s.first_token):.2f} s to {max(s.first_token):.2f} s)" if len(s.first_token) > 1 else ""
            table.add_row("time to first token", f"{statistics.fmean(s.first_token):.2f} s on average{spread}")
        else:
            table.add_row("time to first token", "no answer yet")
        table.add_row("tokens (as reported)", f"{s.input_tokens} in, {s.output_tokens} out")
        self.console.print(table)
