"""What the Azure AI Agents tests share: asking a question on a new thread, and the answers a fixture's runs completed."""

from __future__ import annotations

from typing import Any

from labs.recordings import fixture


def ask(client: Any, question: str) -> str:
    """A new thread holding `question` as its user message; its id."""
    thread = client.threads.create()
    client.messages.create(thread_id=thread.id, role="user", content=question)
    return str(thread.id)


def answers(name: str) -> list[str]:
    """The text of every message the fixture's runs completed, in order (read from the recording itself)."""
    events = [e for i in fixture(name).interactions for e in i.response.events or []]
    return ["".join(p["text"]["value"] for p in e.json()["content"]) for e in events if e.event == "thread.message.completed"]
