"""A streaming chat for the terminal: `python -m labs.chat [--backend chat|agents] [--speed S]`.

Lesson 06 builds it from the lesson's pieces: a stream consumed as it arrives, the history carried into
each turn, Ctrl-C that stops an answer without leaving, and real measurements (time to first token,
answer length, tokens). It runs on the real SDKs through the workbook's clients, so in replay mode it
plays the recorded conversation (labs/fixtures/06_terminal_chat/) and live it talks to the service.

- `backends`: the conversation's messages, and where answers come from (Chat Completions or openai-agents),
  as typed stream pieces;
- `session`: the `Chat` itself, its history, commands, measurements and interruption;
- `terminal`: the command line, the input loop and the Ctrl-C wiring.
"""

from .backends import BACKENDS, AgentsChatBackend, Backend, ChatCompletionsBackend, Finished, Message, Piece, TextDelta, make_backend
from .session import COMMANDS, RECORDED_PROMPTS, Answer, Chat, ChatStats
from .terminal import main

__all__ = [
    "BACKENDS",
    "COMMANDS",
    "RECORDED_PROMPTS",
    "AgentsChatBackend",
    "Answer",
    "Backend",
    "Chat",
    "ChatCompletionsBackend",
    "ChatStats",
    "Finished",
    "Message",
    "Piece",
    "TextDelta",
    "main",
]
