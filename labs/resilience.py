"""Streaming that survives failures: which layer retries what, and an answer that keeps its text.

Two layers retry a streamed call, and they cover different failures:

- The openai SDK retries a request that fails *before* `create()` returns: a refused connection, HTTP 408,
  409, 429 and 5xx, waiting as long as `Retry-After` says (`max_retries`, 2 by default). `RequestLog`
  watches the SDK's own HTTP client, so a lesson can count those retries (each one carries the header
  `x-stainless-retry-count`).
- Once `create()` has returned a stream, the SDK retries nothing. A dropped connection, a stall longer
  than the read timeout, or a malformed event surfaces while you iterate, after text has been shown.
  Only code around the whole streamed call can retry it (tenacity), and a plain retry would throw away
  the text already shown and print it again. `ResumableAnswer` keeps that text across attempts, asks
  the model to continue from it, and trims what the model repeats, so the reader sees each word once.
  It also notices a stream that ends without a `finish_reason` (cut short without an error).

`ErrorStats` counts calls, attempts and errors by kind across many answers. It fixes what the course
material's `ResilientStreamingSystem` gets wrong: there, the partial text is never updated (so nothing
is kept), every exception is retried and called a "network error" (a 400 or a bug too), the backoff has
no jitter, one deadline covers the whole stream (a long healthy answer times out), and its "error rate"
and "recovery rate" divide counts that do not belong together.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import openai

if TYPE_CHECKING:
    import httpx2
    from openai.types.chat import ChatCompletionChunk

__all__ = [
    "CONTINUE_PROMPT",
    "STREAM_ERRORS",
    "ErrorKind",
    "ErrorStats",
    "HttpAttempt",
    "IncompleteStream",
    "RequestLog",
    "ResumableAnswer",
    "classify",
    "continuation_messages",
    "is_retryable",
    "merge_overlap",
]

CONTINUE_PROMPT = (
    "Your previous answer was cut off. Continue exactly where it stopped, without repeating what you "
    "already wrote and without starting over."
)

ErrorKind = Literal[
    "rate_limited", "server_error", "timeout", "connection", "malformed_event", "error_event", "incomplete_stream", "client_error"
]


class IncompleteStream(Exception):
    """A stream that ended without a `finish_reason`: the answer was cut short without an error."""


# What a streamed call can raise for reasons outside the program: worth reporting, and most worth a retry.
STREAM_ERRORS: tuple[type[BaseException], ...] = (openai.APIError, json.JSONDecodeError, IncompleteStream)


def classify(error: BaseException) -> ErrorKind | None:
    """The kind of a streaming failure, or None for an exception that is a bug, not a failure of the service."""
    if isinstance(error, openai.APITimeoutError):  # before APIConnectionError: it is a subclass
        return "timeout"
    if isinstance(error, openai.APIConnectionError):
        return "connection"
    if isinstance(error, openai.APIStatusError):
        if error.status_code == 429:
            return "rate_limited"
        if error.status_code == 408:
            return "timeout"
        return "server_error" if error.status_code >= 500 or error.status_code == 409 else "client_error"
    if isinstance(error, json.JSONDecodeError):  # the SDK parses each event's data as JSON
        return "malformed_event"
    if isinstance(error, openai.APIError):  # an event whose data carries an "error" object
        return "error_event"
    if isinstance(error, IncompleteStream):
        return "incomplete_stream"
    return None


def is_retryable(error: BaseException) -> bool:
    """Whether trying again can help: not for a bad request, a bad key or a bug in our own code."""
    kind = classify(error)
    return kind is not None and kind != "client_error"


def continuation_messages(messages: Sequence[dict[str, Any]], partial: str, prompt: str = CONTINUE_PROMPT) -> list[dict[str, Any]]:
    """The request that asks the model to continue `partial`: the conversation, the text so far, and a request to go on."""
    return [*messages, {"role": "assistant", "content": partial}, {"role": "user", "content": prompt}]


def merge_overlap(kept: str, continuation: str, min_overlap: int = 4) -> str:
    """The part of `continuation` that is new: without the start that repeats the end of `kept`, if it is a repeat.

    The continuation prompt asks the model to go on exactly where the kept text stops, so its answer is
    taken as meant unless the join itself shows a restatement. A repeat candidate is a start of the
    continuation equal to an end of `kept` that begins at a word boundary of `kept` (the longest one wins).
    It is dropped in two cases:

    - A tight join: `kept` ends in a non-space character and the continuation starts with a letter or
      digit. Written as they are, the two would fuse into one word ("H" + "Hello" is "HHello", "the
      middle" + "the middle close" is "middlethe"): a model that continues exactly writes the rest of
      the word ("ello") or starts with a space, so a continuation that begins with the kept text's last
      word restarts it. Any length counts, one letter included.
    - A clean join (`kept` ends in a space or newline, or the continuation starts with a space or a
      punctuation mark): the continuation reads as new text, as the prompt asked, so a repeat counts
      only when it holds at least `min_overlap` letters and digits. After "no, " a continuation "no, no."
      is the answer "no, no, no.", not a restatement of "no, ".

    A repeat that does not start at a word boundary ("in the middle" + "dle of it") is always kept.
    """
    tight = bool(kept) and not kept[-1].isspace() and continuation[:1].isalnum()
    for size in range(min(len(kept), len(continuation)), 0, -1):
        at_word_start = size == len(kept) or not kept[-size - 1].isalnum()
        if not at_word_start or not kept.endswith(continuation[:size]):
            continue
        if tight or sum(c.isalnum() for c in continuation[:size]) >= min_overlap:
            return continuation[size:]
    return continuation


class ResumableAnswer:
    """One answer, kept across attempts: each attempt after a failure continues from the text already shown.

    Use it inside tenacity's attempt, and print only what `add` returns:

        for attempt in tenacity.Retrying(...):
            with attempt, answer.attempt() as messages:
                with client.chat.completions.create(model=..., messages=messages, stream=True) as stream:
                    for chunk in stream:
                        print(answer.add(chunk), end="", flush=True)

    While a continuation starts, `add` holds back text that may repeat the end of the kept text, until it
    can tell (at most `max_overlap` characters); so `text` is always exactly what was shown.
    """

    def __init__(self, messages: Sequence[dict[str, Any]], *, min_overlap: int = 4, max_overlap: int = 160) -> None:
        self.messages = list(messages)
        self.min_overlap, self.max_overlap = min_overlap, max_overlap
        self.text = ""
        self.attempts = 0
        self.errors: list[ErrorKind] = []
        self.error: BaseException | None = None
        self.finish_reason: str | None = None
        self._held: str | None = None  # None: not resuming; a string: text that may repeat the kept text

    @property
    def complete(self) -> bool:
        """True once a stream finished with a `finish_reason`."""
        return self.finish_reason is not None

    def request(self) -> list[dict[str, Any]]:
        """What the next attempt sends: the conversation, or the conversation plus the text so far and a request to continue."""
        return continuation_messages(self.messages, self.text) if self.text else list(self.messages)

    @contextmanager
    def attempt(self) -> Iterator[list[dict[str, Any]]]:
        """One attempt: yields the messages to send; records the kind of any failure, then lets it propagate."""
        self.attempts += 1
        self._held = "" if self.text else None
        try:
            yield self.request()
            if self.finish_reason is None:
                raise IncompleteStream(f"the stream ended without a finish_reason after {len(self.text)} characters")
        except BaseException as error:
            if self.finish_reason is not None and isinstance(error, STREAM_ERRORS):
                return  # the answer had finished; only the end of the connection failed
            kind = classify(error)
            if kind is not None:
                self.errors.append(kind)
            raise
        finally:
            self._held = None  # text still held back was never shown: the next continuation will redo it

    def add(self, chunk: ChatCompletionChunk) -> str:
        """Take one chunk; return the text to show now (empty while a possible repeat is held back)."""
        if not chunk.choices:
            return ""
        choice = chunk.choices[0]
        piece = choice.delta.content or ""
        if choice.finish_reason is not None:
            self.finish_reason = choice.finish_reason
        if self._held is not None:
            self._held += piece
            tail = self.text[-self.max_overlap :]
            if choice.finish_reason is None and self._held in tail and len(self._held) <= self.max_overlap:
                return ""  # still possibly a repeat of the kept text: wait for more
            piece, self._held = merge_overlap(self.text, self._held, self.min_overlap), None
        self.text += piece
        return piece

    def summary(self) -> str:
        """One line: complete or not, after how many attempts, which failures, how much text was kept."""
        failures = ", ".join(f"{kind} ×{n}" for kind, n in Counter(self.errors).items()) or "no failures"
        if self.complete:
            return f"complete after {self.attempts} attempt{'s' * (self.attempts != 1)} ({failures}); {len(self.text)} characters"
        reason = f"{type(self.error).__name__}: {self.error}" if self.error else "not finished"
        return f"INCOMPLETE after {self.attempts} attempts ({failures}); kept {len(self.text)} characters; last error {reason}"


@dataclass
class ErrorStats:
    """Counts across many answers: calls, attempts, failures by kind, and how the calls ended."""

    calls: int = 0
    attempts: int = 0
    first_try: int = 0
    recovered: int = 0
    gave_up: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def add(self, answer: ResumableAnswer) -> None:
        """Count one finished (or abandoned) answer."""
        self.calls += 1
        self.attempts += answer.attempts
        self.by_kind.update(answer.errors)
        if not answer.complete:
            self.gave_up += 1
        elif answer.errors:
            self.recovered += 1
        else:
            self.first_try += 1

    @property
    def failed_attempts(self) -> int:
        return sum(self.by_kind.values())

    @property
    def error_rate(self) -> float:
        """Failed attempts per attempt."""
        return self.failed_attempts / self.attempts if self.attempts else 0.0

    @property
    def recovery_rate(self) -> float:
        """Of the calls that hit a failure, the share that still completed."""
        troubled = self.recovered + self.gave_up
        return self.recovered / troubled if troubled else 0.0

    def lines(self) -> list[str]:
        out = [
            f"calls {self.calls}: {self.first_try} first try, {self.recovered} recovered, {self.gave_up} gave up",
            f"attempts {self.attempts}, failed {self.failed_attempts} (error rate {self.error_rate:.0%}); "
            f"recovery rate {self.recovery_rate:.0%}",
        ]
        out.extend(f"  {kind:<18} {n}" for kind, n in sorted(self.by_kind.items()))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class HttpAttempt:
    """One HTTP request the SDK sent: its path, the SDK's retry count for it, and the status it got."""

    method: str
    path: str
    retry: int
    status: int | None

    def __str__(self) -> str:
        return f"{self.method} {self.path}  retry #{self.retry} → {self.status if self.status is not None else 'no response'}"


class RequestLog:
    """Every HTTP request the openai SDK makes through `http_client()`, as the SDK's retry loop sends it.

    Hooks on the SDK's own HTTP client see each try, including the ones the SDK retries on its own,
    which code around `create()` never sees.
    """

    def __init__(self) -> None:
        self.attempts: list[HttpAttempt] = []
        self._open: dict[int, int] = {}  # id(request) → its place in `attempts`, until its response arrives

    def http_client(self, **options: Any) -> httpx2.Client:
        """An HTTP client for `openai.OpenAI(http_client=...)` that logs each request and its status."""
        return openai.DefaultHttpxClient(event_hooks={"request": [self._request], "response": [self._response]}, **options)

    def _request(self, request: httpx2.Request) -> None:
        retry = int(request.headers.get("x-stainless-retry-count", "0"))
        self._open[id(request)] = len(self.attempts)
        self.attempts.append(HttpAttempt(request.method, request.url.path, retry, None))

    def _response(self, response: httpx2.Response) -> None:
        place = self._open.pop(id(response.request), None)
        if place is not None:
            sent = self.attempts[place]
            self.attempts[place] = HttpAttempt(sent.method, sent.path, sent.retry, response.status_code)

    def mark(self) -> int:
        """A position to read from later with `since`."""
        return len(self.attempts)

    def since(self, mark: int) -> list[HttpAttempt]:
        return self.attempts[mark:]

    @property
    def sdk_retries(self) -> int:
        """How many requests were the SDK's own retries."""
        return sum(1 for a in self.attempts if a.retry > 0)

    def statuses(self) -> Counter[int | None]:
        return Counter(a.status for a in self.attempts)
